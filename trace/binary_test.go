package trace

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// binaryTraces are the recorded and hand-written traces of this
// repository, in JSONL.
func binaryTraces(t testing.TB) []string {
	var files []string
	for _, g := range []string{"testdata/*.jsonl", "../worker/testdata/recorded.jsonl", "../rules/testdata/*.jsonl"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found %d traces, want the repository's", len(files))
	}
	return files
}

// TestBinaryRoundTrip decodes every trace of the repository from JSONL,
// encodes it in the binary form and decodes that: the same trace, records
// included, whichever Decode reads it, and the binary form is smaller.
func TestBinaryRoundTrip(t *testing.T) {
	for _, f := range binaryTraces(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Decode(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			// a process table and a previous version, as the farm stores them
			want.Processes = NewTable(want.Phases, Policy{}).build(want)
			want.Previous = &Previous{Analysis: "a", Version: "1.0.0", NewScripts: []string{"postinstall"}}
			var jb, bb bytes.Buffer
			if err := Encode(&jb, want); err != nil {
				t.Fatal(err)
			}
			if err := EncodeBinary(&bb, want); err != nil {
				t.Fatal(err)
			}
			if bb.Len() >= jb.Len() {
				t.Errorf("binary %d bytes, JSONL %d: want it smaller", bb.Len(), jb.Len())
			}
			fromJSON, err := Decode(&jb)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(bytes.NewReader(bb.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, fromJSON) {
				t.Errorf("binary round trip differs from the JSONL one")
				for i := range min(len(got.Events), len(fromJSON.Events)) {
					if !reflect.DeepEqual(got.Events[i], fromJSON.Events[i]) {
						t.Fatalf("event %d:\ngot  %+v\nwant %+v", i, got.Events[i], fromJSON.Events[i])
					}
				}
			}
			evs, err := DecodeEvents(bytes.NewReader(bb.Bytes()))
			if err != nil || evs.Processes != nil || !reflect.DeepEqual(evs.Events, fromJSON.Events) {
				t.Errorf("DecodeEvents of the binary form: err %v, %d processes; want the events alone", err, len(evs.Processes))
			}
			er, err := NewEventReader(bytes.NewReader(bb.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for ; ; n++ {
				var e Event
				if err := er.Next(&e); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(e, fromJSON.Events[n]) {
					t.Fatalf("EventReader event %d differs", n)
				}
			}
			if n != len(fromJSON.Events) {
				t.Errorf("EventReader read %d events, want %d", n, len(fromJSON.Events))
			}
		})
	}
}

// build is the table of tr, for the round trip's process record.
func (t *Table) build(tr *Trace) []*Process {
	for i := range tr.Events {
		t.Feed(&tr.Events[i])
	}
	return t.Processes()
}

// TestBinaryEveryField round-trips an event with every field set: a
// field added to Event and not to the binary form fails here.
func TestBinaryEveryField(t *testing.T) {
	var e Event
	v := reflect.ValueOf(&e).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("s" + v.Type().Field(i).Name)
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(uint64(i + 1))
		case reflect.Int32, reflect.Int64:
			f.SetInt(-int64(i + 1))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.Uint8 {
				f.SetBytes([]byte{0, 1, 2, 255})
			} else {
				f.Set(reflect.ValueOf([]string{"a", "", "a"}))
			}
		case reflect.Struct:
			f.Set(reflect.ValueOf(time.Date(2026, 12, 7, 23, 18, 2, 25744782, time.UTC)))
		default:
			t.Fatalf("field %s of kind %s: teach this test and the binary form", v.Type().Field(i).Name, f.Kind())
		}
	}
	var b bytes.Buffer
	if err := EncodeBinary(&b, &Trace{Events: []Event{e, {Seq: 2}}}); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 2 || !reflect.DeepEqual(got.Events[0], e) || !reflect.DeepEqual(got.Events[1], Event{Seq: 2}) {
		t.Errorf("got %+v\nwant %+v and {Seq: 2}", got.Events, e)
	}
}

// TestBinaryCorrupt cuts a binary trace at every length and flips bytes:
// each fails with an error, none panics, and a cut between frames reads
// the frames before it.
func TestBinaryCorrupt(t *testing.T) {
	tr := load(t, "tree.jsonl")
	var b bytes.Buffer
	if err := EncodeBinary(&b, tr); err != nil {
		t.Fatal(err)
	}
	full := b.Bytes()
	for n := len(binaryMagic); n < len(full); n++ {
		got, err := Decode(bytes.NewReader(full[:n]))
		if err == nil && len(got.Events) >= len(tr.Events) {
			t.Fatalf("cut at %d of %d: decoded every event", n, len(full))
		}
		if err != nil && !errors.Is(err, errCorrupt) {
			t.Fatalf("cut at %d: %v, want errCorrupt", n, err)
		}
	}
	for i := len(binaryMagic); i < len(full); i++ {
		c := bytes.Clone(full)
		c[i] ^= 0xff
		Decode(bytes.NewReader(c)) //nolint:errcheck // must not panic
	}
}

func FuzzBinaryDecode(f *testing.F) {
	var b bytes.Buffer
	if err := EncodeBinary(&b, &Trace{Events: []Event{{Seq: 1, Kind: KindExec, Path: "/bin/sh", Argv: []string{"sh"}}}}); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes()[len(binaryMagic):])
	f.Fuzz(func(t *testing.T, body []byte) {
		Decode(bytes.NewReader(append([]byte(binaryMagic), body...))) //nolint:errcheck // must not panic
	})
}
