package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
)

// Query-string limits.
const (
	maxLimit     = 1000
	maxParamLen  = 512 // a name, a rule id, a cursor
	defaultLimit = 50
)

// errBadCursor is a trace cursor that is malformed, forged or from another
// query.
var errBadCursor = errors.New("invalid trace cursor")

// checkParams rejects parameters other than allowed, repeated ones and
// overlong values.
func checkParams(v url.Values, allowed ...string) error {
	for k, vs := range v {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return badRequest("unknown query parameter %q", k)
		}
		if len(vs) != 1 {
			return badRequest("query parameter %q given %d times", k, len(vs))
		}
		if len(vs[0]) > maxParamLen {
			return badRequest("query parameter %q longer than %d bytes", k, maxParamLen)
		}
	}
	return nil
}

func noParams(r *http.Request) error {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return badRequest("query string: %v", err)
	}
	return checkParams(v)
}

// parseLimit reads a page size: 1 to maxLimit, defaultLimit when empty.
func parseLimit(s string) (int, error) {
	if s == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, badRequest("limit must be an integer from 1 to %d", maxLimit)
	}
	return n, nil
}

// ParseQuery reads the query string of GET /v1/analyses (ecosystem, name,
// verdict, rule, status, since, batch, limit, cursor) into a store.Query.
// since is an RFC 3339 time or a date (YYYY-MM-DD). Errors wrap
// ErrInvalid; cursors are checked by the store (store.ErrCursor).
func ParseQuery(raw string) (store.Query, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return store.Query{}, badRequest("query string: %v", err)
	}
	if err := checkParams(v, listParams...); err != nil {
		return store.Query{}, err
	}
	return parseQuery(v, parseTime)
}

// listParams are the parameters of a list query; the list endpoint and
// page also take full (1 for whole documents instead of summaries).
var listParams = []string{"ecosystem", "name", "verdict", "rule", "status", "since", "batch", "limit", "cursor"}

// parseQuery reads a list query whose parameters were checked, with
// since read by readSince.
func parseQuery(v url.Values, readSince func(string) (time.Time, error)) (store.Query, error) {
	var err error
	q := store.Query{
		Ecosystem: v.Get("ecosystem"),
		Name:      v.Get("name"),
		Verdict:   analysis.Verdict(v.Get("verdict")),
		Rule:      v.Get("rule"),
		Status:    store.Status(v.Get("status")),
		Batch:     v.Get("batch"),
		Cursor:    v.Get("cursor"),
	}
	switch q.Ecosystem {
	case "", "npm", "pypi":
	default:
		return store.Query{}, badRequest("ecosystem must be npm or pypi")
	}
	q.Name = ecosystem.CanonicalName(q.Ecosystem, q.Name)
	switch q.Verdict {
	case "", analysis.Benign, analysis.Suspicious, analysis.Malicious:
	default:
		return store.Query{}, badRequest("verdict must be benign, suspicious or malicious")
	}
	switch q.Status {
	case "", store.Queued, store.Running, store.Done, store.Failed:
	default:
		return store.Query{}, badRequest("status must be queued, running, done or failed")
	}
	if s := strings.TrimSpace(v.Get("since")); s != "" {
		if q.Since, err = readSince(s); err != nil {
			return store.Query{}, err
		}
	}
	if q.Limit, err = parseLimit(v.Get("limit")); err != nil {
		return store.Query{}, err
	}
	return q, nil
}

// encodeQuery renders q's filters (and limit) as the query string ParseQuery
// reads back, since as an RFC 3339 time: the link to the next page of a
// list whose since was a duration.
func encodeQuery(q store.Query) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"ecosystem": q.Ecosystem, "name": q.Name, "verdict": string(q.Verdict),
		"rule": q.Rule, "status": string(q.Status), "batch": q.Batch, "cursor": q.Cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit != 0 && q.Limit != defaultLimit {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// Bounds of a since time (the store keeps nanoseconds since 1970 in an
// int64, which ends in 2262).
var (
	minSince = time.Unix(0, 0)
	maxSince = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// parseTime reads an RFC 3339 time or a date (YYYY-MM-DD, UTC).
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse(time.DateOnly, s)
	}
	if err != nil {
		return time.Time{}, badRequest("since must be an RFC 3339 time or a date YYYY-MM-DD")
	}
	if t.Before(minSince) || t.After(maxSince) {
		return time.Time{}, badRequest("since must be between 1970 and 2200")
	}
	return t, nil
}

