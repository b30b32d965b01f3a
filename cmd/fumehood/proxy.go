package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/fumehood/fumehood/api"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/proxy"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
)

// proxyOpts are the registry firewall's flags, of serve and proxy.
type proxyOpts struct {
	listen, upstream, public string
	quarantine, holdWait     time.Duration
	packumentTTL             time.Duration
	blockSuspicious, auth    bool
	changes, follow, watch   string
	mon                      *proxy.MonitorConfig // check's reading of the monitor flags
}

// check validates the flags before anything is opened.
func (o *proxyOpts) check() error {
	if o.quarantine < 0 || o.holdWait < 0 {
		return usagef("--quarantine and --hold-wait must not be negative")
	}
	var err error
	o.mon, err = o.monitorConfig()
	return err
}

func (o *proxyOpts) register(fs *flag.FlagSet, listenDefault string) {
	fs.StringVar(&o.listen, "npm-proxy", envOr("FUMEHOOD_NPM_PROXY", listenDefault), "serve the npm registry firewall on `ADDRESS` (FUMEHOOD_NPM_PROXY)")
	fs.StringVar(&o.upstream, "npm-upstream", envOr("FUMEHOOD_NPM_UPSTREAM", ""),
		"the firewall's upstream registry `URL` (FUMEHOOD_NPM_UPSTREAM; default: the farm's npm registry, FUMEHOOD_NPM_REGISTRY or npm config get registry)")
	fs.StringVar(&o.public, "npm-proxy-url", envOr("FUMEHOOD_NPM_PROXY_URL", ""), "the firewall's public base `URL` in tarball links (default: http:// and the request's Host)")
	fs.DurationVar(&o.quarantine, "quarantine", 72*time.Hour, "versions younger than this are held until analysed benign")
	fs.DurationVar(&o.holdWait, "hold-wait", 0, "a tarball request of a held version waits this long for its verdict before it is refused")
	fs.DurationVar(&o.packumentTTL, "packument-ttl", proxy.DefaultPackumentTTL, "serve an upstream packument this long before revalidating it")
	fs.BoolVar(&o.blockSuspicious, "block-suspicious", false, "block versions judged suspicious too (default: held until the window ends)")
	fs.BoolVar(&o.auth, "npm-proxy-auth", false, "the firewall's reads need a token of the farm (npm's _authToken)")
	fs.StringVar(&o.changes, "npm-changes", envOr("FUMEHOOD_NPM_CHANGES", ""),
		"follow the registry's replication changes feed at `URL` (a CouchDB database; FUMEHOOD_NPM_CHANGES): new versions are analysed at feed priority")
	fs.StringVar(&o.follow, "monitor", proxy.FollowUsed, "which changed packages the monitor analyses: all, watch (--monitor-watch) or used (installed through the firewall)")
	fs.StringVar(&o.watch, "monitor-watch", "", "watch list `FILE` of --monitor watch (npm:NAME per line)")
}

// firewall is a running registry firewall.
type firewall struct {
	px      *proxy.Server
	srv     *http.Server
	ln      net.Listener
	monitor chan error // nil without a changes feed to follow
	cancel  context.CancelFunc
}

