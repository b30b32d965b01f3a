package worker

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/internal/netpolicy"
	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
)

// Analyzer runs one analysis under a given id; *Pipeline (and so
// *Machine) is one.
type Analyzer interface {
	AnalyzeWithID(ctx context.Context, id string, t ecosystem.Target) (*analysis.Analysis, error)
}

// Enqueuer puts follow-up tasks (webhooks) on the queue; *asynq.Client is
// one.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Poller submits the new versions of watched packages
// (scheduler.Scheduler).
type Poller interface {
	Poll(ctx context.Context, p scheduler.FeedPayload, now time.Time) (scheduler.PollResult, error)
}

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of a webhook
// body under the farm's webhook secret.
const SignatureHeader = "X-Fumehood-Signature"

// Handler processes the farm's tasks: analyze, rejudge, webhook, feed.
//
// A package's behaviour, whatever it is, and a time-out are results: the
// task succeeds. A package that cannot be analysed (bad spec or artifact,
// not in the registry, too large) fails its record and its task with
// asynq.SkipRetry. Anything else is infrastructure (containerd, store,
// blobs, Redis) and is returned, so that asynq retries it with backoff;
// the last attempt fails the record. Delivery is at least once: every
// handler is idempotent by record id.
type Handler struct {
	Pipeline Analyzer
	Store    store.Store
	Blobs    store.Blobs
	// Rules re-judges stored traces.
	Rules *rules.Set
	// Queue enqueues webhooks; nil sends none.
	Queue Enqueuer
	// Feed polls watched packages (feed tasks); nil fails them.
	Feed Poller
	// WebhookSecret signs webhook bodies (SignatureHeader).
	WebhookSecret []byte
	// BaseURL is the API's, for the "url" of webhook summaries.
	BaseURL string
	// HTTPClient posts webhooks (default: 20-second timeout, internal
	// addresses refused; see netpolicy).
	HTTPClient *http.Client
	// WorkDir holds uploaded artifacts while they are analysed (default
	// the system's temporary directory).
	WorkDir string
	Logger  *slog.Logger
}

// Register adds the handlers to mux.
func (h *Handler) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(scheduler.TypeAnalyze, h.analyze)
	mux.HandleFunc(scheduler.TypeRejudge, h.rejudge)
	mux.HandleFunc(scheduler.TypeWebhook, h.webhook)
	mux.HandleFunc(scheduler.TypeFeed, h.feed)
}

func (h *Handler) feed(ctx context.Context, t *asynq.Task) error {
	p, err := scheduler.ParseFeed(t)
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	if h.Feed == nil {
		return fmt.Errorf("feed task: this worker polls no feeds: %w", asynq.SkipRetry)
	}
	res, err := h.Feed.Poll(ctx, p, time.Now())
	if err != nil {
		return err
	}
	for _, f := range res.Failed {
		h.log().WarnContext(ctx, "feed: package not polled", "err", f)
	}
	h.log().InfoContext(ctx, "feed polled", "packages", len(p.Watch), "submitted", len(res.Submitted), "known", res.Existing)
	return nil
}

func (h *Handler) log() *slog.Logger {
	if h.Logger == nil {
		return slog.Default()
	}
	return h.Logger
}

// record reads the record a task names: one that does not exist is final
// (asynq.SkipRetry), a store failure is retried.
func (h *Handler) record(ctx context.Context, id string) (*store.Record, error) {
	rec, err := h.Store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return rec, err
}

// badPackage reports whether err is the package's fault, not the farm's.
func badPackage(err error) bool {
	return errors.Is(err, ecosystem.ErrBadSpec) || errors.Is(err, ecosystem.ErrBadArtifact) ||
		errors.Is(err, ecosystem.ErrNotFound) || errors.Is(err, ecosystem.ErrTooLarge)
}

// lastAttempt reports whether asynq will not retry the task after this
// run. A run cancelled by a stopping worker is handed back, not failed.
func lastAttempt(ctx context.Context) bool {
	n, ok1 := asynq.GetRetryCount(ctx)
	max, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && n >= max
}

