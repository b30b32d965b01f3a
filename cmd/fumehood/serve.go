package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/api"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/internal/netpolicy"
	"github.com/fumehood/fumehood/proxy"
	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/worker"
)

// farmOpts are the flags shared by serve and worker.
type farmOpts struct {
	machineOpts
	redis, store string
	blobs        string
	concurrency  int
	rejudges     int
	webhookAllow string
	webhooks     netpolicy.Policy // parsed webhookAllow
}

func (o *farmOpts) register(fs *flag.FlagSet, defConcurrency int) {
	o.machineOpts.register(fs)
	o.registerReach(fs)
	fs.IntVar(&o.concurrency, "workers", defConcurrency, "analyses this process runs at once")
	fs.IntVar(&o.rejudges, "rejudge-workers", 2*runtime.GOMAXPROCS(0),
		"re-judges this process runs at once besides its analyses (0: none; with --workers 0, none)")
}

// registerReach registers how a process reaches a farm: its Redis, its
// store and the webhook receivers it may post to.
func (o *farmOpts) registerReach(fs *flag.FlagSet) {
	fs.StringVar(&o.redis, "redis", envOr("FUMEHOOD_REDIS", "127.0.0.1:6379"), "Redis `address` (FUMEHOOD_REDIS)")
	fs.StringVar(&o.store, "store", envOr("FUMEHOOD_STORE", ""), "store `DSN`: a data dir, sqlite://PATH?blobs=DIR or postgres://... (default: the --data dir)")
	fs.StringVar(&o.blobs, "blobs", envOr("FUMEHOOD_BLOBS", ""), "blob store `address`: a directory or s3://BUCKET?endpoint=URL, credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (default: beside a SQLite store; required with postgres) (FUMEHOOD_BLOBS)")
	fs.StringVar(&o.webhookAllow, "webhook-allow", envOr("FUMEHOOD_WEBHOOK_ALLOW", ""),
		"internal `networks` (CIDR or address, comma-separated) that webhooks may reach; other loopback, private and link-local addresses are refused (FUMEHOOD_WEBHOOK_ALLOW)")
}

// farmParts are what serve and worker share: the store, the rules and the
// scheduler (submissions of the API, feed polls of the workers).
type farmParts struct {
	st    store.Store
	blobs store.Blobs
	rules *rules.Set
	sched *scheduler.Scheduler
	eco   ecosystem.Config
}

func (f *farmParts) Close() error { return errors.Join(f.sched.Close(), f.st.Close()) }

// openFarm checks Redis (starting one if asked and none answers), opens
// the store, loads the rules and makes the scheduler. Close them.
func (o *farmOpts) openFarm(ctx context.Context, e *env, startRedis bool) (*farmParts, error) {
	var err error
	if o.rejudges < 0 {
		return nil, usagef("--rejudge-workers %d: want 0 (none) or more", o.rejudges)
	}
	if o.webhooks, err = netpolicy.Parse(o.webhookAllow); err != nil {
		return nil, usageError{"--webhook-allow: " + err.Error()}
	}
	if err := checkRedis(ctx, o.redis, o.data, startRedis, e.log); err != nil {
		return nil, err
	}
	rs, err := rules.Default()
	if err != nil {
		return nil, err
	}
	eco, err := ecosystem.DefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	dsn := o.store
	if dsn == "" {
		dsn = o.data
	}
	st, blobs, err := store.Open(ctx, dsn, store.WithBlobs(o.blobs))
	if err != nil {
		// Not the address itself: a postgres:// one may hold a password.
		return nil, fmt.Errorf("%w: store: %w", worker.ErrNotReady, err)
	}
	sched := scheduler.New(asynq.RedisClientOpt{Addr: o.redis}, st, blobs, rs.Version(),
		scheduler.WithEcosystem(eco), scheduler.WithWebhookPolicy(o.webhooks), scheduler.WithLogger(e.log))
	return &farmParts{st: st, blobs: blobs, rules: rs, sched: sched, eco: eco}, nil
}

