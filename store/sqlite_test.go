package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fumehood/fumehood/analysis"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// base is the submission time of test records; times are UTC and whole so
// that they round-trip exactly.
var base = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newRecord(id, eco, name, version string) *Record {
	r := &Record{Spec: eco + ":" + name + "@" + version, Submitted: base}
	r.ID = id
	r.Package = analysis.Package{Ecosystem: eco, Name: name, Version: version}
	r.Rules = "rules-1"
	return r
}

func mustCreate(t testing.TB, st Store, rs ...*Record) {
	t.Helper()
	for _, r := range rs {
		if err := st.Create(context.Background(), r); err != nil {
			t.Fatalf("Create(%s): %v", r.ID, err)
		}
	}
}

func mustGet(t testing.TB, st Store, id string) *Record {
	t.Helper()
	r, err := st.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return r
}

// finished is a completed analysis of the record id.
func finished(id string, v analysis.Verdict, rules ...string) *analysis.Analysis {
	a := &analysis.Analysis{
		ID:       id,
		Package:  analysis.Package{Ecosystem: "npm", Name: "left-pad", Version: "1.3.0", Digest: "sha256:" + fmt.Sprintf("%064x", 7)},
		Verdict:  v,
		Score:    10 * len(rules),
		Rules:    "rules-1",
		Phases:   []analysis.Phase{{Name: "install", Command: []string{"npm", "install"}, DurationMS: 1200, Events: 40}},
		Sandbox:  analysis.Sandbox{Image: "sandbox:1", Probes: []string{"tracepoint"}, Network: "sinkhole", Persona: analysis.Persona{User: "alex", UID: 1854600000}},
		Coverage: analysis.Coverage{Level: analysis.CoveragePartial, InstallOK: true, Imports: []analysis.ImportRun{{Entry: "require", Ran: true, ExitCode: 1}}, Reason: "entry point require failed (exit 1)"},
		Started:  base.Add(time.Second),
		Finished: base.Add(5 * time.Second),
	}
	for _, r := range rules {
		a.Hits = append(a.Hits, analysis.Hit{Rule: r, Severity: analysis.High, Summary: r + " seen", Evidence: []string{"exec " + r}, Events: []uint64{1, 2}})
	}
	return a
}

// migrationCount returns how many migrations d has; they are numbered 1
// to that count.
func migrationCount(t testing.TB, d *dialect) int64 {
	t.Helper()
	fsys, err := migrationsOf(d)
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(names))
}

// schemaVersion returns the newest migration applied to db.
func schemaVersion(t testing.TB, db *sql.DB, d *dialect) int64 {
	t.Helper()
	p, err := newMigrator(db, d)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.GetDBVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMigrations opens a fresh database from several goroutines at once
// (each migration applies once: the openers take turns), re-opens it with
// its data and cursor key, and refuses it once it has a migration this
// binary does not know.
func TestMigrations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		addr := b.fresh(t)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() {
				st, err := b.open(ctx, addr)
				if err == nil {
					err = st.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("concurrent open: %v", err)
		}

		st, err := b.open(ctx, addr)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		s := st.(*sqlStore)
		newest := migrationCount(t, s.d)
		if got := schemaVersion(t, s.w, s.d); got != newest {
			t.Errorf("schema version = %d, want %d", got, newest)
		}
		var applied int
		if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM "+versionTable+" WHERE version_id > 0").Scan(&applied); err != nil {
			t.Fatal(err)
		}
		if int64(applied) != newest {
			t.Errorf("%d migrations recorded, want each of %d once", applied, newest)
		}
		if b.name == "sqlite" {
			var mode string
			if err := s.r.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if got, want := mode, "wal"; got != want {
				t.Errorf("journal_mode = %q, want %q", got, want)
			}
		}
		key := s.cursor.key
		mustCreate(t, st, newRecord("a", "npm", "x", "1.0.0"))
		st.Close()

		// Re-open: data, schema version and cursor key are kept.
		st, err = b.open(ctx, addr)
		if err != nil {
			t.Fatalf("re-open: %v", err)
		}
		if got := mustGet(t, st, "a").Package.Name; got != "x" {
			t.Errorf("after re-open: name %q, want %q", got, "x")
		}
		s = st.(*sqlStore)
		if got, want := s.cursor.key, key; !slices.Equal(got, want) {
			t.Errorf("cursor key changed on re-open")
		}
		// A database from a newer binary is refused.
		if _, err := s.exec(ctx, s.w, "INSERT INTO "+versionTable+" (version_id, is_applied) VALUES (?, ?)", newest+1, true); err != nil {
			t.Fatal(err)
		}
		st.Close()
		if _, err := b.open(ctx, addr); !errors.Is(err, ErrSchema) {
			t.Errorf("open of schema %d: err %v, want ErrSchema", newest+1, err)
		}
	})
}

