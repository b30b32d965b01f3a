package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Firewall is the registry firewall's state (package proxy): the digests
// of the tarballs it served, the admins' overrides and the audit log. It
// also reads the registry records admission rests on. The SQLite store
// implements it; a store that does not cannot back a firewall.
type Firewall interface {
	// SeeTarball records t as the bytes of its version the first time a
	// version is seen, and returns the record that stands: t, or the one
	// an earlier sight made (compare digests to tell).
	SeeTarball(ctx context.Context, t Tarball) (Tarball, error)
	// Tarballs returns the recorded tarballs of a package.
	Tarballs(ctx context.Context, ecosystem, name string) ([]Tarball, error)
	// RegistryRecords returns every registry record of a package, of any
	// status and rule set, newest first: identity, status, verdict, hits,
	// coverage, error and times (no phases, no sandbox).
	RegistryRecords(ctx context.Context, ecosystem, name string) ([]*Record, error)
	// InLockfile reports whether a lockfile batch submitted to the farm
	// named the package (an analysis of it is an item of such a batch).
	InLockfile(ctx context.Context, ecosystem, name string) (bool, error)

	// AddOverride stores o under a new id, created now; o is updated.
	AddOverride(ctx context.Context, o *Override) error
	// Overrides returns the overrides of a package (of every package when
	// name is ""), newest first.
	Overrides(ctx context.Context, ecosystem, name string) ([]Override, error)
	// DeleteOverride removes an override: ErrNotFound if there is none.
	DeleteOverride(ctx context.Context, id string) error

	// FeedSeq returns where the changes feed named feed stands ("" when
	// it was never followed); SetFeedSeq records it.
	FeedSeq(ctx context.Context, feed string) (string, error)
	SetFeedSeq(ctx context.Context, feed, seq string) error

	// AppendAudit stores audit entries (ids and missing times are set).
	AppendAudit(ctx context.Context, es []AuditEntry) error
	// Audit returns the entries q selects, newest first.
	Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// Tarball is a version's bytes as the firewall first saw them: an npm
// version's tarball, or one of a PyPI version's files.
type Tarball struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	// Version is the npm version; for PyPI the file's name, which says
	// its version (a version has many files, and an index never reuses a
	// file name).
	Version   string    `json:"version"`
	Digest    string    `json:"digest"`    // sha256 of the bytes, "sha256:<hex>"
	Integrity string    `json:"integrity"` // the registry's integrity they matched
	FirstSeen time.Time `json:"first_seen"`
}

// Override actions.
const (
	Allow = "allow"
	Deny  = "deny"
)

// Override is an admin's decision on a package's versions that the
// firewall's policy follows whatever the analyses say.
type Override struct {
	ID        string    `json:"id"`
	Ecosystem string    `json:"ecosystem"`
	Name      string    `json:"name"`
	Versions  string    `json:"versions"` // "" every version; a version; a semver range
	Action    string    `json:"action"`   // Allow or Deny
	Reason    string    `json:"reason"`
	Who       string    `json:"who"`
	Created   time.Time `json:"created"`
}

// AuditEntry is one decision of the firewall on one request.
type AuditEntry struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	Who       string    `json:"who"` // the client (address, or token name when reads need one)
	Ecosystem string    `json:"ecosystem"`
	Name      string    `json:"name"`
	Version   string    `json:"version,omitempty"`
	Request   string    `json:"request"` // packument, tarball
	State     string    `json:"state"`   // admitted, held, blocked
	Reason    string    `json:"reason"`
	Analysis  string    `json:"analysis,omitempty"` // the analysis id the decision rests on
}

// AuditQuery selects audit entries; zero fields do not filter.
type AuditQuery struct {
	Ecosystem, Name, State string
	Since                  time.Time
	Limit                  int // 0 = 100, at most MaxLimit
}

