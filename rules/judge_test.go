package rules

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fumehood/fumehood/trace"
)

func mustLoad(t testing.TB, yaml string) *Set {
	t.Helper()
	s, err := Load(withRoles(fstest.MapFS{"r.yaml": {Data: []byte(yaml)}}))
	if err != nil {
		t.Fatalf("Load() error: %v", err)
	}
	return s
}

// tb builds traces with a process tree.
type tb struct{ tr trace.Trace }

func (b *tb) add(e trace.Event) *trace.Event {
	if e.Phase == "" {
		e.Phase = "install"
	}
	e.Seq = uint64(len(b.tr.Events) + 1)
	b.tr.Events = append(b.tr.Events, e)
	return &b.tr.Events[len(b.tr.Events)-1]
}

func (b *tb) exec(tgid uint32, path string, argv ...string) {
	b.add(trace.Event{Kind: trace.KindExec, TGID: tgid, Start: uint64(tgid), Path: path, Argv: argv})
}

func (b *tb) fork(parent, child uint32) {
	b.add(trace.Event{Kind: trace.KindFork, TGID: parent, Start: uint64(parent), ChildPID: child, ChildStart: uint64(child)})
}

func (b *tb) open(tgid uint32, path string) {
	b.add(trace.Event{Kind: trace.KindOpen, TGID: tgid, Start: uint64(tgid), Path: path, Ret: 3})
}

func (b *tb) connect(tgid uint32) {
	b.add(trace.Event{Kind: trace.KindConnect, TGID: tgid, Start: uint64(tgid), Family: 2, Addr: "10.0.0.9", Port: 443})
}

func hitRules(j Judgement) map[string]int {
	m := map[string]int{}
	for _, h := range j.Hits {
		m[h.Rule] = len(h.Events)
	}
	return m
}

func TestSequenceLineage(t *testing.T) {
	s := mustLoad(t, `
rules:
  - id: seq
    description: read then connect
    severity: high
    rationale: test
    sequence:
      within: lineage
      steps:
        - {kinds: [open], match: 'path == "/secret"'}
        - {kinds: [connect], match: remote}
`)
	// 1 forks 2 and 3; 2 forks 4.
	tree := func() *tb {
		b := &tb{}
		b.exec(1, "/usr/bin/node", "node")
		b.fork(1, 2)
		b.fork(1, 3)
		b.fork(2, 4)
		return b
	}
	tests := []struct {
		name           string
		reader, sender uint32
		connectFirst   bool
		want           bool
	}{
		{"same process", 2, 2, false, true},
		{"descendant sends", 2, 4, false, true},
		{"ancestor sends", 4, 1, false, true},
		{"sibling sends", 2, 3, false, false},
		{"send before read", 2, 2, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tree()
			if tt.connectFirst {
				b.connect(tt.sender)
				b.open(tt.reader, "/secret")
			} else {
				b.open(tt.reader, "/secret")
				b.connect(tt.sender)
			}
			j := s.Judge(&b.tr)
			if got := hitRules(j)["seq"] > 0; got != tt.want {
				t.Errorf("hit = %v, want %v", got, tt.want)
			}
			if tt.want && hitRules(j)["seq"] != 2 {
				t.Errorf("evidence = %v, want the two chain events", j.Hits[0].Events)
			}
		})
	}
}

func TestEvidenceCap(t *testing.T) {
	s := mustLoad(t, `
rules:
  - id: opens
    description: opens of /x
    severity: low
    rationale: test
    kinds: [open]
    match: path == "/x"
`)
	b := &tb{}
	for range 30 {
		b.open(7, "/x")
	}
	j := s.Judge(&b.tr)
	if len(j.Hits) != 1 {
		t.Fatalf("hits = %v, want one", j.Hits)
	}
	h := j.Hits[0]
	if got, want := len(h.Evidence), MaxEvidence; got != want {
		t.Errorf("len(Evidence) = %d, want %d", got, want)
	}
	if got, want := len(h.Events), MaxEvidence; got != want {
		t.Errorf("len(Events) = %d, want %d", got, want)
	}
	if !strings.Contains(h.Summary, "30 events") || !strings.Contains(h.Summary, "20 of 30") {
		t.Errorf("Summary = %q, want it to count 30 events and say 20 of 30 are shown", h.Summary)
	}
	if got, want := h.Evidence[0], b.tr.Events[0].String(); got != want {
		t.Errorf("Evidence[0] = %q, want %q", got, want)
	}
}

func TestProcessStateAtEventTime(t *testing.T) {
	s := mustLoad(t, `
rules:
  - id: by-a
    description: open by a
    severity: low
    rationale: test
    kinds: [open]
    match: exe == "/bin/a" && path == "/f"
  - id: by-b-child-of-a
    description: open by b under a
    severity: low
    rationale: test
    kinds: [open]
    match: exe == "/bin/b" && parent_exe == "/bin/a" && "/bin/a" in ancestors
`)
	b := &tb{}
	b.exec(1, "/bin/a", "a")
	b.fork(1, 2)
	b.open(2, "/f") // the child still runs /bin/a
	b.exec(2, "/bin/b", "b")
	b.open(2, "/f")
	got := hitRules(s.Judge(&b.tr))
	if got["by-a"] != 1 || got["by-b-child-of-a"] != 1 {
		t.Errorf("hits = %v, want one event for each rule", got)
	}
}