// TestMigrationLayout keeps the dialects in step: every migration exists
// for each dialect under the same number and name, is a goose migration,
// and none lies outside a dialect's directory (where it would not be
// embedded).
func TestMigrationLayout(t *testing.T) {
	top, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range top {
		if !e.IsDir() {
			t.Errorf("migrations/%s: not in a dialect's directory (migrations/sqlite, migrations/postgres)", e.Name())
		}
	}
	var names [][]string
	for _, d := range []*dialect{sqliteDialect, postgresDialect} {
		fsys, err := migrationsOf(d)
		if err != nil {
			t.Fatal(err)
		}
		ns, err := fs.Glob(fsys, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range ns {
			if want := fmt.Sprintf("%04d_", i+1); !strings.HasPrefix(n, want) {
				t.Errorf("migrations/%s/%s: want a name starting %s", d.name, n, want)
			}
			b, err := fs.ReadFile(fsys, n)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "-- +goose Up\n") {
				t.Errorf("migrations/%s/%s: no -- +goose Up line", d.name, n)
			}
		}
		names = append(names, ns)
	}
	if !slices.Equal(names[0], names[1]) {
		t.Errorf("sqlite migrations %v, postgres migrations %v: want the same", names[0], names[1])
	}
}

func TestCreateGet(t *testing.T) { forEachStore(t, testCreateGet) }

func testCreateGet(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	st := openTest(t)
	full := newRecord("full", "pypi", "requests", "2.31.0")
	full.Package.Digest = "sha256:" + fmt.Sprintf("%064x", 1)
	full.Artifact = full.Package.Digest
	full.Spec = "upload:requests-2.31.0.tar.gz"
	full.Source, full.UploadedBy = FromUpload, "ci-bot"
	full.BatchID = "b1"
	full.Webhook = "http://127.0.0.1:9/hook"
	full.Attempts = 2
	done := finished("done", analysis.Malicious, "exfil-token", "curl-pipe-sh")
	seeded := &Record{Analysis: *done, Status: Done, TraceDigest: "sha256:" + fmt.Sprintf("%064x", 2), Submitted: base}

	tests := []struct {
		name    string
		r       *Record
		wantErr error
	}{
		{"minimal", newRecord("min", "npm", "a", "1.0.0"), nil},
		{"every field", full, nil},
		{"seeded done with hits", seeded, nil},
		{"duplicate id", newRecord("min", "npm", "b", "2.0.0"), ErrExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := *tt.r
			err := st.Create(ctx, tt.r)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Create: err %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if got := mustGet(t, st, tt.r.ID).Package.Name; got == tt.r.Package.Name {
					t.Errorf("failed Create replaced the record")
				}
				return
			}
			got := mustGet(t, st, tt.r.ID)
			if want.Status == "" {
				want.Status = Queued
			}
			if want.Source == "" {
				want.Source = FromRegistry
			}
			want.Updated = got.Updated
			if time.Since(got.Updated) > time.Minute {
				t.Errorf("Updated = %v, want about now", got.Updated)
			}
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("Get after Create:\n got %+v\nwant %+v", got, &want)
			}
		})
	}
	if err := st.Create(ctx, &Record{}); err == nil {
		t.Errorf("Create without id: no error")
	}
	if _, err := st.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(nope): err %v, want ErrNotFound", err)
	}
	if r := newRecord("now", "npm", "a", "1"); true {
		r.Submitted = time.Time{}
		mustCreate(t, st, r)
		if got := mustGet(t, st, "now").Submitted; got.IsZero() || time.Since(got) > time.Minute {
			t.Errorf("Submitted of a record created without one = %v, want now", got)
		}
	}
}

// TestText stores text no PostgreSQL text column takes as given (invalid
// UTF-8, NUL bytes), as a package may supply it: SQLite stores it as
// given, PostgreSQL with U+FFFD in place of each bad byte; both find it
// again by the same text.
func TestText(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		want := map[string]string{"sqlite": textBad, "postgres": "a\uFFFDb\uFFFDc"}[b.name]
		testText(t, b.openFresh(t), want)
	})
}

const textBad = "a\x00b\xffc"

