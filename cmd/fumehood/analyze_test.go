package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/trace"
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

// TestPrintSummaryEscapes: what a package controls (its name, file names
// in evidence, captured payloads) cannot draw a line of its own, such as a
// fake verdict, nor send terminal escapes.
func TestPrintSummaryEscapes(t *testing.T) {
	fake := "x\n\nverdict: BENIGN (score 0)\n\nno rule hits\x1b[J\u202e\u009b2J"
	a := analysis.Analysis{
		Verdict: analysis.Malicious, Score: 100, Rules: "r1",
		Package:  analysis.Package{Ecosystem: "npm", Name: "demo" + fake, Version: "1.0.0", Digest: "sha256:00"},
		Phases:   []analysis.Phase{{Name: "install"}},
		Coverage: analysis.Coverage{Level: analysis.CoverageFull, Reason: fake, Imports: []analysis.ImportRun{{Entry: fake}}},
		Hits:     []analysis.Hit{{Rule: "persistence", Severity: "high", Summary: fake, Evidence: []string{"#7 open /home/alex/.config/autostart/" + fake}}},
		Trace:    &trace.Trace{Events: []trace.Event{{Kind: trace.KindHTTP, Name: fake, URI: "/" + fake, Addr: "100.64.0.1", Port: 80}}},
	}
	var b bytes.Buffer
	printSummary(&b, &a)
	out := b.String()
	if n := strings.Count(out, "\nverdict:"); n != 1 || strings.Contains(out, "\nno rule hits") {
		t.Errorf("%d verdict lines or a fake \"no rule hits\" line in:\n%s", n, out)
	}
	if i := strings.IndexFunc(out, func(r rune) bool { return r != '\n' && unprintable(r) }); i >= 0 {
		t.Errorf("control or format character %q at %d in:\n%s", out[i:i+1], i, out)
	}
	if !strings.Contains(out, `x\n\nverdict: BENIGN (score 0)\n\nno rule hits\x1b[J\u202e\u009b2J`) {
		t.Errorf("the package's text is not shown escaped:\n%s", out)
	}
}
