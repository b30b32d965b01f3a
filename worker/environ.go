package worker

import (
	_ "embed"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/fumehood/fumehood/sandbox"
	"github.com/fumehood/fumehood/trace"
)

// A process reads its environment from its own memory: no syscall shows a
// stealer taking the token variables, and one that enciphers them leaves
// nothing in its traffic to read them back from. So every Node.js process
// of the sandbox preloads preload/environ.cjs (NODE_OPTIONS --require), and
// every Python process runs preload/environ.py (an import line of a .pth
// file in the system site-packages). Each opens a marker file the first
// time the process reads a planted variable (process.env, os.environ,
// os.getenv), and the copy's marker when it copies the whole environment in
// one go (the preloads say how a copy is told from a read). The markers lie
// on the workspace's tmpfs, mounted read-only, so their identities are
// recorded with the plant events (plantEvents), and the probes' record of
// an open names the variable whatever path is spelled (rules: planted_env).
//
// What they do not see: a process that is neither (a shell expanding
// $NPM_TOKEN, awk, native code), a Node.js process started with a
// NODE_OPTIONS of its own from a shell, a Python of a virtual environment
// without the system site-packages, and code that reaches the environment
// some other way. Rules count the command lines that start the first
// three kinds as reads, and the search of changed files (stash.go) makes a
// script or program that names a token variable its marker.

var (
	//go:embed preload/environ.cjs
	environNode []byte
	//go:embed preload/environ.py
	environPython []byte
)

// environDir is where the sandbox sees the preloads and markers: vars/NAME
// for the variable NAME, and copy.
const environDir = "/usr/local/lib/environ"

// environPth is the .pth file that runs environ.py in every Python process
// that reads the system site-packages.
const environPth = "/usr/lib/python3/dist-packages/environ.pth"

// environ lays out the preloads and a marker for each of tokenVars, the
// variables that hold a planted token, under hostDir, and returns the
// read-only mount that shows them at environDir, the NODE_OPTIONS that
// preloads the Node.js one and the .pth file that runs the Python one.
func environ(hostDir string, tokenVars []string) (sandbox.Mount, string, sandbox.File, error) {
	if err := os.MkdirAll(filepath.Join(hostDir, "vars"), 0o755); err != nil {
		return sandbox.Mount{}, "", sandbox.File{}, fmt.Errorf("environ preload: %w", err)
	}
	files := map[string][]byte{"environ.cjs": environNode, "environ.py": environPython, "copy": nil}
	for _, name := range tokenVars {
		files[filepath.Join("vars", name)] = nil
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(hostDir, name), data, 0o644); err != nil {
			return sandbox.Mount{}, "", sandbox.File{}, fmt.Errorf("environ preload: %w", err)
		}
	}
	py := path.Join(environDir, "environ.py")
	pth := sandbox.File{Path: environPth, Mode: 0o644, Data: fmt.Appendf(nil,
		"import os; exec(compile(open(%[1]q, 'rb').read(), %[1]q, 'exec'), {'__file__': %[1]q}) if os.path.isfile(%[1]q) else None\n", py)}
	m := sandbox.Mount{Source: hostDir, Target: environDir, ReadOnly: true}
	return m, "NODE_OPTIONS=--require=" + path.Join(environDir, "environ.cjs"), pth, nil
}

// environMarker is the host path of the marker plantEvents records for
// where (a token variable's trace.PlantEnv+NAME, or trace.PlantEnvCopy),
// under hostDir.
func environMarker(hostDir, where string) (string, bool) {
	if where == trace.PlantEnvCopy {
		return filepath.Join(hostDir, "copy"), true
	}
	name, ok := strings.CutPrefix(where, trace.PlantEnv)
	if !ok {
		return "", false
	}
	return filepath.Join(hostDir, "vars", name), true
}
