package rules

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/trace"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// wantVerdicts pins the verdict of each golden trace independently of the
// golden file, so that -update cannot silently accept a wrong verdict.
var wantVerdicts = map[string]analysis.Verdict{
	"stealer":      analysis.Malicious,
	"native-build": analysis.Benign,
	// the same build with its compiler's lookups of missing headers past
	// the recording's budget: they read nothing (lost-lookups, low)
	"native-build-lost-lookups": analysis.Benign,
	"dropper-miner":             analysis.Malicious,
	"geo-lookup":                analysis.Suspicious,
	"banner-lost":               analysis.Suspicious,
	"pip-setup-exfil":           analysis.Malicious,
	"hook-manager":              analysis.Benign,
	"argv-npm-stealer":          analysis.Malicious,
	"token-own-service":         analysis.Benign,
	"hijacked-release":          analysis.Malicious,
	// a shell start-up file written, and nothing else the package did:
	// the planted code is the attack, its trigger not replayed
	"rc-only": analysis.Malicious,
	// one high hit, and the session's ssh to the forge: the developer's
	// traffic is not the package's egress
	"shim-then-session": analysis.Suspicious,
	// a binary download that fails its check, then the source shipped in
	// the package unpacked to /tmp and configured there (bin-build): a
	// build, not a download or a drop
	"source-build-in-tmp": analysis.Benign,
	// the same tree, but the program run from it is one the downloading
	// process wrote no more of than the sinkhole answered: a download
	// among decoys
	"decoy-tree-download": analysis.Malicious,
}

func TestJudgeGolden(t *testing.T) {
	s, err := Builtin()
	if err != nil {
		t.Fatalf("Builtin() error: %v", err)
	}
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(files), len(wantVerdicts); got != want {
		t.Fatalf("found %d golden traces, want %d", got, want)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		t.Run(name, func(t *testing.T) {
			tr := readTrace(t, f)
			j := s.Judge(tr)
			if got, want := j.Verdict, wantVerdicts[name]; got != want {
				t.Errorf("verdict = %s, want %s; hits: %s", got, want, hitIDs(j.Hits))
			}
			got, err := json.MarshalIndent(j, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(f, ".jsonl") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run go test -update): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("judgement differs from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func readTrace(t *testing.T, path string) *trace.Trace {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := trace.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return tr
}

func hitIDs(hits []analysis.Hit) string {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.Rule + "(" + string(h.Severity) + ")"
	}
	return strings.Join(ids, " ")
}
