package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testRules = "rules-test"

type harness struct {
	t    *testing.T
	up   *upstreamRegistry
	st   store.Store
	farm *fakeFarm
	px   *Server
	srv  *httptest.Server
}

// firewall is a Server or a PyPIServer.
type firewall interface {
	http.Handler
	Close() error
}

// startFirewall makes a firewall with newFW over upstream, on a fresh
// store with a fakeFarm (judging PyPI records when pypi), and serves it
// until the test ends.
func startFirewall[F firewall](t *testing.T, upstream string, pypi bool, mod func(*Config), newFW func(Config) (F, error)) (store.Store, *fakeFarm, F, *httptest.Server) {
	t.Helper()
	st, blobs, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	farm := &fakeFarm{st: st, rules: testRules, pypi: pypi}
	cfg := Config{
		Upstream: upstream, Policy: Policy{Quarantine: 72 * time.Hour, Rules: testRules},
		Store: st.(store.Firewall), Blobs: blobs, Scheduler: farm, AnalysisURL: "http://farm.test",
		PackumentTTL: -1, Changes: &Changes{},
	}
	if mod != nil {
		mod(&cfg)
	}
	px, err := newFW(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(px)
	t.Cleanup(func() {
		srv.Close()
		px.Close()
		st.Close()
	})
	return st, farm, px, srv
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, up: newUpstream(t)}
	h.st, h.farm, h.px, h.srv = startFirewall(t, h.up.srv.URL, false, mod, New)
	return h
}

// get requests path with headers (name, value pairs) and returns the
// status and body.
func (h *harness) get(path string, headers ...string) (*http.Response, []byte) {
	h.t.Helper()
	return get(h.t, h.srv.URL+path, headers...)
}

// get requests u with headers (name, value pairs), not following
// redirects, and returns the response and its body.
func get(t *testing.T, u string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

type servedPackument struct {
	Name     string            `json:"name"`
	DistTags map[string]string `json:"dist-tags"`
	Time     map[string]string `json:"time"`
	Versions map[string]struct {
		Version          string `json:"version"`
		Readme           string `json:"readme"`
		Description      string `json:"description"`
		HasInstallScript bool   `json:"hasInstallScript"`
		Dist             struct {
			Tarball   string `json:"tarball"`
			Integrity string `json:"integrity"`
		} `json:"dist"`
	} `json:"versions"`
}

func (h *harness) packument(name string, abbreviated bool) servedPackument {
	h.t.Helper()
	accept := "application/json"
	if abbreviated {
		accept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
	}
	resp, b := h.get("/"+escape(name), "Accept", accept)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("packument %s: %d %s", name, resp.StatusCode, b)
	}
	var p servedPackument
	if err := json.Unmarshal(b, &p); err != nil {
		h.t.Fatalf("packument %s: %v", name, err)
	}
	return p
}

