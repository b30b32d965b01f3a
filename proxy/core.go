package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
)

// core is what the firewalls of every ecosystem share: the policy over
// the store's facts, the analyses they queue and wait for, the audit
// log, the metrics and the read tokens. Each ecosystem's server embeds
// one and speaks its registry's protocol.
type core struct {
	cfg     Config
	eco     string
	metrics *Metrics
	log     *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup
	sem    chan struct{} // bounds background fetch-and-queue work

	audit     chan store.AuditEntry
	auditDone chan struct{}
	closing   sync.RWMutex // held to send on audit; Close takes it to close audit
	closed    bool

	decisions *decisionCache

	mu       sync.Mutex
	inflight map[string]bool    // name@version being fetched and queued
	waiting  map[string]waiting // analyses the firewall queued, by id
}

// waiting is an analysis the firewall queued and has not seen judged.
type waiting struct {
	name      string
	queued    time.Time
	published time.Time // of the version, when the monitor queued it
}

// newCore checks cfg, fills its defaults and starts the audit writer.
func newCore(cfg Config, eco string) (*core, error) {
	if cfg.Upstream == "" || cfg.Store == nil || cfg.Blobs == nil || cfg.Scheduler == nil {
		return nil, errors.New("proxy: an upstream, a store, blobs and a scheduler are required")
	}
	if u, err := url.Parse(cfg.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("proxy: upstream %q is not an http(s) URL", cfg.Upstream)
	}
	if cfg.PackumentTTL == 0 {
		cfg.PackumentTTL = DefaultPackumentTTL
	}
	if cfg.DecisionTTL == 0 {
		cfg.DecisionTTL = DefaultDecisionTTL
	}
	if cfg.MaxTarball <= 0 {
		cfg.MaxTarball = DefaultMaxTarball
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Minute}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &core{
		cfg: cfg, eco: eco, metrics: cfg.Metrics, log: cfg.Logger, ctx: ctx, cancel: cancel,
		sem:       make(chan struct{}, 4),
		audit:     make(chan store.AuditEntry, 4096),
		auditDone: make(chan struct{}),
		decisions: newDecisionCache(cfg.DecisionTTL, cfg.Changes),
		inflight:  map[string]bool{}, waiting: map[string]waiting{},
	}
	go c.auditLoop()
	return c, nil
}

// Close stops the background work (fetching and queueing held versions)
// and writes the audit entries still queued. Requests served after it are
// not audited.
func (c *core) Close() error {
	c.cancel()
	c.bg.Wait()
	c.closing.Lock()
	if !c.closed {
		c.closed = true
		close(c.audit)
	}
	c.closing.Unlock()
	<-c.auditDone
	return nil
}

// reader returns who asks to read (see authenticate); writes are
// refused, as is a request without the token reads need.
func (c *core) reader(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		jsonError(w, http.StatusMethodNotAllowed, "the fumehood firewall is read-only")
		return "", false
	}
	return c.authenticate(w, r)
}

