package report

import (
	"slices"
	"testing"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/trace"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// testPolicy is the role policy of the built-in rules.
func testPolicy() trace.Policy {
	rs, err := rules.Builtin()
	if err != nil {
		panic(err)
	}
	return rs.Policy()
}

// install is a small install phase: init (1) runs npm (2), which searches
// PATH for sh, runs the postinstall shell (3), which runs node x.js (4);
// node resolves a name, posts to it, writes a file outside the project and
// its cache; npm writes its cache and the package's files.
func install() (*analysis.Analysis, *trace.Trace) {
	seq := uint64(0)
	ev := func(e trace.Event) trace.Event {
		seq++
		e.Seq, e.Time, e.Phase = seq, t0.Add(time.Duration(seq)*time.Millisecond), "install"
		if e.TGID != 0 {
			e.PID, e.Start = e.TGID, uint64(e.TGID)*1000
		}
		return e
	}
	evs := []trace.Event{
		ev(trace.Event{Kind: trace.KindExec, TGID: 1, Path: "/bin/sh", Argv: []string{"sh"}}),
		ev(trace.Event{Kind: trace.KindFork, TGID: 1, ChildPID: 2, ChildStart: 2000}),
		ev(trace.Event{Kind: trace.KindExec, TGID: 2, PPID: 1, Path: "/usr/bin/npm", Argv: []string{"npm", "install"}, Cwd: "/home/u/app"}),
		ev(trace.Event{Kind: trace.KindOpen, TGID: 2, Path: "/home/u/.npm/_cacache/tmp/ab12", Flags: trace.OWronly | trace.OCreat, Ret: 3}),
		ev(trace.Event{Kind: trace.KindOpen, TGID: 2, Path: "node_modules/x/x.js", Flags: trace.OWronly | trace.OCreat, Ret: 3}),
		ev(trace.Event{Kind: trace.KindWrite, TGID: 2, Path: "/home/u/app/node_modules/x/x.js", Count: 10}),
		ev(trace.Event{Kind: trace.KindFork, TGID: 2, ChildPID: 3, ChildStart: 3000}),
		ev(trace.Event{Kind: trace.KindExec, TGID: 3, PPID: 2, Path: "/usr/local/bin/sh", Argv: []string{"sh", "-c", "node x.js"}, Ret: -2}),
		ev(trace.Event{Kind: trace.KindExec, TGID: 3, PPID: 2, Path: "/usr/sbin/sh", Argv: []string{"sh", "-c", "node x.js"}, Ret: -2}),
		ev(trace.Event{Kind: trace.KindExec, TGID: 3, PPID: 2, Path: "/usr/bin/sh", Argv: []string{"sh", "-c", "node x.js"}, Cwd: "/home/u/app/node_modules/x"}),
		ev(trace.Event{Kind: trace.KindFork, TGID: 3, ChildPID: 4, ChildStart: 4000}),
		ev(trace.Event{Kind: trace.KindExec, TGID: 4, PPID: 3, Path: "/usr/bin/node", Argv: []string{"node", "x.js"}, Cwd: "/home/u/app/node_modules/x"}),
		ev(trace.Event{Kind: trace.KindConnect, TGID: 4, Family: 2, Addr: "10.0.0.1", Port: 53}),
		ev(trace.Event{Kind: trace.KindDNS, Addr: "10.0.0.1", Port: 53, Name: "evil.example", QType: "A"}),
		ev(trace.Event{Kind: trace.KindConnect, TGID: 4, Family: 2, Addr: "10.0.0.2", Port: 80, Ret: -115}),
		ev(trace.Event{Kind: trace.KindHTTP, Addr: "10.0.0.2", Port: 80, Name: "evil.example", Method: "POST", URI: "/c", Data: []byte("c2VjcmV0LXRva2VuLXZhbHVl")}),
		ev(trace.Event{Kind: trace.KindOpen, TGID: 4, Path: "/home/u/.npm/hidden", Flags: trace.OWronly | trace.OCreat, Ret: 3}),
		ev(trace.Event{Kind: trace.KindUDP, Addr: "192.0.2.7", Port: 9999, Data: []byte("x")}),
		ev(trace.Event{Kind: trace.KindExit, TGID: 4, ExitCode: 3}),
		ev(trace.Event{Kind: trace.KindExit, TGID: 3}),
		ev(trace.Event{Kind: trace.KindExit, TGID: 2}),
	}
	tr := &trace.Trace{Phases: []trace.PhaseInfo{{Name: "install", Init: trace.ProcKey{TGID: 1, Start: 1000}, Command: trace.RolePackageManager}}, Events: evs}
	tr.Processes = trace.BuildTable(tr, testPolicy()).Processes()
	a := &analysis.Analysis{
		Hits: []analysis.Hit{{Rule: "exfil", Events: []uint64{16}}, {Rule: "dns", Events: []uint64{14, 16}}},
		Coverage: analysis.Coverage{Scripts: []analysis.ScriptRun{
			{Phase: "install", Name: "postinstall", Command: "node x.js", Ran: true},
			{Phase: "install", Name: "preinstall", Command: "true", Ran: false},
		}},
	}
	return a, tr
}

func TestBuild(t *testing.T) {
	a, tr := install()
	r := Build(a, tr)
	if len(r.Phases) != 1 || r.Phases[0].Name != "install" || r.Phases[0].Processes != 4 {
		t.Fatalf("phases %+v, want install with 4 processes", r.Phases)
	}
	ph := r.Phases[0]
	if len(ph.Roots) != 1 || ph.Roots[0].Key.TGID != 1 {
		t.Fatalf("roots %v, want init alone", ph.Roots)
	}
	chain := []uint32{1, 2, 3, 4}
	p := ph.Roots[0]
	for i, want := range chain {
		if p.Key.TGID != want {
			t.Fatalf("depth %d: pid %d, want %d", i, p.Key.TGID, want)
		}
		if i < len(chain)-1 {
			if len(p.Children) != 1 {
				t.Fatalf("pid %d has %d children, want 1", p.Key.TGID, len(p.Children))
			}
			p = p.Children[0]
		}
	}
	npm, shell, node := ph.Roots[0].Children[0], ph.Roots[0].Children[0].Children[0], p

	// The shell's PATH search is one lookup, found at /usr/bin/sh.
	if len(shell.Lookups) != 1 || shell.Lookups[0].Program != "sh" || len(shell.Lookups[0].Tried) != 2 ||
		shell.Lookups[0].Found != "/usr/bin/sh" || shell.Lookups[0].FirstSeq != 8 {
		t.Errorf("shell lookups %+v, want one of sh: 2 misses, then /usr/bin/sh", shell.Lookups)
	}
	// npm's cache is left out, the package's files it wrote are kept
	// (made absolute, one entry for open and write).
	if got := paths(npm.Files); !slices.Equal(got, []string{"/home/u/app/node_modules/x/x.js"}) {
		t.Errorf("npm files %q", got)
	}
	if f := npm.Files[0]; f.Bytes != 10 || !slices.Equal(f.Ops, []string{"write"}) || f.FirstSeq != 5 {
		t.Errorf("npm file %+v", f)
	}
	// Package code's writes are kept even in the npm cache.
	if got := paths(node.Files); !slices.Equal(got, []string{"/home/u/.npm/hidden"}) {
		t.Errorf("node files %q", got)
	}
	// The captures belong to the process that dialled their destination;
	// a capture nobody dialled belongs to the phase.
	var kinds []trace.Kind
	for _, n := range node.Network {
		kinds = append(kinds, n.Kind)
	}
	if !slices.Equal(kinds, []trace.Kind{trace.KindConnect, trace.KindDNS, trace.KindConnect, trace.KindHTTP}) {
		t.Errorf("node network %v", kinds)
	}
	if http := node.Network[3]; len(http.Decoded) == 0 || http.Decoded[0].Text != "secret-token-value" || http.Decoded[0].How != "base64" {
		t.Errorf("http decodings %+v, want the base64 body decoded", http.Decoded)
	}
	if len(ph.Unattributed) != 1 || ph.Unattributed[0].Kind != trace.KindUDP {
		t.Errorf("unattributed %+v, want the udp capture", ph.Unattributed)
	}
	if !slices.Equal(node.Hits, []string{"dns", "exfil"}) || len(npm.Hits) != 0 {
		t.Errorf("hits: node %v, npm %v", node.Hits, npm.Hits)
	}
	if node.DurationMS != 7 || !node.Exited || node.ExitCode != 3 {
		t.Errorf("node duration %d exited %v code %d, want 7 ms, exit 3", node.DurationMS, node.Exited, node.ExitCode)
	}
	// The postinstall ran in the shell, whose node ran x.js.
	if len(r.Scripts) != 2 {
		t.Fatalf("scripts %+v", r.Scripts)
	}
	if s := r.Scripts[0]; s.Process == nil || s.Process.TGID != 3 || !slices.Equal(s.Sources, []string{"/home/u/app/node_modules/x/x.js"}) {
		t.Errorf("postinstall %+v", s)
	}
	if s := r.Scripts[1]; s.Process != nil || s.Sources != nil {
		t.Errorf("a script that did not run has a process: %+v", s)
	}
	// The timeline holds the execs, the network, the first write of each
	// file, the failed exit; the hit events carry their rules.
	var seqs []uint64
	for _, m := range r.Timeline {
		seqs = append(seqs, m.Seq)
		if m.Seq == 16 && !slices.Equal(m.Hits, []string{"exfil", "dns"}) {
			t.Errorf("moment 16 hits %v", m.Hits)
		}
	}
	if want := []uint64{1, 3, 5, 10, 12, 13, 14, 15, 16, 17, 18, 19}; !slices.Equal(seqs, want) {
		t.Errorf("timeline %v, want %v", seqs, want)
	}
}

func paths(fs []*File) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Path)
	}
	return out
}

// TestBuildBounds feeds a process that connects far more than a page
// shows.
func TestBuildBounds(t *testing.T) {
	tr := &trace.Trace{}
	var evs []trace.Event
	evs = append(evs, trace.Event{Kind: trace.KindExec, TGID: 9, Start: 9, Path: "/tmp/x", Argv: []string{"x"}})
	for i := range 3 * MaxTimeline {
		evs = append(evs, trace.Event{Kind: trace.KindConnect, TGID: 9, Start: 9, Family: 2, Addr: "192.0.2.1", Port: uint16(i)})
	}
	tr.Append("install", evs)
	tr.Processes = trace.BuildTable(tr, testPolicy()).Processes()
	r := Build(&analysis.Analysis{}, tr)
	p := r.Phases[0].Roots[0]
	if len(p.Network) != maxPerProcess || p.Dropped != 3*MaxTimeline-maxPerProcess {
		t.Errorf("network %d, dropped %d", len(p.Network), p.Dropped)
	}
	if len(r.Timeline) != MaxTimeline || !r.Truncated {
		t.Errorf("timeline %d truncated %v", len(r.Timeline), r.Truncated)
	}
}
