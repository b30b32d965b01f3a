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

// An Option changes what Open opens.
type Option func(*options)

type options struct {
	blobs string
}

// WithBlobs names the blob store, an address of OpenBlobs, in place of the
// default of the store address. An empty address keeps the default.
func WithBlobs(addr string) Option {
	return func(o *options) { o.blobs = addr }
}

// Open opens the store that dsn names, and its blob store:
//
//	DIR                        DIR/fumehood.db and DIR/blobs (DIR is created)
//	sqlite://PATH              PATH, and blobs beside it in DIR(PATH)/blobs
//	sqlite://PATH?blobs=DIR    PATH, and blobs in DIR
//	postgres://...             the PostgreSQL database (OpenPostgres); the
//	                           blob store must be named WithBlobs, since a
//	                           farm on a shared database has no local default
//
// PATH may be absolute (sqlite:///var/lib/fumehood/x.db) or relative
// (sqlite://x.db). Any other scheme is ErrDSN.
func Open(ctx context.Context, dsn string, opts ...Option) (Store, Blobs, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	db, blobAddr, postgres, err := parseDSN(dsn)
	if err != nil {
		return nil, nil, err
	}
	if o.blobs != "" {
		blobAddr = o.blobs
	}
	if blobAddr == "" {
		return nil, nil, fmt.Errorf("a postgres store needs a blob store address (--blobs): %w", ErrDSN)
	}
	blobs, err := OpenBlobs(ctx, blobAddr)
	if err != nil {
		return nil, nil, err
	}
	st, err := openDB(ctx, db, postgres)
	if err != nil {
		return nil, nil, err
	}
	return st, blobs, nil
}

// OpenStore opens the store that dsn names (see Open) without its blob
// store.
func OpenStore(ctx context.Context, dsn string) (Store, error) {
	db, _, postgres, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return openDB(ctx, db, postgres)
}

// openDB opens the database of a parsed store address.
func openDB(ctx context.Context, db string, postgres bool) (Store, error) {
	if postgres {
		return OpenPostgres(ctx, db)
	}
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return OpenSQLite(ctx, db)
}

// OpenBlobs opens the blob store that addr names: a directory
// (OpenBlobDir) or s3://BUCKET?endpoint=URL, a bucket of an S3-compatible
// object store (OpenS3).
func OpenBlobs(ctx context.Context, addr string) (Blobs, error) {
	scheme, _, ok := strings.Cut(addr, "://")
	switch {
	case !ok:
		return OpenBlobDir(addr)
	case scheme == "s3":
		return OpenS3(ctx, addr)
	}
	return nil, fmt.Errorf("blob store address scheme %q: %w", scheme, ErrDSN)
}

// parseDSN returns the database and the default blob store address dsn
// names, and whether the database is PostgreSQL (db is then dsn itself and
// there is no default blob store).
func parseDSN(dsn string) (db, blobs string, postgres bool, err error) {
	if dsn == "" {
		return "", "", false, fmt.Errorf("empty store address: %w", ErrDSN)
	}
	scheme, _, hasScheme := strings.Cut(dsn, "://")
	switch {
	case !hasScheme:
		return filepath.Join(dsn, DBFile), filepath.Join(dsn, BlobSub), false, nil
	case scheme == "postgres" || scheme == "postgresql":
		return dsn, "", true, nil
	case scheme != "sqlite":
		return "", "", false, fmt.Errorf("store address scheme %q: %w", scheme, ErrDSN)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", "", false, fmt.Errorf("store address: %w: %w", ErrDSN, err)
	}
	// sqlite://x.db puts the relative path in the host.
	p := u.Host + u.Path
	if p == "" {
		return "", "", false, fmt.Errorf("store address %q has no database path: %w", dsn, ErrDSN)
	}
	q := u.Query()
	for k := range q {
		if k != "blobs" {
			return "", "", false, fmt.Errorf("store address parameter %q: %w", k, ErrDSN)
		}
	}
	blobs = q.Get("blobs")
	if blobs == "" {
		blobs = filepath.Join(filepath.Dir(p), BlobSub)
	}
	return p, blobs, false, nil
}
