package trace

import (
	"path"
	"strings"
)

// Policy is the data process roles are decided from: which directories a
// package can write and which image executables a package manager runs
// for itself. It is data on purpose: the rules layer reads it from its
// lists (writable_dirs, package_manager_executables), which an analyst
// reads and overrides; no name, argv or comm appears in it, only places
// in the read-only image and in the writable workspace.
type Policy struct {
	// Writable lists the directories (absolute, ending in "/") whose
	// files a package can create or change: the home (with the project
	// and its node_modules), /tmp, shared memory, and the pseudo-paths a
	// program is executed from memory by (/proc/self/fd/N, /dev/fd/N,
	// "/memfd:NAME"; an entry ending in ":" is a prefix too). A process
	// that executes a file under one of them runs package code.
	Writable []string
	// ManagerExecutables lists the image executables a package manager
	// runs for itself (absolute paths; an entry ending in "/" names a
	// directory). A child of the package manager that executes one of
	// them stays the package manager; any other program it starts (a
	// lifecycle shell, an interpreter running setup.py or a build hook)
	// is package code.
	ManagerExecutables []string
}

// managerPhases names the phases whose command is the package manager
// (the others load the package in-process). It is only read for traces
// without phase metadata (PhaseInfo), recorded before the pipeline wrote
// it; the pipeline's phases have not changed names since.
var managerPhases = []string{"install", "metadata"}

// writable reports whether the executable at p (absolute, cleaned) lives
// where a package can write.
func (pol *Policy) writable(p string) bool {
	return hasPrefix(p, pol.Writable)
}

// managerExecutable reports whether p is an image executable the package
// manager runs for itself.
func (pol *Policy) managerExecutable(p string) bool {
	return hasPrefix(p, pol.ManagerExecutables)
}

// commandRole is the role of the command of a phase recorded without
// metadata.
func commandRole(phase string) Role {
	for _, m := range managerPhases {
		if m == phase {
			return RolePackageManager
		}
	}
	return RolePackageCode
}

// hasPrefix reports whether p equals an entry of list or, for an entry
// ending in "/" or ":", starts with it.
func hasPrefix(p string, list []string) bool {
	for _, l := range list {
		if p == l || (strings.HasSuffix(l, "/") || strings.HasSuffix(l, ":")) && strings.HasPrefix(p, l) {
			return true
		}
	}
	return false
}

// execPath returns the file an exec ran, made absolute against cwd and
// cleaned (so "/usr/bin/../../tmp/x" is /tmp/x), or "" when it is relative
// and no absolute cwd is known.
func execPath(file, cwd string) string {
	a := Abs(file, cwd)
	if a == "" || a[0] != '/' {
		return ""
	}
	return path.Clean(a)
}

// Abs resolves a relative path against cwd (the directory the probe
// recorded, or the process's tracked one); absolute paths, and any path
// when cwd is unknown, are returned as they are.
func Abs(p, cwd string) string {
	if p == "" || p[0] == '/' || cwd == "" {
		return p
	}
	return path.Join(cwd, p)
}
