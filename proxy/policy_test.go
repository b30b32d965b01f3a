package proxy

import (
	"strings"
	"testing"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/store"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	p := Policy{Quarantine: 72 * time.Hour, Rules: "rules-2"}
	seen := &store.Tarball{Digest: "sha256:aa", Integrity: "sha512-aa", FirstSeen: now.Add(-time.Hour)}
	rec := func(id string, status store.Status, v analysis.Verdict, rules, digest string) *store.Record {
		r := &store.Record{Status: status, Source: store.FromRegistry}
		r.ID, r.Verdict, r.Rules, r.Package.Digest = id, v, rules, digest
		r.Coverage.Level = analysis.CoverageFull
		return r
	}
	noCode := rec("nocode", store.Done, analysis.Benign, "rules-2", "sha256:aa")
	noCode.Coverage.Level = analysis.CoverageNone
	fresh, old := now.Add(-time.Hour), now.Add(-100*time.Hour)
	allow := store.Override{ID: "o1", Versions: "^1.0.0", Action: store.Allow, Reason: "vetted", Who: "alice"}
	deny := store.Override{ID: "o2", Versions: "1.1.0", Action: store.Deny, Reason: "typosquat", Who: "bob"}

	tests := []struct {
		name      string
		f         Facts
		overrides []store.Override
		policy    Policy
		want      State
		reason    string // a part of the reason
		analysis  string
		queue     bool
	}{
		{name: "fresh, never analysed", f: Facts{Version: "1.1.0", Published: fresh}, want: Held, reason: "not analysed yet", queue: true},
		{name: "old, never analysed", f: Facts{Version: "1.0.0", Published: old}, want: Admitted, reason: "quarantine window"},
		{name: "fresh, analysed benign", f: Facts{Version: "1.1.0", Published: fresh, Seen: seen, Integrity: "sha512-aa",
			Records: []*store.Record{rec("b", store.Done, analysis.Benign, "rules-2", "sha256:aa")}}, want: Admitted, reason: "analysed benign", analysis: "b"},
		{name: "fresh, benign under old rules", f: Facts{Version: "1.1.0", Published: fresh,
			Records: []*store.Record{rec("b", store.Done, analysis.Benign, "rules-1", "sha256:aa")}}, want: Held, reason: "not analysed yet", queue: true},
		{name: "fresh, benign but no code ran", f: Facts{Version: "1.1.0", Published: fresh, Records: []*store.Record{noCode}},
			want: Held, reason: "none of its code ran", analysis: "nocode"},
		{name: "benign of other bytes", f: Facts{Version: "1.1.0", Published: fresh, Seen: seen, Integrity: "sha512-aa",
			Records: []*store.Record{rec("b", store.Done, analysis.Benign, "rules-2", "sha256:bb")}}, want: Held, queue: true},
		{name: "malicious", f: Facts{Version: "1.1.0", Published: fresh,
			Records: []*store.Record{rec("m", store.Done, analysis.Malicious, "rules-2", "sha256:aa")}}, want: Blocked, reason: "judged malicious", analysis: "m"},
		{name: "malicious and old", f: Facts{Version: "1.1.0", Published: old,
			Records: []*store.Record{rec("m", store.Done, analysis.Malicious, "rules-1", "sha256:aa")}}, want: Blocked, analysis: "m"},
		{name: "re-judged benign under current rules", f: Facts{Version: "1.1.0", Published: fresh, Records: []*store.Record{
			rec("m", store.Done, analysis.Malicious, "rules-1", "sha256:aa"), rec("b", store.Done, analysis.Benign, "rules-2", "sha256:aa")}},
			want: Admitted, analysis: "b"},
		{name: "suspicious held", f: Facts{Version: "1.1.0", Published: fresh,
			Records: []*store.Record{rec("s", store.Done, analysis.Suspicious, "rules-2", "")}}, want: Held, reason: "analysed suspicious", analysis: "s"},
		{name: "suspicious old admitted", f: Facts{Version: "1.1.0", Published: old,
			Records: []*store.Record{rec("s", store.Done, analysis.Suspicious, "rules-2", "")}}, want: Admitted},
		{name: "suspicious blocked by policy", policy: Policy{Quarantine: p.Quarantine, Rules: p.Rules, BlockSuspicious: true},
			f: Facts{Version: "1.1.0", Published: old, Records: []*store.Record{rec("s", store.Done, analysis.Suspicious, "rules-2", "")}}, want: Blocked},
		{name: "analysis queued", f: Facts{Version: "1.1.0", Published: fresh,
			Records: []*store.Record{rec("q", store.Running, "", "rules-2", "")}}, want: Held, reason: "analysis running", analysis: "q"},
		{name: "analysis failed is not retried", f: Facts{Version: "1.1.0", Published: fresh,
			Records: []*store.Record{rec("f", store.Failed, "", "rules-2", "")}}, want: Held, reason: "failed", analysis: "f"},
		{name: "undated", f: Facts{Version: "1.1.0"}, want: Held, reason: "no publication time", queue: true},
		{name: "bytes changed upstream", f: Facts{Version: "1.0.0", Published: old, Seen: seen, Integrity: "sha512-other",
			Records: []*store.Record{rec("b", store.Done, analysis.Benign, "rules-2", "sha256:aa")}}, overrides: []store.Override{allow},
			want: Blocked, reason: "bytes changed"},
		{name: "allow override", f: Facts{Version: "1.1.0", Published: fresh}, overrides: []store.Override{allow}, want: Admitted, reason: "allowed by alice: vetted"},
		{name: "allow override beats a verdict", f: Facts{Version: "1.1.0", Published: fresh,
			Records: []*store.Record{rec("m", store.Done, analysis.Malicious, "rules-2", "")}}, overrides: []store.Override{allow}, want: Admitted},
		{name: "newest override first", f: Facts{Version: "1.1.0", Published: old}, overrides: []store.Override{deny, allow}, want: Blocked, reason: "denied by bob: typosquat"},
		{name: "override of other versions", f: Facts{Version: "2.0.0", Published: fresh}, overrides: []store.Override{allow, deny}, want: Held, queue: true},
		{name: "range leaves prereleases out", f: Facts{Version: "1.2.0-rc.1", Published: fresh}, overrides: []store.Override{allow}, want: Held, queue: true},
		{name: "pypi override by PEP 440 equality", f: Facts{Version: "1.1", Published: fresh},
			overrides: []store.Override{{Ecosystem: "pypi", Versions: "1.1.0", Action: store.Deny, Reason: "typosquat", Who: "bob"}}, want: Blocked, reason: "denied by bob"},
		{name: "pypi override of another version", f: Facts{Version: "1.1.1", Published: fresh},
			overrides: []store.Override{{Ecosystem: "pypi", Versions: "1.1.0", Action: store.Allow, Reason: "vetted", Who: "bob"}}, want: Held, queue: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := p
			if tt.policy.Rules != "" {
				pol = tt.policy
			}
			d := pol.Decide(tt.f, tt.overrides, now)
			if d.State != tt.want || !strings.Contains(d.Reason, tt.reason) || d.Queue != tt.queue {
				t.Errorf("Decide = %s %q queue %v; want %s %q queue %v", d.State, d.Reason, d.Queue, tt.want, tt.reason, tt.queue)
			}
			got := ""
			if d.Analysis != nil {
				got = d.Analysis.ID
			}
			if tt.analysis != "" && got != tt.analysis {
				t.Errorf("Decide rests on analysis %q, want %q", got, tt.analysis)
			}
			if d.State == Held && !tt.f.Published.IsZero() && !d.DecidedBy.Equal(tt.f.Published.Add(pol.Quarantine)) {
				t.Errorf("DecidedBy = %v, want the end of the window %v", d.DecidedBy, tt.f.Published.Add(pol.Quarantine))
			}
		})
	}
}

