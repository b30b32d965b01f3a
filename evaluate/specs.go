package evaluate

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
)

// SpecResult is the outcome for one registry spec expected benign.
type SpecResult struct {
	Spec    string           `json:"spec"`
	Verdict analysis.Verdict `json:"verdict,omitempty"`
	Score   int              `json:"score"`
	Hits    []analysis.Hit   `json:"hits"`
	// Coverage is how much of the package ran: a benign verdict on a
	// package whose install stopped early judged little.
	Coverage analysis.Coverage `json:"coverage"`
	Error    string            `json:"error,omitempty"`
	// Err is the analysis error, for callers that branch on it.
	Err error `json:"-"`
}

// SpecReport is the outcome of analysing a list of specs expected benign.
type SpecReport struct {
	Total      int          `json:"total"`
	Benign     int          `json:"benign"`
	Suspicious int          `json:"suspicious"`
	Malicious  int          `json:"malicious"`
	Errors     int          `json:"errors"`
	Results    []SpecResult `json:"results"`
	// FalsePositiveRate is the share of analysed specs (errors left out)
	// whose verdict is not benign; MaliciousRate counts malicious alone.
	FalsePositiveRate float64 `json:"false_positive_rate"`
	MaliciousRate     float64 `json:"malicious_rate"`
}

// ReadSpecs reads one spec per line ("npm:NAME@VERSION",
// "pypi:NAME==VERSION"); blank lines and lines starting with # are
// skipped, and a # after a spec starts a comment. Every spec is parsed;
// errors wrap ecosystem.ErrBadSpec and name the line.
func ReadSpecs(r io.Reader) ([]string, error) {
	lines, err := ecosystem.ReadList(r)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if _, err := ecosystem.Parse(l.Text); err != nil {
			return nil, fmt.Errorf("line %d: %w", l.N, err)
		}
		out = append(out, l.Text)
	}
	return out, nil
}

// RunSpecs analyses every spec, one after the other, each expected benign,
// and reports the verdicts and the false-positive rate. A spec that does
// not parse or whose analysis fails is counted under Errors (a failed
// analysis is not a verdict); only a cancelled ctx stops it.
func RunSpecs(ctx context.Context, an Analyzer, specs []string) (*SpecReport, error) {
	r := &SpecReport{Results: []SpecResult{}}
	for _, spec := range specs {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		r.Total++
		res := SpecResult{Spec: spec, Hits: []analysis.Hit{}}
		t, err := ecosystem.Parse(spec)
		var a *analysis.Analysis
		if err == nil {
			a, err = an.Analyze(ctx, t)
		}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return r, err
			}
			r.Errors++
			res.Err, res.Error = err, err.Error()
			r.Results = append(r.Results, res)
			continue
		}
		res.Verdict, res.Score, res.Coverage = a.Verdict, a.Score, a.Coverage
		if a.Hits != nil {
			res.Hits = a.Hits
		}
		switch a.Verdict {
		case analysis.Benign:
			r.Benign++
		case analysis.Suspicious:
			r.Suspicious++
		default:
			r.Malicious++
		}
		r.Results = append(r.Results, res)
	}
	judged := r.Total - r.Errors
	r.FalsePositiveRate = rate(r.Suspicious+r.Malicious, judged)
	r.MaliciousRate = rate(r.Malicious, judged)
	return r, nil
}

// AllBenign reports whether the list passed: every spec was analysed and
// judged benign. Suspicious fails it as malicious does -- a benign package
// flagged for an analyst to look at is a false positive -- and so does an
// analysis that failed, since it proves nothing either way.
func (r *SpecReport) AllBenign() bool {
	return r.Total > 0 && r.Benign == r.Total
}

func rate(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
