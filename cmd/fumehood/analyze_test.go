package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/fumehood/fumehood/analysis"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestPrintSummaryCoverage: the coverage stands next to the verdict, and
// a benign verdict on which nothing ran says so.
func TestPrintSummaryCoverage(t *testing.T) {
	tests := []struct {
		name string
		a    analysis.Analysis
	}{
		{"coverage-none", analysis.Analysis{
			Verdict: analysis.Benign, Rules: "r1",
			Package: analysis.Package{Ecosystem: "npm", Name: "demo", Version: "1.0.0", Digest: "sha256:00"},
			Phases:  []analysis.Phase{{Name: "install", ExitCode: 1}, {Name: "import", ExitCode: 1}},
			Coverage: analysis.Coverage{
				Level:   analysis.CoverageNone,
				Scripts: []analysis.ScriptRun{{Phase: "install", Name: "postinstall", Command: "node setup.js"}},
				Imports: []analysis.ImportRun{{Entry: "require", Ran: true, ExitCode: 1}, {Entry: "import", Ran: true, ExitCode: 1}},
				Reason:  "install failed before scripts (exit 1): npm ERR! code EBADPLATFORM",
			},
		}},
		{"coverage-full", analysis.Analysis{
			Verdict: analysis.Benign, Rules: "r1",
			Package: analysis.Package{Ecosystem: "pypi", Name: "demo", Version: "1.0", Digest: "sha256:00"},
			Phases:  []analysis.Phase{{Name: "install"}, {Name: "import"}},
			Coverage: analysis.Coverage{
				Level: analysis.CoverageFull, InstallOK: true,
				Scripts: []analysis.ScriptRun{{Phase: "install", Name: "build", Command: "setup.py", Ran: true}},
				Imports: []analysis.ImportRun{{Entry: "demo", Ran: true, OK: true}},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printSummary(&b, &tt.a)
			golden := filepath.Join("testdata", tt.name+".txt")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("summary:\ngot\n%s\nwant\n%s", got, want)
			}
		})
	}
}
