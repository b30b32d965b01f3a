package analysis

import "testing"

func TestExitCode(t *testing.T) {
	tests := []struct {
		verdict Verdict
		level   CoverageLevel
		want    int
	}{
		{Benign, CoverageFull, 0},
		{Benign, CoveragePartial, 0},
		{Benign, CoverageNone, ExitNoCoverage},
		{Benign, "", 0}, // stored before coverage existed
		{Suspicious, CoverageNone, 1},
		{Malicious, CoverageNone, 2},
		{Malicious, CoverageFull, 2},
	}
	for _, tt := range tests {
		a := &Analysis{Verdict: tt.verdict, Coverage: Coverage{Level: tt.level}}
		if got := a.ExitCode(); got != tt.want {
			t.Errorf("ExitCode(%s, coverage %q) = %d, want %d", tt.verdict, tt.level, got, tt.want)
		}
	}
}
