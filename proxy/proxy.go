package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/ecosystem/npm"
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
	DefaultDecisionTTL  = 2 * time.Second
	DefaultMaxTarball   = ecosystem.DefaultMaxArtifact
	// holdPoll is how often a request waiting for a verdict (HoldWait)
	// looks again.
	holdPoll = 500 * time.Millisecond
)

// Config is what New (npm) and NewPyPI need.
type Config struct {
	// Upstream is the npm registry's base URL (New) or the PyPI simple
	// index's (NewPyPI, the URL project pages hang off).
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
	// PublicURL is the firewall's base URL in the file URLs of the
	// documents it serves; empty: http:// and the request's Host.
	PublicURL string
	// AnalysisURL is the farm API's base URL, for the analysis links in
	// refusals; empty: refusals name the analysis id alone.
	AnalysisURL string
	// PackumentTTL is how long an upstream packument or project page is
	// served before it is revalidated (default DefaultPackumentTTL;
	// negative: always).
	PackumentTTL time.Duration
	// DecisionTTL bounds how long a package's decisions are served from
	// the decision cache before the store is read again (default
	// DefaultDecisionTTL; negative: never cached). It is how late a
	// packument or project page may show what another process wrote:
	// a verdict, or an override set through another process's API.
	DecisionTTL time.Duration
	// Changes, when set, is bumped by the Admin that changes overrides
	// in this process, which drops every cached decision at once.
	Changes *Changes
	// MaxTarball bounds a tarball or distribution file (default
	// DefaultMaxTarball).
	MaxTarball int64
	// Client talks to the upstream (default: a 5-minute timeout).
	Client  *http.Client
	Metrics *Metrics // nil: fresh ones
	Logger  *slog.Logger
}

// Server is the npm registry firewall: an http.Handler serving the npm
// registry protocol. Close it.
type Server struct {
	*core
	up      *upstream[*packument]
	docs    docs[*packument]
	renders map[string][]byte // rendered packuments by ETag, under core.mu
}

// maxRenders bounds the rendered packuments kept.
const maxRenders = 4096

// New returns a firewall serving cfg.Upstream under cfg.Policy.
func New(cfg Config) (*Server, error) {
	c, err := newCore(cfg, ecosystem.NPM)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(c.cfg.Upstream, "/")
	s := &Server{core: c, renders: map[string][]byte{},
		up: upstreamOf(c, mediaJSON, func(name string) string { return base + "/" + strings.Replace(name, "/", "%2f", 1) },
			func(name string, b []byte, _ string) (*packument, error) { return parsePackument(name, b) })}
	s.docs = docs[*packument]{c: c, up: s.up, decide: s.decide, versions: (*packument).sortedVersions, queue: s.queueFrom}
	return s, nil
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
		jsonError(w, http.StatusNotFound, "the fumehood firewall serves packuments and tarballs only")
		return
	}
	who, ok := s.reader(w, r)
	if !ok {
		return
	}
	name, file, err := parsePath(p)
	if err != nil {
		jsonError(w, http.StatusNotFound, err.Error())
		return
	}
	if file == "" {
		s.servePackument(w, r, who, name)
	} else {
		s.serveTarball(w, r, who, name, file)
	}
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

// decide returns the decision on every version of p and the recorded
// tarballs by version; fresh: read from the store, not the decision
// cache (core.decide).
func (s *Server) decide(ctx context.Context, p *packument, fresh bool) (map[string]Decision, map[string]*store.Tarball, error) {
	facts := func() map[string]Facts {
		facts := make(map[string]Facts, len(p.versions))
		for v, ver := range p.versions {
			facts[v] = Facts{Version: v, Published: ver.Published, Integrity: ver.Integrity}
		}
		return facts
	}
	same := func(v string) string { return v }
	return s.core.decide(ctx, p.name, p, fresh, facts, same, same)
}

func (s *Server) servePackument(w http.ResponseWriter, r *http.Request, who, name string) {
	p, admitted, ok := s.docs.list(w, r, who, name, "packument")
	if !ok {
		return
	}
	abbreviated := strings.Contains(r.Header.Get("Accept"), mediaAbbreviated)
	base := s.base(r)
	etag, done := notModified(w, r, name, fmt.Sprint(abbreviated), base, p.digest, strings.Join(admitted, ","))
	if done {
		return
	}
	s.mu.Lock()
	body, ok := s.renders[etag]
	s.mu.Unlock()
	if !ok {
		var err error
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
	s.docs.serveFile(w, r, who, name, file, func(p *packument, file string) (download, bool) {
		ver := p.byFile[file]
		if ver == nil {
			return download{}, false
		}
		return download{kind: "tarball", name: name, version: ver.Version, what: name + "@" + ver.Version,
			decide: func(ctx context.Context) (Decision, *store.Tarball, error) { return s.decideOne(ctx, p, ver.Version) },
			ensure: func(ctx context.Context, seen *store.Tarball) (store.Tarball, error) {
				return s.ensureTarball(ctx, p, ver, seen)
			},
			queue: func() { s.queueFrom(p, ver.Version, scheduler.QueueInteractive) },
		}, true
	})
}

// decideOne returns the decision on one version of p and its recorded
// tarball (nil before the firewall fetched it), read from the store: a
// download is decided on its current facts, never on cached ones.
func (s *Server) decideOne(ctx context.Context, p *packument, v string) (Decision, *store.Tarball, error) {
	ds, seen, err := s.decide(ctx, p, true)
	if err != nil {
		return Decision{}, nil, err
	}
	return ds[v], seen[v], nil
}

// errChanged is bytes that differ from those the firewall first saw.
var errChanged = errors.New("the registry's bytes differ from those the firewall first saw")

// ensureTarball returns the recorded tarball of ver, fetching the bytes
// from the upstream (checked against dist.integrity, put in the blob
// store, their digest recorded if this is the first sight) unless the
// record and its bytes are there already. The tarball must be on the
// upstream's host: one upstream, whatever a packument says.
func (s *Server) ensureTarball(ctx context.Context, p *packument, ver *version, seen *store.Tarball) (store.Tarball, error) {
	if !s.up.onHost(ver.Tarball) {
		return store.Tarball{}, fmt.Errorf("%s: %w: %s", ver.File, errElsewhere, ver.Tarball)
	}
	h, want, err := npm.Integrity(ver.SRI, ver.Shasum)
	if err != nil {
		return store.Tarball{}, fmt.Errorf("%s: %w", ver.File, err)
	}
	return s.ensure(ctx, seen, fetchFile{url: ver.Tarball, name: ver.File, hash: h, want: want, integrity: ver.Integrity},
		store.Tarball{Ecosystem: ecosystem.NPM, Name: p.name, Version: ver.Version, Integrity: ver.Integrity})
}

// queueFrom fetches a held version's bytes and submits their analysis on
// the queue q, in the background; a version already on its way is left.
func (s *Server) queueFrom(p *packument, v, q string) {
	s.background(p.name+"@"+v, func(ctx context.Context) error {
		_, seen, err := s.decide(ctx, p, false)
		if err != nil {
			return err
		}
		tb, err := s.ensureTarball(ctx, p, p.versions[v], seen[v])
		if err != nil {
			return err
		}
		return s.submit(ctx, p.name, "npm:"+p.name+"@"+v, tb.Digest, q, p.versions[v].Published)
	})
}
