package evaluate

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
)

// bySpec answers with a verdict per spec, or an error for unknown ones.
type bySpec map[string]analysis.Verdict

func (b bySpec) Analyze(_ context.Context, t ecosystem.Target) (*analysis.Analysis, error) {
	v, ok := b[t.String()]
	if !ok {
		return nil, errors.New("registry unreachable")
	}
	a := &analysis.Analysis{Verdict: v, Coverage: analysis.Coverage{Level: analysis.CoverageFull, InstallOK: true}}
	if v != analysis.Benign {
		a.Hits = []analysis.Hit{{Rule: "some-rule", Severity: analysis.High}}
	}
	return a, nil
}

func TestReadSpecs(t *testing.T) {
	f, err := os.Open("testdata/specs.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ReadSpecs(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"npm:a@1.0.0", "npm:@scope/b@2.0.0", "pypi:c==3.0"}
	if !slices.Equal(got, want) {
		t.Errorf("ReadSpecs = %q, want %q", got, want)
	}
	_, err = ReadSpecs(strings.NewReader("npm:a@1.0.0\nnpm:b@latest\n"))
	if !errors.Is(err, ecosystem.ErrBadSpec) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("ReadSpecs of a range: got %v, want ErrBadSpec naming line 2", err)
	}
}

func TestRunSpecs(t *testing.T) {
	specs := []string{"npm:a@1.0.0", "npm:b@1.0.0", "npm:c@1.0.0", "npm:d@1.0.0", "npm:e@1.0.0"}
	tests := []struct {
		name                    string
		an                      bySpec
		benign, susp, mal, errs int
		fpr, malRate            float64
		allBenign               bool
	}{
		{"all benign", bySpec{"npm:a@1.0.0": "benign", "npm:b@1.0.0": "benign", "npm:c@1.0.0": "benign", "npm:d@1.0.0": "benign", "npm:e@1.0.0": "benign"}, 5, 0, 0, 0, 0, 0, true},
		{"one suspicious one malicious", bySpec{"npm:a@1.0.0": "benign", "npm:b@1.0.0": "suspicious", "npm:c@1.0.0": "malicious", "npm:d@1.0.0": "benign", "npm:e@1.0.0": "benign"}, 3, 1, 1, 0, 0.4, 0.2, false},
		{"suspicious alone fails", bySpec{"npm:a@1.0.0": "benign", "npm:b@1.0.0": "benign", "npm:c@1.0.0": "suspicious", "npm:d@1.0.0": "benign", "npm:e@1.0.0": "benign"}, 4, 1, 0, 0, 0.2, 0, false},
		{"errors are not judged", bySpec{"npm:a@1.0.0": "malicious", "npm:b@1.0.0": "benign"}, 1, 0, 1, 3, 0.5, 0.5, false},
		{"errors alone fail", bySpec{"npm:a@1.0.0": "benign", "npm:b@1.0.0": "benign", "npm:c@1.0.0": "benign", "npm:d@1.0.0": "benign"}, 4, 0, 0, 1, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := RunSpecs(context.Background(), tt.an, specs)
			if err != nil {
				t.Fatal(err)
			}
			got := []int{r.Total, r.Benign, r.Suspicious, r.Malicious, r.Errors}
			if want := []int{5, tt.benign, tt.susp, tt.mal, tt.errs}; !slices.Equal(got, want) {
				t.Errorf("total, benign, suspicious, malicious, errors: got %v, want %v", got, want)
			}
			if r.FalsePositiveRate != tt.fpr || r.MaliciousRate != tt.malRate {
				t.Errorf("rates: got %v %v, want %v %v", r.FalsePositiveRate, r.MaliciousRate, tt.fpr, tt.malRate)
			}
			if got := r.AllBenign(); got != tt.allBenign {
				t.Errorf("AllBenign = %v, want %v", got, tt.allBenign)
			}
			if len(r.Results) != len(specs) {
				t.Fatalf("got %d results, want %d", len(r.Results), len(specs))
			}
			for i, res := range r.Results {
				if res.Spec != specs[i] {
					t.Errorf("result %d: got spec %s, want %s", i, res.Spec, specs[i])
				}
				switch {
				case res.Err != nil && res.Error == "":
					t.Errorf("%s: error without its text", res.Spec)
				case res.Verdict != "" && res.Verdict != analysis.Benign && len(res.Hits) == 0:
					t.Errorf("%s: %s without the hits behind it", res.Spec, res.Verdict)
				case res.Verdict != "" && res.Coverage.Level != analysis.CoverageFull:
					t.Errorf("%s: coverage %+v, want the analysis's", res.Spec, res.Coverage)
				}
			}
		})
	}
}

func TestRunSpecsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := RunSpecs(ctx, bySpec{}, []string{"npm:a@1.0.0"})
	if !errors.Is(err, context.Canceled) || r.Total != 0 {
		t.Errorf("got total %d, %v; want 0, context.Canceled", r.Total, err)
	}
}

// TestBenignList checks the list of real packages that make eval-benign
// analyses: it parses, pins at least 55 distinct npm versions, and says for
// each what its install step does and what to expect offline.
func TestBenignList(t *testing.T) {
	b, err := os.ReadFile("benign.txt")
	if err != nil {
		t.Fatal(err)
	}
	specs, err := ReadSpecs(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) < 55 {
		t.Errorf("benign.txt lists %d specs, want at least 55", len(specs))
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if !strings.HasPrefix(s, "npm:") {
			t.Errorf("%s: want an npm spec", s)
		}
		if seen[s] {
			t.Errorf("%s listed twice", s)
		}
		seen[s] = true
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "npm:") && !strings.Contains(line, "offline: ") {
			t.Errorf("%q: want a comment saying what the install step does and \"offline: ...\"", line)
		}
	}
}
