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
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
)

// Scheduler queues analyses; *scheduler.Scheduler is one.
type Scheduler interface {
	Submit(ctx context.Context, s scheduler.Submission) (*store.Record, bool, error)
}

// Defaults of Config.
const (
	DefaultPackumentTTL = 5 * time.Minute
	DefaultMaxTarball   = ecosystem.DefaultMaxArtifact
	// holdPoll is how often a request waiting for a verdict (HoldWait)
	// looks again.
	holdPoll = 500 * time.Millisecond
)

// Config is what New needs.
type Config struct {
	// Upstream is the npm registry's base URL.
	Upstream string
	Policy   Policy
	// HoldWait is how long a tarball request of a held version waits for
	// its verdict before it is refused (0: refused at once).
	HoldWait  time.Duration
	Store     store.Firewall
	Blobs     store.Blobs
	Scheduler Scheduler
	// Authenticate, when set, makes every request need a bearer token it
	// accepts (any role); nil serves reads anonymously, as a public
	// registry does.
	Authenticate func(ctx context.Context, token string) (store.Token, error)
	// PublicURL is the firewall's base URL in the tarball URLs of the
	// packuments it serves; empty: http:// and the request's Host.
	PublicURL string
	// AnalysisURL is the farm API's base URL, for the analysis links in
	// refusals; empty: refusals name the analysis id alone.
	AnalysisURL string
	// PackumentTTL is how long an upstream packument is served before it
	// is revalidated (default DefaultPackumentTTL; negative: always).
	PackumentTTL time.Duration
	// MaxTarball bounds a tarball (default DefaultMaxTarball).
	MaxTarball int64
	// Client talks to the upstream (default: a 5-minute timeout).
	Client  *http.Client
	Metrics *Metrics // nil: fresh ones
	Logger  *slog.Logger
}

// Server is the npm registry firewall: an http.Handler serving the npm
// registry protocol. Close it.
type Server struct {
	cfg     Config
	up      *upstream
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

	mu       sync.Mutex
	inflight map[string]bool    // name@version being fetched and queued
	waiting  map[string]waiting // analyses the firewall queued, by id
	renders  map[string][]byte  // rendered packuments by ETag
}

// waiting is an analysis the firewall queued and has not seen judged.
type waiting struct {
	name      string
	queued    time.Time
	published time.Time // of the version, when the monitor queued it
}

// maxRenders bounds the rendered packuments kept.
const maxRenders = 4096

// New returns a firewall serving cfg.Upstream under cfg.Policy.
func New(cfg Config) (*Server, error) {
	if cfg.Upstream == "" || cfg.Store == nil || cfg.Blobs == nil || cfg.Scheduler == nil {
		return nil, errors.New("proxy: an upstream, a store, blobs and a scheduler are required")
	}
	if u, err := url.Parse(cfg.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("proxy: upstream %q is not an http(s) URL", cfg.Upstream)
	}
	if cfg.PackumentTTL == 0 {
		cfg.PackumentTTL = DefaultPackumentTTL
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
	s := &Server{
		cfg: cfg, metrics: cfg.Metrics, log: cfg.Logger, ctx: ctx, cancel: cancel,
		up: &upstream{base: strings.TrimSuffix(cfg.Upstream, "/"), client: cfg.Client, ttl: cfg.PackumentTTL,
			maxEntries: 10000, metrics: cfg.Metrics, cache: map[string]*cached{}},
		sem:       make(chan struct{}, 4),
		audit:     make(chan store.AuditEntry, 4096),
		auditDone: make(chan struct{}),
		inflight:  map[string]bool{}, waiting: map[string]waiting{}, renders: map[string][]byte{},
	}
	go s.auditLoop()
	return s, nil
}

// Close stops the background work (fetching and queueing held versions)
// and writes the audit entries still queued. Requests served after it are
// not audited.
func (s *Server) Close() error {
	s.cancel()
	s.bg.Wait()
	s.closing.Lock()
	if !s.closed {
		s.closed = true
		close(s.audit)
	}
	s.closing.Unlock()
	<-s.auditDone
	return nil
}

// ServeHTTP serves GET and HEAD of packuments (/NAME, /@SCOPE/NAME,
// /@SCOPE%2fNAME) and tarballs (/NAME/-/FILE.tgz), /-/ping and the
// metrics at /-/fumehood/metrics. Decisions go to the audit log, failures
// to the logger.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	switch {
	case p == "/-/ping":
		writeJSON(w, http.StatusOK, struct{}{})
		return
	case p == "/-/fumehood/metrics":
		s.metrics.Handler().ServeHTTP(w, r)
		return
	case strings.HasPrefix(p, "/-/"):
		npmError(w, http.StatusNotFound, "the fumehood firewall serves packuments and tarballs only")
		return
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		npmError(w, http.StatusMethodNotAllowed, "the fumehood firewall is read-only")
		return
	}
	who, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	name, file, err := parsePath(p)
	if err != nil {
		npmError(w, http.StatusNotFound, err.Error())
		return
	}
	if file == "" {
		s.servePackument(w, r, who, name)
	} else {
		s.serveTarball(w, r, who, name, file)
	}
}

