// Package store keeps analyses, batches, tokens and traces: the records in
// a database behind the Store interface (SQLite by default, embedded, WAL)
// and traces and artifacts in a content-addressed Blobs store (a local
// directory by default, compressed).
//
// It imports only analysis and trace.
//
// # Migrations
//
// The schema is a sequence of goose migrations (github.com/pressly/goose),
// embedded in the binary, one directory per database:
//
//	migrations/sqlite/NNNN_what.sql
//	migrations/postgres/NNNN_what.sql
//
// Every migration exists in both directories under the same number and
// name (TestMigrationLayout), starts with a "-- +goose Up" line and has no
// Down part: a schema only moves forward, and a database whose schema is
// newer than the binary is refused (ErrSchema). Goose applies each
// migration in a transaction together with its row in goose_db_version.
// Openers of one database take turns: on SQLite they hold a flock on
// DB.lock (goose has no lock for SQLite, and a fresh file's switch to WAL
// is not covered by SQLite's busy timeout); on PostgreSQL goose holds a
// session advisory lock, so openers on any number of hosts wait for one
// another.
//
// SQLite databases of the store's earlier, hand-written runner recorded
// their schema version in PRAGMA user_version. The first open by this
// binary moves that number into goose's table (migrations 1 to N applied)
// and sets user_version to 0, in one transaction under the flock.
package store
