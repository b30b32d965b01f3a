// Package evaluate measures detection against a labelled corpus: it
// analyses every sample of a corpus directory (the layout of
// shared/corpus/README.md: <ecosystem>/<sample>/ with a sample.json beside
// the package) and reports a confusion matrix, precision and recall for
// "not benign", and every miss with the rules that did fire.
package evaluate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
)

// Sample is one labelled package of a corpus.
type Sample struct {
	Name      string           `json:"name"`
	Ecosystem string           `json:"ecosystem"`
	Expect    analysis.Verdict `json:"expect"`
	Phase     string           `json:"phase"`
	Dir       string           `json:"-"`
}

// Met reports whether verdict meets the expectation: a suspicious
// expectation is met by suspicious or malicious, the others only by
// themselves.
func Met(expect, verdict analysis.Verdict) bool {
	if expect == analysis.Suspicious {
		return verdict == analysis.Suspicious || verdict == analysis.Malicious
	}
	return expect == verdict
}

// Load reads every <ecosystem>/<sample>/sample.json under dir.
func Load(dir string) ([]Sample, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*", "*", "sample.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no */*/sample.json under %s", dir)
	}
	slices.Sort(files)
	var out []Sample
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var s Sample
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		switch s.Expect {
		case analysis.Benign, analysis.Suspicious, analysis.Malicious:
		default:
			return nil, fmt.Errorf("%s: expect %q: want benign, suspicious or malicious", f, s.Expect)
		}
		s.Dir = filepath.Dir(f)
		out = append(out, s)
	}
	return out, nil
}

// Analyzer runs one analysis (worker.Pipeline).
type Analyzer interface {
	Analyze(ctx context.Context, t ecosystem.Target) (*analysis.Analysis, error)
}

// Miss is a sample whose verdict did not meet its expectation.
type Miss struct {
	Sample  string           `json:"sample"`
	Expect  analysis.Verdict `json:"expect"`
	Verdict analysis.Verdict `json:"verdict,omitempty"`
	Hits    []string         `json:"hits"`
	Error   string           `json:"error,omitempty"`
}

// Report is the outcome of an evaluation.
type Report struct {
	Total   int `json:"total"`
	Correct int `json:"correct"`
	// Confusion counts verdicts per expectation: Confusion[expect][verdict];
	// an analysis that failed counts under verdict "error".
	Confusion map[analysis.Verdict]map[analysis.Verdict]int `json:"confusion"`
	Misses    []Miss                                        `json:"misses"`
	// Precision and Recall are for the class "not benign".
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

// Run analyses every sample, one after the other, and scores the verdicts.
// Only a cancelled ctx stops it; a failed analysis is a miss.
func Run(ctx context.Context, an Analyzer, samples []Sample) (*Report, error) {
	r := &Report{Confusion: map[analysis.Verdict]map[analysis.Verdict]int{}, Misses: []Miss{}}
	var tp, fp, fn int
	for _, s := range samples {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		r.Total++
		if r.Confusion[s.Expect] == nil {
			r.Confusion[s.Expect] = map[analysis.Verdict]int{}
		}
		name := s.Ecosystem + "/" + s.Name
		a, err := an.Analyze(ctx, ecosystem.Target{Ecosystem: s.Ecosystem, Path: s.Dir})
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return r, err
			}
			r.Confusion[s.Expect]["error"]++
			r.Misses = append(r.Misses, Miss{Sample: name, Expect: s.Expect, Hits: []string{}, Error: err.Error()})
			if s.Expect != analysis.Benign {
				fn++
			}
			continue
		}
		r.Confusion[s.Expect][a.Verdict]++
		positive, predicted := s.Expect != analysis.Benign, a.Verdict != analysis.Benign
		switch {
		case positive && predicted:
			tp++
		case predicted:
			fp++
		case positive:
			fn++
		}
		if Met(s.Expect, a.Verdict) {
			r.Correct++
			continue
		}
		hits := []string{}
		for _, h := range a.Hits {
			hits = append(hits, h.Rule)
		}
		r.Misses = append(r.Misses, Miss{Sample: name, Expect: s.Expect, Verdict: a.Verdict, Hits: hits})
	}
	r.Precision, r.Recall = ratio(tp, tp+fp), ratio(tp, tp+fn)
	return r, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}
