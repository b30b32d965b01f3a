package rules

import (
	"strconv"
	"strings"

	"github.com/fumehood/fumehood/trace"
)

// proc is the state of one process as the judge walks the trace in order:
// what it runs now and where it came from. Unlike trace.Tree it reflects
// the moment of each event, so an event before an exec sees the old image.
type proc struct {
	key       string
	parent    *proc
	exe       string
	cmdline   string
	ancestors []string
	ancestry  string
	cwd       string
	inScript  bool
	main      bool
	pm        bool
}

// procs tracks the processes of one trace.
type procs struct {
	byKey map[trace.ProcKey]*proc
	// byTGID holds the latest process of each tgid in the current phase:
	// the parent of a process whose fork was not observed.
	byTGID    map[uint32]*proc
	phase     string
	phaseMain bool // the current phase's main command was seen
}

func newProcs() *procs {
	return &procs{byKey: make(map[trace.ProcKey]*proc), byTGID: make(map[uint32]*proc)}
}

// observe updates the process state with e and returns the process that
// caused e, or nil for capture and lost events.
func (ps *procs) observe(e *trace.Event) *proc {
	if e.Kind.Capture() || e.Kind == trace.KindLost {
		return nil
	}
	if e.Phase != ps.phase {
		ps.phase, ps.phaseMain = e.Phase, false
		clear(ps.byTGID)
	}
	k := e.Proc()
	p := ps.byKey[k]
	if p == nil {
		p = &proc{key: procKey(k)}
		if parent := ps.byTGID[e.PPID]; parent != nil && e.PPID != e.TGID {
			p.inherit(parent)
		}
		ps.byKey[k] = p
		ps.byTGID[e.TGID] = p
	}
	switch e.Kind {
	case trace.KindExec:
		if e.Failed() {
			break // an attempt that failed left the image as it was
		}
		p.exe = e.Path
		p.cmdline = strings.Join(e.Argv, " ")
		p.cwd = e.Cwd
		p.pm = packageManager(e.Path, e.Argv)
		p.inScript = p.parent != nil && p.parent.inScript || startsScript(e.Path, e.Argv, p.parent)
		if !ps.phaseMain {
			ps.phaseMain, p.main = true, true
		}
	case trace.KindFork:
		ck := trace.ProcKey{TGID: e.ChildPID, Start: e.ChildStart}
		c := &proc{key: procKey(ck)}
		c.inherit(p)
		c.exe, c.cmdline, c.cwd, c.pm = p.exe, p.cmdline, p.cwd, p.pm
		ps.byKey[ck] = c
		ps.byTGID[e.ChildPID] = c
	case trace.KindChdir:
		if e.Ret >= 0 && e.Path != "" {
			p.cwd = abs(e.Path, p.cwd)
		}
	case trace.KindAlive:
		if p.exe == "" {
			p.exe, p.cmdline = e.Path, strings.Join(e.Argv, " ")
		}
	}
	return p
}

func procKey(k trace.ProcKey) string {
	return strconv.FormatUint(uint64(k.TGID), 10) + "/" + strconv.FormatUint(k.Start, 10)
}

func (p *proc) inherit(parent *proc) {
	p.parent = parent
	p.inScript = parent.inScript
	p.cwd = parent.cwd
	p.ancestors = append([]string{parent.exe}, parent.ancestors...)
	p.ancestry = parent.cmdline
	if parent.ancestry != "" {
		p.ancestry += " <- " + parent.ancestry
	}
}

// descends reports whether p is anc or one of its descendants.
func (p *proc) descends(anc *proc) bool {
	for q, n := p, 0; q != nil && n < 256; q, n = q.parent, n+1 {
		if q == anc {
			return true
		}
	}
	return false
}

func (p *proc) fill(env *Env) {
	if p == nil {
		env.Exe, env.Cmdline, env.Proc = "", "", ""
		env.ParentExe, env.ParentCmdline = "", ""
		env.Ancestors, env.Ancestry = nil, ""
		env.InInstallScript, env.Main = false, false
		env.PackageManager, env.ParentPackageManager, env.ProcCwd = false, false, ""
		env.Package = env.Phase == "import"
		return
	}
	env.Exe, env.Cmdline, env.Proc = p.exe, p.cmdline, p.key
	env.ParentExe, env.ParentCmdline, env.ParentPackageManager = "", "", false
	if p.parent != nil {
		env.ParentExe, env.ParentCmdline, env.ParentPackageManager = p.parent.exe, p.parent.cmdline, p.parent.pm
	}
	env.PackageManager, env.ProcCwd = p.pm, p.cwd
	if p.cwd != "" {
		// The probe leaves cwd out when it did not resolve a relative
		// path; resolve it against the process's tracked directory.
		env.Path, env.Path2, env.Target = abs(env.Path, p.cwd), abs(env.Path2, p.cwd), abs(env.Target, p.cwd)
	}
	env.Ancestors, env.Ancestry = p.ancestors, p.ancestry
	env.InInstallScript, env.Main = p.inScript, p.main
	// runc's init ("runc:[2:INIT]") runs in the container before it execs
	// the phase's command: the runtime, not the package.
	env.Package = (p.inScript || env.Phase == "import") && !strings.HasPrefix(env.Comm, "runc:")
}

var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "ash": true}

// startsScript reports whether an exec begins a package's install code: a
// shell running "-c SCRIPT" for a package manager parent (npm's lifecycle
// scripts), or
// a Python process running setup.py or a PEP 517 build backend.
func startsScript(exe string, argv []string, parent *proc) bool {
	base := exe[strings.LastIndexByte(exe, '/')+1:]
	if shells[base] && len(argv) > 2 && argv[1] == "-c" {
		return parent != nil && parent.pm
	}
	if strings.HasPrefix(base, "python") {
		for _, a := range argv[1:] {
			if strings.HasSuffix(a, "setup.py") || strings.Contains(a, "_in_process.py") ||
				strings.Contains(a, "setup.py'") || strings.Contains(a, "setup.py\"") {
				return true
			}
		}
	}
	return false
}

var managers = map[string]bool{
	"npm": true, "npx": true, "yarn": true, "pnpm": true, "pip": true, "pip3": true,
	"npm-cli.js": true, "npx-cli.js": true, "yarn.js": true, "pnpm.cjs": true,
}

// packageManager reports whether an exec runs a package manager: its file or
// one of its first two arguments (a script run by node or python) names
// one, or it is "python -m pip".
func packageManager(exe string, argv []string) bool {
	if managers[exe[strings.LastIndexByte(exe, '/')+1:]] {
		return true
	}
	for i, a := range argv {
		if i > 2 {
			break
		}
		if managers[a[strings.LastIndexByte(a, '/')+1:]] {
			return true
		}
		if a == "-m" && i+1 < len(argv) && (argv[i+1] == "pip" || argv[i+1] == "pip3") {
			return true
		}
	}
	return false
}
