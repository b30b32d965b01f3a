package store

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/fumehood/fumehood/internal/testenv"
)

// openS3Test opens a blob store under a prefix of its own in the test
// bucket (testenv.S3); the prefix's objects are removed when t ends.
func openS3Test(t *testing.T) *s3Blobs {
	t.Helper()
	b, err := OpenS3(context.Background(), testenv.S3(t))
	if err != nil {
		t.Fatalf("OpenS3: %v", err)
	}
	s := b.(*s3Blobs)
	t.Cleanup(func() {
		for _, o := range s3Objects(t, s) {
			s.c.RemoveObject(context.Background(), s.bucket, o.Key, minio.RemoveObjectOptions{})
		}
	})
	return s
}

// s3Objects lists the objects under b's prefix.
func s3Objects(t *testing.T, b *s3Blobs) []minio.ObjectInfo {
	t.Helper()
	var objs []minio.ObjectInfo
	for o := range b.c.ListObjects(context.Background(), b.bucket, minio.ListObjectsOptions{Prefix: b.prefix + "/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		objs = append(objs, o)
	}
	return objs
}

func TestOpenS3Address(t *testing.T) {
	ctx := context.Background()
	for _, addr := range []string{
		"s3://",
		"s3://bucket",
		"s3://bucket?endpoint=ftp://127.0.0.1:9",
		"s3://bucket?endpoint=http://127.0.0.1:9/path",
		"s3://bucket?endpoint=http://127.0.0.1:9&acl=public",
		"s3://key:secret@bucket?endpoint=http://127.0.0.1:9",
		"gs://bucket",
	} {
		if _, err := OpenBlobs(ctx, addr); !errors.Is(err, ErrDSN) {
			t.Errorf("OpenBlobs(%q): err %v, want ErrDSN", addr, err)
		}
	}
	// A bucket that does not exist is refused.
	u, _ := url.Parse(testenv.S3(t))
	u.Host = "no-such-bucket"
	if _, err := OpenBlobs(ctx, u.String()); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("OpenBlobs of a missing bucket: err %v", err)
	}
}
