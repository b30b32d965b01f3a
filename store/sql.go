package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pressly/goose/v3"

	"github.com/fumehood/fumehood/analysis"
)

// sqlStore is the Store on a SQL database: the queries are shared, written
// with ? placeholders, and what differs between databases is its dialect.
// Writes go through w, reads through r (the same pool where the database
// needs no split).
type sqlStore struct {
	d      *dialect
	w, r   *sql.DB
	cursor cursorSigner
}

// dialect is what differs between the SQL databases the store runs on.
type dialect struct {
	name  string        // the directory of its migrations, migrations/NAME
	goose goose.Dialect // its dialect in the migration library
	// numbered turns ? placeholders into $1, $2, ...
	numbered bool
	// forUpdate ends a SELECT in a write transaction that must lock the
	// rows it reads ("" where a write transaction locks the database).
	forUpdate string
	// lockKey, when set, serialises FindOrCreate transactions of one
	// Key (none where a write transaction locks the database).
	lockKey func(ctx context.Context, tx *sql.Tx, k Key) error
	// utf8Only is a database whose text holds valid UTF-8 without NUL
	// bytes alone (see textArgs).
	utf8Only bool
}

// q returns query in the dialect's placeholders. Queries hold no ? but
// their placeholders.
func (d *dialect) q(query string) string {
	if !d.numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// exec, query, queryRow and prepare run a query of ours, in the dialect's
// placeholders, on x, with its text arguments made storable (textArgs).
func (s *sqlStore) exec(ctx context.Context, x querier, query string, args ...any) (sql.Result, error) {
	return x.ExecContext(ctx, s.d.q(query), s.d.textArgs(args)...)
}

func (s *sqlStore) query(ctx context.Context, x querier, query string, args ...any) (*sql.Rows, error) {
	return x.QueryContext(ctx, s.d.q(query), s.d.textArgs(args)...)
}

func (s *sqlStore) queryRow(ctx context.Context, x querier, query string, args ...any) *sql.Row {
	return x.QueryRowContext(ctx, s.d.q(query), s.d.textArgs(args)...)
}

// textArgs returns args made storable in the dialect's text columns. On a
// utf8Only database (PostgreSQL refuses invalid UTF-8 and NUL bytes in a
// text column) every string, of any string type, has such bytes replaced
// by U+FFFD: much of what is stored comes from packages (names, versions,
// failure reasons), and a package could otherwise make its own analysis
// impossible to record. SQLite stores the bytes as given, which the
// analyst pages show escaped.
func (d *dialect) textArgs(args []any) []any {
	if !d.utf8Only {
		return args
	}
	for i, a := range args {
		v := reflect.ValueOf(a)
		if v.Kind() != reflect.String {
			continue
		}
		if str := v.String(); !utf8.ValidString(str) || strings.IndexByte(str, 0) >= 0 {
			args[i] = strings.ReplaceAll(strings.ToValidUTF8(str, "\uFFFD"), "\x00", "\uFFFD")
		}
	}
	return args
}

func (s *sqlStore) prepare(ctx context.Context, x querier, query string) (*sql.Stmt, error) {
	return x.PrepareContext(ctx, s.d.q(query))
}

// open finishes opening s: it migrates the database with migrateDB and
// reads the cursor key. It closes s when it fails.
func (s *sqlStore) open(ctx context.Context, migrateDB func() error) (_ Store, retErr error) {
	defer func() {
		if retErr != nil {
			s.Close()
		}
	}()
	if err := migrateDB(); err != nil {
		return nil, err
	}
	key, err := s.Secret(ctx, "cursor-key")
	if err != nil {
		return nil, err
	}
	s.cursor = cursorSigner{key: key}
	return s, nil
}

// Secret returns the random 32-byte value stored under name, creating it
// the first time; all processes sharing the database read the same one.
func (s *sqlStore) Secret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	rand.Read(fresh)
	if _, err := s.exec(ctx, s.w, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", name, fresh); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	var v []byte
	if err := s.queryRow(ctx, s.w, "SELECT value FROM meta WHERE key = ?", name).Scan(&v); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}

func (s *sqlStore) Close() error {
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// recordCols are the columns scanRecord reads, in its order.
const recordCols = `a.seq, a.id, a.ecosystem, a.name, a.version, a.digest, a.rules, a.status, a.verdict, a.score,
	a.error, a.spec, a.artifact, a.trace_digest, a.batch_id, a.webhook, a.submitted, a.updated, a.started,
	a.finished, a.attempts, a.hits, a.phases, a.sandbox, a.coverage, a.source, a.uploader,
	a.source = 'upload' AND EXISTS (SELECT 1 FROM analyses g WHERE g.ecosystem = a.ecosystem
		AND g.name = a.name AND g.version = a.version AND g.source = 'registry')`

type scanner interface{ Scan(dest ...any) error }

// scanRecord reads one row of recordCols; it also returns the row's seq.
func scanRecord(sc scanner) (*Record, int64, error) {
	var (
		r                                     Record
		seq                                   int64
		submitted, updated, started, finished int64
		hits, phases, sandbox, coverage       string
	)
	err := sc.Scan(&seq, &r.ID, &r.Package.Ecosystem, &r.Package.Name, &r.Package.Version, &r.Package.Digest,
		&r.Rules, &r.Status, &r.Verdict, &r.Score, &r.Error, &r.Spec, &r.Artifact, &r.TraceDigest, &r.BatchID,
		&r.Webhook, &submitted, &updated, &started, &finished, &r.Attempts, &hits, &phases, &sandbox, &coverage,
		&r.Source, &r.UploadedBy, &r.ClaimsRegistry)
	if err != nil {
		return nil, 0, err
	}
	r.Submitted, r.Updated = fromNanos(submitted), fromNanos(updated)
	r.Started, r.Finished = fromNanos(started), fromNanos(finished)
	if err := json.Unmarshal([]byte(hits), &r.Hits); err != nil {
		return nil, 0, fmt.Errorf("record %s: hits: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(phases), &r.Phases); err != nil {
		return nil, 0, fmt.Errorf("record %s: phases: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(sandbox), &r.Sandbox); err != nil {
		return nil, 0, fmt.Errorf("record %s: sandbox: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(coverage), &r.Coverage); err != nil {
		return nil, 0, fmt.Errorf("record %s: coverage: %w", r.ID, err)
	}
	return &r, seq, nil
}

// nanos stores t as Unix nanoseconds, the zero time as 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func now() int64 { return time.Now().UnixNano() }

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// Create stores r. A record without a status is stored queued, one without
// a submission time is submitted now; r is updated with what was stored.
func (s *sqlStore) Create(ctx context.Context, r *Record) (retErr error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create record %s: %w", r.ID, err)
	}
	defer func() {
		if retErr != nil {
			tx.Rollback()
		}
	}()
	if err := s.insert(ctx, tx, r); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create record %s: %w", r.ID, err)
	}
	return nil
}

// FindOrCreate runs find and Create in one write transaction that no other
// FindOrCreate of the same key runs beside, in this process or another:
// SQLite transactions here take the database's write lock when they begin
// (_txlock=immediate); on other databases the dialect locks the key first.
func (s *sqlStore) FindOrCreate(ctx context.Context, k Key, r *Record) (_ *Record, existing bool, retErr error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, fmt.Errorf("create record %s: %w", r.ID, err)
	}
	defer func() {
		if retErr != nil || existing {
			tx.Rollback()
		}
	}()
	if s.d.lockKey != nil {
		if err := s.d.lockKey(ctx, tx, k); err != nil {
			return nil, false, fmt.Errorf("create record %s: lock key: %w", r.ID, err)
		}
	}
	old, err := s.find(ctx, tx, k)
	if err == nil {
		return old, true, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	if err := s.insert(ctx, tx, r); err != nil {
		return nil, false, err
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fmt.Errorf("create record %s: %w", r.ID, err)
	}
	return r, false, nil
}

// insert stores r in tx (see Create).
func (s *sqlStore) insert(ctx context.Context, tx *sql.Tx, r *Record) error {
	if r.ID == "" {
		return errors.New("create record: no id")
	}
	if r.Status == "" {
		r.Status = Queued
	}
	switch r.Source {
	case "":
		r.Source = FromRegistry
	case FromRegistry, FromUpload:
	default:
		return fmt.Errorf("create record %s: unknown source %q", r.ID, r.Source)
	}
	t := time.Now().UTC()
	if r.Submitted.IsZero() {
		r.Submitted = t
	}
	r.Updated = t
	hits, err := jsonText(r.Hits)
	if err != nil {
		return fmt.Errorf("create record %s: %w", r.ID, err)
	}
	phases, err := jsonText(r.Phases)
	if err != nil {
		return fmt.Errorf("create record %s: %w", r.ID, err)
	}
	sandbox, err := jsonText(r.Sandbox)
	if err != nil {
		return fmt.Errorf("create record %s: %w", r.ID, err)
	}
	coverage, err := jsonText(r.Coverage)
	if err != nil {
		return fmt.Errorf("create record %s: %w", r.ID, err)
	}
	var seq int64
	err = s.queryRow(ctx, tx, `INSERT INTO analyses (id, ecosystem, name, version, digest, rules, status,
		verdict, score, error, spec, artifact, trace_digest, batch_id, webhook, submitted, updated, started,
		finished, attempts, hits, phases, sandbox, coverage, source, uploader)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING RETURNING seq`,
		r.ID, r.Package.Ecosystem, r.Package.Name, r.Package.Version, r.Package.Digest, r.Rules, r.Status,
		r.Verdict, r.Score, r.Error, r.Spec, r.Artifact, r.TraceDigest, r.BatchID, r.Webhook,
		nanos(r.Submitted), nanos(r.Updated), nanos(r.Started), nanos(r.Finished), r.Attempts, hits, phases, sandbox, coverage,
		r.Source, r.UploadedBy).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("create record %s: %w", r.ID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create record %s: %w", r.ID, err)
	}
	if err := s.insertHits(ctx, tx, seq, nanos(r.Submitted), r.Hits); err != nil {
		return fmt.Errorf("create record %s: %w", r.ID, err)
	}
	return nil
}

// insertHits indexes the rules of hits for the record seq.
func (s *sqlStore) insertHits(ctx context.Context, tx *sql.Tx, seq, submitted int64, hits []analysis.Hit) error {
	for _, h := range hits {
		if _, err := s.exec(ctx, tx, "INSERT INTO hits (rule, submitted, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			h.Rule, submitted, seq); err != nil {
			return fmt.Errorf("index hit %s: %w", h.Rule, err)
		}
	}
	return nil
}

// replaceHits re-indexes the record with id: it returns ErrNotFound when
// there is none. It locks the record's row for the rest of tx, so that two
// transactions replacing its hits do not interleave.
func (s *sqlStore) replaceHits(ctx context.Context, tx *sql.Tx, id string, hits []analysis.Hit) error {
	var seq, submitted int64
	err := s.queryRow(ctx, tx, "SELECT seq, submitted FROM analyses WHERE id = ?"+s.d.forUpdate, id).Scan(&seq, &submitted)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, tx, "DELETE FROM hits WHERE seq = ?", seq); err != nil {
		return err
	}
	return s.insertHits(ctx, tx, seq, submitted, hits)
}

// find returns the newest record with key k that is not failed.
func (s *sqlStore) find(ctx context.Context, tx *sql.Tx, k Key) (*Record, error) {
	source := k.Source
	if source == "" {
		source = FromRegistry
	}
	q := `SELECT ` + recordCols + ` FROM analyses a
		WHERE a.ecosystem = ? AND a.name = ? AND a.version = ? AND a.rules = ? AND a.source = ? AND a.status != 'failed'`
	args := []any{k.Ecosystem, k.Name, k.Version, k.Rules, source}
	if k.Digest != "" {
		q += ` AND a.digest = ?`
		args = append(args, k.Digest)
	}
	q += ` ORDER BY a.submitted DESC, a.seq DESC LIMIT 1`
	r, _, err := scanRecord(s.queryRow(ctx, tx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("find %s:%s@%s: %w", k.Ecosystem, k.Name, k.Version, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("find %s:%s@%s: %w", k.Ecosystem, k.Name, k.Version, err)
	}
	return r, nil
}

func (s *sqlStore) Get(ctx context.Context, id string) (*Record, error) {
	r, _, err := scanRecord(s.queryRow(ctx, s.r, `SELECT `+recordCols+` FROM analyses a WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get record %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get record %s: %w", id, err)
	}
	return r, nil
}

// update runs one UPDATE of the record id and turns "no row" into
// ErrNotFound.
func (s *sqlStore) update(ctx context.Context, what, id, query string, args ...any) error {
	res, err := s.exec(ctx, s.w, query, args...)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	} else if n == 0 {
		return fmt.Errorf("%s %s: %w", what, id, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) Start(ctx context.Context, id string) error {
	return s.update(ctx, "start", id,
		"UPDATE analyses SET status = 'running', attempts = attempts + 1, updated = ? WHERE id = ?", now(), id)
}

func (s *sqlStore) Fail(ctx context.Context, id, reason string) error {
	return s.update(ctx, "fail", id,
		"UPDATE analyses SET status = 'failed', error = ?, updated = ? WHERE id = ?", reason, now(), id)
}

// Complete stores a as the finished analysis a.ID. Package fields left
// empty in a keep their stored values.
func (s *sqlStore) Complete(ctx context.Context, a *analysis.Analysis, traceDigest string) (retErr error) {
	hits, err := jsonText(a.Hits)
	if err != nil {
		return fmt.Errorf("complete %s: %w", a.ID, err)
	}
	phases, err := jsonText(a.Phases)
	if err != nil {
		return fmt.Errorf("complete %s: %w", a.ID, err)
	}
	sandbox, err := jsonText(a.Sandbox)
	if err != nil {
		return fmt.Errorf("complete %s: %w", a.ID, err)
	}
	coverage, err := jsonText(a.Coverage)
	if err != nil {
		return fmt.Errorf("complete %s: %w", a.ID, err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("complete %s: %w", a.ID, err)
	}
	defer func() {
		if retErr != nil {
			tx.Rollback()
		}
	}()
	if err := s.replaceHits(ctx, tx, a.ID, a.Hits); err != nil {
		return fmt.Errorf("complete %s: %w", a.ID, err)
	}
	_, err = s.exec(ctx, tx, `UPDATE analyses SET
		ecosystem = coalesce(nullif(?, ''), ecosystem), name = coalesce(nullif(?, ''), name),
		version = coalesce(nullif(?, ''), version), digest = coalesce(nullif(?, ''), digest),
		rules = ?, status = 'done', verdict = ?, score = ?, error = '', trace_digest = ?, updated = ?,
		started = ?, finished = ?, hits = ?, phases = ?, sandbox = ?, coverage = ?
		WHERE id = ?`,
		a.Package.Ecosystem, a.Package.Name, a.Package.Version, a.Package.Digest,
		a.Rules, a.Verdict, a.Score, traceDigest, now(), nanos(a.Started), nanos(a.Finished), hits, phases, sandbox, coverage, a.ID)
	if err != nil {
		return fmt.Errorf("complete %s: %w", a.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("complete %s: %w", a.ID, err)
	}
	return nil
}

func (s *sqlStore) Rejudge(ctx context.Context, id string, verdict analysis.Verdict, score int, hits []analysis.Hit, rules string) (retErr error) {
	js, err := jsonText(hits)
	if err != nil {
		return fmt.Errorf("rejudge %s: %w", id, err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("rejudge %s: %w", id, err)
	}
	defer func() {
		if retErr != nil {
			tx.Rollback()
		}
	}()
	if err := s.replaceHits(ctx, tx, id, hits); err != nil {
		return fmt.Errorf("rejudge %s: %w", id, err)
	}
	if _, err := s.exec(ctx, tx, "UPDATE analyses SET verdict = ?, score = ?, hits = ?, rules = ?, updated = ? WHERE id = ?",
		verdict, score, js, rules, now(), id); err != nil {
		return fmt.Errorf("rejudge %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("rejudge %s: %w", id, err)
	}
	return nil
}

// Page sizes of List.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

func (s *sqlStore) List(ctx context.Context, q Query) ([]*Record, string, error) {
	sqlq, args, limit, err := s.listSQL(q)
	if err != nil {
		return nil, "", fmt.Errorf("list: %w", err)
	}
	rows, err := s.query(ctx, s.r, sqlq, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list: %w", err)
	}
	defer rows.Close()
	var (
		out  []*Record
		last position
	)
	for rows.Next() {
		r, seq, err := scanRecord(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list: %w", err)
		}
		if len(out) == limit {
			return out, s.cursor.encode(q, last), nil
		}
		out = append(out, r)
		last = position{submitted: nanos(r.Submitted), seq: seq}
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list: %w", err)
	}
	return out, "", nil
}

// listSQL is the query of a List page: limit+1 rows, so that a row beyond
// the page tells that there is a next one.
func (s *sqlStore) listSQL(q Query) (query string, args []any, limit int, err error) {
	limit = q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)

	// k is the table whose (submitted, seq) index orders the page.
	from, k := "analyses a", "a"
	var where []string
	if q.Rule != "" {
		from, k = "hits h JOIN analyses a ON a.seq = h.seq", "h"
		where, args = append(where, "h.rule = ?"), append(args, q.Rule)
	}
	if q.Batch != "" {
		// A batch's items, including the analyses of other submissions
		// it de-duplicated onto.
		from += " JOIN batch_items i ON i.analysis_id = a.id"
		where, args = append(where, "i.batch_id = ?"), append(args, q.Batch)
	}
	for _, f := range []struct{ col, v string }{
		{"a.ecosystem", q.Ecosystem}, {"a.name", q.Name}, {"a.verdict", string(q.Verdict)}, {"a.status", string(q.Status)},
	} {
		if f.v != "" {
			where, args = append(where, f.col+" = ?"), append(args, f.v)
		}
	}
	if !q.Since.IsZero() {
		where, args = append(where, k+".submitted >= ?"), append(args, q.Since.UnixNano())
	}
	if q.Cursor != "" {
		p, err := s.cursor.decode(q)
		if err != nil {
			return "", nil, 0, err
		}
		where = append(where, "("+k+".submitted, "+k+".seq) < (?, ?)")
		args = append(args, p.submitted, p.seq)
	}
	query = "SELECT " + recordCols + " FROM " + from
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY " + k + ".submitted DESC, " + k + ".seq DESC LIMIT ?"
	return query, append(args, limit+1), limit, nil
}

func (s *sqlStore) Versions(ctx context.Context, ecosystem, name string) ([]*Record, error) {
	rows, err := s.query(ctx, s.r, `SELECT `+recordCols+` FROM (
			SELECT *, row_number() OVER (PARTITION BY version, source,
					CASE WHEN source = 'upload' THEN artifact ELSE '' END
				ORDER BY status = 'done' DESC, submitted DESC, seq DESC) AS rank
			FROM analyses WHERE ecosystem = ? AND name = ?) a
		WHERE a.rank = 1 ORDER BY a.submitted DESC, a.seq DESC`, ecosystem, name)
	if err != nil {
		return nil, fmt.Errorf("versions %s:%s: %w", ecosystem, name, err)
	}
	defer rows.Close()
	var out []*Record
	for rows.Next() {
		r, _, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("versions %s:%s: %w", ecosystem, name, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("versions %s:%s: %w", ecosystem, name, err)
	}
	return out, nil
}

// CreateBatch stores b and its items (analysis ids; duplicates are
// stored once). A batch without a creation time is created now; b is
// updated with it.
func (s *sqlStore) CreateBatch(ctx context.Context, b *Batch, items []string) (retErr error) {
	if b.ID == "" {
		return errors.New("create batch: no id")
	}
	if b.Created.IsZero() {
		b.Created = time.Now().UTC()
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create batch %s: %w", b.ID, err)
	}
	defer func() {
		if retErr != nil {
			tx.Rollback()
		}
	}()
	res, err := s.exec(ctx, tx, `INSERT INTO batches (id, kind, source, webhook, created, cancelled)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		b.ID, b.Kind, b.Source, b.Webhook, nanos(b.Created), b.Cancelled)
	if err != nil {
		return fmt.Errorf("create batch %s: %w", b.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("create batch %s: %w", b.ID, ErrExists)
	}
	st, err := s.prepare(ctx, tx, "INSERT INTO batch_items (batch_id, analysis_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
	if err != nil {
		return fmt.Errorf("create batch %s: %w", b.ID, err)
	}
	defer st.Close()
	for _, id := range items {
		if _, err := st.ExecContext(ctx, s.d.textArgs([]any{b.ID, id})...); err != nil {
			return fmt.Errorf("create batch %s: item %s: %w", b.ID, id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create batch %s: %w", b.ID, err)
	}
	return nil
}

// GetBatch counts the batch's items by the state of their analyses: done
// (and per verdict), failed, cancelled (failed with reason "cancelled"),
// pending (queued or running, or not created yet).
func (s *sqlStore) GetBatch(ctx context.Context, id string) (*Batch, Progress, error) {
	b := &Batch{ID: id}
	var created int64
	err := s.queryRow(ctx, s.r, "SELECT kind, source, webhook, created, cancelled FROM batches WHERE id = ?", id).
		Scan(&b.Kind, &b.Source, &b.Webhook, &created, &b.Cancelled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Progress{}, fmt.Errorf("get batch %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, Progress{}, fmt.Errorf("get batch %s: %w", id, err)
	}
	b.Created = fromNanos(created)
	rows, err := s.query(ctx, s.r, `SELECT coalesce(a.status, 'queued'), coalesce(a.verdict, ''),
			coalesce(a.error = 'cancelled', false), count(*)
		FROM batch_items i LEFT JOIN analyses a ON a.id = i.analysis_id
		WHERE i.batch_id = ? GROUP BY 1, 2, 3`, id)
	if err != nil {
		return nil, Progress{}, fmt.Errorf("get batch %s: %w", id, err)
	}
	defer rows.Close()
	p := Progress{Verdicts: map[analysis.Verdict]int{}}
	for rows.Next() {
		var (
			status    Status
			verdict   analysis.Verdict
			cancelled bool
			n         int
		)
		if err := rows.Scan(&status, &verdict, &cancelled, &n); err != nil {
			return nil, Progress{}, fmt.Errorf("get batch %s: %w", id, err)
		}
		p.Total += n
		switch {
		case status == Done:
			p.Done += n
			p.Verdicts[verdict] += n
		case status == Failed && cancelled:
			p.Cancelled += n
		case status == Failed:
			p.Failed += n
		default:
			p.Pending += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, Progress{}, fmt.Errorf("get batch %s: %w", id, err)
	}
	return b, p, nil
}

// CancelReason is the Error of an analysis a cancelled batch stopped.
const CancelReason = "cancelled"

func (s *sqlStore) CancelBatch(ctx context.Context, id string) (_ []string, retErr error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("cancel batch %s: %w", id, err)
	}
	defer func() {
		if retErr != nil {
			tx.Rollback()
		}
	}()
	res, err := s.exec(ctx, tx, "UPDATE batches SET cancelled = true WHERE id = ?", id)
	if err != nil {
		return nil, fmt.Errorf("cancel batch %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("cancel batch %s: %w", id, ErrNotFound)
	}
	rows, err := s.query(ctx, tx, `UPDATE analyses SET status = 'failed', error = ?, updated = ?
		WHERE batch_id = ? AND status = 'queued' RETURNING id`, CancelReason, now(), id)
	if err != nil {
		return nil, fmt.Errorf("cancel batch %s: %w", id, err)
	}
	var ids []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cancel batch %s: %w", id, err)
		}
		ids = append(ids, a)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("cancel batch %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("cancel batch %s: %w", id, err)
	}
	return ids, nil
}

func (s *sqlStore) CreateToken(ctx context.Context, hash []byte, role Role, name string) error {
	switch role {
	case RoleRead, RoleSubmit, RoleAdmin:
	default:
		return fmt.Errorf("create token %s: unknown role %q", name, role)
	}
	if len(hash) == 0 {
		return fmt.Errorf("create token %s: empty hash", name)
	}
	// One statement: a name in use (or the same hash) inserts nothing.
	res, err := s.exec(ctx, s.w, `INSERT INTO tokens (hash, role, name, created)
		SELECT ?, ?, ?, ? WHERE ? = '' OR NOT EXISTS (SELECT 1 FROM tokens WHERE name = ?)
		ON CONFLICT DO NOTHING`,
		hash, role, name, now(), name, name)
	if err != nil {
		return fmt.Errorf("create token %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("create token %s: %w", name, ErrExists)
	}
	return nil
}

func (s *sqlStore) Tokens(ctx context.Context) ([]Token, error) {
	rows, err := s.query(ctx, s.r, "SELECT name, role, created FROM tokens ORDER BY created, name")
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var (
			t       Token
			created int64
		)
		if err := rows.Scan(&t.Name, &t.Role, &created); err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		t.Created = fromNanos(created)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return out, nil
}

func (s *sqlStore) RevokeToken(ctx context.Context, name string) error {
	if name == "" {
		return fmt.Errorf("revoke token: no name: %w", ErrNotFound)
	}
	return s.update(ctx, "revoke token", name, "DELETE FROM tokens WHERE name = ?", name)
}

func (s *sqlStore) Token(ctx context.Context, hash []byte) (Token, error) {
	var (
		t       Token
		created int64
	)
	err := s.queryRow(ctx, s.r, "SELECT name, role, created FROM tokens WHERE hash = ?", hash).Scan(&t.Name, &t.Role, &created)
	t.Created = fromNanos(created)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("token: %w", err)
	}
	return t, nil
}
