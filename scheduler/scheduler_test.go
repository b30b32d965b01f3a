package scheduler

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/ecosystem/lockfile"
	"github.com/fumehood/fumehood/internal/netpolicy"
	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/store"
)

// redisDB is this package's Redis database; other packages use others.
const redisDB = 12

const rulesVersion = "rules-test-1"

// loopbackRegistry is never contacted: checking an upload only needs
// a registry URL to record.
const loopbackRegistry = "http://127.0.0.1:9/"

type env struct {
	st    store.Store
	blobs store.Blobs
	redis asynq.RedisClientOpt
	insp  *asynq.Inspector
	s     *Scheduler
}

func newEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	addr := testenv.Redis(t)
	opt := asynq.RedisClientOpt{Addr: addr, DB: redisDB}
	testenv.FlushRedisDB(t, addr, redisDB)
	st, blobs, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]Option{WithEcosystem(ecosystem.Config{NPMRegistry: loopbackRegistry, PyPIIndex: loopbackRegistry + "simple/"})}, opts...)
	e := &env{st: st, blobs: blobs, redis: opt, insp: asynq.NewInspector(opt), s: New(opt, st, blobs, rulesVersion, opts...)}
	t.Cleanup(func() {
		e.s.Close()
		e.insp.Close()
		st.Close()
	})
	return e
}

