package proxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/store"
)

type pypiHarness struct {
	t    *testing.T
	ix   *simpleIndex
	st   store.Store
	farm *fakeFarm
	px   *PyPIServer
	srv  *httptest.Server
}

func newPyPIHarness(t *testing.T, mod func(*Config)) *pypiHarness {
	t.Helper()
	h := &pypiHarness{t: t, ix: newSimpleIndex(t)}
	h.st, h.farm, h.px, h.srv = startFirewall(t, h.ix.url(), true, mod, NewPyPI)
	return h
}

func (h *pypiHarness) get(path string, headers ...string) (*http.Response, []byte) {
	h.t.Helper()
	return get(h.t, h.srv.URL+path, headers...)
}

// servedFile is a file a project page lists, as the client reads it.
type servedFile struct {
	Filename       string
	URL            string
	SHA256         string
	RequiresPython string
	Yanked         bool
}

var (
	anchorTestRE = regexp.MustCompile(`<a href="([^"#]*)#sha256=([0-9a-f]+)"([^>]*)>([^<]*)</a>`)
	rpTestRE     = regexp.MustCompile(`data-requires-python="([^"]*)"`)
)

// page fetches a project page as JSON (PEP 691) or HTML (PEP 503) and
// returns its files.
func (h *pypiHarness) page(name string, asJSON bool) []servedFile {
	h.t.Helper()
	accept := "text/html"
	if asJSON {
		accept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
	}
	resp, b := h.get("/simple/"+name+"/", "Accept", accept)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("project %s: %d %s", name, resp.StatusCode, b)
	}
	var out []servedFile
	if asJSON {
		if ct := resp.Header.Get("Content-Type"); ct != mediaSimpleJSON {
			h.t.Fatalf("project %s as JSON: Content-Type %q", name, ct)
		}
		var doc struct {
			Meta  map[string]string `json:"meta"`
			Files []struct {
				Filename       string            `json:"filename"`
				URL            string            `json:"url"`
				Hashes         map[string]string `json:"hashes"`
				RequiresPython string            `json:"requires-python"`
				Yanked         bool              `json:"yanked"`
			} `json:"files"`
		}
		if err := json.Unmarshal(b, &doc); err != nil || doc.Meta["api-version"] == "" {
			h.t.Fatalf("project %s: %v %s", name, err, b)
		}
		for _, f := range doc.Files {
			out = append(out, servedFile{f.Filename, f.URL, f.Hashes["sha256"], f.RequiresPython, f.Yanked})
		}
		return out
	}
	if ct := resp.Header.Get("Content-Type"); ct != mediaHTML {
		h.t.Fatalf("project %s as HTML: Content-Type %q", name, ct)
	}
	for _, m := range anchorTestRE.FindAllStringSubmatch(string(b), -1) {
		f := servedFile{Filename: m[4], URL: m[1], SHA256: m[2], Yanked: strings.Contains(m[3], "data-yanked")}
		if rp := rpTestRE.FindStringSubmatch(m[3]); rp != nil {
			f.RequiresPython = strings.ReplaceAll(rp[1], "&gt;", ">")
		}
		out = append(out, f)
	}
	return out
}

func sorted(xs ...string) []string {
	slices.Sort(xs)
	return xs
}

func names(fs []servedFile) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Filename)
	}
	slices.Sort(out)
	return out
}

