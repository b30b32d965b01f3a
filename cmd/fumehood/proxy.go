package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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

// proxyOpts are the registry firewalls' flags, of serve and proxy.
type proxyOpts struct {
	listen, upstream, public             string
	pypiListen, pypiUpstream, pypiPublic string
	quarantine, holdWait                 time.Duration
	packumentTTL, decisionTTL            time.Duration
	blockSuspicious, auth                bool
	changes, follow, watch               string
	pypiFeed                             string
	// check's reading of the monitor flags: nil without a feed.
	mon, pypiMon *proxy.MonitorConfig
}

// any reports whether the flags ask for a firewall.
func (o *proxyOpts) any() bool { return o.listen != "" || o.pypiListen != "" }

// check validates the flags before anything is opened.
func (o *proxyOpts) check() error {
	if o.quarantine < 0 || o.holdWait < 0 {
		return usagef("--quarantine and --hold-wait must not be negative")
	}
	if o.changes != "" && o.listen == "" {
		return usagef("--npm-changes goes with --npm-proxy")
	}
	if o.pypiFeed != "" && o.pypiListen == "" {
		return usagef("--pypi-feed goes with --pypi-proxy")
	}
	var err error
	if o.mon, err = o.monitorConfig(ecosystem.NPM, o.changes); err != nil {
		return err
	}
	o.pypiMon, err = o.monitorConfig(ecosystem.PyPI, o.pypiFeed)
	return err
}

func (o *proxyOpts) register(fs *flag.FlagSet, listenDefault string) {
	fs.StringVar(&o.listen, "npm-proxy", envOr("FUMEHOOD_NPM_PROXY", listenDefault), "serve the npm registry firewall on `ADDRESS` (FUMEHOOD_NPM_PROXY)")
	fs.StringVar(&o.upstream, "npm-upstream", envOr("FUMEHOOD_NPM_UPSTREAM", ""),
		"the firewall's upstream registry `URL` (FUMEHOOD_NPM_UPSTREAM; default: the farm's npm registry, FUMEHOOD_NPM_REGISTRY or npm config get registry)")
	fs.StringVar(&o.public, "npm-proxy-url", envOr("FUMEHOOD_NPM_PROXY_URL", ""), "the firewall's public base `URL` in tarball links (default: http:// and the request's Host)")
	fs.StringVar(&o.pypiListen, "pypi-proxy", envOr("FUMEHOOD_PYPI_PROXY", ""), "serve the PyPI firewall, a simple index at /simple/, on `ADDRESS` (FUMEHOOD_PYPI_PROXY)")
	fs.StringVar(&o.pypiUpstream, "pypi-upstream", envOr("FUMEHOOD_PYPI_UPSTREAM", ""),
		"the PyPI firewall's upstream simple index `URL` (FUMEHOOD_PYPI_UPSTREAM; default: the farm's, FUMEHOOD_PYPI_INDEX)")
	fs.StringVar(&o.pypiPublic, "pypi-proxy-url", envOr("FUMEHOOD_PYPI_PROXY_URL", ""), "the PyPI firewall's public base `URL` in file links (default: http:// and the request's Host)")
	fs.DurationVar(&o.quarantine, "quarantine", 72*time.Hour, "versions younger than this are held until analysed benign")
	fs.DurationVar(&o.holdWait, "hold-wait", 0, "a download of a held version waits this long for its verdict before it is refused")
	fs.DurationVar(&o.packumentTTL, "packument-ttl", proxy.DefaultPackumentTTL, "serve an upstream packument or project page this long before revalidating it")
	fs.DurationVar(&o.decisionTTL, "decision-ttl", proxy.DefaultDecisionTTL,
		"serve a package's admission decisions this long before reading the store again (how late a verdict or another process's override shows; negative: always read)")
	fs.BoolVar(&o.blockSuspicious, "block-suspicious", false, "block versions judged suspicious too (default: held until the window ends)")
	fs.BoolVar(&o.auth, "npm-proxy-auth", false, "the firewalls' reads need a token of the farm (npm's _authToken; pip's password, any user name)")
	fs.StringVar(&o.changes, "npm-changes", envOr("FUMEHOOD_NPM_CHANGES", ""),
		"follow the registry's replication changes feed at `URL` (a CouchDB database; FUMEHOOD_NPM_CHANGES): new versions are analysed at feed priority")
	fs.StringVar(&o.pypiFeed, "pypi-feed", envOr("FUMEHOOD_PYPI_FEED", ""),
		"follow the PyPI index's changelog at `URL` (its XML-RPC endpoint; FUMEHOOD_PYPI_FEED): new versions are analysed at feed priority")
	fs.StringVar(&o.follow, "monitor", proxy.FollowUsed, "which changed packages the monitors analyse: all, watch (--monitor-watch) or used (installed through the firewall)")
	fs.StringVar(&o.watch, "monitor-watch", "", "watch list `FILE` of --monitor watch (npm:NAME / pypi:NAME per line)")
}

// firewall is the running registry firewalls.
type firewall struct {
	servers []*http.Server
	lns     []net.Listener
	closers []io.Closer
	monitor chan error // one result per monitor started
	nmon    int
	cancel  context.CancelFunc
}

