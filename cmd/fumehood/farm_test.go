package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/internal/leftovers"
	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
)

// The farm tests run the real thing: a redis-server of their own (append
// only, no eviction) on a free loopback port, `fumehood serve` and
// `fumehood worker` processes built from this package, containerd, eBPF and
// the sandbox image. Each worker process has a state dir of its own.

// farm is one running farm: its binary, Redis, data dir and API.
type farm struct {
	tb         testing.TB
	bin, redis string
	data       string
	containerd string
	api        string // http://127.0.0.1:PORT
	read, sub  string // tokens with roles read and submit
	admin      string
	logs       string // dir of the processes' logs
}

// newFarm starts Redis and `fumehood serve --workers serveWorkers` (0: API
// only), and creates a token of each role with `fumehood token create`.
func newFarm(tb testing.TB, serveWorkers int) *farm {
	tb.Helper()
	addr := testenv.Containerd(tb)
	testenv.BPF(tb)
	_, err := exec.LookPath("redis-server")
	testenv.Require(tb, err == nil, "redis-server on PATH")
	f := &farm{tb: tb, containerd: addr, data: tb.TempDir(), logs: tb.TempDir()}
	f.bin = filepath.Join(tb.TempDir(), "fumehood")
	if out, err := exec.Command("go", "build", "-o", f.bin, ".").CombinedOutput(); err != nil {
		tb.Fatalf("build: %v\n%s", err, out)
	}
	f.redis = startRedis(tb, f.logs)
	f.api = "http://" + freeAddr(tb)
	f.start("serve", "serve", "--listen", strings.TrimPrefix(f.api, "http://"), "--data", f.data, "--redis", f.redis,
		"--containerd", addr, "--state", stateDir("serve"), "--workers", fmt.Sprint(serveWorkers))
	testenv.WaitFor(tb, 2*time.Minute, "the API's /healthz", func() bool {
		resp, err := http.Get(f.api + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	f.read, f.sub, f.admin = f.token("read"), f.token("submit"), f.token("admin")
	tb.Cleanup(func() {
		if tb.Failed() {
			f.dumpLogs()
		}
	})
	return f
}

// token creates a token of role with `fumehood token create`.
func (f *farm) token(role string) string {
	f.tb.Helper()
	out, err := exec.Command(f.bin, "token", "create", "--role", role, "--name", "test-"+role, "--data", f.data).Output()
	if err != nil {
		f.tb.Fatalf("token create --role %s: %v", role, err)
	}
	tok := strings.TrimSuffix(string(out), "\n")
	if tok == "" || strings.ContainsAny(tok, " \n") {
		f.tb.Fatalf("token create printed %q, want the token alone", out)
	}
	return tok
}

// stateDir returns the state dir of one farm process. It is the same in
// every run (its netns directory stays a mount point, as /run/netns does),
// and what a killed run left there is reaped by the next start.
func stateDir(name string) string { return testenv.StateDir("e2e-" + name) }

// start runs `fumehood ARGS...` logging to logs/NAME.log, stopped at the
// end of the test (SIGTERM, SIGKILL after 3 minutes).
func (f *farm) start(name string, args ...string) *testenv.Process {
	f.tb.Helper()
	p := testenv.StartProcess(f.tb, filepath.Join(f.logs, name+".log"), []string{"FUMEHOOD_DEBUG=1"}, append([]string{f.bin}, args...)...)
	f.tb.Cleanup(func() { p.Stop(3 * time.Minute) })
	return p
}

// worker starts `fumehood worker` with one analysis at a time.
func (f *farm) worker(name, state string) *testenv.Process {
	return f.start(name, "worker", "--redis", f.redis, "--data", f.data, "--containerd", f.containerd, "--state", state, "--workers", "1")
}

func (f *farm) dumpLogs() {
	ents, _ := os.ReadDir(f.logs)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(f.logs, e.Name()))
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		f.tb.Logf("--- %s (end)\n%s", e.Name(), b)
	}
}

// startRedis runs a redis-server configured as the farm requires on a
// free loopback port until the test ends, and returns its address.
func startRedis(tb testing.TB, logs string) string {
	tb.Helper()
	addr := freeAddr(tb)
	host, port, _ := net.SplitHostPort(addr)
	dir := tb.TempDir()
	cmd := exec.Command("redis-server", "--bind", host, "--port", port, "--dir", dir, "--save", "",
		"--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction",
		"--logfile", filepath.Join(logs, "redis.log"))
	if err := cmd.Start(); err != nil {
		tb.Fatalf("redis-server: %v", err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	testenv.WaitFor(tb, time.Minute, "redis-server at "+addr, func() bool { return c.Ping(context.Background()).Err() == nil })
	return addr
}

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// do sends an API request with token and decodes a JSON answer into out
// (when not nil); it returns the status code.
func (f *farm) do(method, path, token string, body io.Reader, contentType string, out any) int {
	f.tb.Helper()
	req, err := http.NewRequest(method, f.api+path, body)
	if err != nil {
		f.tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.tb.Fatalf("%s %s: %v", method, path, err)
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			f.tb.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// get GETs path as the read token into out and fails tb unless 200.
func (f *farm) get(path string, out any) {
	f.tb.Helper()
	if code := f.do(http.MethodGet, path, f.read, nil, "", out); code != http.StatusOK {
		f.tb.Fatalf("GET %s: status %d, want 200", path, code)
	}
}

// submitted is POST /v1/analyses' answer.
type submitted struct {
	ID        string `json:"id"`
	StatusURL string `json:"status_url"`
	Existing  bool   `json:"existing"`
}

// upload submits the npm artifact file by multipart upload.
func (f *farm) upload(file string) submitted {
	f.tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("ecosystem", "npm")
	w, err := mw.CreateFormFile("artifact", filepath.Base(file))
	if err != nil {
		f.tb.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		f.tb.Fatal(err)
	}
	w.Write(b)
	mw.Close()
	var s submitted
	if code := f.do(http.MethodPost, "/v1/analyses", f.sub, &body, mw.FormDataContentType(), &s); code != http.StatusAccepted {
		f.tb.Fatalf("upload %s: status %d, want 202", file, code)
	}
	return s
}

// record is GET /v1/analyses/{id}: the analyze --json document plus
// status.
// summary is a row of the analysis list (GET /v1/analyses), which names
// hits by rule only.
type summary struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Package struct {
		Ecosystem, Name, Version, Digest string
	} `json:"package"`
	Verdict string   `json:"verdict"`
	Hits    []string `json:"hits"`
}

type record struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Error   string `json:"error"`
	Package struct {
		Ecosystem, Name, Version, Digest string
	} `json:"package"`
	Verdict string `json:"verdict"`
	Score   *int   `json:"score"`
	Hits    []struct {
		Rule     string   `json:"rule"`
		Severity string   `json:"severity"`
		Evidence []string `json:"evidence"`
	} `json:"hits"`
	Phases []struct {
		Name   string `json:"name"`
		Events int    `json:"events"`
		Lost   uint64 `json:"lost"`
	} `json:"phases"`
	Coverage struct {
		Scripts []struct{ Name string } `json:"scripts"`
	} `json:"coverage"`
	Rules    string `json:"rules_version"`
	Attempts int    `json:"attempts"`
}

// wait polls the analysis until it is done or failed.
func (f *farm) wait(id string, bound time.Duration) record {
	f.tb.Helper()
	var r record
	testenv.WaitFor(f.tb, bound, "analysis "+id, func() bool {
		r = record{}
		f.get("/v1/analyses/"+id, &r)
		return r.Status == "done" || r.Status == "failed"
	})
	return r
}

// pack packs the npm package source dir into a .tgz like the farm's
// ecosystem package does, and returns the file.
func pack(tb testing.TB, cfg ecosystem.Config, dir string) string {
	tb.Helper()
	a, err := ecosystem.Fetch(context.Background(), cfg, ecosystem.Target{Ecosystem: ecosystem.NPM, Path: dir}, tb.TempDir())
	if err != nil {
		tb.Fatalf("pack %s: %v", dir, err)
	}
	return a.File
}

func ecosystemConfig(tb testing.TB) ecosystem.Config {
	cfg, err := ecosystem.DefaultConfig(context.Background())
	if err != nil {
		tb.Logf("no npm registry (%v): packing without one", err)
		return ecosystem.Config{}
	}
	return cfg
}

// harmless writes n npm packages NAME-i@1.0.0 under a temp dir, each
// with the postinstall script given ("" for none), and returns their dirs.
func harmless(tb testing.TB, name string, n int, postinstall string) []string {
	tb.Helper()
	root := tb.TempDir()
	var dirs []string
	for i := range n {
		d := filepath.Join(root, fmt.Sprintf("%s-%d", name, i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
		manifest := map[string]any{"name": fmt.Sprintf("%s-%d", name, i), "version": "1.0.0", "main": "index.js", "license": "MIT"}
		if postinstall != "" {
			manifest["scripts"] = map[string]string{"postinstall": postinstall}
		}
		b, _ := json.Marshal(manifest)
		if err := os.WriteFile(filepath.Join(d, "package.json"), b, 0o644); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "index.js"), []byte("module.exports = (a, b) => a + b;\n"), 0o644); err != nil {
			tb.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	return dirs
}

// traceEvent is what the trace pages are checked on.
type traceEvent struct {
	Seq  uint64 `json:"seq"`
	Kind string `json:"kind"`
}

// tracePages reads every page of the trace of id with the query q (without
// cursor), checking that sequence numbers only grow, and returns the
// events and the number of pages.
func (f *farm) tracePages(id string, q url.Values) ([]traceEvent, int) {
	f.tb.Helper()
	var all []traceEvent
	pages := 0
	for cursor := ""; ; pages++ {
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Events []traceEvent `json:"events"`
			Next   *string      `json:"next"`
		}
		f.get("/v1/analyses/"+id+"/trace?"+q.Encode(), &page)
		if page.Next == nil {
			f.tb.Fatalf("trace page without a next field")
		}
		for _, e := range page.Events {
			if len(all) > 0 && e.Seq <= all[len(all)-1].Seq {
				f.tb.Fatalf("trace page %d: seq %d after %d", pages, e.Seq, all[len(all)-1].Seq)
			}
			all = append(all, e)
		}
		if *page.Next == "" {
			return all, pages + 1
		}
		if len(page.Events) == 0 {
			f.tb.Fatalf("trace page %d: empty with a next cursor", pages)
		}
		cursor = *page.Next
	}
}

// TestFarmAPI runs a farm (serve with one in-process worker) and drives it
// through the API: a malicious and a benign corpus sample by upload and a
// registry version by spec, the analysis documents, paged traces, package
// history and search filters.
func TestFarmAPI(t *testing.T) {
	f := newFarm(t, 1)
	corpus := testenv.Corpus(t)
	cfg := ecosystemConfig(t)
	bad := f.upload(pack(t, cfg, filepath.Join(corpus, "npm", "color-term-helper")))
	good := f.upload(pack(t, cfg, filepath.Join(corpus, "npm", "left-pad-plus")))
	var spec submitted
	if code := f.do(http.MethodPost, "/v1/analyses", f.sub, strings.NewReader(`{"spec":"npm:is-number@7.0.0"}`), "application/json", &spec); code != http.StatusAccepted {
		t.Fatalf("submit spec: status %d, want 202", code)
	}
	if code := f.do(http.MethodPost, "/v1/analyses", f.read, strings.NewReader(`{"spec":"npm:is-number@7.0.0"}`), "application/json", nil); code != http.StatusForbidden {
		t.Errorf("submit with a read token: status %d, want 403", code)
	}
	for _, s := range []submitted{bad, good, spec} {
		if len(s.ID) != 36 || s.StatusURL != "/v1/analyses/"+s.ID || s.Existing {
			t.Errorf("submit answer %+v: want a new uuid and its status URL", s)
		}
	}

	want := []struct {
		sub           submitted
		name, version string
		verdict       string
	}{
		{bad, "color-term-helper", "1.2.0", "malicious"},
		{good, "left-pad-plus", "", "benign"},
		{spec, "is-number", "7.0.0", "benign"},
	}
	recs := map[string]record{}
	for _, w := range want {
		r := f.wait(w.sub.ID, 10*time.Minute)
		recs[w.name] = r
		if r.Status != "done" || r.ID != w.sub.ID || r.Verdict != w.verdict || r.Package.Name != w.name || r.Package.Ecosystem != "npm" ||
			(w.version != "" && r.Package.Version != w.version) || !strings.HasPrefix(r.Package.Digest, "sha256:") {
			t.Errorf("%s: got %s %s %s %s@%s (error %q); want done, %s, %s", w.name, r.ID, r.Status, r.Verdict, r.Package.Name, r.Package.Version, r.Error, w.sub.ID, w.verdict)
		}
		// the ci phase runs again the install scripts a package has
		phases := []string{"install", "import", "session"}
		if len(r.Coverage.Scripts) > 0 {
			phases = slices.Insert(phases, 1, "ci")
		}
		var names []string
		for _, p := range r.Phases {
			names = append(names, p.Name)
		}
		if r.Score == nil || r.Rules == "" || !slices.Equal(names, phases) || r.Attempts != 1 {
			t.Errorf("%s: document %+v: want a score, the rules version, phases %q, one attempt", w.name, r, phases)
		}
	}
	mal := recs["color-term-helper"]
	if len(mal.Hits) == 0 || len(mal.Hits[0].Evidence) == 0 {
		t.Fatalf("malicious sample without hits and evidence: %+v", mal.Hits)
	}

	t.Run("trace pages", func(t *testing.T) {
		whole, pages := f.tracePages(bad.ID, url.Values{"limit": {"1000"}})
		var phaseEvents int
		for _, p := range mal.Phases {
			phaseEvents += p.Events
		}
		if len(whole) < phaseEvents || phaseEvents == 0 {
			t.Fatalf("trace has %d events in %d pages of 1000; the phases recorded %d", len(whole), pages, phaseEvents)
		}
		paged, pages := f.tracePages(bad.ID, url.Values{"limit": {"37"}})
		if got, want := len(paged), len(whole); got != want || pages != (want+36)/37 {
			t.Errorf("pages of 37: got %d events in %d pages, want %d in %d", got, pages, want, (want+36)/37)
		}
		if !slices.Equal(paged, whole) {
			t.Errorf("pages of 37 differ from pages of 1000")
		}
		kinds := map[string]int{}
		for _, e := range whole {
			kinds[e.Kind]++
		}
		t.Logf("trace of %s: %d events (%d in phases), kinds %v", bad.ID, len(whole), phaseEvents, kinds)
		if kinds["exec"] == 0 || kinds["connect"] == 0 {
			t.Fatalf("kinds %v: a reverse shell execs and connects", kinds)
		}
		for _, kind := range []string{"exec", "connect"} {
			got, _ := f.tracePages(bad.ID, url.Values{"kind": {kind}, "limit": {"5"}})
			if len(got) != kinds[kind] {
				t.Errorf("kind=%s: got %d events through its pages, want %d", kind, len(got), kinds[kind])
			}
			for _, e := range got {
				if e.Kind != kind {
					t.Errorf("kind=%s page holds a %s event", kind, e.Kind)
				}
			}
		}
		var first struct{ Next string }
		f.get("/v1/analyses/"+bad.ID+"/trace?kind=exec&limit=1", &first)
		if first.Next == "" {
			t.Fatal("no cursor after a page of one exec")
		}
		tampered := []byte(first.Next)
		tampered[2] ^= 1
		for _, q := range []string{"kind=exec&limit=1&cursor=" + string(tampered), "kind=connect&limit=1&cursor=" + first.Next} {
			if code := f.do(http.MethodGet, "/v1/analyses/"+bad.ID+"/trace?"+q, f.read, nil, "", nil); code != http.StatusBadRequest {
				t.Errorf("trace?%s: status %d, want 400", q, code)
			}
		}
	})

	t.Run("package history", func(t *testing.T) {
		var p struct {
			Ecosystem, Name string
			Versions        []struct {
				ID, Version, Status, Verdict string
			}
		}
		f.get("/v1/packages/npm/color-term-helper", &p)
		if p.Name != "color-term-helper" || len(p.Versions) != 1 || p.Versions[0].ID != bad.ID || p.Versions[0].Verdict != "malicious" || p.Versions[0].Version != "1.2.0" || p.Versions[0].Status != "done" {
			t.Errorf("package history %+v, want the one malicious analysis %s", p, bad.ID)
		}
		f.get("/v1/packages/npm/no-such-package-here", &p)
		if len(p.Versions) != 0 {
			t.Errorf("history of an unknown package: %+v", p.Versions)
		}
	})

	t.Run("search", func(t *testing.T) {
		tests := []struct {
			query string
			want  []string
		}{
			{"verdict=malicious", []string{bad.ID}},
			{"verdict=benign", []string{spec.ID, good.ID}},
			{"rule=" + url.QueryEscape(mal.Hits[0].Rule), []string{bad.ID}},
			{"name=left-pad-plus", []string{good.ID}},
			{"name=is-number&verdict=benign", []string{spec.ID}},
			{"name=is-number&verdict=malicious", nil},
			{"ecosystem=pypi", nil},
		}
		for _, tt := range tests {
			var l struct {
				Analyses []summary
				Next     string
			}
			f.get("/v1/analyses?"+tt.query, &l)
			var got []string
			for _, r := range l.Analyses {
				got = append(got, r.ID)
			}
			if !sameSet(got, tt.want) || l.Next != "" {
				t.Errorf("search %s: got %v (next %q), want %v", tt.query, got, l.Next, tt.want)
			}
		}
		// Pages of one add up to the whole list.
		var ids []string
		for cursor := ""; ; {
			var l struct {
				Analyses []summary
				Next     string
			}
			f.get("/v1/analyses?limit=1&cursor="+url.QueryEscape(cursor), &l)
			for _, r := range l.Analyses {
				ids = append(ids, r.ID)
			}
			if l.Next == "" || len(ids) > 10 {
				break
			}
			cursor = l.Next
		}
		if !sameSet(ids, []string{bad.ID, good.ID, spec.ID}) || len(ids) != 3 {
			t.Errorf("pages of one: got %v, want the three analyses once each", ids)
		}
	})
}

// countStatus counts the done analyses of packages named with prefix,
// failing tb on a failed one.
func countStatus(tb testing.TB, st store.Store, prefix string) int {
	tb.Helper()
	done := 0
	for cursor := ""; ; {
		recs, next, err := st.List(context.Background(), store.Query{Limit: 1000, Cursor: cursor})
		if err != nil {
			tb.Fatal(err)
		}
		for _, r := range recs {
			switch {
			case !strings.HasPrefix(r.Package.Name, prefix):
			case r.Status == store.Done:
				done++
			case r.Status == store.Failed:
				tb.Fatalf("analysis %s of %s failed: %s", r.ID, r.Package.Name, r.Error)
			}
		}
		if cursor = next; cursor == "" {
			return done
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// running returns the id of an analysis the worker owning state runs in a
// container now, or "".
func running(tb testing.TB, addr, state string) string {
	tb.Helper()
	id, err := leftovers.Running(context.Background(), addr, state)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// ownLeftovers lists what the farm's processes left behind: everything in
// their state dirs, and the containers, snapshots and cgroups that name one
// of ids (other tests may run analyses on this machine at the same time).
func ownLeftovers(tb testing.TB, addr string, states, ids []string) []string {
	tb.Helper()
	var out []string
	for _, s := range states {
		left, err := leftovers.Find(context.Background(), addr, s, "")
		if err != nil {
			tb.Fatal(err)
		}
		for _, l := range left {
			kind, _, _ := strings.Cut(l, " ")
			if kind == "ws" || kind == "netns" || kind == "mount" || slices.ContainsFunc(ids, func(id string) bool { return strings.Contains(l, id) }) {
				out = append(out, l)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// queuesIdle reports whether no task of the farm is pending, running,
// scheduled or waiting for a retry, and returns the archived count.
func queuesIdle(tb testing.TB, redisAddr string) (bool, int) {
	tb.Helper()
	in := asynq.NewInspector(asynq.RedisClientOpt{Addr: redisAddr})
	defer in.Close()
	queues, err := in.Queues() // those that exist: a queue never used does not
	if err != nil {
		tb.Fatal(err)
	}
	idle, archived := true, 0
	for _, q := range queues {
		info, err := in.GetQueueInfo(q)
		if err != nil {
			tb.Fatal(err)
		}
		if info.Pending+info.Active+info.Scheduled+info.Retry > 0 {
			idle = false
		}
		archived += info.Archived
	}
	return idle, archived
}

// TestFarmTwoWorkersKill9 drains a batch of 20 uploads with two worker
// processes (one analysis at a time each) behind an API-only serve; one
// worker is killed with SIGKILL while it has a container running. The
// batch completes, each analysis is stored once, the killed analysis is
// re-delivered after its lease, and the killed worker's next start reaps
// what it left.
func TestFarmTwoWorkersKill9(t *testing.T) {
	f := newFarm(t, 0)
	cfg := ecosystemConfig(t)
	const n = 20
	var files []string
	for _, d := range harmless(t, "fh-e2e", n, `node -e "setTimeout(() => {}, 1000)"`) {
		files = append(files, pack(t, cfg, d))
	}
	stateA, stateB := stateDir("worker-a"), stateDir("worker-b")
	a := f.worker("worker-a", stateA)
	f.worker("worker-b", stateB)
	var ids []string
	for _, file := range files {
		ids = append(ids, f.upload(file).ID)
	}

	var killed string
	testenv.WaitFor(t, 10*time.Minute, "worker a to run a container", func() bool {
		if a.Exited() {
			t.Fatalf("worker a exited: %v", a.Err)
		}
		killed = running(t, f.containerd, stateA)
		return killed != ""
	})
	a.Cmd.Process.Signal(syscall.SIGKILL)
	<-a.Done
	if left := ownLeftovers(t, f.containerd, []string{stateA}, []string{killed}); len(left) == 0 {
		t.Fatal("kill -9 left nothing to reap: the test proves nothing")
	}
	// The next start of worker a reaps what it left; the killed task
	// comes back to a worker when its lease has expired (30 s, then up to
	// a minute until a recoverer runs, then the retry delay).
	f.worker("worker-a2", stateA)

	st, _, err := store.Open(context.Background(), f.data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testenv.WaitFor(t, 10*time.Minute, "the batch to complete", func() bool {
		return countStatus(t, st, "fh-e2e-") == n
	})
	attempts := map[string]int{}
	for i := range n {
		name := fmt.Sprintf("fh-e2e-%d", i)
		recs, _, err := st.List(context.Background(), store.Query{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].Status != store.Done || recs[0].Verdict != "benign" || recs[0].Package.Version != "1.0.0" {
			t.Errorf("%s: %d records %+v, want one done and benign", name, len(recs), recs)
			continue
		}
		attempts[recs[0].ID] = recs[0].Attempts
	}
	t.Logf("killed worker a running %s; stored after %d attempts", killed, attempts[killed])
	if got := attempts[killed]; got != 2 {
		t.Errorf("the killed analysis %s has %d attempts, want 2 (killed, then re-delivered once)", killed, got)
	}
	for _, sub := range []string{"work", "uploads"} {
		if ents, _ := os.ReadDir(filepath.Join(f.data, sub)); len(ents) != 0 {
			t.Errorf("left in --data/%s after the batch: %d entries, the first %s", sub, len(ents), ents[0].Name())
		}
	}
	testenv.WaitFor(t, 2*time.Minute, "the queues to empty", func() bool { idle, _ := queuesIdle(t, f.redis); return idle })
	if _, archived := queuesIdle(t, f.redis); archived != 0 {
		t.Errorf("%d archived tasks, want none", archived)
	}
	if left := ownLeftovers(t, f.containerd, []string{stateA, stateB}, ids); len(left) != 0 {
		t.Errorf("left behind after the batch: %q", left)
	}
}

// TestFarmWorkerSIGTERM stops a worker with SIGTERM in the middle of an
// analysis: the worker ends within its shutdown bound, having finished the
// analysis or handed it back, and the analysis completes exactly once.
func TestFarmWorkerSIGTERM(t *testing.T) {
	f := newFarm(t, 0)
	dir := harmless(t, "fh-e2e-term", 1, `node -e "setTimeout(() => {}, 4000)"`)[0]
	state := stateDir("worker")
	w := f.worker("worker", state)
	id := f.upload(pack(t, ecosystemConfig(t), dir)).ID
	testenv.WaitFor(t, 5*time.Minute, "the worker to run a container", func() bool {
		if w.Exited() {
			t.Fatalf("worker exited: %v", w.Err)
		}
		return running(t, f.containerd, state) == id
	})
	// The worker's shutdown bound is 30 s; the test's is generous: it
	// asserts an orderly end, not how fast this machine cleans up.
	if !w.Stop(3 * time.Minute) {
		t.Fatal("the worker did not end within 3 minutes of SIGTERM")
	}
	if w.Err != nil {
		t.Errorf("worker after SIGTERM: %v, want exit 0", w.Err)
	}
	var r record
	f.get("/v1/analyses/"+id, &r)
	t.Logf("after SIGTERM the analysis is %s (attempts %d)", r.Status, r.Attempts)
	if r.Status == "failed" {
		t.Fatalf("SIGTERM failed the analysis: %s", r.Error)
	}
	f.worker("worker-next", state)
	r = f.wait(id, 10*time.Minute)
	if r.Status != "done" || r.Verdict != "benign" {
		t.Errorf("analysis %s %s (%s), want done and benign", r.Status, r.Verdict, r.Error)
	}
	testenv.WaitFor(t, 2*time.Minute, "the queues to empty", func() bool { idle, _ := queuesIdle(t, f.redis); return idle })
	var l struct{ Analyses []summary }
	f.get("/v1/analyses?name=fh-e2e-term-0", &l)
	if len(l.Analyses) != 1 || l.Analyses[0].Status != "done" {
		t.Errorf("records of the package: %+v, want one done", l.Analyses)
	}
	if left := ownLeftovers(t, f.containerd, []string{state}, []string{id}); len(left) != 0 {
		t.Errorf("left behind: %q", left)
	}
}

// BenchmarkFarm measures analyses per minute of a small harmless package
// (no install script) with 1 and 2 worker processes of one analysis at a
// time, from the first upload to the last analysis done; the workers are
// running (registered with Redis) before the clock starts. It does so on
// the embedded store (SQLite and a blob directory) and on a farm's
// (PostgreSQL and an S3 bucket: testenv.PostgresSchema, testenv.S3, which
// every process of the farm reads from FUMEHOOD_STORE and FUMEHOOD_BLOBS),
// one after the other in the same run. Run it with -benchtime Nx: b.N
// analyses per run.
func BenchmarkFarm(b *testing.B) {
	for _, st := range []string{"sqlite", "postgres"} {
		b.Run(st, func(b *testing.B) {
			if st == "postgres" {
				b.Setenv("FUMEHOOD_STORE", testenv.PostgresSchema(b))
				b.Setenv("FUMEHOOD_BLOBS", testenv.S3(b))
			}
			benchFarm(b, st)
		})
	}
}

func benchFarm(b *testing.B, storeName string) {
	f := newFarm(b, 0)
	cfg := ecosystemConfig(b)
	in := asynq.NewInspector(asynq.RedisClientOpt{Addr: f.redis})
	defer in.Close()
	dsn := cmp.Or(os.Getenv("FUMEHOOD_STORE"), f.data)
	runs := 0
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			runs++
			prefix := fmt.Sprintf("fh-bench-%s-%d", storeName, runs)
			var files []string
			for _, d := range harmless(b, prefix, b.N, "") {
				files = append(files, pack(b, cfg, d))
			}
			var procs []*testenv.Process
			for i := range workers {
				procs = append(procs, f.worker(fmt.Sprintf("bench-%d-%d", runs, i), stateDir(fmt.Sprintf("bench-%d", i))))
			}
			testenv.WaitFor(b, 2*time.Minute, "the workers to register", func() bool {
				s, err := in.Servers()
				return err == nil && len(scheduler.WorkerProcesses(s)) == workers
			})
			st, _, err := store.Open(context.Background(), dsn, store.WithBlobs(os.Getenv("FUMEHOOD_BLOBS")))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			name := prefix + "-"
			b.ResetTimer()
			for _, file := range files {
				f.upload(file)
			}
			for countStatus(b, st, name) < b.N {
				time.Sleep(100 * time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Minutes(), "analyses/min")
			for _, p := range procs {
				p.Stop(3 * time.Minute)
			}
			testenv.WaitFor(b, 2*time.Minute, "the workers to unregister", func() bool {
				s, err := in.Servers()
				return err == nil && len(s) == 0
			})
		})
	}
}

// TestFarmFeed runs `fumehood serve --feed` against a registry stand-in:
// the version of a watched package published just now is analysed once by
// a worker, through the feed queue, and a watched package the registry
// does not know does not stop the feed. The worker's own /metrics count
// the analysis.
func TestFarmFeed(t *testing.T) {
	f := newFarm(t, 0)
	const name = "fh-e2e-feed-0"
	tgz, err := os.ReadFile(pack(t, ecosystemConfig(t), harmless(t, "fh-e2e-feed", 1, "")[0]))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(tgz)
	var reg *httptest.Server
	reg = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/" + name:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"name":%q,"dist-tags":{"latest":"1.0.0"},"time":{"1.0.0":%q},
				"versions":{"1.0.0":{"dist":{"tarball":%q,"integrity":"sha512-%s"}}}}`,
				name, time.Now().UTC().Format(time.RFC3339), reg.URL+"/t/"+name+"-1.0.0.tgz", base64.StdEncoding.EncodeToString(sum[:]))
		case "/t/" + name + "-1.0.0.tgz":
			w.Write(tgz)
		default:
			http.NotFound(w, r)
		}
	}))
	defer reg.Close()
	// The feed's serve and the worker read the registry from the
	// environment they inherit.
	t.Setenv("FUMEHOOD_NPM_REGISTRY", reg.URL+"/")
	watch := filepath.Join(t.TempDir(), "watch.txt")
	if err := os.WriteFile(watch, []byte("npm:"+name+"\nnpm:fh-e2e-not-in-registry\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.start("feed", "serve", "--listen", freeAddr(t), "--data", f.data, "--redis", f.redis, "--workers", "0",
		"--feed", watch, "--feed-every", "1h")
	metrics := freeAddr(t)
	f.start("worker", "worker", "--redis", f.redis, "--data", f.data, "--containerd", f.containerd, "--state", stateDir("worker"),
		"--workers", "1", "--metrics", metrics)
	var l struct{ Analyses []summary }
	testenv.WaitFor(t, 10*time.Minute, "the feed's analysis", func() bool {
		l.Analyses = nil
		f.get("/v1/analyses?name="+name, &l)
		return len(l.Analyses) > 0 && (l.Analyses[0].Status == "done" || l.Analyses[0].Status == "failed")
	})
	r := l.Analyses[0]
	if len(l.Analyses) != 1 || r.Status != "done" || r.Verdict != "benign" || r.Package.Version != "1.0.0" {
		t.Errorf("analyses of %s: %+v, want one done benign 1.0.0", name, l.Analyses)
	}
	testenv.WaitFor(t, 2*time.Minute, "the queues to empty", func() bool { idle, _ := queuesIdle(t, f.redis); return idle })

	// The worker process counts what it analysed on its own /metrics.
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`fumehood_analyses_total{verdict="benign"} 1`, `fumehood_phase_duration_seconds_count{phase="install"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("worker /metrics lacks %q:\n%s", want, body)
		}
	}
}
