package worker

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/internal/netpolicy"
	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
)

// farmRedisDB is this package's Redis database; other packages use others.
const farmRedisDB = 11

// fakePipeline stands in for the sandbox: packages named evil-* are
// malicious, missing-* are not in the registry, flaky-* fail twice with an
// infrastructure error before they succeed.
type fakePipeline struct {
	t     *testing.T
	delay time.Duration
	// cleanup is how long a cancelled run takes to clean up.
	cleanup time.Duration
	mu      sync.Mutex
	calls   map[string]int
	cleaned map[string]bool   // runs cancelled and cleaned up, by id
	seen    map[string][]byte // upload contents by id
	files   map[string]ecosystem.Target
}

var errContainerd = errors.New("containerd: connection refused")

func (f *fakePipeline) AnalyzeWithID(ctx context.Context, id string, t ecosystem.Target) (*analysis.Analysis, error) {
	f.mu.Lock()
	f.calls[id]++
	n := f.calls[id]
	if t.Path != "" {
		b, err := os.ReadFile(t.Path)
		if err != nil {
			f.t.Errorf("upload of %s not readable: %v", id, err)
		}
		f.seen[id] = b
		f.files[id] = t
		if t.Name == "" {
			t.Name, t.Version = "uploaded", "1.0.0"
		}
	}
	delay := f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			time.Sleep(f.cleanup)
			f.mu.Lock()
			f.cleaned[id] = true
			f.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	switch {
	case strings.HasPrefix(t.Name, "missing-"):
		return nil, fmt.Errorf("fetch %s: %w", t, ecosystem.ErrNotFound)
	case strings.HasPrefix(t.Name, "flaky-") && n <= 2:
		return nil, fmt.Errorf("phase install: %w", errContainerd)
	}
	a := &analysis.Analysis{ID: id, Package: analysis.Package{Ecosystem: t.Ecosystem, Name: t.Name, Version: t.Version, Digest: "sha256:" + strings.Repeat("b", 64)},
		Verdict: analysis.Benign, Rules: "fake-rules", Started: time.Now().UTC(), Finished: time.Now().UTC(), Trace: &trace.Trace{}}
	a.Trace.Append("install", []trace.Event{{Kind: trace.KindExec, Path: "/usr/bin/node", PID: 10, TGID: 10}})
	if strings.HasPrefix(t.Name, "evil-") {
		a.Verdict, a.Score = analysis.Malicious, 90
		a.Hits = []analysis.Hit{{Rule: "cred-npm-token", Severity: analysis.High, Summary: "read ~/.npmrc", Evidence: []string{"open /home/alex/.npmrc"}}}
	}
	return a, nil
}

func (f *fakePipeline) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

type farm struct {
	st    store.Store
	blobs store.Blobs
	redis asynq.RedisClientOpt
	sched *scheduler.Scheduler
	pipe  *fakePipeline
	h     *Handler
	insp  *asynq.Inspector
}

// newFarm returns a farm on a real SQLite store and on Redis at addr
// ("" = testenv's, database farmRedisDB, flushed).
func newFarm(t *testing.T, addr string) *farm {
	t.Helper()
	db := 0
	if addr == "" {
		addr, db = testenv.Redis(t), farmRedisDB
		testenv.FlushRedisDB(t, addr, db)
	}
	st, blobs, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	opt := asynq.RedisClientOpt{Addr: addr, DB: db}
	log := slog.New(slog.DiscardHandler)
	f := &farm{st: st, blobs: blobs, redis: opt, pipe: &fakePipeline{t: t, calls: map[string]int{}, cleaned: map[string]bool{}, seen: map[string][]byte{}, files: map[string]ecosystem.Target{}}, insp: asynq.NewInspector(opt)}
	// Webhook receivers of these tests listen on 127.0.0.1.
	hooks, err := netpolicy.Parse("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	f.sched = scheduler.New(opt, st, blobs, "fake-rules", scheduler.WithWebhookPolicy(hooks),
		scheduler.WithEcosystem(ecosystem.Config{NPMRegistry: "http://127.0.0.1:9/"}), scheduler.WithLogger(log))
	client := asynq.NewClient(opt)
	f.h = &Handler{Pipeline: f.pipe, Store: st, Blobs: blobs, Rules: rs, Queue: client, HTTPClient: hooks.Client(5 * time.Second),
		WebhookSecret: []byte("test-secret"), BaseURL: "http://farm.test/", WorkDir: t.TempDir(), Logger: log}
	t.Cleanup(func() {
		client.Close()
		f.sched.Close()
		f.insp.Close()
		st.Close()
	})
	return f
}

