package rules

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/vm"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/trace"
)

// MaxEvidence is the most evidence events one hit carries; the hit's
// summary says how many matched in all.
const MaxEvidence = 20

// maxPartials bounds the open chains one sequence rule tracks.
const maxPartials = 256

// Judgement is the result of judging one trace.
type Judgement struct {
	Verdict analysis.Verdict `json:"verdict"`
	Score   int              `json:"score"`
	Hits    []analysis.Hit   `json:"hits"`
	// Table is the trace's process table, built while judging (the
	// pipeline stores it with the trace).
	Table *trace.Table `json:"-"`
}

// Judge evaluates every rule over t and derives the verdict. It reads only
// t and never fails: a rule expression that errors at run time counts as
// not matching.
func (s *Set) Judge(t *trace.Trace) Judgement {
	j := &judge{set: s, table: trace.NewTable(t.Phases, s.policy), senders: make(map[senderKey]sender)}
	j.tokens.dec = &j.dec
	j.tokens.join.events = t.Events
	j.env.Honeytoken = j.tokens.find
	j.env.HoneytokenJoined = func() string { return j.tokens.joined(j.cur) }
	j.env.Opaque = func(s string) string { return j.dec.memo(memoOpaque, s, j.dec.opaque) }
	j.env.OwnServiceAuth = func(issuers, named []any) string { return j.tokens.ownServiceUse(j.cur, issuers, named) }
	j.env.PackageDir, j.env.ProjectDir = packageDir, projectDir
	j.prov = newProvenance(s.runners, s.temps)
	if t.Previous != nil {
		j.env.PrevKnown = true
		j.newScripts = make(map[trace.ProcKey]bool, len(t.Previous.NewScriptProcs))
		for _, k := range t.Previous.NewScriptProcs {
			j.newScripts[k] = true
		}
	}
	j.states = make([]ruleState, len(s.rules))
	for i, c := range s.rules {
		if c.isCount {
			j.states[i].groups = make(map[string]*group)
		}
	}
	for i := range t.Events {
		j.event(&t.Events[i])
	}
	hits := []analysis.Hit{}
	for i, c := range s.rules {
		if h, ok := j.states[i].hit(c, t); ok {
			hits = append(hits, h)
		}
	}
	slices.SortFunc(hits, func(a, b analysis.Hit) int {
		if c := cmp.Compare(rank(b.Severity), rank(a.Severity)); c != 0 {
			return c
		}
		return cmp.Compare(a.Rule, b.Rule)
	})
	v, score := Verdict(hits, s.egress(), t.LostEvidence())
	return Judgement{Verdict: v, Score: score, Hits: hits, Table: j.table}
}

// egress returns the ids of the set's egress rules.
func (s *Set) egress() map[string]bool {
	m := make(map[string]bool)
	for _, c := range s.rules {
		if c.Egress {
			m[c.ID] = true
		}
	}
	return m
}

type judge struct {
	set    *Set
	table  *trace.Table
	states []ruleState
	env    Env
	vm     vm.VM
	tokens tokens
	// dec decodes captures for the functions that read them, memoizing
	// per event; cur is the event being judged.
	dec decoder
	cur *trace.Event
	// planted maps the identity of each planted file to the name of the
	// first secret planted in it.
	planted map[trace.FileID]string
	// plantedEnv maps the identity of each token variable's marker to the
	// variable's name, and that of the copy's marker to "*".
	plantedEnv map[trace.FileID]string
	// plantedPaths maps the path of each planted file to the same name:
	// what a removal or rename names (the file is gone; no identity).
	plantedPaths map[string]string
	// senders maps a destination of the current phase to the last process
	// that connected or sent to it: who is behind a capture.
	senders map[senderKey]sender
	// prov follows file writers and networked processes.
	prov *provenance
	// globs remembers the results of the prefilters' glob checks
	globs globMemo
	// newScripts holds the processes that ran an install script new in
	// this version (trace.Previous).
	newScripts map[trace.ProcKey]bool
}