func (h *Handler) analyze(ctx context.Context, t *asynq.Task) error {
	p, err := scheduler.ParseAnalyze(t)
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	log := h.log().With("analysis", p.ID)
	rec, err := h.record(ctx, p.ID)
	switch {
	case err != nil:
		return err
	case rec.Status == store.Done:
		// A redelivered task: the analysis is stored; make sure its
		// notification is queued.
		return h.notify(ctx, rec)
	case rec.Status == store.Failed:
		log.InfoContext(ctx, "analysis not run", "reason", rec.Error)
		return nil
	}
	if err := h.Store.Start(ctx, rec.ID); err != nil {
		return err
	}
	a, err := h.run(ctx, rec)
	if err == nil {
		err = h.complete(ctx, a)
	}
	switch {
	case err == nil:
		log.InfoContext(ctx, "analysis done", "verdict", a.Verdict, "score", a.Score)
		rec.Analysis = *a
		return h.notify(ctx, rec)
	case badPackage(err):
		log.InfoContext(ctx, "package cannot be analysed", "err", err)
		if ferr := h.Store.Fail(ctx, rec.ID, err.Error()); ferr != nil {
			return ferr
		}
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	case lastAttempt(ctx) && !errors.Is(ctx.Err(), context.Canceled):
		log.ErrorContext(ctx, "analysis failed, no retry left", "err", err)
		return errors.Join(err, h.Store.Fail(context.WithoutCancel(ctx), rec.ID, "infrastructure: "+err.Error()))
	}
	log.WarnContext(ctx, "analysis failed, will retry", "err", err)
	return err
}

// run analyses rec under its id: its artifact in the blob store (an
// upload, or registry bytes the firewall fetched, which must then be the
// record's name and version), copied into a file of its own, or else its
// registry version.
func (h *Handler) run(ctx context.Context, rec *store.Record) (*analysis.Analysis, error) {
	t := ecosystem.Target{Ecosystem: rec.Package.Ecosystem, Name: rec.Package.Name, Version: rec.Package.Version}
	if rec.Artifact != "" {
		// One dir per record: a re-delivered task replaces what a killed
		// run of it left.
		base := h.WorkDir
		if base == "" {
			base = os.TempDir()
		}
		dir := filepath.Join(base, "fumehood-artifact-"+rec.ID)
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("artifact dir: %w", err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, fmt.Errorf("artifact dir: %w", err)
		}
		defer os.RemoveAll(dir)
		var err error
		if t.Path, err = h.artifact(ctx, rec, dir); err != nil {
			return nil, err
		}
		if rec.Source != store.FromUpload {
			if t.Path, err = ecosystem.NameArtifact(ecosystem.Config{}, rec.Package.Ecosystem, t.Path); err != nil {
				return nil, fmt.Errorf("artifact %s: %w", rec.Artifact, err)
			}
		}
		if rec.Source == store.FromUpload {
			t.Name, t.Version = "", ""
		}
	}
	return h.Pipeline.AnalyzeWithID(ctx, rec.ID, t)
}

// artifact writes rec's stored artifact into dir under its upload name
// (whose suffix says its format), or a name of its ecosystem's format, and
// returns the path.
func (h *Handler) artifact(ctx context.Context, rec *store.Record, dir string) (_ string, retErr error) {
	name := ""
	if rec.Source == store.FromUpload {
		name = filepath.Base(strings.TrimPrefix(rec.Spec, "upload:"))
	}
	if name == "" || name == "." || name == "/" || strings.HasPrefix(name, ".") {
		name = "artifact.tgz"
		if rec.Package.Ecosystem == ecosystem.PyPI {
			name = "artifact.tar.gz"
		}
	}
	r, err := h.Blobs.Get(ctx, rec.Artifact)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrDigest) {
		return "", fmt.Errorf("artifact %s: %v: %w", rec.Artifact, err, ecosystem.ErrBadArtifact)
	}
	if err != nil {
		return "", fmt.Errorf("artifact %s: %w", rec.Artifact, err)
	}
	defer r.Close()
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("artifact: %w", err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, store.ErrCorrupt) {
		return "", fmt.Errorf("artifact %s: %w: %w", rec.Artifact, err, ecosystem.ErrBadArtifact)
	}
	if err != nil {
		return "", fmt.Errorf("artifact %s: %w", rec.Artifact, err)
	}
	return path, nil
}

// complete stores a's trace in the blob store, then a.
func (h *Handler) complete(ctx context.Context, a *analysis.Analysis) error {
	tr := a.Trace
	if tr == nil {
		tr = &trace.Trace{}
	}
	var buf bytes.Buffer
	if err := trace.EncodeBinary(&buf, tr); err != nil {
		return fmt.Errorf("trace of %s: %w", a.ID, err)
	}
	digest, err := h.Blobs.Put(ctx, &buf)
	if err != nil {
		return fmt.Errorf("store trace of %s: %w", a.ID, err)
	}
	return h.Store.Complete(ctx, a, digest)
}