func (s *sqlStore) SeeTarball(ctx context.Context, t Tarball) (Tarball, error) {
	if t.FirstSeen.IsZero() {
		t.FirstSeen = time.Now().UTC()
	}
	if _, err := s.exec(ctx, s.w, `INSERT INTO firewall_tarballs (ecosystem, name, version, digest, integrity, first_seen)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ecosystem, name, version) DO NOTHING`,
		t.Ecosystem, t.Name, t.Version, t.Digest, t.Integrity, nanos(t.FirstSeen)); err != nil {
		return Tarball{}, fmt.Errorf("see tarball %s@%s: %w", t.Name, t.Version, err)
	}
	got := Tarball{Ecosystem: t.Ecosystem, Name: t.Name, Version: t.Version}
	var first int64
	if err := s.queryRow(ctx, s.w, `SELECT digest, integrity, first_seen FROM firewall_tarballs
		WHERE ecosystem = ? AND name = ? AND version = ?`, t.Ecosystem, t.Name, t.Version).
		Scan(&got.Digest, &got.Integrity, &first); err != nil {
		return Tarball{}, fmt.Errorf("see tarball %s@%s: %w", t.Name, t.Version, err)
	}
	got.FirstSeen = fromNanos(first)
	return got, nil
}

func (s *sqlStore) InLockfile(ctx context.Context, ecosystem, name string) (bool, error) {
	rows, err := s.query(ctx, s.r, `SELECT 1 FROM analyses a
		JOIN batch_items i ON i.analysis_id = a.id
		JOIN batches b ON b.id = i.batch_id
		WHERE a.ecosystem = ? AND a.name = ? AND b.kind = 'lockfile' LIMIT 1`, ecosystem, name)
	if err != nil {
		return false, fmt.Errorf("lockfiles naming %s: %w", name, err)
	}
	defer rows.Close()
	found := rows.Next()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("lockfiles naming %s: %w", name, err)
	}
	return found, nil
}

func (s *sqlStore) Tarballs(ctx context.Context, ecosystem, name string) ([]Tarball, error) {
	rows, err := s.query(ctx, s.r, `SELECT version, digest, integrity, first_seen FROM firewall_tarballs
		WHERE ecosystem = ? AND name = ?`, ecosystem, name)
	if err != nil {
		return nil, fmt.Errorf("tarballs of %s: %w", name, err)
	}
	defer rows.Close()
	var out []Tarball
	for rows.Next() {
		t := Tarball{Ecosystem: ecosystem, Name: name}
		var first int64
		if err := rows.Scan(&t.Version, &t.Digest, &t.Integrity, &first); err != nil {
			return nil, fmt.Errorf("tarballs of %s: %w", name, err)
		}
		t.FirstSeen = fromNanos(first)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tarballs of %s: %w", name, err)
	}
	return out, nil
}

