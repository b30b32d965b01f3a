// Package osv exports a malicious or suspicious analysis as an OSV record
// (https://ossf.github.io/osv-schema/), in the form the OpenSSF
// malicious-packages database uses: a summary naming the package, details
// saying what it did, the affected package and version, the rules and
// their evidence under database_specific, modified and published times.
//
// The id uses the schema's private prefix, "x_fumehood-" and the analysis
// id: MAL- ids are the database's to assign when it imports a report. A
// benign analysis has no record (ErrBenign). It imports only analysis.
package osv

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/fumehood/fumehood/analysis"
)

// SchemaVersion is the OSV schema version the records follow.
const SchemaVersion = "1.7.5"

// IDPrefix starts the id of every record.
const IDPrefix = "x_fumehood-"

// ErrBenign is the error of an analysis that has nothing to report.
var ErrBenign = errors.New("benign analyses have no OSV record")

// maxEvidence bounds the evidence lines per rule in a record.
const maxEvidence = 5

// Record is an OSV record.
type Record struct {
	SchemaVersion    string     `json:"schema_version"`
	ID               string     `json:"id"`
	Modified         string     `json:"modified"`
	Published        string     `json:"published"`
	Summary          string     `json:"summary"`
	Details          string     `json:"details"`
	Affected         []Affected `json:"affected"`
	DatabaseSpecific Specific   `json:"database_specific"`
}

// Affected names the package and its analysed version.
type Affected struct {
	Package  Package  `json:"package"`
	Versions []string `json:"versions"`
}

// Package is an OSV package.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	PURL      string `json:"purl,omitempty"`
}

// Specific is the record's database_specific: what fumehood saw.
type Specific struct {
	Analysis string           `json:"fumehood_analysis"`
	Verdict  analysis.Verdict `json:"verdict"`
	Score    int              `json:"score"`
	Rules    string           `json:"rules_version"`
	Coverage string           `json:"coverage,omitempty"`
	Digest   string           `json:"artifact_digest,omitempty"`
	Hits     []Hit            `json:"hits"`
}

// Hit is a rule hit with the head of its evidence.
type Hit struct {
	Rule      string   `json:"rule"`
	Severity  string   `json:"severity"`
	Technique string   `json:"technique,omitempty"`
	Summary   string   `json:"summary"`
	Evidence  []string `json:"evidence"`
	Events    []uint64 `json:"events,omitempty"`
}

// FromAnalysis makes the record of a finished analysis, modified at
// updated; ErrBenign when its verdict is benign (or it has none).
func FromAnalysis(a *analysis.Analysis, updated time.Time) (*Record, error) {
	if a.Verdict != analysis.Malicious && a.Verdict != analysis.Suspicious {
		return nil, fmt.Errorf("analysis %s: %w", a.ID, ErrBenign)
	}
	eco := ecosystemName(a.Package.Ecosystem)
	what := "Malicious code in"
	if a.Verdict == analysis.Suspicious {
		what = "Suspicious behaviour in"
	}
	published := a.Finished
	if published.IsZero() {
		published = updated
	}
	r := &Record{
		SchemaVersion: SchemaVersion,
		ID:            IDPrefix + a.ID,
		Modified:      stamp(updated),
		Published:     stamp(published),
		Summary:       fmt.Sprintf("%s %s (%s)", what, a.Package.Name, eco),
		Affected: []Affected{{
			Package:  Package{Ecosystem: eco, Name: a.Package.Name, PURL: purl(a.Package.Ecosystem, a.Package.Name)},
			Versions: []string{a.Package.Version},
		}},
		DatabaseSpecific: Specific{Analysis: a.ID, Verdict: a.Verdict, Score: a.Score, Rules: a.Rules,
			Coverage: string(a.Coverage.Level), Digest: a.Package.Digest, Hits: []Hit{}},
	}
	var d strings.Builder
	fmt.Fprintf(&d, "fumehood installed and imported %s %s in a sandbox and judged it %s (score %d, rules %s).",
		a.Package.Name, a.Package.Version, a.Verdict, a.Score, a.Rules)
	if len(a.Hits) > 0 {
		d.WriteString(" What it did:\n")
	}
	for _, h := range a.Hits {
		fmt.Fprintf(&d, "\n- %s (%s): %s", h.Rule, h.Severity, h.Summary)
		hit := Hit{Rule: h.Rule, Severity: string(h.Severity), Technique: h.Technique, Summary: h.Summary,
			Evidence: h.Evidence[:min(len(h.Evidence), maxEvidence)], Events: h.Events[:min(len(h.Events), maxEvidence)]}
		if hit.Evidence == nil {
			hit.Evidence = []string{}
		}
		r.DatabaseSpecific.Hits = append(r.DatabaseSpecific.Hits, hit)
	}
	r.Details = d.String()
	return r, nil
}

// stamp renders t as the schema's timestamp: RFC 3339, UTC, "Z".
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ecosystemName is OSV's name of one of fumehood's ecosystems.
func ecosystemName(eco string) string {
	if eco == "pypi" {
		return "PyPI"
	}
	return eco
}

// purl is the package URL of a package, without a version.
func purl(eco, name string) string {
	switch eco {
	case "npm":
		if scope, rest, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
			return "pkg:npm/%40" + url.PathEscape(scope[1:]) + "/" + url.PathEscape(rest)
		}
		return "pkg:npm/" + url.PathEscape(name)
	case "pypi":
		return "pkg:pypi/" + url.PathEscape(name)
	}
	return ""
}
