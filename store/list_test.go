package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fumehood/fumehood/analysis"
)

var (
	verdicts = []analysis.Verdict{analysis.Benign, analysis.Suspicious, analysis.Malicious}
	statuses = []Status{Done, Done, Done, Queued, Running, Failed}
	ruleSet  = []string{"exfil-token", "curl-pipe-sh", "miner", "dns-tunnel", "hidden-dir"}
)

// seedRecord is the i-th record of a varied population: two ecosystems,
// 50 names, every verdict and status, zero to two rule hits, and
// submission times that repeat (several records share a nanosecond, so the
// page order needs its tie-breaker).
func seedRecord(i int) *Record {
	eco := "npm"
	if i%3 == 0 {
		eco = "pypi"
	}
	r := newRecord(fmt.Sprintf("r%06d", i), eco, fmt.Sprintf("pkg-%02d", i%50), fmt.Sprintf("1.0.%d", i))
	r.Submitted = base.Add(time.Duration(i/4) * time.Second)
	r.Status = statuses[i%len(statuses)]
	if r.Status == Done {
		r.Verdict = verdicts[(i/7)%len(verdicts)]
	}
	for j := range i % 3 {
		rule := ruleSet[(i+j)%len(ruleSet)]
		r.Hits = append(r.Hits, analysis.Hit{Rule: rule, Severity: analysis.Medium, Summary: rule}, analysis.Hit{Rule: rule, Severity: analysis.Low})
	}
	return r
}

// matches is the reference semantics of a Query's filters.
func matches(q Query, r *Record) bool {
	if q.Ecosystem != "" && r.Package.Ecosystem != q.Ecosystem || q.Name != "" && r.Package.Name != q.Name ||
		q.Verdict != "" && r.Verdict != q.Verdict || q.Status != "" && r.Status != q.Status ||
		!q.Since.IsZero() && r.Submitted.Before(q.Since) {
		return false
	}
	return q.Rule == "" || slices.ContainsFunc(r.Hits, func(h analysis.Hit) bool { return h.Rule == q.Rule })
}

func TestListFiltersAndPages(t *testing.T) { forEachStore(t, testListFiltersAndPages) }

func testListFiltersAndPages(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	st := openTest(t)
	const n = 1000
	var all []*Record
	for i := range n {
		r := seedRecord(i)
		mustCreate(t, st, r)
		all = append(all, r)
	}
	// Newest first; records of one instant in reverse creation order.
	sort.SliceStable(all, func(i, j int) bool { return all[i].Submitted.After(all[j].Submitted) })
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].Submitted.Equal(all[i].Submitted) {
			j++
		}
		slices.Reverse(all[i:j])
		i = j
	}

	tests := []struct {
		name string
		q    Query
	}{
		{"everything, default page", Query{}},
		{"everything, pages of 37", Query{Limit: 37}},
		{"one page of 1000", Query{Limit: 1000}},
		{"ecosystem", Query{Ecosystem: "pypi", Limit: 41}},
		{"name", Query{Name: "pkg-07", Limit: 3}},
		{"ecosystem and name", Query{Ecosystem: "npm", Name: "pkg-08", Limit: 4}},
		{"verdict", Query{Verdict: analysis.Malicious, Limit: 29}},
		{"status", Query{Status: Failed, Limit: 50}},
		{"rule", Query{Rule: "miner", Limit: 23}},
		{"rule and verdict", Query{Rule: "exfil-token", Verdict: analysis.Suspicious, Limit: 7}},
		{"since", Query{Since: base.Add(200 * time.Second), Limit: 33}},
		{"since mid-instant", Query{Since: base.Add(200*time.Second + time.Nanosecond), Limit: 33}},
		{"since and rule", Query{Since: base.Add(100 * time.Second), Rule: "dns-tunnel", Limit: 11}},
		{"everything filtered", Query{Ecosystem: "npm", Verdict: analysis.Benign, Status: Done, Rule: "hidden-dir", Since: base.Add(10 * time.Second), Limit: 2}},
		{"nothing matches", Query{Name: "absent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, r := range all {
				if matches(tt.q, r) {
					want = append(want, r.ID)
				}
			}
			pageSize := tt.q.Limit
			if pageSize == 0 {
				pageSize = DefaultLimit
			}
			var got []string
			q := tt.q
			for pages := 0; ; pages++ {
				if pages > n {
					t.Fatalf("more than %d pages", n)
				}
				rs, next, err := st.List(ctx, q)
				if err != nil {
					t.Fatalf("List page %d: %v", pages, err)
				}
				if len(rs) > pageSize {
					t.Fatalf("page %d has %d records, want at most %d", pages, len(rs), pageSize)
				}
				if next != "" && len(rs) != pageSize {
					t.Fatalf("page %d has %d records and a next cursor, want a full page of %d", pages, len(rs), pageSize)
				}
				for _, r := range rs {
					got = append(got, r.ID)
				}
				if next == "" {
					break
				}
				q.Cursor = next
			}
			if !slices.Equal(got, want) {
				t.Errorf("paged ids (%d):\n got %v\nwant %v", len(got), head(got), head(want))
			}
		})
	}
}

