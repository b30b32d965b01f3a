// Package store keeps analyses, batches, tokens and traces: the records in
// a database behind the Store interface (SQLite by default, embedded, WAL;
// PostgreSQL for a farm on several hosts) and traces and artifacts in a
// content-addressed Blobs store (a local directory by default, compressed;
// a bucket of an S3-compatible object store for a farm). Open takes the
// address of each. The registry firewall's state (first-seen tarball
// digests, admin overrides, the audit log, changes feed sequences) is the
// Firewall interface beside Store, on the same databases.
//
// It imports only analysis and trace (and internal/testenv in tests).
//
// # One store on two databases
//
// SQLite and PostgreSQL share one implementation, sqlStore: the same
// schema (migrations of the same numbers), the same queries written with ?
// placeholders (turned into $n for PostgreSQL), the same Unix-nanosecond
// times and JSON text columns, so that the contract tests, which run
// table-driven against both (forEachStore), test one piece of code. What
// differs is a dialect:
//
//   - SQLite is written through one connection, and its transactions take
//     the database's write lock when they begin, which makes FindOrCreate
//     atomic across processes with no further lock.
//   - PostgreSQL runs at READ COMMITTED through a pool (pgx behind
//     database/sql). FindOrCreate takes a transaction advisory lock on the
//     key (ecosystem, name, version, rules) before it looks, so that
//     submitters on any number of hosts create one analysis per key;
//     Complete and Rejudge lock the record's row before they replace its
//     rule index, so that two completions do not interleave their hits.
//     A restarted server breaks the pool's connections; the pool replaces
//     them and the statement that was running fails like any other
//     infrastructure failure, which the task queue retries.
//
// Text differs in one way: invalid UTF-8 and NUL bytes, which a
// PostgreSQL text column refuses and a package may put in its name or its
// failure, become U+FFFD in every text argument on PostgreSQL, while
// SQLite keeps the bytes as given (the analyst pages show them escaped);
// on both a key finds its record again by the same text (TestText).
//
// Every query the API serves reads an index in both: List pages on an
// index in page order for every filter (TestListPlans: no table scan, no
// sort, on either database), and every other statement of every method
// bounds the first column of the index it reads on PostgreSQL
// (TestPostgresQueryPlans, which records each statement the store sends
// and explains it with sequential scans disabled).
//
// # Blobs in an object store
//
// An S3 bucket (OpenS3, through minio-go) holds blobs as a blob directory
// does: zstd-compressed, named by the digest of their bytes, verified as
// they are read. A Put compresses to a temporary file while hashing (the
// name is known at the end) and uploads it; an object appears whole or
// not at all. Credentials come from the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY), never from the address, which is logged; no
// instance metadata service is asked.
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
