package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/fumehood/fumehood/api/ui"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
)

// Default limits.
const (
	DefaultMaxBody   = 1 << 20  // JSON bodies and lockfiles: 1 MiB
	DefaultMaxUpload = 64 << 20 // uploaded artifacts: 64 MiB (the fetcher's own limit)
)

// The scheduler's request types and its sentinel for the caller's
// mistakes, which the API answers 400.
type (
	Submission   = scheduler.Submission
	BatchRequest = scheduler.BatchRequest
	DeadTask     = scheduler.DeadTask
)

// ErrInvalid is wrapped by a Scheduler's errors that are the caller's
// mistake and have no sentinel of their own.
var ErrInvalid = scheduler.ErrInvalid

// Scheduler is what the API asks of the queue. Submit returns the new
// record, or the existing one and true when the same key was analysed
// already (unless forced). Errors that are the caller's wrap
// ecosystem.ErrBadSpec, ecosystem.ErrBadArtifact, ecosystem.ErrTooLarge or
// ErrInvalid; store.ErrNotFound is 404.
type Scheduler interface {
	Submit(ctx context.Context, s Submission) (*store.Record, bool, error)
	SubmitBatch(ctx context.Context, r BatchRequest) (*store.Batch, error)
	CancelBatch(ctx context.Context, id string) error
	Archived(ctx context.Context) ([]DeadTask, error)
	QueueDepths(ctx context.Context) (map[string]int, error)
}

// RulesInfo describes the rule set in force; *rules.Set is one. Policy
// decides process roles for traces stored without their process table.
type RulesInfo interface {
	Version() string
	Rules() []rules.Rule
	Policy() trace.Policy
}

// Config is what New needs.
type Config struct {
	Store     store.Store
	Blobs     store.Blobs
	Scheduler Scheduler
	Rules     RulesInfo
	Logger    *slog.Logger
	// Metrics is exposed at /metrics; nil makes a fresh one.
	Metrics *Metrics
	// MaxBody bounds JSON bodies and lockfiles, MaxUpload uploaded
	// artifacts, in bytes; 0 means the defaults.
	MaxBody, MaxUpload int64
	// CursorKey signs trace cursors; nil uses the store's key
	// (store.Store.Secret), which every serve process of the farm shares.
	CursorKey []byte
	// Firewall serves /v1/policy and /v1/audit; nil: no registry
	// firewall, those answer 404.
	Firewall Firewall
}

type server struct {
	Config
	mux   *http.ServeMux
	pages *ui.Renderer
	// keys caches the store's secrets by name.
	keysMu sync.Mutex
	keys   map[string][]byte
}

// New returns the API handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(cfg.Scheduler)
	}
	pages, err := ui.New()
	if err != nil {
		panic(err) // the embedded templates do not parse: a build defect the tests catch
	}
	s := &server{Config: cfg, mux: http.NewServeMux(), pages: pages, keys: map[string][]byte{}}
	if cfg.CursorKey != nil {
		s.keys[cursorKeyName] = cfg.CursorKey
	}
	s.routes()
	return s
}

// key returns the store's secret called name, asking the store once.
func (s *server) key(ctx context.Context, name string) ([]byte, error) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if k := s.keys[name]; k != nil {
		return k, nil
	}
	k, err := s.Store.Secret(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", name, err)
	}
	s.keys[name] = k
	return k, nil
}

func (s *server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.healthz)
	m.Handle("GET /metrics", s.Metrics.Handler())
	m.Handle("POST /v1/analyses", s.auth(store.RoleSubmit, s.submit))
	m.Handle("GET /v1/analyses", s.auth(store.RoleRead, s.list))
	m.Handle("GET /v1/analyses/{id}", s.auth(store.RoleRead, s.get))
	m.Handle("GET /v1/analyses/{id}/trace", s.auth(store.RoleRead, s.trace))
	m.Handle("GET /v1/analyses/{id}/processes", s.auth(store.RoleRead, s.processes))
	m.Handle("GET /v1/analyses/{id}/report", s.auth(store.RoleRead, s.report))
	m.Handle("GET /v1/analyses/{id}/diff", s.auth(store.RoleRead, s.diffAgainst))
	m.Handle("GET /v1/diff", s.auth(store.RoleRead, s.diffPackages))
	m.Handle("GET /v1/analyses/{id}/osv", s.auth(store.RoleRead, s.osvRecord))
	m.Handle("GET /v1/packages/{eco}/{name...}", s.auth(store.RoleRead, s.versions))
	m.Handle("POST /v1/batches", s.auth(store.RoleSubmit, s.createBatch))
	m.Handle("GET /v1/batches/{id}", s.auth(store.RoleRead, s.getBatch))
	m.Handle("DELETE /v1/batches/{id}", s.auth(store.RoleSubmit, s.cancelBatch))
	m.Handle("GET /v1/rules", s.auth(store.RoleRead, s.rules))
	m.Handle("GET /v1/tasks/archived", s.auth(store.RoleAdmin, s.archived))
	s.pageRoutes()
	if s.Firewall != nil {
		m.Handle("POST /v1/policy", s.auth(store.RoleAdmin, s.addOverride))
		m.Handle("GET /v1/policy", s.auth(store.RoleRead, s.listOverrides))
		m.Handle("DELETE /v1/policy/{id}", s.auth(store.RoleAdmin, s.deleteOverride))
		m.Handle("GET /v1/audit", s.auth(store.RoleRead, s.audit))
		m.Handle("GET /firewall", s.page(store.RoleRead, s.firewallPage))
	}
}

