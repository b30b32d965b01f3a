package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Files of a data directory.
const (
	DBFile  = "fumehood.db"
	BlobSub = "blobs"
)

// Open opens the store and blob store that dsn names:
//
//	DIR                        DIR/fumehood.db and DIR/blobs (DIR is created)
//	sqlite://PATH              PATH, and blobs beside it in DIR(PATH)/blobs
//	sqlite://PATH?blobs=DIR    PATH, and blobs in DIR
//
// PATH may be absolute (sqlite:///var/lib/fumehood/x.db) or relative
// (sqlite://x.db). Any other scheme is ErrDSN; a Postgres store and an
// object-store Blobs are further schemes of this function.
func Open(ctx context.Context, dsn string) (Store, Blobs, error) {
	dbPath, blobDir, err := parseDSN(dsn)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o700); err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	blobs, err := OpenBlobDir(blobDir)
	if err != nil {
		return nil, nil, err
	}
	st, err := OpenSQLite(ctx, dbPath)
	if err != nil {
		return nil, nil, err
	}
	return st, blobs, nil
}

// parseDSN returns the database file and blob directory dsn names.
func parseDSN(dsn string) (dbPath, blobDir string, err error) {
	if dsn == "" {
		return "", "", fmt.Errorf("empty store address: %w", ErrDSN)
	}
	scheme, _, hasScheme := strings.Cut(dsn, "://")
	if !hasScheme {
		return filepath.Join(dsn, DBFile), filepath.Join(dsn, BlobSub), nil
	}
	if scheme != "sqlite" {
		return "", "", fmt.Errorf("store address scheme %q: %w", scheme, ErrDSN)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", "", fmt.Errorf("store address: %w: %w", ErrDSN, err)
	}
	// sqlite://x.db puts the relative path in the host.
	p := u.Host + u.Path
	if p == "" {
		return "", "", fmt.Errorf("store address %q has no database path: %w", dsn, ErrDSN)
	}
	q := u.Query()
	for k := range q {
		if k != "blobs" {
			return "", "", fmt.Errorf("store address parameter %q: %w", k, ErrDSN)
		}
	}
	blobDir = q.Get("blobs")
	if blobDir == "" {
		blobDir = filepath.Join(filepath.Dir(p), BlobSub)
	}
	return p, blobDir, nil
}
