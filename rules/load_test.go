package rules

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

const okRule = `
rules:
  - id: r1
    description: d
    severity: low
    rationale: r
    kinds: [open]
    match: path == "/x"
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{"bad yaml", map[string]string{"a.yaml": "rules: [\n  - id: x"}, []string{"a.yaml"}},
		{"unknown field", map[string]string{"a.yaml": strings.Replace(okRule, "rationale: r", "rationale: r\n    sevrity: high", 1)}, []string{"a.yaml", "sevrity"}},
		{"bad expression", map[string]string{"a.yaml": strings.Replace(okRule, `path == "/x"`, `path ==`, 1)}, []string{"a.yaml", `rule "r1"`, "expression"}},
		{"type error", map[string]string{"a.yaml": strings.Replace(okRule, `path == "/x"`, `port + "x"`, 1)}, []string{`rule "r1"`, "expression"}},
		{"unknown name", map[string]string{"a.yaml": strings.Replace(okRule, `path == "/x"`, `nosuchfield == 1`, 1)}, []string{`rule "r1"`, "nosuchfield"}},
		{"duplicate id", map[string]string{"a.yaml": okRule, "b.yaml": okRule}, []string{"b.yaml", `rule "r1"`, "duplicate id", "a.yaml"}},
		{"bad severity", map[string]string{"a.yaml": strings.Replace(okRule, "severity: low", "severity: severe", 1)}, []string{`rule "r1"`, "severity"}},
		{"unknown kind", map[string]string{"a.yaml": strings.Replace(okRule, "[open]", "[opne]", 1)}, []string{`rule "r1"`, "opne"}},
		{"no kinds", map[string]string{"a.yaml": strings.Replace(okRule, "    kinds: [open]\n", "", 1)}, []string{`rule "r1"`, "kinds"}},
		{"two forms", map[string]string{"a.yaml": okRule + "    count: {kinds: [open], match: 'true', min: 2}\n"}, []string{`rule "r1"`, "exactly one"}},
		{"bad scope", map[string]string{"a.yaml": `
rules:
  - id: s1
    description: d
    severity: low
    rationale: r
    sequence:
      within: galaxy
      steps:
        - {kinds: [open], match: "true"}
        - {kinds: [open], match: "true"}
`}, []string{`rule "s1"`, "galaxy"}},
		{"count min", map[string]string{"a.yaml": `
rules:
  - id: c1
    description: d
    severity: low
    rationale: r
    count: {kinds: [dns], match: "true", distinct: "port", min: 2}
`}, []string{`rule "c1"`, "distinct"}},
		{"no rules", map[string]string{"README.md": "x"}, []string{"no rules"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, body := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(body)}
			}
			_, err := Load(fsys)
			if err == nil {
				t.Fatal("Load() succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Load() error %q does not wrap ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load() error %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadVersionAndMissingFixtures(t *testing.T) {
	fsys := withRoles(fstest.MapFS{"net/a.yaml": {Data: []byte(okRule)}})
	s, err := Load(fsys)
	if err != nil {
		t.Fatalf("Load() error: %v", err)
	}
	if got, want := len(s.Rules()), 1; got != want {
		t.Fatalf("len(Rules()) = %d, want %d", got, want)
	}
	r := s.Rules()[0]
	if r.ID != "r1" || r.File != "net/a.yaml" || r.Severity != "low" {
		t.Errorf("Rules()[0] = %+v, want id r1 from net/a.yaml with severity low", r)
	}
	changed, err := Load(withRoles(fstest.MapFS{"net/a.yaml": {Data: []byte(okRule + "\n")}}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Version() == changed.Version() {
		t.Errorf("Version() did not change with the rule file: %s", s.Version())
	}
	again, _ := Load(fsys)
	if s.Version() != again.Version() {
		t.Errorf("Version() not stable: %s then %s", s.Version(), again.Version())
	}
	results := s.Test()
	if got, want := len(results), 2; got != want {
		t.Fatalf("Test() = %d results, want %d", got, want)
	}
	for _, r := range results {
		if !errors.Is(r.Err, ErrNoFixture) {
			t.Errorf("Test() result %+v: err = %v, want ErrNoFixture", r, r.Err)
		}
	}
}

func TestFixturesFromLoadedFS(t *testing.T) {
	fsys := fstest.MapFS{
		"a.yaml":                     {Data: []byte(okRule)},
		"fixtures/r1/hit.jsonl":      {Data: []byte(`{"seq":1,"kind":"open","tgid":5,"path":"/x"}` + "\n")},
		"fixtures/r1/miss.jsonl":     {Data: []byte(`{"seq":1,"kind":"open","tgid":5,"path":"/y"}` + "\n")},
		"fixtures/r1/miss-bad.jsonl": {Data: []byte("{not json\n")},
	}
	s, err := Load(withRoles(fsys))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]FixtureResult{}
	for _, r := range s.Test() {
		got[r.Fixture] = r
	}
	if r := got["fixtures/r1/hit.jsonl"]; !r.OK() || !r.Want {
		t.Errorf("hit fixture = %+v, want a passing hit", r)
	}
	if r := got["fixtures/r1/miss.jsonl"]; !r.OK() || r.Want {
		t.Errorf("miss fixture = %+v, want a passing miss", r)
	}
	if r := got["fixtures/r1/miss-bad.jsonl"]; r.Err == nil {
		t.Errorf("broken fixture = %+v, want an error", r)
	}
}