// start makes the firewall on f's store and scheduler and starts serving
// it; analysisURL is the farm API's, for refusals.
func (o *proxyOpts) start(ctx context.Context, e *env, f *farmParts, analysisURL string) (*firewall, error) {
	fw, ok := f.st.(store.Firewall)
	if !ok {
		return nil, errors.New("this store cannot back a registry firewall")
	}
	upstream := o.upstream
	if upstream == "" {
		upstream = f.eco.NPMRegistry
	}
	cfg := proxy.Config{
		Upstream: upstream, Policy: proxy.Policy{Quarantine: o.quarantine, BlockSuspicious: o.blockSuspicious, Rules: f.rules.Version()},
		HoldWait: o.holdWait, Store: fw, Blobs: f.blobs, Scheduler: f.sched, PublicURL: o.public, AnalysisURL: analysisURL,
		PackumentTTL: o.packumentTTL, Logger: e.log,
	}
	if o.auth {
		cfg.Authenticate = func(ctx context.Context, tok string) (store.Token, error) {
			return f.st.Token(ctx, api.HashToken(tok))
		}
	}
	px, err := proxy.New(cfg)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		px.Close()
		return nil, usageError{"--npm-proxy: " + err.Error()}
	}
	e.log.Info("npm firewall", "listen", ln.Addr().String(), "upstream", upstream, "quarantine", o.quarantine, "hold_wait", o.holdWait)
	fmt.Fprintf(e.stderr, "fumehood npm firewall on http://%s (upstream %s, quarantine %v)\n", ln.Addr(), upstream, o.quarantine)
	w := &firewall{px: px, srv: &http.Server{Handler: px, ReadHeaderTimeout: 10 * time.Second}, ln: ln, cancel: func() {}}
	if o.mon != nil {
		var mctx context.Context
		mctx, w.cancel = context.WithCancel(ctx)
		w.monitor = make(chan error, 1)
		go func() {
			err := px.Monitor(mctx, *o.mon)
			if err != nil {
				e.log.Error("npm changes monitor stopped", "err", err)
			}
			w.monitor <- err
		}()
	}
	return w, nil
}

// monitorConfig is the changes-feed monitor the flags ask for, nil for
// none.
func (o *proxyOpts) monitorConfig() (*proxy.MonitorConfig, error) {
	if o.changes == "" {
		return nil, nil
	}
	cfg := &proxy.MonitorConfig{Changes: o.changes, Follow: o.follow}
	switch o.follow {
	case proxy.FollowAll, proxy.FollowUsed:
		if o.watch != "" {
			return nil, usagef("--monitor-watch goes with --monitor watch")
		}
	case proxy.FollowWatch:
		f, err := os.Open(o.watch)
		if err != nil {
			return nil, usageError{"--monitor-watch: " + err.Error()}
		}
		defer f.Close()
		list, err := scheduler.ParseWatchList(f)
		if err != nil {
			return nil, usageError{"--monitor-watch " + o.watch + ": " + err.Error()}
		}
		for _, p := range list {
			if name, ok := strings.CutPrefix(p, ecosystem.NPM+":"); ok {
				cfg.Watch = append(cfg.Watch, name)
			}
		}
		if len(cfg.Watch) == 0 {
			return nil, usagef("--monitor-watch %s names no npm package", o.watch)
		}
	default:
		return nil, usagef("--monitor %q: want all, watch or used", o.follow)
	}
	return cfg, nil
}

// serve serves until the server is shut down.
func (w *firewall) serve() error {
	err := w.srv.Serve(w.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// stop shuts the listener and the monitor down, then the firewall's
// background work.
func (w *firewall) stop(ctx context.Context) error {
	err := w.srv.Shutdown(ctx)
	w.cancel()
	if w.monitor != nil {
		err = errors.Join(err, <-w.monitor)
	}
	return errors.Join(err, w.px.Close())
}

// cmdProxy runs the registry firewall alone, against a farm's Redis and
// store: analyses it queues are run by the farm's workers.
func cmdProxy(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags(e, "proxy")
	var (
		o  farmOpts
		po proxyOpts
	)
	registerData(fs, &o.data)
	o.registerReach(fs)
	po.register(fs, "127.0.0.1:4873")
	apiURL := fs.String("url", envOr("FUMEHOOD_SERVER", ""), "the farm API's public base `URL`, named in refusals")
	if err := parseFlags(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() != 0 {
		return 0, usagef("proxy takes no arguments")
	}
	if err := po.check(); err != nil {
		return 0, err
	}
	f, err := o.openFarm(ctx, e, false)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w, err := po.start(ctx, e, f, *apiURL)
	if err != nil {
		return 0, err
	}
	errc := make(chan error, 1)
	go func() { errc <- w.serve() }()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return 0, errors.Join(err, w.stop(sctx))
}