// start makes the firewalls the flags ask for on f's store and scheduler
// and starts their monitors; analysisURL is the farm API's, for refusals;
// changes, when set, is bumped by the API of this process on every
// override change (proxy.Admin).
func (o *proxyOpts) start(ctx context.Context, e *env, f *farmParts, analysisURL string, changes *proxy.Changes) (_ *firewall, retErr error) {
	fw, ok := f.st.(store.Firewall)
	if !ok {
		return nil, errors.New("this store cannot back a registry firewall")
	}
	cfg := proxy.Config{
		Policy:   proxy.Policy{Quarantine: o.quarantine, BlockSuspicious: o.blockSuspicious, Rules: f.rules.Version()},
		HoldWait: o.holdWait, Store: fw, Blobs: f.blobs, Scheduler: f.sched, AnalysisURL: analysisURL,
		PackumentTTL: o.packumentTTL, DecisionTTL: o.decisionTTL, Changes: changes, Logger: e.log, Metrics: proxy.NewMetrics(),
	}
	if o.auth {
		cfg.Authenticate = func(ctx context.Context, tok string) (store.Token, error) {
			return f.st.Token(ctx, api.HashToken(tok))
		}
	}
	mctx, cancel := context.WithCancel(ctx)
	w := &firewall{cancel: cancel, monitor: make(chan error, 2)}
	defer func() {
		if retErr != nil {
			for _, ln := range w.lns {
				ln.Close()
			}
			w.servers = nil
			w.stop(context.WithoutCancel(ctx))
		}
	}()
	if o.pypiListen != "" && !f.eco.HasPyPI() {
		return nil, usagef("--pypi-proxy: the farm has no PyPI index (FUMEHOOD_PYPI_INDEX), which its workers resolve dependencies from; set it")
	}
	for _, fl := range []struct {
		eco, flag, listen, upstream, public string
		mon                                 *proxy.MonitorConfig
		make                                func(proxy.Config) (registryFirewall, error)
	}{
		{ecosystem.NPM, "npm-proxy", o.listen, cmp.Or(o.upstream, f.eco.NPMRegistry), o.public, o.mon,
			func(c proxy.Config) (registryFirewall, error) { return proxy.New(c) }},
		{ecosystem.PyPI, "pypi-proxy", o.pypiListen, cmp.Or(o.pypiUpstream, f.eco.PyPIIndex), o.pypiPublic, o.pypiMon,
			func(c proxy.Config) (registryFirewall, error) { return proxy.NewPyPI(c) }},
	} {
		if fl.listen == "" {
			continue
		}
		c := cfg
		c.Upstream, c.PublicURL = fl.upstream, fl.public
		px, err := fl.make(c)
		if err != nil {
			return nil, usageError{err.Error()}
		}
		w.closers = append(w.closers, px)
		ln, err := net.Listen("tcp", fl.listen)
		if err != nil {
			return nil, usageError{"--" + fl.flag + ": " + err.Error()}
		}
		w.lns = append(w.lns, ln)
		w.servers = append(w.servers, &http.Server{Handler: px, ReadHeaderTimeout: 10 * time.Second})
		e.log.Info("registry firewall", "ecosystem", fl.eco, "listen", ln.Addr().String(), "upstream", c.Upstream, "quarantine", o.quarantine, "hold_wait", o.holdWait)
		fmt.Fprintf(e.stderr, "fumehood %s firewall on http://%s (upstream %s, quarantine %v)\n", fl.eco, ln.Addr(), c.Upstream, o.quarantine)
		if fl.mon != nil {
			w.nmon++
			go func() {
				err := px.Monitor(mctx, *fl.mon)
				if err != nil {
					e.log.Error("registry monitor stopped", "ecosystem", fl.eco, "err", err)
				}
				w.monitor <- err
			}()
		}
	}
	return w, nil
}

// registryFirewall is an ecosystem's firewall: proxy.Server or
// proxy.PyPIServer.
type registryFirewall interface {
	http.Handler
	io.Closer
	Monitor(ctx context.Context, cfg proxy.MonitorConfig) error
}

// monitorConfig is the monitor of eco's feed at feed the flags ask
// for, nil for none.
func (o *proxyOpts) monitorConfig(eco, feed string) (*proxy.MonitorConfig, error) {
	if feed == "" {
		return nil, nil
	}
	cfg := &proxy.MonitorConfig{Changes: feed, Follow: o.follow}
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
			if name, ok := strings.CutPrefix(p, eco+":"); ok {
				cfg.Watch = append(cfg.Watch, ecosystem.CanonicalName(eco, name))
			}
		}
		if len(cfg.Watch) == 0 {
			return nil, usagef("--monitor-watch %s names no %s package", o.watch, eco)
		}
	default:
		return nil, usagef("--monitor %q: want all, watch or used", o.follow)
	}
	return cfg, nil
}

// serve serves until a server is shut down or fails.
func (w *firewall) serve() error {
	errc := make(chan error, len(w.servers))
	for i, srv := range w.servers {
		go func() { errc <- srv.Serve(w.lns[i]) }()
	}
	err := <-errc
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// stop shuts the listeners and the monitors down, then the firewalls'
// background work.
func (w *firewall) stop(ctx context.Context) error {
	var err error
	for _, srv := range w.servers {
		err = errors.Join(err, srv.Shutdown(ctx))
	}
	w.cancel()
	for range w.nmon {
		err = errors.Join(err, <-w.monitor)
	}
	for _, c := range w.closers {
		err = errors.Join(err, c.Close())
	}
	return err
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
	if fs.NArg() != 0 || !po.any() {
		return 0, usagef("proxy takes no arguments, and --npm-proxy or --pypi-proxy")
	}
	if err := po.check(); err != nil {
		return 0, err
	}
	f, err := o.openFarm(ctx, e, false)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w, err := po.start(ctx, e, f, *apiURL, nil)
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
