package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/fumehood/fumehood/internal/testenv"
)

// backend is a database the store runs on, as the contract tests use it.
type backend struct {
	name string
	open func(ctx context.Context, addr string) (Store, error)
	// fresh returns the address of a new, empty database that lives as
	// long as t.
	fresh func(t testing.TB) string
}

// opens are the Open functions of the backends by name (the helper
// processes of TestConcurrentProcesses open a store by name and address).
var opens = map[string]func(context.Context, string) (Store, error){
	"sqlite":   OpenSQLite,
	"postgres": OpenPostgres,
}

// forEachBackend runs test once per backend, each in a subtest named after
// it: SQLite, and PostgreSQL (testenv.Postgres: a failure in CI when there
// is none).
func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, backend{name: "sqlite", open: OpenSQLite, fresh: func(t testing.TB) string {
			return filepath.Join(t.TempDir(), "test.db")
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		admin := testenv.Postgres(t)
		test(t, backend{name: "postgres", open: OpenPostgres, fresh: func(t testing.TB) string {
			return newPostgresDB(t, admin)
		}})
	})
}

// forEachStore runs test once per backend with a function that opens a
// fresh store of that backend, closed when its test ends.
func forEachStore(t *testing.T, test func(t *testing.T, openTest func(testing.TB) Store)) {
	forEachBackend(t, func(t *testing.T, b backend) { test(t, b.openFresh) })
}

func (b backend) openFresh(t testing.TB) Store {
	t.Helper()
	st, err := b.open(context.Background(), b.fresh(t))
	if err != nil {
		t.Fatalf("open %s: %v", b.name, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newPostgresDB returns the URL of a new, empty schema in the database at
// admin (a URL), dropped when t ends: the store's queries name no schema,
// so a search_path makes it a database of its own, at a fraction of the
// cost of one. Its commits do not wait for the disk (synchronous_commit
// off: a crash of the server may lose the last of them, which no test
// sees).
func newPostgresDB(t testing.TB, admin string) string {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 6)
	rand.Read(id)
	name := "fumehood_test_" + hex.EncodeToString(id)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		db.Close()
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
		db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}
