package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"runtime"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// postgresDialect is PostgreSQL's: transactions run at READ COMMITTED, so
// a transaction that replaces a record's hits locks the record's row, and
// FindOrCreate locks its key with a transaction advisory lock; its text
// holds valid UTF-8 alone.
var postgresDialect = &dialect{
	name:      "postgres",
	goose:     goose.DialectPostgres,
	numbered:  true,
	forUpdate: " FOR UPDATE",
	utf8Only:  true,
	lockKey: func(ctx context.Context, tx *sql.Tx, k Key) error {
		_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", keyLockID(k))
		return err
	},
}

// keyLockID is the advisory lock of the records k finds: the head of
// sha256 over the key without its digest (a key with a digest and one
// without may find the same records).
func keyLockID(k Key) int64 {
	return int64(binary.BigEndian.Uint64(fieldsHash("find-or-create", k.Ecosystem, k.Name, k.Version, k.Rules)))
}

// OpenPostgres opens the PostgreSQL database that dsn names (a libpq
// connection URL or key=value string, as pgx parses it; the database must
// exist) and brings its schema up to date with the embedded migrations
// (store/migrations/postgres, see doc.go). Any number of processes on any
// number of hosts may open the same database.
//
// The records, indexes and semantics are SQLite's (see OpenSQLite), and so
// is every query: through database/sql and pgx, with $n placeholders.
// Connections that break (a restarted server) are replaced by the pool; a
// statement that was running on one fails and is retried by its caller
// like any other infrastructure failure.
func OpenPostgres(ctx context.Context, dsn string) (Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w: %w", ErrDSN, err)
	}
	return openPostgres(ctx, cfg)
}

// openPostgres is OpenPostgres of a parsed address.
func openPostgres(ctx context.Context, cfg *pgx.ConnConfig) (Store, error) {
	db := stdlib.OpenDB(*cfg)
	n := max(8, 4*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	s := &sqlStore{d: postgresDialect, w: db, r: db}
	st, err := s.open(ctx, func() error { return migrate(ctx, db, postgresDialect) })
	if err != nil {
		return nil, fmt.Errorf("open postgres %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	return st, nil
}
