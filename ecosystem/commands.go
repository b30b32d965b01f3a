package ecosystem

import (
	"fmt"
	"path"

	"github.com/fumehood/fumehood/ecosystem/npm"
	"github.com/fumehood/fumehood/ecosystem/pypi"
)

// Phase names, in the order Commands returns them.
const (
	PhaseInstall = "install"
	PhaseCI      = "ci"
	PhaseImport  = "import"
)

// Layout is where things are inside the sandbox (absolute paths).
type Layout struct {
	Home     string // the user's home, e.g. /home/alex
	Project  string // the directory installs run in; the caller creates it (with a minimal package.json for npm)
	Artifact string // the artifact file, e.g. /home/alex/Downloads/<file>
	Cache    string // npm: the npm cache; pypi: the pip find-links directory
}

// Command is one process to run in the sandbox for a phase.
type Command struct {
	Phase string
	Argv  []string
	Env   []string // added to the sandbox's environment
	Cwd   string
	// Scripts are the package's own scripts this command's package
	// manager should run by itself (install phases).
	Scripts []Script `json:",omitempty"`
	// Entries are the entry points this command loads, each in a fresh
	// process it starts as its direct child (import phases).
	Entries []Entry `json:",omitempty"`
}

// Script is package code a package manager runs by itself at install: an
// npm lifecycle script or a PyPI sdist's build.
type Script struct {
	Name    string // npm: preinstall, install, postinstall; pypi: build
	Command string // the script text, or the build backend
	// Files are the package files the script runs (relative to the
	// package's root) with their digests, read from the artifact on the
	// host (npm.ScriptDigests, pypi.BuildDigests): empty when it names
	// none, nil when they were not read (a script rebuilt by ScriptOf).
	Files map[string]string `json:",omitempty"`
	// Runs reports whether a process the package manager started as its
	// direct child, with argv in directory cwd, runs this script.
	Runs func(argv []string, cwd string) bool `json:"-"`
}

// Entry is one entry point an import command loads: a process the
// command starts as its direct child with exactly Argv.
type Entry struct {
	Name string // npm: require or import; pypi: the module
	Argv []string
}

// Commands returns the phases to run for a, in order.
//
// npm: "install" runs npm install --offline --no-audit --no-fund
// --foreground-scripts from the cache, against a.Registry, of the
// artifact in Project, which should run the lifecycle scripts the
// manifest declares (Scripts: sh -c SCRIPT in node_modules/NAME);
// "import" runs one sh -c that starts two node processes in Project,
// require(NAME) then an ESM import(NAME), and exits non-zero when either
// failed.
//
// pypi: "install" runs pip install --user --no-index --find-links
// Cache --no-build-isolation of the artifact with
// PIP_BREAK_SYSTEM_PACKAGES=1, which builds an sdist (Scripts: "build");
// "import" imports each top-level module the artifact declares (read
// from its files on the host, never executed), each in a fresh python3.
// A distribution with no importable module has no import phase.
//
// "ci", between install and import for a package with install scripts
// only, runs them again as a CI job would, the environment of which the caller adds (a package that
// acts only in CI stays quiet on the developer's machine): npm rebuild
// --offline in Project (every installed package's lifecycle scripts);
// pip install --force-reinstall --no-deps of the sdist. Its Scripts are
// the install's.
//
// The Scripts and Entries of the commands are what the worker's coverage
// looks for in the trace.
func Commands(a Artifact, l Layout) ([]Command, error) {
	for _, p := range []string{l.Home, l.Project, l.Artifact, l.Cache} {
		if !path.IsAbs(p) {
			return nil, fmt.Errorf("commands: layout paths must be absolute, got %q", p)
		}
	}
	switch a.Ecosystem {
	case NPM:
		return npmCommands(a, l)
	case PyPI:
		return pypiCommands(a, l)
	}
	return nil, fmt.Errorf("commands: ecosystem %q: %w", a.Ecosystem, ErrBadSpec)
}