// authenticate returns who asks: the token's name when reads need a
// token (a bearer token, as npm sends it, or the password of basic
// credentials, as pip sends an index URL's), else the client's address.
func (c *core) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	if c.cfg.Authenticate == nil {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		return host, true
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Basic") {
		// pip sends the token as the password of an index URL's
		// credentials (any user name).
		_, pass, ok := r.BasicAuth()
		scheme, tok = "Bearer", pass
		if !ok {
			tok = ""
		}
	}
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fumehood"`)
		jsonError(w, http.StatusUnauthorized, "the fumehood firewall needs a read token")
		return "", false
	}
	t, err := c.cfg.Authenticate(r.Context(), strings.TrimSpace(tok))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			c.log.ErrorContext(r.Context(), "proxy: token lookup", "err", err)
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="fumehood", error="invalid_token"`)
		jsonError(w, http.StatusUnauthorized, "unknown token")
		return "", false
	}
	return "token:" + t.Name, true
}

// decide completes the facts of a package's versions (the registry's
// view: Version, Published, Integrity) with the store's, from three
// reads, and returns the decision on each and the recorded bytes of the
// package by key (store.Tarball.Version: the version for npm, the file
// name for PyPI). seen maps a version to the key of the bytes its
// analysis is of: the version itself for npm, the analysed file's name
// for PyPI. key maps a version to what the versions of records that are
// of it map to: itself for npm, its PEP 440 key for PyPI, whose records
// may spell a version as the file's metadata does (1.0.0-beta1 for
// 1.0.0b1).
//
// Unless fresh, the decisions made from doc (the upstream document the
// facts come from) are taken from the decision cache while they stand,
// and kept there when made; the returned maps are shared and read-only.
// A fresh decision reads the store and leaves the cache alone.
func (c *core) decide(ctx context.Context, name string, doc any, fresh bool, facts func() map[string]Facts, seen, key func(version string) string) (map[string]Decision, map[string]*store.Tarball, error) {
	now := time.Now()
	if !fresh {
		if e, ok := c.decisions.get(name, doc, now); ok {
			return e.ds, e.seen, nil
		}
	}
	m := c.decisions.start()
	ds, byKey, err := c.decideFrom(ctx, name, facts(), seen, key, now)
	if err != nil {
		return nil, nil, err
	}
	if !fresh {
		c.decisions.put(name, doc, m, now, ds, byKey)
	}
	return ds, byKey, nil
}

// decideFrom is decide's reading of the store and the policy, at now.
func (c *core) decideFrom(ctx context.Context, name string, facts map[string]Facts, seen, key func(version string) string, now time.Time) (map[string]Decision, map[string]*store.Tarball, error) {
	tbs, err := c.cfg.Store.Tarballs(ctx, c.eco, name)
	if err != nil {
		return nil, nil, err
	}
	recs, err := c.cfg.Store.RegistryRecords(ctx, c.eco, name)
	if err != nil {
		return nil, nil, err
	}
	ovs, err := c.cfg.Store.Overrides(ctx, c.eco, name)
	if err != nil {
		return nil, nil, err
	}
	byKey := make(map[string]*store.Tarball, len(tbs))
	for i := range tbs {
		byKey[tbs[i].Version] = &tbs[i]
	}
	for v, f := range facts {
		f.Seen = byKey[seen(v)]
		facts[v] = f
	}
	versionOf := make(map[string]string, len(facts))
	for v := range facts {
		versionOf[key(v)] = v
	}
	for _, r := range recs {
		if v, ok := versionOf[key(r.Package.Version)]; ok {
			f := facts[v]
			f.Records = append(f.Records, r)
			facts[v] = f
		}
	}
	ds := make(map[string]Decision, len(facts))
	for v, f := range facts {
		d := c.cfg.Policy.Decide(f, ovs, now)
		c.observe(d)
		ds[v] = d
	}
	return ds, byKey, nil
}

// observe records the verdict latency of an analysis the firewall queued
// (and, for one the monitor queued, the lag from publication to verdict),
// once, when a decision first rests on its verdict.
func (c *core) observe(d Decision) {
	a := d.Analysis
	if a == nil || (a.Status != store.Done && a.Status != store.Failed) {
		return
	}
	c.mu.Lock()
	w, ok := c.waiting[a.ID]
	delete(c.waiting, a.ID)
	c.mu.Unlock()
	if !ok || a.Status != store.Done || a.Finished.IsZero() {
		return // a failed analysis has no verdict to time
	}
	c.metrics.latency.Observe(max(0, a.Finished.Sub(w.queued)).Seconds())
	if !w.published.IsZero() {
		c.metrics.lag.Observe(max(0, a.Finished.Sub(w.published)).Seconds())
	}
}

// hold waits up to HoldWait for a held version to be decided, asking
// next for its decision every holdPoll.
func (c *core) hold(ctx context.Context, d Decision, next func(ctx context.Context) (Decision, error)) Decision {
	if c.cfg.HoldWait <= 0 {
		return d
	}
	deadline := time.NewTimer(c.cfg.HoldWait)
	defer deadline.Stop()
	tick := time.NewTicker(holdPoll)
	defer tick.Stop()
	for d.State == Held {
		select {
		case <-ctx.Done():
			return d
		case <-deadline.C:
			return d
		case <-tick.C:
		}
		n, err := next(ctx)
		if err != nil {
			c.log.WarnContext(ctx, "proxy: waiting for a verdict", "err", err)
			return d
		}
		d = n
	}
	return d
}

// background runs submit (fetch a held version's bytes and queue their
// analysis) off the request path, at most a few at once; a key already
// on its way is left.
func (c *core) background(key string, submit func(ctx context.Context) error) {
	c.mu.Lock()
	if c.inflight[key] {
		c.mu.Unlock()
		return
	}
	c.inflight[key] = true
	c.mu.Unlock()
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		defer func() {
			c.mu.Lock()
			delete(c.inflight, key)
			c.mu.Unlock()
		}()
		select {
		case c.sem <- struct{}{}:
			defer func() { <-c.sem }()
		case <-c.ctx.Done():
			return
		}
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Minute)
		defer cancel()
		if err := submit(ctx); err != nil {
			c.log.WarnContext(ctx, "proxy: analysis not queued", "ecosystem", c.eco, "key", key, "err", err)
		}
	}()
}

// submit queues the analysis of spec's bytes, digest in the blob store,
// on queue q, and remembers it to time its verdict (and, on the feed
// queue, the lag from the version's publication to it).
func (c *core) submit(ctx context.Context, name, spec, digest, q string, published time.Time) error {
	queued := time.Now()
	if q != scheduler.QueueFeed {
		published = time.Time{}
	}
	rec, existing, err := c.cfg.Scheduler.Submit(ctx, scheduler.Submission{Spec: spec, Fetched: digest, Queue: q})
	if err != nil {
		return err
	}
	c.decisions.drop(name) // a version held as not analysed is now under way
	if rec.Status != store.Done && rec.Status != store.Failed {
		c.mu.Lock()
		if _, ok := c.waiting[rec.ID]; !ok {
			c.waiting[rec.ID] = waiting{name: name, queued: queued, published: published}
		}
		c.mu.Unlock()
	}
	c.log.InfoContext(ctx, "proxy: analysis queued", "spec", spec, "analysis", rec.ID, "existing", existing, "queue", q)
	return nil
}

// listing decides which versions a document (packument, project page)
// lists: the admitted ones of versions, in order. It queues the analysis
// of the held versions that need one and audits the others and the
// request (kind: packument, project).
func (c *core) listing(who, name, kind string, versions []string, ds map[string]Decision, queue func(v string)) []string {
	var (
		admitted []string
		count    = map[State]int{}
	)
	for _, v := range versions {
		d := ds[v]
		count[d.State]++
		c.metrics.versions.WithLabelValues(c.eco, string(d.State)).Inc()
		switch {
		case d.State == Admitted:
			admitted = append(admitted, v)
		case d.Queue:
			queue(v)
		}
		if d.State != Admitted {
			c.record(who, name, v, kind, d)
		}
	}
	c.record(who, name, "", kind, Decision{State: Admitted,
		Reason: fmt.Sprintf("%d admitted, %d held, %d blocked", count[Admitted], count[Held], count[Blocked])})
	return admitted
}

// notModified sets the ETag of a document made of parts (each of which
// changes it) and, when the client has it, answers 304 and returns true.
func notModified(w http.ResponseWriter, r *http.Request, parts ...string) (string, bool) {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	etag := `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Vary", "Accept")
	if match(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return etag, true
	}
	return etag, false
}

