package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// migrationFiles are the schema migrations of each dialect, goose SQL
// files migrations/DIALECT/NNNN_what.sql (see doc.go).
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// versionTable is goose's table of applied migrations.
const versionTable = "goose_db_version"

// migrationLockID is the Postgres advisory lock that openers of one
// database hold while migrating it: the head of sha256("fumehood
// migrations").
const migrationLockID = 0x1f0a6d3c52b94e17

// migrationsOf returns the embedded migrations of a dialect.
func migrationsOf(d *dialect) (fs.FS, error) {
	sub, err := fs.Sub(migrationFiles, "migrations/"+d.name)
	if err != nil {
		return nil, fmt.Errorf("migrations of %s: %w", d.name, err)
	}
	return sub, nil
}

// newMigrator returns the goose provider that migrates db. On Postgres it
// holds a session advisory lock while it migrates, so that openers on any
// number of hosts take turns; SQLite openers take turns on a file lock
// instead (migrateLocked), since goose has no lock for SQLite.
func newMigrator(db *sql.DB, d *dialect) (*goose.Provider, error) {
	fsys, err := migrationsOf(d)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
	if d.goose == goose.DialectPostgres {
		// Try every second for ten minutes: a migration of a large table
		// may take that long, and a waiting opener has nothing else to do.
		l, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 600))
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	p, err := goose.NewProvider(d.goose, db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations of %s: %w", d.name, err)
	}
	return p, nil
}

// migrate brings db up to the newest embedded schema of its dialect, each
// migration in its own transaction together with its row in the version
// table, so that a failed migration leaves the previous schema intact. A
// database newer than this binary is refused with ErrSchema. Callers
// serialise concurrent openers (see newMigrator).
func migrate(ctx context.Context, db *sql.DB, d *dialect) error {
	p, err := newMigrator(db, d)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	srcs := p.ListSources()
	if newest := srcs[len(srcs)-1].Version; cur > newest {
		return fmt.Errorf("database schema version %d is newer than this binary's %d: %w", cur, newest, ErrSchema)
	}
	return nil
}

// adoptUserVersion hands a SQLite database that the store's earlier
// migration runner made over to goose: that runner recorded the number of
// the last migration applied in PRAGMA user_version. When it is set and
// there is no version table yet, this creates the table with migrations 1
// to user_version marked applied and sets user_version to 0, in one
// transaction. (A binary of that earlier runner then refuses the database:
// its first migration finds the tables it creates.)
func adoptUserVersion(ctx context.Context, db *sql.DB) (retErr error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("adopt schema version: %w", err)
	}
	defer func() {
		if retErr != nil {
			tx.Rollback()
		}
	}()
	var legacy int64
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&legacy); err != nil {
		return fmt.Errorf("adopt schema version: %w", err)
	}
	if legacy == 0 {
		return tx.Rollback()
	}
	vs, err := database.NewStore(goose.DialectSQLite3, versionTable)
	if err != nil {
		return fmt.Errorf("adopt schema version: %w", err)
	}
	var tables int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", versionTable).Scan(&tables); err != nil {
		return fmt.Errorf("adopt schema version: %w", err)
	}
	if tables > 0 {
		return tx.Rollback()
	}
	if err := vs.CreateVersionTable(ctx, tx); err != nil {
		return fmt.Errorf("adopt schema version %d: %w", legacy, err)
	}
	for v := range legacy + 1 { // goose's version 0 marks an initialised table
		if err := vs.Insert(ctx, tx, database.InsertRequest{Version: v}); err != nil {
			return fmt.Errorf("adopt schema version %d: %w", legacy, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = 0"); err != nil {
		return fmt.Errorf("adopt schema version %d: %w", legacy, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("adopt schema version %d: %w", legacy, err)
	}
	return nil
}
