package trace

import (
	"strconv"
	"strings"
)

// ProcKey identifies one process of a trace: its tgid and its start time in
// nanoseconds since boot.
type ProcKey struct {
	TGID  uint32 `json:"tgid"`
	Start uint64 `json:"start"`
}

// String renders k as "tgid/start".
func (k ProcKey) String() string {
	return strconv.FormatUint(uint64(k.TGID), 10) + "/" + strconv.FormatUint(k.Start, 10)
}

// Role says on whose behalf a process acts. See the package documentation
// for how roles are decided.
type Role string

// Roles.
const (
	RoleRuntime        Role = "runtime"
	RolePackageManager Role = "package_manager"
	RolePackageCode    Role = "package_code"
)

// Why a process has its role: the value of Process.Why.
const (
	WhyInit       = "container init"                  // the phase's init, named by the pipeline
	WhyBefore     = "before the phase's command"      // seen before the command started (runc's init)
	WhyCommand    = "phase command"                   // the command the pipeline started for the phase
	WhyForked     = "forked"                          // a fork of its parent, role inherited
	WhyScript     = "started by the package manager"  // a program the package manager ran that is not its own helper
	WhyHelper     = "package manager helper"          // an image executable the package manager runs for itself
	WhyWritable   = "executed a writable file"        // ran a file from a writable directory
	WhyOrphan     = "parent not observed"             // no fork seen and no known parent: judged as package code
	WhyReparented = "child of init after the command" // an orphan whose fork was not observed
)

// Process is one process of a trace, as the table knows it: its place in
// the tree, its role, and what it runs. While a table is fed, a Process
// describes the moment of the last event fed (an event before an exec sees
// the old image); once every event is fed, the end of the trace.
type Process struct {
	Key    ProcKey `json:"key"`
	Parent ProcKey `json:"parent"` // zero when the parent was not observed
	Phase  string  `json:"phase,omitempty"`
	Role   Role    `json:"role"`
	// Why names what gave the process its role (the Why constants).
	Why string `json:"why"`
	// Main is set on the phase's command, the process the pipeline
	// started.
	Main bool   `json:"main,omitempty"`
	Comm string `json:"comm,omitempty"`
	// Exe and Argv are those of the last successful exec (inherited
	// from the parent until the first); Cwd is the working directory of
	// that exec, followed through chdir. Execs lists the sequence
	// numbers of every successful exec, oldest first.
	Exe   string   `json:"exe,omitempty"`
	Argv  []string `json:"argv,omitempty"`
	Cwd   string   `json:"cwd,omitempty"`
	Execs []uint64 `json:"execs,omitempty"`
	// Origin is, for package code the package manager started (a
	// lifecycle script, a build hook) and its descendants, the working
	// directory the package manager started it in: the package's own
	// directory for npm's scripts, which nothing the package does
	// changes. Empty for other processes.
	Origin string `json:"origin,omitempty"`

	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	Exited   bool   `json:"exited,omitempty"`
	ExitCode int32  `json:"exit_code,omitempty"`
	Signal   int32  `json:"signal,omitempty"`
	// Alive is set when the process was still running at the end of its
	// phase.
	Alive bool `json:"alive,omitempty"`

	parent    *Process
	id        string // Key.String(), kept
	cmdline   string
	ancestors []string
	ancestry  string
	root      bool // the phase's command, whose own execs keep its role
}

// ID returns Key.String() without allocating.
func (p *Process) ID() string { return p.id }

// ParentProcess returns the observed parent, or nil.
func (p *Process) ParentProcess() *Process { return p.parent }

// Cmdline returns Argv joined by spaces.
func (p *Process) Cmdline() string { return p.cmdline }

// AncestorExes returns the executables of the observed ancestors, nearest
// first, as they were when p was created.
func (p *Process) AncestorExes() []string { return p.ancestors }

// Ancestry returns the command lines of the observed ancestors, nearest
// first, joined by " <- ", as they were when p was created.
func (p *Process) Ancestry() string { return p.ancestry }

// Descends reports whether p is anc or one of its descendants.
func (p *Process) Descends(anc *Process) bool {
	for q, n := p, 0; q != nil && n < maxDepth; q, n = q.parent, n+1 {
		if q == anc {
			return true
		}
	}
	return false
}

// maxDepth bounds walks up the tree.
const maxDepth = 1024

