package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/internal/testenv"
)

// postgresPlanFaults returns the nodes of PostgreSQL's plan of query that
// scan a table whole, or, when paged (a List page, read in index order up
// to its limit), sort. An index scan whose condition does not bound the
// index's first column reads the whole index, which is a table scanned
// whole too, unless paged. Sequential scans (and sorts, when paged) are
// disabled for the plan (the planner then uses them only where nothing
// else can run the query), so that the answer does not depend on how few
// rows a test table holds.
func postgresPlanFaults(t *testing.T, db *sql.DB, query string, args []any, paged bool) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	sets := []string{"SET LOCAL enable_seqscan = off"}
	if paged {
		sets = append(sets, "SET LOCAL enable_sort = off")
	}
	for _, set := range sets {
		if _, err := tx.ExecContext(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	var out string
	if err := tx.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) "+query, args...).Scan(&out); err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	type node struct {
		Type      string `json:"Node Type"`
		Relation  string `json:"Relation Name"`
		Index     string `json:"Index Name"`
		IndexCond string `json:"Index Cond"`
		Plans     []node `json:"Plans"`
	}
	// lead is the first column of each index of the store's schema.
	lead := map[string]string{}
	rows, err := tx.QueryContext(ctx, `SELECT c.relname, a.attname FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE c.relnamespace = current_schema()::regnamespace`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var index, col string
		if err := rows.Scan(&index, &col); err != nil {
			t.Fatal(err)
		}
		lead[index] = col
	}
	rows.Close()
	bounded := func(n node) bool {
		c := lead[n.Index]
		return c != "" && (strings.Contains(n.IndexCond, "("+c+" ") || strings.Contains(n.IndexCond, "ROW("+c+","))
	}
	var plan []struct{ Plan node }
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatal(err)
	}
	var bad []string
	var walk func(n node)
	walk = func(n node) {
		whole := n.Type == "Seq Scan" || !paged && n.Index != "" && !bounded(n)
		if whole || paged && strings.Contains(n.Type, "Sort") {
			bad = append(bad, strings.TrimSpace(n.Type+" "+n.Relation+" "+n.Index))
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	for _, p := range plan {
		walk(p.Plan)
	}
	return bad
}

// queryLog records the statements a pgx connection runs.
type queryLog struct {
	mu      sync.Mutex
	queries []loggedQuery
}

type loggedQuery struct {
	sql  string
	args []any
}

func (l *queryLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	l.queries = append(l.queries, loggedQuery{data.SQL, data.Args})
	l.mu.Unlock()
	return ctx
}

func (l *queryLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestPostgresQueryPlans runs every method of the store on PostgreSQL,
// records each statement it sends, and checks that none reads or changes
// rows through a scan of a whole table: every query the API serves stays
// on an index as the store grows.
func TestPostgresQueryPlans(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(testenv.PostgresSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	log := &queryLog{}
	cfg.Tracer = log
	st, err := openPostgres(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log.queries = nil // the migrations scan their tables as they build them

	for i := range 50 {
		mustCreate(t, st, seedRecord(i))
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	r := newRecord("fresh", "npm", "pkg-01", "9.9.9")
	_, _, err = st.FindOrCreate(ctx, Key{Ecosystem: "npm", Name: "pkg-01", Version: "9.9.9", Rules: r.Rules}, r)
	must(err)
	_, _, err = st.FindOrCreate(ctx, Key{Ecosystem: "npm", Name: "pkg-01", Version: "9.9.9", Digest: "sha256:" + strings.Repeat("a", 64), Rules: r.Rules}, newRecord("other", "npm", "pkg-01", "9.9.9"))
	must(err)
	_, err = st.Get(ctx, "r000001")
	must(err)
	must(st.Start(ctx, "fresh"))
	must(st.Complete(ctx, finished("fresh", analysis.Malicious, "miner"), ""))
	must(st.Rejudge(ctx, "fresh", analysis.Benign, 0, nil, "rules-2"))
	must(st.Fail(ctx, "r000002", "bad"))
	_, err = st.Versions(ctx, "npm", "pkg-01")
	must(err)
	must(st.CreateBatch(ctx, &Batch{ID: "b", Kind: "specs"}, []string{"r000001", "r000004"}))
	_, _, err = st.GetBatch(ctx, "b")
	must(err)
	_, err = st.CancelBatch(ctx, "b")
	must(err)
	must(st.CreateToken(ctx, []byte("hash"), RoleRead, "t"))
	_, err = st.Token(ctx, []byte("hash"))
	must(err)
	_, err = st.Secret(ctx, "session-key")
	must(err)
	_, next, err := st.List(ctx, Query{Rule: "miner", Limit: 2})
	must(err)
	_, _, err = st.List(ctx, Query{Rule: "miner", Limit: 2, Cursor: next})
	must(err)
	_, _, err = st.List(ctx, Query{Batch: "b", Limit: 2})
	must(err)
	// The registry firewall's, on every request it serves. (Its admin
	// listings, of every override or audit entry, and the token list
	// read their tables whole by design.)
	fw := st.(Firewall)
	_, err = fw.SeeTarball(ctx, Tarball{Ecosystem: "npm", Name: "pkg-01", Version: "1.0.1", Digest: "sha256:" + strings.Repeat("b", 64)})
	must(err)
	_, err = fw.Tarballs(ctx, "npm", "pkg-01")
	must(err)
	_, err = fw.RegistryRecords(ctx, "npm", "pkg-01")
	must(err)
	must(fw.AddOverride(ctx, &Override{Ecosystem: "npm", Name: "pkg-01", Action: Deny, Reason: "test", Who: "t"}))
	_, err = fw.Overrides(ctx, "npm", "pkg-01")
	must(err)
	must(fw.SetFeedSeq(ctx, "npm", "42"))
	_, err = fw.FeedSeq(ctx, "npm")
	must(err)

	log.mu.Lock()
	queries := slices.Clone(log.queries)
	log.mu.Unlock()
	db := st.(*sqlStore).r
	explained := 0
	for _, q := range queries {
		verb, _, _ := strings.Cut(strings.TrimSpace(q.sql), " ")
		switch strings.ToUpper(verb) {
		case "SELECT", "INSERT", "UPDATE", "DELETE":
		default:
			continue // BEGIN, COMMIT, a prepared statement's name
		}
		if strings.Contains(q.sql, "pg_advisory_xact_lock") {
			continue
		}
		explained++
		if bad := postgresPlanFaults(t, db, q.sql, q.args, false); len(bad) > 0 {
			t.Errorf("%s\nruns %q", q.sql, bad)
		}
	}
	if explained < 15 {
		t.Errorf("explained %d statements, want one of each method at least", explained)
	}
}

// TestPostgresRestart restarts the server under an open store, as a
// farm's PostgreSQL restarts: the pool replaces the broken connections and
// the store's next calls succeed. The server is a cluster of the test's
// own (deploy/services.sh), so that no other test sees the restart.
func TestPostgresRestart(t *testing.T) {
	testenv.Root(t)
	ctls, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	testenv.Require(t, len(ctls) > 0, "PostgreSQL's programs (Debian's postgresql)")
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	// Not t.TempDir: the server runs as the postgres user, who cannot
	// enter the test's private directory.
	dir, err := os.MkdirTemp("", "fumehood-pg-")
	if err != nil {
		t.Fatal(err)
	}
	dsn := testenv.Services(t, "postgres", "start", dir, port)
	t.Cleanup(func() {
		testenv.Services(t, "postgres", "stop", dir)
		os.RemoveAll(dir)
	})

	st, err := OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mustCreate(t, st, newRecord("a", "npm", "x", "1.0.0"))
	var wg sync.WaitGroup
	for range 8 { // several pooled connections, all broken by the restart
		wg.Go(func() { st.Get(ctx, "a") })
	}
	wg.Wait()
	testenv.Services(t, "postgres", "restart", dir)
	for i := range 10 {
		if _, err := st.Get(ctx, "a"); err != nil {
			t.Errorf("Get %d after the restart: %v", i, err)
		}
	}
	if err := st.Start(ctx, "a"); err != nil {
		t.Errorf("Start after the restart: %v", err)
	}
	r, _, err := st.FindOrCreate(ctx, Key{Ecosystem: "npm", Name: "x", Version: "1.0.0", Rules: "rules-1"}, newRecord("b", "npm", "x", "1.0.0"))
	if err != nil || r.ID != "a" {
		t.Errorf("FindOrCreate after the restart = %v, %v; want a", r, err)
	}
}
