package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
)

// The fixture is a real analysis: `fumehood analyze --json --trace` of the
// corpus sample npm/ngx-form-kit (a credential stealer that writes a CI
// workflow, downloads a tool with curl and posts the npm token to a
// webhook), run once in the sandbox. The registry URL the sandbox passed
// to npm was replaced by http://registry.invalid/ (project rule: no
// registry host names in the repository); nothing else was changed.
const (
	fixtureAnalysis = "testdata/ngx-form-kit.analysis.json"
	fixtureTrace    = "testdata/ngx-form-kit.trace.jsonl.gz"
)

// seedFixture stores the fixture's record and trace as the worker would.
func seedFixture(t testing.TB, st store.Store, blobs store.Blobs) *store.Record {
	t.Helper()
	ctx := context.Background()
	b, err := os.ReadFile(fixtureAnalysis)
	if err != nil {
		t.Fatal(err)
	}
	var a analysis.Analysis
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(fixtureTrace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := blobs.Put(ctx, z)
	if err != nil {
		t.Fatal(err)
	}
	rec := &store.Record{Analysis: analysis.Analysis{ID: a.ID, Package: a.Package, Rules: a.Rules},
		Status: store.Queued, Spec: "upload:ngx-form-kit-4.1.3.tgz", Submitted: a.Started}
	if err := st.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := st.Complete(ctx, &a, digest); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// page GETs path with role's bearer token and returns the answer and its
// body.
func (h *harness) page(role store.Role, path string) (*http.Response, string) {
	h.t.Helper()
	resp := h.do(role, "GET", path, "", nil, nil)
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// checkHTML fails t unless body is HTML with no script, no inline event
// handler and no javascript: URL, whatever the page shows.
func checkHTML(t *testing.T, what, body string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(body))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("%s: %v", what, z.Err())
			}
			return
		}
		tok := z.Token()
		if tok.Type != html.StartTagToken && tok.Type != html.SelfClosingTagToken {
			continue
		}
		switch tok.Data {
		case "script", "iframe", "object", "embed", "base":
			t.Fatalf("%s: a <%s> element", what, tok.Data)
		}
		for _, a := range tok.Attr {
			if strings.HasPrefix(strings.ToLower(a.Key), "on") {
				t.Fatalf("%s: <%s %s=%q>", what, tok.Data, a.Key, a.Val)
			}
			if (a.Key == "href" || a.Key == "src" || a.Key == "action") && !strings.HasPrefix(a.Val, "/") && !strings.HasPrefix(a.Val, "#") {
				t.Fatalf("%s: <%s %s=%q> leads off the server", what, tok.Data, a.Key, a.Val)
			}
		}
	}
}

// TestPages renders every page over the real fixture and checks what an
// analyst looks for on each, and the headers every page carries.
func TestPages(t *testing.T) {
	h := newHarness(t)
	rec := seedFixture(t, h.st, h.blobs)
	other := h.seed("npm", "left-pad", "1.3.0", analysis.Benign, "", 5)
	var b BatchResponse
	if resp := h.json(store.RoleSubmit, "POST", "/v1/batches", `{"specs":["npm:a@1.0.0","npm:left-pad@1.3.0"]}`, &b); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("create batch: got %d", resp.StatusCode)
	}
	id := rec.ID
	tests := []struct {
		path string
		want []string
	}{
		{"/analyses", []string{"ngx-form-kit", `href="/analyses/` + id + `"`, `class="verdict malicious"`, "left-pad"}},
		{"/analyses?verdict=malicious&name=&since=24000h&batch=", []string{"ngx-form-kit", `option value="malicious" selected`}},
		{"/analyses?rule=honeytoken-exfil", []string{"ngx-form-kit"}},
		{"/analyses/" + id, []string{
			`<span class="verdict malicious">malicious</span>`, "score 100", `class="coverage full"`,
			// a hit, its evidence linked to the exact event
			"honeytoken-exfil", `href="/analyses/` + id + `/trace?from=2501#e-2501"`,
			// the process tree with roles and argv
			`class="role package_manager"`, `<span class="arg">node</span> <span class="arg">bundle.js</span>`,
			`class="role package_code"`, "PATH lookup of <code>sh</code>: 12 misses, then <code>/usr/bin/sh</code>",
			// the network: DNS, HTTP with its decoded body
			"webhook-site.invalid", "POST http://webhook-site.invalid/bb8ca5f6-4175-45d2-b042-fc9ebb8170b7", "decoded (base64)",
			"trufflehog_linux_amd64.tar.gz",
			// files outside the caches, and the install script with its source
			"/home/alex/projects/app/.github/workflows/shai-hulud-workflow.yml", "/tmp/th.tgz",
			"/home/alex/projects/app/node_modules/ngx-form-kit/bundle.js", "postinstall",
			// the timeline and the raw trace filtered
			`id="timeline"`, `/trace?pid=25631&amp;phase=install`,
		}},
		{"/analyses/" + id + "/trace?from=2501&limit=5", []string{`id="e-2501"`, "webhook-site.invalid", "Next page"}},
		{"/analyses/" + id + "/trace?kind=dns&phase=install", []string{`id="e-2493"`, `id="e-2494"`}},
		{"/analyses/" + id + "/trace?path=/home/alex/.npmrc", []string{`id="e-1276"`}},
		{"/packages/npm/ngx-form-kit", []string{"4.1.3", `href="/analyses/` + id + `"`}},
		{"/packages/npm/left-pad", []string{"1.3.0", `href="/analyses/` + other.ID + `"`}},
		{"/batches/" + b.ID, []string{"1 of 2 finished", "1 pending", "left-pad", "npm:a</a>"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := h.page(store.RoleRead, tt.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("got %d, want 200: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			checkHTML(t, tt.path, body)
		})
	}
	for path, want := range map[string]int{
		"/analyses/absent": 404, "/analyses?verdict=evil": 400, "/analyses/" + id + "/trace?kind=bogus": 400,
		"/packages/cargo/x": 400, "/batches/absent": 404, "/analyses/" + id + "?x=1": 400,
	} {
		resp, body := h.page(store.RoleRead, path)
		if resp.StatusCode != want || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: got %d %s, want %d HTML", path, resp.StatusCode, resp.Header.Get("Content-Type"), want)
		}
		checkHTML(t, path, body)
	}
	resp, _ := h.page(store.RoleRead, "/")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/analyses" {
		t.Errorf("/ led to %s (%d), want /analyses", resp.Request.URL, resp.StatusCode)
	}
}

