package worker

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/trace"
)

// child is a process a phase's command started as its direct child.
type child struct {
	key      trace.ProcKey
	argv     []string // of its first exec
	cwd      string
	exited   bool
	exitCode int
	signal   int
}

// children returns the processes that the phase's command — the process
// of the phase's first exec outside the container's init (init, whose host
// pid the pipeline recorded in the phase metadata, runs the command as its
// child) — started directly, in the order of their first exec, with how
// they ended. It reads exec and exit events alone: a parent is the ppid
// the kernel recorded at exec, which nothing in the child's control
// changes, and a child's first exec is the script it was started for
// (the process table keeps only the last).
func children(events []trace.Event, phase string, init uint32) []child {
	var root uint32
	var order []trace.ProcKey
	byKey := map[trace.ProcKey]*child{}
	for i := range events {
		e := &events[i]
		if e.Phase != phase || e.TGID == 0 || e.TGID == init {
			continue
		}
		switch {
		case e.Kind == trace.KindExec && root == 0:
			root = e.TGID
		case e.Kind == trace.KindExec && !e.Failed() && e.PPID == root && byKey[e.Proc()] == nil:
			byKey[e.Proc()] = &child{key: e.Proc(), argv: e.Argv, cwd: e.Cwd}
			order = append(order, e.Proc())
		case e.Kind == trace.KindExit:
			if c := byKey[e.Proc()]; c != nil {
				c.exited, c.exitCode, c.signal = true, int(e.ExitCode), int(e.Signal)
			}
		}
	}
	out := make([]child, len(order))
	for i, k := range order {
		out[i] = *byKey[k]
	}
	return out
}

// coverage tells what of the package's own code the phases ran: each
// script cmds declare, seen as a direct child of the package manager
// that runs it, and each entry point of an import command, by the exit
// status of its own process. phases are those that ran (fewer than cmds
// when the analysis stopped early).
func coverage(cmds []ecosystem.Command, phases []analysis.Phase, tr *trace.Trace) analysis.Coverage {
	var c analysis.Coverage
	for _, cmd := range cmds {
		var kids []child
		ph := phaseNamed(phases, cmd.Phase)
		if ph != nil {
			kids = children(tr.Events, cmd.Phase, phaseInit(tr, cmd.Phase))
		}
		for _, s := range cmd.Scripts {
			if cmd.Phase == ecosystem.PhaseCI {
				c.CI = append(c.CI, scriptRun(cmd.Phase, s, kids))
			} else {
				c.Scripts = append(c.Scripts, scriptRun(cmd.Phase, s, kids))
			}
		}
		for _, e := range cmd.Entries {
			c.Imports = append(c.Imports, importRun(e, kids))
		}
		if cmd.Phase == ecosystem.PhaseInstall && ph != nil {
			c.InstallOK = phaseOK(*ph)
		}
	}
	c.Level, c.Reason = level(c, cmds, phases)
	return c
}

// phaseNamed returns the phase of phases called name, nil when it did
// not run.
func phaseNamed(phases []analysis.Phase, name string) *analysis.Phase {
	for i := range phases {
		if phases[i].Name == name {
			return &phases[i]
		}
	}
	return nil
}

// scriptProcs returns the processes that ran the scripts named ("PHASE
// NAME") of those cmds declare: the direct children of the package
// manager that run one, as coverage finds them; the ci phase runs the
// install's scripts again, under their install names.
func scriptProcs(cmds []ecosystem.Command, tr *trace.Trace, named []string) []trace.ProcKey {
	var out []trace.ProcKey
	for _, cmd := range cmds {
		var kids []child
		phase := cmd.Phase
		if phase == ecosystem.PhaseCI {
			phase = ecosystem.PhaseInstall
		}
		for _, s := range cmd.Scripts {
			if !slices.Contains(named, phase+" "+s.Name) {
				continue
			}
			if kids == nil {
				kids = children(tr.Events, cmd.Phase, phaseInit(tr, cmd.Phase))
			}
			for _, k := range kids {
				if s.Runs(k.argv, k.cwd) {
					out = append(out, k.key)
				}
			}
		}
	}
	return out
}

