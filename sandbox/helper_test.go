package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fumehood/fumehood/internal/testenv"
)

// The integration tests run in an image packed (with packRootfs, the code
// BuildImage uses) from the prototype rootfs the image recipe built. The tar
// and the imported image are kept across test runs.
const (
	protoRootfs  = "/var/cache/fumehood/proto/rootfs"
	testImageTar = "/var/cache/fumehood/test/sandbox-proto.tar"
	testImageRef = "fumehood.local/sandbox:proto-test"
)

var (
	imageOnce sync.Once
	imageErr  error
)

// newTestSandbox returns a Sandbox on the test image with its own state
// dir, or skips (fails in CI) without root and containerd.
func newTestSandbox(t testing.TB) *Sandbox {
	t.Helper()
	addr := testenv.Containerd(t)
	_, err := os.Stat(protoRootfs)
	testenv.Require(t, err == nil, "prototype rootfs at "+protoRootfs)
	ctx := context.Background()
	s, err := New(ctx, Config{Address: addr, Image: testImageRef, StateDir: stateDir(t)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	imageOnce.Do(func() {
		if _, err := os.Stat(testImageTar); err != nil {
			if err := os.MkdirAll(filepath.Dir(testImageTar), 0o755); err != nil {
				imageErr = err
				return
			}
			if imageErr = packRootfs(ctx, protoRootfs, testImageTar); imageErr != nil {
				return
			}
		}
		imageErr = s.ImportImage(ctx, testImageTar, testImageRef)
	})
	if imageErr != nil {
		t.Fatalf("test image: %v", imageErr)
	}
	return s
}

// stateDir is a fresh state dir for t, or the one a parent test process
// passed down.
func stateDir(t testing.TB) string {
	if d := os.Getenv("FUMEHOOD_TEST_STATE"); d != "" {
		return d
	}
	return t.TempDir()
}

// phase is a phase with the test defaults; id is made unique per run.
func phase(t testing.TB, args ...string) Phase {
	return Phase{
		ID:      fmt.Sprintf("t%d-%d", os.Getpid(), time.Now().UnixNano()),
		Args:    args,
		Timeout: time.Minute,
		Limits:  Limits{MemoryBytes: 256 << 20, Pids: 128, CPUs: 1},
	}
}

// run runs p and fails t on an error; it returns the result and output.
func run(t *testing.T, s *Sandbox, p Phase) (Result, string) {
	t.Helper()
	var out bytes.Buffer
	p.Output = &out
	res, err := s.Run(context.Background(), p, nil)
	if err != nil {
		t.Fatalf("Run %v: %v (output %q)", p.Args, err, out.String())
	}
	return res, out.String()
}

// workspace returns a workspace of size bytes, closed at the end of t.
func workspace(t *testing.T, s *Sandbox, id string, size int64) *Workspace {
	t.Helper()
	w, err := s.NewWorkspace(id, size)
	if err != nil {
		t.Fatalf("NewWorkspace: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("workspace Close: %v", err)
		}
	})
	return w
}
