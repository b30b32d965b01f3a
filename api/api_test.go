package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	t      *testing.T
	srv    *httptest.Server
	st     store.Store
	blobs  store.Blobs
	sched  *fakeScheduler
	tokens map[store.Role]string
	logs   *syncBuffer
	rules  *rules.Set
	m      *Metrics
}

func newHarness(t *testing.T, mod ...func(*Config)) *harness {
	t.Helper()
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	st, blobs := newStores(t)
	h := &harness{t: t, st: st, blobs: blobs, tokens: map[store.Role]string{}, logs: &syncBuffer{}, rules: rs}
	h.sched = &fakeScheduler{st: st, blobs: blobs, rules: rs.Version(), depths: map[string]int{"interactive": 2, "batch": 7, "feed": 0}}
	for _, role := range []store.Role{store.RoleRead, store.RoleSubmit, store.RoleAdmin} {
		tok, hash := NewToken()
		if err := st.CreateToken(context.Background(), hash, role, "test-"+string(role)); err != nil {
			t.Fatal(err)
		}
		h.tokens[role] = tok
	}
	h.m = NewMetrics(h.sched)
	cfg := Config{
		Store: st, Blobs: blobs, Scheduler: h.sched, Rules: rs, Metrics: h.m,
		Logger:  slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MaxBody: 4 << 10, MaxUpload: 64 << 10,
	}
	for _, f := range mod {
		f(&cfg)
	}
	h.srv = httptest.NewServer(New(cfg))
	t.Cleanup(func() {
		h.srv.CloseClientConnections()
		h.srv.Close()
		h.srv.Client().CloseIdleConnections()
	})
	return h
}

// newStores returns the stores the API tests run on: the real SQLite
// store and blob directory in a temporary directory.
func newStores(t testing.TB) (store.Store, store.Blobs) {
	t.Helper()
	st, blobs, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, blobs
}

