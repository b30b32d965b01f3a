package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fumehood/fumehood/proxy"
	"github.com/fumehood/fumehood/store"
)

func TestPolicy(t *testing.T) {
	var fw store.Firewall
	h := newHarness(t, func(c *Config) {
		fw = c.Store.(store.Firewall)
		c.Firewall = proxy.Admin{Firewall: fw}
	})
	tests := []struct {
		name string
		role store.Role
		body string
		want int
	}{
		{"admin allows a range", store.RoleAdmin, `{"name":"@acme/widget","versions":"^1.2.0","action":"allow","reason":"vetted"}`, 201},
		{"admin denies a package", store.RoleAdmin, `{"name":"left-pad","action":"deny","reason":"typosquat"}`, 201},
		{"submit may not", store.RoleSubmit, `{"name":"x","action":"allow","reason":"r"}`, 403},
		{"no token", "", `{"name":"x","action":"allow","reason":"r"}`, 401},
		{"bad range", store.RoleAdmin, `{"name":"x","versions":"one","action":"allow","reason":"r"}`, 400},
		{"bad action", store.RoleAdmin, `{"name":"x","action":"ignore","reason":"r"}`, 400},
		{"no reason", store.RoleAdmin, `{"name":"x","action":"deny"}`, 400},
		{"bad name", store.RoleAdmin, `{"name":"../x","action":"deny","reason":"r"}`, 400},
		{"who is not the caller's to say", store.RoleAdmin, `{"name":"x","action":"deny","reason":"r","who":"someone"}`, 400},
	}
	for _, tt := range tests {
		var got store.Override
		resp := h.json(tt.role, "POST", "/v1/policy", tt.body, &got)
		if resp.StatusCode != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, resp.StatusCode, tt.want)
			continue
		}
		if tt.want == 201 && (got.ID == "" || got.Who != "test-admin" || got.Ecosystem != "npm") {
			t.Errorf("%s: stored %+v, want an id, who test-admin, npm", tt.name, got)
		}
	}
	var pr PolicyResponse
	if resp := h.json(store.RoleRead, "GET", "/v1/policy?name=@acme/widget", "", &pr); resp.StatusCode != 200 ||
		len(pr.Overrides) != 1 || pr.Overrides[0].Versions != "^1.2.0" || pr.Overrides[0].Reason != "vetted" {
		t.Fatalf("GET /v1/policy: %d %+v", resp.StatusCode, pr)
	}
	id := pr.Overrides[0].ID
	if resp := h.json(store.RoleAdmin, "DELETE", "/v1/policy/"+id, "", nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE: %d", resp.StatusCode)
	}
	if resp := h.json(store.RoleAdmin, "DELETE", "/v1/policy/"+id, "", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", resp.StatusCode)
	}
	pr = PolicyResponse{}
	h.json(store.RoleRead, "GET", "/v1/policy", "", &pr)
	if len(pr.Overrides) != 1 || pr.Overrides[0].Name != "left-pad" {
		t.Errorf("overrides left: %+v", pr.Overrides)
	}

	if err := fw.AppendAudit(context.Background(), []store.AuditEntry{
		{At: time.Now().Add(-48 * time.Hour), Who: "10.0.0.1", Ecosystem: "npm", Name: "x", Version: "1.0.0", Request: "tarball", State: "admitted"},
		{Who: "10.0.0.1", Ecosystem: "npm", Name: "x", Version: "1.1.0", Request: "tarball", State: "blocked", Reason: "judged malicious"},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		query string
		want  int // entries; -1 for a 400
	}{
		{"", 2}, {"?state=blocked", 1}, {"?since=24h", 1}, {"?name=y", 0}, {"?limit=1", 1},
		{"?state=odd", -1}, {"?limit=0", -1}, {"?since=yesterday", -1}, {"?verdict=x", -1},
	} {
		var ar AuditResponse
		resp := h.json(store.RoleRead, "GET", "/v1/audit"+tt.query, "", &ar)
		switch {
		case tt.want < 0 && resp.StatusCode != 400:
			t.Errorf("GET /v1/audit%s: %d, want 400", tt.query, resp.StatusCode)
		case tt.want >= 0 && (resp.StatusCode != 200 || len(ar.Entries) != tt.want):
			t.Errorf("GET /v1/audit%s: %d, %d entries; want %d", tt.query, resp.StatusCode, len(ar.Entries), tt.want)
		}
	}
}

