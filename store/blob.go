package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// blobDir is Blobs in a local directory (see OpenBlobDir).
type blobDir struct {
	dir string
}

// OpenBlobDir opens (creating it if needed) the blob directory dir. Each
// blob is the zstd compression of its bytes at
// DIR/sha256/<first two hex digits>/<hex>.zst, written to a temporary file
// in DIR/tmp, synced and renamed into place, so that a blob is either
// absent or whole, and two writers of the same bytes leave one file. Get
// verifies the bytes against the digest as they are read: a blob changed on
// disk fails with ErrCorrupt, at the latest at EOF, so a reader must read to
// EOF before trusting what it read.
func OpenBlobDir(dir string) (Blobs, error) {
	for _, d := range []string{dir, filepath.Join(dir, "sha256"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open blob dir: %w", err)
		}
	}
	return &blobDir{dir: dir}, nil
}

const digestPrefix = "sha256:"

// blobKey returns the path of digest under a blob store's root,
// sha256/<first two hex digits>/<hex>.zst, or ErrDigest if digest is not a
// well-formed sha256 digest (which also keeps any path out of it).
func blobKey(digest string) (string, error) {
	h, ok := strings.CutPrefix(digest, digestPrefix)
	if !ok || len(h) != sha256.Size*2 {
		return "", fmt.Errorf("%q: %w", digest, ErrDigest)
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", fmt.Errorf("%q: %w", digest, ErrDigest)
		}
	}
	return "sha256/" + h[:2] + "/" + h + ".zst", nil
}

// blobPath returns the file of digest (see blobKey).
func (b *blobDir) blobPath(digest string) (string, error) {
	k, err := blobKey(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(b.dir, filepath.FromSlash(k)), nil
}

// compressTemp writes the zstd compression of r's bytes to a new temporary
// file in dir (the system's temporary directory if ""), and returns the
// file, open and unsynced, and the digest of the bytes. It removes the file
// when it fails.
func compressTemp(ctx context.Context, dir string, r io.Reader) (_ *os.File, digest string, retErr error) {
	tmp, err := os.CreateTemp(dir, "put-*")
	if err != nil {
		return nil, "", err
	}
	defer func() {
		if retErr != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	zw, err := zstd.NewWriter(tmp, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(zw, h), ctxReader{ctx, r}); err != nil {
		zw.Close()
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return tmp, digestPrefix + hex.EncodeToString(h.Sum(nil)), nil
}

// Put stores the bytes of r and returns their digest.
func (b *blobDir) Put(ctx context.Context, r io.Reader) (_ string, retErr error) {
	tmp, digest, err := compressTemp(ctx, filepath.Join(b.dir, "tmp"), r)
	if err != nil {
		return "", fmt.Errorf("put blob: %w", err)
	}
	defer func() {
		if retErr != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("put blob: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("put blob: %w", err)
	}
	p, _ := b.blobPath(digest)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("put blob: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", fmt.Errorf("put blob: %w", err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return "", fmt.Errorf("put blob: %w", err)
	}
	return digest, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Get returns a reader of the bytes stored under digest: ErrNotFound if
// there are none, ErrCorrupt from Read if they do not decompress or do
// not match the digest.
func (b *blobDir) Get(ctx context.Context, digest string) (io.ReadCloser, error) {
	p, err := b.blobPath(digest)
	if err != nil {
		return nil, fmt.Errorf("get blob: %w", err)
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("get blob %s: %w", digest, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", digest, err)
	}
	rc, err := newVerifyingReader(ctx, f, digest)
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", digest, err)
	}
	return rc, nil
}

// newVerifyingReader returns a reader of the bytes whose compression src
// holds, checked against digest; closing it closes src. It closes src when
// it fails.
func newVerifyingReader(ctx context.Context, src io.ReadCloser, digest string) (io.ReadCloser, error) {
	zr, err := getDecoder(src)
	if err != nil {
		src.Close()
		return nil, err
	}
	return &verifyingReader{ctx: ctx, src: src, zr: zr, h: sha256.New(), digest: digest}, nil
}

// decoders holds idle zstd decoders: a new one allocates its window and
// tables (about half the cost of reading a 4,400-event trace), Reset
// reuses them.
var decoders sync.Pool

// getDecoder returns a decoder of r, from the pool when one is idle.
func getDecoder(r io.Reader) (*zstd.Decoder, error) {
	if zr, ok := decoders.Get().(*zstd.Decoder); ok {
		if err := zr.Reset(r); err != nil {
			zr.Close()
			return nil, err
		}
		return zr, nil
	}
	return zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
}

// putDecoder returns zr to the pool, detached from its input so the pool
// keeps no file alive.
func putDecoder(zr *zstd.Decoder) {
	if zr.Reset(nil) != nil {
		zr.Close()
		return
	}
	decoders.Put(zr)
}

// verifyingReader decompresses a stored blob and checks its digest at EOF.
type verifyingReader struct {
	ctx    context.Context
	src    io.ReadCloser
	zr     *zstd.Decoder
	h      hash.Hash
	digest string
	err    error // sticky
	closed bool
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if err := v.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := v.zr.Read(p)
	v.h.Write(p[:n])
	switch {
	case err == io.EOF:
		if got := digestPrefix + hex.EncodeToString(v.h.Sum(nil)); got != v.digest {
			v.err = fmt.Errorf("blob %s: read bytes of %s: %w", v.digest, got, ErrCorrupt)
			return n, v.err
		}
		v.err = io.EOF
	case err != nil:
		v.err = fmt.Errorf("blob %s: %w: %w", v.digest, ErrCorrupt, err)
	}
	return n, v.err
}

// Close returns the decoder to the pool and closes the source; closing
// again does nothing.
func (v *verifyingReader) Close() error {
	if v.closed {
		return nil
	}
	v.closed = true
	putDecoder(v.zr)
	v.zr = nil
	return v.src.Close()
}