// notify enqueues rec's webhook when it has one and ended suspicious or
// malicious. The webhook task's id is fixed per record, and kept a day
// after delivery, so a redelivered analysis does not notify twice.
func (h *Handler) notify(ctx context.Context, rec *store.Record) error {
	if h.Queue == nil || rec.Webhook == "" || rec.Verdict == analysis.Benign || rec.Verdict == "" {
		return nil
	}
	_, err := h.Queue.EnqueueContext(ctx, scheduler.NewWebhookTask(rec.ID, rec.Webhook))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue webhook of %s: %w", rec.ID, err)
	}
	return nil
}

func (h *Handler) rejudge(ctx context.Context, t *asynq.Task) error {
	p, err := scheduler.ParseRejudge(t)
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	rec, err := h.record(ctx, p.ID)
	switch {
	case err != nil:
		return err
	case rec.Status != store.Done || rec.TraceDigest == "":
		return fmt.Errorf("rejudge %s: %s, no trace: %w", rec.ID, rec.Status, asynq.SkipRetry)
	}
	r, err := h.Blobs.Get(ctx, rec.TraceDigest)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrDigest):
		return fmt.Errorf("rejudge %s: trace: %w: %w", rec.ID, err, asynq.SkipRetry)
	case err != nil:
		return fmt.Errorf("rejudge %s: trace: %w", rec.ID, err)
	}
	tr, err := trace.DecodeEvents(r)
	r.Close()
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("rejudge %s: %w", rec.ID, ctx.Err())
	case err != nil: // a corrupt or undecodable trace stays so
		return fmt.Errorf("rejudge %s: trace: %w: %w", rec.ID, err, asynq.SkipRetry)
	}
	// Compared afresh, as a new analysis is: an earlier version analysed
	// since counts, and so do script files compared since.
	earlier := StoreEarlier{Store: h.Store, Blobs: h.Blobs, Logger: h.log()}
	if tr.Previous, err = comparePrevious(ctx, earlier, &rec.Analysis, storedCommands(&rec.Analysis), tr); err != nil {
		return fmt.Errorf("rejudge %s: %w", rec.ID, err)
	}
	j := h.Rules.Judge(tr)
	if err := h.Store.Rejudge(ctx, rec.ID, j.Verdict, j.Score, j.Hits, h.Rules.Version()); err != nil {
		return err
	}
	h.log().DebugContext(ctx, "rejudged", "analysis", rec.ID, "was", rec.Verdict, "now", j.Verdict, "rules", h.Rules.Version())
	return nil
}

// WebhookSummary is the JSON body a webhook receives.
type WebhookSummary struct {
	ID      string           `json:"id"`
	Package analysis.Package `json:"package"`
	Verdict analysis.Verdict `json:"verdict"`
	Score   int              `json:"score"`
	Hits    []analysis.Hit   `json:"hits"`
	URL     string           `json:"url"`
}

// Sign returns the SignatureHeader value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// defaultWebhookClient posts webhooks of Handlers without an HTTPClient.
var defaultWebhookClient = netpolicy.Policy{}.Client(20 * time.Second)