// TestPagesHostile stores an analysis whose every field the package
// controls holds markup, control characters and reordering characters,
// and checks that the pages show them escaped and visible.
func TestPagesHostile(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	evil := "<script>alert(1)</script>\x1b[31m\u202egnp.exe\r\n\"'><img src=x onerror=alert(2)>\xff"
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	evs := []trace.Event{
		{Seq: 1, Time: t0, Phase: "install", Kind: trace.KindExec, PID: 10, TGID: 10, Start: 1, Path: "/tmp/" + evil, Argv: []string{"node", evil}, Cwd: "/home/" + evil},
		{Seq: 2, Time: t0, Phase: "install", Kind: trace.KindConnect, PID: 10, TGID: 10, Start: 1, Family: 2, Addr: "203.0.113.9", Port: 80},
		{Seq: 3, Time: t0, Phase: "install", Kind: trace.KindHTTP, Addr: "203.0.113.9", Port: 80, Method: "POST", Name: evil, URI: "/" + evil,
			Headers: []string{"X-Evil: " + evil}, Data: []byte(evil)},
		{Seq: 4, Time: t0, Phase: "install", Kind: trace.KindOpen, PID: 10, TGID: 10, Start: 1, Path: "/tmp/" + evil, Flags: trace.OWronly | trace.OCreat, Ret: 3},
		{Seq: 5, Time: t0, Phase: "install", Kind: trace.KindDNS, Addr: "203.0.113.9", Port: 53, Name: evil, QType: "TXT"},
	}
	tr := &trace.Trace{Events: evs}
	tr.Processes = trace.BuildTable(tr, h.rules.Policy()).Processes()
	var buf bytes.Buffer
	if err := trace.Encode(&buf, tr); err != nil {
		t.Fatal(err)
	}
	digest, err := h.blobs.Put(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	a := analysis.Analysis{ID: "hostile", Package: analysis.Package{Ecosystem: "npm", Name: evil, Version: evil}, Verdict: analysis.Malicious,
		Hits:     []analysis.Hit{{Rule: evil, Severity: analysis.High, Summary: evil, Evidence: []string{evil}, Events: []uint64{3}}},
		Phases:   []analysis.Phase{{Name: "install", Command: []string{evil}, Output: evil}},
		Coverage: analysis.Coverage{Level: analysis.CoveragePartial, Reason: evil, Scripts: []analysis.ScriptRun{{Phase: "install", Name: evil, Command: evil, Ran: true}}},
		Sandbox:  analysis.Sandbox{Image: evil}, Rules: "r1", Started: t0, Finished: t0}
	if err := h.st.Create(ctx, &store.Record{Analysis: analysis.Analysis{ID: a.ID, Package: a.Package}, Spec: evil, Submitted: t0}); err != nil {
		t.Fatal(err)
	}
	if err := h.st.Complete(ctx, &a, digest); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/analyses", "/analyses/hostile", "/analyses/hostile/trace", "/analyses?name=" + url.QueryEscape(evil)} {
		resp, body := h.page(store.RoleRead, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: got %d: %s", path, resp.StatusCode, body)
		}
		checkHTML(t, path, body)
		for _, bad := range []string{"<script>", "<img", "\x1b", "\u202e", "\xff"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: page holds %q raw", path, bad)
			}
		}
		for _, want := range []string{"&lt;script&gt;", `<span class="ctl">\e</span>`, `<span class="ctl">\u202e</span>`, `<span class="ctl">\xff</span>`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: page lacks %q", path, want)
			}
		}
	}
}