func testText(t *testing.T, st Store, want string) {
	ctx := context.Background()
	bad := textBad
	r := newRecord("r", "npm", bad, bad)
	r.Spec = bad
	mustCreate(t, st, r)
	if err := st.Fail(ctx, "r", "install printed "+bad); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	got := mustGet(t, st, "r")
	if got.Package.Name != want || got.Package.Version != want || got.Spec != want || got.Error != "install printed "+want {
		t.Errorf("stored %q %q %q %q, want %q", got.Package.Name, got.Package.Version, got.Spec, got.Error, want)
	}
	found, existing, err := st.FindOrCreate(ctx, Key{Ecosystem: "npm", Name: bad, Version: bad, Rules: "rules-1"}, newRecord("s", "npm", bad, bad))
	if err != nil || existing {
		t.Fatalf("FindOrCreate = %v, %v, %v; want a new record (the other failed)", found, existing, err)
	}
	if _, existing, err := st.FindOrCreate(ctx, Key{Ecosystem: "npm", Name: bad, Version: bad, Rules: "rules-1"}, newRecord("u", "npm", bad, bad)); err != nil || !existing {
		t.Errorf("FindOrCreate of the same text again: existing %v, %v; want the record s", existing, err)
	}
	if err := st.CreateBatch(ctx, &Batch{ID: "b", Kind: "lockfile", Source: bad}, []string{"s", bad}); err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	b, p, err := st.GetBatch(ctx, "b")
	if err != nil || b.Source != want || p.Total != 2 {
		t.Errorf("GetBatch = %+v, %+v, %v; want source %q and 2 items", b, p, err, want)
	}
	if rs, err := st.Versions(ctx, "npm", bad); err != nil || len(rs) != 1 {
		t.Errorf("Versions of the same text = %d records, %v; want 1", len(rs), err)
	}
}

// TestRecordJSON pins the API document of a stored record (the analysis
// document plus its life) in testdata/record.golden.json.
func TestRecordJSON(t *testing.T) { forEachStore(t, testRecordJSON) }

func testRecordJSON(t *testing.T, openTest func(testing.TB) Store) {
	st := openTest(t)
	mustCreate(t, st, newRecord("rec-1", "npm", "left-pad", "1.3.0"))
	ctx := context.Background()
	if err := st.Start(ctx, "rec-1"); err != nil {
		t.Fatal(err)
	}
	if err := st.Complete(ctx, finished("rec-1", analysis.Suspicious, "postinstall-network"), "sha256:"+fmt.Sprintf("%064x", 3)); err != nil {
		t.Fatal(err)
	}
	r := mustGet(t, st, "rec-1")
	r.Updated = base.Add(time.Minute) // the only field that depends on the clock
	got, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "record.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got)+"\n" != string(want) {
		t.Errorf("record JSON:\n got %s\nwant %s", got, want)
	}
}

func TestFindOrCreate(t *testing.T) { forEachStore(t, testFindOrCreate) }