func (h *Handler) webhook(ctx context.Context, t *asynq.Task) error {
	p, err := scheduler.ParseWebhook(t)
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	rec, err := h.record(ctx, p.ID)
	switch {
	case err != nil:
		return err
	case rec.Status != store.Done || rec.Verdict == analysis.Benign:
		return nil // re-run or re-judged since: nothing to report
	}
	body, err := json.Marshal(WebhookSummary{
		ID: rec.ID, Package: rec.Package, Verdict: rec.Verdict, Score: rec.Score, Hits: rec.Hits,
		URL: strings.TrimSuffix(h.BaseURL, "/") + "/v1/analyses/" + rec.ID,
	})
	if err != nil {
		return fmt.Errorf("webhook %s: %w", rec.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w: %w", rec.ID, err, asynq.SkipRetry)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fumehood")
	req.Header.Set(SignatureHeader, Sign(h.WebhookSecret, body))
	client := h.HTTPClient
	if client == nil {
		client = defaultWebhookClient
	}
	resp, err := client.Do(req)
	switch {
	case errors.Is(err, netpolicy.ErrBlocked): // the receiver's address will not change its mind
		return fmt.Errorf("webhook %s: %w: %w", rec.ID, err, asynq.SkipRetry)
	case err != nil:
		return fmt.Errorf("webhook %s: %w", rec.ID, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s: receiver answered %s", rec.ID, resp.Status)
	}
	return nil
}

// FarmConfig is how a worker process serves the queues.
type FarmConfig struct {
	Redis   asynq.RedisConnOpt
	Handler *Handler
	// Concurrency is the number of tasks run at once (default 1: one
	// sandbox at a time per worker process).
	Concurrency int
	// ShutdownTimeout bounds how long running tasks may finish once ctx
	// is cancelled; the rest are handed back to the queue, their contexts
	// cancelled, and get as long again to clean up (remove their
	// containers) before Serve returns (default 30 s).
	ShutdownTimeout time.Duration
	// Queues and their weights (default scheduler.Queues()).
	Queues map[string]int
	// RejudgeConcurrency is the number of re-judges run at once, by a
	// server of their own on scheduler.QueueRejudge: a re-judge holds no
	// sandbox, so analyses do not bound it. Default: two per core
	// (GOMAXPROCS), as a re-judge also waits on the store and the object
	// store; negative: this process does not re-judge.
	RejudgeConcurrency int
	// RetryDelay is the backoff of a failed task (default
	// DefaultRetryDelay).
	RetryDelay asynq.RetryDelayFunc
	// PollInterval is how often empty queues and due retries are checked
	// (default 1 s).
	PollInterval time.Duration
	Logger       *slog.Logger
}

// DefaultRetryDelay backs off exponentially: 10 s, 20 s, 40 s ... capped
// at 10 minutes.
func DefaultRetryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	return time.Duration(math.Min(float64(10*time.Second)*math.Pow(2, float64(n)), float64(10*time.Minute)))
}

// isFailure says whether a task's error counts against its retries: a
// task handed back because the worker is stopping does not.
func isFailure(err error) bool {
	return !errors.Is(err, context.Canceled)
}

// Serve processes tasks until ctx is cancelled, then stops taking tasks,
// lets the running ones finish within ShutdownTimeout, hands back the
// rest and waits (ShutdownTimeout again at most) for their handlers to
// return, so that a stopping process does not leave their sandboxes for
// the reaper.
func Serve(ctx context.Context, cfg FarmConfig) error {
	if cfg.Handler == nil || cfg.Redis == nil {
		return errors.New("farm: a handler and a Redis address are required")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.Queues == nil {
		cfg.Queues = scheduler.Queues()
	}
	if cfg.RetryDelay == nil {
		cfg.RetryDelay = DefaultRetryDelay
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.RejudgeConcurrency == 0 {
		cfg.RejudgeConcurrency = 2 * runtime.GOMAXPROCS(0)
	}
	base := context.WithoutCancel(ctx)
	var running sync.WaitGroup
	mux := asynq.NewServeMux()
	mux.Use(func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			running.Add(1)
			defer running.Done()
			return next.ProcessTask(ctx, t)
		})
	})
	cfg.Handler.Register(mux)
	newServer := func(concurrency int, queues map[string]int) *asynq.Server {
		return asynq.NewServer(cfg.Redis, asynq.Config{
			Concurrency:              concurrency,
			BaseContext:              func() context.Context { return base },
			Queues:                   queues,
			RetryDelayFunc:           cfg.RetryDelay,
			IsFailure:                isFailure,
			ShutdownTimeout:          cfg.ShutdownTimeout,
			TaskCheckInterval:        cfg.PollInterval,
			DelayedTaskCheckInterval: cfg.PollInterval,
			Logger:                   asynqLogger{log.With("component", "asynq")},
			LogLevel:                 asynq.WarnLevel,
		})
	}
	servers := []*asynq.Server{newServer(cfg.Concurrency, cfg.Queues)}
	if cfg.RejudgeConcurrency > 0 {
		servers = append(servers, newServer(cfg.RejudgeConcurrency, map[string]int{scheduler.QueueRejudge: 1}))
	}
	for i, srv := range servers {
		if err := srv.Start(mux); err != nil {
			for _, started := range servers[:i] {
				started.Shutdown()
			}
			return fmt.Errorf("farm: %w", err)
		}
	}
	log.InfoContext(ctx, "worker serving", "concurrency", cfg.Concurrency, "queues", cfg.Queues,
		"rejudge_concurrency", max(cfg.RejudgeConcurrency, 0))
	<-ctx.Done()
	log.InfoContext(base, "worker stopping", "shutdown_timeout", cfg.ShutdownTimeout)
	var stopping sync.WaitGroup
	for _, srv := range servers {
		stopping.Go(srv.Shutdown)
	}
	stopping.Wait()
	// asynq has handed back what did not finish and cancelled it; its
	// handlers may still be removing their containers.
	returned := make(chan struct{})
	go func() {
		running.Wait()
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(cfg.ShutdownTimeout):
		log.WarnContext(base, "handed-back tasks still running; the reaper will clean up after them")
	}
	return nil
}

// asynqLogger routes asynq's logs to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...))
	os.Exit(1)
}