func scriptRun(phase string, s ecosystem.Script, kids []child) analysis.ScriptRun {
	r := analysis.ScriptRun{Phase: phase, Name: s.Name, Command: s.Command, Files: s.Files, FilesDigest: analysis.ScriptFilesDigest(s.Files)}
	for _, k := range kids {
		if s.Runs(k.argv, k.cwd) {
			r.Ran, r.ExitCode, r.Signal = true, k.exitCode, k.signal
			if k.exitCode != 0 || k.signal != 0 {
				break // the failure is what to report (pip runs a build more than once)
			}
		}
	}
	return r
}

func importRun(e ecosystem.Entry, kids []child) analysis.ImportRun {
	r := analysis.ImportRun{Entry: e.Name}
	for _, k := range kids {
		if slices.Equal(k.argv, e.Argv) {
			r.Ran, r.ExitCode, r.Signal = true, k.exitCode, k.signal
			r.OK = k.exited && k.exitCode == 0 && k.signal == 0
			break
		}
	}
	return r
}

func phaseOK(p analysis.Phase) bool { return p.ExitCode == 0 && !p.TimedOut && !p.OOMKilled }

// level sums c up and says, unless it is full, the first thing that did
// not run.
func level(c analysis.Coverage, cmds []ecosystem.Command, phases []analysis.Phase) (analysis.CoverageLevel, string) {
	ran, all := 0, len(c.Scripts)+len(c.Imports)
	for _, s := range c.Scripts {
		if s.Ran {
			ran++
		}
	}
	scripts := ran
	for _, im := range c.Imports {
		if im.OK {
			ran++
		}
	}
	reason := firstGap(c, cmds, phases, scripts)
	switch {
	case all == 0:
		return analysis.CoverageNone, "the package declares no install script and no importable entry point"
	case ran == 0:
		return analysis.CoverageNone, reason
	case ran < all || reason != "":
		return analysis.CoveragePartial, reason
	}
	return analysis.CoverageFull, ""
}

// firstGap names the first phase that failed, script that did not run
// or import that failed ("" when none).
func firstGap(c analysis.Coverage, cmds []ecosystem.Command, phases []analysis.Phase, scriptsRan int) string {
	for _, p := range phases {
		// an import's failures are its entry points'; the ci phase runs
		// again what the install ran
		if phaseOK(p) || p.Name == ecosystem.PhaseImport || p.Name == ecosystem.PhaseCI {
			continue
		}
		what := p.Name + " failed"
		if scriptsRan == 0 && len(c.Scripts) > 0 {
			what += " before scripts"
		}
		return fmt.Sprintf("%s (%s): %s", what, ended(p), outputLine(p.Output))
	}
	for _, cmd := range cmds {
		if cmd.Phase != ecosystem.PhaseCI && phaseNamed(phases, cmd.Phase) == nil {
			return fmt.Sprintf("phase %s did not run", cmd.Phase)
		}
	}
	for _, s := range c.Scripts {
		if !s.Ran {
			return fmt.Sprintf("%s script %s did not run", s.Phase, s.Name)
		}
	}
	for _, im := range c.Imports {
		switch {
		case !im.Ran:
			return fmt.Sprintf("entry point %s did not run", im.Entry)
		case !im.OK:
			return fmt.Sprintf("entry point %s failed (%s)", im.Entry, analysis.ExitStatus(im.ExitCode, im.Signal))
		}
	}
	return ""
}

func ended(p analysis.Phase) string {
	switch {
	case p.TimedOut:
		return "timed out"
	case p.OOMKilled:
		return "out of memory"
	}
	return analysis.ExitStatus(p.ExitCode, 0)
}

// maxReasonLine bounds the output quoted in a coverage reason.
const maxReasonLine = 160

// outputLine picks the line of a phase's output that says why it failed:
// the first npm or pip error line, else the last non-empty line. Control
// characters are dropped: the package writes to this output, and the
// line is printed on an analyst's terminal.
func outputLine(out string) string {
	var last string
	for l := range strings.Lines(out) {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "npm ERR!") || strings.HasPrefix(l, "ERROR:") {
			return clean(l)
		}
		if l != "" {
			last = l
		}
	}
	if last == "" {
		return "no output"
	}
	return clean(last)
}

func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > maxReasonLine {
		s = string(r[:maxReasonLine]) + "…"
	}
	return s
}

// phaseInit returns the host pid of phase's container init as the pipeline
// recorded it, or 0 for a trace without phase metadata.
func phaseInit(tr *trace.Trace, phase string) uint32 {
	for _, ph := range tr.Phases {
		if ph.Name == phase {
			return ph.Init.TGID
		}
	}
	return 0
}