func testFindOrCreate(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	dig := func(n int) string { return "sha256:" + fmt.Sprintf("%064x", n) }
	// open returns a store holding, for npm:x@1.0.0 under rules-1, two
	// registry records, one the firewall handed over with its bytes, a
	// newer failed one and an upload claiming the version, and npm:x@2.0.0
	// under rules-2.
	open := func(t *testing.T) Store {
		st := openTest(t)
		old := newRecord("old", "npm", "x", "1.0.0")
		old.Package.Digest = dig(1)
		proxied := newRecord("proxied", "npm", "x", "1.0.0")
		proxied.Submitted = base.Add(-time.Hour)
		proxied.Package.Digest, proxied.Artifact = dig(4), dig(4)
		proxied.Source = FromRegistry
		newer := newRecord("newer", "npm", "x", "1.0.0")
		newer.Submitted = base.Add(time.Hour)
		newer.Package.Digest = dig(1)
		failed := newRecord("failed", "npm", "x", "1.0.0")
		failed.Submitted = base.Add(2 * time.Hour)
		failed.Status = Failed
		upload := newRecord("upload", "npm", "x", "1.0.0")
		upload.Submitted = base.Add(3 * time.Hour)
		upload.Package.Digest, upload.Artifact = dig(9), dig(9)
		upload.Source, upload.UploadedBy = FromUpload, "ci"
		other := newRecord("other-rules", "npm", "x", "2.0.0")
		other.Rules = "rules-2"
		mustCreate(t, st, old, proxied, newer, failed, upload, other)
		return st
	}
	key := func(version, digest, rules string, src Source) Key {
		return Key{Ecosystem: "npm", Name: "x", Version: version, Digest: digest, Rules: rules, Source: src}
	}

	tests := []struct {
		name string
		k    Key
		want string // the existing record found; "" when r is created
	}{
		{"registry spec finds newest registry record", key("1.0.0", "", "rules-1", ""), "newer"},
		{"registry source is the zero source", key("1.0.0", "", "rules-1", FromRegistry), "newer"},
		{"digest finds that artifact", key("1.0.0", dig(1), "rules-1", ""), "newer"},
		{"digest of handed-over bytes", key("1.0.0", dig(4), "rules-1", FromRegistry), "proxied"},
		{"upload digest finds the upload", key("1.0.0", dig(9), "rules-1", FromUpload), "upload"},
		{"an upload does not stand for the registry", key("1.0.0", dig(9), "rules-1", FromRegistry), ""},
		{"registry bytes uploaded are an upload of their own", key("1.0.0", dig(1), "rules-1", FromUpload), ""},
		{"unknown digest", key("1.0.0", dig(5), "rules-1", ""), ""},
		{"other rule set", key("1.0.0", "", "rules-2", ""), ""},
		{"rules of the other version", key("2.0.0", "", "rules-2", ""), "other-rules"},
		{"other ecosystem", Key{Ecosystem: "pypi", Name: "x", Version: "1.0.0", Rules: "rules-1"}, ""},
		{"other version", key("1.0.1", "", "rules-1", ""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := open(t)
			r := newRecord("fresh", tt.k.Ecosystem, tt.k.Name, tt.k.Version)
			r.Source = tt.k.Source
			got, existing, err := st.FindOrCreate(ctx, tt.k, r)
			if err != nil {
				t.Fatalf("FindOrCreate: %v", err)
			}
			if existing != (tt.want != "") {
				t.Fatalf("FindOrCreate = %s, existing %v; want existing %q", got.ID, existing, tt.want)
			}
			if existing {
				if got.ID != tt.want {
					t.Errorf("FindOrCreate found %s, want %s", got.ID, tt.want)
				}
				if _, err := st.Get(ctx, "fresh"); !errors.Is(err, ErrNotFound) {
					t.Errorf("a found key also stored the new record: Get err %v", err)
				}
				return
			}
			if got != r || mustGet(t, st, "fresh").Status != Queued {
				t.Errorf("FindOrCreate did not create the queued record it was given")
			}
		})
	}

	// A failed newest record is skipped; failing the found one falls back.
	st := open(t)
	if err := st.Fail(ctx, "newer", "registry down"); err != nil {
		t.Fatal(err)
	}
	r, existing, err := st.FindOrCreate(ctx, key("1.0.0", "", "rules-1", ""), newRecord("fresh", "npm", "x", "1.0.0"))
	if err != nil || !existing || r.ID != "old" {
		t.Errorf("FindOrCreate after failing newer = %v, %v, %v; want old", r, existing, err)
	}
	// A new record whose id exists is refused, nothing created.
	_, _, err = st.FindOrCreate(ctx, key("3.0.0", "", "rules-1", ""), newRecord("old", "npm", "x", "3.0.0"))
	if !errors.Is(err, ErrExists) {
		t.Errorf("FindOrCreate with an existing id: err %v, want ErrExists", err)
	}
	// A record of an unknown source is refused.
	bad := newRecord("bad", "npm", "x", "4.0.0")
	bad.Source = "mirror"
	if err := st.Create(ctx, bad); err == nil {
		t.Errorf("Create of source %q: no error", bad.Source)
	}
}

func TestLifecycle(t *testing.T) { forEachStore(t, testLifecycle) }