// do sends a request with role's token ("" none) and decodes a JSON answer
// into out (if not nil).
func (h *harness) do(role store.Role, method, path, ctype string, body io.Reader, out any) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if role != "" {
		tok := h.tokens[role]
		if tok == "" {
			tok = string(role) // a token nobody created
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

func (h *harness) json(role store.Role, method, path, body string, out any) *http.Response {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return h.do(role, method, path, "application/json", r, out)
}

// seed stores a done analysis of eco:name@version with a trace of n events
// (kinds alternate exec/open/connect, tgid 100+seq%5).
func (h *harness) seed(eco, name, version string, v analysis.Verdict, rule string, n int) *store.Record {
	h.t.Helper()
	ctx := context.Background()
	var evs []trace.Event
	kinds := []trace.Kind{trace.KindExec, trace.KindOpen, trace.KindConnect}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 1; i <= n; i++ {
		evs = append(evs, trace.Event{Seq: uint64(i), Time: t0.Add(time.Duration(i) * time.Millisecond), Phase: "install",
			Kind: kinds[(i-1)%3], PID: uint32(100 + i%5), TGID: uint32(100 + i%5), Path: fmt.Sprintf("/tmp/f%d", i)})
	}
	tr := &trace.Trace{Events: evs}
	tr.Processes = trace.BuildTable(tr, h.rules.Policy()).Processes()
	var buf bytes.Buffer
	if err := trace.Encode(&buf, tr); err != nil {
		h.t.Fatal(err)
	}
	digest, err := h.blobs.Put(ctx, &buf)
	if err != nil {
		h.t.Fatal(err)
	}
	rec, _, err := h.sched.Submit(ctx, Submission{Spec: eco + ":" + name + sep(eco) + version, Force: true})
	if err != nil {
		h.t.Fatal(err)
	}
	a := rec.Analysis
	a.Verdict, a.Score = v, 10
	if rule != "" {
		a.Hits = []analysis.Hit{{Rule: rule, Severity: analysis.High, Summary: "s", Evidence: []string{"e"}, Events: []uint64{1}}}
	}
	a.Phases = []analysis.Phase{{Name: "install", DurationMS: 1500, Events: n}}
	if err := h.st.Complete(ctx, &a, digest); err != nil {
		h.t.Fatal(err)
	}
	got, err := h.st.Get(ctx, a.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return got
}

func sep(eco string) string {
	if eco == "pypi" {
		return "=="
	}
	return "@"
}

func errCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	var e errorBody
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body %q is not {\"error\":{\"code\",\"message\"}}", b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	return e.Error.Code
}

func multipartBody(t *testing.T, fields map[string]string, fileField, fileName string, file []byte) (string, io.Reader) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if fileField != "" {
		fw, err := mw.CreateFormFile(fileField, fileName)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(file)
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

// TestAuthMatrix sends every endpoint with no token, an unknown token and
// each role's token, and checks 401/403/success.
func TestAuthMatrix(t *testing.T) {
	h := newHarness(t)
	rec := h.seed("npm", "left-pad", "1.3.0", analysis.Benign, "", 5)
	var b BatchResponse
	if resp := h.json(store.RoleSubmit, "POST", "/v1/batches", `{"specs":["npm:a@1.0.0"]}`, &b); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("create batch: got %d, want 202", resp.StatusCode)
	}
	endpoints := []struct {
		method, path, body string
		need               store.Role // "" = no auth
		want               int
	}{
		{"GET", "/healthz", "", "", 200},
		{"GET", "/metrics", "", "", 200},
		{"POST", "/v1/analyses", `{"spec":"npm:x@1.0.0"}`, store.RoleSubmit, 202},
		{"GET", "/v1/analyses", "", store.RoleRead, 200},
		{"GET", "/v1/analyses/" + rec.ID, "", store.RoleRead, 200},
		{"GET", "/v1/analyses/" + rec.ID + "/trace", "", store.RoleRead, 200},
		{"GET", "/v1/analyses/" + rec.ID + "/processes", "", store.RoleRead, 200},
		{"GET", "/v1/packages/npm/left-pad", "", store.RoleRead, 200},
		{"POST", "/v1/batches", `{"specs":["npm:y@1.0.0"]}`, store.RoleSubmit, 202},
		{"POST", "/v1/batches", `{"rejudge":{"ecosystem":"npm"}}`, store.RoleAdmin, 202},
		{"POST", "/v1/batches", `{"rerun":{"verdict":"malicious"}}`, store.RoleAdmin, 202},
		{"GET", "/v1/batches/" + b.ID, "", store.RoleRead, 200},
		{"DELETE", "/v1/batches/" + b.ID, "", store.RoleSubmit, 200},
		{"GET", "/v1/rules", "", store.RoleRead, 200},
		{"GET", "/v1/tasks/archived", "", store.RoleAdmin, 200},
	}
	callers := []store.Role{"", "fh_forged", store.RoleRead, store.RoleSubmit, store.RoleAdmin}
	for _, ep := range endpoints {
		for _, who := range callers {
			name := string(who)
			if name == "" {
				name = "none"
			}
			t.Run(ep.method+" "+ep.path+" as "+name, func(t *testing.T) {
				want := ep.want
				switch {
				case ep.need == "":
				case who == "" || who == "fh_forged":
					want = http.StatusUnauthorized
				case rank(who) < rank(ep.need):
					want = http.StatusForbidden
				}
				resp := h.json(who, ep.method, ep.path, ep.body, nil)
				if resp.StatusCode != want {
					b, _ := io.ReadAll(resp.Body)
					t.Fatalf("got %d, want %d (%s)", resp.StatusCode, want, b)
				}
				if want == http.StatusUnauthorized || want == http.StatusForbidden {
					if got, wantCode := errCode(t, resp), map[int]string{401: "unauthorized", 403: "forbidden"}[want]; got != wantCode {
						t.Errorf("error code %q, want %q", got, wantCode)
					}
				}
			})
		}
	}
}

func TestAuthHeaderForms(t *testing.T) {
	h := newHarness(t)
	tok := h.tokens[store.RoleRead]
	tests := []struct {
		header string
		want   int
	}{
		{"Bearer " + tok, 200},
		{"bearer " + tok, 200},
		{"Basic " + tok, 401},
		{tok, 401},
		{"Bearer ", 401},
		{"Bearer " + tok + "x", 401},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", h.srv.URL+"/v1/rules", nil)
		req.Header.Set("Authorization", tt.header)
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("Authorization %q: got %d, want %d", strings.Replace(tt.header, tok, "TOKEN", 1), resp.StatusCode, tt.want)
		}
	}
}

// TestTokenNeverLogged makes successful, refused and failing requests and
// checks the log holds none of the tokens, while it does log requests.
func TestTokenNeverLogged(t *testing.T) {
	h := newHarness(t)
	h.sched.err = fmt.Errorf("redis down")
	rec := h.seed("npm", "a", "1.0.0", analysis.Benign, "", 3)
	for role := range h.tokens {
		h.json(role, "GET", "/v1/analyses/"+rec.ID, "", nil)
		h.json(role, "POST", "/v1/analyses", `{"spec":"npm:bad"}`, nil)
		h.json(role, "GET", "/v1/tasks/archived", "", nil)
		h.json(role, "GET", "/v1/analyses?cursor=forged", "", nil)
	}
	h.json("fh_unknown_secret_value", "GET", "/v1/rules", "", nil)
	h.json("", "GET", "/healthz", "", nil)
	logs := h.logs.String()
	if !strings.Contains(logs, `"path":"/v1/analyses/`+rec.ID+`"`) {
		t.Fatalf("requests are not logged; log:\n%s", logs)
	}
	for role, tok := range h.tokens {
		if strings.Contains(logs, tok) {
			t.Errorf("the %s token appears in the log", role)
		}
		if strings.Contains(logs, tok[len(tokenPrefix):len(tokenPrefix)+8]) {
			t.Errorf("part of the %s token appears in the log", role)
		}
	}
	for _, s := range []string{"fh_unknown_secret_value", "Bearer", "Authorization"} {
		if strings.Contains(logs, s) {
			t.Errorf("%q appears in the log", s)
		}
	}
}

func TestSubmitSpec(t *testing.T) {
	h := newHarness(t)
	var first, again, forced SubmitResponse
	resp := h.json(store.RoleSubmit, "POST", "/v1/analyses", `{"spec":"npm:left-pad@1.3.0","webhook":"http://127.0.0.1:9/hook"}`, &first)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("got %d, want 202", resp.StatusCode)
	}
	if first.ID == "" || first.Existing || first.StatusURL != "/v1/analyses/"+first.ID {
		t.Errorf("got %+v, want a new id with its status URL", first)
	}
	if got := resp.Header.Get("Location"); got != first.StatusURL {
		t.Errorf("Location = %q, want %q", got, first.StatusURL)
	}
	h.json(store.RoleSubmit, "POST", "/v1/analyses", `{"spec":"npm:left-pad@1.3.0"}`, &again)
	if again.ID != first.ID || !again.Existing {
		t.Errorf("re-submit: got %+v, want the existing %s", again, first.ID)
	}
	h.json(store.RoleSubmit, "POST", "/v1/analyses", `{"spec":"npm:left-pad@1.3.0","force":true}`, &forced)
	if forced.ID == first.ID || forced.Existing {
		t.Errorf("forced: got %+v, want a new analysis", forced)
	}
	if got := h.sched.got[0].Webhook; got != "http://127.0.0.1:9/hook" {
		t.Errorf("webhook passed on = %q", got)
	}
	var rec store.Record
	h.json(store.RoleRead, "GET", first.StatusURL, "", &rec)
	if rec.Status != store.Queued || rec.Package.Name != "left-pad" {
		t.Errorf("status document: got %+v", rec)
	}
}

func TestSubmitErrors(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name, ctype, body string
		want              int
		code              string
	}{
		{"unknown field", "application/json", `{"spec":"npm:a@1.0.0","priority":1}`, 400, "bad_request"},
		{"bad spec", "application/json", `{"spec":"npm:a@^1.0.0"}`, 400, "bad_request"},
		{"no version", "application/json", `{"spec":"npm:a"}`, 400, "bad_request"},
		{"server path", "application/json", `{"spec":"/etc/passwd"}`, 400, "bad_request"},
		{"empty spec", "application/json", `{}`, 400, "bad_request"},
		{"not json", "application/json", `spec=npm:a@1.0.0`, 400, "bad_request"},
		{"trailing data", "application/json", `{"spec":"npm:a@1.0.0"} {}`, 400, "bad_request"},
		{"wrong type", "application/json", `{"spec":1}`, 400, "bad_request"},
		{"bad webhook", "application/json", `{"spec":"npm:a@1.0.0","webhook":"file:///etc/passwd"}`, 400, "bad_request"},
		{"content type", "text/plain", `npm:a@1.0.0`, 400, "bad_request"},
		{"oversize", "application/json", `{"spec":"npm:a@1.0.0","webhook":"http://x/` + strings.Repeat("a", 5000) + `"}`, 413, "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.do(store.RoleSubmit, "POST", "/v1/analyses", tt.ctype, strings.NewReader(tt.body), nil)
			if resp.StatusCode != tt.want {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("got %d, want %d (%s)", resp.StatusCode, tt.want, b)
			}
			if got := errCode(t, resp); got != tt.code {
				t.Errorf("code %q, want %q", got, tt.code)
			}
		})
	}
}

