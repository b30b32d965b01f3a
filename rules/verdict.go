package rules

import "github.com/fumehood/fumehood/analysis"

// Severity weights that make up the score.
var weights = map[analysis.Severity]int{
	analysis.Info: 0, analysis.Low: 5, analysis.Medium: 20, analysis.High: 40, analysis.Critical: 70,
}

func rank(s analysis.Severity) int {
	switch s {
	case analysis.Low:
		return 1
	case analysis.Medium:
		return 2
	case analysis.High:
		return 3
	case analysis.Critical:
		return 4
	}
	return 0
}

// Verdict is the documented function from hits to a verdict and a score.
// egress names the rules whose hits are network attempts; lost is the
// number of events the trace lost that could have been evidence
// (trace.Trace.LostEvidence).
//
//   - malicious: any critical hit; or a high hit together with a hit of an
//     egress rule other than itself; or high hits of two different rules.
//   - suspicious: otherwise any high or medium hit, or any lost event (an
//     incomplete trace is never benign).
//   - benign: only info and low hits, and no lost events.
//
// The score is the sum of the hits' severity weights (info 0, low 5,
// medium 20, high 40, critical 70) clamped into the verdict's band:
// benign 0-29, suspicious 30-69, malicious 70-100.
func Verdict(hits []analysis.Hit, egress map[string]bool, lost uint64) (analysis.Verdict, int) {
	raw, highs := 0, 0
	critical, egressHit := false, false
	var highRule string
	suspicious := lost > 0
	for _, h := range hits {
		raw += weights[h.Severity]
		switch h.Severity {
		case analysis.Critical:
			critical = true
		case analysis.High:
			highs++
			highRule = h.Rule
			suspicious = true
		case analysis.Medium:
			suspicious = true
		}
	}
	for _, h := range hits {
		if egress[h.Rule] && (highs > 1 || h.Rule != highRule) {
			egressHit = true
		}
	}
	switch {
	case critical || highs >= 2 || highs == 1 && egressHit:
		return analysis.Malicious, min(max(raw, 70), 100)
	case suspicious:
		return analysis.Suspicious, min(max(raw, 30), 69)
	default:
		return analysis.Benign, min(raw, 29)
	}
}
