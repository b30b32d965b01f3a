package report

import (
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/trace"
)

// Bounds of a report: what a hostile trace can make it hold.
const (
	// MaxTimeline bounds the moments of the timeline.
	MaxTimeline = 2000
	// maxPerProcess bounds the network items and files of one process.
	maxPerProcess = 200
	// maxDecodings bounds the decodings shown per capture part, and
	// maxDecoded the bytes of each.
	maxDecodings = 6
	maxDecoded   = 4 << 10
	// maxBody bounds the captured bytes kept per network item.
	maxBody = 16 << 10
)

// Report is what the analyst pages show of an analysis besides its
// document.
type Report struct {
	Phases []*Phase `json:"phases"`
	// Scripts are the install-time scripts the package declares, each
	// with the process that ran it.
	Scripts []Script `json:"scripts"`
	// Timeline holds the notable events in trace order; Truncated is set
	// when there were more than MaxTimeline.
	Timeline  []Moment `json:"timeline"`
	Truncated bool     `json:"timeline_truncated,omitempty"`
	// Lost counts the events the kernel or the reader dropped.
	Lost uint64 `json:"lost"`
}

// Phase is one phase of the detonation: its process tree and the
// captures no process of it is known to have sent.
type Phase struct {
	Name         string     `json:"name"`
	Start        time.Time  `json:"start"`
	End          time.Time  `json:"end"`
	Roots        []*Process `json:"roots"`
	Processes    int        `json:"processes"`
	Unattributed []Net      `json:"unattributed,omitempty"`
}

// Process is one process of the tree: the table's entry and what the
// trace shows it did.
type Process struct {
	*trace.Process
	Start      time.Time `json:"start_time"`
	DurationMS int64     `json:"duration_ms"`
	// Lookups are its failed exec attempts, one per program searched.
	Lookups  []Lookup   `json:"lookups,omitempty"`
	Network  []Net      `json:"network,omitempty"`
	Files    []*File    `json:"files,omitempty"`
	Children []*Process `json:"children,omitempty"`
	// Hits names the rules some of whose evidence is an event of it.
	Hits []string `json:"hits,omitempty"`
	// Dropped counts network items and files beyond the per-process
	// bound.
	Dropped int `json:"dropped,omitempty"`
}

// Lookup is a run of failed exec attempts of one program by one process:
// the misses of a PATH search, collapsed.
type Lookup struct {
	Program  string   `json:"program"`         // the file name searched
	Tried    []string `json:"tried"`           // the paths that failed, in order
	Errno    []int64  `json:"errno"`           // their results
	FirstSeq uint64   `json:"first_seq"`       // the first attempt
	Found    string   `json:"found,omitempty"` // the path of the exec that then succeeded
}

// Net is one network action of a process or capture of the sinkhole.
type Net struct {
	Seq     uint64     `json:"seq"`
	Kind    trace.Kind `json:"kind"`
	Addr    string     `json:"addr,omitempty"`
	Port    uint16     `json:"port,omitempty"`
	Ret     int64      `json:"ret,omitempty"`
	Name    string     `json:"name,omitempty"` // DNS query, HTTP host, TLS server name
	QType   string     `json:"qtype,omitempty"`
	Method  string     `json:"method,omitempty"`
	URI     string     `json:"uri,omitempty"`
	Headers []string   `json:"headers,omitempty"`
	// Body is the captured payload head (HTTP body, TCP/UDP data, a
	// send's data), BodyBytes its full length as captured.
	Body      string `json:"body,omitempty"`
	BodyBytes int    `json:"body_bytes,omitempty"`
	// Decoded holds what the body, the URI or a DNS name decode to, as
	// the rules see them.
	Decoded []rules.Decoding `json:"decoded,omitempty"`
}

// File is a file one process wrote, created, renamed to, linked, made
// executable or removed.
type File struct {
	Path     string   `json:"path"`
	Ops      []string `json:"ops"` // write, rename, link, chmod, unlink, in first-seen order
	Bytes    uint64   `json:"bytes,omitempty"`
	FirstSeq uint64   `json:"first_seq"`
}

// Script is a declared install script and who ran it.
type Script struct {
	analysis.ScriptRun
	// Process is the process that ran the script's command (the
	// lifecycle shell), when it was found.
	Process *trace.ProcKey `json:"process,omitempty"`
	// Sources are the files of the package its processes ran
	// ("node bundle.js" in the package's directory: its bundle.js).
	Sources []string `json:"sources,omitempty"`
}