// authenticate returns who asks: the token's name when reads need a
// token, else the client's address.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.cfg.Authenticate == nil {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		return host, true
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fumehood"`)
		npmError(w, http.StatusUnauthorized, "the fumehood firewall needs a read token")
		return "", false
	}
	t, err := s.cfg.Authenticate(r.Context(), strings.TrimSpace(tok))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.ErrorContext(r.Context(), "proxy: token lookup", "err", err)
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="fumehood", error="invalid_token"`)
		npmError(w, http.StatusUnauthorized, "unknown token")
		return "", false
	}
	return "token:" + t.Name, true
}

// parsePath splits an escaped request path into a package name and, for
// a tarball, its file name.
func parsePath(escaped string) (name, file string, err error) {
	p, err := url.PathUnescape(strings.TrimPrefix(escaped, "/"))
	if err != nil {
		return "", "", fmt.Errorf("bad path: %v", err)
	}
	parts := strings.Split(p, "/")
	n := 1
	if strings.HasPrefix(p, "@") {
		n = 2
	}
	if len(parts) < n {
		return "", "", errors.New("not a package path")
	}
	name = strings.Join(parts[:n], "/")
	if err := ecosystem.ValidName(ecosystem.NPM, name); err != nil {
		return "", "", fmt.Errorf("not a package name: %q", clip(name))
	}
	switch rest := parts[n:]; {
	case len(rest) == 0:
		return name, "", nil
	case len(rest) == 2 && rest[0] == "-" && strings.HasSuffix(rest[1], ".tgz"):
		return name, rest[1], nil
	}
	return "", "", errors.New("the fumehood firewall serves packuments and tarballs only")
}

// versionFacts are the facts of every version of p, from three store
// reads.
func (s *Server) versionFacts(ctx context.Context, p *packument) (map[string]Facts, []store.Override, error) {
	tbs, err := s.cfg.Store.Tarballs(ctx, ecosystem.NPM, p.name)
	if err != nil {
		return nil, nil, err
	}
	recs, err := s.cfg.Store.RegistryRecords(ctx, ecosystem.NPM, p.name)
	if err != nil {
		return nil, nil, err
	}
	ovs, err := s.cfg.Store.Overrides(ctx, ecosystem.NPM, p.name)
	if err != nil {
		return nil, nil, err
	}
	facts := make(map[string]Facts, len(p.versions))
	for v, ver := range p.versions {
		facts[v] = Facts{Version: v, Published: ver.Published, Integrity: ver.Integrity}
	}
	for i := range tbs {
		if f, ok := facts[tbs[i].Version]; ok {
			f.Seen = &tbs[i]
			facts[f.Version] = f
		}
	}
	for _, r := range recs {
		if f, ok := facts[r.Package.Version]; ok {
			f.Records = append(f.Records, r)
			facts[f.Version] = f
		}
	}
	return facts, ovs, nil
}

// decide returns the decision on every version of p.
func (s *Server) decide(ctx context.Context, p *packument) (map[string]Decision, map[string]Facts, error) {
	facts, ovs, err := s.versionFacts(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	ds := make(map[string]Decision, len(facts))
	for v, f := range facts {
		d := s.cfg.Policy.Decide(f, ovs, now)
		s.observe(d)
		ds[v] = d
	}
	return ds, facts, nil
}

// observe records the verdict latency of an analysis the firewall queued
// (and, for one the monitor queued, the lag from publication to verdict),
// once, when a decision first rests on its verdict.
func (s *Server) observe(d Decision) {
	a := d.Analysis
	if a == nil || (a.Status != store.Done && a.Status != store.Failed) {
		return
	}
	s.mu.Lock()
	w, ok := s.waiting[a.ID]
	delete(s.waiting, a.ID)
	s.mu.Unlock()
	if !ok || a.Status != store.Done || a.Finished.IsZero() {
		return // a failed analysis has no verdict to time
	}
	s.metrics.latency.Observe(max(0, a.Finished.Sub(w.queued)).Seconds())
	if !w.published.IsZero() {
		s.metrics.lag.Observe(max(0, a.Finished.Sub(w.published)).Seconds())
	}
}

func (s *Server) servePackument(w http.ResponseWriter, r *http.Request, who, name string) {
	ctx := r.Context()
	p, err := s.up.packument(ctx, name)
	if err != nil {
		s.upstreamError(w, r, err)
		return
	}
	ds, _, err := s.decide(ctx, p)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	var (
		admitted []string
		count    = map[State]int{}
	)
	for _, v := range p.sortedVersions() {
		d := ds[v]
		count[d.State]++
		s.metrics.versions.WithLabelValues(string(d.State)).Inc()
		switch {
		case d.State == Admitted:
			admitted = append(admitted, v)
		case d.Queue:
			s.queueFrom(p, v, scheduler.QueueInteractive, time.Time{})
		}
		if d.State != Admitted {
			s.record(who, name, v, "packument", d)
		}
	}
	abbreviated := strings.Contains(r.Header.Get("Accept"), mediaAbbreviated)
	base := s.base(r)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%v\x00%s\x00%s\x00%s", name, abbreviated, base, p.digest, strings.Join(admitted, ","))
	etag := `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
	s.record(who, name, "", "packument", Decision{State: Admitted,
		Reason: fmt.Sprintf("%d admitted, %d held, %d blocked", count[Admitted], count[Held], count[Blocked])})
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Vary", "Accept")
	if match(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.mu.Lock()
	body, ok := s.renders[etag]
	s.mu.Unlock()
	if !ok {
		if body, err = p.render(admitted, base, abbreviated); err != nil {
			s.internal(w, r, err)
			return
		}
		s.mu.Lock()
		if len(s.renders) >= maxRenders {
			clear(s.renders)
		}
		s.renders[etag] = body
		s.mu.Unlock()
	}
	ctype := mediaJSON
	if abbreviated {
		ctype = mediaAbbreviated
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(body)
}

func (s *Server) serveTarball(w http.ResponseWriter, r *http.Request, who, name, file string) {
	ctx := r.Context()
	p, err := s.up.packument(ctx, name)
	if err != nil {
		s.upstreamError(w, r, err)
		return
	}
	ver := p.byFile[file]
	if ver == nil {
		npmError(w, http.StatusNotFound, fmt.Sprintf("%s has no tarball %s", name, clip(file)))
		return
	}
	d, seen, err := s.decideOne(ctx, p, ver.Version)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if d.State != Blocked {
		// First sight: fetch the bytes, record their digest, and decide
		// on the analyses of those bytes.
		tb, err := s.ensureTarball(ctx, p, ver, seen)
		switch {
		case errors.Is(err, errChanged), errors.Is(err, errIntegrity):
			d = Decision{State: Blocked, Reason: err.Error()}
		case err != nil:
			s.upstreamError(w, r, err)
			return
		case seen == nil:
			seen = &tb
			if d, _, err = s.decideOne(ctx, p, ver.Version); err != nil {
				s.internal(w, r, err)
				return
			}
		}
	}
	if d.State == Held {
		d = s.hold(ctx, p, ver.Version, d)
	}
	s.metrics.tarballs.WithLabelValues(string(d.State)).Inc()
	s.record(who, name, ver.Version, "tarball", d)
	if d.State != Admitted {
		s.refuse(w, name, ver.Version, d)
		return
	}
	etag := `"` + seen.Digest + `"`
	w.Header().Set("ETag", etag)
	if match(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	rc, err := s.cfg.Blobs.Get(ctx, seen.Digest)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	if _, err := io.Copy(w, rc); err != nil {
		s.log.WarnContext(ctx, "proxy: tarball cut short", "name", name, "version", ver.Version, "err", err)
	}
}

// decideOne returns the decision on one version of p and its recorded
// tarball (nil before the firewall fetched it).
func (s *Server) decideOne(ctx context.Context, p *packument, v string) (Decision, *store.Tarball, error) {
	ds, facts, err := s.decide(ctx, p)
	if err != nil {
		return Decision{}, nil, err
	}
	return ds[v], facts[v].Seen, nil
}

// hold queues the analysis of a held version if it needs one and waits up
// to HoldWait for it to be decided.
func (s *Server) hold(ctx context.Context, p *packument, v string, d Decision) Decision {
	if d.Queue {
		s.queueFrom(p, v, scheduler.QueueInteractive, time.Time{})
	}
	if s.cfg.HoldWait <= 0 {
		return d
	}
	deadline := time.NewTimer(s.cfg.HoldWait)
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
		next, _, err := s.decideOne(ctx, p, v)
		if err != nil {
			s.log.WarnContext(ctx, "proxy: waiting for a verdict", "name", p.name, "version", v, "err", err)
			return d
		}
		d = next
	}
	return d
}

// errChanged is bytes that differ from those the firewall first saw.
var errChanged = errors.New("the registry's bytes differ from those the firewall first saw")

// ensureTarball returns the recorded tarball of ver, fetching the bytes
// from the upstream (checked against dist.integrity, put in the blob
// store, their digest recorded if this is the first sight) unless the
// record and its bytes are there already.
func (s *Server) ensureTarball(ctx context.Context, p *packument, ver *version, seen *store.Tarball) (store.Tarball, error) {
	if seen != nil {
		if rc, err := s.cfg.Blobs.Get(ctx, seen.Digest); err == nil {
			rc.Close()
			return *seen, nil
		}
	}
	digest, err := s.up.tarball(ctx, ver, s.cfg.Blobs, s.cfg.MaxTarball)
	if err != nil {
		return store.Tarball{}, err
	}
	tb, err := s.cfg.Store.SeeTarball(ctx, store.Tarball{Ecosystem: ecosystem.NPM, Name: p.name, Version: ver.Version,
		Digest: digest, Integrity: ver.Integrity})
	if err != nil {
		return store.Tarball{}, err
	}
	if tb.Digest != digest {
		return tb, fmt.Errorf("%s@%s: %w (%s, now %s)", p.name, ver.Version, errChanged, tb.Digest, digest)
	}
	return tb, nil
}

// queueFrom fetches a held version's bytes and submits their analysis on
// the queue q, in the background; a version already on its way is left.
// published is the version's publication time when the monitor queues it
// (for the lag metric), zero otherwise.
func (s *Server) queueFrom(p *packument, v, q string, published time.Time) {
	key := p.name + "@" + v
	s.mu.Lock()
	if s.inflight[key] {
		s.mu.Unlock()
		return
	}
	s.inflight[key] = true
	s.mu.Unlock()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.inflight, key)
			s.mu.Unlock()
		}()
		select {
		case s.sem <- struct{}{}:
			defer func() { <-s.sem }()
		case <-s.ctx.Done():
			return
		}
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Minute)
		defer cancel()
		if err := s.submit(ctx, p, v, q, published); err != nil {
			s.log.WarnContext(ctx, "proxy: analysis not queued", "name", p.name, "version", v, "err", err)
		}
	}()
}

