package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/trace"
)

func isBadInput(err error) bool {
	for _, target := range []error{ecosystem.ErrBadSpec, ecosystem.ErrBadArtifact, ecosystem.ErrNotFound, ecosystem.ErrTooLarge} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func cmdAnalyze(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags(e, "analyze")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fumehood analyze [flags] npm:NAME@VERSION | pypi:NAME==VERSION | FILE.tgz|.tar.gz|.whl | DIR")
		fs.PrintDefaults()
	}
	var o machineOpts
	o.register(fs)
	asJSON := fs.Bool("json", false, "print the analysis as one JSON document")
	traceFile := fs.String("trace", "", "write the full trace to `FILE` as JSONL")
	if err := parseFlags(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 0, usagef("want exactly one target, got %d", fs.NArg())
	}
	target, err := ecosystem.Parse(fs.Arg(0))
	if err != nil {
		return 0, err
	}
	m, err := o.open(ctx, e.log, nil)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	a, err := m.Analyze(ctx, target)
	if err != nil {
		return 0, err
	}
	if *traceFile != "" {
		if err := writeTrace(*traceFile, a.Trace); err != nil {
			return 0, err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(a); err != nil {
			return 0, err
		}
	} else {
		printSummary(e.stdout, a)
	}
	return a.ExitCode(), nil
}

func writeTrace(path string, t *trace.Trace) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("trace file: %w", err)
	}
	if err := trace.Encode(f, t); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// printable returns s with every control character (C0, DEL, C1) and
// Unicode format character (bidirectional overrides, zero-width ones)
// escaped as in a Go string literal: text a package chose (its name, file
// names, argv, payloads) cannot start a line, move the cursor or clear the
// screen of a report, and so cannot draw a fake verdict under the real one.
func printable(s string) string {
	if !strings.ContainsFunc(s, unprintable) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unprintable(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unprintable(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }

// printSummary writes the report a person reads on a terminal; every
// string that comes from the package or its trace goes through printable.
func printSummary(w io.Writer, a *analysis.Analysis) {
	p := a.Package
	fmt.Fprintf(w, "%s:%s@%s  %s\n", printable(p.Ecosystem), printable(p.Name), printable(p.Version), printable(p.Digest))
	fmt.Fprintf(w, "analysis %s\n\n", a.ID)
	fmt.Fprintf(w, "verdict: %s (score %d, rules %s%s)\n", strings.ToUpper(string(a.Verdict)), a.Score, printable(a.Rules), printable(coverageNote(a.Coverage)))
	if a.Verdict == analysis.Benign && a.Coverage.Level == analysis.CoverageNone {
		fmt.Fprintln(w, "  none of the package's code ran: this verdict judged nothing (exit code 5)")
	}
	printCoverage(w, a.Coverage)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "phases:")
	for _, ph := range a.Phases {
		state := fmt.Sprintf("exit %d", ph.ExitCode)
		if ph.TimedOut {
			state = "timed out"
		}
		if ph.OOMKilled {
			state += ", out of memory"
		}
		fmt.Fprintf(w, "  %-8s %-12s %8s  events %-6d lost %d", printable(ph.Name), state, (time.Duration(ph.DurationMS) * time.Millisecond).String(), ph.Events, ph.Lost)
		if ph.Survivors > 0 {
			fmt.Fprintf(w, "  still running at end: %d", ph.Survivors)
		}
		fmt.Fprintln(w)
	}
	printNetwork(w, a.Trace)
	if len(a.Hits) == 0 {
		fmt.Fprintln(w, "\nno rule hits")
		return
	}
	fmt.Fprintln(w, "\nhits:")
	for _, h := range a.Hits {
		fmt.Fprintf(w, "  [%s] %s", printable(string(h.Severity)), printable(h.Rule))
		if h.Technique != "" {
			fmt.Fprintf(w, " (%s)", printable(h.Technique))
		}
		fmt.Fprintf(w, ": %s\n", printable(h.Summary))
		for _, ev := range h.Evidence {
			fmt.Fprintf(w, "      %s\n", printable(ev))
		}
	}
}

// coverageNote is the coverage part of the verdict line, e.g.
// "; coverage: none — install failed before scripts: npm ERR! ...".
func coverageNote(c analysis.Coverage) string {
	if c.Level == "" {
		return "" // a record from before coverage was measured
	}
	note := "; coverage: " + string(c.Level)
	if c.Reason != "" {
		note += " — " + c.Reason
	}
	return note
}

// printCoverage lists the declared scripts (in the ci phase too) and the
// entry points with whether each ran.
func printCoverage(w io.Writer, c analysis.Coverage) {
	for _, s := range slices.Concat(c.Scripts, c.CI) {
		state := "did not run"
		if s.Ran {
			state = "ran, " + analysis.ExitStatus(s.ExitCode, s.Signal)
		}
		fmt.Fprintf(w, "  script  %-8s %-12s %q: %s\n", printable(s.Phase), printable(s.Name), s.Command, state)
	}
	for _, im := range c.Imports {
		state := "not run"
		switch {
		case im.OK:
			state = "ok"
		case im.Ran:
			state = "failed, " + analysis.ExitStatus(im.ExitCode, im.Signal)
		}
		fmt.Fprintf(w, "  import  %-21s %s\n", printable(im.Entry), state)
	}
}

// maxCaptures bounds the network lines of a summary; the trace has all.
const maxCaptures = 20

// printNetwork lists what the sinkhole captured: the package's DNS
// queries, HTTP requests, TLS handshakes and raw TCP/UDP payloads.
func printNetwork(w io.Writer, t *trace.Trace) {
	if t == nil {
		return
	}
	var lines []string
	for i := range t.Events {
		if e := &t.Events[i]; e.Kind.Capture() {
			lines = append(lines, printable(e.String()))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "\nnetwork (captured by the sinkhole, %d):\n", len(lines))
	for i, l := range lines {
		if i == maxCaptures {
			fmt.Fprintf(w, "  ... %d more in the trace (--trace FILE)\n", len(lines)-maxCaptures)
			break
		}
		fmt.Fprintf(w, "  %s\n", l)
	}
}