func versionsOf(p servedPackument) []string {
	var vs []string
	for v := range p.Versions {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// TestFirewall walks one package through the policy over HTTP: an old
// version admitted, a fresh one hidden and queued, refused while held,
// blocked once judged malicious, a third admitted once judged benign;
// bytes changed upstream refused; an override admitting a held version.
func TestFirewall(t *testing.T) {
	h := newHarness(t, nil)
	now := time.Now()
	old := tarball(t, "@acme/widget", "1.0.0", map[string][]byte{"index.js": []byte("module.exports = 1\n")})
	evil := tarball(t, "@acme/widget", "1.1.0", map[string][]byte{"index.js": []byte("module.exports = 2\n")})
	fine := tarball(t, "@acme/widget", "1.2.0", map[string][]byte{"index.js": []byte("module.exports = 3\n")})
	h.up.publish("@acme/widget", "1.0.0", old, now.Add(-30*24*time.Hour))
	h.up.publish("@acme/widget", "1.1.0", evil, now.Add(-time.Hour))
	h.up.mu.Lock()
	h.up.pkgs["@acme/widget"]["1.1.0"].scripts = map[string]string{"postinstall": "node x.js"}
	h.up.mu.Unlock()

	// Only the old version is listed; latest points at it; the tarball
	// URL is the firewall's; the fresh one is queued with its bytes.
	for _, abbreviated := range []bool{false, true} {
		p := h.packument("@acme/widget", abbreviated)
		if got := versionsOf(p); !slices.Equal(got, []string{"1.0.0"}) {
			t.Errorf("abbreviated %v: versions %v, want [1.0.0]", abbreviated, got)
		}
		if p.DistTags["latest"] != "1.0.0" {
			t.Errorf("abbreviated %v: dist-tags %v, want latest 1.0.0", abbreviated, p.DistTags)
		}
		if want := h.srv.URL + "/@acme/widget/-/acme-widget-1.0.0.tgz"; p.Versions["1.0.0"].Dist.Tarball != want {
			t.Errorf("abbreviated %v: tarball %q, want %q", abbreviated, p.Versions["1.0.0"].Dist.Tarball, want)
		}
		if _, dated := p.Time["1.1.0"]; dated {
			t.Errorf("abbreviated %v: time names the held version: %v", abbreviated, p.Time)
		}
		if got := p.Versions["1.0.0"].Description; (got == "") != abbreviated {
			t.Errorf("abbreviated %v: description %q", abbreviated, got)
		}
	}
	testenv.WaitFor(t, time.Minute, "the held version queued", func() bool { return len(h.farm.submissions()) == 1 })
	sub := h.farm.submissions()[0]
	if sub.Spec != "npm:@acme/widget@1.1.0" || sub.Queue != "interactive" || sub.Fetched != sha256Digest(evil) {
		t.Errorf("submission = %+v, want 1.1.0's bytes on the interactive queue", sub)
	}

	// Held: refused with its state and when it is decided.
	resp, b := h.get("/@acme/widget/-/acme-widget-1.1.0.tgz")
	var ref refusal
	json.Unmarshal(b, &ref)
	if resp.StatusCode != http.StatusForbidden || ref.State != Held || ref.DecidedBy == nil || !strings.Contains(ref.Error, "held") {
		t.Errorf("held tarball: %d %s", resp.StatusCode, b)
	}
	// Judged malicious: blocked, naming verdict, rules and analysis.
	rec := h.farm.judge(t, "@acme/widget", "1.1.0", analysis.Malicious, "cred-ssh-key")
	resp, b = h.get("/@acme/widget/-/acme-widget-1.1.0.tgz")
	ref = refusal{}
	json.Unmarshal(b, &ref)
	if resp.StatusCode != http.StatusForbidden || ref.State != Blocked || ref.Verdict != analysis.Malicious ||
		!slices.Equal(ref.Rules, []string{"cred-ssh-key"}) || ref.Analysis != "http://farm.test/v1/analyses/"+rec.ID {
		t.Errorf("blocked tarball: %d %s", resp.StatusCode, b)
	}
	if got := versionsOf(h.packument("@acme/widget", true)); !slices.Equal(got, []string{"1.0.0"}) {
		t.Errorf("versions after the malicious verdict: %v", got)
	}

	// A benign verdict admits the next fresh version before the window.
	h.up.publish("@acme/widget", "1.2.0", fine, now)
	h.packument("@acme/widget", true)
	testenv.WaitFor(t, time.Minute, "1.2.0 queued", func() bool { return len(h.farm.submissions()) == 2 })
	h.farm.judge(t, "@acme/widget", "1.2.0", analysis.Benign, "")
	p := h.packument("@acme/widget", true)
	if got := versionsOf(p); !slices.Equal(got, []string{"1.0.0", "1.2.0"}) || p.DistTags["latest"] != "1.2.0" {
		t.Errorf("after the benign verdict: versions %v tags %v, want 1.0.0 1.2.0, latest 1.2.0", got, p.DistTags)
	}
	resp, b = h.get("/@acme/widget/-/acme-widget-1.2.0.tgz")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, fine) {
		t.Fatalf("admitted tarball: %d, %d bytes; want the upstream's %d", resp.StatusCode, len(b), len(fine))
	}
	// ETag to clients.
	if resp, _ := h.get("/@acme/widget/-/acme-widget-1.2.0.tgz", "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
		t.Errorf("tarball with its ETag: %d, want 304", resp.StatusCode)
	}
	resp, _ = h.get("/@acme%2fwidget", "Accept", "application/vnd.npm.install-v1+json")
	if resp, _ := h.get("/@acme%2fwidget", "Accept", "application/vnd.npm.install-v1+json", "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
		t.Errorf("packument with its ETag: %d, want 304", resp.StatusCode)
	}

	// Bytes changed upstream after the firewall saw them: refused, with
	// the packument's integrity changed or not.
	h.up.replaceBytes("@acme/widget", "1.2.0", tarball(t, "@acme/widget", "1.2.0", map[string][]byte{"index.js": []byte("evil()\n")}), false)
	resp, b = h.get("/@acme/widget/-/acme-widget-1.2.0.tgz")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "bytes changed") {
		t.Errorf("tarball changed upstream: %d %s", resp.StatusCode, b)
	}
	if got := versionsOf(h.packument("@acme/widget", true)); !slices.Equal(got, []string{"1.0.0"}) {
		t.Errorf("versions after 1.2.0 changed upstream: %v", got)
	}
	h.up.replaceBytes("@acme/widget", "1.0.0", []byte("not the bytes the packument names"), true)
	resp, b = h.get("/@acme/widget/-/acme-widget-1.0.0.tgz")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "integrity") {
		t.Errorf("tarball not matching dist.integrity: %d %s", resp.StatusCode, b)
	}

	// The audit log holds what was held and blocked and why.
	h.px.Close() // flushes the audit queue
	auditedBlocked(t, h.st, store.AuditEntry{Ecosystem: "npm", Name: "@acme/widget", Version: "1.1.0", Request: "tarball", Analysis: rec.ID, Who: "127.0.0.1"})
}