func head(ids []string) []string {
	if len(ids) > 12 {
		return append(ids[:12:12], fmt.Sprintf("... %d more", len(ids)-12))
	}
	return ids
}

func TestListLimit(t *testing.T) { forEachStore(t, testListLimit) }

func testListLimit(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	st := openTest(t)
	for i := range MaxLimit + 5 {
		mustCreate(t, st, seedRecord(i))
	}
	tests := []struct{ limit, want int }{
		{0, DefaultLimit}, {-3, DefaultLimit}, {1, 1}, {MaxLimit, MaxLimit}, {MaxLimit * 10, MaxLimit},
	}
	for _, tt := range tests {
		rs, next, err := st.List(ctx, Query{Limit: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != tt.want || next == "" {
			t.Errorf("List(limit %d) = %d records, next %q; want %d and a cursor", tt.limit, len(rs), next, tt.want)
		}
	}
}

// validCursor returns the cursor after the first page of q and the ids of
// the page it leads to.
func validCursor(t testing.TB, st Store, q Query) string {
	t.Helper()
	_, next, err := st.List(context.Background(), q)
	if err != nil || next == "" {
		t.Fatalf("List(%+v) = next %q, %v", q, next, err)
	}
	return next
}

func TestListCursorTampering(t *testing.T) { forEachStore(t, testListCursorTampering) }

func testListCursorTampering(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	st := openTest(t)
	for i := range 20 {
		mustCreate(t, st, seedRecord(i))
	}
	q := Query{Ecosystem: "npm", Limit: 2}
	c := validCursor(t, st, q)
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := slices.Clone(raw)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	// A cursor of another database with the same records.
	other := openTest(t)
	for i := range 20 {
		mustCreate(t, other, seedRecord(i))
	}
	foreign := validCursor(t, other, q)

	tests := []struct {
		name   string
		q      Query
		cursor string
	}{
		{"version byte", q, flip(0)},
		{"submitted", q, flip(8)},
		{"seq", q, flip(16)},
		{"filter hash", q, flip(20)},
		{"mac", q, flip(len(raw) - 1)},
		{"truncated", q, c[:len(c)-2]},
		{"extended", q, c + "AA"},
		{"padded", q, c + "="},
		{"not base64", q, "!!!!"},
		{"standard alphabet", q, base64.StdEncoding.EncodeToString(raw)},
		{"other filters", Query{Ecosystem: "pypi", Limit: 2}, c},
		{"filter added", Query{Ecosystem: "npm", Verdict: analysis.Benign, Limit: 2}, c},
		{"other database", q, foreign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Cursor = tt.cursor
			if _, _, err := st.List(ctx, tt.q); !errors.Is(err, ErrCursor) {
				t.Errorf("List with %s cursor: err %v, want ErrCursor", tt.name, err)
			}
		})
	}
	// The cursor itself works, also with another page size.
	q.Cursor, q.Limit = c, 5
	if _, _, err := st.List(ctx, q); err != nil {
		t.Errorf("List with the valid cursor: %v", err)
	}
}

// FuzzCursor feeds List arbitrary cursors: anything but a cursor List made
// for the same filters is ErrCursor, never another error or a page.
func FuzzCursor(f *testing.F) {
	st, err := OpenSQLite(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	for i := range 30 {
		mustCreate(f, st, seedRecord(i))
	}
	valid := map[string]bool{}
	for _, q := range []Query{{Limit: 3}, {Ecosystem: "npm", Limit: 2}, {Rule: "miner", Limit: 1}} {
		for c := validCursor(f, st, q); c != ""; {
			valid[c] = true
			f.Add(c, q.Ecosystem, q.Rule)
			q.Cursor = c
			_, c, err = st.List(context.Background(), q)
			if err != nil {
				f.Fatal(err)
			}
		}
	}
	f.Add("", "", "")
	f.Add("AQ", "npm", "")
	f.Fuzz(func(t *testing.T, cursor, eco, rule string) {
		_, _, err := st.List(context.Background(), Query{Cursor: cursor, Ecosystem: eco, Rule: rule, Limit: 3})
		switch {
		case cursor == "" && err != nil:
			t.Fatalf("List without cursor: %v", err)
		case cursor != "" && !valid[cursor] && !errors.Is(err, ErrCursor):
			t.Fatalf("List with cursor %q: err %v, want ErrCursor", cursor, err)
		case err != nil && !errors.Is(err, ErrCursor):
			t.Fatalf("List with cursor %q: err %v", cursor, err)
		}
	})
}

// BenchmarkList measures a page of 50 from a store of 100,000 analyses,
// for the first page and a deep page of each filter.
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	st, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const n = 100_000
	for i := range n {
		mustCreate(b, st, seedRecord(i))
	}
	queries := []struct {
		name string
		q    Query
	}{
		{"all", Query{}},
		{"ecosystem", Query{Ecosystem: "pypi"}},
		{"name", Query{Name: "pkg-07"}},
		{"verdict", Query{Verdict: analysis.Malicious}},
		{"status", Query{Status: Queued}},
		{"rule", Query{Rule: "miner"}},
		{"since", Query{Since: base.Add(n / 8 * time.Second)}},
		{"rule+verdict", Query{Rule: "exfil-token", Verdict: analysis.Suspicious}},
	}
	for _, bq := range queries {
		// The cursor of page 100 (or the last one), for a deep page.
		deep := bq.q
		for range 100 {
			_, next, err := st.List(ctx, deep)
			if err != nil {
				b.Fatal(err)
			}
			if next == "" {
				break
			}
			deep.Cursor = next
		}
		for _, page := range []struct {
			name string
			q    Query
		}{{"first", bq.q}, {"page100", deep}} {
			b.Run(bq.name+"/"+page.name, func(b *testing.B) {
				for b.Loop() {
					rs, _, err := st.List(ctx, page.q)
					if err != nil || len(rs) == 0 {
						b.Fatalf("List = %d records, %v", len(rs), err)
					}
				}
			})
		}
	}
}

// TestListPlans checks that every filter, alone and in the combinations
// the API offers, pages on an index in page order: no table scan and no
// sort of the matching records (which grows with the store).
func TestListPlans(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		st := b.openFresh(t)
		for i := range 200 {
			mustCreate(t, st, seedRecord(i))
		}
		s := st.(*sqlStore)
		cursorOf := func(q Query) Query {
			q.Limit = 1
			q.Cursor = validCursor(t, st, q)
			return q
		}
		since := base.Add(time.Second)
		queries := []Query{
			{}, {Ecosystem: "npm"}, {Name: "pkg-01"}, {Ecosystem: "npm", Name: "pkg-01"}, {Verdict: analysis.Benign},
			{Status: Queued}, {Rule: "miner"}, {Since: since}, {Rule: "miner", Verdict: analysis.Malicious},
			{Ecosystem: "pypi", Since: since}, {Rule: "miner", Since: since},
			cursorOf(Query{}), cursorOf(Query{Name: "pkg-01"}), cursorOf(Query{Rule: "miner"}), cursorOf(Query{Verdict: analysis.Benign}),
		}
		for _, q := range queries {
			sqlq, args, _, err := s.listSQL(q)
			if err != nil {
				t.Fatal(err)
			}
			var bad []string
			if b.name == "postgres" {
				bad = postgresPlanFaults(t, s.r, s.d.q(sqlq), args, true)
			} else {
				bad = sqlitePlanFaults(t, s.r, sqlq, args)
			}
			if len(bad) > 0 {
				t.Errorf("query %+v: a scan or sort without an index: %q", q, bad)
			}
		}
	})
}

