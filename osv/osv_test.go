package osv

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fumehood/fumehood/analysis"
)

// schema is the OSV JSON schema kept in testdata (see testdata/SOURCE).
func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/osv-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("osv-schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("osv-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixture is the real analysis the API's pages are tested on.
func fixture(t *testing.T) *analysis.Analysis {
	t.Helper()
	b, err := os.ReadFile("../api/testdata/ngx-form-kit.analysis.json")
	if err != nil {
		t.Fatal(err)
	}
	var a analysis.Analysis
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return &a
}

func TestFromAnalysisValid(t *testing.T) {
	s := schema(t)
	mal := fixture(t)
	scoped := *mal
	scoped.Package = analysis.Package{Ecosystem: "npm", Name: "@evil/utils", Version: "2.0.0"}
	scoped.Verdict = analysis.Suspicious
	py := *mal
	py.Package = analysis.Package{Ecosystem: "pypi", Name: "reqeusts", Version: "2.31.0"}
	py.Hits = nil
	updated := time.Date(2026, 12, 7, 3, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		a                    *analysis.Analysis
		summary, purl, ecosy string
	}{
		{mal, "Malicious code in ngx-form-kit (npm)", "pkg:npm/ngx-form-kit", "npm"},
		{&scoped, "Suspicious behaviour in @evil/utils (npm)", "pkg:npm/%40evil/utils", "npm"},
		{&py, "Malicious code in reqeusts (PyPI)", "pkg:pypi/reqeusts", "PyPI"},
	}
	for _, tt := range tests {
		r, err := FromAnalysis(tt.a, updated)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(doc); err != nil {
			t.Errorf("%s: not valid OSV: %v\n%s", tt.a.Package.Name, err, b)
		}
		if r.Summary != tt.summary || r.Affected[0].Package.PURL != tt.purl || r.Affected[0].Package.Ecosystem != tt.ecosy ||
			r.Affected[0].Versions[0] != tt.a.Package.Version || r.ID != "x_fumehood-"+tt.a.ID || r.Modified != "2026-12-07T02:00:00Z" {
			t.Errorf("record %s", b)
		}
		if len(r.DatabaseSpecific.Hits) != len(tt.a.Hits) {
			t.Errorf("%d hits, want %d", len(r.DatabaseSpecific.Hits), len(tt.a.Hits))
		}
		for _, h := range r.DatabaseSpecific.Hits {
			if len(h.Evidence) > maxEvidence || len(h.Evidence) == 0 {
				t.Errorf("hit %s has %d evidence lines", h.Rule, len(h.Evidence))
			}
		}
	}
	// The schema does refuse what it should: the check is not vacuous.
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"id": "fumehood-1", "modified": "yesterday"}`))
	if err := s.Validate(bad); err == nil {
		t.Errorf("the schema accepted a record with a foreign prefix and no timestamp")
	}
}

func TestFromAnalysisBenign(t *testing.T) {
	a := fixture(t)
	for _, v := range []analysis.Verdict{analysis.Benign, ""} {
		a.Verdict = v
		if _, err := FromAnalysis(a, time.Now()); !errors.Is(err, ErrBenign) {
			t.Errorf("verdict %q: err %v, want ErrBenign", v, err)
		}
	}
}
