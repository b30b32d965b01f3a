package rules

import (
	"testing"

	"github.com/fumehood/fumehood/analysis"
)

func TestVerdict(t *testing.T) {
	hit := func(rule string, sev analysis.Severity) analysis.Hit {
		return analysis.Hit{Rule: rule, Severity: sev}
	}
	egress := map[string]bool{"net": true, "net-high": true}
	tests := []struct {
		name      string
		hits      []analysis.Hit
		lost      uint64
		want      analysis.Verdict
		wantScore int
	}{
		{"nothing", nil, 0, analysis.Benign, 0},
		{"info and low only", []analysis.Hit{hit("a", analysis.Info), hit("net", analysis.Low)}, 0, analysis.Benign, 5},
		{"many lows stay benign, score capped", []analysis.Hit{hit("a", analysis.Low), hit("b", analysis.Low), hit("c", analysis.Low), hit("d", analysis.Low), hit("e", analysis.Low), hit("f", analysis.Low), hit("g", analysis.Low)}, 0, analysis.Benign, 29},
		{"lost events are never benign", nil, 3, analysis.Suspicious, 30},
		{"medium", []analysis.Hit{hit("a", analysis.Medium)}, 0, analysis.Suspicious, 30},
		{"one high alone", []analysis.Hit{hit("a", analysis.High)}, 0, analysis.Suspicious, 40},
		{"high with egress", []analysis.Hit{hit("a", analysis.High), hit("net", analysis.Low)}, 0, analysis.Malicious, 70},
		{"high egress rule alone is not paired with itself", []analysis.Hit{hit("net-high", analysis.High)}, 0, analysis.Suspicious, 40},
		{"high egress rule with another egress", []analysis.Hit{hit("net-high", analysis.High), hit("net", analysis.Low)}, 0, analysis.Malicious, 70},
		{"two highs", []analysis.Hit{hit("a", analysis.High), hit("b", analysis.High)}, 0, analysis.Malicious, 80},
		{"critical", []analysis.Hit{hit("a", analysis.Critical)}, 0, analysis.Malicious, 70},
		{"score capped at 100", []analysis.Hit{hit("a", analysis.Critical), hit("b", analysis.Critical)}, 0, analysis.Malicious, 100},
		{"medium and lost", []analysis.Hit{hit("a", analysis.Medium), hit("b", analysis.Medium), hit("c", analysis.Medium), hit("d", analysis.Medium)}, 1, analysis.Suspicious, 69},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, score := Verdict(tt.hits, egress, tt.lost)
			if got != tt.want || score != tt.wantScore {
				t.Errorf("Verdict() = %s, %d; want %s, %d", got, score, tt.want, tt.wantScore)
			}
		})
	}
}
