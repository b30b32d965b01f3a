package store

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// s3Blobs is Blobs in a bucket of an S3-compatible object store (see
// OpenS3).
type s3Blobs struct {
	c              *minio.Client
	bucket, prefix string
}

// OpenS3 opens the blob store in an S3 bucket that addr names:
//
//	s3://BUCKET[/PREFIX]?endpoint=URL[&region=REGION]
//
// URL is the object store's, http:// or https:// (a bare HOST:PORT is
// https). The credentials are AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
// (or MINIO_ROOT_USER and MINIO_ROOT_PASSWORD) of the environment, never
// part of the address, which is logged. The bucket must exist.
//
// Blobs are stored as in a blob directory (OpenBlobDir): the zstd
// compression of the bytes under PREFIX/sha256/<2 hex>/<hex>.zst, verified
// against the digest as they are read. An object appears whole or not at
// all (a PUT is atomic), so two writers of the same bytes leave one.
func OpenS3(ctx context.Context, addr string) (Blobs, error) {
	u, err := url.Parse(addr)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("blob store address: want s3://BUCKET?endpoint=URL: %w", ErrDSN)
	}
	q := u.Query()
	for k := range q {
		if k != "endpoint" && k != "region" {
			return nil, fmt.Errorf("blob store address parameter %q: %w", k, ErrDSN)
		}
	}
	ep := q.Get("endpoint")
	if ep == "" {
		return nil, fmt.Errorf("blob store address %s: no endpoint=URL: %w", addr, ErrDSN)
	}
	if !strings.Contains(ep, "://") {
		ep = "https://" + ep
	}
	eu, err := url.Parse(ep)
	if err != nil || eu.Host == "" || eu.Scheme != "http" && eu.Scheme != "https" || strings.Trim(eu.Path, "/") != "" {
		return nil, fmt.Errorf("blob store endpoint %q: want http(s)://HOST[:PORT]: %w", ep, ErrDSN)
	}
	c, err := minio.New(eu.Host, &minio.Options{
		// The environment only: no instance metadata service is asked.
		Creds:  credentials.NewChainCredentials([]credentials.Provider{&credentials.EnvAWS{}, &credentials.EnvMinio{}}),
		Secure: eu.Scheme == "https",
		Region: q.Get("region"),
	})
	if err != nil {
		return nil, fmt.Errorf("blob store %s: %w", addr, err)
	}
	ok, err := c.BucketExists(ctx, u.Host)
	if err != nil {
		return nil, fmt.Errorf("blob store %s: %w", addr, err)
	}
	if !ok {
		return nil, fmt.Errorf("blob store %s: bucket %q does not exist", addr, u.Host)
	}
	return &s3Blobs{c: c, bucket: u.Host, prefix: strings.Trim(u.Path, "/")}, nil
}

// key returns the object of digest.
func (b *s3Blobs) key(digest string) (string, error) {
	k, err := blobKey(digest)
	if err != nil {
		return "", err
	}
	return path.Join(b.prefix, k), nil
}

// Put compresses r to a temporary file while hashing it (the object's name
// is its digest, known at the end) and uploads the file.
func (b *s3Blobs) Put(ctx context.Context, r io.Reader) (string, error) {
	tmp, digest, err := compressTemp(ctx, "", r)
	if err != nil {
		return "", fmt.Errorf("put blob: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", fmt.Errorf("put blob: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("put blob: %w", err)
	}
	k, _ := b.key(digest)
	if _, err := b.c.PutObject(ctx, b.bucket, k, tmp, size, minio.PutObjectOptions{ContentType: "application/zstd"}); err != nil {
		return "", fmt.Errorf("put blob %s: %w", digest, err)
	}
	return digest, nil
}

// Get returns a reader of the bytes stored under digest: ErrNotFound if
// there are none, ErrCorrupt from Read if they do not decompress or do not
// match the digest.
func (b *s3Blobs) Get(ctx context.Context, digest string) (io.ReadCloser, error) {
	k, err := b.key(digest)
	if err != nil {
		return nil, fmt.Errorf("get blob: %w", err)
	}
	obj, err := b.c.GetObject(ctx, b.bucket, k, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", digest, err)
	}
	// Stat sends the request: a missing object fails here, not in Read.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, fmt.Errorf("get blob %s: %w", digest, ErrNotFound)
		}
		return nil, fmt.Errorf("get blob %s: %w", digest, err)
	}
	rc, err := newVerifyingReader(ctx, obj, digest)
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", digest, err)
	}
	return rc, nil
}