// newScript reports whether p ran, or descends from a process that ran,
// an install script new in this version.
func (j *judge) newScript(p *trace.Process) bool {
	for n := 0; p != nil && n < maxDepth && len(j.newScripts) > 0; p, n = p.ParentProcess(), n+1 {
		if j.newScripts[p.Key] {
			return true
		}
	}
	return false
}

// maxDepth bounds walks up the process tree.
const maxDepth = 1024

type sender struct {
	desc string
	pm   bool
}

// senderOf describes p, which sent or connected in e.
func senderOf(e *trace.Event, p *trace.Process) sender {
	return sender{fmt.Sprintf("pid %d %s", e.TGID, clip(p.Cmdline(), 80)), p.Role == trace.RolePackageManager}
}

type senderKey struct {
	phase, addr string
	port        uint16
}

func (j *judge) event(e *trace.Event) {
	p := j.table.Feed(e)
	j.cur = e
	j.dec.event(e.Seq)
	switch e.Kind {
	case trace.KindPlant:
		j.tokens.add(e)
		j.plant(e)
	case trace.KindConnect, trace.KindSend:
		if e.Addr != "" && p != nil && (e.Ret >= 0 || e.Ret == -errEINPROGRESS) {
			j.senders[senderKey{e.Phase, e.Addr, e.Port}] = senderOf(e, p)
		}
	}
	var s sender
	switch {
	case e.Addr != "" && e.Kind.Capture():
		s = j.senders[senderKey{e.Phase, e.Addr, e.Port}]
	case e.Kind == trace.KindSend && p != nil:
		s = senderOf(e, p) // the probes' copy of what a process sent
	}
	if j.tokens.active() && (e.Kind.Capture() || e.Kind == trace.KindSend) {
		j.tokens.observe(e, s.pm || p != nil && p.Role == trace.RolePackageManager)
	}
	env := &j.env
	refs := j.set.byKind[e.Kind]
	if len(refs) == 0 && !provenanceKinds[e.Kind] {
		return
	}
	env.fill(e)
	fillProc(env, p, j.table)
	env.NewInstallScript = j.newScript(p)
	j.fillAccess(env, e, p)
	j.prov.fill(env, e, p)
	defer j.prov.observe(e, p, env)
	env.Sender, env.SenderPackageManager = s.desc, s.pm
	if e.Kind == trace.KindExec && e.Failed() {
		// The exec event describes what it tried to start; the process
		// itself still runs its old image.
		env.Exe, env.Cmdline = env.Path, strings.Join(e.Argv, " ")
	}
	bits := flagBits(env)
	for _, r := range refs {
		if bits&r.mask != r.want {
			continue // the usual case, decided without touching the rule
		}
		c := j.set.rules[r.rule]
		st := &j.states[r.rule]
		if r.step > 0 && r.step < c.chainLen() && c.isSequence() && !st.waiting(r.step) {
			continue // a later step with no chain at it: nothing to advance
		}
		if !c.pre[r.step].pass(env, bits, &j.globs) || !j.run(c.steps[r.step], env) {
			continue
		}
		switch {
		case c.unless > 0 && r.step == c.unless:
			if p != nil {
				if st.excluded == nil {
					st.excluded = make(map[*trace.Process]bool)
				}
				st.excluded[p] = true
			}
		case c.isCount:
			st.count(c, j, e)
		case !c.isSequence():
			st.seqs = append(st.seqs, e.Seq)
			if c.unless > 0 {
				st.procs = append(st.procs, p)
			}
			if c.detail != nil && len(st.seqs) <= MaxEvidence {
				if d := j.str(c.detail, env); d != "" {
					if st.details == nil {
						st.details = make(map[uint64]string)
					}
					st.details[e.Seq] = d
				}
			}
		default:
			st.sequence(c, r.step, e, p)
		}
	}
}

// plant records the identity of the file a plant event names.
func (j *judge) plant(e *trace.Event) {
	id := e.File()
	if id.Ino == 0 {
		return
	}
	if name, ok := strings.CutPrefix(e.Path, trace.PlantEnv); ok {
		if j.plantedEnv == nil {
			j.plantedEnv = make(map[trace.FileID]string)
		}
		j.plantedEnv[id] = name
		return
	}
	if j.planted == nil {
		j.planted = make(map[trace.FileID]string)
	}
	if _, ok := j.planted[id]; !ok {
		j.planted[id] = e.Name
	}
	if j.plantedPaths == nil {
		j.plantedPaths = make(map[string]string)
	}
	if _, ok := j.plantedPaths[e.Path]; !ok && e.Path != "" {
		j.plantedPaths[e.Path] = e.Name
	}
}

