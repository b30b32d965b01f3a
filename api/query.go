package api

import (
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
// verdict, rule, status, since, limit, cursor) into a store.Query. since is
// an RFC 3339 time or a date (YYYY-MM-DD). Errors wrap
// ErrInvalid; cursors are checked by the store (store.ErrCursor).
func ParseQuery(raw string) (store.Query, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return store.Query{}, badRequest("query string: %v", err)
	}
	if err := checkParams(v, "ecosystem", "name", "verdict", "rule", "status", "since", "limit", "cursor"); err != nil {
		return store.Query{}, err
	}
	q := store.Query{
		Ecosystem: v.Get("ecosystem"),
		Name:      v.Get("name"),
		Verdict:   analysis.Verdict(v.Get("verdict")),
		Rule:      v.Get("rule"),
		Status:    store.Status(v.Get("status")),
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
	if s := v.Get("since"); s != "" {
		if q.Since, err = parseTime(s); err != nil {
			return store.Query{}, err
		}
	}
	if q.Limit, err = parseLimit(v.Get("limit")); err != nil {
		return store.Query{}, err
	}
	return q, nil
}

// Bounds of a since time (the store keeps nanoseconds since 1970 in an
// int64, which ends in 2262).
var (
	minSince = time.Unix(0, 0)
	maxSince = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// parseTime reads an RFC 3339 time or a date (YYYY-MM-DD, UTC). Durations
// back from now are not taken here: a page cursor is bound to its filters,
// so the next page must see the same since (ParseSince resolves them for
// clients).
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
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
// ErrInvalid.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, badRequest("since duration must be positive")
		}
		return now.Add(-d), nil
	}
	return parseTime(s)
}

// traceQuery is a page request of GET /v1/analyses/{id}/trace.
type traceQuery struct {
	Kind  trace.Kind
	PID   uint32 // 0: any; matches the event's tgid or pid
	Limit int
	After uint64 // the last seq of the previous page
}

func (s *server) parseTraceQuery(id, raw string) (traceQuery, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return traceQuery{}, badRequest("query string: %v", err)
	}
	if err := checkParams(v, "kind", "pid", "limit", "cursor"); err != nil {
		return traceQuery{}, err
	}
	q := traceQuery{Kind: trace.Kind(v.Get("kind"))}
	if q.Kind != "" && !q.Kind.Valid() {
		return traceQuery{}, badRequest("kind must be an event kind such as exec or connect")
	}
	if p := v.Get("pid"); p != "" {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil || n == 0 {
			return traceQuery{}, badRequest("pid must be a positive integer")
		}
		q.PID = uint32(n)
	}
	if q.Limit, err = parseLimit(v.Get("limit")); err != nil {
		return traceQuery{}, err
	}
	if c := v.Get("cursor"); c != "" {
		if q.After, err = s.openCursor(c, id, q); err != nil {
			return traceQuery{}, err
		}
	}
	return q, nil
}

// A trace cursor is base64url(seq (8 bytes) | hmac-sha256(key, id, kind,
// pid, seq)[:16]): it resumes only the query that made it.
func (s *server) traceCursor(id string, q traceQuery, seq uint64) string {
	b := binary.BigEndian.AppendUint64(nil, seq)
	b = append(b, s.cursorMAC(id, q, seq)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *server) openCursor(c, id string, q traceQuery) (uint64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 8+16 {
		return 0, errBadCursor
	}
	seq := binary.BigEndian.Uint64(b[:8])
	if !hmac.Equal(b[8:], s.cursorMAC(id, q, seq)) {
		return 0, errBadCursor
	}
	return seq, nil
}

func (s *server) cursorMAC(id string, q traceQuery, seq uint64) []byte {
	m := hmac.New(sha256.New, s.CursorKey)
	var buf strings.Builder
	buf.WriteString("trace\x00" + id + "\x00" + string(q.Kind) + "\x00")
	buf.WriteString(strconv.FormatUint(uint64(q.PID), 10) + "\x00" + strconv.FormatUint(seq, 10))
	m.Write([]byte(buf.String()))
	return m.Sum(nil)[:16]
}
