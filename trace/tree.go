package trace

import "slices"

// ProcKey identifies one process of a trace: its tgid and its start time in
// nanoseconds since boot.
type ProcKey struct {
	TGID  uint32 `json:"tgid"`
	Start uint64 `json:"start"`
}

// Process is one node of the process tree.
type Process struct {
	Key    ProcKey `json:"key"`
	Parent ProcKey `json:"parent"` // zero when the parent was not observed
	Phase  string  `json:"phase,omitempty"`
	Comm   string  `json:"comm,omitempty"`
	// Exe, Argv and Cwd are those of the last exec; Execs lists the
	// sequence numbers of every exec, oldest first.
	Exe   string   `json:"exe,omitempty"`
	Argv  []string `json:"argv,omitempty"`
	Cwd   string   `json:"cwd,omitempty"`
	Execs []uint64 `json:"execs,omitempty"`

	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	Exited   bool   `json:"exited"`
	ExitCode int32  `json:"exit_code,omitempty"`
	Signal   int32  `json:"signal,omitempty"`
	// Alive is set when the process was still running at the end of its
	// phase.
	Alive bool `json:"alive,omitempty"`

	Children []*Process `json:"children,omitempty"`
}

// Tree is the process tree rebuilt from a trace's exec, fork and exit
// events. Processes whose parent was not observed are roots.
type Tree struct {
	Roots []*Process
	procs map[ProcKey]*Process
}

// BuildTree rebuilds the process tree of events.
func BuildTree(events []Event) *Tree {
	t := &Tree{procs: make(map[ProcKey]*Process)}
	latest := make(map[uint32]ProcKey) // tgid -> its newest process
	for i := range events {
		e := &events[i]
		if e.TGID == 0 {
			continue // lost events and network captures belong to no process
		}
		k := e.Proc()
		if e.Kind == KindAlive && k.Start == 0 {
			if l, ok := latest[k.TGID]; ok {
				k = l // survivors are reported by pid alone
			}
		}
		p := t.get(k, e)
		latest[k.TGID] = k
		p.LastSeq = e.Seq
		if p.Comm == "" || e.Kind == KindExec && !e.Failed() {
			p.Comm = e.Comm
		}
		switch e.Kind {
		case KindExec:
			if e.Failed() {
				break // an exec attempt that failed left the image as it was
			}
			p.Exe, p.Argv, p.Cwd = e.Path, e.Argv, e.Cwd
			p.Execs = append(p.Execs, e.Seq)
		case KindFork:
			c := t.get(ProcKey{TGID: e.ChildPID, Start: e.ChildStart}, e)
			latest[c.Key.TGID] = c.Key
			c.Parent = p.Key
			if c.Comm == "" {
				c.Comm = e.Comm
			}
			c.Exe, c.Argv, c.Cwd = p.Exe, p.Argv, p.Cwd
		case KindExit:
			p.Exited, p.ExitCode, p.Signal = true, e.ExitCode, e.Signal
		case KindAlive:
			p.Alive = true
		}
	}
	for _, p := range t.procs {
		if parent, ok := t.procs[p.Parent]; ok && p.Parent != (ProcKey{}) {
			parent.Children = append(parent.Children, p)
		} else {
			t.Roots = append(t.Roots, p)
		}
	}
	bySeq := func(a, b *Process) int { return int(a.FirstSeq) - int(b.FirstSeq) }
	slices.SortFunc(t.Roots, bySeq)
	for _, p := range t.procs {
		slices.SortFunc(p.Children, bySeq)
	}
	return t
}

func (t *Tree) get(k ProcKey, e *Event) *Process {
	p, ok := t.procs[k]
	if !ok {
		p = &Process{Key: k, Phase: e.Phase, FirstSeq: e.Seq}
		if k.TGID == e.TGID {
			p.Parent = ProcKey{TGID: e.PPID}
		}
		t.procs[k] = p
	}
	return p
}

// Process returns the process with key k, or nil.
func (t *Tree) Process(k ProcKey) *Process { return t.procs[k] }

// Len returns the number of processes in the tree.
func (t *Tree) Len() int { return len(t.procs) }

// Ancestors returns the observed ancestors of k, nearest first.
func (t *Tree) Ancestors(k ProcKey) []*Process {
	var out []*Process
	seen := map[ProcKey]bool{k: true}
	for p := t.procs[k]; p != nil; {
		parent, ok := t.procs[p.Parent]
		if !ok || seen[parent.Key] {
			break
		}
		seen[parent.Key] = true
		out = append(out, parent)
		p = parent
	}
	return out
}

// Descends reports whether k is anc or one of its descendants.
func (t *Tree) Descends(k, anc ProcKey) bool {
	if k == anc {
		return true
	}
	for _, p := range t.Ancestors(k) {
		if p.Key == anc {
			return true
		}
	}
	return false
}

// Walk calls fn for every process, parents before children, in order of
// first appearance.
func (t *Tree) Walk(fn func(p *Process, depth int)) {
	var walk func(p *Process, depth int)
	walk = func(p *Process, depth int) {
		fn(p, depth)
		for _, c := range p.Children {
			walk(c, depth+1)
		}
	}
	for _, r := range t.Roots {
		walk(r, 0)
	}
}
