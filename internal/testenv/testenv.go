// Package testenv gates tests that need the real machine: root, containerd,
// eBPF, Redis, a browser. Outside CI a missing requirement skips the test; in CI
// (CI=true) it fails it, so that a broken CI set-up cannot pass by skipping.
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sys/unix"
)

// ContainerdAddress is the containerd socket the integration tests use,
// FUMEHOOD_CONTAINERD or containerd's default.
func ContainerdAddress() string {
	if a := os.Getenv("FUMEHOOD_CONTAINERD"); a != "" {
		return a
	}
	return "/run/containerd/containerd.sock"
}

// InCI reports whether the tests run in CI (CI=true).
func InCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// Require fails (in CI) or skips (elsewhere) t unless ok.
func Require(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if InCI() {
		t.Fatalf("requirement missing in CI: %s", what)
	}
	t.Skipf("requirement missing: %s", what)
}

// Root requires uid 0.
func Root(t testing.TB) {
	t.Helper()
	Require(t, os.Geteuid() == 0, "root")
}

// Containerd requires root and a containerd socket that accepts
// connections, and returns its address.
func Containerd(t testing.TB) string {
	t.Helper()
	Root(t)
	addr := ContainerdAddress()
	c, err := net.DialTimeout("unix", addr, 2*time.Second)
	if err == nil {
		c.Close()
	}
	Require(t, err == nil, "containerd at "+addr)
	return addr
}

// BPF requires root and a kernel with BTF.
func BPF(t testing.TB) {
	t.Helper()
	Root(t)
	_, err := os.Stat("/sys/kernel/btf/vmlinux")
	Require(t, err == nil, "kernel BTF at /sys/kernel/btf/vmlinux")
}

// Redis requires a Redis server at FUMEHOOD_TEST_REDIS (default
// 127.0.0.1:6379) and returns its address.
func Redis(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("FUMEHOOD_TEST_REDIS")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
	}
	Require(t, err == nil, "redis at "+addr)
	return addr
}

// Tool requires an executable on PATH (npm, node ...) and returns its
// path.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	Require(t, err == nil, name+" on PATH")
	return p
}

// Corpus requires the shared corpus of samples and returns its directory:
// FUMEHOOD_CORPUS, else shared/corpus beside the repository (the parent
// of the directory holding go.mod).
func Corpus(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("FUMEHOOD_CORPUS")
	if dir == "" {
		root, err := filepath.Abs(".")
		for err == nil {
			if _, serr := os.Stat(filepath.Join(root, "go.mod")); serr == nil {
				break
			}
			if parent := filepath.Dir(root); parent != root {
				root = parent
			} else {
				err = os.ErrNotExist
			}
		}
		dir = filepath.Join(filepath.Dir(root), "shared", "corpus")
	}
	_, err := os.Stat(filepath.Join(dir, "index.json"))
	Require(t, err == nil, "the shared corpus at "+dir+" (FUMEHOOD_CORPUS)")
	return dir
}

// FlushRedisDB empties database db of the Redis at addr (a test's own
// database: each package uses another).
func FlushRedisDB(t testing.TB, addr string, db int) {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	defer rc.Close()
	if err := rc.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("flush redis %s db %d: %v", addr, db, err)
	}
}

// WaitFor polls cond every 100 ms until it holds, and fails tb after bound,
// naming what it waited for. A bound is a generous guard against a hang
// (minutes, at least the production limit of what is awaited), never an
// expectation of how fast this machine is: make test-slow runs the suite on
// a machine slowed on purpose to keep it so.
func WaitFor(tb testing.TB, bound time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up after %v waiting for %s", bound, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// StateDir returns a runtime state directory (workspaces, network
// namespaces, mounts) named for name that belongs to this test process
// alone, /run/fumehood-NAME-PID: the integration tests of several packages,
// or of several checkouts, then run at once without counting each other's
// runs as leftovers. Call RemoveStateDirs from TestMain when the tests end.
func StateDir(name string) string {
	return fmt.Sprintf("/run/fumehood-%s-%d", name, os.Getpid())
}

// RemoveStateDirs unmounts what is mounted under this process's state
// directories (the network namespace directory is a mount point, as
// ip-netns leaves /run/netns) and removes them.
func RemoveStateDirs() {
	dirs, _ := filepath.Glob(fmt.Sprintf("/run/fumehood-*-%d", os.Getpid()))
	if len(dirs) == 0 {
		return
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	lines := strings.Split(string(mounts), "\n")
	for i := len(lines) - 1; i >= 0; i-- { // later mounts first
		f := strings.Fields(lines[i])
		if len(f) < 5 {
			continue
		}
		for _, d := range dirs {
			if f[4] == d || strings.HasPrefix(f[4], d+"/") {
				unix.Unmount(f[4], unix.MNT_DETACH) //nolint:errcheck // best effort, at exit
			}
		}
	}
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}

// Chromium requires a headless-capable Chromium (Debian's chromium, which
// deploy/setup.sh installs) and returns its path.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Require(t, false, "chromium on PATH (apt-get install chromium)")
	return ""
}