func TestUpload(t *testing.T) {
	h := newHarness(t)
	artifact := []byte("not really a tarball, the scheduler checks it")
	ctype, body := multipartBody(t, map[string]string{"ecosystem": "npm", "force": "true"}, "artifact", "../../evil/pkg-1.0.0.tgz", artifact)
	var got SubmitResponse
	if resp := h.do(store.RoleSubmit, "POST", "/v1/analyses", ctype, body, &got); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("got %d, want 202", resp.StatusCode)
	}
	sub := h.sched.got[len(h.sched.got)-1]
	if sub.FileName != "pkg-1.0.0.tgz" || sub.Ecosystem != "npm" || !sub.Force || sub.UploadedBy != "test-submit" {
		t.Errorf("submission: got %+v, want pkg-1.0.0.tgz, npm, forced, uploaded by test-submit", sub)
	}
	rec, err := h.st.Get(context.Background(), got.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := h.blobs.Get(context.Background(), rec.Package.Digest)
	if err != nil {
		t.Fatalf("artifact not in blobs: %v", err)
	}
	stored, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(stored, artifact) {
		t.Errorf("stored artifact %q, want %q", stored, artifact)
	}

	tests := []struct {
		name   string
		fields map[string]string
		file   string
		size   int
		want   int
	}{
		{"no ecosystem", map[string]string{}, "artifact", 10, 400},
		{"bad ecosystem", map[string]string{"ecosystem": "cargo"}, "artifact", 10, 400},
		{"no file", map[string]string{"ecosystem": "npm"}, "", 0, 400},
		{"wrong file field", map[string]string{"ecosystem": "npm"}, "file", 10, 400},
		{"unknown field", map[string]string{"ecosystem": "npm", "priority": "high"}, "artifact", 10, 400},
		{"bad force", map[string]string{"ecosystem": "npm", "force": "maybe"}, "artifact", 10, 400},
		{"oversize", map[string]string{"ecosystem": "npm"}, "artifact", 200 << 10, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctype, body := multipartBody(t, tt.fields, tt.file, "p.tgz", bytes.Repeat([]byte{'x'}, tt.size))
			resp := h.do(store.RoleSubmit, "POST", "/v1/analyses", ctype, body, nil)
			if resp.StatusCode != tt.want {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("got %d, want %d (%s)", resp.StatusCode, tt.want, b)
			}
			errCode(t, resp)
		})
	}
}

