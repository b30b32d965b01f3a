package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/pressly/goose/v3"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, "sqlite"
)

// sqliteParams configure every connection: WAL (readers never wait for the
// writer), a busy timeout for writers of other processes, synchronous=NORMAL
// (WAL's recommended setting: a committed transaction survives a crash of
// the process; a power loss may roll back the last ones, never corrupt),
// foreign keys on, and transactions that take the write lock when they begin
// (no deadlocking lock upgrades between processes).
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"

// sqliteDialect is SQLite's: write transactions take the database's write
// lock when they begin (_txlock=immediate), so they need no row or key
// locks.
var sqliteDialect = &dialect{name: "sqlite", goose: goose.DialectSQLite3}

// OpenSQLite opens (creating it if needed) the SQLite database at path and
// brings its schema up to date with the embedded migrations
// (store/migrations/sqlite, see doc.go). Any number of processes may open
// the same file; writes wait for each other up to a busy timeout.
//
// Records are listed newest first by (Submitted, insertion order); every
// List filter has an index, the rule filter through a table of (rule,
// analysis) pairs. FindOrCreate matches only records of the key's source:
// with an empty Key.Digest of any digest, with a digest that digest
// exactly. Versions returns, per version, the newest done registry record
// (or the newest one if none is done), and so, apart, for each uploaded
// artifact of that version. CancelBatch cancels the queued analyses the batch
// created (Record.BatchID), not de-duplicated items other submissions own.
//
// The database is written through a single connection (SQLite has one
// writer at a time; queuing writers in the pool is cheaper than spinning on
// the busy timeout) and read through a pool of read-only connections.
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// A file: URI, so that any path (even one with '?' or '#') is a path.
	u := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + sqliteParams
	w, err := sql.Open("sqlite", u)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", u+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	r.SetMaxIdleConns(max(4, runtime.GOMAXPROCS(0)))
	s := &sqlStore{d: sqliteDialect, w: w, r: r}
	st, err := s.open(ctx, func() error { return migrateLocked(ctx, w, abs) })
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return st, nil
}

// migrateLocked migrates db (adopting the schema version of the store's
// earlier migration runner first) while holding an exclusive flock on
// path+".lock".
// SQLite's busy timeout does not cover every lock a fresh database takes
// (switching a new file to WAL returns SQLITE_BUSY at once to a concurrent
// opener), so openers of one file, in this process or others, take turns.
// The lock is a separate file: closing any descriptor of the database file
// itself would drop the POSIX locks SQLite holds on it.
func migrateLocked(ctx context.Context, db *sql.DB, path string) error {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	if err := adoptUserVersion(ctx, db); err != nil {
		return err
	}
	return migrate(ctx, db, sqliteDialect)
}