// plantedUnder returns the name of the secret planted at path or, for a
// directory, under it (moving ~/.ssh away takes its key with it); "" when
// none was.
func (j *judge) plantedUnder(path string) string {
	if name, ok := j.plantedPaths[path]; ok {
		return name
	}
	best, dir := "", path+"/"
	for p := range j.plantedPaths {
		if strings.HasPrefix(p, dir) && (best == "" || p < best) {
			best = p // the first in path order: one answer whatever the map's order
		}
	}
	return j.plantedPaths[best]
}

// fillAccess sets what env says about the file or process e, an event of
// process p, reached: the planted secret an open returned or a removal or
// rename took away, and whether a process it read is foreign to p.
func (j *judge) fillAccess(env *Env, e *trace.Event, p *trace.Process) {
	env.Planted, env.PlantedEnv, env.ForeignProc = "", "", false
	switch e.Kind {
	case trace.KindOpen:
		if e.Ino != 0 && e.Ret >= 0 {
			env.Planted, env.PlantedEnv = j.planted[e.File()], j.plantedEnv[e.File()]
		}
	case trace.KindUnlink, trace.KindRename:
		if e.Ret >= 0 {
			env.Planted = j.plantedUnder(filepath.Clean(env.Path))
		}
		return
	case trace.KindMemRead:
	default:
		return
	}
	if e.TargetPID != 0 && p != nil {
		target := j.table.Current(e.TargetPID)
		env.ForeignProc = target == nil || !target.Descends(p)
	}
}

// provenanceKinds are the events the provenance follows, whether or not
// a rule looks at them.
var provenanceKinds = map[trace.Kind]bool{
	trace.KindConnect: true, trace.KindOpen: true, trace.KindRename: true, trace.KindWrite: true, trace.KindLink: true,
	trace.KindDNS: true, trace.KindHTTP: true, trace.KindTLS: true, trace.KindLost: true, // the sinkhole's answers
}

func (j *judge) run(p *vm.Program, env *Env) bool {
	out, err := j.vm.Run(p, env)
	if err != nil {
		return false
	}
	b, _ := out.(bool)
	return b
}

func (j *judge) str(p *vm.Program, env *Env) string {
	if p == nil {
		return ""
	}
	out, err := j.vm.Run(p, env)
	if err != nil {
		return ""
	}
	s, _ := out.(string)
	return s
}

// ruleState accumulates one rule's matches over a trace.
type ruleState struct {
	seqs []uint64 // evidence, in order
	// matched counts every match, chain or distinct value behind seqs.
	matched  int
	partials []partial
	groups   map[string]*group
	details  map[uint64]string // match rules with a detail: per evidence event
	// rules with unless: the process of each evidence event (a chain's
	// first), the first process of each chain, and the processes the
	// unless clause matched
	procs    []*trace.Process
	anchors  []*trace.Process
	excluded map[*trace.Process]bool
}

type partial struct {
	next   int
	anchor *trace.Process
	phase  string
	seqs   []uint64
}

type group struct {
	seen map[string]bool
	seqs []uint64
}

func (st *ruleState) sequence(c *compiled, step int, e *trace.Event, p *trace.Process) {
	if step == 0 {
		for _, q := range st.partials {
			if q.next == 1 && q.anchor == p && q.phase == e.Phase {
				return
			}
		}
		if len(st.partials) < maxPartials {
			st.partials = append(st.partials, partial{next: 1, anchor: p, phase: e.Phase, seqs: []uint64{e.Seq}})
		}
		return
	}
	for i := range st.partials {
		q := &st.partials[i]
		if q.next != step || !related(c.within, q, e, p) {
			continue
		}
		q.seqs = append(q.seqs, e.Seq)
		q.next++
		if q.next == c.chainLen() {
			st.matched++
			st.seqs = append(st.seqs, q.seqs...)
			if c.unless > 0 {
				st.anchors = append(st.anchors, q.anchor)
				for range q.seqs {
					st.procs = append(st.procs, q.anchor)
				}
			}
			st.partials = slices.Delete(st.partials, i, i+1)
		}
		return
	}
}

