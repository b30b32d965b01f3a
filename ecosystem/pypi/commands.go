package pypi

import (
	"path"
	"strings"
)

// InstallArgv installs the artifact at artifact for the user from the
// find-links directory cache only, using the setuptools of the image. It
// keeps pip's build directories (--no-clean): the worker's search of the
// files a phase changed (worker/stash.go) runs after the phase, and an
// sdist's setup.py that pip removed by then would escape it.
func InstallArgv(artifact, cache string) []string {
	return []string{"python3", "-m", "pip", "install", "--user", "--no-index", "--find-links", cache, "--no-build-isolation", "--no-clean", artifact}
}

// ReinstallArgv installs artifact again over what InstallArgv installed,
// without its dependencies, so that an sdist's build runs once more.
func ReinstallArgv(artifact, cache string) []string {
	argv := InstallArgv(artifact, cache)
	return append(argv[:len(argv)-1:len(argv)-1], "--force-reinstall", "--no-deps", artifact)
}

// InstallEnv lets pip install into the user site on Debian (PEP 668).
var InstallEnv = []string{"PIP_BREAK_SYSTEM_PACKAGES=1"}

// importProgram imports the module named by its argument; an exception
// prints its traceback and exits 1.
const importProgram = "import importlib, sys; importlib.import_module(sys.argv[1])"

// importScript imports each module ("$@" after the program in $1) in a
// fresh python3, a direct child of the shell, so that each import's exit
// status is its own process's and a .pth file fires each time. It exits
// 1 when any import failed, with exit last so that sh starts the last
// python3 as a child too rather than exec'ing it.
const importScript = `prog=$1; shift; st=0; for m do python3 -c "$prog" "$m" || st=1; done; exit $st`

// Entry is one module the import command imports: a python3 process the
// command starts as its direct child with exactly Argv.
type Entry struct {
	Name string // the module
	Argv []string
}

// Import returns the command that imports modules (valid identifiers, as
// Check returns them) and its entries, one per module. The names are
// passed as arguments, never spliced into a program.
func Import(modules []string) (argv []string, entries []Entry) {
	argv = append([]string{"sh", "-c", importScript, "sh", importProgram}, modules...)
	for _, m := range modules {
		entries = append(entries, Entry{Name: m, Argv: []string{"python3", "-c", importProgram, m}})
	}
	return argv, entries
}

// RunsBuild reports whether a process with argv, a direct child of pip,
// runs the sdist's build: a PEP 517 hook through pip's vendored
// _in_process.py, or setup.py through pip's setuptools shim (whose code
// names itself "pip-setuptools-caller").
func RunsBuild(argv []string) bool {
	if len(argv) < 2 || !strings.HasPrefix(path.Base(argv[0]), "python") {
		return false
	}
	for i, a := range argv[1:] {
		if path.Base(a) == "_in_process.py" || argv[i] == "-c" && strings.Contains(a, "pip-setuptools-caller") {
			return true
		}
	}
	return false
}