// download is a request of one file of a version.
type download struct {
	kind          string // in the audit log: tarball, file
	name, version string
	// what names the file in refusals, e.g. name@1.0.0.
	what string
	// decide returns the decision on the version and the file's
	// recorded bytes, nil before the firewall first fetched them.
	decide func(ctx context.Context) (Decision, *store.Tarball, error)
	// ensure returns the file's recorded bytes, fetching them at first
	// sight; errChanged and errIntegrity block.
	ensure func(ctx context.Context, seen *store.Tarball) (store.Tarball, error)
	// queue queues the analysis of the held version.
	queue func()
}

// serveDownload serves a file of an admitted version from the blob store
// and refuses one of a held (after HoldWait) or blocked version. The
// bytes are fetched and recorded at first sight, and the version decided
// again on the analyses of those bytes.
func (c *core) serveDownload(w http.ResponseWriter, r *http.Request, who string, dl download) {
	ctx := r.Context()
	d, seen, err := dl.decide(ctx)
	if err != nil {
		c.internal(w, r, err)
		return
	}
	if d.State != Blocked {
		tb, err := dl.ensure(ctx, seen)
		switch {
		case errors.Is(err, errChanged), errors.Is(err, errIntegrity):
			d = Decision{State: Blocked, Reason: err.Error()}
		case err != nil:
			c.upstreamError(w, r, err)
			return
		case seen == nil:
			seen = &tb
			if d, _, err = dl.decide(ctx); err != nil {
				c.internal(w, r, err)
				return
			}
		}
	}
	if d.State == Held {
		if d.Queue {
			dl.queue()
		}
		d = c.hold(ctx, d, func(ctx context.Context) (Decision, error) {
			d, _, err := dl.decide(ctx)
			return d, err
		})
	}
	c.metrics.tarballs.WithLabelValues(c.eco, string(d.State)).Inc()
	c.record(who, dl.name, dl.version, dl.kind, d)
	if d.State != Admitted {
		c.refuse(w, dl.what, d)
		return
	}
	c.serveBlob(w, r, seen.Digest)
}

// refusal is the JSON error of a held or blocked version.
type refusal struct {
	Error     string           `json:"error"`
	State     State            `json:"state"`
	Reason    string           `json:"reason"`
	Verdict   analysis.Verdict `json:"verdict,omitempty"`
	Rules     []string         `json:"rules,omitempty"`
	Analysis  string           `json:"analysis,omitempty"`
	DecidedBy *time.Time       `json:"decided_by,omitempty"`
}