// checkRedis requires the persistence a farm relies on: append-only
// persistence (a restart loses no queued task) and no eviction (asynq loses
// leases and tasks when keys are evicted). When nothing answers on a
// loopback address and start is set, it starts redis-server so configured.
func checkRedis(ctx context.Context, addr, dataDir string, start bool, log *slog.Logger) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		host, port, _ := net.SplitHostPort(addr)
		ip := net.ParseIP(host)
		if !start || host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%w: redis at %s: %w", worker.ErrNotReady, addr, err)
		}
		dir := filepath.Join(dataDir, "redis")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		log.Info("starting redis-server", "addr", addr, "dir", dir)
		cmd := exec.CommandContext(ctx, "redis-server", "--daemonize", "yes", "--bind", host, "--port", port, "--dir", dir,
			"--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction", "--logfile", filepath.Join(dir, "redis.log"))
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%w: start redis-server: %w: %s", worker.ErrNotReady, err, out)
		}
		for i := 0; c.Ping(ctx).Err() != nil; i++ {
			if i == 50 {
				return fmt.Errorf("%w: redis-server started but %s does not answer", worker.ErrNotReady, addr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	want := map[string]string{"appendonly": "yes", "maxmemory-policy": "noeviction"}
	for key, value := range want {
		got, err := c.ConfigGet(ctx, key).Result()
		if err != nil {
			return fmt.Errorf("%w: redis CONFIG GET %s: %w", worker.ErrNotReady, key, err)
		}
		if got[key] != value {
			return fmt.Errorf("%w: redis at %s has %s %q; the farm needs %q (README.md, \"The farm\")", worker.ErrNotReady, addr, key, got[key], value)
		}
	}
	return nil
}

// webhookSecret is the farm's webhook signing key: FUMEHOOD_WEBHOOK_SECRET,
// else a random key kept in DIR/webhook.key so that receivers can verify
// signatures across restarts.
func webhookSecret(dataDir string) ([]byte, error) {
	if s := os.Getenv("FUMEHOOD_WEBHOOK_SECRET"); s != "" {
		return []byte(s), nil
	}
	path := filepath.Join(dataDir, "webhook.key")
	if b, err := os.ReadFile(path); err == nil {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	k := make([]byte, 32)
	rand.Read(k)
	secret := hex.EncodeToString(k)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("webhook key: %w", err)
	}
	return []byte(secret), nil
}

// runWorkers runs the asynq worker pool on this machine until ctx ends.
func (o *farmOpts) runWorkers(ctx context.Context, e *env, f *farmParts, m *api.Metrics, baseURL string) error {
	// Each version is compared with the farm's analysis of its highest
	// lower version before it is judged.
	machine, err := o.open(ctx, e.log, worker.StoreEarlier{Store: f.st, Blobs: f.blobs, Logger: e.log})
	if err != nil {
		return err
	}
	defer machine.Close()
	secret, err := webhookSecret(o.data)
	if err != nil {
		return err
	}
	redisOpt := asynq.RedisClientOpt{Addr: o.redis}
	q := asynq.NewClient(redisOpt)
	defer q.Close()
	uploads := filepath.Join(o.data, "uploads")
	if err := os.MkdirAll(uploads, 0o700); err != nil {
		return err
	}
	h := &worker.Handler{
		Pipeline: metered{machine, m}, Store: f.st, Blobs: f.blobs, Rules: f.rules, Queue: q, Feed: f.sched,
		WebhookSecret: secret, BaseURL: baseURL, WorkDir: uploads, Logger: e.log, HTTPClient: o.webhooks.Client(20 * time.Second),
	}
	// Published until the workers have ended, their last analyses
	// counted.
	pctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	published := make(chan struct{})
	go func() { defer close(published); publishMetrics(pctx, e.log, f.sched, m) }()
	defer func() { stop(); <-published }()
	rejudges := o.rejudges
	if rejudges == 0 {
		rejudges = -1 // FarmConfig's "none"
	}
	return worker.Serve(ctx, worker.FarmConfig{Redis: redisOpt, Handler: h, Concurrency: o.concurrency,
		RejudgeConcurrency: rejudges, Logger: e.log})
}

// metricsEvery is how often a worker process publishes its metrics to the
// farm; what it published lives four times as long.
const metricsEvery = 10 * time.Second

// publishMetrics publishes what m counts to the farm's Redis every
// metricsEvery, and once more when ctx ends, so that one scrape of serve
// sees every worker process (api.Metrics.AddFarm), under the name the
// queue knows it by (host:pid).
func publishMetrics(ctx context.Context, log *slog.Logger, sched *scheduler.Scheduler, m *api.Metrics) {
	host, _ := os.Hostname()
	name := scheduler.WorkerName(host, os.Getpid())
	publish := func(ctx context.Context) {
		text, err := m.Exposition()
		if err == nil {
			err = sched.PublishMetrics(ctx, name, text, 4*metricsEvery)
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("publish metrics", "err", err)
		}
	}
	tick := time.NewTicker(metricsEvery)
	defer tick.Stop()
	for {
		publish(ctx)
		select {
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			publish(last)
			return
		case <-tick.C:
		}
	}
}

// metered counts finished analyses and sandbox failures for /metrics.
type metered struct {
	worker.Analyzer
	m *api.Metrics
}

func (a metered) AnalyzeWithID(ctx context.Context, id string, t ecosystem.Target) (*analysis.Analysis, error) {
	res, err := a.Analyzer.AnalyzeWithID(ctx, id, t)
	switch {
	case err == nil:
		a.m.Analysis(res)
	case !isBadInput(err) && ctx.Err() == nil:
		a.m.SandboxFailure()
	}
	return res, err
}

func cmdServe(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags(e, "serve")
	var o farmOpts
	o.register(fs, 1)
	listen := fs.String("listen", envOr("FUMEHOOD_LISTEN", "127.0.0.1:8080"), "API `address`")
	public := fs.String("url", "", "the API's public base `URL`, for webhook summaries (default http://LISTEN)")
	feed := fs.String("feed", envOr("FUMEHOOD_FEED", ""), "watch list `FILE` (npm:NAME / pypi:NAME per line): their new versions are analysed (FUMEHOOD_FEED)")
	feedEvery := fs.Duration("feed-every", time.Hour, "how often the watch list is polled")
	var po proxyOpts
	po.register(fs, "")
	if err := parseFlags(fs, args); err != nil {
		return 0, err
	}
	var watch []string
	if *feed != "" {
		f, err := os.Open(*feed)
		if err != nil {
			return 0, usageError{"--feed: " + err.Error()}
		}
		watch, err = scheduler.ParseWatchList(f)
		f.Close()
		if err != nil {
			return 0, usageError{"--feed " + *feed + ": " + err.Error()}
		}
		if *feedEvery < time.Second {
			return 0, usagef("--feed-every %v: want at least 1s", *feedEvery)
		}
	}
	if fs.NArg() != 0 {
		return 0, usagef("serve takes no arguments")
	}
	if po.any() {
		if err := po.check(); err != nil {
			return 0, err
		}
	}
	if *public == "" {
		*public = "http://" + *listen
	}
	f, err := o.openFarm(ctx, e, true)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if n, err := f.sched.Requeue(ctx); err != nil {
		return 0, fmt.Errorf("requeue: %w", err)
	} else if n > 0 {
		e.log.Info("requeued analyses whose tasks redis had lost", "count", n)
	}
	if watch != nil {
		stop, err := f.sched.StartFeed(ctx, watch, *feedEvery)
		if err != nil {
			return 0, err
		}
		defer stop()
	}
	metrics := api.NewMetrics(f.sched)
	metrics.AddFarm(f.sched)
	cfg := api.Config{Store: f.st, Blobs: f.blobs, Scheduler: f.sched, Rules: f.rules, Logger: e.log, Metrics: metrics}
	// Overrides set through this API reach this process's firewalls at
	// once.
	changes := &proxy.Changes{}
	if fw, ok := f.st.(store.Firewall); ok {
		cfg.Firewall = proxy.Admin{Firewall: fw, Changes: changes}
	}
	srv := &http.Server{Addr: *listen, Handler: api.New(cfg), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return 0, usageError{err.Error()}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if po.any() {
		w, err := po.start(ctx, e, f, *public, changes)
		if err != nil {
			srv.Close()
			return 0, err
		}
		go func() { errc <- w.serve() }()
		defer func() {
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer scancel()
			if err := w.stop(sctx); err != nil {
				e.log.Warn("registry firewall stop", "err", err)
			}
		}()
	}
	var workers chan error // nil without workers: never ready
	if o.concurrency > 0 {
		workers = make(chan error, 1)
		go func() { workers <- o.runWorkers(ctx, e, f, metrics, *public) }()
	}
	fmt.Fprintf(e.stderr, "fumehood serving on http://%s (workers: %d)\n", ln.Addr(), o.concurrency)
	select {
	case <-ctx.Done():
	case err = <-errc:
	case err = <-workers:
		workers <- nil // ended already
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer scancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, context.Canceled) {
		err = nil
	}
	// The workers finish or hand back what they run (worker.Serve's bound)
	// before the process ends.
	if workers != nil {
		if werr := <-workers; werr != nil && !errors.Is(werr, context.Canceled) {
			err = errors.Join(err, werr)
		}
	}
	return 0, err
}

func cmdWorker(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags(e, "worker")
	var o farmOpts
	o.register(fs, 1)
	public := fs.String("url", envOr("FUMEHOOD_SERVER", ""), "the API's public base `URL`, for webhook summaries")
	metricsAddr := fs.String("metrics", envOr("FUMEHOOD_METRICS", ""),
		"serve this process's Prometheus /metrics (its analyses, phases, sandbox failures) on `ADDRESS` (FUMEHOOD_METRICS)")
	if err := parseFlags(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() != 0 || o.concurrency < 1 {
		return 0, usagef("worker takes no arguments and at least one --workers")
	}
	metrics := api.NewMetrics(nil)
	if *metricsAddr != "" {
		ln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return 0, usageError{"--metrics: " + err.Error()}
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}
	f, err := o.openFarm(ctx, e, false)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return 0, o.runWorkers(ctx, e, f, metrics, *public)
}
