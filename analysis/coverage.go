package analysis

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
)

// CoverageLevel summarises how much of a package's own code ran.
type CoverageLevel string

// Coverage levels.
const (
	// CoverageFull: every declared install script ran and every entry
	// point imported.
	CoverageFull CoverageLevel = "full"
	// CoveragePartial: some of the package's code ran, not all of it.
	CoveragePartial CoverageLevel = "partial"
	// CoverageNone: none of the package's code ran (an install refused
	// for platform or engines, or that failed before its scripts, and
	// imports that failed), or it declares nothing that runs.
	CoverageNone CoverageLevel = "none"
)

// Coverage is what of the package's own code the phases exercised, so
// that a benign verdict on a package whose code never ran does not read
// as a clean bill of health.
type Coverage struct {
	Level CoverageLevel `json:"level"`
	// InstallOK: the install phase exited 0 in time.
	InstallOK bool `json:"install_ok"`
	// Scripts are the install-time scripts the package declares (npm
	// lifecycle scripts; a PyPI sdist's build), per phase that should
	// run them.
	Scripts []ScriptRun `json:"scripts,omitempty"`
	// CI are the same scripts run again in the ci phase, with a CI job's
	// environment (a package that acts only in CI). They are reported, not
	// counted in Level: the developer's install is what coverage sums up.
	CI []ScriptRun `json:"ci,omitempty"`
	// Imports are the entry points the import phase loads, each in a
	// fresh process.
	Imports []ImportRun `json:"imports,omitempty"`
	// Reason says, when Level is not full, the first thing that did not
	// run; it may quote a line of the phase's output.
	Reason string `json:"reason,omitempty"`
}

// ScriptRun is one declared install-time script and whether the package
// manager ran it.
type ScriptRun struct {
	Phase   string `json:"phase"`
	Name    string `json:"name"`    // npm: preinstall, install, postinstall; pypi: build
	Command string `json:"command"` // the script text, or the build backend
	// Files are the package files the command names (npm: the files it
	// runs, relative to the package's root, as node resolves them; see
	// npm.Manifest.ScriptFiles) with the digest of each, read from the
	// artifact: a hijacked release keeps "node install.js" and changes
	// install.js. FilesDigest sums them up (ScriptFilesDigest); it is set
	// whenever they were read, also when the command names no file, and
	// empty when they were not (records made before they were kept, PyPI
	// builds): such a script's files cannot be compared.
	Files       map[string]string `json:"files,omitempty"`
	FilesDigest string            `json:"files_digest,omitempty"`
	Ran         bool              `json:"ran"`
	// ExitCode and Signal are how its process ended (when it ran and its
	// end was observed).
	ExitCode int `json:"exit_code,omitempty"`
	Signal   int `json:"signal,omitempty"`
}

// ImportRun is one entry point of the import phase.
type ImportRun struct {
	Entry string `json:"entry"` // npm: require, import; pypi: the module
	// Ran: its process was started; OK: it exited 0.
	Ran      bool `json:"ran"`
	OK       bool `json:"ok"`
	ExitCode int  `json:"exit_code,omitempty"`
	Signal   int  `json:"signal,omitempty"`
}

// ExitStatus renders how a process ended: "signal N" when a signal
// killed it, else "exit N".
func ExitStatus(code, signal int) string {
	if signal != 0 {
		return fmt.Sprintf("signal %d", signal)
	}
	return fmt.Sprintf("exit %d", code)
}

// ScriptFilesDigest sums up the files of a script (path to digest):
// "sha256:<hex>" of their sorted lines of quoted path and digest, or ""
// when files is nil (not read).
func ScriptFilesDigest(files map[string]string) string {
	if files == nil {
		return ""
	}
	h := sha256.New()
	for _, p := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%q %s\n", p, files[p])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
