package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/ecosystem/lockfile"
	"github.com/fumehood/fumehood/internal/netpolicy"
	"github.com/fumehood/fumehood/store"
)

// ErrInvalid is wrapped by errors that are the caller's mistake and have
// no sentinel of their own: a malformed lockfile, an empty or ambiguous
// batch, a bad webhook URL or queue name. Bad specs and artifacts wrap
// ecosystem.ErrBadSpec, ErrBadArtifact or ErrTooLarge instead.
var ErrInvalid = errors.New("invalid request")

// MaxBatch bounds the analyses one batch may fan out to.
const MaxBatch = 100000

// Submission is one package to analyse: a registry spec, or an uploaded
// artifact (Upload, FileName, Ecosystem, UploadedBy).
type Submission struct {
	Spec string
	// Fetched is, with a registry Spec, the digest of the version's
	// artifact already in the blob store: the bytes the registry
	// firewall fetched from its upstream, analysed instead of a download
	// by the worker. The record is a registry record of that digest.
	Fetched    string
	Ecosystem  string
	FileName   string
	Upload     io.Reader
	UploadedBy string // the name of the token that uploaded
	Force      bool
	Webhook    string
	Queue      string // default interactive
	BatchID    string
}

// BatchRequest is a fan-out: exactly one of a lockfile, a list of specs,
// a stored-analysis selection to re-judge or one to re-run.
type BatchRequest struct {
	Lockfile     []byte
	LockfileName string
	Specs        []string
	Rejudge      *store.Query
	Rerun        *store.Query
	Webhook      string
	Force        bool
}

// DeadTask is a task the queue gave up on (archived).
type DeadTask struct {
	ID       string    `json:"id"`
	Type     string    `json:"type"`
	Queue    string    `json:"queue"`
	Error    string    `json:"last_error"`
	Retried  int       `json:"retried"`
	FailedAt time.Time `json:"failed_at"`
	Payload  string    `json:"payload,omitempty"`
}

// Scheduler validates, de-duplicates and enqueues work.
type Scheduler struct {
	redis  asynq.RedisConnOpt
	client *asynq.Client
	insp   *asynq.Inspector
	rdb    redis.UniversalClient // the workers' metrics
	st     store.Store
	blobs  store.Blobs
	rules  string
	eco    ecosystem.Config
	log    *slog.Logger
	// webhooks refuses receivers at internal address literals early (the
	// worker that posts checks every connection).
	webhooks netpolicy.Policy
}

// Option configures a Scheduler.
type Option func(*Scheduler)

// WithEcosystem sets the configuration uploads are checked with (size
// limits; give it a resolved npm registry, as ecosystem.DefaultConfig
// returns, or checking an npm upload asks the host's npm for one).
func WithEcosystem(c ecosystem.Config) Option { return func(s *Scheduler) { s.eco = c } }

// WithWebhookPolicy sets the internal networks webhook URLs may name
// (default none: loopback, private and link-local literals are refused).
func WithWebhookPolicy(p netpolicy.Policy) Option { return func(s *Scheduler) { s.webhooks = p } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Scheduler) { s.log = l } }