func testLifecycle(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	st := openTest(t)
	mustCreate(t, st, newRecord("a", "npm", "left-pad", "1.3.0"))
	byRule := func(rule string) []string {
		t.Helper()
		rs, _, err := st.List(ctx, Query{Rule: rule})
		if err != nil {
			t.Fatalf("List(rule=%s): %v", rule, err)
		}
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		return ids
	}

	steps := []struct {
		name    string
		do      func() error
		wantErr error
		check   func(r *Record) string
	}{
		{"start", func() error { return st.Start(ctx, "a") }, nil, func(r *Record) string {
			if r.Status != Running || r.Attempts != 1 {
				return fmt.Sprintf("status %s attempts %d, want running 1", r.Status, r.Attempts)
			}
			return ""
		}},
		{"start again counts the attempt", func() error { return st.Start(ctx, "a") }, nil, func(r *Record) string {
			if r.Attempts != 2 {
				return fmt.Sprintf("attempts %d, want 2", r.Attempts)
			}
			return ""
		}},
		{"complete", func() error {
			return st.Complete(ctx, finished("a", analysis.Malicious, "exfil", "miner"), "sha256:"+fmt.Sprintf("%064x", 4))
		}, nil, func(r *Record) string {
			if r.Status != Done || r.Verdict != analysis.Malicious || r.Score != 20 || len(r.Hits) != 2 ||
				r.Package.Digest == "" || r.TraceDigest == "" || r.Phases[0].Name != "install" || r.Sandbox.Persona.User != "alex" {
				return fmt.Sprintf("after complete: %+v", r)
			}
			if got := byRule("exfil"); !slices.Equal(got, []string{"a"}) {
				return fmt.Sprintf("rule exfil lists %v, want [a]", got)
			}
			return ""
		}},
		{"complete again replaces", func() error {
			return st.Complete(ctx, finished("a", analysis.Suspicious, "miner", "dns-tunnel"), "sha256:"+fmt.Sprintf("%064x", 5))
		}, nil, func(r *Record) string {
			if r.Verdict != analysis.Suspicious || len(r.Hits) != 2 || r.Hits[1].Rule != "dns-tunnel" {
				return fmt.Sprintf("after second complete: %+v", r)
			}
			if got := byRule("exfil"); len(got) != 0 {
				return fmt.Sprintf("rule exfil still lists %v", got)
			}
			if got := byRule("dns-tunnel"); !slices.Equal(got, []string{"a"}) {
				return fmt.Sprintf("rule dns-tunnel lists %v, want [a]", got)
			}
			return ""
		}},
		{"rejudge", func() error {
			return st.Rejudge(ctx, "a", analysis.Benign, 0, []analysis.Hit{{Rule: "info-only", Severity: analysis.Info}}, "rules-2")
		}, nil, func(r *Record) string {
			if r.Verdict != analysis.Benign || r.Score != 0 || r.Rules != "rules-2" || len(r.Hits) != 1 || r.Status != Done {
				return fmt.Sprintf("after rejudge: %+v", r)
			}
			if got := byRule("miner"); len(got) != 0 {
				return fmt.Sprintf("rule miner still lists %v", got)
			}
			if got := byRule("info-only"); !slices.Equal(got, []string{"a"}) {
				return fmt.Sprintf("rule info-only lists %v, want [a]", got)
			}
			return ""
		}},
		{"fail", func() error { return st.Fail(ctx, "a", "artifact corrupt") }, nil, func(r *Record) string {
			if r.Status != Failed || r.Error != "artifact corrupt" {
				return fmt.Sprintf("after fail: %+v", r)
			}
			return ""
		}},
		{"complete after fail clears the error", func() error {
			return st.Complete(ctx, finished("a", analysis.Benign), "sha256:"+fmt.Sprintf("%064x", 6))
		}, nil, func(r *Record) string {
			if r.Status != Done || r.Error != "" || len(r.Hits) != 0 {
				return fmt.Sprintf("after complete: %+v", r)
			}
			return ""
		}},
		{"start missing", func() error { return st.Start(ctx, "missing") }, ErrNotFound, nil},
		{"fail missing", func() error { return st.Fail(ctx, "missing", "x") }, ErrNotFound, nil},
		{"complete missing", func() error { return st.Complete(ctx, finished("missing", analysis.Benign), "") }, ErrNotFound, nil},
		{"rejudge missing", func() error { return st.Rejudge(ctx, "missing", analysis.Benign, 0, nil, "r") }, ErrNotFound, nil},
	}
	for _, s := range steps {
		err := s.do()
		if !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: err %v, want %v", s.name, err, s.wantErr)
		}
		if s.check != nil {
			if msg := s.check(mustGet(t, st, "a")); msg != "" {
				t.Fatalf("%s: %s", s.name, msg)
			}
		}
	}
	if _, err := st.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a failed update created a record: %v", err)
	}
}

func TestVersions(t *testing.T) { forEachStore(t, testVersions) }

