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
}

// Commands returns the phases to run for a, in order.
//
// npm: "install" runs npm install --offline --no-audit --no-fund
// --foreground-scripts from the cache, against a.Registry, of the
// artifact in Project; "import" runs one sh -c that starts two node
// processes in Project, require(NAME) then an ESM import(NAME), and
// exits non-zero when either failed.
//
// pypi: "install" runs pip install --user --no-index --find-links
// Cache --no-build-isolation of the artifact with
// PIP_BREAK_SYSTEM_PACKAGES=1; "import" imports each top-level module the
// artifact declares (read from its files on the host, never executed) in
// one fresh python3. A distribution with no importable module has no
// import phase.
func Commands(a Artifact, l Layout) ([]Command, error) {
	for _, p := range []string{l.Home, l.Project, l.Artifact, l.Cache} {
		if !path.IsAbs(p) {
			return nil, fmt.Errorf("commands: layout paths must be absolute, got %q", p)
		}
	}
	switch a.Ecosystem {
	case NPM:
		if err := npm.ValidName(a.Name); err != nil {
			return nil, fmt.Errorf("commands: %v: %w", err, ErrBadArtifact)
		}
		return []Command{
			{Phase: PhaseInstall, Argv: npm.InstallArgv(l.Artifact, l.Cache, a.Registry), Env: []string{"npm_config_update_notifier=false"}, Cwd: l.Project},
			{Phase: PhaseImport, Argv: npm.ImportArgv(a.Name), Cwd: l.Project},
		}, nil
	case PyPI:
		m, err := pypi.Check(a.File, Config{}.withDefaults().limits())
		if err != nil {
			return nil, fmt.Errorf("commands: %w", err)
		}
		cmds := []Command{{Phase: PhaseInstall, Argv: pypi.InstallArgv(l.Artifact, l.Cache), Env: pypi.InstallEnv, Cwd: l.Project}}
		if len(m.Modules) > 0 {
			cmds = append(cmds, Command{Phase: PhaseImport, Argv: pypi.ImportArgv(m.Modules), Cwd: l.Project})
		}
		return cmds, nil
	}
	return nil, fmt.Errorf("commands: ecosystem %q: %w", a.Ecosystem, ErrBadSpec)
}