// RegistryRecords reads only what admission needs (identity, status,
// verdict, hits, coverage, times): a firewall asks for it on every
// request. Phases and sandbox are left empty.
func (s *sqlStore) RegistryRecords(ctx context.Context, ecosystem, name string) ([]*Record, error) {
	rows, err := s.query(ctx, s.r, `SELECT id, version, digest, rules, status, verdict, score, error, spec, artifact,
			submitted, finished, hits, coverage
		FROM analyses WHERE ecosystem = ? AND name = ? AND source = 'registry'
		ORDER BY submitted DESC, seq DESC`, ecosystem, name)
	if err != nil {
		return nil, fmt.Errorf("registry records of %s: %w", name, err)
	}
	defer rows.Close()
	var out []*Record
	for rows.Next() {
		r := &Record{Source: FromRegistry}
		r.Package.Ecosystem, r.Package.Name = ecosystem, name
		var (
			submitted, finished int64
			hits, coverage      string
		)
		if err := rows.Scan(&r.ID, &r.Package.Version, &r.Package.Digest, &r.Rules, &r.Status, &r.Verdict, &r.Score,
			&r.Error, &r.Spec, &r.Artifact, &submitted, &finished, &hits, &coverage); err != nil {
			return nil, fmt.Errorf("registry records of %s: %w", name, err)
		}
		r.Submitted, r.Finished = fromNanos(submitted), fromNanos(finished)
		if err := errors.Join(json.Unmarshal([]byte(hits), &r.Hits), json.Unmarshal([]byte(coverage), &r.Coverage)); err != nil {
			return nil, fmt.Errorf("registry records of %s: record %s: %w", name, r.ID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry records of %s: %w", name, err)
	}
	return out, nil
}

func (s *sqlStore) AddOverride(ctx context.Context, o *Override) error {
	if o.Action != Allow && o.Action != Deny {
		return fmt.Errorf("add override: action %q: want allow or deny", o.Action)
	}
	if o.Ecosystem == "" || o.Name == "" {
		return errors.New("add override: no package")
	}
	o.ID, o.Created = uuid.NewString(), time.Now().UTC()
	if _, err := s.exec(ctx, s.w, `INSERT INTO firewall_overrides (id, ecosystem, name, versions, action, reason, who, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, o.ID, o.Ecosystem, o.Name, o.Versions, o.Action, o.Reason, o.Who, nanos(o.Created)); err != nil {
		return fmt.Errorf("add override: %w", err)
	}
	return nil
}

func (s *sqlStore) Overrides(ctx context.Context, ecosystem, name string) ([]Override, error) {
	q := `SELECT id, ecosystem, name, versions, action, reason, who, created FROM firewall_overrides`
	var args []any
	if name != "" {
		q += ` WHERE ecosystem = ? AND name = ?`
		args = append(args, ecosystem, name)
	}
	rows, err := s.query(ctx, s.r, q+` ORDER BY created DESC, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("overrides: %w", err)
	}
	defer rows.Close()
	var out []Override
	for rows.Next() {
		var (
			o       Override
			created int64
		)
		if err := rows.Scan(&o.ID, &o.Ecosystem, &o.Name, &o.Versions, &o.Action, &o.Reason, &o.Who, &created); err != nil {
			return nil, fmt.Errorf("overrides: %w", err)
		}
		o.Created = fromNanos(created)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("overrides: %w", err)
	}
	return out, nil
}

func (s *sqlStore) DeleteOverride(ctx context.Context, id string) error {
	return s.update(ctx, "delete override", id, "DELETE FROM firewall_overrides WHERE id = ?", id)
}

func (s *sqlStore) FeedSeq(ctx context.Context, feed string) (string, error) {
	var seq string
	err := s.queryRow(ctx, s.r, "SELECT seq FROM firewall_feeds WHERE feed = ?", feed).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("feed %s: %w", feed, err)
	}
	return seq, nil
}

func (s *sqlStore) SetFeedSeq(ctx context.Context, feed, seq string) error {
	if _, err := s.exec(ctx, s.w, `INSERT INTO firewall_feeds (feed, seq, updated) VALUES (?, ?, ?)
		ON CONFLICT (feed) DO UPDATE SET seq = excluded.seq, updated = excluded.updated`, feed, seq, now()); err != nil {
		return fmt.Errorf("feed %s: %w", feed, err)
	}
	return nil
}

func (s *sqlStore) AppendAudit(ctx context.Context, es []AuditEntry) (retErr error) {
	if len(es) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer func() {
		if retErr != nil {
			tx.Rollback()
		}
	}()
	st, err := s.prepare(ctx, tx, `INSERT INTO firewall_audit (id, at, who, ecosystem, name, version, request, state, reason, analysis)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer st.Close()
	for i := range es {
		e := &es[i]
		if e.ID == "" {
			e.ID = uuid.NewString()
		}
		if e.At.IsZero() {
			e.At = time.Now().UTC()
		}
		if _, err := st.ExecContext(ctx, s.d.textArgs([]any{e.ID, nanos(e.At), e.Who, e.Ecosystem, e.Name, e.Version, e.Request, e.State, e.Reason, e.Analysis})...); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func (s *sqlStore) Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	var (
		where []string
		args  []any
	)
	for _, f := range []struct{ col, v string }{{"ecosystem", q.Ecosystem}, {"name", q.Name}, {"state", q.State}} {
		if f.v != "" {
			where, args = append(where, f.col+" = ?"), append(args, f.v)
		}
	}
	if !q.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, q.Since.UnixNano())
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	query := `SELECT id, at, who, ecosystem, name, version, request, state, reason, analysis FROM firewall_audit`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.query(ctx, s.r, query+" ORDER BY at DESC, id DESC LIMIT ?", append(args, min(limit, MaxLimit))...)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var (
			e  AuditEntry
			at int64
		)
		if err := rows.Scan(&e.ID, &at, &e.Who, &e.Ecosystem, &e.Name, &e.Version, &e.Request, &e.State, &e.Reason, &e.Analysis); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		e.At = fromNanos(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}