// PhaseInfo is what the pipeline knows of one phase's processes: the
// container's init it started, and the role of the command init runs. It
// is stored with the trace so that roles never depend on what a process
// is called.
type PhaseInfo struct {
	Name string `json:"name"`
	// Init is the container's init (host tgid; start 0 when no event of
	// it was recorded: init lives through its phase, so its tgid alone
	// names it there).
	Init ProcKey `json:"init"`
	// Command is the role of the phase's command, init's first child:
	// the package manager (install; the developer's own tools in the
	// session phase) or package code (import: it loads the package
	// in-process).
	Command Role `json:"command"`
	// Tools lists image executables (absolute; an entry ending in "/"
	// names a directory) that, in this phase only, stay in the command's
	// role when a process of that role runs them, as the policy's
	// ManagerExecutables do in every phase: the developer's git, npm and
	// ssh, which the session phase's command starts.
	Tools []string `json:"tools,omitempty"`
	// TimedOut is set when the phase hit its time limit: its command was
	// still running at the end (and was killed with everything else).
	TimedOut bool `json:"timed_out,omitempty"`
}

// Table is the process table of a trace: every process, its parent, its
// role and what it runs. Feed it the events in order to follow the trace
// (each returned Process describes the moment of its event), or build it
// whole with BuildTable.
type Table struct {
	policy Policy
	phases map[string]PhaseInfo
	procs  map[ProcKey]*Process
	order  []*Process
	// The current phase: its name, its metadata (known reports whether
	// it names the init), its command once seen, and the latest process
	// of each tgid (the parent of a process whose fork was not observed).
	started bool
	phase   string
	info    PhaseInfo
	known   bool
	command *Process
	byTGID  map[uint32]*Process
}

// NewTable returns an empty table for a trace with the given phase
// metadata (nil for a trace recorded without it).
func NewTable(phases []PhaseInfo, pol Policy) *Table {
	t := &Table{
		policy: pol,
		phases: make(map[string]PhaseInfo, len(phases)),
		procs:  make(map[ProcKey]*Process),
		byTGID: make(map[uint32]*Process),
	}
	for _, ph := range phases {
		t.phases[ph.Name] = ph
	}
	return t
}

// BuildTable feeds every event of tr to a new table.
func BuildTable(tr *Trace, pol Policy) *Table {
	t := NewTable(tr.Phases, pol)
	for i := range tr.Events {
		t.Feed(&tr.Events[i])
	}
	return t
}

// CommandRole returns the role of the command of the phase of the last
// event fed: package_manager in an install phase.
func (t *Table) CommandRole() Role { return t.info.Command }

// Processes returns every process, in order of first appearance.
func (t *Table) Processes() []*Process { return t.order }

// Process returns the process with key k, or nil.
func (t *Table) Process(k ProcKey) *Process { return t.procs[k] }

// Command returns the phase command's process (init's first child, or the
// phase's first exec without phase metadata) of the phase being fed, or nil
// before it is seen.
func (t *Table) Command() *Process { return t.command }

// CommandRunning reports whether the phase's command was running at p's
// event or, in a phase that hit its time limit, at the phase's end: then
// its kill belongs to the teardown.
func (t *Table) CommandRunning() bool {
	return t.command != nil && (!t.command.Exited || t.info.TimedOut)
}

// Current returns the latest process of tgid in the phase being fed, or nil.
func (t *Table) Current(tgid uint32) *Process { return t.byTGID[tgid] }

// Feed updates the table with e, the next event of the trace, and returns
// the process that caused it as of e, or nil for events of no process
// (captures, lost counts, plants).
func (t *Table) Feed(e *Event) *Process {
	if e.TGID == 0 {
		return nil
	}
	if e.Phase != t.phase || !t.started {
		t.enterPhase(e.Phase)
	}
	p := t.lookup(e)
	p.LastSeq = e.Seq
	if p.Comm == "" {
		p.Comm = e.Comm
	}
	switch e.Kind {
	case KindExec:
		if !e.Failed() { // an attempt that failed left the image as it was
			t.exec(p, e)
		}
	case KindFork:
		t.fork(p, e)
	case KindExit:
		p.Exited, p.ExitCode, p.Signal = true, e.ExitCode, e.Signal
	case KindChdir:
		if e.Ret >= 0 && e.Path != "" {
			p.Cwd = Abs(e.Path, p.Cwd)
		}
	case KindAlive:
		p.Alive = true
		if p.Exe == "" {
			p.Exe, p.Argv, p.cmdline = e.Path, e.Argv, strings.Join(e.Argv, " ")
		}
	}
	return p
}

func (t *Table) enterPhase(name string) {
	t.started, t.phase = true, name
	info, ok := t.phases[name]
	if !ok {
		info = PhaseInfo{Name: name, Command: commandRole(name)}
	}
	t.info, t.known = info, info.Init.TGID != 0
	t.command = nil
	clear(t.byTGID)
}