func (s *Server) submit(ctx context.Context, p *packument, v, q string, published time.Time) error {
	_, facts, err := s.decide(ctx, p)
	if err != nil {
		return err
	}
	tb, err := s.ensureTarball(ctx, p, p.versions[v], facts[v].Seen)
	if err != nil {
		return err
	}
	queued := time.Now()
	rec, existing, err := s.cfg.Scheduler.Submit(ctx, scheduler.Submission{Spec: "npm:" + p.name + "@" + v, Fetched: tb.Digest, Queue: q})
	if err != nil {
		return err
	}
	if rec.Status != store.Done && rec.Status != store.Failed {
		s.mu.Lock()
		if _, ok := s.waiting[rec.ID]; !ok {
			s.waiting[rec.ID] = waiting{name: p.name, queued: queued, published: published}
		}
		s.mu.Unlock()
	}
	s.log.InfoContext(ctx, "proxy: analysis queued", "name", p.name, "version", v, "analysis", rec.ID, "existing", existing, "queue", q)
	return nil
}

// refusal is the npm-style JSON error of a held or blocked version.
type refusal struct {
	Error     string           `json:"error"`
	State     State            `json:"state"`
	Reason    string           `json:"reason"`
	Verdict   analysis.Verdict `json:"verdict,omitempty"`
	Rules     []string         `json:"rules,omitempty"`
	Analysis  string           `json:"analysis,omitempty"`
	DecidedBy *time.Time       `json:"decided_by,omitempty"`
}