func TestValidateOverride(t *testing.T) {
	ok := store.Override{Ecosystem: "npm", Name: "@scope/pkg", Versions: ">=1.2.0 <2", Action: store.Allow, Reason: "vetted", Who: "alice"}
	tests := []struct {
		name   string
		mod    func(*store.Override)
		wantOK bool
	}{
		{"valid range", func(*store.Override) {}, true},
		{"every version", func(o *store.Override) { o.Versions = "" }, true},
		{"one version", func(o *store.Override) { o.Versions = "1.2.3" }, true},
		{"bad range", func(o *store.Override) { o.Versions = "one point two" }, false},
		{"bad action", func(o *store.Override) { o.Action = "quarantine" }, false},
		{"bad name", func(o *store.Override) { o.Name = "../etc" }, false},
		{"pypi range", func(o *store.Override) { o.Ecosystem, o.Name = "pypi", "Tiny_Pkg" }, false},
		{"pypi version", func(o *store.Override) { o.Ecosystem, o.Name, o.Versions = "pypi", "Tiny_Pkg", "1.0.post1" }, true},
		{"pypi every version", func(o *store.Override) { o.Ecosystem, o.Name, o.Versions = "pypi", "tiny-pkg", "" }, true},
		{"pypi bad name", func(o *store.Override) { o.Ecosystem, o.Name, o.Versions = "pypi", "-bad", "" }, false},
		{"cargo", func(o *store.Override) { o.Ecosystem, o.Versions = "cargo", "" }, false},
		{"no reason", func(o *store.Override) { o.Reason = " " }, false},
		{"no who", func(o *store.Override) { o.Who = "" }, false},
	}
	for _, tt := range tests {
		o := ok
		tt.mod(&o)
		if err := ValidateOverride(o); (err == nil) != tt.wantOK {
			t.Errorf("%s: ValidateOverride = %v, want ok %v", tt.name, err, tt.wantOK)
		}
	}
}