// auditedBlocked checks that the audit log holds the refusal of want's
// request (its ecosystem, name, version, request, analysis and who) as
// judged malicious.
func auditedBlocked(t *testing.T, st store.Store, want store.AuditEntry) {
	t.Helper()
	es, err := st.(store.Firewall).Audit(context.Background(), store.AuditQuery{State: "blocked", Name: want.Name, Ecosystem: want.Ecosystem})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Request == want.Request && e.Version == want.Version && e.Analysis == want.Analysis && e.Who == want.Who && strings.Contains(e.Reason, "judged malicious") {
			return
		}
	}
	t.Errorf("audit has no entry of the blocked %s request of %s: %+v", want.Request, want.Version, es)
}

func TestOverrideAndHoldWait(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.HoldWait = time.Minute })
	fresh := tarball(t, "gadget", "2.0.0", map[string][]byte{"index.js": []byte("1\n")})
	h.up.publish("gadget", "2.0.0", fresh, time.Now())

	// A request waits for the verdict (HoldWait) and gets the bytes.
	done := make(chan []byte)
	go func() {
		resp, b := h.get("/gadget/-/gadget-2.0.0.tgz")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("waiting request: %d %s", resp.StatusCode, b)
		}
		done <- b
	}()
	testenv.WaitFor(t, time.Minute, "gadget queued", func() bool { return len(h.farm.submissions()) == 1 })
	h.farm.judge(t, "gadget", "2.0.0", analysis.Benign, "")
	if b := <-done; !bytes.Equal(b, fresh) {
		t.Errorf("waiting request got %d bytes, want %d", len(b), len(fresh))
	}

	// An allow override admits a held version at once, though its
	// decision is cached.
	other := tarball(t, "gizmo", "0.1.0", map[string][]byte{"index.js": []byte("2\n")})
	h.up.publish("gizmo", "0.1.0", other, time.Now())
	if got := versionsOf(h.packument("gizmo", false)); len(got) != 0 {
		t.Errorf("gizmo before the override: %v", got)
	}
	admin := Admin{Firewall: h.st.(store.Firewall), Changes: h.px.cfg.Changes}
	if err := admin.AddOverride(context.Background(), &store.Override{Ecosystem: "npm", Name: "gizmo", Versions: "0.1.0",
		Action: store.Allow, Reason: "vendored by us", Who: "alice"}); err != nil {
		t.Fatal(err)
	}
	if got := versionsOf(h.packument("gizmo", false)); !slices.Equal(got, []string{"0.1.0"}) {
		t.Errorf("gizmo after the override: %v", got)
	}
	if resp, b := h.get("/gizmo/-/gizmo-0.1.0.tgz"); resp.StatusCode != http.StatusOK || !bytes.Equal(b, other) {
		t.Errorf("overridden tarball: %d", resp.StatusCode)
	}
}

