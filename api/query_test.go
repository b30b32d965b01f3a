package api

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/fumehood/fumehood/ecosystem"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-05-01", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), true},
		{"2026-05-01T10:00:00+02:00", time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC), true},
		{"24h", now.Add(-24 * time.Hour), true},
		{"-24h", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"", time.Time{}, false},
		{"2999-01-01", time.Time{}, false},
		{"1969-12-31", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := ParseSince(tt.in, now)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseSince(%q) error %v does not wrap ErrInvalid", tt.in, err)
		}
	}
}

// FuzzQuery feeds arbitrary query strings to the list and trace parsers:
// they never panic, every error is ErrInvalid (or a cursor error), and an
// accepted query has a limit in range and only known filters.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"", "ecosystem=npm&name=a&verdict=benign&limit=10", "since=2026-01-01&cursor=abc",
		"kind=exec&pid=12&cursor=AAAAAAAAAAoAAAAAAAAAAAAAAAAAAAAA", "limit=1001", "%zz", "a=1&a=2", "pid=0"} {
		f.Add(s)
	}
	key := []byte("fuzz key")
	s := &server{keys: map[string][]byte{cursorKeyName: key}}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := ParseQuery(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseQuery(%q) error %v is not ErrInvalid", raw, err)
			}
		} else {
			if q.Limit < 1 || q.Limit > maxLimit {
				t.Fatalf("ParseQuery(%q) limit %d out of range", raw, q.Limit)
			}
			v, _ := url.ParseQuery(raw)
			if q.Cursor != v.Get("cursor") || q.Name != ecosystem.CanonicalName(q.Ecosystem, v.Get("name")) {
				t.Fatalf("ParseQuery(%q) = %+v, lost a value", raw, q)
			}
		}
		tq, err := s.parseTraceQuery(context.Background(), "id", raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, errBadCursor) {
				t.Fatalf("parseTraceQuery(%q) error %v is neither ErrInvalid nor errBadCursor", raw, err)
			}
			return
		}
		if tq.After != 0 {
			// Only a cursor this server signed opens; fuzzed input
			// cannot forge one.
			t.Fatalf("parseTraceQuery(%q) accepted a cursor it did not make: %+v", raw, tq)
		}
		// A cursor the server makes for this query opens to its seq.
		c := traceCursor(key, "id", tq, 42)
		if got, err := openCursor(key, c, "id", tq); err != nil || got != 42 {
			t.Fatalf("round trip of %q: got %d, %v; want 42", c, got, err)
		}
		if _, err := openCursor(key, c, "other", tq); !errors.Is(err, errBadCursor) {
			t.Fatalf("cursor for id opened for other: %v", err)
		}
	})
}