func testVersions(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	st := openTest(t)
	rec := func(id, version string, hours int, status Status) *Record {
		r := newRecord(id, "npm", "x", version)
		r.Submitted = base.Add(time.Duration(hours) * time.Hour)
		r.Status = status
		return r
	}
	upload := func(id, version string, hours int, artifact int, by string) *Record {
		r := rec(id, version, hours, Done)
		r.Source, r.UploadedBy = FromUpload, by
		r.Artifact = "sha256:" + fmt.Sprintf("%064x", artifact)
		r.Package.Digest = r.Artifact
		return r
	}
	mustCreate(t, st,
		rec("v1-done", "1.0.0", 0, Done),
		rec("v1-failed-later", "1.0.0", 5, Failed),  // a done record of the version wins
		upload("v1-upload", "1.0.0", 6, 1, "alice"), // newer, but beside the registry's, not instead
		upload("v1-upload-again", "1.0.0", 7, 1, "alice"),
		upload("v1-upload-other", "1.0.0", 8, 2, "mallory"), // other bytes claiming 1.0.0
		rec("v2-old", "2.0.0", 1, Done),
		rec("v2-new", "2.0.0", 2, Done), // the newest done wins
		rec("v3-queued", "3.0.0", 3, Queued),
		upload("v9-upload", "9.0.0", 4, 3, "bob"), // no registry record to claim
		newRecord("other-package", "npm", "y", "1.0.0"),
		newRecord("other-ecosystem", "pypi", "x", "1.0.0"),
	)
	tests := []struct {
		eco, name string
		want      []string
	}{
		{"npm", "x", []string{"v1-upload-other", "v1-upload-again", "v9-upload", "v3-queued", "v2-new", "v1-done"}},
		{"pypi", "x", []string{"other-ecosystem"}},
		{"npm", "none", nil},
	}
	for _, tt := range tests {
		rs, err := st.Versions(ctx, tt.eco, tt.name)
		if err != nil {
			t.Fatalf("Versions(%s, %s): %v", tt.eco, tt.name, err)
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Versions(%s, %s) = %v, want %v", tt.eco, tt.name, got, tt.want)
		}
	}

	// Source, uploader and the claim label, as Get and List read them too.
	for _, tt := range []struct {
		id     string
		source Source
		by     string
		claims bool
	}{
		{"v1-done", FromRegistry, "", false},
		{"v1-upload-other", FromUpload, "mallory", true},
		{"v9-upload", FromUpload, "bob", false},
	} {
		r := mustGet(t, st, tt.id)
		if r.Source != tt.source || r.UploadedBy != tt.by || r.ClaimsRegistry != tt.claims {
			t.Errorf("Get(%s): source %q, uploaded by %q, claims %v; want %q, %q, %v",
				tt.id, r.Source, r.UploadedBy, r.ClaimsRegistry, tt.source, tt.by, tt.claims)
		}
	}
	page, _, err := st.List(ctx, Query{Name: "x", Ecosystem: "npm", Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != "v1-upload-other" || !page[0].ClaimsRegistry {
		t.Errorf("List first record = %v, %v; want v1-upload-other claiming the registry's 1.0.0", page, err)
	}
}

func TestBatches(t *testing.T) { forEachStore(t, testBatches) }

func testBatches(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	st := openTest(t)
	rec := func(id, batch string) *Record {
		r := newRecord(id, "npm", id, "1.0.0")
		r.BatchID = batch
		return r
	}
	// b1 owns q1, q2 (queued), r1 (to run), d1, d2 (to complete), f1 (to
	// fail); shared is another submission's queued analysis that b1 lists
	// through de-duplication; "later" is listed but not created yet.
	mustCreate(t, st, rec("q1", "b1"), rec("q2", "b1"), rec("r1", "b1"), rec("d1", "b1"), rec("d2", "b1"),
		rec("f1", "b1"), rec("shared", ""), rec("other", "b2"))
	b := &Batch{ID: "b1", Kind: "lockfile", Source: "package-lock.json", Webhook: "http://127.0.0.1:9/h"}
	items := []string{"q1", "q2", "r1", "d1", "d2", "f1", "shared", "later", "q1"}
	if err := st.CreateBatch(ctx, b, items); err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	if b.Created.IsZero() {
		t.Errorf("CreateBatch did not set Created")
	}
	if err := st.CreateBatch(ctx, &Batch{ID: "b1"}, nil); !errors.Is(err, ErrExists) {
		t.Errorf("CreateBatch twice: err %v, want ErrExists", err)
	}
	if err := st.CreateBatch(ctx, &Batch{ID: "b2", Kind: "specs"}, []string{"other"}); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.Start(ctx, "r1"))
	must(st.Complete(ctx, finished("d1", analysis.Malicious, "exfil"), ""))
	must(st.Complete(ctx, finished("d2", analysis.Benign), ""))
	must(st.Fail(ctx, "f1", "bad artifact"))

	progress := func() (*Batch, Progress) {
		t.Helper()
		b, p, err := st.GetBatch(ctx, "b1")
		if err != nil {
			t.Fatalf("GetBatch: %v", err)
		}
		return b, p
	}
	gotB, p := progress()
	if gotB.Kind != "lockfile" || gotB.Source != "package-lock.json" || gotB.Webhook != b.Webhook || !gotB.Created.Equal(b.Created) || gotB.Cancelled {
		t.Errorf("GetBatch batch = %+v, want %+v", gotB, b)
	}
	want := Progress{Total: 8, Done: 2, Failed: 1, Pending: 5, Verdicts: map[analysis.Verdict]int{analysis.Malicious: 1, analysis.Benign: 1}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("progress = %+v, want %+v", p, want)
	}

	ids, err := st.CancelBatch(ctx, "b1")
	if err != nil {
		t.Fatalf("CancelBatch: %v", err)
	}
	slices.Sort(ids)
	if want := []string{"q1", "q2"}; !slices.Equal(ids, want) {
		t.Errorf("CancelBatch cancelled %v, want %v", ids, want)
	}
	gotB, p = progress()
	if !gotB.Cancelled {
		t.Errorf("batch not marked cancelled")
	}
	want = Progress{Total: 8, Done: 2, Failed: 1, Cancelled: 2, Pending: 3, Verdicts: want.Verdicts}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("progress after cancel = %+v, want %+v", p, want)
	}
	for id, want := range map[string]Status{"q1": Failed, "r1": Running, "shared": Queued, "other": Queued} {
		if got := mustGet(t, st, id); got.Status != want {
			t.Errorf("%s after cancel: status %s, want %s", id, got.Status, want)
		}
	}
	if r := mustGet(t, st, "q1"); r.Error != CancelReason {
		t.Errorf("cancelled record error %q, want %q", r.Error, CancelReason)
	}
	if ids, err := st.CancelBatch(ctx, "b1"); err != nil || len(ids) != 0 {
		t.Errorf("CancelBatch again = %v, %v; want nothing", ids, err)
	}
	if _, _, err := st.GetBatch(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetBatch(nope): err %v, want ErrNotFound", err)
	}
	if _, err := st.CancelBatch(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("CancelBatch(nope): err %v, want ErrNotFound", err)
	}
}

