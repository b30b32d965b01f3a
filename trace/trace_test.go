package trace

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func load(t *testing.T, name string) *Trace {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestJSONLRoundTrip(t *testing.T) {
	want, err := os.ReadFile("testdata/tree.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	tr := load(t, "tree.jsonl")
	var got bytes.Buffer
	if err := Encode(&got, tr); err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("round trip differs:\ngot:\n%s\nwant:\n%s", got.String(), want)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not json", "{\"seq\":1}\nnot json\n", "trace line 2"},
		{"wrong type", "{\"seq\":\"one\"}\n", "trace line 1"},
		{"line too long", "{\"path\":\"" + strings.Repeat("a", MaxLine) + "\"}\n", "trace line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// TestDecodeLargeTable reads back a process table longer than MaxLine (a
// large build's configure starts thousands of processes), with and
// without decoding it, and the events after a line that long.
func TestDecodeLargeTable(t *testing.T) {
	in := &Trace{Events: []Event{{Seq: 1, Kind: KindExec, TGID: 1, Path: "/bin/sh"}}}
	for i := range 20000 {
		in.Processes = append(in.Processes, &Process{Key: ProcKey{TGID: uint32(i + 2), Start: 1}, Role: RolePackageCode,
			Exe: "/bin/sh", Argv: []string{"/bin/sh", "-c", strings.Repeat("x", 64)}})
	}
	var b bytes.Buffer
	if err := Encode(&b, in); err != nil {
		t.Fatal(err)
	}
	if b.Len() <= 2*MaxLine {
		t.Fatalf("encoded %d bytes, want a table line past MaxLine", b.Len())
	}
	b.WriteString(`{"seq":2,"kind":"exit","tgid":1}` + "\n")
	for _, table := range []bool{true, false} {
		decode := map[bool]func(io.Reader) (*Trace, error){true: Decode, false: DecodeEvents}[table]
		got, err := decode(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("decode (table %v): %v", table, err)
		}
		if want := map[bool]int{true: len(in.Processes), false: 0}[table]; len(got.Processes) != want || len(got.Events) != 2 || got.Events[1].Kind != KindExit {
			t.Errorf("decode (table %v): %d processes, %d events; want %d and 2, the last an exit", table, len(got.Processes), len(got.Events), want)
		}
	}
}

// TestDecodePlants reads the plant events that open a trace and stops at
// the first other event: a stash planted after a phase is not read.
func TestDecodePlants(t *testing.T) {
	in := &Trace{Phases: []PhaseInfo{{Name: "install"}}, Events: []Event{
		{Seq: 1, Kind: KindPlant, Path: "/home/a/.npmrc", Data: []byte("npm_token")},
		{Seq: 2, Kind: KindPlant, Path: PlantEnv + "GITHUB_TOKEN", Data: []byte("ghp_token")},
		{Seq: 3, Kind: KindExec, TGID: 1, Path: "/bin/sh"},
		{Seq: 4, Kind: KindPlant, Path: "/tmp/stash"},
	}}
	var b bytes.Buffer
	if err := Encode(&b, in); err != nil {
		t.Fatal(err)
	}
	got, err := DecodePlants(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Phases) != 1 || len(got.Events) != 2 || got.Events[1].Seq != 2 || string(got.Events[1].Data) != "ghp_token" {
		t.Errorf("DecodePlants: phases %v, events %v; want the phases and the two opening plants", got.Phases, got.Events)
	}
}

func TestTraceHelpers(t *testing.T) {
	tr := load(t, "tree.jsonl")
	if got := tr.Lost(); got != 7 {
		t.Errorf("Lost = %d, want 7", got)
	}
	if got := tr.LostEvidence(); got != 7 {
		t.Errorf("LostEvidence = %d, want 7", got)
	}
	// lookups of missing files lost are no evidence lost
	tr.Events = append(tr.Events, Event{Kind: KindLost, Name: string(KindOpen), Ret: -ENOENT, Count: 5})
	if lost, ev := tr.Lost(), tr.LostEvidence(); lost != 12 || ev != 7 {
		t.Errorf("with 5 lookups lost: Lost, LostEvidence = %d, %d; want 12, 7", lost, ev)
	}
	if e := tr.Event(5); e == nil || e.Kind != KindConnect || !e.Remote() || !e.Failed() {
		t.Errorf("Event(5) = %+v, want a failed remote connect", e)
	}
	if e := tr.Event(4); e.Writes() {
		t.Error("read-only open reported as a write")
	}
	if tr.Event(0) != nil || tr.Event(99) != nil {
		t.Error("Event out of range is not nil")
	}
	var next Trace
	next.Append("install", tr.Events[:2])
	next.Append("import", tr.Events[2:3])
	if e := next.Events[2]; e.Seq != 3 || e.Phase != "import" {
		t.Errorf("Append stamped seq=%d phase=%q, want 3 import", e.Seq, e.Phase)
	}
}

func TestEventString(t *testing.T) {
	tr := load(t, "tree.jsonl")
	want := []string{
		`#1 exec pid=100 comm=npm /usr/bin/node [npm install] cwd=/home/alex/projects/app`,
		`#2 fork pid=100 comm=npm child=101`,
		`#3 exec pid=101 comm=sh /bin/sh [sh -c "node setup.js"] cwd=/home/alex/projects/app/node_modules/x`,
		`#4 open pid=101 comm=sh /home/alex/.npmrc flags=0x0`,
		`#5 connect pid=101 comm=sh 198.51.100.23:4444 = -101`,
		`#6 exit pid=101 comm=sh code=1`,
	}
	lost := tr.Events[8]
	if got, want := lost.String(), "#9 lost count=7"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	for i, w := range want {
		if got := tr.Events[i].String(); got != w {
			t.Errorf("String() = %s\nwant       %s", got, w)
		}
	}
}

func TestHTTPString(t *testing.T) {
	tests := []struct {
		e    Event
		want string
	}{
		{Event{Seq: 1, Kind: KindHTTP, Method: "GET", Name: "pkg.example.invalid", URI: "/x"}, "#1 http GET http://pkg.example.invalid/x"},
		// a proxy is asked with the absolute form
		{Event{Seq: 2, Kind: KindHTTP, Method: "GET", Name: "reg.example.invalid", URI: "http://reg.example.invalid/-/whoami"}, "#2 http GET http://reg.example.invalid/-/whoami"},
	}
	for _, tt := range tests {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("String() = %s, want %s", got, tt.want)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	data, err := os.ReadFile("testdata/tree.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	big := bytes.Repeat(data, 1000)
	tr, err := Decode(bytes.NewReader(big))
	if err != nil {
		b.Fatal(err)
	}
	// stored as the farm stores a trace, with its phases record, which
	// presizes the events
	tr.Phases = []PhaseInfo{{Name: "install"}}
	var jsonl, bin bytes.Buffer
	if err := Encode(&jsonl, tr); err != nil {
		b.Fatal(err)
	}
	if err := EncodeBinary(&bin, tr); err != nil {
		b.Fatal(err)
	}
	// the same events in each form, so events/s compare across them
	for _, form := range []struct {
		name string
		data []byte
	}{{"jsonl", jsonl.Bytes()}, {"binary", bin.Bytes()}} {
		b.Run(form.name, func(b *testing.B) {
			b.SetBytes(int64(len(form.data)))
			for b.Loop() {
				if _, err := Decode(bytes.NewReader(form.data)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(tr.Events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func TestKinds(t *testing.T) {
	all := Kinds()
	if len(all) == 0 || !KindOpen.Valid() || Kind("opn").Valid() || Kind("").Valid() {
		t.Fatalf("Kinds() = %v; Valid(open, opn, \"\") = %v %v %v", all, KindOpen.Valid(), Kind("opn").Valid(), Kind("").Valid())
	}
	for _, k := range all {
		if !k.Valid() {
			t.Errorf("%s listed but not valid", k)
		}
		if k.Probe() && k.Capture() {
			t.Errorf("%s both probe and capture", k)
		}
	}
	for k, want := range map[Kind][2]bool{
		KindOpen: {true, false}, KindMemRead: {true, false}, KindHTTP: {false, true},
		KindDNS: {false, true}, KindPlant: {false, false}, KindLost: {false, false},
	} {
		if got := [2]bool{k.Probe(), k.Capture()}; got != want {
			t.Errorf("%s: got Probe, Capture = %v, want %v", k, got, want)
		}
	}
}

// TestOpenIdentityJSON checks the JSON names of an open's identity
// fields and that they are left out when zero.
func TestOpenIdentityJSON(t *testing.T) {
	var b bytes.Buffer
	events := []Event{
		{Seq: 1, Kind: KindOpen, Path: "/home/alex/.npmrc", Dev: 45, Ino: 1001, PathUnread: true, Name: "open"},
		{Seq: 2, Kind: KindOpen, Path: "/etc/hosts", Ret: -2},
	}
	if err := Encode(&b, &Trace{Events: events}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.Contains(lines[0], `"dev":45,"ino":1001,"path_unread":true`) {
		t.Errorf("open with identity: got %s", lines[0])
	}
	if strings.Contains(lines[1], "dev") || strings.Contains(lines[1], "ino") || strings.Contains(lines[1], "path_unread") {
		t.Errorf("open without identity: got %s", lines[1])
	}
	if got, want := events[0].String(), "#1 open /home/alex/.npmrc flags=0x0 via open (path unread) file=45:1001"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	tr, err := Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Events[0].File(); got != (FileID{Dev: 45, Ino: 1001}) || !tr.Events[0].PathUnread {
		t.Errorf("decoded: got %+v unread=%v", got, tr.Events[0].PathUnread)
	}
}

// A trace compared with an earlier version keeps the comparison through
// Encode and Decode, after the phase metadata and before the events.
func TestPreviousRoundTrip(t *testing.T) {
	tr := load(t, "tree.jsonl")
	tr.Phases = []PhaseInfo{{Name: "install", Init: ProcKey{TGID: 50}, Command: RolePackageManager}}
	tr.Previous = &Previous{Analysis: "a1", Version: "1.0.0", NewScripts: []string{"install postinstall"},
		NewScriptProcs: []ProcKey{{TGID: 101, Start: 1010}}}
	var b bytes.Buffer
	if err := Encode(&b, tr); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasPrefix(lines[1], `{"record":"previous"`) {
		t.Errorf("line 2 = %s, want the previous record after the phases", lines[1])
	}
	got, err := Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Previous == nil || got.Previous.Analysis != "a1" || got.Previous.Version != "1.0.0" ||
		len(got.Previous.NewScripts) != 1 || len(got.Previous.NewScriptProcs) != 1 || got.Previous.NewScriptProcs[0] != (ProcKey{TGID: 101, Start: 1010}) {
		t.Errorf("decoded Previous = %+v, want %+v", got.Previous, tr.Previous)
	}
	if len(got.Events) != len(tr.Events) {
		t.Errorf("decoded %d events, want %d", len(got.Events), len(tr.Events))
	}
}

// A stored trace gives its event count ahead of the events; DecodeEvents
// leaves the process table out and keeps the rest.
func TestDecodeEvents(t *testing.T) {
	tr := load(t, "tree.jsonl")
	tr.Phases = []PhaseInfo{{Name: "install", Init: ProcKey{TGID: 50}, Command: RolePackageManager}}
	tr.Processes = BuildTable(tr, testPolicy).Processes()
	var b bytes.Buffer
	if err := Encode(&b, tr); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(b.String(), "\n"); !strings.Contains(first, `"events":`+strconv.Itoa(len(tr.Events))) {
		t.Errorf("phases record %s does not give the event count %d", first, len(tr.Events))
	}
	full, err := Decode(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeEvents(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Processes) == 0 || len(got.Processes) != 0 {
		t.Errorf("processes: Decode %d, DecodeEvents %d; want some and none", len(full.Processes), len(got.Processes))
	}
	if len(got.Events) != len(tr.Events) || cap(got.Events) != len(tr.Events) || len(got.Phases) != 1 {
		t.Errorf("DecodeEvents: %d events (capacity %d), %d phases; want %d, %d, 1",
			len(got.Events), cap(got.Events), len(got.Phases), len(tr.Events), len(tr.Events))
	}
}