// lookup returns the process of e, creating it when e is its first event.
// Survivors (alive events) are reported by tgid alone: the latest process
// of that tgid in the phase.
func (t *Table) lookup(e *Event) *Process {
	k := e.Proc()
	if e.Kind == KindAlive && k.Start == 0 {
		if p := t.byTGID[k.TGID]; p != nil {
			return p
		}
	}
	if p := t.procs[k]; p != nil {
		return p
	}
	var parent *Process
	if e.PPID != e.TGID {
		parent = t.byTGID[e.PPID]
	}
	p := t.add(k, e, parent)
	if parent == nil {
		p.Parent = ProcKey{TGID: e.PPID}
	}
	t.assignUnforked(p, e.PPID)
	return p
}

// add records a new process of the current phase, first seen at e.
func (t *Table) add(k ProcKey, e *Event, parent *Process) *Process {
	p := &Process{Key: k, Phase: t.phase, FirstSeq: e.Seq, id: k.String()}
	if parent != nil {
		p.inherit(parent)
	}
	t.procs[k] = p
	t.order = append(t.order, p)
	t.byTGID[k.TGID] = p
	return p
}

func (p *Process) inherit(parent *Process) {
	p.parent, p.Parent = parent, parent.Key
	p.Role, p.Why, p.Comm = parent.Role, WhyForked, parent.Comm
	p.Exe, p.Argv, p.cmdline, p.Cwd, p.Origin = parent.Exe, parent.Argv, parent.cmdline, parent.Cwd, parent.Origin
	p.ancestors = append([]string{parent.Exe}, parent.ancestors...)
	p.ancestry = parent.cmdline
	if parent.ancestry != "" {
		p.ancestry += " <- " + parent.ancestry
	}
}

// isInit reports whether k is the current phase's init.
func (t *Table) isInit(k ProcKey) bool {
	return t.known && k.TGID == t.info.Init.TGID && (t.info.Init.Start == 0 || k.Start == t.info.Init.Start)
}

// assignUnforked gives a role to a process first seen by an event of its
// own (its fork, if any, was not observed): init and its first child by
// the phase metadata; otherwise the parent's role, or, with no parent
// known, runtime before the command and package code after it.
func (t *Table) assignUnforked(p *Process, ppid uint32) {
	switch {
	case t.isInit(p.Key):
		p.Role, p.Why = RoleRuntime, WhyInit
	case t.known && (p.parent != nil && t.isInit(p.parent.Key) || p.parent == nil && ppid == t.info.Init.TGID):
		t.childOfInit(p)
	case p.parent != nil:
		// inherited in add
	case t.command == nil && !t.known:
		p.Role, p.Why = RoleRuntime, WhyBefore
	default:
		p.Role, p.Why = RolePackageCode, WhyOrphan
	}
}

// childOfInit gives a child of init its role: the first is the phase's
// command; init starts nothing else, so a later one (an orphan whose fork
// was lost) is judged as package code.
func (t *Table) childOfInit(p *Process) {
	if t.command != nil {
		p.Role, p.Why = RolePackageCode, WhyReparented
		return
	}
	t.setCommand(p)
}

func (t *Table) setCommand(p *Process) {
	t.command = p
	p.root, p.Main = true, true
	p.Role, p.Why = t.info.Command, WhyCommand
}

func (t *Table) fork(p *Process, e *Event) {
	k := ProcKey{TGID: e.ChildPID, Start: e.ChildStart}
	if c := t.procs[k]; c != nil {
		return // its own events came first
	}
	c := t.add(k, e, p)
	if t.isInit(p.Key) {
		t.childOfInit(c)
	}
}

// exec records a successful exec of p and decides p's role after it.
func (t *Table) exec(p *Process, e *Event) {
	p.Exe, p.Argv, p.cmdline = e.Path, e.Argv, strings.Join(e.Argv, " ")
	if e.Cwd != "" {
		p.Cwd = e.Cwd
	}
	p.Comm = e.Comm
	p.Execs = append(p.Execs, e.Seq)
	if !t.known && t.command == nil && p.Role == RoleRuntime {
		t.setCommand(p) // no metadata: the first exec of the phase starts its command
	}
	if p.Role != RolePackageManager {
		return // runtime stays runtime; package code never becomes anything else
	}
	file := execPath(e.Path, p.Cwd)
	switch {
	case file == "" || t.policy.writable(file):
		p.Role, p.Why = RolePackageCode, WhyWritable
	case p.root:
		// the command's own image chain (npm → env → node)
	case t.policy.managerExecutable(file) || hasPrefix(file, t.info.Tools):
		p.Why = WhyHelper
	default:
		p.Role, p.Why = RolePackageCode, WhyScript
	}
	if p.Role == RolePackageCode {
		p.Origin = p.Cwd
	}
}
