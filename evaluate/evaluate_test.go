package evaluate

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
)

func TestMet(t *testing.T) {
	tests := []struct {
		expect, verdict analysis.Verdict
		want            bool
	}{
		{analysis.Suspicious, analysis.Malicious, true},
		{analysis.Suspicious, analysis.Suspicious, true},
		{analysis.Suspicious, analysis.Benign, false},
		{analysis.Malicious, analysis.Suspicious, false},
		{analysis.Malicious, analysis.Malicious, true},
		{analysis.Benign, analysis.Suspicious, false},
		{analysis.Benign, analysis.Benign, true},
	}
	for _, tt := range tests {
		if got := Met(tt.expect, tt.verdict); got != tt.want {
			t.Errorf("Met(%s, %s) = %v, want %v", tt.expect, tt.verdict, got, tt.want)
		}
	}
}

// fixed answers with a verdict per sample directory name, or an error.
type fixed map[string]analysis.Verdict

func (f fixed) Analyze(_ context.Context, t ecosystem.Target) (*analysis.Analysis, error) {
	v, ok := f[filepath.Base(t.Path)]
	if !ok {
		return nil, errors.New("sandbox failed")
	}
	return &analysis.Analysis{Verdict: v, Hits: []analysis.Hit{{Rule: "some-rule"}}}, nil
}

func TestRun(t *testing.T) {
	samples, err := Load("testdata/corpus")
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 2 || samples[0].Name != "a" || samples[1].Ecosystem != "pypi" {
		t.Fatalf("Load = %+v", samples)
	}
	tests := []struct {
		name          string
		an            fixed
		correct       int
		misses        int
		precision, re float64
	}{
		{"all right", fixed{"a": analysis.Malicious, "b": analysis.Benign}, 2, 0, 1, 1},
		{"false positive", fixed{"a": analysis.Malicious, "b": analysis.Suspicious}, 1, 1, 0.5, 1},
		{"miss", fixed{"a": analysis.Benign, "b": analysis.Benign}, 1, 1, 1, 0},
		{"weaker verdict", fixed{"a": analysis.Suspicious, "b": analysis.Benign}, 1, 1, 1, 1},
		{"error", fixed{"b": analysis.Benign}, 1, 1, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Run(context.Background(), tt.an, samples)
			if err != nil {
				t.Fatal(err)
			}
			if r.Total != 2 || r.Correct != tt.correct || len(r.Misses) != tt.misses {
				t.Errorf("total %d correct %d misses %d, want 2 %d %d", r.Total, r.Correct, len(r.Misses), tt.correct, tt.misses)
			}
			if r.Precision != tt.precision || r.Recall != tt.re {
				t.Errorf("precision %v recall %v, want %v %v", r.Precision, r.Recall, tt.precision, tt.re)
			}
			for _, m := range r.Misses {
				if m.Error == "" && len(m.Hits) == 0 {
					t.Errorf("miss %+v without the rules that fired", m)
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("empty corpus loaded without error")
	}
}