// Moment is one notable event of the timeline.
type Moment struct {
	Seq    uint64        `json:"seq"`
	Phase  string        `json:"phase"`
	Offset time.Duration `json:"offset_ns"` // since the phase's first event
	TGID   uint32        `json:"tgid,omitempty"`
	Kind   trace.Kind    `json:"kind"`
	Text   string        `json:"text"`
	Hits   []string      `json:"hits,omitempty"`
}

// cacheDirs are the package managers' own caches and logs, below a home:
// what the package manager writes there is left out of its files.
var cacheDirs = []string{"/.npm/", "/.cache/pip/", "/.cache/node-gyp/", "/.node-gyp/", "/.cache/yarn/", "/.cache/pypoetry/"}

// pseudoFiles are paths that are not files a package leaves behind.
var pseudoFiles = []string{"/dev/", "/proc/", "/sys/"}

// builder holds the state of one Build.
type builder struct {
	a       *analysis.Analysis
	r       *Report
	byKey   map[trace.ProcKey]*Process
	byTGID  map[uint32]*Process // latest of a tgid in the current phase
	phase   *Phase
	senders map[sender]*Process
	hits    map[uint64][]string // event → rules it is evidence of
	files   map[*Process]map[string]*File
	last    map[*Process]*Lookup
}

type sender struct {
	addr string
	port uint16
}

// Build makes the report of analysis a from its trace tr and the process
// table stored with it (tr.Processes): for a trace stored without one, the
// caller builds it first (trace.BuildTable with its rules' policy).
func Build(a *analysis.Analysis, tr *trace.Trace) *Report {
	procs := tr.Processes
	b := &builder{
		a: a, r: &Report{Phases: []*Phase{}, Scripts: []Script{}, Timeline: []Moment{}},
		byKey: make(map[trace.ProcKey]*Process, len(procs)), byTGID: make(map[uint32]*Process),
		hits: make(map[uint64][]string), files: make(map[*Process]map[string]*File), last: make(map[*Process]*Lookup),
	}
	for _, h := range a.Hits {
		for _, seq := range h.Events {
			if !slices.Contains(b.hits[seq], h.Rule) {
				b.hits[seq] = append(b.hits[seq], h.Rule)
			}
		}
	}
	b.tree(procs)
	for i := range tr.Events {
		b.event(&tr.Events[i])
	}
	b.r.Lost = tr.Lost()
	b.scripts()
	return b.r
}

// tree links the table's processes into one tree per phase.
func (b *builder) tree(procs []*trace.Process) {
	phases := map[string]*Phase{}
	for _, p := range procs {
		b.byKey[p.Key] = &Process{Process: p}
	}
	for _, p := range procs {
		n := b.byKey[p.Key]
		ph := phases[p.Phase]
		if ph == nil {
			ph = &Phase{Name: p.Phase, Roots: []*Process{}}
			phases[p.Phase] = ph
			b.r.Phases = append(b.r.Phases, ph)
		}
		ph.Processes++
		if parent := b.byKey[p.Parent]; parent != nil && parent != n && parent.Phase == p.Phase && !descends(parent, n) {
			parent.Children = append(parent.Children, n)
		} else {
			ph.Roots = append(ph.Roots, n)
		}
	}
}

// descends reports whether p is already below n (a table never makes
// cycles, but a stored one is data).
func descends(p, n *Process) bool {
	for _, c := range n.Children {
		if c == p || descends(p, c) {
			return true
		}
	}
	return false
}

func (b *builder) enter(e *trace.Event) {
	if b.phase != nil && b.phase.Name == e.Phase {
		return
	}
	b.phase = nil
	for _, ph := range b.r.Phases {
		if ph.Name == e.Phase {
			b.phase = ph
		}
	}
	if b.phase == nil {
		b.phase = &Phase{Name: e.Phase, Roots: []*Process{}}
		b.r.Phases = append(b.r.Phases, b.phase)
	}
	if b.phase.Start.IsZero() {
		b.phase.Start = e.Time
	}
	b.senders = make(map[sender]*Process)
	clear(b.byTGID)
}