// refuse answers 403 for a held or blocked version (what names it, e.g.
// name@1.0.0), naming why.
func (c *core) refuse(w http.ResponseWriter, what string, d Decision) {
	ref := refusal{State: d.State, Reason: d.Reason}
	if a := d.Analysis; a != nil {
		ref.Analysis = a.ID
		if c.cfg.AnalysisURL != "" {
			ref.Analysis = strings.TrimSuffix(c.cfg.AnalysisURL, "/") + "/v1/analyses/" + url.PathEscape(a.ID)
		}
		if a.Status == store.Done {
			ref.Verdict = a.Verdict
			for _, h := range a.Hits {
				if !slices.Contains(ref.Rules, h.Rule) {
					ref.Rules = append(ref.Rules, h.Rule)
				}
			}
		}
	}
	msg := fmt.Sprintf("fumehood firewall: %s is %s: %s", what, d.State, d.Reason)
	if len(ref.Rules) > 0 {
		msg += " (hits: " + strings.Join(ref.Rules, ", ") + ")"
	}
	if ref.Analysis != "" {
		msg += "; analysis " + ref.Analysis
	}
	if d.State == Held && !d.DecidedBy.IsZero() {
		t := d.DecidedBy.UTC()
		ref.DecidedBy = &t
		msg += "; decided by " + t.Format(time.RFC3339) + " at the latest, sooner when analysed benign"
	}
	ref.Error = msg
	writeJSON(w, http.StatusForbidden, ref)
}

// record queues an audit entry; a full queue drops it and counts.
func (c *core) record(who, name, v, request string, d Decision) {
	e := store.AuditEntry{At: time.Now().UTC(), Who: who, Ecosystem: c.eco, Name: name, Version: v,
		Request: request, State: string(d.State), Reason: d.Reason}
	if d.Analysis != nil {
		e.Analysis = d.Analysis.ID
	}
	c.closing.RLock()
	defer c.closing.RUnlock()
	if c.closed {
		c.metrics.auditLost.Inc()
		return
	}
	select {
	case c.audit <- e:
	default:
		c.metrics.auditLost.Inc()
	}
}

// auditLoop writes audit entries in batches until the queue is closed.
func (c *core) auditLoop() {
	defer close(c.auditDone)
	var batch []store.AuditEntry
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.cfg.Store.AppendAudit(ctx, batch); err != nil {
			c.metrics.auditLost.Add(float64(len(batch)))
			c.log.Error("proxy: audit entries lost", "count", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-c.audit:
			if !ok {
				flush()
				return
			}
			if batch = append(batch, e); len(batch) >= 256 {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// base is the URL the links to files start with.
func (c *core) base(r *http.Request) string {
	if c.cfg.PublicURL != "" {
		return strings.TrimSuffix(c.cfg.PublicURL, "/")
	}
	return "http://" + r.Host
}

// serveBlob answers a file's bytes from the blob store, ETag its digest.
func (c *core) serveBlob(w http.ResponseWriter, r *http.Request, digest string) {
	etag := `"` + digest + `"`
	w.Header().Set("ETag", etag)
	if match(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	rc, err := c.cfg.Blobs.Get(r.Context(), digest)
	if err != nil {
		c.internal(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	if _, err := io.Copy(w, rc); err != nil {
		c.log.WarnContext(r.Context(), "proxy: file cut short", "path", r.URL.Path, "err", err)
	}
}

func (c *core) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errUpstreamNotFound):
		jsonError(w, http.StatusNotFound, "not found")
	case errors.Is(err, errTooLarge):
		jsonError(w, http.StatusBadGateway, "the upstream's answer is too large")
	case errors.Is(err, errElsewhere):
		jsonError(w, http.StatusBadGateway, "the upstream names a file on another host; the firewall fetches from its upstream only")
	case errors.Is(err, context.Canceled):
		jsonError(w, http.StatusServiceUnavailable, "request cancelled")
	default:
		c.log.WarnContext(r.Context(), "proxy: upstream", "path", r.URL.Path, "err", err)
		jsonError(w, http.StatusBadGateway, "the upstream registry failed")
	}
}

func (c *core) internal(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		jsonError(w, http.StatusServiceUnavailable, "request cancelled")
		return
	}
	c.log.ErrorContext(r.Context(), "proxy: request failed", "path", r.URL.Path, "err", err)
	jsonError(w, http.StatusInternalServerError, "internal error")
}

// jsonError writes an error as the npm registry does: {"error": MESSAGE}
// (pip shows the status; the body says why to whoever looks).
func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// match reports whether an If-None-Match header names etag.
func match(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}
