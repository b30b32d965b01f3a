package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/internal/testenv"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn       string
		db, blobs string
		postgres  bool
		wantErr   error
	}{
		{"/var/lib/fumehood", "/var/lib/fumehood/fumehood.db", "/var/lib/fumehood/blobs", false, nil},
		{"data", "data/fumehood.db", "data/blobs", false, nil},
		{"sqlite:///srv/f/a.db", "/srv/f/a.db", "/srv/f/blobs", false, nil},
		{"sqlite:///srv/f/a.db?blobs=/mnt/blobs", "/srv/f/a.db", "/mnt/blobs", false, nil},
		{"sqlite://rel.db", "rel.db", "blobs", false, nil},
		{"sqlite://dir/rel.db?blobs=b", "dir/rel.db", "b", false, nil},
		{"postgres://db.internal/fumehood", "postgres://db.internal/fumehood", "", true, nil},
		{"postgresql://u@/f?host=/run/pg", "postgresql://u@/f?host=/run/pg", "", true, nil},
		{"", "", "", false, ErrDSN},
		{"sqlite://", "", "", false, ErrDSN},
		{"sqlite:///a.db?cache=shared", "", "", false, ErrDSN},
		{"mysql://x", "", "", false, ErrDSN},
	}
	for _, tt := range tests {
		db, blobs, postgres, err := parseDSN(tt.dsn)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("parseDSN(%q): err %v, want %v", tt.dsn, err, tt.wantErr)
			continue
		}
		if db != tt.db || blobs != tt.blobs || postgres != tt.postgres {
			t.Errorf("parseDSN(%q) = %q, %q, %v; want %q, %q, %v", tt.dsn, db, blobs, postgres, tt.db, tt.blobs, tt.postgres)
		}
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	tests := []struct {
		name      string
		dsn       string
		db, blobs string
	}{
		{"data dir", filepath.Join(tmp, "data"), filepath.Join(tmp, "data", DBFile), filepath.Join(tmp, "data", BlobSub)},
		{"sqlite url", "sqlite://" + filepath.Join(tmp, "u", "x.db") + "?blobs=" + filepath.Join(tmp, "bl"), filepath.Join(tmp, "u", "x.db"), filepath.Join(tmp, "bl")},
		{"odd path", filepath.Join(tmp, "a dir?#%"), filepath.Join(tmp, "a dir?#%", DBFile), filepath.Join(tmp, "a dir?#%", BlobSub)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, blobs, err := Open(ctx, tt.dsn)
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.dsn, err)
			}
			defer st.Close()
			mustCreate(t, st, newRecord("x", "npm", "x", "1"))
			d, err := blobs.Put(ctx, strings.NewReader("trace"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(tt.db); err != nil {
				t.Errorf("database file: %v", err)
			}
			if _, err := os.Stat(filepath.Join(tt.blobs, "sha256", d[7:9], d[7:]+".zst")); err != nil {
				t.Errorf("blob file: %v", err)
			}
		})
	}
	if _, _, err := Open(ctx, "postgres://127.0.0.1/fumehood"); !errors.Is(err, ErrDSN) {
		t.Errorf("Open(postgres) without a blob store: err %v, want ErrDSN", err)
	}
	if _, _, err := Open(ctx, "postgres://%zz", WithBlobs(filepath.Join(tmp, "b"))); !errors.Is(err, ErrDSN) {
		t.Errorf("Open of a malformed postgres address: err %v, want ErrDSN", err)
	}
	if _, _, err := Open(ctx, filepath.Join(tmp, "data"), WithBlobs("ftp://x/y")); !errors.Is(err, ErrDSN) {
		t.Errorf("Open with an ftp blob store: err %v, want ErrDSN", err)
	}
}

// TestOpenPostgres opens a PostgreSQL store with a blob directory named
// apart, as serve --store postgres://... --blobs DIR does.
func TestOpenPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresSchema(t)
	dir := filepath.Join(t.TempDir(), "blobs")
	st, blobs, err := Open(ctx, dsn, WithBlobs(dir))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer st.Close()
	mustCreate(t, st, newRecord("x", "npm", "x", "1"))
	if got := mustGet(t, st, "x").Package.Name; got != "x" {
		t.Errorf("record name %q, want x", got)
	}
	d, err := blobs.Put(ctx, strings.NewReader("trace"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sha256", d[7:9], d[7:]+".zst")); err != nil {
		t.Errorf("blob file: %v", err)
	}
	// OpenStore opens the database alone, as fumehood token create does.
	st2, err := OpenStore(ctx, dsn)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	defer st2.Close()
	if got := mustGet(t, st2, "x").Package.Name; got != "x" {
		t.Errorf("record name through OpenStore %q, want x", got)
	}
}
