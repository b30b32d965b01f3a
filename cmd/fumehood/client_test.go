package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/api"
	"github.com/fumehood/fumehood/store"
)

// fakeFarm answers the API calls the client makes from canned values and
// records what it was sent.
type fakeFarm struct {
	mu       sync.Mutex
	requests []string // "METHOD PATH"
	bodies   map[string]string
	fields   map[string]string // multipart fields and file names
	polls    int
	status   int // if not 0, every answer has this status
	down     int // answer this many next requests 503, as a restarting farm
}

func (f *fakeFarm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer fh_test" {
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"code":"unauthorized","message":"unknown token"}}`)
		return
	}
	if f.down > 0 {
		f.down--
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"code":"unavailable","message":"restarting"}}`)
		return
	}
	if f.status != 0 {
		w.WriteHeader(f.status)
		io.WriteString(w, `{"error":{"code":"x","message":"canned failure"}}`)
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			w.WriteHeader(400)
			return
		}
		for k, v := range r.MultipartForm.Value {
			f.fields[k] = v[0]
		}
		for k, v := range r.MultipartForm.File {
			f.fields[k] = v[0].Filename
		}
	} else if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		f.bodies[r.URL.Path] = string(b)
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	switch {
	case r.Method == "POST" && r.URL.Path == "/v1/analyses":
		w.WriteHeader(202)
		enc.Encode(api.SubmitResponse{ID: "a1", StatusURL: "/v1/analyses/a1"})
	case r.URL.Path == "/v1/analyses/a1":
		f.polls++
		rec := store.Record{Status: store.Running}
		rec.ID = "a1"
		if f.polls > 1 {
			rec.Status = store.Done
			rec.Verdict, rec.Score = analysis.Malicious, 90
			rec.Package = analysis.Package{Ecosystem: "npm", Name: "evil", Version: "1.0.0"}
			rec.Hits = []analysis.Hit{{Rule: "exfil", Severity: analysis.Critical, Summary: "sent a token"}}
		}
		enc.Encode(rec)
	case r.URL.Path == "/v1/analyses/missing":
		w.WriteHeader(404)
		io.WriteString(w, `{"error":{"code":"not_found","message":"analysis missing: not found"}}`)
	case r.Method == "POST" && r.URL.Path == "/v1/batches":
		w.WriteHeader(202)
		enc.Encode(api.BatchResponse{Batch: store.Batch{ID: "b1", Kind: "lockfile"}, Progress: store.Progress{Total: 3, Pending: 3}})
	case r.URL.Path == "/v1/batches/b1":
		f.polls++
		p := store.Progress{Total: 3, Done: f.polls, Pending: 3 - f.polls, Verdicts: map[analysis.Verdict]int{analysis.Benign: f.polls}}
		var members []api.Summary
		if f.polls >= 3 {
			p.Verdicts = map[analysis.Verdict]int{analysis.Benign: 2, analysis.Suspicious: 1}
			members = []api.Summary{
				{ID: "m1", Status: store.Done, Verdict: analysis.Suspicious, Package: analysis.Package{Ecosystem: "npm", Name: "shady\x1b[2J", Version: "2.0.0"}, Hits: []string{"raw-ip-destination"}},
				{ID: "m2", Status: store.Done, Verdict: analysis.Benign, Package: analysis.Package{Ecosystem: "npm", Name: "fine", Version: "1.0.0"}},
			}
		}
		enc.Encode(api.BatchResponse{Batch: store.Batch{ID: "b1"}, Progress: p, Members: members})
	case r.URL.Path == "/v1/analyses/a1/osv":
		io.WriteString(w, `{"schema_version":"1.7.5","id":"x_fumehood-a1","summary":"Malicious code in evil (npm)"}`)
	case r.URL.Path == "/v1/analyses/b0/osv":
		w.WriteHeader(404)
		io.WriteString(w, `{"error":{"code":"not_found","message":"analysis b0 is benign: there is no finding to export as OSV"}}`)
	case r.URL.Path == "/v1/diff":
		f.bodies["diff?"] = r.URL.RawQuery
		enc.Encode(analysis.Changes{From: "a0", To: "a1",
			Network: analysis.Change{Added: []string{"install http POST evil.example/\x1b[2J"}},
			Scripts: analysis.ScriptChanges{Added: []string{"install postinstall: node x.js"},
				Changed:    []string{"install install: node i.js (files changed: i.js)"},
				Uncompared: []string{"install preinstall: node p.js (files not compared: analysis a0 did not record them)"}}})
	default:
		w.WriteHeader(404)
	}
}