func TestTokens(t *testing.T) { forEachStore(t, testTokens) }

func testTokens(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	st := openTest(t)
	tests := []struct {
		name    string
		hash    []byte
		role    Role
		wantErr error
		anyErr  bool
	}{
		{"read", []byte("h-read"), RoleRead, nil, false},
		{"submit", []byte("h-submit"), RoleSubmit, nil, false},
		{"admin", []byte("h-admin"), RoleAdmin, nil, false},
		{"same hash again", []byte("h-read"), RoleAdmin, ErrExists, true},
		{"unknown role", []byte("h-x"), Role("root"), nil, true},
		{"empty hash", nil, RoleRead, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := st.CreateToken(ctx, tt.hash, tt.role, tt.name)
			if (err != nil) != tt.anyErr || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("CreateToken: err %v, want error %v (%v)", err, tt.anyErr, tt.wantErr)
			}
		})
	}
	for hash, want := range map[string]Token{"h-read": {Name: "read", Role: RoleRead}, "h-submit": {Name: "submit", Role: RoleSubmit}, "h-admin": {Name: "admin", Role: RoleAdmin}} {
		got, err := st.Token(ctx, []byte(hash))
		if err != nil || got.Name != want.Name || got.Role != want.Role || got.Created.IsZero() {
			t.Errorf("Token(%s) = %+v, %v; want %+v", hash, got, err, want)
		}
	}
	for _, h := range []string{"h-x", "", "h-rea"} {
		if _, err := st.Token(ctx, []byte(h)); !errors.Is(err, ErrNotFound) {
			t.Errorf("Token(%q): err %v, want ErrNotFound", h, err)
		}
	}
	if err := st.CreateToken(ctx, []byte("h-other"), RoleRead, "read"); !errors.Is(err, ErrExists) {
		t.Errorf("CreateToken with a name in use: err %v, want ErrExists", err)
	}
	for _, h := range []string{"h-anon1", "h-anon2"} {
		if err := st.CreateToken(ctx, []byte(h), RoleRead, ""); err != nil {
			t.Errorf("CreateToken without a name: %v", err)
		}
	}
	list, err := st.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tok := range list {
		names = append(names, tok.Name+":"+string(tok.Role))
	}
	if want := []string{"read:read", "submit:submit", "admin:admin", ":read", ":read"}; !slices.Equal(names, want) {
		t.Errorf("Tokens = %q, want %q", names, want)
	}
	if err := st.RevokeToken(ctx, "submit"); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	if _, err := st.Token(ctx, []byte("h-submit")); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked token: err %v, want ErrNotFound", err)
	}
	for _, name := range []string{"submit", "", "absent"} {
		if err := st.RevokeToken(ctx, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("RevokeToken(%q): err %v, want ErrNotFound", name, err)
		}
	}
}

