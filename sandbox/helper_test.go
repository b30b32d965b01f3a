package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/fumehood/fumehood/deploy"
	"github.com/fumehood/fumehood/internal/testenv"
)

// The integration tests run in the real sandbox image, which
// deploy/setup.sh builds and imports before the tests.
var testImageRef = ImageRef(deploy.ImageRecipe)

// newTestSandbox returns a Sandbox on the test image with its own state
// dir, or skips (fails in CI) without root, containerd and the image.
func newTestSandbox(t testing.TB) *Sandbox {
	t.Helper()
	addr := testenv.Containerd(t)
	ctx := context.Background()
	s, err := New(ctx, Config{Address: addr, Image: testImageRef, StateDir: stateDir(t)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	ok, err := s.HasImage(ctx, testImageRef)
	if err != nil {
		t.Fatalf("HasImage: %v", err)
	}
	testenv.Require(t, ok, "sandbox image "+testImageRef+" imported (deploy/setup.sh deps)")
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
		Timeout: 3 * time.Minute, // the production limit: a bound, not an expectation
		Limits:  Limits{MemoryBytes: 256 << 20, Pids: 128, CPUs: DefaultCPUs()},
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
