package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/evaluate"
)

func cmdEval(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags(e, "eval")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fumehood eval [flags] CORPUS-DIR | fumehood eval [flags] --specs FILE")
		fs.PrintDefaults()
	}
	var o machineOpts
	o.register(fs)
	asJSON := fs.Bool("json", false, "print the report as one JSON document")
	specsFile := fs.String("specs", "", "analyse the registry specs listed in `FILE` (one a line, # comments), all expected benign, and report the false-positive rate")
	if err := parseFlags(fs, args); err != nil {
		return 0, err
	}
	if *specsFile != "" {
		if fs.NArg() != 0 {
			fs.Usage()
			return 0, usagef("--specs takes no corpus directory")
		}
		return evalSpecs(ctx, e, o, *specsFile, *asJSON)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 0, usagef("want one corpus directory")
	}
	samples, err := evaluate.Load(fs.Arg(0))
	if err != nil {
		return 0, usageError{err.Error()}
	}
	m, err := o.open(ctx, e.log, nil)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	r, err := evaluate.Run(ctx, m, samples)
	if err != nil {
		return 0, err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return 0, err
		}
	} else {
		printReport(e.stdout, r)
	}
	if r.Correct != r.Total {
		return 1, nil
	}
	return 0, nil
}

func printReport(w io.Writer, r *evaluate.Report) {
	cols := []analysis.Verdict{analysis.Benign, analysis.Suspicious, analysis.Malicious, "error"}
	fmt.Fprintf(w, "%-12s", "expect\\got")
	for _, c := range cols {
		fmt.Fprintf(w, " %10s", c)
	}
	fmt.Fprintln(w)
	rows := []analysis.Verdict{analysis.Benign, analysis.Suspicious, analysis.Malicious}
	for _, row := range rows {
		fmt.Fprintf(w, "%-12s", row)
		for _, c := range cols {
			fmt.Fprintf(w, " %10d", r.Confusion[row][c])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\n%d/%d correct; not-benign precision %.3f, recall %.3f\n", r.Correct, r.Total, r.Precision, r.Recall)
	for _, m := range r.Misses {
		fmt.Fprintf(w, "MISS %s: expect %s, got %s", printable(m.Sample), m.Expect, m.Verdict)
		if m.Error != "" {
			fmt.Fprintf(w, " (error: %s)", printable(m.Error))
		}
		fmt.Fprintf(w, "; rules fired: %s\n", printable(fmt.Sprint(m.Hits)))
	}
}

// evalSpecs analyses every spec of file, all expected benign. It exits 0
// only when every one is judged benign: a suspicious or malicious verdict,
// or an analysis that fails, exits 1.
func evalSpecs(ctx context.Context, e *env, o machineOpts, file string, asJSON bool) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, usageError{err.Error()}
	}
	specs, err := evaluate.ReadSpecs(f)
	f.Close()
	if err != nil {
		return 0, usageError{fmt.Sprintf("%s: %v", file, err)}
	}
	if len(specs) == 0 {
		return 0, usagef("%s lists no specs", file)
	}
	m, err := o.open(ctx, e.log, nil)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	r, err := evaluate.RunSpecs(ctx, m, specs)
	if err != nil {
		return 0, err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return 0, err
		}
	} else {
		printSpecReport(e.stdout, r)
	}
	if !r.AllBenign() {
		return 1, nil
	}
	return 0, nil
}

func printSpecReport(w io.Writer, r *evaluate.SpecReport) {
	for _, res := range r.Results {
		if res.Error != "" {
			fmt.Fprintf(w, "%-10s %s: %s\n", "error", printable(res.Spec), printable(res.Error))
			continue
		}
		fmt.Fprintf(w, "%-10s %s (score %d%s)\n", res.Verdict, printable(res.Spec), res.Score, printable(coverageNote(res.Coverage)))
		for _, h := range res.Hits {
			fmt.Fprintf(w, "           %s %s: %s\n", h.Severity, printable(h.Rule), printable(h.Summary))
		}
	}
	fmt.Fprintf(w, "\n%d specs: %d benign, %d suspicious, %d malicious, %d errors; false-positive rate %.3f (malicious %.3f)\n",
		r.Total, r.Benign, r.Suspicious, r.Malicious, r.Errors, r.FalsePositiveRate, r.MaliciousRate)
}