// npmTarball returns a minimal npm package tarball.
func npmTarball(t *testing.T, name, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	files := map[string]string{
		"package/package.json": fmt.Sprintf(`{"name":%q,"version":%q,"main":"index.js"}`, name, version),
		"package/index.js":     "module.exports = 1\n",
	}
	for _, n := range []string{"package/package.json", "package/index.js"} {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[n]))
	}
	if err := errors.Join(tw.Close(), zw.Close()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSubmit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tgz := npmTarball(t, "tiny-pkg", "1.2.3")

	first, existing, err := e.s.Submit(ctx, Submission{Spec: "npm:left-pad@1.3.0", Webhook: "https://hooks.example.test/x"})
	if err != nil || existing {
		t.Fatalf("Submit = %v, existing %v; want a new record", err, existing)
	}
	up, _, err := e.s.Submit(ctx, Submission{Upload: bytes.NewReader(tgz), FileName: "dir/tiny-pkg-1.2.3.tgz", Ecosystem: "npm", UploadedBy: "alice"})
	if err != nil {
		t.Fatalf("Submit upload: %v", err)
	}
	tgzDigest, err := e.blobs.Put(ctx, bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	fetched, _, err := e.s.Submit(ctx, Submission{Spec: "npm:tiny-pkg@1.2.3", Fetched: tgzDigest})
	if err != nil {
		t.Fatalf("Submit fetched: %v", err)
	}

	tests := []struct {
		name         string
		sub          Submission
		wantErr      error
		wantExisting string // id of the record returned as existing
		wantNew      bool
	}{
		{name: "same spec", sub: Submission{Spec: " npm:left-pad@1.3.0"}, wantExisting: first.ID},
		{name: "forced", sub: Submission{Spec: "npm:left-pad@1.3.0", Force: true}, wantNew: true},
		{name: "other version", sub: Submission{Spec: "npm:left-pad@1.2.0"}, wantNew: true},
		{name: "pypi", sub: Submission{Spec: "pypi:requests==2.31.0", Queue: QueueBatch}, wantNew: true},
		{name: "same upload", sub: Submission{Upload: bytes.NewReader(tgz), FileName: "other.tgz", Ecosystem: "npm"}, wantExisting: up.ID},
		{name: "same fetched bytes", sub: Submission{Spec: "npm:tiny-pkg@1.2.3", Fetched: tgzDigest}, wantExisting: fetched.ID},
		{name: "registry spec of the fetched version", sub: Submission{Spec: "npm:tiny-pkg@1.2.3"}, wantExisting: fetched.ID},
		{name: "upload claiming a registry version", sub: Submission{Upload: bytes.NewReader(npmTarball(t, "left-pad", "1.3.0")), FileName: "left-pad-1.3.0.tgz", Ecosystem: "npm"}, wantNew: true},
		{name: "fetched pypi file", sub: Submission{Spec: "pypi:Tiny_Pkg==1.2.3", Fetched: tgzDigest}, wantNew: true},
		{name: "fetched bytes not stored", sub: Submission{Spec: "npm:tiny-pkg@1.2.4", Fetched: "sha256:" + strings.Repeat("0", 64)}, wantErr: ErrInvalid},
		{name: "range", sub: Submission{Spec: "npm:left-pad@^1.3.0"}, wantErr: ecosystem.ErrBadSpec},
		{name: "absolute path", sub: Submission{Spec: "/etc/passwd"}, wantErr: ecosystem.ErrBadSpec},
		{name: "relative path", sub: Submission{Spec: "./pkg.tgz"}, wantErr: ecosystem.ErrBadSpec},
		{name: "empty", sub: Submission{}, wantErr: ecosystem.ErrBadSpec},
		{name: "bad queue", sub: Submission{Spec: "npm:a@1.0.0", Queue: "urgent"}, wantErr: ErrInvalid},
		{name: "bad webhook", sub: Submission{Spec: "npm:a@1.0.0", Webhook: "file:///etc/passwd"}, wantErr: ErrInvalid},
		{name: "webhook at loopback", sub: Submission{Spec: "npm:a@1.0.0", Webhook: "http://127.0.0.1:8080/h"}, wantErr: ErrInvalid},
		{name: "webhook at cloud metadata", sub: Submission{Spec: "npm:a@1.0.0", Webhook: "http://169.254.169.254/latest"}, wantErr: ErrInvalid},
		{name: "webhook with credentials", sub: Submission{Spec: "npm:a@1.0.0", Webhook: "https://u:p@hooks.example.test/"}, wantErr: ErrInvalid},
		{name: "upload not gzip", sub: Submission{Upload: strings.NewReader("hello"), FileName: "x.tgz", Ecosystem: "npm"}, wantErr: ecosystem.ErrBadArtifact},
		{name: "upload bad name", sub: Submission{Upload: bytes.NewReader(tgz), FileName: "x.zip", Ecosystem: "npm"}, wantErr: ecosystem.ErrBadArtifact},
		{name: "upload bad ecosystem", sub: Submission{Upload: bytes.NewReader(tgz), FileName: "x.tgz", Ecosystem: "cargo"}, wantErr: ecosystem.ErrBadSpec},
		{name: "upload wheel as npm", sub: Submission{Upload: bytes.NewReader(tgz), FileName: "x.whl", Ecosystem: "npm"}, wantErr: ecosystem.ErrBadArtifact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := count(t, e.st)
			rec, existing, err := e.s.Submit(ctx, tt.sub)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Submit error = %v, want %v", err, tt.wantErr)
				}
				// A client reads this error: no path of the server.
				if strings.Contains(err.Error(), os.TempDir()) || strings.Contains(err.Error(), "fumehood-upload-") {
					t.Errorf("Submit error %q names a server path", err)
				}
				if got := count(t, e.st); got != before {
					t.Errorf("records after a refused submission = %d, want %d", got, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			if tt.wantExisting != "" && (!existing || rec.ID != tt.wantExisting) {
				t.Errorf("Submit = %s existing %v, want existing %s", rec.ID, existing, tt.wantExisting)
			}
			if tt.wantNew && (existing || rec.ID == first.ID) {
				t.Errorf("Submit = %s existing %v, want a new record", rec.ID, existing)
			}
		})
	}

	// The stored records and their tasks.
	got, err := e.st.Get(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.Queued || got.Spec != "npm:left-pad@1.3.0" || got.Rules != rulesVersion || got.Webhook != "https://hooks.example.test/x" {
		t.Errorf("stored record = %+v", got)
	}
	info, err := e.insp.GetTaskInfo(QueueInteractive, first.ID)
	if err != nil {
		t.Fatalf("task of %s: %v", first.ID, err)
	}
	if info.Type != TypeAnalyze || info.Timeout != AnalyzeTimeout || info.MaxRetry != AnalyzeMaxRetry {
		t.Errorf("task = type %s timeout %v max retry %d, want analyze %v %d", info.Type, info.Timeout, info.MaxRetry, AnalyzeTimeout, AnalyzeMaxRetry)
	}
	p, err := ParseAnalyze(asynq.NewTask(info.Type, info.Payload))
	if err != nil || p.ID != first.ID {
		t.Errorf("payload = %+v, %v; want id %s", p, err, first.ID)
	}
	// Re-enqueueing the same record is a no-op.
	if _, err := e.s.client.Enqueue(NewAnalyzeTask(first.ID), asynq.Queue(QueueInteractive)); !errors.Is(err, asynq.ErrTaskIDConflict) {
		t.Errorf("second enqueue of %s: %v, want ErrTaskIDConflict", first.ID, err)
	}

	gotUp, err := e.st.Get(ctx, up.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := analysis.Package{Ecosystem: "npm", Name: "tiny-pkg", Version: "1.2.3", Digest: gotUp.Artifact}
	if gotUp.Package != want || gotUp.Spec != "upload:tiny-pkg-1.2.3.tgz" || !strings.HasPrefix(gotUp.Artifact, "sha256:") {
		t.Errorf("upload record = package %+v spec %q artifact %q, want %+v", gotUp.Package, gotUp.Spec, gotUp.Artifact, want)
	}
	// Where each came from: the upload by its token's name, apart from
	// the registry record of the very same bytes, and labelled as
	// claiming that registry version.
	gotFetched, err := e.st.Get(ctx, fetched.ID)
	if err != nil {
		t.Fatal(err)
	}
	if gotUp.Source != store.FromUpload || gotUp.UploadedBy != "alice" || !gotUp.ClaimsRegistry {
		t.Errorf("upload record: source %q by %q claims %v; want upload by alice, claiming", gotUp.Source, gotUp.UploadedBy, gotUp.ClaimsRegistry)
	}
	if gotFetched.Source != store.FromRegistry || gotFetched.Artifact != tgzDigest || gotFetched.Package.Digest != tgzDigest || gotFetched.Spec != "npm:tiny-pkg@1.2.3" {
		t.Errorf("fetched record: source %q artifact %q digest %q spec %q; want a registry record of %s",
			gotFetched.Source, gotFetched.Artifact, gotFetched.Package.Digest, gotFetched.Spec, tgzDigest)
	}
	r, err := e.blobs.Get(ctx, gotUp.Artifact)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(b, tgz) {
		t.Errorf("stored artifact differs from the upload (%d bytes, want %d)", len(b), len(tgz))
	}
}

// Simultaneous submissions of one package, however its name is spelled,
// leave one record and one task (PyPI names are one project up to PEP 503
// normalization).
func TestSubmitSimultaneous(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	specs := []string{"pypi:Foo_Bar==1.0", "pypi:foo-bar==1.0", "pypi:FOO.bar==1.0", "pypi:foo__bar==1.0"}
	const n = 16
	ids := make(chan string, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			rec, _, err := e.s.Submit(ctx, Submission{Spec: specs[i%len(specs)]})
			if err != nil {
				errs <- err
				return
			}
			ids <- rec.ID
		})
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Errorf("Submit: %v", err)
	}
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 || count(t, e.st) != 1 {
		t.Fatalf("%d submissions returned ids %v and stored %d records, want one", n, seen, count(t, e.st))
	}
	for id := range seen {
		rec, err := e.st.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Package.Name != "foo-bar" {
			t.Errorf("stored name %q, want the normalized foo-bar", rec.Package.Name)
		}
	}
	tasks, err := e.insp.ListPendingTasks(QueueInteractive)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 {
		t.Errorf("%d pending tasks, want 1", len(tasks))
	}
}

// An allowed internal network may receive webhooks.
func TestSubmitWebhookAllowed(t *testing.T) {
	p, err := netpolicy.Parse("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, WithWebhookPolicy(p))
	ctx := context.Background()
	if _, _, err := e.s.Submit(ctx, Submission{Spec: "npm:a@1.0.0", Webhook: "http://10.1.2.3/h"}); err != nil {
		t.Errorf("webhook in an allowed network: %v", err)
	}
	if _, _, err := e.s.Submit(ctx, Submission{Spec: "npm:a@1.0.1", Webhook: "http://192.168.1.1/h"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("webhook in another private network: %v, want ErrInvalid", err)
	}
}

func TestSubmitTooLarge(t *testing.T) {
	e := newEnv(t, WithEcosystem(ecosystem.Config{NPMRegistry: loopbackRegistry, MaxArtifact: 100}))
	tgz := npmTarball(t, "big", "1.0.0")
	_, _, err := e.s.Submit(context.Background(), Submission{Upload: bytes.NewReader(tgz), FileName: "big.tgz", Ecosystem: "npm"})
	if !errors.Is(err, ecosystem.ErrTooLarge) {
		t.Errorf("Submit of %d bytes with a 100-byte limit: %v, want ErrTooLarge", len(tgz), err)
	}
}

// A record whose task cannot be enqueued is failed, not left queued.
func TestSubmitRedisDown(t *testing.T) {
	e := newEnv(t)
	down := asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond}
	s := New(down, e.st, e.blobs, rulesVersion)
	defer s.Close()
	ctx := context.Background()
	if _, _, err := s.Submit(ctx, Submission{Spec: "npm:left-pad@1.3.0"}); err == nil {
		t.Fatal("Submit with Redis down succeeded")
	}
	recs, _, err := e.st.List(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Status != store.Failed || !strings.Contains(recs[0].Error, "enqueue") {
		t.Fatalf("records = %+v, want one failed on enqueue", recs)
	}
	// The failed record does not count as analysed: a new submission
	// creates a new one.
	_, existing, err := e.s.Submit(ctx, Submission{Spec: "npm:left-pad@1.3.0"})
	if err != nil || existing {
		t.Errorf("Submit after a failed enqueue = existing %v, %v; want a new record", existing, err)
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

// lock1500 returns a package-lock.json of n distinct packages.
func lockN(n int) []byte {
	pk := map[string]any{"": map[string]any{"name": "app", "version": "1.0.0"}}
	for i := range n {
		pk[fmt.Sprintf("node_modules/pkg-%04d", i)] = map[string]any{"version": "1.0.0"}
	}
	b, _ := json.Marshal(map[string]any{"lockfileVersion": 3, "packages": pk})
	return b
}

func TestSubmitBatchLockfileAndCancel(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// 500 of the 1,500 are analysed already.
	for i := range 500 {
		rec := &store.Record{Analysis: analysis.Analysis{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			Package: analysis.Package{Ecosystem: "npm", Name: fmt.Sprintf("pkg-%04d", i), Version: "1.0.0"}, Rules: rulesVersion}}
		if err := e.st.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		rec.Verdict = analysis.Benign
		if err := e.st.Complete(ctx, &rec.Analysis, ""); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	b, err := e.s.SubmitBatch(ctx, BatchRequest{Lockfile: lockN(1500), LockfileName: "package-lock.json", Webhook: "https://hooks.example.test/b"})
	if err != nil {
		t.Fatalf("SubmitBatch: %v", err)
	}
	t.Logf("1,500-entry lockfile fanned out in %v", time.Since(start))
	_, p, err := e.st.GetBatch(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 1500 || p.Done != 500 || p.Pending != 1000 {
		t.Errorf("progress = %+v, want total 1500, done 500, pending 1000", p)
	}
	if b.Kind != "lockfile" || b.Source != "package-lock.json" {
		t.Errorf("batch = %+v, want a lockfile batch from package-lock.json", b)
	}
	depths, err := e.s.QueueDepths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if depths[QueueBatch] != 1000 || depths[QueueInteractive] != 0 {
		t.Errorf("depths = %v, want 1000 in batch", depths)
	}
	recs, _, err := e.st.List(ctx, store.Query{Status: store.Queued, Limit: 1})
	if err != nil || len(recs) != 1 {
		t.Fatalf("queued records: %v, %v", recs, err)
	}
	if recs[0].BatchID != b.ID || recs[0].Webhook != "https://hooks.example.test/b" {
		t.Errorf("batch item = batch %q webhook %q, want %s and the batch's webhook", recs[0].BatchID, recs[0].Webhook, b.ID)
	}

	if err := e.s.CancelBatch(ctx, b.ID); err != nil {
		t.Fatalf("CancelBatch: %v", err)
	}
	_, p, err = e.st.GetBatch(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Cancelled != 1000 || p.Done != 500 || p.Pending != 0 {
		t.Errorf("progress after cancel = %+v, want 1000 cancelled, 500 done", p)
	}
	if depths, _ := e.s.QueueDepths(ctx); depths[QueueBatch] != 0 {
		t.Errorf("batch queue after cancel = %d tasks, want 0", depths[QueueBatch])
	}
	if err := e.s.CancelBatch(ctx, "no-such-batch"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CancelBatch(unknown) = %v, want ErrNotFound", err)
	}
}

func TestSubmitBatchErrors(t *testing.T) {
	e := newEnv(t)
	q := &store.Query{}
	tests := []struct {
		name string
		req  BatchRequest
		want error
	}{
		{"nothing", BatchRequest{}, ErrInvalid},
		{"two kinds", BatchRequest{Specs: []string{"npm:a@1.0.0"}, Rejudge: q}, ErrInvalid},
		{"empty specs", BatchRequest{Specs: []string{}}, ErrInvalid},
		{"bad spec among good", BatchRequest{Specs: []string{"npm:a@1.0.0", "npm:b@latest"}}, ecosystem.ErrBadSpec},
		{"path among specs", BatchRequest{Specs: []string{"npm:a@1.0.0", "/etc/shadow"}}, ecosystem.ErrBadSpec},
		{"bad lockfile", BatchRequest{Lockfile: []byte("requests>=2\n"), LockfileName: "requirements.txt"}, lockfile.ErrInvalid},
		{"bad lockfile is invalid", BatchRequest{Lockfile: []byte(`{"lockfileVersion":1}`), LockfileName: "package-lock.json"}, ErrInvalid},
		{"bad webhook", BatchRequest{Specs: []string{"npm:a@1.0.0"}, Webhook: "gopher://x"}, ErrInvalid},
		{"rejudge nothing", BatchRequest{Rejudge: q}, ErrInvalid},
		{"rejudge failed ones", BatchRequest{Rejudge: &store.Query{Status: store.Failed}}, ErrInvalid},
		{"rerun nothing", BatchRequest{Rerun: q}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.s.SubmitBatch(context.Background(), tt.req); !errors.Is(err, tt.want) {
				t.Errorf("SubmitBatch error = %v, want %v", err, tt.want)
			}
		})
	}
	if n := count(t, e.st); n != 0 {
		t.Errorf("refused batches left %d records, want 0", n)
	}
}

func TestSubmitBatchRejudgeAndRerun(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	spec, _, err := e.s.Submit(ctx, Submission{Spec: "npm:left-pad@1.3.0"})
	if err != nil {
		t.Fatal(err)
	}
	up, _, err := e.s.Submit(ctx, Submission{Upload: bytes.NewReader(npmTarball(t, "tiny", "1.0.0")), FileName: "tiny.tgz", Ecosystem: "npm"})
	if err != nil {
		t.Fatal(err)
	}
	queued, _, err := e.s.Submit(ctx, Submission{Spec: "npm:queued@1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*store.Record{spec, up} {
		a := r.Analysis
		a.Verdict = analysis.Benign
		if err := e.st.Complete(ctx, &a, "sha256:"+strings.Repeat("a", 64)); err != nil {
			t.Fatal(err)
		}
	}

	b, err := e.s.SubmitBatch(ctx, BatchRequest{Rejudge: &store.Query{Ecosystem: "npm"}})
	if err != nil {
		t.Fatalf("SubmitBatch rejudge: %v", err)
	}
	for _, id := range []string{spec.ID, up.ID} {
		info, err := e.insp.GetTaskInfo(QueueRejudge, TypeRejudge+":"+b.ID+":"+id)
		if err != nil || info.Type != TypeRejudge {
			t.Errorf("rejudge task of %s: %+v, %v", id, info, err)
		}
	}
	if _, err := e.insp.GetTaskInfo(QueueRejudge, TypeRejudge+":"+b.ID+":"+queued.ID); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Errorf("rejudge task of a queued analysis: %v, want none", err)
	}
	if _, p, _ := e.st.GetBatch(ctx, b.ID); p.Total != 2 {
		t.Errorf("rejudge batch total = %d, want 2", p.Total)
	}

	b, err = e.s.SubmitBatch(ctx, BatchRequest{Rerun: &store.Query{Status: store.Done}})
	if err != nil {
		t.Fatalf("SubmitBatch rerun: %v", err)
	}
	recs, _, err := e.st.List(ctx, store.Query{Status: store.Queued})
	if err != nil {
		t.Fatal(err)
	}
	var reruns []*store.Record
	for _, r := range recs {
		if r.BatchID == b.ID {
			reruns = append(reruns, r)
		}
	}
	if len(reruns) != 2 {
		t.Fatalf("rerun records = %d, want 2", len(reruns))
	}
	for _, r := range reruns {
		var was *store.Record
		switch r.Spec {
		case spec.Spec:
			was = spec
		case up.Spec:
			was = up
		default:
			t.Fatalf("rerun of unexpected spec %q", r.Spec)
		}
		if r.ID == was.ID || r.Artifact != was.Artifact || r.Package.Name != was.Package.Name || r.Source != was.Source {
			t.Errorf("rerun = id %s artifact %q name %q, want a new record of %+v", r.ID, r.Artifact, r.Package.Name, was.Package)
		}
		if _, err := e.insp.GetTaskInfo(QueueBatch, r.ID); err != nil {
			t.Errorf("rerun task %s: %v", r.ID, err)
		}
	}
}

func TestArchivedAndDepths(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	depths, err := e.s.QueueDepths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(depths) != 4 || depths[QueueInteractive]+depths[QueueBatch]+depths[QueueFeed]+depths[QueueRejudge] != 0 {
		t.Errorf("depths of empty queues = %v, want four zeros", depths)
	}
	rec, _, err := e.s.Submit(ctx, Submission{Spec: "npm:left-pad@1.3.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.insp.ArchiveTask(QueueInteractive, rec.ID); err != nil {
		t.Fatal(err)
	}
	dead, err := e.s.Archived(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].ID != rec.ID || dead[0].Type != TypeAnalyze || dead[0].Queue != QueueInteractive {
		t.Errorf("Archived = %+v, want the analyze task %s", dead, rec.ID)
	}
}

func TestParsePayloads(t *testing.T) {
	tests := []struct {
		name string
		task *asynq.Task
		ok   bool
	}{
		{"analyze", NewAnalyzeTask("id-1"), true},
		{"analyze without id", asynq.NewTask(TypeAnalyze, []byte(`{}`)), false},
		{"analyze not json", asynq.NewTask(TypeAnalyze, []byte(`{`)), false},
		{"wrong type", NewWebhookTask("id-1", "https://h.example.test/"), false},
	}
	for _, tt := range tests {
		p, err := ParseAnalyze(tt.task)
		if tt.ok != (err == nil) || (!tt.ok && !errors.Is(err, ErrPayload)) {
			t.Errorf("%s: ParseAnalyze = %+v, %v; want ok %v", tt.name, p, err, tt.ok)
		}
	}
	w, err := ParseWebhook(NewWebhookTask("id-2", "https://h.example.test/"))
	if err != nil || w != (WebhookPayload{ID: "id-2", URL: "https://h.example.test/"}) {
		t.Errorf("ParseWebhook = %+v, %v", w, err)
	}
	if _, err := ParseWebhook(asynq.NewTask(TypeWebhook, []byte(`{"id":"x"}`))); !errors.Is(err, ErrPayload) {
		t.Errorf("ParseWebhook without url = %v, want ErrPayload", err)
	}
	r, err := ParseRejudge(NewRejudgeTask("b", "id-3"))
	if err != nil || r.ID != "id-3" {
		t.Errorf("ParseRejudge = %+v, %v", r, err)
	}
}

// Requeue restores the tasks of stored analyses that Redis lost, once.
func TestRequeue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	one, _, err := e.s.Submit(ctx, Submission{Spec: "npm:one@1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.s.SubmitBatch(ctx, BatchRequest{Specs: []string{"npm:two@1.0.0", "npm:three@1.0.0"}})
	if err != nil {
		t.Fatal(err)
	}
	done, _, err := e.s.Submit(ctx, Submission{Spec: "npm:done@1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.Complete(ctx, &done.Analysis, ""); err != nil {
		t.Fatal(err)
	}
	if n, err := e.s.Requeue(ctx); err != nil || n != 0 {
		t.Errorf("Requeue with every task in Redis = %d, %v; want 0", n, err)
	}
	testenv.FlushRedisDB(t, e.redis.Addr, redisDB)
	if n, err := e.s.Requeue(ctx); err != nil || n != 3 {
		t.Errorf("Requeue after Redis lost everything = %d, %v; want 3", n, err)
	}
	if _, err := e.insp.GetTaskInfo(QueueInteractive, one.ID); err != nil {
		t.Errorf("task of %s: %v", one.ID, err)
	}
	depths, err := e.s.QueueDepths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if depths[QueueInteractive] != 1 || depths[QueueBatch] != 2 {
		t.Errorf("depths = %v, want 1 interactive, 2 batch (batch %s)", depths, b.ID)
	}
	if n, err := e.s.Requeue(ctx); err != nil || n != 0 {
		t.Errorf("second Requeue = %d, %v; want 0", n, err)
	}
}

// TestSubmitPyPIWithoutIndex checks that a farm without a PyPI index
// refuses PyPI specs at submission, alone and in a batch.
func TestSubmitPyPIWithoutIndex(t *testing.T) {
	t.Setenv("FUMEHOOD_PYPI_INDEX", "")
	e := newEnv(t, WithEcosystem(ecosystem.Config{NPMRegistry: loopbackRegistry}))
	ctx := context.Background()
	if _, _, err := e.s.Submit(ctx, Submission{Spec: "pypi:requests==2.31.0"}); !errors.Is(err, ecosystem.ErrBadSpec) || !strings.Contains(err.Error(), "no PyPI index") {
		t.Errorf("Submit pypi spec: err %v, want ErrBadSpec naming the missing index", err)
	}
	if _, err := e.s.SubmitBatch(ctx, BatchRequest{Specs: []string{"npm:a@1.0.0", "pypi:b==1.0"}}); !errors.Is(err, ecosystem.ErrBadSpec) {
		t.Errorf("SubmitBatch with a pypi spec: err %v, want ErrBadSpec", err)
	}
	if _, _, err := e.s.Submit(ctx, Submission{Spec: "npm:a@1.0.0"}); err != nil {
		t.Errorf("Submit npm spec: %v", err)
	}
}
