package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn       string
		db, blobs string
		wantErr   error
	}{
		{"/var/lib/fumehood", "/var/lib/fumehood/fumehood.db", "/var/lib/fumehood/blobs", nil},
		{"data", "data/fumehood.db", "data/blobs", nil},
		{"sqlite:///srv/f/a.db", "/srv/f/a.db", "/srv/f/blobs", nil},
		{"sqlite:///srv/f/a.db?blobs=/mnt/blobs", "/srv/f/a.db", "/mnt/blobs", nil},
		{"sqlite://rel.db", "rel.db", "blobs", nil},
		{"sqlite://dir/rel.db?blobs=b", "dir/rel.db", "b", nil},
		{"", "", "", ErrDSN},
		{"sqlite://", "", "", ErrDSN},
		{"sqlite:///a.db?cache=shared", "", "", ErrDSN},
		{"postgres://db.internal/fumehood", "", "", ErrDSN},
		{"mysql://x", "", "", ErrDSN},
	}
	for _, tt := range tests {
		db, blobs, err := parseDSN(tt.dsn)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("parseDSN(%q): err %v, want %v", tt.dsn, err, tt.wantErr)
			continue
		}
		if db != tt.db || blobs != tt.blobs {
			t.Errorf("parseDSN(%q) = %q, %q; want %q, %q", tt.dsn, db, blobs, tt.db, tt.blobs)
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
		t.Errorf("Open(postgres): err %v, want ErrDSN", err)
	}
}