// Without a firewall the policy endpoints do not exist.
func TestPolicyWithoutFirewall(t *testing.T) {
	h := newHarness(t)
	if resp := h.json(store.RoleAdmin, "POST", "/v1/policy", `{}`, nil); resp.StatusCode != 404 {
		t.Errorf("POST /v1/policy without a firewall: %d, want 404", resp.StatusCode)
	}
	resp, _ := h.page(store.RoleRead, "/firewall")
	if resp.StatusCode != 404 {
		t.Errorf("/firewall without a firewall: %d, want 404", resp.StatusCode)
	}
	if _, body := h.page(store.RoleRead, "/analyses"); strings.Contains(body, `href="/firewall"`) {
		t.Error("the navigation leads to a firewall the farm does not serve")
	}
}

// TestFirewallPage shows an analyst the overrides and the audit log, the
// names and reasons (which clients and registries control) escaped, and
// filters them as GET /v1/audit does.
func TestFirewallPage(t *testing.T) {
	var fw store.Firewall
	h := newHarness(t, func(c *Config) {
		fw = c.Store.(store.Firewall)
		c.Firewall = proxy.Admin{Firewall: fw}
	})
	ctx := context.Background()
	for _, o := range []store.Override{
		{Ecosystem: "npm", Name: "@acme/widget", Versions: "^1.2.0", Action: "allow", Reason: "vetted <b>by</b> sec"},
		{Ecosystem: "pypi", Name: "requests-toolbelt", Action: "deny", Reason: "typosquat\x1b[2J"},
	} {
		if err := fw.AddOverride(ctx, &o); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.AppendAudit(ctx, []store.AuditEntry{
		{At: time.Now().Add(-48 * time.Hour), Who: "10.0.0.1", Ecosystem: "npm", Name: "left-pad", Version: "1.3.0", Request: "tarball", State: "admitted"},
		{Who: "10.0.0.2", Ecosystem: "npm", Name: "evil-pkg", Version: "<img src=x onerror=alert(1)>", Request: "tarball", State: "blocked",
			Reason: "judged malicious", Analysis: "a-1"},
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query      string
		want, lack []string
	}{
		{"", []string{`href="/firewall"`, "npm:@acme/widget", "<code>^1.2.0</code>", "vetted &lt;b&gt;by&lt;/b&gt; sec",
			"pypi:requests-toolbelt", `typosquat<span class="ctl">\e</span>[2J`, "every version", `<span class="state blocked">blocked</span>`,
			`href="/analyses/a-1"`, "&lt;img src=x onerror=alert(1)&gt;", "npm:left-pad"}, nil},
		{"?state=blocked", []string{"npm:evil-pkg"}, []string{"npm:left-pad"}},
		{"?since=24h", []string{"npm:evil-pkg"}, []string{"npm:left-pad"}},
		{"?ecosystem=pypi", []string{"pypi:requests-toolbelt", "No decisions match."}, []string{"npm:@acme/widget", "npm:evil-pkg"}},
		{"?name=left-pad", []string{"npm:left-pad", "No overrides match."}, []string{"npm:evil-pkg", "@acme/widget"}},
	}
	for _, tt := range tests {
		resp, body := h.page(store.RoleRead, "/firewall"+tt.query)
		if resp.StatusCode != 200 {
			t.Errorf("/firewall%s: %d, want 200", tt.query, resp.StatusCode)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("/firewall%s lacks %q", tt.query, w)
			}
		}
		for _, l := range tt.lack {
			if strings.Contains(body, l) {
				t.Errorf("/firewall%s shows %q", tt.query, l)
			}
		}
		if n := strings.Count(body, `<tr id="o-`); n > 2 {
			t.Errorf("/firewall%s lists %d overrides, want at most the 2 stored", tt.query, n)
		}
		checkHTML(t, "/firewall"+tt.query, body)
		if strings.ContainsAny(body, "\x1b") || strings.Contains(body, "<img") {
			t.Errorf("/firewall%s holds hostile text raw", tt.query)
		}
	}
	for _, q := range []string{"?state=odd", "?limit=0", "?verdict=x"} {
		if resp, _ := h.page(store.RoleRead, "/firewall"+q); resp.StatusCode != 400 {
			t.Errorf("/firewall%s: %d, want 400", q, resp.StatusCode)
		}
	}
}