// TestPagesAuth checks sign-in, the session cookie and its limits, and
// that a bearer token works on every page.
func TestPagesAuth(t *testing.T) {
	h := newHarness(t)
	rec := seedFixture(t, h.st, h.blobs)
	target := "/analyses/" + rec.ID
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer noRedirect.CloseIdleConnections()

	// No credentials: sent to sign in, and back afterwards.
	resp, err := noRedirect.Get(h.srv.URL + target)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/signin?next="+url.QueryEscape(target) {
		t.Fatalf("no credentials: got %d to %q, want 303 to sign in", resp.StatusCode, loc)
	}
	// An unknown bearer token is refused, not redirected.
	if resp, _ := h.page("nobody", target); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown bearer token: got %d, want 401", resp.StatusCode)
	}

	signin := func(c *http.Client, token, next string, hdr map[string]string) *http.Response {
		t.Helper()
		form := url.Values{"token": {token}, "next": {next}}
		req, _ := http.NewRequest("POST", h.srv.URL+"/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := signin(noRedirect, "fh_wrong", target, nil); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Errorf("wrong token: got %d with %d cookies, want 401 and none", resp.StatusCode, len(resp.Cookies()))
	}
	if resp := signin(noRedirect, h.tokens[store.RoleRead], target, map[string]string{"Origin": "http://evil.example"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in posted from another site: got %d, want 403", resp.StatusCode)
	}
	if resp := signin(noRedirect, h.tokens[store.RoleRead], target, map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site sign-in: got %d, want 403", resp.StatusCode)
	}
	if resp := signin(noRedirect, h.tokens[store.RoleRead], "//evil.example/x", nil); resp.Header.Get("Location") != "/analyses" {
		t.Errorf("next=//evil.example/x led to %q, want /analyses", resp.Header.Get("Location"))
	}
	resp = signin(noRedirect, h.tokens[store.RoleRead], target, map[string]string{"Origin": h.srv.URL})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != target {
		t.Fatalf("sign-in: got %d to %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), target)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", cookie)
	}
	if strings.Contains(cookie.Value, h.tokens[store.RoleRead]) {
		t.Fatalf("the session cookie holds the token")
	}
	withCookie := func(srvURL, path string, c *http.Cookie) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srvURL+path, nil)
		req.AddCookie(c)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := withCookie(h.srv.URL, target, cookie); got != http.StatusOK {
		t.Errorf("with the session: got %d, want 200", got)
	}
	// Another serve process of the farm (same store) takes the session.
	other := newHarness(t, func(c *Config) { c.Store, c.Blobs = h.st, h.blobs })
	if got := withCookie(other.srv.URL, target, cookie); got != http.StatusOK {
		t.Errorf("session on a second server of the store: got %d, want 200", got)
	}
	// A tampered or expired cookie is no session.
	forged := *cookie
	forged.Value = cookie.Value[:len(cookie.Value)-2] + "AA"
	if got := withCookie(h.srv.URL, target, &forged); got != http.StatusSeeOther {
		t.Errorf("tampered session: got %d, want 303", got)
	}
	key, err := h.st.Secret(context.Background(), sessionKeyName)
	if err != nil {
		t.Fatal(err)
	}
	expired := *cookie
	expired.Value = newSession(key, HashToken(h.tokens[store.RoleRead]), time.Now().Add(-time.Minute))
	if got := withCookie(h.srv.URL, target, &expired); got != http.StatusSeeOther {
		t.Errorf("expired session: got %d, want 303", got)
	}
	// The JSON API does not take the cookie (bearer only).
	if got := withCookie(h.srv.URL, "/v1/analyses/"+rec.ID, cookie); got != http.StatusUnauthorized {
		t.Errorf("API with a session cookie: got %d, want 401", got)
	}
	// Revoking the token ends its sessions.
	if err := h.st.RevokeToken(context.Background(), "test-read"); err != nil {
		t.Fatal(err)
	}
	if got := withCookie(h.srv.URL, target, cookie); got != http.StatusSeeOther {
		t.Errorf("session of a revoked token: got %d, want 303", got)
	}

	// A browser that follows redirects signs in and lands on the page.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	defer browser.CloseIdleConnections()
	resp = signin(browser, h.tokens[store.RoleAdmin], target, nil)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != target {
		t.Errorf("browser sign-in ended at %s (%d), want %s", resp.Request.URL, resp.StatusCode, target)
	}
}