// refuse answers 403 for a held or blocked version, naming why.
func (s *Server) refuse(w http.ResponseWriter, name, v string, d Decision) {
	ref := refusal{State: d.State, Reason: d.Reason}
	if a := d.Analysis; a != nil {
		ref.Analysis = a.ID
		if s.cfg.AnalysisURL != "" {
			ref.Analysis = strings.TrimSuffix(s.cfg.AnalysisURL, "/") + "/v1/analyses/" + url.PathEscape(a.ID)
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
	msg := fmt.Sprintf("fumehood firewall: %s@%s is %s: %s", name, v, d.State, d.Reason)
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
func (s *Server) record(who, name, v, request string, d Decision) {
	e := store.AuditEntry{At: time.Now().UTC(), Who: who, Ecosystem: ecosystem.NPM, Name: name, Version: v,
		Request: request, State: string(d.State), Reason: d.Reason}
	if d.Analysis != nil {
		e.Analysis = d.Analysis.ID
	}
	s.closing.RLock()
	defer s.closing.RUnlock()
	if s.closed {
		s.metrics.auditLost.Inc()
		return
	}
	select {
	case s.audit <- e:
	default:
		s.metrics.auditLost.Inc()
	}
}

// auditLoop writes audit entries in batches until the queue is closed.
func (s *Server) auditLoop() {
	defer close(s.auditDone)
	var batch []store.AuditEntry
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.cfg.Store.AppendAudit(ctx, batch); err != nil {
			s.metrics.auditLost.Add(float64(len(batch)))
			s.log.Error("proxy: audit entries lost", "count", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-s.audit:
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

// base is the URL tarball links start with.
func (s *Server) base(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/")
	}
	return "http://" + r.Host
}

func (s *Server) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errUpstreamNotFound):
		npmError(w, http.StatusNotFound, "not found")
	case errors.Is(err, errTooLarge):
		npmError(w, http.StatusBadGateway, "the upstream's answer is too large")
	case errors.Is(err, errElsewhere):
		npmError(w, http.StatusBadGateway, "the upstream names a tarball on another host; the firewall fetches from its upstream only")
	case errors.Is(err, context.Canceled):
		npmError(w, http.StatusServiceUnavailable, "request cancelled")
	default:
		s.log.WarnContext(r.Context(), "proxy: upstream", "path", r.URL.Path, "err", err)
		npmError(w, http.StatusBadGateway, "the upstream registry failed")
	}
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		npmError(w, http.StatusServiceUnavailable, "request cancelled")
		return
	}
	s.log.ErrorContext(r.Context(), "proxy: request failed", "path", r.URL.Path, "err", err)
	npmError(w, http.StatusInternalServerError, "internal error")
}

// npmError writes an error as the npm registry does: {"error": MESSAGE}.
func npmError(w http.ResponseWriter, status int, msg string) {
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