// TestPyPIFirewall walks one project through the policy over HTTP, with
// the upstream answering JSON or HTML and the client asking for either:
// an old version admitted, a fresh one hidden and queued with the bytes
// the firewall fetched, refused while held, blocked once judged
// malicious, a third admitted once judged benign; files whose bytes or
// hashes changed upstream refused; the audit log holding the refusals.
func TestPyPIFirewall(t *testing.T) {
	for _, upstreamHTML := range []bool{false, true} {
		t.Run(map[bool]string{false: "json upstream", true: "html upstream"}[upstreamHTML], func(t *testing.T) {
			h := newPyPIHarness(t, nil)
			h.ix.htmlOnly = upstreamHTML
			now := time.Now()
			oldWhl, oldData := wheel(t, "Tiny_Pkg", "1.0.0", "X = 1\n")
			oldSdist, oldSdistData := sdist(t, "Tiny_Pkg", "1.0.0")
			evilWhl, evilData := wheel(t, "Tiny_Pkg", "1.1.0", "import os\n")
			fineWhl, fineData := wheel(t, "Tiny_Pkg", "1.2.0", "X = 3\n")
			h.ix.publish("Tiny_Pkg", &pubFile{name: oldWhl, data: oldData, uploaded: now.Add(-30 * 24 * time.Hour), requiresPython: ">=3.7"})
			h.ix.publish("Tiny_Pkg", &pubFile{name: oldSdist, data: oldSdistData, uploaded: now.Add(-30 * 24 * time.Hour)})
			h.ix.publish("Tiny_Pkg", &pubFile{name: evilWhl, data: evilData, uploaded: now.Add(-time.Hour)})
			if upstreamHTML {
				// HTML dates nothing: only analyses and overrides admit.
				h.farm.st.(store.Firewall).AddOverride(context.Background(), &store.Override{Ecosystem: "pypi", Name: "tiny-pkg",
					Versions: "1.0.0", Action: store.Allow, Reason: "vetted", Who: "alice"})
			}

			// Only the old version's files are listed, at the firewall,
			// with the index's hashes; the name is normalized.
			for _, asJSON := range []bool{true, false} {
				fs := h.page("tiny-pkg", asJSON)
				if got := names(fs); !slices.Equal(got, sorted(oldSdist, oldWhl)) {
					t.Fatalf("json %v: files %v, want 1.0.0's", asJSON, got)
				}
				for _, f := range fs {
					if !strings.HasPrefix(f.URL, h.srv.URL+"/files/tiny-pkg/") || (f.Filename == oldWhl && (f.SHA256 != hexSHA256(oldData) || f.RequiresPython != ">=3.7")) {
						t.Errorf("json %v: file %+v", asJSON, f)
					}
				}
			}
			if resp, _ := h.get("/simple/Tiny_Pkg/"); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/simple/tiny-pkg/" {
				t.Errorf("unnormalized name: %d %q, want a redirect to /simple/tiny-pkg/", resp.StatusCode, resp.Header.Get("Location"))
			}
			testenv.WaitFor(t, time.Minute, "the held version queued", func() bool { return len(h.farm.submissions()) == 1 })
			sub := h.farm.submissions()[0]
			if sub.Spec != "pypi:tiny-pkg==1.1.0" || sub.Queue != "interactive" || sub.Fetched != sha256Digest(evilData) {
				t.Errorf("submission = %+v, want 1.1.0's wheel on the interactive queue", sub)
			}

			// Held: refused with its state (and, from a dating index, when
			// it is decided).
			resp, b := h.get("/files/tiny-pkg/" + evilWhl)
			var ref refusal
			json.Unmarshal(b, &ref)
			if resp.StatusCode != http.StatusForbidden || ref.State != Held || (ref.DecidedBy == nil) != upstreamHTML || !strings.Contains(ref.Error, "tiny-pkg==1.1.0") {
				t.Errorf("held file: %d %s", resp.StatusCode, b)
			}
			// Judged malicious: blocked, naming verdict, rules, analysis.
			rec := h.farm.judge(t, "tiny-pkg", "1.1.0", analysis.Malicious, "cred-ssh-key")
			resp, b = h.get("/files/tiny-pkg/" + evilWhl)
			ref = refusal{}
			json.Unmarshal(b, &ref)
			if resp.StatusCode != http.StatusForbidden || ref.State != Blocked || ref.Verdict != analysis.Malicious ||
				!slices.Equal(ref.Rules, []string{"cred-ssh-key"}) || ref.Analysis != "http://farm.test/v1/analyses/"+rec.ID {
				t.Errorf("blocked file: %d %s", resp.StatusCode, b)
			}

			// A benign verdict admits the next fresh version.
			h.ix.publish("Tiny_Pkg", &pubFile{name: fineWhl, data: fineData, uploaded: now})
			h.page("tiny-pkg", true)
			testenv.WaitFor(t, time.Minute, "1.2.0 queued", func() bool { return len(h.farm.submissions()) == 2 })
			h.farm.judge(t, "tiny-pkg", "1.2.0", analysis.Benign, "")
			if got := names(h.page("tiny-pkg", true)); !slices.Equal(got, sorted(oldSdist, oldWhl, fineWhl)) {
				t.Errorf("after the benign verdict: files %v", got)
			}
			resp, b = h.get("/files/tiny-pkg/" + fineWhl)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(b, fineData) {
				t.Fatalf("admitted file: %d, %d bytes; want the upstream's %d", resp.StatusCode, len(b), len(fineData))
			}
			if resp, _ := h.get("/files/tiny-pkg/"+fineWhl, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
				t.Errorf("file with its ETag: %d, want 304", resp.StatusCode)
			}
			resp, _ = h.get("/simple/tiny-pkg/", "Accept", mediaSimpleJSON)
			if resp, _ := h.get("/simple/tiny-pkg/", "Accept", mediaSimpleJSON, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
				t.Errorf("project page with its ETag: %d, want 304", resp.StatusCode)
			}
			files := h.ix.count("file")
			h.get("/files/tiny-pkg/" + fineWhl)
			if got := h.ix.count("file"); got != files {
				t.Errorf("a repeated download fetched the upstream again (%d, then %d)", files, got)
			}

			// The analysed file changed upstream after the firewall saw
			// it: its version is blocked and unlisted.
			_, changed := wheel(t, "Tiny_Pkg", "1.2.0", "import socket\n")
			h.ix.change("Tiny_Pkg", fineWhl, func(f *pubFile) { f.data = changed })
			if got := names(h.page("tiny-pkg", true)); !slices.Equal(got, sorted(oldSdist, oldWhl)) {
				t.Errorf("files after 1.2.0 changed upstream: %v", got)
			}
			resp, b = h.get("/files/tiny-pkg/" + fineWhl)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "bytes changed") {
				t.Errorf("file changed upstream: %d %s", resp.StatusCode, b)
			}
			// Bytes that do not match the index's hash are refused; so is
			// a file whose hash changed after it was first served.
			h.ix.change("Tiny_Pkg", oldSdist, func(f *pubFile) { f.sha256 = hexSHA256(f.data); f.data = []byte("not an sdist") })
			resp, b = h.get("/files/tiny-pkg/" + oldSdist)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "integrity") {
				t.Errorf("file not matching the index's sha256: %d %s", resp.StatusCode, b)
			}
			if resp, _ := h.get("/files/tiny-pkg/" + oldWhl); resp.StatusCode != http.StatusOK {
				t.Fatalf("admitted old wheel: %d", resp.StatusCode)
			}
			h.ix.change("Tiny_Pkg", oldWhl, func(f *pubFile) { f.data = []byte("other bytes") })
			resp, b = h.get("/files/tiny-pkg/" + oldWhl)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "changed") {
				t.Errorf("file whose hash changed: %d %s", resp.StatusCode, b)
			}
			if resp, _ := h.get("/files/tiny-pkg/nope-1.0.0.tar.gz"); resp.StatusCode != http.StatusNotFound {
				t.Errorf("unlisted file: %d, want 404", resp.StatusCode)
			}

			// The audit log holds what was blocked and why.
			h.px.Close() // flushes the audit queue
			auditedBlocked(t, h.st, store.AuditEntry{Ecosystem: "pypi", Name: "tiny-pkg", Version: "1.1.0", Request: "file", Analysis: rec.ID, Who: "127.0.0.1"})
		})
	}
}

