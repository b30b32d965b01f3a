package store

import (
	"context"
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
		testenv.Postgres(t)
		test(t, backend{name: "postgres", open: OpenPostgres, fresh: testenv.PostgresSchema})
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