func TestPackageCodeClassification(t *testing.T) {
	s := mustLoad(t, `
rules:
  - id: pkg
    description: package code opens
    severity: low
    rationale: test
    kinds: [open]
    match: package_code && path == "/f"
`)
	b := &tb{}
	b.exec(1, "/usr/bin/node", "node", "/usr/bin/npm", "install", "x")
	b.open(1, "/f") // npm itself
	b.fork(1, 2)
	b.exec(2, "/bin/sh", "sh", "-c", "node install.js")
	b.fork(2, 3)
	b.exec(3, "/usr/bin/node", "node", "install.js")
	b.open(3, "/f") // the lifecycle script's node
	b.add(trace.Event{Phase: "import", Kind: trace.KindExec, TGID: 9, Start: 9, Path: "/usr/bin/node", Argv: []string{"node", "-e", "require('x')"}})
	b.add(trace.Event{Phase: "import", Kind: trace.KindOpen, TGID: 9, Start: 9, Path: "/f"})
	j := s.Judge(&b.tr)
	if len(j.Hits) != 1 {
		t.Fatalf("hits = %v, want one", j.Hits)
	}
	if got, want := j.Hits[0].Events, []uint64{7, 9}; !slices.Equal(got, want) {
		t.Errorf("evidence = %v, want %v (the script's open and the import's, not npm's)", got, want)
	}
}

func TestCountDistinctPerGroup(t *testing.T) {
	s := mustLoad(t, `
rules:
  - id: many
    description: many names
    severity: medium
    rationale: test
    count:
      kinds: [dns]
      match: "true"
      group: Domain(name)
      distinct: name
      min: 3
`)
	b := &tb{}
	for _, n := range []string{"a.x.invalid", "a.x.invalid", "b.x.invalid", "c.y.invalid", "d.y.invalid"} {
		b.add(trace.Event{Kind: trace.KindDNS, Name: n})
	}
	if got := hitRules(s.Judge(&b.tr)); got["many"] != 0 {
		t.Errorf("hits = %v, want none: no domain has 3 distinct names", got)
	}
	b.add(trace.Event{Kind: trace.KindDNS, Name: "e.y.invalid"})
	if got := hitRules(s.Judge(&b.tr)); got["many"] != 3 {
		t.Errorf("hits = %v, want 3 evidence events for y.invalid", got)
	}
}

func TestRuntimeErrorIsNoMatch(t *testing.T) {
	s := mustLoad(t, `
rules:
  - id: idx
    description: third argument
    severity: low
    rationale: test
    kinds: [exec]
    match: argv[2] == "x"
`)
	b := &tb{}
	b.exec(1, "/bin/a", "a")
	b.exec(1, "/bin/a", "a", "b", "x")
	if got := hitRules(s.Judge(&b.tr)); got["idx"] != 1 {
		t.Errorf("hits = %v, want the one exec with three arguments", got)
	}
}

// TestAccessByIdentity checks what the judge derives from an open's file
// identity and a read process: planted only for a successful open of a
// planted file, whatever its path; foreign_proc only for a target that is
// neither the reader nor its descendant.
func TestAccessByIdentity(t *testing.T) {
	s := mustLoad(t, `
rules:
  - id: got
    description: d
    rationale: r
    severity: low
    kinds: [open, memread]
    match: kind != ""
    detail: planted + "|" + proc_entry + "|" + string(foreign_proc)
`)
	b := &tb{}
	b.add(trace.Event{Kind: trace.KindPlant, Phase: "setup", Name: "npm-token", Path: "/home/alex/.npmrc", Data: []byte("npm_0123456789"), Dev: 45, Ino: 7})
	b.add(trace.Event{Kind: trace.KindPlant, Phase: "setup", Name: "npm-token", Path: "env:NPM_TOKEN", Data: []byte("npm_9876543210")})
	b.exec(10, "/usr/bin/node", "node", "x.js")
	b.fork(10, 11)
	b.exec(11, "/usr/bin/node", "node", "child.js")
	for _, e := range []trace.Event{
		{Path: "/tmp/hard", Dev: 45, Ino: 7, Ret: 3},                          // a hard link of the planted file
		{Path: "/home/alex/.npmrc", Dev: 45, Ino: 7, Ret: -13},                // failed: no identity counts
		{Path: "/home/alex/.npmrc", Dev: 46, Ino: 7, Ret: 3},                  // another device
		{Path: "/proc/self/environ", Path2: "environ", TargetPID: 10, Ret: 3}, // itself
		{Path: "/proc/5/mem", Path2: "mem", TargetPID: 11, Ret: 3},            // its child
		{Path: "/proc/1/environ", Path2: "environ", TargetPID: 1, Ret: 3},     // not seen: init
		{Kind: trace.KindMemRead, Arg: 1, TargetPID: 1, Ret: 8},               // memread of init
	} {
		if e.Kind == "" {
			e.Kind = trace.KindOpen
		}
		e.TGID, e.Start = 10, 10
		b.add(e)
	}
	j := s.Judge(&b.tr)
	var got []string
	for _, ev := range j.Hits[0].Evidence {
		_, d, _ := strings.Cut(ev, " — ")
		got = append(got, d)
	}
	want := []string{"npm-token||false", "||false", "||false", "|environ|false", "|mem|false", "|environ|true", "||true"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