// ParseSince reads what a user may write for since: an RFC 3339 time, a
// date (YYYY-MM-DD, UTC) or a duration back from now ("24h"). Errors wrap
// ErrInvalid. A page cursor is bound to its filters, so the list endpoint
// answers a duration with next_url, which carries the time it resolved
// to.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, badRequest("since duration must be positive")
		}
		if t := now.Add(-d); !t.Before(minSince) {
			return t, nil
		}
		return time.Time{}, badRequest("since must be between 1970 and 2200")
	}
	return parseTime(s)
}

// traceQuery is a page request of GET /v1/analyses/{id}/trace.
type traceQuery struct {
	Kind  trace.Kind
	PID   uint32 // 0: any; matches the event's tgid or pid
	Phase string
	Path  string // a prefix of the event's path or path2
	From  uint64 // the first event the page may start at
	Limit int
	After uint64 // the last seq of the previous page
}

// match reports whether e passes the filters of q (not its position).
func (q *traceQuery) match(e *trace.Event) bool {
	return (q.Kind == "" || e.Kind == q.Kind) && (q.PID == 0 || e.TGID == q.PID || e.PID == q.PID) &&
		(q.Phase == "" || e.Phase == q.Phase) &&
		(q.Path == "" || strings.HasPrefix(e.Path, q.Path) || strings.HasPrefix(e.Path2, q.Path))
}

// values renders q's filters as a query string (not its cursor).
func (q *traceQuery) values() url.Values {
	v := url.Values{}
	if q.Kind != "" {
		v.Set("kind", string(q.Kind))
	}
	if q.PID != 0 {
		v.Set("pid", strconv.FormatUint(uint64(q.PID), 10))
	}
	if q.Phase != "" {
		v.Set("phase", q.Phase)
	}
	if q.Path != "" {
		v.Set("path", q.Path)
	}
	if q.From != 0 {
		v.Set("from", strconv.FormatUint(q.From, 10))
	}
	if q.Limit != defaultLimit {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

func (s *server) parseTraceQuery(ctx context.Context, id, raw string) (traceQuery, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return traceQuery{}, badRequest("query string: %v", err)
	}
	if err := checkParams(v, "kind", "pid", "phase", "path", "from", "limit", "cursor"); err != nil {
		return traceQuery{}, err
	}
	q := traceQuery{Kind: trace.Kind(v.Get("kind")), Phase: v.Get("phase"), Path: v.Get("path")}
	if q.Kind != "" && !q.Kind.Valid() {
		return traceQuery{}, badRequest("kind %q is not an event kind (%s)", q.Kind, kindList())
	}
	if p := v.Get("pid"); p != "" {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil || n == 0 {
			return traceQuery{}, badRequest("pid must be a positive integer")
		}
		q.PID = uint32(n)
	}
	if f := v.Get("from"); f != "" {
		if q.From, err = strconv.ParseUint(f, 10, 64); err != nil || q.From == 0 {
			return traceQuery{}, badRequest("from must be an event number, from 1")
		}
	}
	if q.Limit, err = parseLimit(v.Get("limit")); err != nil {
		return traceQuery{}, err
	}
	if c := v.Get("cursor"); c != "" {
		key, err := s.key(ctx, cursorKeyName)
		if err != nil {
			return traceQuery{}, err
		}
		if q.After, err = openCursor(key, c, id, q); err != nil {
			return traceQuery{}, err
		}
	}
	return q, nil
}

func kindList() string {
	var ks []string
	for _, k := range trace.Kinds() {
		ks = append(ks, string(k))
	}
	return strings.Join(ks, ", ")
}

// cursorKeyName names the store secret that signs trace cursors.
const cursorKeyName = "trace-cursor-key"

// A trace cursor is base64url(seq (8 bytes) | hmac-sha256(key, id,
// filters, seq)[:16]): it resumes only the query that made it, with any
// serve process of the farm (the key is the store's).
func traceCursor(key []byte, id string, q traceQuery, seq uint64) string {
	b := binary.BigEndian.AppendUint64(nil, seq)
	b = append(b, cursorMAC(key, id, q, seq)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func openCursor(key []byte, c, id string, q traceQuery) (uint64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 8+16 {
		return 0, errBadCursor
	}
	seq := binary.BigEndian.Uint64(b[:8])
	if !hmac.Equal(b[8:], cursorMAC(key, id, q, seq)) {
		return 0, errBadCursor
	}
	return seq, nil
}

func cursorMAC(key []byte, id string, q traceQuery, seq uint64) []byte {
	m := hmac.New(sha256.New, key)
	for _, f := range []string{"trace", id, string(q.Kind), strconv.FormatUint(uint64(q.PID), 10), q.Phase, q.Path,
		strconv.FormatUint(q.From, 10), strconv.FormatUint(seq, 10)} {
		// Length-prefixed, so that no two filter sets share an input.
		m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(f))))
		m.Write([]byte(f))
	}
	return m.Sum(nil)[:16]
}
