package trace

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	json "github.com/goccy/go-json"
)

// eventLines returns the event lines of the traces in testdata.
func eventLines(t testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no traces in testdata: %v", err)
	}
	var lines [][]byte
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, MaxLine)
		for sc.Scan() {
			if b := sc.Bytes(); len(b) > 0 && !IsRecord(b) {
				lines = append(lines, append([]byte(nil), b...))
			}
		}
		f.Close()
	}
	return lines
}

// checkEventDecoder fails when the event decoder accepts line and reads
// it otherwise than the general decoder.
func checkEventDecoder(t *testing.T, d *eventDecoder, line []byte) bool {
	var fast, general Event
	if !d.decode(line, &fast) {
		return false
	}
	if err := json.Unmarshal(line, &general); err != nil {
		t.Errorf("event decoder accepts %s, which the general decoder refuses: %v", line, err)
	} else if !reflect.DeepEqual(fast, general) {
		t.Errorf("%s:\nevent decoder   %#v\ngeneral decoder %#v", line, fast, general)
	}
	return true
}

// Every event Encode writes, of every kind, takes the fast path and
// decodes to what the general decoder makes of it.
func TestEventDecoder(t *testing.T) {
	d := newEventDecoder()
	lines := eventLines(t)
	var all []Event
	for _, line := range lines {
		if !checkEventDecoder(t, d, line) {
			t.Errorf("event decoder gives up on %s", line)
		}
		var e Event
		if err := json.Unmarshal(line, &e); err == nil {
			all = append(all, e)
		}
	}
	// Every field, as Encode writes it.
	full := Event{Seq: 7, Phase: "install", Kind: KindHTTP, PID: 1, TGID: 2, PPID: 3, UID: 4, Comm: "node", CgroupID: 5, Start: 6,
		Path: "/p/ü", Path2: "q", Argv: []string{"a", ""}, Cwd: "/c", Stdio: NewStdio(FDInet, FDPipe, FDChar), Flags: -1, Mode: 0o755,
		Ret: -9223372036854775808, Dev: 1<<64 - 1, Ino: 9, PathUnread: true, ChildPID: 10, ChildStart: 11, ExitCode: -2147483648,
		Signal: 9, Family: 10, Addr: "::1", Port: 65535, Count: 12, Arg: -13, TargetPID: 14, Name: "h", QType: "TXT", Method: "POST",
		URI: "/u", Headers: []string{}, Data: []byte{0, 1, 2, 255}}
	for _, e := range append(all, full, Event{}) {
		line, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		if !checkEventDecoder(t, d, line) {
			t.Errorf("event decoder gives up on %s", line)
		}
	}
	// Shapes Encode does not write go to the general decoder.
	for _, line := range []string{
		`{"seq":1,"path":"a\"b"}`, `{"seq":1, "kind":"open"}`, `{"seq":1.5}`, `{"seq":-1}`, `{"seq":01}`,
		`{"seq":18446744073709551616}`, `{"pid":4294967296}`, `{"new_field":1}`, `{"path":null}`, `{"ret":-0}`,
		`{"seq":1}x`, `{"path":"\u00e9"}`, "{\"path\":\"a\x01\"}", "{\"path\":\"\xff\"}", `{"data":"!!"}`,
	} {
		var e Event
		if d.decode([]byte(line), &e) {
			t.Errorf("event decoder accepts %s", line)
		}
	}
}

func FuzzEventDecoder(f *testing.F) {
	for _, line := range eventLines(f) {
		f.Add(line)
	}
	f.Add([]byte(`{"seq":1,"ret":-9223372036854775808,"exit_code":-2147483649}`))
	d := newEventDecoder()
	f.Fuzz(func(t *testing.T, line []byte) { checkEventDecoder(t, d, line) })
}
