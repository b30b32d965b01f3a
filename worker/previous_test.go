package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
)

// seedVersion stores a finished analysis of devtools-sync at version v
// that declared scripts, with tr as its trace (nil: a trace whose blob is
// missing).
func seedVersion(t *testing.T, st store.Store, blobs store.Blobs, n int, v string, scripts []analysis.ScriptRun, tr *trace.Trace) {
	t.Helper()
	seedRecord(t, st, blobs, &store.Record{Analysis: analysis.Analysis{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), Verdict: analysis.Benign,
		Package:  analysis.Package{Ecosystem: ecosystem.NPM, Name: "devtools-sync", Version: v},
		Coverage: analysis.Coverage{Scripts: scripts}}}, tr)
}

// seededStore opens a store in a temporary directory, closed when the
// test ends, and seeds it.
func seededStore(t *testing.T, seed func(store.Store, store.Blobs)) (store.Store, store.Blobs) {
	t.Helper()
	st, blobs, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	seed(st, blobs)
	return st, blobs
}

// seedRecord stores rec as finished, with tr as its trace (nil: a trace
// whose blob is missing).
func seedRecord(t *testing.T, st store.Store, blobs store.Blobs, rec *store.Record, tr *trace.Trace) {
	t.Helper()
	ctx := context.Background()
	digest := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(rec.ID)))
	if tr != nil {
		var buf bytes.Buffer
		if err := trace.Encode(&buf, tr); err != nil {
			t.Fatal(err)
		}
		var err error
		if digest, err = blobs.Put(ctx, &buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := st.Complete(ctx, &rec.Analysis, digest); err != nil {
		t.Fatal(err)
	}
}

// TestJudgeWithEarlierVersion judges the recorded install of
// devtools-sync 2.0.1 (its postinstall, node setup.js, looks up a name at
// the sinkhole) against the versions of it a store holds: the new rule
// hits only when the highest lower version analysed lacked that script.
func TestJudgeWithEarlierVersion(t *testing.T) {
	ctx := context.Background()
	data, err := os.ReadFile("testdata/recorded.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	tgz := writeTarGz(t, t.TempDir(), "devtools-sync-2.0.1.tgz", map[string]string{"package/package.json": `{"name":"devtools-sync","version":"2.0.1","scripts":{"postinstall":"node setup.js"}}`})
	cmds, err := ecosystem.Commands(ecosystem.Artifact{Ecosystem: ecosystem.NPM, Name: "devtools-sync", Version: "2.0.1", File: tgz}, testLayout)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	postinstall := []analysis.ScriptRun{{Phase: "install", Name: "postinstall", Command: "node setup.js", Ran: true}}
	quiet := &trace.Trace{}
	quiet.Append("install", []trace.Event{{Kind: trace.KindExec, TGID: 9, PID: 9, Path: "/usr/bin/node", Argv: []string{"node", "npm", "install"}}})
	const rule = "new-install-script-network"
	tests := []struct {
		name     string
		seed     func(st store.Store, blobs store.Blobs)
		previous string // version compared with, "" for none
		hit      bool
	}{
		{"no earlier version", func(store.Store, store.Blobs) {}, "", false},
		{"earlier version without the script", func(st store.Store, b store.Blobs) {
			seedVersion(t, st, b, 1, "1.9.0", nil, quiet)
		}, "1.9.0", true},
		// The highest lower version, not the last submitted: 1.9.0 had
		// the script, the 1.2.0 backport analysed after it did not.
		{"highest lower version had it", func(st store.Store, b store.Blobs) {
			seedVersion(t, st, b, 1, "1.9.0", postinstall, quiet)
			seedVersion(t, st, b, 2, "1.2.0", nil, quiet)
			seedVersion(t, st, b, 3, "3.0.0", nil, quiet)
		}, "1.9.0", false},
		{"earlier version ran another command", func(st store.Store, b store.Blobs) {
			seedVersion(t, st, b, 1, "2.0.0", []analysis.ScriptRun{{Phase: "install", Name: "postinstall", Command: "node build.js"}}, quiet)
		}, "2.0.0", true},
		{"only higher versions", func(st store.Store, b store.Blobs) {
			seedVersion(t, st, b, 1, "2.0.2", nil, quiet)
		}, "", false},
		{"earlier trace missing", func(st store.Store, b store.Blobs) {
			seedVersion(t, st, b, 1, "2.0.0", nil, nil)
		}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, blobs := seededStore(t, tt.seed)
			tr, err := trace.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			p := New(Config{Earlier: StoreEarlier{Store: st, Blobs: blobs}}, nil, nil, nil, rs)
			a := &analysis.Analysis{Package: analysis.Package{Ecosystem: ecosystem.NPM, Name: "devtools-sync", Version: "2.0.1"},
				Phases: []analysis.Phase{{Name: "install"}, {Name: "import"}}}
			if err := p.judge(ctx, a, cmds, tr); err != nil {
				t.Fatal(err)
			}
			switch got := a.Trace.Previous; {
			case tt.previous == "" && got != nil:
				t.Fatalf("compared with %s, want no earlier version", got.Version)
			case tt.previous != "" && (got == nil || got.Version != tt.previous):
				t.Fatalf("compared with %+v, want version %s", got, tt.previous)
			case tt.hit && (!slices.Equal(got.NewScripts, []string{"install postinstall"}) || len(got.NewScriptProcs) != 1):
				t.Errorf("new scripts %q run by %v, want the postinstall and its shell", got.NewScripts, got.NewScriptProcs)
			}
			hit := slices.ContainsFunc(a.Hits, func(h analysis.Hit) bool { return h.Rule == rule })
			if hit != tt.hit {
				t.Errorf("%s hit = %v, want %v (hits %v)", rule, hit, tt.hit, a.Hits)
			}
			if tt.hit && a.Verdict != analysis.Malicious {
				t.Errorf("verdict %s, want malicious", a.Verdict)
			}
			// The comparison is stored with the trace: judging the
			// stored trace alone gives the same hits.
			var buf bytes.Buffer
			if err := trace.Encode(&buf, a.Trace); err != nil {
				t.Fatal(err)
			}
			back, err := trace.Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if j := rs.Judge(back); len(j.Hits) != len(a.Hits) || j.Verdict != a.Verdict {
				t.Errorf("re-judged: %s with %d hits, want %s with %d", j.Verdict, len(j.Hits), a.Verdict, len(a.Hits))
			}
		})
	}
}