// serve runs Serve until the test ends.
func (f *farm) serve(t *testing.T, concurrency int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, FarmConfig{
			Redis: f.redis, Handler: f.h, Concurrency: concurrency, ShutdownTimeout: 5 * time.Second,
			RetryDelay:   func(int, error, *asynq.Task) time.Duration { return 100 * time.Millisecond },
			PollInterval: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

// A run still going when the shutdown bound ends is handed back, not
// failed, and Serve returns only after it has cleaned up; the next worker
// completes it.
func TestServeHandsBack(t *testing.T) {
	f := newFarm(t, "")
	f.pipe.delay, f.pipe.cleanup = time.Hour, 300*time.Millisecond
	rec := f.submit(t, scheduler.Submission{Spec: "npm:slow-pkg@1.0.0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// The run's cleanup (300 ms) fits the bound with room to spare on
		// a slow machine; the run itself (an hour) does not.
		done <- Serve(ctx, FarmConfig{Redis: f.redis, Handler: f.h, ShutdownTimeout: 3 * time.Second,
			PollInterval: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	}()
	testenv.WaitFor(t, 2*time.Minute, "the analysis to start", func() bool { return f.pipe.count(rec.ID) == 1 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Serve did not return within 2 minutes of its context's end")
	}
	f.pipe.mu.Lock()
	cleaned := f.pipe.cleaned[rec.ID]
	f.pipe.delay = 0
	f.pipe.mu.Unlock()
	if !cleaned {
		t.Error("Serve returned before the handed-back run had cleaned up")
	}
	info, err := f.insp.GetTaskInfo(scheduler.QueueInteractive, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != asynq.TaskStatePending || info.Retried != 0 {
		t.Errorf("task after shutdown: %s, retried %d; want pending (handed back), not counted as a failure", info.State, info.Retried)
	}
	if r := f.get(t, rec.ID); r.Status == store.Failed {
		t.Fatalf("the handed-back analysis was failed: %s", r.Error)
	}
	f.serve(t, 1)
	testenv.WaitFor(t, 2*time.Minute, "the next worker to complete it", func() bool { return f.get(t, rec.ID).Status == store.Done })
	if r := f.get(t, rec.ID); r.Attempts != 2 || f.pipe.count(rec.ID) != 2 {
		t.Errorf("attempts %d, pipeline runs %d; want 2 and 2", r.Attempts, f.pipe.count(rec.ID))
	}
}

func (f *farm) get(t *testing.T, id string) *store.Record {
	t.Helper()
	r, err := f.st.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *farm) submit(t *testing.T, sub scheduler.Submission) *store.Record {
	t.Helper()
	r, _, err := f.sched.Submit(context.Background(), sub)
	if err != nil {
		t.Fatalf("Submit(%s): %v", sub.Spec, err)
	}
	return r
}

func TestAnalyzeHandler(t *testing.T) {
	f := newFarm(t, "")
	mux := asynq.NewServeMux()
	f.h.Register(mux)
	ctx := context.Background()
	process := func(id string) error { return mux.ProcessTask(ctx, scheduler.NewAnalyzeTask(id)) }

	benign := f.submit(t, scheduler.Submission{Spec: "npm:left-pad@1.3.0", Webhook: "http://127.0.0.1:9/hook"})
	evil := f.submit(t, scheduler.Submission{Spec: "npm:evil-pkg@1.0.0", Webhook: "http://127.0.0.1:9/hook"})
	missing := f.submit(t, scheduler.Submission{Spec: "npm:missing-pkg@1.0.0"})
	flaky := f.submit(t, scheduler.Submission{Spec: "npm:flaky-pkg@1.0.0"})
	tgz := []byte("\x1f\x8b fake tarball bytes")
	up := &store.Record{Analysis: analysis.Analysis{ID: "7d1f3c2e-0000-4000-8000-000000000001", Package: analysis.Package{Ecosystem: "npm"}},
		Spec: "upload:pkg-1.0.0.tgz", Source: store.FromUpload}
	var err error
	if up.Artifact, err = f.blobs.Put(ctx, bytes.NewReader(tgz)); err != nil {
		t.Fatal(err)
	}
	if err := f.st.Create(ctx, up); err != nil {
		t.Fatal(err)
	}
	// Registry bytes the firewall fetched and handed over.
	fetched := f.submit(t, scheduler.Submission{Spec: "npm:fetched-pkg@1.0.0", Fetched: up.Artifact})
	cancelled := f.submit(t, scheduler.Submission{Spec: "npm:cancelled-pkg@1.0.0"})
	if err := f.st.Fail(ctx, cancelled.ID, store.CancelReason); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		id         string
		wantSkip   bool // error wrapping asynq.SkipRetry
		wantErr    bool // an error to retry
		wantStatus store.Status
		wantCalls  int
	}{
		{name: "benign", id: benign.ID, wantStatus: store.Done, wantCalls: 1},
		{name: "benign again is a no-op", id: benign.ID, wantStatus: store.Done, wantCalls: 1},
		{name: "malicious", id: evil.ID, wantStatus: store.Done, wantCalls: 1},
		{name: "not in the registry", id: missing.ID, wantSkip: true, wantStatus: store.Failed, wantCalls: 1},
		{name: "infrastructure", id: flaky.ID, wantErr: true, wantStatus: store.Running, wantCalls: 1},
		{name: "infrastructure again", id: flaky.ID, wantErr: true, wantStatus: store.Running, wantCalls: 2},
		{name: "recovered", id: flaky.ID, wantStatus: store.Done, wantCalls: 3},
		{name: "upload", id: up.ID, wantStatus: store.Done, wantCalls: 1},
		{name: "fetched by the firewall", id: fetched.ID, wantStatus: store.Done, wantCalls: 1},
		{name: "cancelled", id: cancelled.ID, wantStatus: store.Failed, wantCalls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := process(tt.id)
			switch {
			case tt.wantSkip && !errors.Is(err, asynq.SkipRetry):
				t.Errorf("error = %v, want SkipRetry", err)
			case tt.wantErr && (err == nil || errors.Is(err, asynq.SkipRetry)):
				t.Errorf("error = %v, want a retryable error", err)
			case !tt.wantSkip && !tt.wantErr && err != nil:
				t.Errorf("error = %v, want none", err)
			}
			r := f.get(t, tt.id)
			if r.Status != tt.wantStatus {
				t.Errorf("status = %s (%s), want %s", r.Status, r.Error, tt.wantStatus)
			}
			if got := f.pipe.count(tt.id); got != tt.wantCalls {
				t.Errorf("pipeline runs = %d, want %d", got, tt.wantCalls)
			}
		})
	}
	if err := process("00000000-0000-4000-8000-00000000dead"); !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("unknown record: %v, want SkipRetry", err)
	}
	if err := mux.ProcessTask(ctx, asynq.NewTask(scheduler.TypeAnalyze, []byte("{"))); !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("bad payload: %v, want SkipRetry", err)
	}

	// The done record carries the pipeline's analysis and its trace.
	r := f.get(t, evil.ID)
	if r.Verdict != analysis.Malicious || r.Package.Name != "evil-pkg" || len(r.Hits) != 1 || r.Attempts != 1 {
		t.Errorf("stored = verdict %s package %+v hits %d attempts %d", r.Verdict, r.Package, len(r.Hits), r.Attempts)
	}
	rc, err := f.blobs.Get(ctx, r.TraceDigest)
	if err != nil {
		t.Fatalf("trace blob: %v", err)
	}
	tr, err := trace.Decode(rc)
	rc.Close()
	if err != nil || len(tr.Events) != 1 || tr.Events[0].Path != "/usr/bin/node" {
		t.Errorf("stored trace = %+v, %v; want the one exec event", tr, err)
	}
	if got := f.get(t, missing.ID).Error; !strings.Contains(got, "not found") {
		t.Errorf("failed record error = %q, want the fetch error", got)
	}
	if got := f.get(t, flaky.ID).Attempts; got != 3 {
		t.Errorf("flaky attempts = %d, want 3", got)
	}
	f.pipe.mu.Lock()
	gotUpload := f.pipe.seen[up.ID]
	f.pipe.mu.Unlock()
	if !bytes.Equal(gotUpload, tgz) {
		t.Errorf("pipeline read upload %q, want %q", gotUpload, tgz)
	}
	// The upload is known by its manifest alone; the fetched registry
	// version by its bytes and the name and version they must carry.
	f.pipe.mu.Lock()
	gotFetched, upTarget, fetchedTarget := f.pipe.seen[fetched.ID], f.pipe.files[up.ID], f.pipe.files[fetched.ID]
	f.pipe.mu.Unlock()
	if !bytes.Equal(gotFetched, tgz) {
		t.Errorf("pipeline read fetched bytes %q, want %q", gotFetched, tgz)
	}
	if filepath.Base(upTarget.Path) != "pkg-1.0.0.tgz" || upTarget.Name != "" {
		t.Errorf("upload target = %+v, want pkg-1.0.0.tgz without a name", upTarget)
	}
	if !strings.HasSuffix(fetchedTarget.Path, ".tgz") || fetchedTarget.Name != "fetched-pkg" || fetchedTarget.Version != "1.0.0" {
		t.Errorf("fetched target = %+v, want a .tgz of fetched-pkg 1.0.0", fetchedTarget)
	}
	if left, _ := os.ReadDir(f.h.WorkDir); len(left) != 0 {
		t.Errorf("work dir keeps %d entries after the upload's analysis", len(left))
	}

	// Webhooks: queued for the malicious analysis only.
	if _, err := f.insp.GetTaskInfo(scheduler.QueueInteractive, scheduler.TypeWebhook+":"+evil.ID); err != nil {
		t.Errorf("webhook task of the malicious analysis: %v", err)
	}
	if _, err := f.insp.GetTaskInfo(scheduler.QueueInteractive, scheduler.TypeWebhook+":"+benign.ID); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Errorf("webhook task of the benign analysis: %v, want none", err)
	}
}

// An infrastructure error on the last attempt fails the record.
func TestAnalyzeLastAttempt(t *testing.T) {
	f := newFarm(t, "")
	ctx := context.Background()
	rec := &store.Record{Analysis: analysis.Analysis{ID: "00000000-0000-4000-8000-00000000ab01",
		Package: analysis.Package{Ecosystem: "npm", Name: "flaky-last", Version: "1.0.0"}}, Spec: "npm:flaky-last@1.0.0"}
	if err := f.st.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	c := asynq.NewClient(f.redis)
	defer c.Close()
	// One retry: flaky-* fails on both attempts.
	if _, err := c.Enqueue(scheduler.NewAnalyzeTask(rec.ID), asynq.Queue(scheduler.QueueInteractive), asynq.MaxRetry(1)); err != nil {
		t.Fatal(err)
	}
	f.serve(t, 1)
	testenv.WaitFor(t, 2*time.Minute, "the task to be archived", func() bool {
		dead, err := f.sched.Archived(ctx)
		return err == nil && len(dead) == 1 && dead[0].ID == rec.ID
	})
	r := f.get(t, rec.ID)
	if r.Status != store.Failed || !strings.Contains(r.Error, "infrastructure") || !strings.Contains(r.Error, "containerd") {
		t.Errorf("record = %s %q, want failed with the infrastructure error", r.Status, r.Error)
	}
	if n := f.pipe.count(rec.ID); n != 2 {
		t.Errorf("pipeline runs = %d, want 2", n)
	}
}

func TestFarmServe(t *testing.T) {
	f := newFarm(t, "")
	ctx := context.Background()
	var ids []string
	for i := range 8 {
		ids = append(ids, f.submit(t, scheduler.Submission{Spec: fmt.Sprintf("npm:pkg-%d@1.0.0", i)}).ID)
	}
	dup, existing, err := f.sched.Submit(ctx, scheduler.Submission{Spec: "npm:pkg-0@1.0.0"})
	if err != nil || !existing || dup.ID != ids[0] {
		t.Fatalf("duplicate Submit = %v existing %v, %v; want %s", dup.ID, existing, err, ids[0])
	}
	flaky := f.submit(t, scheduler.Submission{Spec: "npm:flaky-pkg@2.0.0"})
	missing := f.submit(t, scheduler.Submission{Spec: "npm:missing-pkg@2.0.0"})
	f.serve(t, 2)

	testenv.WaitFor(t, 2*time.Minute, "every analysis to end", func() bool {
		for _, id := range append(ids, flaky.ID, missing.ID) {
			if s := f.get(t, id).Status; s != store.Done && s != store.Failed {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		if r := f.get(t, id); r.Status != store.Done || f.pipe.count(id) != 1 {
			t.Errorf("%s: status %s after %d runs, want done after 1", r.Spec, r.Status, f.pipe.count(id))
		}
	}
	if r := f.get(t, flaky.ID); r.Status != store.Done || r.Attempts != 3 || f.pipe.count(flaky.ID) != 3 {
		t.Errorf("flaky: status %s, %d attempts, %d runs; want done after 3", r.Status, r.Attempts, f.pipe.count(flaky.ID))
	}
	if r := f.get(t, missing.ID); r.Status != store.Failed || f.pipe.count(missing.ID) != 1 {
		t.Errorf("missing: status %s after %d runs, want failed after 1 (no retry)", r.Status, f.pipe.count(missing.ID))
	}
	testenv.WaitFor(t, 2*time.Minute, "the bad package's task to be archived", func() bool {
		dead, err := f.sched.Archived(ctx)
		return err == nil && len(dead) == 1 && dead[0].ID == missing.ID && strings.Contains(dead[0].Error, "not found")
	})
	if n := count(t, f.st); n != 10 {
		t.Errorf("records = %d, want 10 (the duplicate was not stored)", n)
	}
}

func count(t *testing.T, st store.Store) int {
	t.Helper()
	n := 0
	q := store.Query{Limit: 1000}
	for {
		recs, next, err := st.List(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		n += len(recs)
		if next == "" {
			return n
		}
		q.Cursor = next
	}
}

func TestRejudge(t *testing.T) {
	f := newFarm(t, "")
	ctx := context.Background()
	jsonl, err := os.ReadFile(filepath.Join("testdata", "farm", "rejudge.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trace.Decode(bytes.NewReader(jsonl))
	if err != nil {
		t.Fatal(err)
	}
	want := f.h.Rules.Judge(tr)
	if want.Verdict == analysis.Benign {
		t.Fatalf("the fixture is benign under the builtin rules; it must not be")
	}
	digest, err := f.blobs.Put(ctx, bytes.NewReader(jsonl))
	if err != nil {
		t.Fatal(err)
	}
	// 100 analyses judged benign by an older rule set.
	var ids []string
	for i := range 100 {
		a := analysis.Analysis{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Rules: "old-rules", Verdict: analysis.Benign,
			Package: analysis.Package{Ecosystem: "npm", Name: fmt.Sprintf("pkg-%d", i), Version: "1.0.0"}}
		if err := f.st.Create(ctx, &store.Record{Analysis: a}); err != nil {
			t.Fatal(err)
		}
		if err := f.st.Complete(ctx, &a, digest); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	b, err := f.sched.SubmitBatch(ctx, scheduler.BatchRequest{Rejudge: &store.Query{Ecosystem: "npm"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, p, _ := f.st.GetBatch(ctx, b.ID); p.Total != 100 {
		t.Errorf("batch total = %d, want 100", p.Total)
	}
	f.serve(t, 2)
	testenv.WaitFor(t, 2*time.Minute, "100 analyses re-judged", func() bool {
		recs, _, err := f.st.List(ctx, store.Query{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Rules != f.h.Rules.Version() {
				return false
			}
		}
		return len(recs) == 100
	})
	for _, id := range ids {
		r := f.get(t, id)
		if r.Verdict != want.Verdict || r.Score != want.Score || len(r.Hits) != len(want.Hits) {
			t.Errorf("%s: verdict %s score %d hits %d, want %s %d %d", id, r.Verdict, r.Score, len(r.Hits), want.Verdict, want.Score, len(want.Hits))
		}
	}
	f.pipe.mu.Lock()
	defer f.pipe.mu.Unlock()
	if len(f.pipe.calls) != 0 {
		t.Errorf("the sandbox ran %d times while re-judging, want 0", len(f.pipe.calls))
	}
}

// A re-judge holds no sandbox: it runs while every analysis slot is
// taken.
func TestRejudgeBesideAnalyses(t *testing.T) {
	f := newFarm(t, "")
	f.pipe.delay = time.Hour
	ctx := context.Background()
	jsonl, err := os.ReadFile(filepath.Join("testdata", "farm", "rejudge.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	digest, err := f.blobs.Put(ctx, bytes.NewReader(jsonl))
	if err != nil {
		t.Fatal(err)
	}
	old := analysis.Analysis{ID: "00000000-0000-4000-8000-000000000001", Rules: "old-rules", Verdict: analysis.Benign,
		Package: analysis.Package{Ecosystem: "npm", Name: "stored", Version: "1.0.0"}}
	if err := f.st.Create(ctx, &store.Record{Analysis: old}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.Complete(ctx, &old, digest); err != nil {
		t.Fatal(err)
	}
	slow := f.submit(t, scheduler.Submission{Spec: "npm:slow-pkg@1.0.0"})
	f.serve(t, 1)
	testenv.WaitFor(t, 2*time.Minute, "the analysis to start", func() bool { return f.pipe.count(slow.ID) == 1 })
	if _, err := f.sched.SubmitBatch(ctx, scheduler.BatchRequest{Rejudge: &store.Query{Name: "stored"}}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 2*time.Minute, "the re-judge", func() bool { return f.get(t, old.ID).Rules == f.h.Rules.Version() })
	if r := f.get(t, slow.ID); r.Status != store.Running {
		t.Errorf("the analysis is %s, want it still running", r.Status)
	}
}

type fakePoller struct{ got []scheduler.FeedPayload }

func (f *fakePoller) Poll(_ context.Context, p scheduler.FeedPayload, _ time.Time) (scheduler.PollResult, error) {
	f.got = append(f.got, p)
	if p.Watch[0] == "npm:registry-down" {
		return scheduler.PollResult{}, errors.New("registry: connection refused")
	}
	return scheduler.PollResult{Submitted: []string{"x"}}, nil
}

func TestFeedHandler(t *testing.T) {
	h := &Handler{Logger: slog.New(slog.DiscardHandler)}
	mux := asynq.NewServeMux()
	h.Register(mux)
	ctx := context.Background()
	ok := scheduler.NewFeedTask(scheduler.FeedPayload{Watch: []string{"npm:a"}, Window: time.Hour})
	if err := mux.ProcessTask(ctx, ok); !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("feed task without a poller: %v, want SkipRetry", err)
	}
	p := &fakePoller{}
	h.Feed = p
	if err := mux.ProcessTask(ctx, ok); err != nil || len(p.got) != 1 || p.got[0].Watch[0] != "npm:a" {
		t.Errorf("feed task: %v, polled %+v", err, p.got)
	}
	down := scheduler.NewFeedTask(scheduler.FeedPayload{Watch: []string{"npm:registry-down"}, Window: time.Hour})
	if err := mux.ProcessTask(ctx, down); err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Errorf("feed task with the registry down: %v, want an error that is retried", err)
	}
	if err := mux.ProcessTask(ctx, asynq.NewTask(scheduler.TypeFeed, []byte(`{}`))); !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("feed task without packages: %v, want SkipRetry", err)
	}
}

// By default a webhook is never posted to an internal address, however
// its URL names it, and the refusal is not retried.
func TestWebhookInternalRefused(t *testing.T) {
	f := newFarm(t, "")
	f.h.HTTPClient = nil
	var hits atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer recv.Close()
	_, port, _ := net.SplitHostPort(recv.Listener.Addr().String())
	ctx := context.Background()
	evil := f.submit(t, scheduler.Submission{Spec: "npm:evil-pkg@1.0.0"})
	mux := asynq.NewServeMux()
	f.h.Register(mux)
	if err := mux.ProcessTask(ctx, scheduler.NewAnalyzeTask(evil.ID)); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{recv.URL + "/hook", "http://localhost:" + port + "/hook"} {
		err := mux.ProcessTask(ctx, scheduler.NewWebhookTask(evil.ID, u))
		if !errors.Is(err, netpolicy.ErrBlocked) || !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("webhook to %s: %v, want a refusal that is not retried", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal receiver got %d requests, want none", n)
	}
}

func TestWebhook(t *testing.T) {
	f := newFarm(t, "")
	type delivery struct {
		body []byte
		sig  string
	}
	var (
		mu       sync.Mutex
		attempts int
		got      []delivery
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts <= 2 {
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		got = append(got, delivery{body, r.Header.Get(SignatureHeader)})
	}))
	defer recv.Close()

	evil := f.submit(t, scheduler.Submission{Spec: "npm:evil-hook@1.0.0", Webhook: recv.URL + "/hook"})
	benign := f.submit(t, scheduler.Submission{Spec: "npm:fine-hook@1.0.0", Webhook: recv.URL + "/hook"})
	f.serve(t, 1)
	testenv.WaitFor(t, 2*time.Minute, "the webhook delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	})
	testenv.WaitFor(t, 2*time.Minute, "the benign analysis", func() bool { return f.get(t, benign.ID).Status == store.Done })

	mu.Lock()
	defer mu.Unlock()
	if attempts != 3 {
		t.Errorf("webhook attempts = %d, want 3 (two 500s, then delivered)", attempts)
	}
	d := got[0]
	m := hmac.New(sha256.New, []byte("test-secret"))
	m.Write(d.body)
	if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); !hmac.Equal([]byte(d.sig), []byte(want)) {
		t.Errorf("signature = %q, want %q", d.sig, want)
	}
	var s struct {
		ID      string           `json:"id"`
		Package analysis.Package `json:"package"`
		Verdict analysis.Verdict `json:"verdict"`
		Score   int              `json:"score"`
		Hits    []analysis.Hit   `json:"hits"`
		URL     string           `json:"url"`
	}
	if err := json.Unmarshal(d.body, &s); err != nil {
		t.Fatal(err)
	}
	if s.ID != evil.ID || s.Verdict != analysis.Malicious || s.Score != 90 || s.Package.Name != "evil-hook" ||
		len(s.Hits) != 1 || s.URL != "http://farm.test/v1/analyses/"+evil.ID {
		t.Errorf("summary = %+v", s)
	}
	for _, d := range got {
		if bytes.Contains(d.body, []byte(benign.ID)) {
			t.Errorf("the benign analysis was reported")
		}
	}
}

// freePort returns a loopback TCP port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedis starts redis-server on port with its data in dir, persisted
// in an append-only file written through on every command.
func startRedis(t *testing.T, port int, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	rc := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer rc.Close()
	testenv.WaitFor(t, 2*time.Minute, "redis-server to answer", func() bool { return rc.Ping(context.Background()).Err() == nil })
	return cmd
}

// Redis killed (SIGKILL) and restarted in the middle of a batch: every
// analysis of the batch still completes.
func TestRedisRestart(t *testing.T) {
	testenv.Redis(t) // the Redis tests' requirement: redis-server installed
	_, err := exec.LookPath("redis-server")
	testenv.Require(t, err == nil, "redis-server on PATH")
	port, dir := freePort(t), t.TempDir()
	srv := startRedis(t, port, dir)
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })

	f := newFarm(t, fmt.Sprintf("127.0.0.1:%d", port))
	f.pipe.delay = 100 * time.Millisecond
	specs := make([]string, 20)
	for i := range specs {
		specs[i] = fmt.Sprintf("npm:restart-%02d@1.0.0", i)
	}
	ctx := context.Background()
	b, err := f.sched.SubmitBatch(ctx, scheduler.BatchRequest{Specs: specs})
	if err != nil {
		t.Fatal(err)
	}
	progress := func() store.Progress {
		_, p, err := f.st.GetBatch(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.serve(t, 1)
	testenv.WaitFor(t, 2*time.Minute, "5 analyses", func() bool { return progress().Done >= 5 })
	if err := srv.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	t.Logf("redis killed with %d of 20 done", progress().Done)
	srv = startRedis(t, port, dir)

	testenv.WaitFor(t, 2*time.Minute, "the whole batch", func() bool { return progress().Done == 20 })
	if p := progress(); p.Failed != 0 || p.Total != 20 {
		t.Errorf("progress = %+v, want 20 done, none failed", p)
	}
	if n := count(t, f.st); n != 20 {
		t.Errorf("records = %d, want 20", n)
	}
}

// BenchmarkRejudge re-judges stored analyses whose trace is a real one:
// the analysis of express 4.19.2 by this sandbox (6,400 events over its
// install, import and session phases, about the median of real packages'
// 4,000 to 36,000), with a credential theft added so that there are hits
// to store: blob read, decode, judge with the builtin rules, store. Redis is left
// out: the handler is called directly, by as many goroutines as a worker
// runs re-judges at once (FarmConfig.RejudgeConcurrency: two a core).
func BenchmarkRejudge(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		dir := b.TempDir()
		st, blobs, err := store.Open(context.Background(), dir)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchRejudge(b, st, blobs)
	})
	// A farm's: traces read from an S3 bucket, records in PostgreSQL.
	b.Run("postgres", func(b *testing.B) {
		st, blobs, err := store.Open(context.Background(), testenv.PostgresSchema(b), store.WithBlobs(testenv.S3(b)))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchRejudge(b, st, blobs)
	})
}

func benchRejudge(b *testing.B, st store.Store, blobs store.Blobs) {
	ctx := context.Background()
	rs, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(filepath.Join("testdata", "farm", "express.jsonl.gz"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := trace.Decode(zr)
	if err != nil {
		b.Fatal(err)
	}
	theft, err := os.ReadFile(filepath.Join("testdata", "farm", "rejudge.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	part, err := trace.Decode(bytes.NewReader(theft))
	if err != nil {
		b.Fatal(err)
	}
	tr.Append("import", part.Events)
	// Stored as the pipeline stores a trace: with the process table
	// judging built.
	tr.Processes = rs.Judge(tr).Table.Processes()
	var buf bytes.Buffer
	if err := trace.EncodeBinary(&buf, tr); err != nil {
		b.Fatal(err)
	}
	digest, err := blobs.Put(ctx, &buf)
	if err != nil {
		b.Fatal(err)
	}
	const records = 100
	for i := range records {
		a := analysis.Analysis{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Rules: "old", Verdict: analysis.Benign,
			Package: analysis.Package{Ecosystem: "npm", Name: fmt.Sprintf("pkg-%d", i), Version: "1.0.0"}}
		if err := st.Create(ctx, &store.Record{Analysis: a}); err != nil {
			b.Fatal(err)
		}
		if err := st.Complete(ctx, &a, digest); err != nil {
			b.Fatal(err)
		}
	}
	h := &Handler{Store: st, Blobs: blobs, Rules: rs, Logger: slog.New(slog.DiscardHandler)}
	mux := asynq.NewServeMux()
	h.Register(mux)
	b.ReportAllocs()
	// Two goroutines a core, as a worker runs re-judges
	// (FarmConfig.RejudgeConcurrency): GOMAXPROCS=1 measures one core,
	// GOMAXPROCS=2 a worker on a 2-core machine.
	var next atomic.Int64
	b.SetParallelism(2)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", next.Add(1)%records)
			if err := mux.ProcessTask(ctx, scheduler.NewRejudgeTask("bench", id)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rejudged/s")
	b.ReportMetric(float64(len(tr.Events)), "events/trace")
}