// event adds what e shows to the report.
func (b *builder) event(e *trace.Event) {
	b.enter(e)
	b.phase.End = e.Time
	var p *Process
	if e.TGID != 0 {
		p = b.byKey[e.Proc()]
		if p == nil && e.Start == 0 {
			p = b.byTGID[e.TGID] // alive events name a tgid alone
		}
		if p != nil {
			b.byTGID[e.TGID] = p
			if p.Start.IsZero() {
				p.Start = e.Time
			}
			p.DurationMS = e.Time.Sub(p.Start).Milliseconds()
			b.mark(p, e.Seq)
		}
	}
	notable := b.hits[e.Seq] != nil
	switch e.Kind {
	case trace.KindExec:
		notable = b.exec(p, e) || notable
	case trace.KindExit:
		notable = notable || e.ExitCode != 0 || e.Signal != 0
	case trace.KindAlive, trace.KindLost, trace.KindMemfd, trace.KindPtrace, trace.KindMemRead, trace.KindMount, trace.KindSetuid:
		notable = true
	case trace.KindConnect, trace.KindSend:
		notable = b.netAction(p, e) || notable
	case trace.KindDNS, trace.KindHTTP, trace.KindTLS, trace.KindTCP, trace.KindUDP:
		b.capture(e)
		notable = true
	case trace.KindOpen, trace.KindWrite, trace.KindRename, trace.KindLink, trace.KindChmod, trace.KindUnlink:
		notable = b.file(p, e) || notable
	}
	if notable {
		b.moment(e)
	}
}

// mark names on p the rules whose evidence event seq is.
func (b *builder) mark(p *Process, seq uint64) {
	for _, rule := range b.hits[seq] {
		if !slices.Contains(p.Hits, rule) {
			p.Hits = append(p.Hits, rule)
		}
	}
}

func (b *builder) moment(e *trace.Event) {
	if len(b.r.Timeline) == MaxTimeline {
		b.r.Truncated = true
		return
	}
	b.r.Timeline = append(b.r.Timeline, Moment{
		Seq: e.Seq, Phase: e.Phase, Offset: e.Time.Sub(b.phase.Start), TGID: e.TGID, Kind: e.Kind,
		Text: e.String(), Hits: b.hits[e.Seq],
	})
}

// exec collapses failed attempts into lookups; it reports whether e is
// notable (a successful exec).
func (b *builder) exec(p *Process, e *trace.Event) bool {
	if p == nil {
		return !e.Failed()
	}
	prog := path.Base(e.Path)
	l := b.last[p]
	if !e.Failed() {
		if l != nil && l.Program == prog && l.Found == "" {
			l.Found = e.Path
		}
		delete(b.last, p)
		return true
	}
	if l == nil || l.Program != prog || l.Found != "" {
		p.Lookups = append(p.Lookups, Lookup{Program: prog, FirstSeq: e.Seq})
		l = &p.Lookups[len(p.Lookups)-1]
		b.last[p] = l
	}
	l.Tried = append(l.Tried, e.Path)
	l.Errno = append(l.Errno, e.Ret)
	return false
}

// netAction records an inet connect or a send with a destination; it
// reports whether it is one.
func (b *builder) netAction(p *Process, e *trace.Event) bool {
	if e.Family != 2 && e.Family != 10 && !isInet(e.Addr) {
		return false
	}
	if e.Kind == trace.KindSend && e.Addr == "" {
		return false
	}
	if p != nil && (e.Ret >= 0 || e.Ret == -einprogress) {
		b.senders[sender{e.Addr, e.Port}] = p
	}
	b.addNet(p, netOf(e))
	return true
}

// einprogress is the errno of a non-blocking connect under way.
const einprogress = 115

func isInet(addr string) bool {
	_, err := netip.ParseAddr(addr)
	return err == nil
}

func (b *builder) capture(e *trace.Event) {
	n := netOf(e)
	if p := b.senders[sender{e.Addr, e.Port}]; p != nil {
		b.addNet(p, n)
		b.mark(p, e.Seq)
		return
	}
	b.phase.Unattributed = append(b.phase.Unattributed, n)
}

func (b *builder) addNet(p *Process, n Net) {
	switch {
	case p == nil:
		b.phase.Unattributed = append(b.phase.Unattributed, n)
	case len(p.Network)+len(p.Files) >= maxPerProcess:
		p.Dropped++
	default:
		p.Network = append(p.Network, n)
	}
}

// netOf copies what the page shows of a network event, with the
// decodings of its payload.
func netOf(e *trace.Event) Net {
	n := Net{Seq: e.Seq, Kind: e.Kind, Addr: e.Addr, Port: e.Port, Ret: e.Ret, Name: e.Name, QType: e.QType,
		Method: e.Method, URI: e.URI, Headers: e.Headers, BodyBytes: len(e.Data)}
	body := e.Data
	if len(body) > maxBody {
		body = body[:maxBody]
	}
	n.Body = string(body)
	var parts []string
	switch e.Kind {
	case trace.KindHTTP:
		parts = []string{n.Body, e.URI}
	case trace.KindDNS:
		parts = []string{e.Name}
	case trace.KindTCP, trace.KindUDP, trace.KindSend:
		parts = []string{n.Body}
	}
	for _, part := range parts {
		if part == "" {
			continue
		}
		for _, d := range rules.Decode(part) {
			if len(n.Decoded) == maxDecodings {
				return n
			}
			if !readable(d.Text) {
				continue
			}
			if len(d.Text) > maxDecoded {
				d.Text = d.Text[:maxDecoded]
			}
			n.Decoded = append(n.Decoded, d)
		}
	}
	return n
}

