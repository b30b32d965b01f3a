package main

import (
	"flag"
	"slices"
	"strings"
	"testing"
)

func TestDiffCommand(t *testing.T) {
	tests := []struct {
		args  []string
		code  int
		query string
	}{
		{[]string{"diff", "a0", "a1"}, 0, "from=a0&to=a1"},
		{[]string{"diff", "npm:left-pad@1.3.0", "npm:left-pad@1.3.1"}, 0, "ecosystem=npm&from=1.3.0&name=left-pad&to=1.3.1"},
		{[]string{"diff", "pypi:Foo_Bar==1.0", "pypi:foo-bar==2.0", "--json"}, 0, "ecosystem=pypi&from=1.0&name=Foo_Bar&to=2.0"},
		{[]string{"diff", "npm:a@1.0.0", "npm:b@1.0.1"}, exitBadInput, ""},
		{[]string{"diff", "npm:a@1.0.0", "a1"}, exitBadInput, ""},
		{[]string{"diff", "a0"}, exitBadInput, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, _ := startFarm(t)
			code, out, errOut := runCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %s)", code, tt.code, errOut)
			}
			if got := f.bodies["diff?"]; got != tt.query {
				t.Errorf("query %q, want %q", got, tt.query)
			}
			if tt.code == 0 && !slices.Contains(tt.args, "--json") {
				for _, want := range []string{"from a0 to a1", `  + install http POST evil.example/\e[2J`, "install scripts:\n  + install postinstall: node x.js",
					"  ~ install install: node i.js (files changed: i.js)", "  ? install preinstall: node p.js (files not compared"} {
					if !strings.Contains(out, want) {
						t.Errorf("output lacks %q:\n%s", want, out)
					}
				}
				if strings.Contains(out, "\x1b") {
					t.Errorf("output holds a raw escape")
				}
			}
		})
	}
}

func TestParseFlagsAfterArguments(t *testing.T) {
	tests := []struct {
		args []string
		wait bool
		pos  []string
	}{
		{[]string{"npm:a@1", "--wait"}, true, []string{"npm:a@1"}},
		{[]string{"--wait", "npm:a@1"}, true, []string{"npm:a@1"}},
		{[]string{"x", "--name", "n", "y"}, false, []string{"x", "y"}},
		{[]string{"x", "--", "--wait"}, false, []string{"x", "--wait"}},
		{[]string{}, false, []string{}},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		wait := fs.Bool("wait", false, "")
		fs.String("name", "", "")
		if err := parseFlags(fs, tt.args); err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if *wait != tt.wait || !slices.Equal(fs.Args(), tt.pos) {
			t.Errorf("%q: wait %v args %q, want %v %q", tt.args, *wait, fs.Args(), tt.wait, tt.pos)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(&strings.Builder{})
	if err := parseFlags(fs, []string{"x", "--nope"}); err == nil {
		t.Errorf("an unknown flag after an argument was accepted")
	}
}

// TestTokenNotInUsage checks that usage and error output name
// $FUMEHOOD_TOKEN, never its value.
func TestTokenNotInUsage(t *testing.T) {
	t.Setenv("FUMEHOOD_TOKEN", "fh_secretvalue")
	t.Setenv("FUMEHOOD_SERVER", "http://127.0.0.1:1")
	for _, args := range [][]string{{"submit", "-h"}, {"status", "-h"}, {"diff", "-h"}, {"submit", "--bogus"}, {"status", "a", "b"}, {"status", "x"}} {
		_, out, errOut := runCLI(t, args...)
		if strings.Contains(out+errOut, "fh_secretvalue") {
			t.Errorf("%q printed the token:\n%s%s", args, out, errOut)
		}
	}
}

func TestReportOSV(t *testing.T) {
	startFarm(t)
	code, out, errOut := runCLI(t, "report", "a1", "--osv")
	if code != 0 || !strings.Contains(out, `"id": "x_fumehood-a1"`) {
		t.Errorf("report a1 --osv: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "report", "b0", "--osv")
	if code != exitBadInput || out != "" || !strings.Contains(errOut, "is benign") {
		t.Errorf("report of a benign analysis: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "report", "a1"); code != exitBadInput {
		t.Errorf("report without --osv: exit %d, want %d", code, exitBadInput)
	}
}