func TestGetAnalysis(t *testing.T) {
	h := newHarness(t)
	rec := h.seed("npm", "evil", "6.6.6", analysis.Malicious, "exfil-token", 10)
	var doc map[string]any
	if resp := h.json(store.RoleRead, "GET", "/v1/analyses/"+rec.ID, "", &doc); resp.StatusCode != 200 {
		t.Fatalf("got %d, want 200", resp.StatusCode)
	}
	// The analyze --json document's fields, plus status.
	for _, k := range []string{"id", "package", "verdict", "score", "hits", "phases", "rules_version", "sandbox", "started", "finished", "status", "submitted"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("document lacks %q", k)
		}
	}
	for _, k := range []string{"Artifact", "TraceDigest", "Webhook", "trace"} {
		if _, ok := doc[k]; ok {
			t.Errorf("document leaks %q", k)
		}
	}
	if doc["status"] != "done" || doc["verdict"] != "malicious" || doc["id"] != rec.ID {
		t.Errorf("got status %v verdict %v id %v, want done malicious %s", doc["status"], doc["verdict"], doc["id"], rec.ID)
	}
	resp := h.json(store.RoleRead, "GET", "/v1/analyses/no-such-id", "", nil)
	if resp.StatusCode != 404 || errCode(t, resp) != "not_found" {
		t.Errorf("unknown id: got %d, want 404 not_found", resp.StatusCode)
	}
	if resp := h.json(store.RoleRead, "GET", "/v1/analyses/"+rec.ID+"?x=1", "", nil); resp.StatusCode != 400 {
		t.Errorf("unknown parameter: got %d, want 400", resp.StatusCode)
	}
}