// TestPyPIOverrideAndHoldWait: an override admits a held version at once;
// with HoldWait a download waits for the verdict.
func TestPyPIOverrideAndHoldWait(t *testing.T) {
	h := newPyPIHarness(t, func(c *Config) { c.HoldWait = time.Minute })
	whl, data := wheel(t, "gadget", "2.0", "X = 1\n")
	h.ix.publish("gadget", &pubFile{name: whl, data: data, uploaded: time.Now()})
	if got := h.page("gadget", true); len(got) != 0 {
		t.Fatalf("fresh version listed: %v", got)
	}
	testenv.WaitFor(t, time.Minute, "2.0 queued", func() bool { return len(h.farm.submissions()) == 1 })
	got := make(chan int, 1)
	go func() {
		resp, _ := h.get("/files/gadget/" + whl)
		got <- resp.StatusCode
	}()
	h.farm.judge(t, "gadget", "2.0", analysis.Benign, "")
	if code := <-got; code != http.StatusOK {
		t.Errorf("download waiting for the verdict: %d, want 200", code)
	}

	other, odata := wheel(t, "gadget", "2.1", "X = 2\n")
	h.ix.publish("gadget", &pubFile{name: other, data: odata, uploaded: time.Now()})
	if got := names(h.page("gadget", false)); !slices.Equal(got, []string{whl}) {
		t.Errorf("files before the override: %v, want %s", got, whl)
	}
	// The override shows at once, though the page's decisions are
	// cached (Changes).
	if err := (Admin{Firewall: h.st.(store.Firewall), Changes: h.px.cfg.Changes}).AddOverride(context.Background(), &store.Override{Ecosystem: "pypi", Name: "Gadget",
		Versions: "2.1.0", Action: store.Allow, Reason: "vendored", Who: "alice"}); err != nil {
		t.Fatal(err)
	}
	if got := names(h.page("gadget", false)); !slices.Equal(got, sorted(whl, other)) {
		t.Errorf("files after the override: %v", got)
	}
}