// sqlitePlanFaults returns the steps of SQLite's plan of query that scan a
// table or sort without an index.
func sqlitePlanFaults(t *testing.T, db *sql.DB, query string, args []any) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(detail, "TEMP B-TREE") || strings.HasPrefix(detail, "SCAN") && !strings.Contains(detail, "INDEX") {
			bad = append(bad, detail)
		}
	}
	return bad
}

// TestListBatch pages through a batch's items, its own records and those
// of other submissions it de-duplicated onto, with other filters.
func TestListBatch(t *testing.T) { forEachStore(t, testListBatch) }

func testListBatch(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	st := openTest(t)
	var items, all []string
	for i := range 120 {
		r := seedRecord(i)
		if i%4 == 1 {
			r.BatchID = "b1" // created by the batch
		}
		mustCreate(t, st, r)
		all = append(all, r.ID)
		if i%4 == 1 || i%10 == 0 { // and de-duplicated onto others
			items = append(items, r.ID)
		}
	}
	if err := st.CreateBatch(ctx, &Batch{ID: "b1", Kind: "specs"}, append(items, "not-created-yet")); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBatch(ctx, &Batch{ID: "b2", Kind: "specs"}, all[:3]); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		q    Query
		want func(r *Record) bool
	}{
		{Query{Batch: "b1", Limit: 7}, func(r *Record) bool { return slices.Contains(items, r.ID) }},
		{Query{Batch: "b1", Verdict: analysis.Benign, Limit: 3}, func(r *Record) bool {
			return slices.Contains(items, r.ID) && r.Verdict == analysis.Benign
		}},
		{Query{Batch: "b1", Rule: "miner", Limit: 2}, func(r *Record) bool {
			return slices.Contains(items, r.ID) && slices.ContainsFunc(r.Hits, func(h analysis.Hit) bool { return h.Rule == "miner" })
		}},
		{Query{Batch: "b2"}, func(r *Record) bool { return slices.Contains(all[:3], r.ID) }},
		{Query{Batch: "absent"}, func(*Record) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.q), func(t *testing.T) {
			want := map[string]bool{}
			for _, id := range all {
				if tt.want(mustGet(t, st, id)) {
					want[id] = true
				}
			}
			got := map[string]bool{}
			q := tt.q
			for {
				rs, next, err := st.List(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					if got[r.ID] {
						t.Fatalf("%s listed twice", r.ID)
					}
					got[r.ID] = true
				}
				if next == "" {
					break
				}
				q.Cursor = next
			}
			if len(got) != len(want) {
				t.Fatalf("got %d records, want %d", len(got), len(want))
			}
			for id := range want {
				if !got[id] {
					t.Errorf("missing %s", id)
				}
			}
		})
	}
	// A cursor of one batch does not page another.
	_, next, err := st.List(ctx, Query{Batch: "b1", Limit: 1})
	if err != nil || next == "" {
		t.Fatalf("List: %v, next %q", err, next)
	}
	if _, _, err := st.List(ctx, Query{Batch: "b2", Limit: 1, Cursor: next}); !errors.Is(err, ErrCursor) {
		t.Errorf("cursor of batch b1 used for b2: err %v, want ErrCursor", err)
	}
}