func TestUpstreamCache(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PackumentTTL = time.Hour })
	h.up.publish("cached", "1.0.0", tarball(t, "cached", "1.0.0", nil), time.Now().Add(-1000*time.Hour))
	for range 5 {
		h.packument("cached", true)
	}
	if got := h.up.count("200") + h.up.count("304"); got != 1 {
		t.Errorf("upstream packument requests within the TTL: %d, want 1", got)
	}
	// Revalidation with the upstream's ETag.
	h2 := newHarness(t, nil) // TTL: always revalidate
	h2.up.publish("cached", "1.0.0", tarball(t, "cached", "1.0.0", nil), time.Now().Add(-1000*time.Hour))
	for range 3 {
		h2.packument("cached", false)
	}
	if got200, got304 := h2.up.count("200"), h2.up.count("304"); got200 != 1 || got304 != 2 {
		t.Errorf("upstream answers: 200 × %d, 304 × %d; want 1 and 2", got200, got304)
	}
	// Tarballs come from the blob store once fetched.
	for range 3 {
		if resp, _ := h.get("/cached/-/cached-1.0.0.tgz"); resp.StatusCode != http.StatusOK {
			t.Fatalf("tarball: %d", resp.StatusCode)
		}
	}
	if got := h.up.count("tarball"); got != 1 {
		t.Errorf("upstream tarball requests: %d, want 1", got)
	}
}

// goodToken accepts the read token "good", of ci.
func goodToken(_ context.Context, tok string) (store.Token, error) {
	if tok == "good" {
		return store.Token{Name: "ci", Role: store.RoleRead}, nil
	}
	return store.Token{}, store.ErrNotFound
}

func TestPaths(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Authenticate = goodToken })
	h.up.publish("@s/p", "1.0.0", tarball(t, "@s/p", "1.0.0", nil), time.Now().Add(-1000*time.Hour))
	tests := []struct {
		path, token string
		want        int
	}{
		{"/-/ping", "", 200},
		{"/@s%2fp", "", 401},
		{"/@s%2fp", "bad", 401},
		{"/@s%2fp", "good", 200},
		{"/@s%2Fp", "good", 200},
		{"/@s/p", "good", 200},
		{"/@s/p/-/s-p-1.0.0.tgz", "good", 200},
		{"/@s/p/-/s-p-9.9.9.tgz", "good", 404},
		{"/@s/p/1.0.0", "good", 404},
		{"/never-published", "good", 404},
		{"/..%2f..%2fetc", "good", 404},
		{"/-/v1/search?text=x", "good", 404},
	}
	for _, tt := range tests {
		var hs []string
		if tt.token != "" {
			hs = []string{"Authorization", "Bearer " + tt.token}
		}
		resp, b := h.get(tt.path, hs...)
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s (token %q): %d %s, want %d", tt.path, tt.token, resp.StatusCode, b, tt.want)
		}
		if tt.want != 200 {
			var e struct{ Error string }
			if json.Unmarshal(b, &e) != nil || e.Error == "" {
				t.Errorf("GET %s: error body %q is not npm's {\"error\": ...}", tt.path, b)
			}
		}
	}
	// A packument naming a tarball on another host: not fetched.
	h.up.publish("elsewhere", "1.0.0", tarball(t, "elsewhere", "1.0.0", nil), time.Now().Add(-1000*time.Hour))
	h.up.mu.Lock()
	h.up.tarballHost = "http://127.0.0.1:9"
	h.up.mu.Unlock()
	if resp, b := h.get("/elsewhere/-/elsewhere-1.0.0.tgz", "Authorization", "Bearer good"); resp.StatusCode != http.StatusBadGateway || h.up.count("tarball") != 1 {
		t.Errorf("tarball off the upstream: %d %s, upstream tarball requests %d", resp.StatusCode, b, h.up.count("tarball"))
	}
	req, _ := http.NewRequest(http.MethodPut, h.srv.URL+"/@s%2fp", strings.NewReader("{}"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT (publish): %d, want 405", resp.StatusCode)
	}

}