// TestPyPIVersionSpelling: an analysis that reports its version as the
// file's metadata spells it (1.0.0-beta1 for the file's 1.0.0b1) decides
// the version all the same.
func TestPyPIVersionSpelling(t *testing.T) {
	h := newPyPIHarness(t, nil)
	h.farm.spell = map[string]string{"1.0.0b1": "1.0.0-beta1"}
	whl, data := wheel(t, "spelt", "1.0.0b1", "")
	h.ix.publish("spelt", &pubFile{name: whl, data: data, uploaded: time.Now()})
	if got := h.page("spelt", true); len(got) != 0 {
		t.Fatalf("fresh version listed: %v", got)
	}
	testenv.WaitFor(t, time.Minute, "1.0.0b1 queued", func() bool { return len(h.farm.submissions()) == 1 })
	h.farm.judge(t, "spelt", "1.0.0b1", analysis.Benign, "")
	if got := names(h.page("spelt", true)); !slices.Equal(got, []string{whl}) {
		t.Errorf("files after the benign verdict on 1.0.0-beta1: %v, want %s", got, whl)
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct{ accept, want string }{
		{"", mediaHTML},
		{"*/*", mediaHTML},
		{"text/html", mediaHTML},
		{mediaSimpleJSON, mediaSimpleJSON},
		{"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", mediaSimpleJSON},
		{"application/vnd.pypi.simple.v1+json; q=0.2, application/vnd.pypi.simple.v1+html", mediaSimpleHTML},
		{"application/vnd.pypi.simple.latest+json", mediaSimpleJSON},
		{"application/json", mediaHTML},
		{"text/html, application/vnd.pypi.simple.v1+json", mediaSimpleJSON},
		{"application/vnd.pypi.simple.v1+json;q=bad, text/html", mediaHTML},
	}
	for _, tt := range tests {
		if got := negotiate(tt.accept); got != tt.want {
			t.Errorf("negotiate(%q) = %s, want %s", tt.accept, got, tt.want)
		}
	}
}

func TestPyPIPaths(t *testing.T) {
	h := newPyPIHarness(t, func(c *Config) { c.Authenticate = goodToken })
	whl, data := wheel(t, "demo", "1.0", "")
	h.ix.publish("demo", &pubFile{name: whl, data: data, uploaded: time.Now().Add(-time.Hour * 24 * 30)})
	tests := []struct {
		path     string
		want     int
		location string
		auth     string // Authorization; default basic credentials of the good token
	}{
		{"/simple/demo/", http.StatusUnauthorized, "", "-"},
		{"/simple/demo/", http.StatusUnauthorized, "", "Basic " + base64.StdEncoding.EncodeToString([]byte("ci:bad"))},
		{"/simple/demo/", http.StatusUnauthorized, "", "Basic not-base64"},
		{"/simple/demo/", http.StatusOK, "", "Bearer good"},
		{"/simple/demo/", http.StatusOK, "", ""},
		{"/simple/demo", http.StatusMovedPermanently, "/simple/demo/", ""},
		{"/simple/DEMO/", http.StatusMovedPermanently, "/simple/demo/", ""},
		{"/simple/-bad-/", http.StatusNotFound, "", ""},
		{"/simple/absent/", http.StatusNotFound, "", ""},
		{"/simple/", http.StatusNotFound, "", ""},
		{"/files/demo/" + whl, http.StatusOK, "", ""},
		{"/files/Demo/" + whl, http.StatusNotFound, "", ""},
		{"/files/demo/..%2f..%2fetc%2fpasswd", http.StatusNotFound, "", ""},
		{"/-/fumehood/metrics", http.StatusOK, "", ""},
		{"/elsewhere", http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		var hs []string
		switch tt.auth {
		case "":
			hs = []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("__token__:good"))}
		case "-":
		default:
			hs = []string{"Authorization", tt.auth}
		}
		resp, b := h.get(tt.path, hs...)
		if resp.StatusCode != tt.want || resp.Header.Get("Location") != tt.location {
			t.Errorf("GET %s: %d %q, want %d %q\n%s", tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.want, tt.location, b)
		}
	}
}