// ServeHTTP logs each request (never its headers) and answers unknown
// paths and methods with JSON errors.
// Each answer carries the request's id in X-Request-Id, which the log line
// names too.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := requestID()
	w.Header().Set("X-Request-Id", id)
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// The mux's own 404/405 (or a redirect): keep its status and
		// headers, answer in JSON.
		probe := &statusWriter{ResponseWriter: discardBody{sw}, status: http.StatusOK}
		h.ServeHTTP(probe, r)
		switch probe.status {
		case http.StatusNotFound:
			writeError(sw, http.StatusNotFound, "not_found", "no such endpoint")
		case http.StatusMethodNotAllowed:
			writeError(sw, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed here")
		default:
			sw.WriteHeader(probe.status)
		}
	} else {
		s.mux.ServeHTTP(sw, r)
	}
	s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", sw.status), slog.Duration("took", time.Since(start)),
		slog.String("request_id", id), slog.String("remote", r.RemoteAddr))
}

// requestID returns a random id of 16 hex digits.
func requestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// discardBody passes headers through to the real writer but drops the
// status line and body, so that a JSON error can replace them.
type discardBody struct{ w http.ResponseWriter }

func (d discardBody) Header() http.Header         { return d.w.Header() }
func (d discardBody) Write(b []byte) (int, error) { return len(b), nil }
func (d discardBody) WriteHeader(int)             {}

// errorBody is every error's JSON.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// fail answers err: the caller's mistakes as 4xx with their message, the
// rest as 500 with a generic one (the detail goes to the log).
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := s.classify(w, r, err)
	writeError(w, status, code, msg)
}

// classify maps err to the status, code and message of its answer, and
// logs the errors that are ours.
func (s *server) classify(w http.ResponseWriter, r *http.Request, err error) (status int, code, msg string) {
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr), errors.Is(err, ecosystem.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large", err.Error()
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "not_found", err.Error()
	case errors.Is(err, store.ErrCursor), errors.Is(err, errBadCursor):
		return http.StatusBadRequest, "bad_request", "invalid cursor"
	case errors.Is(err, ErrInvalid), errors.Is(err, ecosystem.ErrBadSpec),
		errors.Is(err, ecosystem.ErrBadArtifact), errors.Is(err, ecosystem.ErrNotFound):
		return http.StatusBadRequest, "bad_request", err.Error()
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
		return http.StatusServiceUnavailable, "unavailable", "request cancelled"
	}
	s.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
		"request_id", w.Header().Get("X-Request-Id"), "err", err)
	return http.StatusInternalServerError, "internal", "internal error"
}

// badRequest is an ErrInvalid with a message.
func badRequest(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), ErrInvalid)
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"store": "ok", "queue": "ok"}
	status := http.StatusOK
	if _, err := s.Store.Get(ctx, "healthz"); err != nil && !errors.Is(err, store.ErrNotFound) {
		checks["store"], status = err.Error(), http.StatusServiceUnavailable
	}
	if _, err := s.Scheduler.QueueDepths(ctx); err != nil {
		checks["queue"], status = err.Error(), http.StatusServiceUnavailable
	}
	writeJSON(w, status, checks)
}

func (s *server) rules(w http.ResponseWriter, r *http.Request) {
	if err := noParams(r); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Version string       `json:"version"`
		Rules   []rules.Rule `json:"rules"`
	}{s.Rules.Version(), s.Rules.Rules()})
}

func (s *server) archived(w http.ResponseWriter, r *http.Request) {
	if err := noParams(r); err != nil {
		s.fail(w, r, err)
		return
	}
	tasks, err := s.Scheduler.Archived(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if tasks == nil {
		tasks = []DeadTask{}
	}
	writeJSON(w, http.StatusOK, struct {
		Tasks []DeadTask `json:"tasks"`
	}{tasks})
}

// decodeJSON reads one JSON value of at most MaxBody bytes into v,
// rejecting unknown fields and trailing data.
func (s *server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return fmt.Errorf("request body over %d bytes: %w", s.MaxBody, maxErr)
		}
		return badRequest("request body: %v", err)
	}
	if dec.More() {
		return badRequest("request body: data after the JSON value")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("request body: data after the JSON value")
	}
	return nil
}
