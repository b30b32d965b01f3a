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
	dir := path.Join(l.Project, "node_modules", a.Name)
	var scripts []Script
	for _, s := range m.LifecycleScripts() {
		scripts = append(scripts, Script{Name: s.Name, Command: s.Command, Runs: func(argv []string, cwd string) bool {
			return cwd == dir && npm.RunsScript(argv, s.Command)
		}})
	}
	argv, es := npm.Import(a.Name)
	return []Command{
		{Phase: PhaseInstall, Argv: npm.InstallArgv(l.Artifact, l.Cache, a.Registry), Env: []string{"npm_config_update_notifier=false"}, Cwd: l.Project, Scripts: scripts},
		{Phase: PhaseImport, Argv: argv, Cwd: l.Project, Entries: entries(es)},
	}, nil
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
	install := Command{Phase: PhaseInstall, Argv: pypi.InstallArgv(l.Artifact, l.Cache), Env: pypi.InstallEnv, Cwd: l.Project, Scripts: pypiBuild(m)}
	cmds := []Command{install}
	if len(m.Modules) > 0 {
		argv, es := pypi.Import(m.Modules)
		cmds = append(cmds, Command{Phase: PhaseImport, Argv: argv, Cwd: l.Project, Entries: entries(es)})
	}
	return cmds, nil
}

// pypiBuild is the build script of an sdist (none for a wheel).
func pypiBuild(m pypi.Meta) []Script {
	if m.Build == "" {
		return nil
	}
	return []Script{{Name: "build", Command: m.Build, Runs: func(argv []string, _ string) bool { return pypi.RunsBuild(argv) }}}
}