// readable reports whether most of s is printable text: a decoding worth
// showing.
func readable(s string) bool {
	if s == "" {
		return false
	}
	bad := 0
	for _, r := range s {
		if r == '\uFFFD' || r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			bad++
		}
	}
	return bad*10 < len(s)
}

// file records a change to a file; it reports whether it is notable (the
// first change of a listed file by its process).
func (b *builder) file(p *Process, e *trace.Event) bool {
	if p == nil || e.Failed() {
		return false
	}
	var target, op string
	switch e.Kind {
	case trace.KindOpen:
		if !e.Writes() {
			return false
		}
		target, op = e.Path, "write"
	case trace.KindWrite:
		target, op = e.Path, "write"
	case trace.KindRename:
		target, op = e.Path2, "rename"
	case trace.KindLink:
		target, op = e.Path, "link"
	case trace.KindChmod:
		target, op = e.Path, "chmod"
	case trace.KindUnlink:
		target, op = e.Path, "unlink"
	}
	target = trace.Abs(target, p.Cwd)
	if target == "" || hasAny(target, pseudoFiles, strings.HasPrefix) ||
		p.Role == trace.RolePackageManager && hasAny(target, cacheDirs, strings.Contains) {
		return false
	}
	fs := b.files[p]
	if fs == nil {
		fs = make(map[string]*File)
		b.files[p] = fs
	}
	f := fs[target]
	first := f == nil
	if first {
		if len(p.Network)+len(p.Files) >= maxPerProcess {
			p.Dropped++
			return false
		}
		f = &File{Path: target, FirstSeq: e.Seq}
		fs[target] = f
		p.Files = append(p.Files, f)
	}
	if !slices.Contains(f.Ops, op) {
		f.Ops = append(f.Ops, op)
	}
	if e.Kind == trace.KindWrite {
		f.Bytes += e.Count
	}
	return first
}

func hasAny(s string, list []string, match func(s, sub string) bool) bool {
	for _, l := range list {
		if match(s, l) {
			return true
		}
	}
	return false
}

// scripts pairs each declared script, and its run again in the ci phase,
// with the process that ran it: in its phase, a process the package manager started as a script
// (trace.WhyScript) whose argv carries the script's command; its
// descendants' argv name the source files.
func (b *builder) scripts() {
	for _, s := range slices.Concat(b.a.Coverage.Scripts, b.a.Coverage.CI) {
		sc := Script{ScriptRun: s}
		if p := b.scriptProcess(s); p != nil {
			k := p.Key
			sc.Process = &k
			sc.Sources = sources(p, nil)
		}
		b.r.Scripts = append(b.r.Scripts, sc)
	}
}

func (b *builder) scriptProcess(s analysis.ScriptRun) *Process {
	if !s.Ran || s.Command == "" {
		return nil
	}
	for _, ph := range b.r.Phases {
		if ph.Name != s.Phase {
			continue
		}
		var found *Process
		walk(ph.Roots, func(p *Process) bool {
			if p.Why == trace.WhyScript && slices.Contains(p.Argv, s.Command) {
				found = p
				return false
			}
			return true
		})
		return found
	}
	return nil
}

// walk visits ps and their descendants depth-first until visit returns
// false.
func walk(ps []*Process, visit func(*Process) bool) bool {
	for _, p := range ps {
		if !visit(p) || !walk(p.Children, visit) {
			return false
		}
	}
	return true
}

// sourceExts are the file name endings of scripts an interpreter runs.
var sourceExts = []string{".js", ".cjs", ".mjs", ".ts", ".py", ".sh", ".pl", ".rb"}

// sources lists the script files the argv of p and its descendants name,
// made absolute against their cwd.
func sources(p *Process, out []string) []string {
	walk([]*Process{p}, func(q *Process) bool {
		for _, a := range q.Argv[min(1, len(q.Argv)):] {
			if strings.HasPrefix(a, "-") || !hasAny(a, sourceExts, strings.HasSuffix) || strings.ContainsAny(a, " \n;|&") {
				continue
			}
			if f := path.Clean(trace.Abs(a, q.Cwd)); !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
		return true
	})
	return out
}