func TestList(t *testing.T) {
	h := newHarness(t)
	for i := range 30 {
		v, rule := analysis.Benign, ""
		if i%3 == 0 {
			v, rule = analysis.Malicious, "curl-pipe-sh"
		}
		h.seed("npm", fmt.Sprintf("p%d", i%5), fmt.Sprintf("1.0.%d", i), v, rule, 1)
	}
	h.seed("pypi", "requests", "2.0.0", analysis.Benign, "", 1)
	list := func(q string) (ListResponse, *http.Response) {
		var lr ListResponse
		resp := h.json(store.RoleRead, "GET", "/v1/analyses?"+q, "", &lr)
		return lr, resp
	}
	tests := []struct {
		query string
		want  int
	}{
		{"", 31},
		{"ecosystem=npm", 30},
		{"ecosystem=pypi&name=requests", 1},
		{"verdict=malicious", 10},
		{"rule=curl-pipe-sh", 10},
		{"name=p0&verdict=malicious", 2},
		{"status=done", 31},
		{"status=queued", 0},
		{"since=2000-01-01", 31},
		{"since=2199-01-01T00:00:00Z", 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			seen := map[string]bool{}
			cursor := ""
			for page := 0; ; page++ {
				q := tt.query + "&limit=7"
				if cursor != "" {
					q += "&cursor=" + url.QueryEscape(cursor)
				}
				lr, resp := list(q)
				if resp.StatusCode != 200 {
					t.Fatalf("page %d: got %d, want 200", page, resp.StatusCode)
				}
				if len(lr.Analyses) > 7 {
					t.Fatalf("page %d: %d records, want at most 7", page, len(lr.Analyses))
				}
				for _, r := range lr.Analyses {
					if seen[r.ID] {
						t.Fatalf("record %s on two pages", r.ID)
					}
					seen[r.ID] = true
				}
				if cursor = lr.Next; cursor == "" {
					break
				}
			}
			if len(seen) != tt.want {
				t.Errorf("got %d records, want %d", len(seen), tt.want)
			}
		})
	}
	for _, q := range []string{"verdict=evil", "status=lost", "ecosystem=cargo", "limit=0", "limit=1001", "limit=x",
		"since=yesterday", "since=-1h", "since=2999-01-01", "since=1000000h", "cursor=forged", "cursor=c7.00000000", "color=red", "name=a&name=b", "name=" + strings.Repeat("a", 600), "%zz"} {
		_, resp := list(q)
		if resp.StatusCode != 400 {
			t.Errorf("?%s: got %d, want 400", q, resp.StatusCode)
			continue
		}
		if got := errCode(t, resp); got != "bad_request" {
			t.Errorf("?%s: code %q, want bad_request", q, got)
		}
	}
}

func TestTracePages(t *testing.T) {
	h := newHarness(t)
	rec := h.seed("npm", "noisy", "1.0.0", analysis.Suspicious, "", 250)
	base := "/v1/analyses/" + rec.ID + "/trace"
	walk := func(query string) ([]trace.Event, int) {
		t.Helper()
		var all []trace.Event
		pages, cursor := 0, ""
		for {
			q := query
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			var tr TraceResponse
			if resp := h.json(store.RoleRead, "GET", base+"?"+q, "", &tr); resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("%s: got %d (%s)", q, resp.StatusCode, b)
			}
			pages++
			all = append(all, tr.Events...)
			if cursor = tr.Next; cursor == "" {
				return all, pages
			}
		}
	}
	tests := []struct {
		query        string
		events, page int
		check        func(trace.Event) bool
	}{
		{"limit=100", 250, 3, func(trace.Event) bool { return true }},
		{"limit=50", 250, 5, func(trace.Event) bool { return true }},
		{"kind=connect&limit=30", 83, 3, func(e trace.Event) bool { return e.Kind == trace.KindConnect }},
		{"pid=101&limit=1000", 50, 1, func(e trace.Event) bool { return e.TGID == 101 }},
		{"kind=exec&pid=100", 17, 1, func(e trace.Event) bool { return e.Kind == trace.KindExec && e.TGID == 100 }},
		{"kind=mount", 0, 1, func(trace.Event) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			evs, pages := walk(tt.query)
			if len(evs) != tt.events || pages != tt.page {
				t.Fatalf("got %d events in %d pages, want %d in %d", len(evs), pages, tt.events, tt.page)
			}
			for i, e := range evs {
				if !tt.check(e) {
					t.Fatalf("event %d (seq %d kind %s tgid %d) does not match the filter", i, e.Seq, e.Kind, e.TGID)
				}
				if i > 0 && e.Seq <= evs[i-1].Seq {
					t.Fatalf("event %d: seq %d after %d", i, e.Seq, evs[i-1].Seq)
				}
			}
		})
	}

	var first TraceResponse
	h.json(store.RoleRead, "GET", base+"?kind=exec&limit=10", "", &first)
	other := h.seed("npm", "other", "1.0.0", analysis.Benign, "", 50)
	bad := []string{
		base + "?kind=exec&limit=10&cursor=" + first.Next + "x",
		base + "?kind=open&limit=10&cursor=" + first.Next, // another filter
		base + "?limit=10&cursor=" + first.Next,
		"/v1/analyses/" + other.ID + "/trace?kind=exec&limit=10&cursor=" + first.Next, // another analysis
		base + "?cursor=AAAAAAAAAAoAAAAAAAAAAAAAAAAAAAAA",
		base + "?kind=Exec!",
		base + "?pid=-1",
		base + "?pid=0",
		base + "?limit=5000",
		base + "?page=2",
	}
	for _, p := range bad {
		resp := h.json(store.RoleRead, "GET", p, "", nil)
		if resp.StatusCode != 400 || errCode(t, resp) != "bad_request" {
			t.Errorf("%s: got %d, want 400 bad_request", p, resp.StatusCode)
		}
	}
	queued, _, _ := h.sched.Submit(context.Background(), Submission{Spec: "npm:later@1.0.0"})
	if resp := h.json(store.RoleRead, "GET", "/v1/analyses/"+queued.ID+"/trace", "", nil); resp.StatusCode != 404 {
		t.Errorf("trace of a queued analysis: got %d, want 404", resp.StatusCode)
	}
}

