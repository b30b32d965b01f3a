package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
	"github.com/fumehood/fumehood/worker"
)

// e2eRedisDB is this package's Redis database; other packages use others.
const e2eRedisDB = 13

// verdictFarm stands in for the sandbox behind a real scheduler and a
// real worker handler: it never runs a package. It checks the artifact
// the worker handed it (ecosystem.Fetch: the file must be the version it
// is said to be) and returns the verdict the test set for those bytes,
// once the test releases them, under the canonical name as the pipeline
// does.
type verdictFarm struct {
	mu       sync.Mutex
	verdicts map[string]analysis.Verdict // by artifact digest
	release  map[string]chan struct{}
	analysed map[string]string // digest → analysis id
}

func (f *verdictFarm) set(digest string, v analysis.Verdict) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verdicts[digest] = v
	f.release[digest] = make(chan struct{})
	return f.release[digest]
}

func (f *verdictFarm) AnalyzeWithID(ctx context.Context, id string, t ecosystem.Target) (*analysis.Analysis, error) {
	work, err := os.MkdirTemp("", "fumehood-e2e-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	art, err := ecosystem.Fetch(ctx, ecosystem.Config{NPMRegistry: "http://127.0.0.1:9"}, t, work)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	v, ok := f.verdicts[art.Digest]
	gate := f.release[art.Digest]
	f.analysed[art.Digest] = id
	f.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no verdict for %s: %w", art.Digest, ecosystem.ErrBadArtifact)
	}
	select {
	case <-gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	a := &analysis.Analysis{ID: id, Package: analysis.Package{Ecosystem: art.Ecosystem, Name: ecosystem.CanonicalName(art.Ecosystem, art.Name), Version: art.Version, Digest: art.Digest},
		Verdict: v, Rules: e2eRules, Started: time.Now().UTC(), Finished: time.Now().UTC(), Trace: &trace.Trace{},
		Coverage: analysis.Coverage{Level: analysis.CoverageFull, InstallOK: true}}
	if v == analysis.Malicious {
		a.Score = 100
		a.Hits = []analysis.Hit{{Rule: "cred-ssh-key", Severity: analysis.Critical, Summary: "read ~/.ssh/id_rsa", Evidence: []string{"open ~/.ssh/id_rsa"}}}
	}
	return a, nil
}

const e2eRules = "rules-e2e"

// startFarm runs a real scheduler (Redis) and worker handler in front
// of a verdictFarm, on a fresh store, and a firewall made by newFW over
// upstream that queues its analyses there, until the test ends.
func startFarm[F firewall](t *testing.T, eco ecosystem.Config, upstream string, newFW func(Config) (F, error)) (store.Store, *httptest.Server, *verdictFarm) {
	addr := testenv.Redis(t)
	testenv.FlushRedisDB(t, addr, e2eRedisDB)
	redisOpt := asynq.RedisClientOpt{Addr: addr, DB: e2eRedisDB}
	ctx, cancel := context.WithCancel(context.Background())
	st, blobs, err := store.Open(ctx, t.TempDir())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	sched := scheduler.New(redisOpt, st, blobs, e2eRules, scheduler.WithEcosystem(eco))
	farm := &verdictFarm{verdicts: map[string]analysis.Verdict{}, release: map[string]chan struct{}{}, analysed: map[string]string{}}
	workerDone, workDir := make(chan error, 1), t.TempDir()
	go func() {
		quiet := slog.New(slog.DiscardHandler)
		h := &worker.Handler{Pipeline: farm, Store: st, Blobs: blobs, WorkDir: workDir, Logger: quiet}
		workerDone <- worker.Serve(ctx, worker.FarmConfig{Redis: redisOpt, Handler: h, PollInterval: 100 * time.Millisecond,
			ShutdownTimeout: 5 * time.Second, Logger: quiet})
	}()
	t.Cleanup(func() {
		farm.mu.Lock()
		for _, g := range farm.release {
			select {
			case <-g:
			default:
				close(g)
			}
		}
		farm.mu.Unlock()
		cancel()
		<-workerDone
		sched.Close()
		st.Close()
	})
	px, err := newFW(Config{Upstream: upstream, Policy: Policy{Quarantine: 72 * time.Hour, Rules: e2eRules},
		Store: st.(store.Firewall), Blobs: blobs, Scheduler: sched, AnalysisURL: "http://farm.test", PackumentTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(px)
	t.Cleanup(func() { // before the farm stops
		srv.Close()
		px.Close()
	})
	return st, srv, farm
}

// npmClient runs the real npm against the firewall, in a directory of
// its own with its own cache and configuration, never running a script.
type npmClient struct {
	t        *testing.T
	npm      string
	registry string
	home     string
}

func (c *npmClient) run(args ...string) (string, error) {
	c.t.Helper()
	dir, err := os.MkdirTemp(c.home, "project-")
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"e2e-project","version":"1.0.0","private":true}`), 0o644); err != nil {
		c.t.Fatal(err)
	}
	args = append(args, "--registry", c.registry, "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-online",
		"--cache", filepath.Join(c.home, "cache"), "--userconfig", filepath.Join(c.home, "npmrc"), "--loglevel", "error")
	cmd := exec.Command(c.npm, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+c.home, "npm_config_update_notifier=false")
	out, err := cmd.CombinedOutput()
	return dir + "\n" + string(out), err
}

// installed returns the version of name npm installed by run's output.
func (c *npmClient) installed(out, name string) string {
	dir, _, _ := strings.Cut(out, "\n")
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
	if err != nil {
		return ""
	}
	var m struct{ Version string }
	json.Unmarshal(b, &m)
	return m.Version
}

// TestEndToEndNPM puts the real npm client behind the firewall, in front
// of a stand-in upstream serving a package built from corpus samples
// (bytes only: nothing of them runs on the host, npm runs with
// --ignore-scripts). The farm is the real scheduler (Redis) and worker
// handler; only the sandbox is a stand-in (verdictFarm) that returns the
// verdict the test sets for each artifact: this test needs no containerd.
func TestEndToEndNPM(t *testing.T) {
	npm := testenv.Tool(t, "npm")
	corpus := testenv.Corpus(t)
	up := newUpstream(t)
	st, srv, farm := startFarm(t, ecosystem.Config{NPMRegistry: up.srv.URL}, up.srv.URL, New)
	ctx := context.Background()
	client := &npmClient{t: t, npm: npm, registry: srv.URL + "/", home: t.TempDir()}

	// left-pad-plus 1.0.0 is the corpus's benign sample, a month old;
	// 1.1.0, published an hour ago, carries the corpus's stealer.
	const name = "left-pad-plus"
	benign := tarball(t, name, "1.0.0", corpusFiles(t, filepath.Join(corpus, "npm", "left-pad-plus")))
	stealer := tarball(t, name, "1.1.0", corpusFiles(t, filepath.Join(corpus, "npm", "devtools-sync")))
	up.publish(name, "1.0.0", benign, time.Now().Add(-30*24*time.Hour))
	up.publish(name, "1.1.0", stealer, time.Now().Add(-time.Hour))
	verdictGiven := farm.set(sha256Digest(stealer), analysis.Malicious)

	// The old version installs; the fresh one is invisible.
	out, err := client.run("install", name+"@^1")
	if err != nil || client.installed(out, name) != "1.0.0" {
		t.Fatalf("npm install %s@^1: %v; installed %q, want 1.0.0\n%s", name, err, client.installed(out, name), out)
	}
	if out, err := client.run("install", name+"@1.1.0"); err == nil || !strings.Contains(out, "ETARGET") {
		t.Errorf("npm install of the held version: %v, want ETARGET (not listed)\n%s", err, out)
	}
	// It was queued because it was asked for: its analysis waits for
	// the stand-in's verdict, then it is blocked.
	testenv.WaitFor(t, 2*time.Minute, "the held version's analysis to start", func() bool {
		farm.mu.Lock()
		defer farm.mu.Unlock()
		return farm.analysed[sha256Digest(stealer)] != ""
	})
	close(verdictGiven)
	var analysisID string
	testenv.WaitFor(t, 2*time.Minute, "the malicious verdict", func() bool {
		recs, _ := st.(store.Firewall).RegistryRecords(ctx, "npm", name)
		for _, r := range recs {
			if r.Package.Version == "1.1.0" && r.Status == store.Done && r.Verdict == analysis.Malicious {
				analysisID = r.ID
				return r.Package.Digest == sha256Digest(stealer) && r.Artifact == r.Package.Digest
			}
		}
		return false
	})
	// npm shows the refusal (it masks the analysis id, as it masks
	// anything shaped like a token); the body names it.
	out, err = client.run("install", srv.URL+"/"+name+"/-/"+name+"-1.1.0.tgz")
	for _, want := range []string{"E403", "is blocked: judged malicious", "cred-ssh-key", "http://farm.test/v1/analyses/"} {
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("npm install of the blocked tarball: %v, want %q in\n%s", err, want, out)
		}
	}
	resp, err := srv.Client().Get(srv.URL + "/" + name + "/-/" + name + "-1.1.0.tgz")
	if err != nil {
		t.Fatal(err)
	}
	var ref refusal
	json.NewDecoder(resp.Body).Decode(&ref)
	resp.Body.Close()
	if resp.StatusCode != 403 || ref.Analysis != "http://farm.test/v1/analyses/"+analysisID || ref.Verdict != analysis.Malicious {
		t.Errorf("blocked tarball: %d %+v, want 403 naming analysis %s", resp.StatusCode, ref, analysisID)
	}
	out, err = client.run("install", name+"@^1")
	if err != nil || client.installed(out, name) != "1.0.0" {
		t.Errorf("npm install %s@^1 after the verdict: %v; installed %q, want 1.0.0\n%s", name, err, client.installed(out, name), out)
	}

	// Bytes changed upstream after the firewall saw them: refused.
	changed := tarball(t, name, "1.0.0", map[string][]byte{"index.js": []byte("module.exports = require('child_process')\n")})
	up.replaceBytes(name, "1.0.0", changed, false)
	if out, err := client.run("install", name+"@1.0.0"); err == nil || !strings.Contains(out, "ETARGET") {
		t.Errorf("npm install of the changed version: %v, want it not listed\n%s", err, out)
	}
	out, err = client.run("install", srv.URL+"/"+name+"/-/"+name+"-1.0.0.tgz")
	if err == nil || !strings.Contains(out, "403") || !strings.Contains(out, "bytes changed") {
		t.Errorf("npm install of the changed tarball: %v, want 403 bytes changed\n%s", err, out)
	}

	// An override admits a held version (its analysis never ends here).
	held := tarball(t, name, "1.2.0", corpusFiles(t, filepath.Join(corpus, "npm", "left-pad-plus")))
	farm.set(sha256Digest(held), analysis.Benign)
	up.publish(name, "1.2.0", held, time.Now())
	if out, err := client.run("install", name+"@1.2.0"); err == nil {
		t.Errorf("npm install of the held 1.2.0 succeeded before the override\n%s", out)
	}
	if err := (Admin{Firewall: st.(store.Firewall)}).AddOverride(ctx, &store.Override{Ecosystem: "npm", Name: name, Versions: "1.2.0",
		Action: store.Allow, Reason: "vendored and reviewed", Who: "e2e"}); err != nil {
		t.Fatal(err)
	}
	out, err = client.run("install", name+"@1.2.0")
	if err != nil || client.installed(out, name) != "1.2.0" {
		t.Errorf("npm install of the overridden 1.2.0: %v; installed %q\n%s", err, client.installed(out, name), out)
	}
}

// TestSmokeRealUpstream installs a small real package through the
// firewall from the registry npm is configured with (scripts off). A
// version published within the window would be held: the quarantine is
// one second, so this tests the protocol, the caching and the tarball
// handoff against the real registry, not the verdicts.
func TestSmokeRealUpstream(t *testing.T) {
	npm := testenv.Tool(t, "npm")
	reg, err := exec.Command(npm, "config", "get", "registry").Output()
	registry := strings.TrimSpace(string(reg))
	testenv.Require(t, err == nil && strings.HasPrefix(registry, "http"), "npm config get registry")
	ctx := context.Background()
	st, blobs, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	farm := &fakeFarm{st: st, rules: testRules}
	px, err := New(Config{Upstream: registry, Policy: Policy{Quarantine: time.Second, Rules: testRules},
		Store: st.(store.Firewall), Blobs: blobs, Scheduler: farm})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(px)
	defer px.Close()
	defer srv.Close()
	client := &npmClient{t: t, npm: npm, registry: srv.URL + "/", home: t.TempDir()}
	out, err := client.run("install", "is-number@7.0.0")
	if err != nil {
		testenv.Require(t, !strings.Contains(out, "upstream registry failed"), "the real upstream registry reachable")
		t.Fatalf("npm install is-number through the firewall: %v\n%s", err, out)
	}
	if got := client.installed(out, "is-number"); got != "7.0.0" {
		t.Errorf("installed is-number %q, want 7.0.0\n%s", got, out)
	}
	tbs, err := st.(store.Firewall).Tarballs(ctx, "npm", "is-number")
	if err != nil || len(tbs) != 1 || tbs[0].Version != "7.0.0" {
		t.Errorf("recorded tarballs = %+v, %v; want is-number 7.0.0's", tbs, err)
	}
}