// TestSecret checks that a secret is made once and shared by every opener
// of the database, across reopening.
func TestSecret(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		addr := be.fresh(t)
		open := func() Store {
			t.Helper()
			st, err := be.open(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		a := open()
		defer a.Close()
		b := open()
		k1, err := a.Secret(ctx, "session-key")
		if err != nil || len(k1) != 32 {
			t.Fatalf("Secret = %x, %v; want 32 bytes", k1, err)
		}
		k2, err := b.Secret(ctx, "session-key")
		if err != nil || !bytes.Equal(k1, k2) {
			t.Errorf("second opener's Secret = %x, %v; want %x", k2, err, k1)
		}
		b.Close()
		c := open()
		defer c.Close()
		if k3, err := c.Secret(ctx, "session-key"); err != nil || !bytes.Equal(k1, k3) {
			t.Errorf("Secret after reopening = %x, %v; want %x", k3, err, k1)
		}
		if other, _ := c.Secret(ctx, "other"); bytes.Equal(other, k1) {
			t.Errorf("two names share a secret")
		}
	})
}

// TestMigrateFromEachVersion opens databases left at every older schema
// version, with a record in them, and checks they reach the newest one with
// the record intact: databases migrated by goose, and databases of the
// store's earlier runner, which recorded PRAGMA user_version.
func TestMigrateFromEachVersion(t *testing.T) {
	ctx := context.Background()
	newest := migrationCount(t, sqliteDialect)
	fsys, err := migrationsOf(sqliteDialect)
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	// legacy migrates db to from as the earlier runner did: each file in a
	// transaction with its number in user_version.
	legacy := func(db *sql.DB, from int64) error {
		for i, n := range names[:from] {
			b, err := fs.ReadFile(fsys, n)
			if err != nil {
				return err
			}
			if _, err := db.ExecContext(ctx, "BEGIN; "+string(b)+fmt.Sprintf("; PRAGMA user_version = %d; COMMIT", i+1)); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
		}
		return nil
	}
	viaGoose := func(db *sql.DB, from int64) error {
		p, err := newMigrator(db, sqliteDialect)
		if err != nil {
			return err
		}
		_, err = p.UpTo(ctx, from)
		return err
	}
	for _, how := range []struct {
		name    string
		migrate func(*sql.DB, int64) error
		upTo    int64 // the newest schema to start from
	}{
		{"goose", viaGoose, newest - 1},
		{"user_version", legacy, newest},
	} {
		for from := int64(1); from <= how.upTo; from++ {
			t.Run(fmt.Sprintf("%s %d", how.name, from), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "old.db")
				db, err := sql.Open("sqlite", path+"?"+sqliteParams)
				if err != nil {
					t.Fatal(err)
				}
				if err := how.migrate(db, from); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ExecContext(ctx, `INSERT INTO analyses (id, ecosystem, name, version, digest, rules, status,
					verdict, score, error, spec, artifact, trace_digest, batch_id, webhook, submitted, updated, started,
					finished, attempts, hits, phases, sandbox) VALUES ('old', 'npm', 'x', '1', '', 'r', 'done', 'benign', 0, '',
					'', '', '', '', '', 1, 1, 0, 0, 1, 'null', 'null', '{}'),
					('up', 'npm', 'x', '1', '', 'r', 'done', 'benign', 0, '',
					'upload:x.tgz', 'sha256:aa', '', '', '', 2, 2, 0, 0, 1, 'null', 'null', '{}')`); err != nil {
					t.Fatal(err)
				}
				db.Close()
				st, err := OpenSQLite(ctx, path)
				if err != nil {
					t.Fatalf("open schema %d: %v", from, err)
				}
				defer st.Close()
				s := st.(*sqlStore)
				if got := schemaVersion(t, s.w, sqliteDialect); got != newest {
					t.Errorf("schema version %d, want %d", got, newest)
				}
				var uv int
				if err := s.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&uv); err != nil {
					t.Fatal(err)
				}
				if uv != 0 {
					t.Errorf("user_version %d after open, want 0 (goose's table records the version)", uv)
				}
				if r := mustGet(t, st, "old"); r.Verdict != analysis.Benign || r.Source != FromRegistry {
					t.Errorf("record after migration: %+v", r)
				}
				// An upload from before sources (0004) is an upload, labelled
				// as claiming the registry's version the farm holds.
				if r := mustGet(t, st, "up"); from < 4 && (r.Source != FromUpload || !r.ClaimsRegistry) {
					t.Errorf("upload after migration: source %q, claims %v; want upload claiming", r.Source, r.ClaimsRegistry)
				}
			})
		}
	}
}