func TestProcesses(t *testing.T) {
	h := newHarness(t)
	rec := h.seed("npm", "procs", "1.0.0", analysis.Benign, "", 20)
	var pr ProcessesResponse
	if resp := h.json(store.RoleRead, "GET", "/v1/analyses/"+rec.ID+"/processes", "", &pr); resp.StatusCode != 200 {
		t.Fatalf("got %d, want 200", resp.StatusCode)
	}
	roles := map[trace.Role]int{}
	for _, p := range pr.Processes {
		roles[p.Role]++
	}
	// tgid 101 execs first: the phase's command, but what it runs is in
	// /tmp, so it is package code; the others' forks were not observed,
	// so they are package code too.
	if got, want := len(pr.Processes), 5; got != want {
		t.Fatalf("got %d processes, want %d", got, want)
	}
	first := pr.Processes[0]
	if first.Key.TGID != 101 || !first.Main || first.Why != trace.WhyWritable || roles[trace.RolePackageCode] != 5 {
		t.Errorf("roles %v, first %+v; want tgid 101 as the command run from /tmp, all package code", roles, first)
	}
	if resp := h.json(store.RoleRead, "GET", "/v1/analyses/"+rec.ID+"/processes?x=1", "", nil); resp.StatusCode != 400 {
		t.Errorf("unknown parameter: got %d, want 400", resp.StatusCode)
	}
}

func TestPackageHistory(t *testing.T) {
	h := newHarness(t)
	h.seed("npm", "@scope/pkg", "1.0.0", analysis.Benign, "", 1)
	h.seed("npm", "@scope/pkg", "1.0.1", analysis.Malicious, "x", 1)
	h.seed("npm", "pkg", "9.9.9", analysis.Benign, "", 1)
	var pr PackageResponse
	if resp := h.json(store.RoleRead, "GET", "/v1/packages/npm/@scope/pkg", "", &pr); resp.StatusCode != 200 {
		t.Fatalf("got %d, want 200", resp.StatusCode)
	}
	var got []string
	for _, v := range pr.Versions {
		got = append(got, v.Version+"="+string(v.Verdict))
	}
	if want := "1.0.1=malicious 1.0.0=benign"; strings.Join(got, " ") != want {
		t.Errorf("versions: got %q, want %q", strings.Join(got, " "), want)
	}
	// An upload claiming the registry's 1.0.0 is listed beside it, with
	// who uploaded it, and labelled; the registry record stays.
	up := &store.Record{Spec: "upload:pkg-1.0.0.tgz", Source: store.FromUpload, UploadedBy: "mallory",
		Artifact: "sha256:" + strings.Repeat("ab", 32)}
	up.ID, up.Package = "claim", analysis.Package{Ecosystem: "npm", Name: "@scope/pkg", Version: "1.0.0", Digest: up.Artifact}
	if err := h.st.Create(context.Background(), up); err != nil {
		t.Fatal(err)
	}
	pr = PackageResponse{}
	h.json(store.RoleRead, "GET", "/v1/packages/npm/@scope/pkg", "", &pr)
	got = nil
	for _, v := range pr.Versions {
		got = append(got, fmt.Sprintf("%s=%s/%s/%s/%v", v.Version, v.Verdict, v.Source, v.UploadedBy, v.ClaimsRegistry))
	}
	if want := "1.0.0=/upload/mallory/true 1.0.1=malicious/registry//false 1.0.0=benign/registry//false"; strings.Join(got, " ") != want {
		t.Errorf("versions with a claiming upload: got %q, want %q", strings.Join(got, " "), want)
	}
	// PyPI names are one project however they are spelled (PEP 503).
	h.seed("pypi", "foo-bar", "2.0", analysis.Benign, "", 1)
	var py PackageResponse
	h.json(store.RoleRead, "GET", "/v1/packages/pypi/Foo_Bar", "", &py)
	if py.Name != "foo-bar" || len(py.Versions) != 1 || py.Versions[0].Version != "2.0" {
		t.Errorf("pypi/Foo_Bar: got %+v, want foo-bar's one version", py)
	}
	var empty PackageResponse
	h.json(store.RoleRead, "GET", "/v1/packages/pypi/never-seen", "", &empty)
	if empty.Versions == nil || len(empty.Versions) != 0 {
		t.Errorf("unknown package: got %+v, want an empty list", empty.Versions)
	}
	if resp := h.json(store.RoleRead, "GET", "/v1/packages/cargo/serde", "", nil); resp.StatusCode != 400 {
		t.Errorf("unknown ecosystem: got %d, want 400", resp.StatusCode)
	}
}