// waiting reports whether a chain of a sequence rule waits for step.
func (st *ruleState) waiting(step int) bool {
	for i := range st.partials {
		if st.partials[i].next == step {
			return true
		}
	}
	return false
}

func related(within string, q *partial, e *trace.Event, p *trace.Process) bool {
	switch within {
	case ScopeTrace:
		return true
	case ScopePhase:
		return e.Phase == q.phase
	case ScopeProcess:
		return p != nil && p == q.anchor
	default: // lineage
		return p != nil && q.anchor != nil && (p.Descends(q.anchor) || q.anchor.Descends(p))
	}
}

func (st *ruleState) count(c *compiled, j *judge, e *trace.Event) {
	key := j.str(c.group, &j.env)
	g := st.groups[key]
	if g == nil {
		g = &group{seen: make(map[string]bool)}
		st.groups[key] = g
	}
	val := strconv.FormatUint(e.Seq, 10)
	if c.distinct != nil {
		val = j.str(c.distinct, &j.env)
	}
	if g.seen[val] {
		return
	}
	g.seen[val] = true
	g.seqs = append(g.seqs, e.Seq)
}

func (st *ruleState) hit(c *compiled, t *trace.Trace) (analysis.Hit, bool) {
	seqs, matched := st.seqs, st.matched
	if len(st.excluded) > 0 {
		seqs, matched = nil, 0
		for i, seq := range st.seqs {
			if !st.excluded[st.procs[i]] {
				seqs = append(seqs, seq)
			}
		}
		for _, a := range st.anchors {
			if !st.excluded[a] {
				matched++
			}
		}
	}
	n := len(seqs)
	if c.isCount {
		keys := make([]string, 0, len(st.groups))
		for k, g := range st.groups {
			if len(g.seen) >= c.min {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		seqs, n = nil, 0
		for _, k := range keys {
			seqs = append(seqs, st.groups[k].seqs...)
			n += len(st.groups[k].seqs)
		}
		slices.Sort(seqs)
	} else if c.isSequence() {
		n = matched
	}
	if len(seqs) == 0 {
		return analysis.Hit{}, false
	}
	shown := seqs
	if len(shown) > MaxEvidence {
		shown = shown[:MaxEvidence]
	}
	h := analysis.Hit{
		Rule: c.ID, Severity: c.Severity, Technique: c.Technique,
		Evidence: make([]string, 0, len(shown)), Events: slices.Clone(shown),
	}
	for _, seq := range shown {
		if e := t.Event(seq); e != nil {
			line := e.String()
			if d := st.details[seq]; d != "" {
				line += " — " + d
			}
			h.Evidence = append(h.Evidence, line)
		}
	}
	h.Summary = summary(c, n, len(seqs), len(shown), h.Evidence[0])
	return h, true
}

// errEINPROGRESS is what a non-blocking connect returns while it is on
// its way.
const errEINPROGRESS = 115

// errENOEXEC is the errno of an exec of a file in no executable format.
const errENOEXEC = 8

// clip cuts s to at most n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// summary is the one line of a hit: the rule's description, how many
// matches (events, chains or distinct values), and the first evidence.
func summary(c *compiled, matches, events, shown int, first string) string {
	unit := "event"
	switch {
	case c.isCount:
		unit = "distinct value"
	case c.isSequence():
		unit = "chain"
	}
	if matches != 1 {
		unit += "s"
	}
	first, _, _ = strings.Cut(first, "\n")
	if len(first) > 160 {
		first = first[:160] + "…"
	}
	s := fmt.Sprintf("%s: %d %s, first %s", c.Description, matches, unit, first)
	if events > shown {
		s += fmt.Sprintf(" (%d of %d evidence events shown)", shown, events)
	}
	return s
}