// New returns a Scheduler enqueueing on redis, recording in st and blobs,
// de-duplicating against analyses judged by rulesVersion. Close it.
func New(redis asynq.RedisConnOpt, st store.Store, blobs store.Blobs, rulesVersion string, opts ...Option) *Scheduler {
	s := &Scheduler{
		redis: redis, client: asynq.NewClient(redis), insp: asynq.NewInspector(redis), rdb: redisClient(redis),
		st: st, blobs: blobs, rules: rulesVersion, log: slog.Default(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Close closes the Redis connections (not the store).
func (s *Scheduler) Close() error {
	return errors.Join(s.client.Close(), s.insp.Close(), s.rdb.Close())
}

// Submit validates sub, returns the existing record of the same key
// (existing true) unless sub.Force, or creates a queued record and
// enqueues its analysis.
func (s *Scheduler) Submit(ctx context.Context, sub Submission) (*store.Record, bool, error) {
	if sub.Queue == "" {
		sub.Queue = QueueInteractive
	}
	if _, ok := Queues()[sub.Queue]; !ok {
		return nil, false, fmt.Errorf("queue %q: %w", sub.Queue, ErrInvalid)
	}
	if err := s.checkWebhook(sub.Webhook); err != nil {
		return nil, false, err
	}
	var (
		rec *store.Record
		err error
	)
	switch {
	case sub.Upload != nil:
		rec, err = s.upload(ctx, sub)
	case sub.Fetched != "":
		rec, err = s.fetched(ctx, sub.Spec, sub.Fetched)
	default:
		rec, err = s.registryRecord(sub.Spec)
	}
	if err != nil {
		return nil, false, err
	}
	rec.Rules, rec.Webhook, rec.BatchID = s.rules, sub.Webhook, sub.BatchID
	rec.ID, rec.Status = uuid.NewString(), store.Queued
	if sub.Force {
		err = s.st.Create(ctx, rec)
	} else {
		var existing bool
		rec, existing, err = s.st.FindOrCreate(ctx, key(rec), rec)
		if err == nil && existing {
			return rec, true, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	if err := s.enqueue(ctx, rec, sub.Queue); err != nil {
		return nil, false, err
	}
	return rec, false, nil
}

func key(r *store.Record) store.Key {
	return store.Key{Ecosystem: r.Package.Ecosystem, Name: r.Package.Name, Version: r.Package.Version,
		Digest: r.Artifact, Rules: r.Rules, Source: r.Source}
}

// registryRecord validates a registry spec into a record. Paths are
// refused before ecosystem.Parse could look at them, and PyPI specs when
// the farm has no PyPI index to fetch them from (at submission, not as a
// failed analysis later).
func (s *Scheduler) registryRecord(spec string) (*store.Record, error) {
	spec = strings.TrimSpace(spec)
	if !strings.HasPrefix(spec, ecosystem.NPM+":") && !strings.HasPrefix(spec, ecosystem.PyPI+":") {
		return nil, fmt.Errorf("%q: a farm takes registry specs (npm:NAME@VERSION, pypi:NAME==VERSION) or uploads, not paths: %w", clip(spec), ecosystem.ErrBadSpec)
	}
	t, err := ecosystem.Parse(spec)
	if err != nil {
		return nil, err
	}
	if t.Ecosystem == ecosystem.PyPI && !s.eco.HasPyPI() {
		return nil, fmt.Errorf("%q: this farm has no PyPI index (its operator sets FUMEHOOD_PYPI_INDEX): %w", clip(spec), ecosystem.ErrBadSpec)
	}
	return &store.Record{
		Analysis: analysis.Analysis{Package: analysis.Package{Ecosystem: t.Ecosystem, Name: ecosystem.CanonicalName(t.Ecosystem, t.Name), Version: t.Version}},
		Spec:     t.String(),
		Source:   store.FromRegistry,
	}, nil
}

// fetched is the registry record of spec whose artifact, digest, another
// part of the farm fetched from the registry and put in the blob store.
func (s *Scheduler) fetched(ctx context.Context, spec, digest string) (*store.Record, error) {
	rec, err := s.registryRecord(spec)
	if err != nil {
		return nil, err
	}
	r, err := s.blobs.Get(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("fetched artifact of %s: %w: %w", rec.Spec, ErrInvalid, err)
	}
	r.Close()
	rec.Artifact, rec.Package.Digest = digest, digest
	return rec, nil
}

// upload checks an uploaded artifact (ecosystem.Fetch of the file: size,
// archive sanity, manifest) and stores it in the blob store.
func (s *Scheduler) upload(ctx context.Context, sub Submission) (*store.Record, error) {
	if sub.Ecosystem != ecosystem.NPM && sub.Ecosystem != ecosystem.PyPI {
		return nil, fmt.Errorf("upload ecosystem %q: want npm or pypi: %w", sub.Ecosystem, ecosystem.ErrBadSpec)
	}
	name, err := uploadName(sub.Ecosystem, sub.FileName)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fumehood-upload-")
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, name)
	max := s.eco.MaxArtifact
	if max <= 0 {
		max = ecosystem.DefaultMaxArtifact
	}
	if err := writeFile(file, sub.Upload, max); err != nil {
		return nil, err
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	art, err := ecosystem.Fetch(ctx, s.eco, ecosystem.Target{Ecosystem: sub.Ecosystem, Path: file}, work)
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", name, pathless{err, dir})
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	defer f.Close()
	digest, err := s.blobs.Put(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("upload %s: store artifact: %w", name, err)
	}
	return &store.Record{
		Analysis:   analysis.Analysis{Package: analysis.Package{Ecosystem: art.Ecosystem, Name: ecosystem.CanonicalName(art.Ecosystem, art.Name), Version: art.Version, Digest: digest}},
		Spec:       "upload:" + name,
		Artifact:   digest,
		Source:     store.FromUpload,
		UploadedBy: sub.UploadedBy,
	}, nil
}

// uploadName is the base of the uploaded file's name, which must say what
// the file is (ecosystem.Parse tells formats by suffix).
func uploadName(eco, name string) (string, error) {
	base := filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	ok := false
	switch eco {
	case ecosystem.NPM:
		ok = strings.HasSuffix(base, ".tgz") || strings.HasSuffix(base, ".tar.gz")
	case ecosystem.PyPI:
		ok = strings.HasSuffix(base, ".whl") || strings.HasSuffix(base, ".tar.gz")
	}
	if !ok || strings.HasPrefix(base, ".") || len(base) > 255 {
		return "", fmt.Errorf("upload file name %q: an %s artifact is a .tgz, .tar.gz or .whl file: %w", clip(name), eco, ecosystem.ErrBadArtifact)
	}
	return base, nil
}

func writeFile(path string, r io.Reader, max int64) (retErr error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer func() {
		if err := f.Close(); retErr == nil && err != nil {
			retErr = fmt.Errorf("upload: %w", err)
		}
	}()
	n, err := io.Copy(f, io.LimitReader(r, max+1))
	switch {
	case err != nil:
		return fmt.Errorf("upload: %w", err)
	case n > max:
		return fmt.Errorf("upload over %d bytes: %w", max, ecosystem.ErrTooLarge)
	}
	return nil
}

// checkWebhook accepts "" or the URL of a receiver the farm may post to.
func (s *Scheduler) checkWebhook(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := netpolicy.ParseURL(raw)
	if err == nil {
		err = s.webhooks.CheckURL(u)
	}
	if err != nil {
		return fmt.Errorf("webhook: %w: %w", err, ErrInvalid)
	}
	return nil
}

// enqueue enqueues the analysis of the stored record rec; if the enqueue
// fails, the record is marked failed.
func (s *Scheduler) enqueue(ctx context.Context, rec *store.Record, queue string) error {
	_, err := s.client.EnqueueContext(ctx, NewAnalyzeTask(rec.ID), asynq.Queue(queue))
	if err == nil || errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	err = fmt.Errorf("enqueue %s: %w", rec.ID, err)
	if ferr := s.st.Fail(context.WithoutCancel(ctx), rec.ID, err.Error()); ferr != nil {
		return errors.Join(err, ferr)
	}
	return err
}

// SubmitBatch fans r out: every package of a lockfile or list (each
// de-duplicated against the store unless forced, so an item may be an
// existing analysis), every done analysis a Rejudge query selects (judged
// again by the workers, no sandbox), or every analysis a Rerun query
// selects (detonated again). Specs and lockfiles are validated whole
// before anything is created.
func (s *Scheduler) SubmitBatch(ctx context.Context, r BatchRequest) (*store.Batch, error) {
	n := 0
	for _, set := range []bool{r.Lockfile != nil, r.Specs != nil, r.Rejudge != nil, r.Rerun != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("a batch is exactly one of a lockfile, specs, rejudge or rerun: %w", ErrInvalid)
	}
	if err := s.checkWebhook(r.Webhook); err != nil {
		return nil, err
	}
	b := &store.Batch{ID: uuid.NewString(), Webhook: r.Webhook}
	var (
		items []string
		err   error
	)
	switch {
	case r.Lockfile != nil:
		b.Kind, b.Source = "lockfile", filepath.Base(r.LockfileName)
		ts, perr := lockfile.Parse(r.LockfileName, r.Lockfile)
		if perr != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, perr)
		}
		specs := make([]string, len(ts))
		for i, t := range ts {
			specs[i] = t.String()
		}
		items, err = s.specs(ctx, b, specs, r.Force)
	case r.Specs != nil:
		b.Kind = "specs"
		items, err = s.specs(ctx, b, r.Specs, r.Force)
	case r.Rejudge != nil:
		b.Kind = "rejudge"
		items, err = s.rejudge(ctx, b, *r.Rejudge)
	default:
		b.Kind = "rerun"
		items, err = s.rerun(ctx, b, *r.Rerun)
	}
	if err != nil {
		return nil, err
	}
	if err := s.st.CreateBatch(ctx, b, items); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "batch submitted", "batch", b.ID, "kind", b.Kind, "items", len(items))
	return b, nil
}

func (s *Scheduler) specs(ctx context.Context, b *store.Batch, specs []string, force bool) ([]string, error) {
	if len(specs) == 0 {
		return nil, fmt.Errorf("an empty batch: %w", ErrInvalid)
	}
	if len(specs) > MaxBatch {
		return nil, fmt.Errorf("%d packages, at most %d a batch: %w", len(specs), MaxBatch, ErrInvalid)
	}
	recs := make([]*store.Record, 0, len(specs))
	seen := map[string]bool{}
	for _, sp := range specs {
		rec, err := s.registryRecord(sp)
		if err != nil {
			return nil, err
		}
		if !seen[rec.Spec] {
			seen[rec.Spec] = true
			recs = append(recs, rec)
		}
	}
	items := make([]string, 0, len(recs))
	for _, rec := range recs {
		got, _, err := s.Submit(ctx, Submission{Spec: rec.Spec, Force: force, Webhook: b.Webhook, Queue: QueueBatch, BatchID: b.ID})
		if err != nil {
			return nil, err
		}
		items = append(items, got.ID)
	}
	return items, nil
}

// each calls fn for every record q selects, newest first, failing past
// max records (0: no bound).
func (s *Scheduler) each(ctx context.Context, q store.Query, max int, fn func(*store.Record) error) error {
	q.Cursor, q.Limit = "", 1000
	for n := 0; ; {
		recs, next, err := s.st.List(ctx, q)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if n++; max > 0 && n > max {
				return fmt.Errorf("the selection has more than %d analyses; narrow it: %w", MaxBatch, ErrInvalid)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
}

func (s *Scheduler) rejudge(ctx context.Context, b *store.Batch, q store.Query) ([]string, error) {
	if q.Status != "" && q.Status != store.Done {
		return nil, fmt.Errorf("rejudge selects done analyses, not %s ones: %w", q.Status, ErrInvalid)
	}
	q.Status = store.Done
	var ids []string
	err := s.each(ctx, q, MaxBatch, func(r *store.Record) error {
		if r.TraceDigest != "" {
			ids = append(ids, r.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("the selection has no done analysis with a trace: %w", ErrInvalid)
	}
	for _, id := range ids {
		_, err := s.client.EnqueueContext(ctx, NewRejudgeTask(b.ID, id))
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return nil, fmt.Errorf("enqueue rejudge %s: %w", id, err)
		}
	}
	return ids, nil
}

func (s *Scheduler) rerun(ctx context.Context, b *store.Batch, q store.Query) ([]string, error) {
	var old []*store.Record
	err := s.each(ctx, q, MaxBatch, func(r *store.Record) error {
		if r.Artifact != "" || strings.HasPrefix(r.Spec, ecosystem.NPM+":") || strings.HasPrefix(r.Spec, ecosystem.PyPI+":") {
			old = append(old, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(old) == 0 {
		return nil, fmt.Errorf("the selection is empty: %w", ErrInvalid)
	}
	ids := make([]string, 0, len(old))
	for _, o := range old {
		rec := &store.Record{
			Analysis: analysis.Analysis{ID: uuid.NewString(), Rules: s.rules,
				Package: analysis.Package{Ecosystem: o.Package.Ecosystem, Name: o.Package.Name, Version: o.Package.Version}},
			Status: store.Queued, Spec: o.Spec, Artifact: o.Artifact, BatchID: b.ID, Webhook: b.Webhook,
			Source: o.Source, UploadedBy: o.UploadedBy,
		}
		if o.Artifact != "" {
			rec.Package.Digest = o.Artifact
		}
		if err := s.st.Create(ctx, rec); err != nil {
			return nil, err
		}
		if err := s.enqueue(ctx, rec, QueueBatch); err != nil {
			return nil, err
		}
		ids = append(ids, rec.ID)
	}
	return ids, nil
}

// Requeue enqueues again the analyses the store has queued or running
// whose tasks Redis no longer holds (Redis lost its data, or a process
// died between storing a record and enqueueing it), and returns how many
// it enqueued. A task Redis still holds, in whatever state, is left
// alone: its id conflicts. Run it when a farm starts.
func (s *Scheduler) Requeue(ctx context.Context) (_ int, retErr error) {
	// A fresh client: a long-lived one remembers having registered its
	// queues, which a Redis that lost its data no longer lists.
	client := asynq.NewClient(s.redis)
	defer func() { retErr = errors.Join(retErr, client.Close()) }()
	n := 0
	for _, st := range []store.Status{store.Queued, store.Running} {
		err := s.each(ctx, store.Query{Status: st}, 0, func(r *store.Record) error {
			q := QueueInteractive
			if r.BatchID != "" {
				q = QueueBatch
			}
			_, err := client.EnqueueContext(ctx, NewAnalyzeTask(r.ID), asynq.Queue(q))
			switch {
			case err == nil:
				n++
			case !errors.Is(err, asynq.ErrTaskIDConflict):
				return fmt.Errorf("requeue %s: %w", r.ID, err)
			}
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	if n > 0 {
		s.log.WarnContext(ctx, "requeued analyses Redis had lost", "count", n)
	}
	return n, nil
}

// CancelBatch marks the batch cancelled and its queued analyses failed
// ("cancelled") in the store, then deletes their pending tasks. An
// analysis already running finishes. A task that cannot be deleted (it
// just became active, or Redis is away) is harmless: workers skip
// cancelled records.
func (s *Scheduler) CancelBatch(ctx context.Context, id string) error {
	ids, err := s.st.CancelBatch(ctx, id)
	if err != nil {
		return err
	}
	deleted := 0
	for _, a := range ids {
		for _, q := range []string{QueueBatch, QueueInteractive} {
			err := s.insp.DeleteTask(q, a)
			switch {
			case err == nil:
				deleted++
			case !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound):
				s.log.WarnContext(ctx, "cancel batch: task left to the workers", "batch", id, "analysis", a, "err", err)
			}
		}
	}
	s.log.InfoContext(ctx, "batch cancelled", "batch", id, "cancelled", len(ids), "tasks_deleted", deleted)
	return nil
}

// Archived returns the tasks the queues gave up on, newest failure first.
func (s *Scheduler) Archived(ctx context.Context) ([]DeadTask, error) {
	out := []DeadTask{}
	for _, q := range queueNames() {
		for page := 1; ; page++ {
			ts, err := s.insp.ListArchivedTasks(q, asynq.PageSize(500), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("archived tasks of %s: %w", q, err)
			}
			for _, t := range ts {
				out = append(out, DeadTask{ID: t.ID, Type: t.Type, Queue: t.Queue, Error: t.LastErr,
					Retried: t.Retried, FailedAt: t.LastFailedAt, Payload: string(t.Payload)})
			}
			if len(ts) < 500 || ctx.Err() != nil {
				break
			}
		}
	}
	slices.SortStableFunc(out, func(a, b DeadTask) int { return b.FailedAt.Compare(a.FailedAt) })
	return out, ctx.Err()
}

// QueueDepths returns, per queue, the tasks not yet finished: pending,
// active, scheduled and waiting to be retried.
func (s *Scheduler) QueueDepths(ctx context.Context) (map[string]int, error) {
	known, err := s.insp.Queues()
	if err != nil {
		return nil, fmt.Errorf("queues: %w", err)
	}
	out := map[string]int{}
	for _, q := range queueNames() {
		out[q] = 0
		if !slices.Contains(known, q) {
			continue // asynq knows a queue once a task was enqueued on it
		}
		info, err := s.insp.GetQueueInfo(q)
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", q, err)
		}
		out[q] = info.Pending + info.Active + info.Scheduled + info.Retry
	}
	return out, ctx.Err()
}

func queueNames() []string {
	return []string{QueueInteractive, QueueBatch, QueueFeed, QueueRejudge}
}

func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// pathless is err with the server's directory dir left out of its text
// (a client reads it: "fetch x.tgz: not gzip"), wrapping err as it was.
type pathless struct {
	err error
	dir string
}

func (p pathless) Error() string {
	return strings.ReplaceAll(p.err.Error(), p.dir+string(os.PathSeparator), "")
}

func (p pathless) Unwrap() error { return p.err }