func TestBatches(t *testing.T) {
	h := newHarness(t)
	var b BatchResponse
	resp := h.json(store.RoleSubmit, "POST", "/v1/batches", `{"specs":["npm:a@1.0.0","pypi:b==2.0","npm:c@1.0.0"]}`, &b)
	if resp.StatusCode != http.StatusAccepted || b.ID == "" || b.Kind != "specs" || b.Progress.Total != 3 {
		t.Fatalf("create: got %d %+v, want 202, kind specs, total 3", resp.StatusCode, b)
	}
	var got BatchResponse
	h.json(store.RoleRead, "GET", "/v1/batches/"+b.ID, "", &got)
	if got.ID != b.ID || got.Progress.Pending != 3 || got.Cancelled {
		t.Errorf("get: got %+v, want 3 pending", got)
	}
	var cancelled BatchResponse
	if resp := h.json(store.RoleSubmit, "DELETE", "/v1/batches/"+b.ID, "", &cancelled); resp.StatusCode != 200 {
		t.Fatalf("cancel: got %d, want 200", resp.StatusCode)
	}
	if !cancelled.Cancelled || cancelled.Progress.Cancelled != 3 || h.sched.cancel[0] != b.ID {
		t.Errorf("cancel: got %+v (scheduler saw %v), want cancelled", cancelled, h.sched.cancel)
	}
	ctype, body := multipartBody(t, map[string]string{"webhook": "https://127.0.0.1/h"}, "lockfile", "package-lock.json", []byte(`{"lockfileVersion":3}`))
	if resp := h.do(store.RoleSubmit, "POST", "/v1/batches", ctype, body, &b); resp.StatusCode != 202 || b.Kind != "lockfile" || b.Source != "package-lock.json" {
		t.Errorf("multipart lockfile: got %d %+v", resp.StatusCode, b)
	}
	if resp := h.json(store.RoleSubmit, "POST", "/v1/batches", `{"lockfile":"{}","lockfile_name":"package-lock.json"}`, &b); resp.StatusCode != 202 {
		t.Errorf("JSON lockfile: got %d, want 202", resp.StatusCode)
	}

	bad := []struct {
		name, body string
		want       int
	}{
		{"nothing", `{}`, 400},
		{"two kinds", `{"specs":["npm:a@1.0.0"],"rejudge":{}}`, 400},
		{"empty specs", `{"specs":[]}`, 400},
		{"bad spec", `{"specs":["npm:a@latest"]}`, 400},
		{"path spec", `{"specs":["./x.tgz"]}`, 400},
		{"lockfile without name", `{"lockfile":"{}"}`, 400},
		{"malformed lockfile", `{"lockfile":"left-pad>=1","lockfile_name":"requirements.txt"}`, 400},
		{"unknown field", `{"specs":["npm:a@1.0.0"],"priority":1}`, 400},
		{"unknown query field", `{"rejudge":{"colour":"red"}}`, 400},
		{"query with cursor", `{"rejudge":{"cursor":"x"}}`, 400},
		{"bad webhook", `{"specs":["npm:a@1.0.0"],"webhook":"ftp://x"}`, 400},
		{"oversize", `{"specs":["npm:a@1.0.0"` + strings.Repeat(`,"npm:a@1.0.0"`, 400) + `]}`, 413},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.json(store.RoleAdmin, "POST", "/v1/batches", tt.body, nil)
			if resp.StatusCode != tt.want {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("got %d, want %d (%s)", resp.StatusCode, tt.want, b)
			}
			errCode(t, resp)
		})
	}
	for _, p := range []string{"/v1/batches/nope"} {
		if resp := h.json(store.RoleRead, "GET", p, "", nil); resp.StatusCode != 404 {
			t.Errorf("GET %s: got %d, want 404", p, resp.StatusCode)
		}
		if resp := h.json(store.RoleSubmit, "DELETE", p, "", nil); resp.StatusCode != 404 {
			t.Errorf("DELETE %s: got %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestRulesArchivedHealth(t *testing.T) {
	h := newHarness(t)
	var rr struct {
		Version string       `json:"version"`
		Rules   []rules.Rule `json:"rules"`
	}
	h.json(store.RoleRead, "GET", "/v1/rules", "", &rr)
	if rr.Version != h.rules.Version() || len(rr.Rules) != len(h.rules.Rules()) || len(rr.Rules) == 0 {
		t.Errorf("rules: got version %q and %d rules, want %q and %d", rr.Version, len(rr.Rules), h.rules.Version(), len(h.rules.Rules()))
	}

	var none struct{ Tasks []DeadTask }
	h.json(store.RoleAdmin, "GET", "/v1/tasks/archived", "", &none)
	if none.Tasks == nil || len(none.Tasks) != 0 {
		t.Errorf("no dead tasks: got %#v, want []", none.Tasks)
	}
	h.sched.dead = []DeadTask{{ID: "t1", Type: "analyze", Queue: "interactive", Error: "containerd: unavailable", Retried: 25}}
	var dead struct{ Tasks []DeadTask }
	h.json(store.RoleAdmin, "GET", "/v1/tasks/archived", "", &dead)
	if len(dead.Tasks) != 1 || dead.Tasks[0].ID != "t1" || dead.Tasks[0].Error == "" {
		t.Errorf("dead tasks: got %+v", dead.Tasks)
	}

	var health map[string]string
	if resp := h.json("", "GET", "/healthz", "", &health); resp.StatusCode != 200 || health["store"] != "ok" || health["queue"] != "ok" {
		t.Errorf("healthz: got %d %v, want 200 ok", resp.StatusCode, health)
	}
	h.sched.err = fmt.Errorf("dial tcp 127.0.0.1:6379: connection refused")
	if resp := h.json("", "GET", "/healthz", "", &health); resp.StatusCode != 503 || health["queue"] == "ok" {
		t.Errorf("healthz with Redis down: got %d %v, want 503", resp.StatusCode, health)
	}
}

func TestMetrics(t *testing.T) {
	h := newHarness(t)
	h.m.Analysis(&analysis.Analysis{Verdict: analysis.Malicious, Phases: []analysis.Phase{
		{Name: "install", DurationMS: 2500, Events: 1200, Lost: 3}, {Name: "import", DurationMS: 800, Events: 40}}})
	h.m.Analysis(&analysis.Analysis{Verdict: analysis.Benign})
	h.m.SandboxFailure()
	resp := h.json("", "GET", "/metrics", "", nil)
	b, _ := io.ReadAll(resp.Body)
	text := string(b)
	for _, want := range []string{
		`fumehood_queue_depth{queue="batch"} 7`,
		`fumehood_queue_depth{queue="interactive"} 2`,
		`fumehood_analyses_total{verdict="malicious"} 1`,
		`fumehood_analyses_total{verdict="benign"} 1`,
		`fumehood_analyses_total{verdict="suspicious"} 0`,
		`fumehood_phase_duration_seconds_count{phase="install"} 1`,
		`fumehood_phase_duration_seconds_sum{phase="install"} 2.5`,
		`fumehood_trace_events_total{phase="install"} 1200`,
		`fumehood_trace_events_lost_total{phase="install"} 3`,
		`fumehood_sandbox_failures_total 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestUnknownRoutes(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		method, path string
		want         int
		code         string
	}{
		{"GET", "/v2/analyses", 404, "not_found"},
		{"GET", "/v1/nothing", 404, "not_found"},
		{"PUT", "/v1/analyses", 405, "method_not_allowed"},
		{"DELETE", "/v1/rules", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		resp := h.json(store.RoleAdmin, tt.method, tt.path, "", nil)
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: got %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			continue
		}
		if got := errCode(t, resp); got != tt.code {
			t.Errorf("%s %s: code %q, want %q", tt.method, tt.path, got, tt.code)
		}
	}
}
