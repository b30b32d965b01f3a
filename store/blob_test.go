package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/minio/minio-go/v7"
)

// blobBackend is a Blobs implementation as the blob contract tests use it.
type blobBackend struct {
	// open returns a fresh, empty store.
	open func(t *testing.T) Blobs
	// stored returns the size of each stored blob by its key (blobKey),
	// and fails t if a temporary file is left.
	stored func(t *testing.T, b Blobs) map[string]int64
	// overwrite replaces the stored form of digest with f of it.
	overwrite func(t *testing.T, b Blobs, digest string, f func([]byte) []byte)
}

// forEachBlobs runs test once per Blobs implementation: a directory, and
// an S3 bucket (testenv.S3: a failure in CI when there is none).
func forEachBlobs(t *testing.T, test func(t *testing.T, bb blobBackend)) {
	t.Run("dir", func(t *testing.T) {
		test(t, blobBackend{
			open: func(t *testing.T) Blobs {
				b, err := OpenBlobDir(t.TempDir())
				if err != nil {
					t.Fatalf("OpenBlobDir: %v", err)
				}
				return b
			},
			stored: func(t *testing.T, b Blobs) map[string]int64 {
				dir := b.(*blobDir).dir
				if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
					t.Errorf("temporary files left: %v", tmp)
				}
				files, _ := filepath.Glob(filepath.Join(dir, "sha256", "*", "*"))
				out := map[string]int64{}
				for _, f := range files {
					fi, err := os.Stat(f)
					if err != nil {
						t.Fatal(err)
					}
					rel, _ := filepath.Rel(dir, f)
					out[filepath.ToSlash(rel)] = fi.Size()
				}
				return out
			},
			overwrite: func(t *testing.T, b Blobs, digest string, f func([]byte) []byte) {
				p, _ := b.(*blobDir).blobPath(digest)
				stored, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f(stored), 0o600); err != nil {
					t.Fatal(err)
				}
			},
		})
	})
	t.Run("s3", func(t *testing.T) {
		// Puts compress to temporary files in TMPDIR: one of the test's
		// own, to see that none is left.
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		test(t, blobBackend{
			open: func(t *testing.T) Blobs { return openS3Test(t) },
			stored: func(t *testing.T, b Blobs) map[string]int64 {
				if left, _ := os.ReadDir(tmp); len(left) != 0 {
					t.Errorf("temporary files left: %v", left)
				}
				s := b.(*s3Blobs)
				out := map[string]int64{}
				for _, o := range s3Objects(t, s) {
					out[strings.TrimPrefix(o.Key, s.prefix+"/")] = o.Size
				}
				return out
			},
			overwrite: func(t *testing.T, b Blobs, digest string, f func([]byte) []byte) {
				s := b.(*s3Blobs)
				k, _ := s.key(digest)
				obj, err := s.c.GetObject(context.Background(), s.bucket, k, minio.GetObjectOptions{})
				if err != nil {
					t.Fatal(err)
				}
				stored, err := io.ReadAll(obj)
				obj.Close()
				if err != nil {
					t.Fatal(err)
				}
				bad := f(stored)
				if _, err := s.c.PutObject(context.Background(), s.bucket, k, bytes.NewReader(bad), int64(len(bad)), minio.PutObjectOptions{}); err != nil {
					t.Fatal(err)
				}
			},
		})
	})
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// traceLike is JSONL of the kind traces are made of.
func traceLike(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		b.WriteString(`{"seq":` + strings.Repeat("1", i%5+1) + `,"kind":"open","pid":4242,"comm":"node","path":"/home/alex/.npmrc","flags":"O_RDONLY"}` + "\n")
	}
	return b.Bytes()
}

