package worker

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"slices"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
)

// TestRejudgeComparesEarlier re-judges the stored install of
// devtools-sync 2.0.1 (its postinstall, node setup.js, looks up a name
// at the sinkhole), judged when no earlier version had been analysed:
// re-judging compares it afresh with the newest earlier registry version
// the store now holds, as a fresh analysis does, so the rule that needs
// that comparison fires exactly when that version lacked the script or
// ran other files in it. A comparison stored with the trace is replaced.
func TestRejudgeComparesEarlier(t *testing.T) {
	ctx := context.Background()
	data, err := os.ReadFile("testdata/recorded.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	const rule = "new-install-script-network"
	files := func(digest string) map[string]string { return map[string]string{"setup.js": digest} }
	script := func(f map[string]string) []analysis.ScriptRun {
		return []analysis.ScriptRun{{Phase: "install", Name: "postinstall", Command: "node setup.js", Ran: true,
			Files: f, FilesDigest: analysis.ScriptFilesDigest(f)}}
	}
	quiet := &trace.Trace{}
	quiet.Append("install", []trace.Event{{Kind: trace.KindExec, TGID: 9, PID: 9, Path: "/usr/bin/node", Argv: []string{"node", "npm", "install"}}})
	later := analysis.Analysis{ID: "00000000-0000-4000-8000-000000000099", Verdict: analysis.Benign, Rules: "old-rules",
		Package:  analysis.Package{Ecosystem: ecosystem.NPM, Name: "devtools-sync", Version: "2.0.1"},
		Coverage: analysis.Coverage{Scripts: script(files("sha256:bbbb"))},
		Sandbox:  analysis.Sandbox{Persona: analysis.Persona{User: "alex", Project: "app"}}}
	tests := []struct {
		name string
		seed func(st store.Store, b store.Blobs)
		// stale: the trace was stored with a comparison that named the
		// postinstall new.
		stale    bool
		previous string // version compared with, "" for none
		hit      bool
	}{
		{"no earlier version", func(store.Store, store.Blobs) {}, false, "", false},
		{"earlier version without the script", func(st store.Store, b store.Blobs) {
			seedVersion(t, st, b, 1, "1.9.0", nil, quiet)
		}, false, "1.9.0", true},
		{"earlier version ran other files", func(st store.Store, b store.Blobs) {
			seedVersion(t, st, b, 1, "1.9.0", script(files("sha256:aaaa")), quiet)
		}, false, "1.9.0", true},
		{"earlier version ran the same files", func(st store.Store, b store.Blobs) {
			seedVersion(t, st, b, 1, "1.9.0", script(files("sha256:bbbb")), quiet)
		}, true, "1.9.0", false},
		{"earlier version recorded no files", func(st store.Store, b store.Blobs) {
			seedVersion(t, st, b, 1, "1.9.0", script(nil), quiet)
		}, false, "1.9.0", false},
		{"only an upload is earlier", func(st store.Store, b store.Blobs) {
			seedRecord(t, st, b, &store.Record{Source: store.FromUpload, UploadedBy: "ci", Analysis: analysis.Analysis{
				ID: "00000000-0000-4000-8000-000000000001", Verdict: analysis.Benign,
				Package: analysis.Package{Ecosystem: ecosystem.NPM, Name: "devtools-sync", Version: "1.9.0"}}}, quiet)
		}, true, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, blobs := seededStore(t, tt.seed)
			tr, err := trace.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if tt.stale {
				tr.Previous = &trace.Previous{Analysis: "gone", Version: "1.0.0", NewScripts: []string{"install postinstall"},
					NewScriptProcs: scriptProcs(storedCommands(&later), tr, []string{"install postinstall"})}
				if len(tr.Previous.NewScriptProcs) != 1 {
					t.Fatalf("the stored scripts' process: %v, want the postinstall's shell", tr.Previous.NewScriptProcs)
				}
			}
			rec := &store.Record{Analysis: later}
			seedRecord(t, st, blobs, rec, tr)

			h := &Handler{Store: st, Blobs: blobs, Rules: rs, Logger: slog.New(slog.DiscardHandler)}
			mux := asynq.NewServeMux()
			h.Register(mux)
			if err := mux.ProcessTask(ctx, scheduler.NewRejudgeTask("b1", rec.ID)); err != nil {
				t.Fatal(err)
			}
			got, err := st.Get(ctx, rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Rules != rs.Version() {
				t.Fatalf("rules %q after re-judging, want %q", got.Rules, rs.Version())
			}
			var ids []string
			for _, h := range got.Hits {
				ids = append(ids, h.Rule)
			}
			if hit := slices.Contains(ids, rule); hit != tt.hit {
				t.Errorf("%s hit = %v, want %v (hits %q)", rule, hit, tt.hit, ids)
			}
			if tt.hit && got.Verdict != analysis.Malicious {
				t.Errorf("verdict %s, want malicious", got.Verdict)
			}
			// What the rules saw: the comparison a fresh analysis makes.
			p := New(Config{Earlier: StoreEarlier{Store: st, Blobs: blobs}}, nil, nil, nil, rs)
			prev, err := p.previous(ctx, &later, storedCommands(&later), tr)
			switch {
			case err != nil:
				t.Fatal(err)
			case tt.previous == "" && prev != nil, tt.previous != "" && (prev == nil || prev.Version != tt.previous):
				t.Errorf("compared with %+v, want version %q", prev, tt.previous)
			}
		})
	}
}