func startFarm(t *testing.T) (*fakeFarm, string) {
	t.Helper()
	f := &fakeFarm{bodies: map[string]string{}, fields: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Setenv("FUMEHOOD_SERVER", srv.URL)
	t.Setenv("FUMEHOOD_TOKEN", "fh_test")
	return f, srv.URL
}

func TestSubmitSpec(t *testing.T) {
	f, _ := startFarm(t)
	code, out, errOut := runCLI(t, "submit", "--webhook", "http://127.0.0.1:9/h", "npm:evil@1.0.0")
	if code != 0 || out != "a1\n" {
		t.Fatalf("got code %d stdout %q (stderr %s), want 0 and the id alone", code, out, errOut)
	}
	var req api.SubmitRequest
	if err := json.Unmarshal([]byte(f.bodies["/v1/analyses"]), &req); err != nil {
		t.Fatal(err)
	}
	if want := (api.SubmitRequest{Spec: "npm:evil@1.0.0", Webhook: "http://127.0.0.1:9/h"}); req != want {
		t.Errorf("sent %+v, want %+v", req, want)
	}
}

func TestSubmitWait(t *testing.T) {
	f, _ := startFarm(t)
	code, out, _ := runCLI(t, "submit", "--wait", "--poll", "1ms", "npm:evil@1.0.0")
	if code != 2 {
		t.Errorf("exit code %d, want 2 (malicious)", code)
	}
	if !strings.Contains(out, "verdict: MALICIOUS") || !strings.Contains(out, "exfil") {
		t.Errorf("summary lacks the verdict or the hit:\n%s", out)
	}
	if f.polls != 2 {
		t.Errorf("polled %d times, want 2 (running, then done)", f.polls)
	}
}

func TestSubmitFile(t *testing.T) {
	f, _ := startFarm(t)
	pkg := tgz(t, map[string]string{"package/package.json": `{"name":"x","version":"1.0.0"}`})
	code, out, errOut := runCLI(t, "submit", "--force", pkg)
	if code != 0 || out != "a1\n" {
		t.Fatalf("got %d %q (%s), want 0 a1", code, out, errOut)
	}
	want := map[string]string{"ecosystem": "npm", "artifact": "pkg.tgz", "force": "true"}
	for k, v := range want {
		if f.fields[k] != v {
			t.Errorf("multipart field %s = %q, want %q", k, f.fields[k], v)
		}
	}
}

func TestSubmitLockfileWait(t *testing.T) {
	f, _ := startFarm(t)
	lock := filepath.Join(t.TempDir(), "package-lock.json")
	os.WriteFile(lock, []byte(`{"lockfileVersion":3,"packages":{}}`), 0o644)
	code, out, errOut := runCLI(t, "submit", "--wait", "--poll", "1ms", lock)
	if code != 1 {
		t.Errorf("exit code %d, want 1 (worst verdict suspicious); stderr %s", code, errOut)
	}
	if f.fields["lockfile"] != "package-lock.json" {
		t.Errorf("lockfile sent as %q, want package-lock.json", f.fields["lockfile"])
	}
	if !strings.Contains(out, "batch b1: 3 done, 0 failed") {
		t.Errorf("stdout %q lacks the batch summary", out)
	}
	// Every package that is not a clean pass is named, escaped; the
	// benign ones are not.
	if !strings.Contains(out, `  suspicious npm:shady\e[2J@2.0.0  m1  raw-ip-destination`) || strings.Contains(out, "fine") {
		t.Errorf("stdout %q does not name the suspicious member alone", out)
	}
	// Not a terminal: one line per change, no bar.
	if strings.Contains(errOut, "[#") || strings.Count(errOut, "/3 ") != 3 {
		t.Errorf("progress on a non-terminal:\n%s\nwant three plain lines", errOut)
	}
}

func TestClientErrors(t *testing.T) {
	f, _ := startFarm(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"not found", nil, []string{"status", "missing"}, exitBadInput, "not_found"},
		{"bad token", map[string]string{"FUMEHOOD_TOKEN": "fh_wrong"}, []string{"status", "a1"}, exitBadInput, "unauthorized"},
		{"no token", map[string]string{"FUMEHOOD_TOKEN": ""}, []string{"status", "a1"}, exitBadInput, "no API token"},
		{"bad server", map[string]string{"FUMEHOOD_SERVER": "ftp://x"}, []string{"status", "a1"}, exitBadInput, "not an http(s) URL"},
		{"bad spec", nil, []string{"submit", "npm:evil@^1"}, exitBadInput, "bad package spec"},
		{"no such file", nil, []string{"submit", "/nonexistent.tgz"}, exitBadInput, "neither a spec"},
		{"directory", nil, []string{"submit", os.TempDir()}, exitBadInput, "is a directory"},
		{"bad query", nil, []string{"rejudge", "colour=red"}, exitBadInput, "unknown query parameter"},
		{"not a pair", nil, []string{"rejudge", "malicious"}, exitBadInput, "not KEY=VALUE"},
		{"limit", nil, []string{"rejudge", "limit=5"}, exitBadInput, "does not apply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, _, errOut := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("got %d %q, want %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
	n := len(f.requests)
	for _, r := range f.requests {
		if strings.HasPrefix(r, "POST") {
			t.Errorf("a request was sent for input the client should refuse: %s", r)
		}
	}
	f.status = 503
	if code, _, errOut := runCLI(t, "status", "a1"); code != exitInfra || !strings.Contains(errOut, "503") {
		t.Errorf("server error: got %d %q, want %d", code, errOut, exitInfra)
	}
	if len(f.requests) != n+1 {
		t.Errorf("requests %v", f.requests[n:])
	}
}

func TestStatus(t *testing.T) {
	f, _ := startFarm(t)
	code, out, _ := runCLI(t, "status", "a1")
	if code != 0 || !strings.HasPrefix(out, "a1 running") {
		t.Errorf("running: got %d %q, want 0 and the status", code, out)
	}
	code, out, _ = runCLI(t, "status", "--json", "a1")
	var rec store.Record
	if err := json.Unmarshal([]byte(out), &rec); err != nil || code != 2 || rec.Verdict != analysis.Malicious {
		t.Errorf("done: got %d %v %q, want 2 and the JSON document", code, err, out)
	}
	if f.polls != 2 {
		t.Errorf("asked %d times, want 2", f.polls)
	}
}

func TestRejudge(t *testing.T) {
	f, _ := startFarm(t)
	code, out, errOut := runCLI(t, "rejudge", "verdict=benign", "rule=exfil", "since=2026-01-02")
	if code != 0 || out != "b1\n" {
		t.Fatalf("got %d %q (%s), want 0 and the batch id", code, out, errOut)
	}
	var req map[string]map[string]any
	if err := json.Unmarshal([]byte(f.bodies["/v1/batches"]), &req); err != nil {
		t.Fatal(err)
	}
	q := req["rejudge"]
	if q["verdict"] != "benign" || q["rule"] != "exfil" || q["since"] != "2026-01-02T00:00:00Z" || len(q) != 3 {
		t.Errorf("sent rejudge %v, want verdict, rule and since only", q)
	}
	runCLI(t, "rejudge", "--rerun", "name=x")
	if err := json.Unmarshal([]byte(f.bodies["/v1/batches"]), &req); err != nil || req["rerun"]["name"] != "x" {
		t.Errorf("rerun sent %s", f.bodies["/v1/batches"])
	}
}

func TestProgressLine(t *testing.T) {
	p := store.Progress{Total: 10, Done: 4, Failed: 1, Pending: 5, Verdicts: map[analysis.Verdict]int{analysis.Malicious: 2}}
	tests := []struct {
		p    store.Progress
		bar  bool
		want string
	}{
		{p, false, "5/10  malicious 2  suspicious 0  failed 1"},
		{p, true, "[###############...............] 5/10  malicious 2  suspicious 0  failed 1"},
		{store.Progress{}, true, "[##############################] 0/0  malicious 0  suspicious 0  failed 0"},
	}
	for _, tt := range tests {
		if got := progressLine(tt.p, tt.bar); got != tt.want {
			t.Errorf("progressLine(%+v, %v)\n got %q\nwant %q", tt.p, tt.bar, got, tt.want)
		}
	}
}

// TestStatusBatchAndWait follows a batch by its id with status --wait,
// through a farm that restarts (answers 503) in the middle.
func TestStatusBatchAndWait(t *testing.T) {
	f, _ := startFarm(t)
	f.down = 0
	code, out, errOut := runCLI(t, "status", "b1")
	if code != 0 || !strings.Contains(out, "1/3") {
		t.Errorf("status of a running batch: got %d %q (%s), want 0 and its progress", code, out, errOut)
	}
	f.mu.Lock()
	f.down = 3
	f.mu.Unlock()
	code, out, errOut = runCLI(t, "status", "b1", "--wait", "--poll", "1ms")
	if code != 1 || !strings.Contains(out, "suspicious npm:shady") || !strings.Contains(errOut, "farm not answering") {
		t.Errorf("status --wait of a batch through a restart: got %d %q (%s), want 1 naming the suspicious member", code, out, errOut)
	}
	f.mu.Lock()
	f.polls, f.down = 0, 2
	f.mu.Unlock()
	code, out, errOut = runCLI(t, "status", "a1", "--wait", "--poll", "1ms")
	if code != 2 || !strings.Contains(out, "MALICIOUS") {
		t.Errorf("status --wait of an analysis through a restart: got %d %q (%s), want 2 and the summary", code, out, errOut)
	}
}