func readAll(t *testing.T, b Blobs, digest string) ([]byte, error) {
	t.Helper()
	rc, err := b.Get(context.Background(), digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestBlobRoundTrip(t *testing.T) {
	forEachBlobs(t, func(t *testing.T, bb blobBackend) {
		b := bb.open(t)
		ctx := context.Background()
		tests := []struct {
			name string
			data []byte
			// maxRatio bounds the stored size over the given size.
			maxRatio float64
		}{
			{"empty", nil, 0},
			{"small", []byte("hello"), 0},
			{"trace 1 MiB", traceLike(1 << 13), 0.05},
			{"random 1 MiB", randomBytes(1 << 20), 1.01},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				digest, err := b.Put(ctx, bytes.NewReader(tt.data))
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
				if got, want := digest, sha(tt.data); got != want {
					t.Errorf("digest %s, want %s", got, want)
				}
				got, err := readAll(t, b, digest)
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if !bytes.Equal(got, tt.data) {
					t.Errorf("Get returned %d bytes, want the %d given", len(got), len(tt.data))
				}
				k, _ := blobKey(digest)
				size, ok := bb.stored(t, b)[k]
				if !ok {
					t.Fatalf("nothing stored under %s", k)
				}
				if limit := tt.maxRatio * float64(len(tt.data)); tt.maxRatio > 0 && float64(size) > limit {
					t.Errorf("stored %d bytes for %d, want at most %.0f", size, len(tt.data), limit)
				}
			})
		}
		// Putting the same bytes again, also at once, leaves one blob.
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { _, errs[i] = b.Put(ctx, bytes.NewReader([]byte("hello"))) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if got, want := len(bb.stored(t, b)), len(tests); got != want {
			t.Errorf("%d blobs stored, want %d", got, want)
		}
	})
}

func TestBlobCorruption(t *testing.T) {
	data := traceLike(2000)
	zst := func(b []byte) []byte {
		enc, _ := zstd.NewWriter(nil)
		return enc.EncodeAll(b, nil)
	}
	tests := []struct {
		name    string
		corrupt func(stored []byte) []byte
	}{
		{"other content, well compressed", func([]byte) []byte {
			return zst(append(bytes.Clone(data[:len(data)-1]), 'X'))
		}},
		{"truncated content", func([]byte) []byte { return zst(data[:len(data)/2]) }},
		{"flipped compressed byte", func(s []byte) []byte { s = bytes.Clone(s); s[len(s)/2] ^= 0xff; return s }},
		{"truncated file", func(s []byte) []byte { return s[:len(s)/2] }},
		{"garbage", func([]byte) []byte { return []byte("not zstd at all") }},
		{"empty file", func([]byte) []byte { return nil }},
	}
	forEachBlobs(t, func(t *testing.T, bb blobBackend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := bb.open(t)
				digest, err := b.Put(context.Background(), bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				bb.overwrite(t, b, digest, tt.corrupt)
				got, err := readAll(t, b, digest)
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("reading a corrupt blob: %d bytes, err %v, want ErrCorrupt", len(got), err)
				}
				// Putting the bytes again repairs it.
				if _, err := b.Put(context.Background(), bytes.NewReader(data)); err != nil {
					t.Fatal(err)
				}
				if got, err := readAll(t, b, digest); err != nil || !bytes.Equal(got, data) {
					t.Errorf("after a repairing Put: %d bytes, %v", len(got), err)
				}
			})
		}
	})
}

func TestBlobErrors(t *testing.T) {
	forEachBlobs(t, func(t *testing.T, bb blobBackend) {
		b := bb.open(t)
		ctx := context.Background()
		tests := []struct {
			digest string
			want   error
		}{
			{sha([]byte("never stored")), ErrNotFound},
			{"sha256:../../../../etc/passwd", ErrDigest},
			{"sha256:" + strings.Repeat("A", 64), ErrDigest},
			{"sha256:" + strings.Repeat("a", 63), ErrDigest},
			{"sha512:" + strings.Repeat("a", 64), ErrDigest},
			{strings.Repeat("a", 64), ErrDigest},
			{"", ErrDigest},
		}
		for _, tt := range tests {
			if _, err := b.Get(ctx, tt.digest); !errors.Is(err, tt.want) {
				t.Errorf("Get(%q): err %v, want %v", tt.digest, err, tt.want)
			}
		}

		// A Put that fails mid-stream or is cancelled leaves nothing behind.
		failing := io.MultiReader(bytes.NewReader(traceLike(100)), iotestErrReader{})
		if _, err := b.Put(ctx, failing); err == nil {
			t.Errorf("Put of a failing reader: no error")
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := b.Put(cctx, bytes.NewReader(traceLike(100))); !errors.Is(err, context.Canceled) {
			t.Errorf("Put with a cancelled context: err %v, want context.Canceled", err)
		}
		if stored := bb.stored(t, b); len(stored) != 0 {
			t.Errorf("blobs stored by failed Puts: %v", stored)
		}
	})
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func BenchmarkBlobPutGet(b *testing.B) {
	dir := b.TempDir()
	bl, err := OpenBlobDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	data := traceLike(40000) // about 4 MiB of trace
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		d, err := bl.Put(context.Background(), bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		rc, err := bl.Get(context.Background(), d)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}