func npmCommands(a Artifact, l Layout) ([]Command, error) {
	if err := npm.ValidName(a.Name); err != nil {
		return nil, fmt.Errorf("commands: %v: %w", err, ErrBadArtifact)
	}
	m, err := npm.Check(a.File, Config{}.withDefaults().limits())
	if err != nil {
		return nil, fmt.Errorf("commands: %w", err)
	}
	files, err := npm.ScriptDigests(a.File, Config{}.withDefaults().limits(), m)
	if err != nil {
		return nil, fmt.Errorf("commands: %w", err)
	}
	var scripts []Script
	for _, s := range m.LifecycleScripts() {
		sc := ScriptOf(NPM, a.Name, l.Project, s.Name, s.Command)
		sc.Files = files[s.Name]
		scripts = append(scripts, sc)
	}
	argv, es := npm.Import(a.Name)
	env := []string{"npm_config_update_notifier=false"}
	cmds := []Command{{Phase: PhaseInstall, Argv: npm.InstallArgv(l.Artifact, l.Cache, a.Registry), Env: env, Cwd: l.Project, Scripts: scripts}}
	if len(scripts) > 0 {
		cmds = append(cmds, Command{Phase: PhaseCI, Argv: npm.RebuildArgv(l.Cache), Env: env, Cwd: l.Project, Scripts: scripts})
	}
	return append(cmds, Command{Phase: PhaseImport, Argv: argv, Cwd: l.Project, Entries: entries(es)}), nil
}

// ScriptOf is the install script name, with its command, of package pkg
// of ecosystem eco installed into the project directory project, with
// the Runs its package manager gives it: npm runs a lifecycle script as
// sh -c COMMAND in node_modules/PKG; pip runs a build through its
// setuptools shim, wherever it unpacked the sdist. Commands makes its
// scripts with it, and a stored analysis's scripts are rebuilt with it
// from what its coverage recorded (Files are left nil).
func ScriptOf(eco, pkg, project, name, command string) Script {
	if eco == PyPI {
		return Script{Name: name, Command: command, Runs: func(argv []string, _ string) bool { return pypi.RunsBuild(argv) }}
	}
	dir := path.Join(project, "node_modules", pkg)
	return Script{Name: name, Command: command, Runs: func(argv []string, cwd string) bool {
		return cwd == dir && npm.RunsScript(argv, command)
	}}
}

// entries converts the entries of npm.Import or pypi.Import.
func entries[E npm.Entry | pypi.Entry](es []E) []Entry {
	out := make([]Entry, len(es))
	for i, e := range es {
		out[i] = Entry(e)
	}
	return out
}

func pypiCommands(a Artifact, l Layout) ([]Command, error) {
	m, err := pypi.Check(a.File, Config{}.withDefaults().limits())
	if err != nil {
		return nil, fmt.Errorf("commands: %w", err)
	}
	build, err := pypiBuild(a, l, m)
	if err != nil {
		return nil, fmt.Errorf("commands: %w", err)
	}
	install := Command{Phase: PhaseInstall, Argv: pypi.InstallArgv(l.Artifact, l.Cache), Env: pypi.InstallEnv, Cwd: l.Project, Scripts: build}
	cmds := []Command{install}
	if len(build) > 0 {
		cmds = append(cmds, Command{Phase: PhaseCI, Argv: pypi.ReinstallArgv(l.Artifact, l.Cache), Env: pypi.InstallEnv, Cwd: l.Project, Scripts: build})
	}
	if len(m.Modules) > 0 {
		argv, es := pypi.Import(m.Modules)
		cmds = append(cmds, Command{Phase: PhaseImport, Argv: argv, Cwd: l.Project, Entries: entries(es)})
	}
	return cmds, nil
}

// pypiBuild is the build script of an sdist a, whose metadata is m, with
// its build files (none for a wheel).
func pypiBuild(a Artifact, l Layout, m pypi.Meta) ([]Script, error) {
	if m.Build == "" {
		return nil, nil
	}
	files, err := pypi.BuildDigests(a.File, Config{}.withDefaults().limits(), m)
	if err != nil {
		return nil, err
	}
	s := ScriptOf(PyPI, a.Name, l.Project, "build", m.Build)
	s.Files = files
	return []Script{s}, nil
}
