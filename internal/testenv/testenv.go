// Package testenv gates tests that need the real machine: root, containerd,
// eBPF, Redis, PostgreSQL, an S3-compatible object store, a browser. Outside
// CI a missing requirement skips the test; in CI
// (CI=true) it fails it, so that a broken CI set-up cannot pass by skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// Postgres requires a PostgreSQL server on which tests may create and drop
// databases, at the libpq URL FUMEHOOD_TEST_POSTGRES or the private cluster
// deploy/setup.sh farm starts, and returns that URL.
func Postgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("FUMEHOOD_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://fumehood@/postgres?host=/var/cache/fumehood/postgres/run&port=5439"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = errors.Join(c.Ping(ctx), c.Close(ctx))
	}
	Require(t, err == nil, fmt.Sprintf("postgres at %s (FUMEHOOD_TEST_POSTGRES; deploy/setup.sh farm): %v", dsn, err))
	return dsn
}

// PostgresSchema requires PostgreSQL (Postgres) and returns the URL of a
// new, empty schema in its database, dropped when t ends: code that names
// no schema in its queries sees it as a database of its own, at a fraction
// of the cost of one. Its commits do not wait for the disk
// (synchronous_commit off: a crash of the server may lose the last of them,
// which no test sees).
func PostgresSchema(t testing.TB) string {
	t.Helper()
	admin := Postgres(t)
	id := make([]byte, 6)
	rand.Read(id)
	name := "fumehood_test_" + hex.EncodeToString(id)
	// A connection per statement: a test may restart the server between.
	exec := func(q string) error {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, q)
		return err
	}
	if err := exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		if err := exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}

// S3 requires an S3-compatible object store with a bucket the tests may
// write to, at the blob store address FUMEHOOD_TEST_S3 or the server
// deploy/setup.sh farm starts, and returns that address under a new,
// random prefix (s3://BUCKET/test-RANDOM?endpoint=...). The credentials
// are AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when set, else those of
// the file FUMEHOOD_TEST_S3_CREDENTIALS (default: setup's), which S3 sets
// for t.
func S3(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("FUMEHOOD_TEST_S3")
	if addr == "" {
		addr = "s3://fumehood?endpoint=http://127.0.0.1:9439"
	}
	u, err := url.Parse(addr)
	Require(t, err == nil, fmt.Sprintf("an S3 address in FUMEHOOD_TEST_S3: %v", err))
	ep, err := url.Parse(u.Query().Get("endpoint"))
	Require(t, err == nil && ep.Host != "", fmt.Sprintf("an endpoint=URL in the S3 address %s", addr))
	c, err := net.DialTimeout("tcp", ep.Host, 2*time.Second)
	if err == nil {
		c.Close()
	}
	Require(t, err == nil, fmt.Sprintf("an S3 server at %s (FUMEHOOD_TEST_S3; deploy/setup.sh farm): %v", ep.Host, err))
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		file := os.Getenv("FUMEHOOD_TEST_S3_CREDENTIALS")
		if file == "" {
			file = "/var/cache/fumehood/s3/credentials"
		}
		b, err := os.ReadFile(file)
		Require(t, err == nil, fmt.Sprintf("S3 credentials in AWS_ACCESS_KEY_ID or %s: %v", file, err))
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
				t.Setenv(k, v)
			}
		}
	}
	id := make([]byte, 6)
	rand.Read(id)
	u.Path = "/test-" + hex.EncodeToString(id)
	return u.String()
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
		root, err := moduleRoot()
		Require(t, err == nil, fmt.Sprintf("the repository's root: %v", err))
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
	RemoveMounted(dirs...)
}

// RemoveMounted unmounts what is mounted at or under each of dirs, later
// mounts first, and removes the dirs.
func RemoveMounted(dirs ...string) {
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

// Process is a program a test runs.
type Process struct {
	Cmd  *exec.Cmd
	Done chan struct{} // closed when it has ended
	Err  error         // what Wait returned, once Done is closed
}

// StartProcess runs argv with the test's environment plus env, its output
// appended to logFile. It dies with the test process (Pdeathsig), so a
// test killed mid-run leaves none of its programs running; otherwise the
// caller stops it.
func StartProcess(tb testing.TB, logFile string, env []string, argv ...string) *Process {
	tb.Helper()
	log, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		tb.Fatalf("start %s: %v", argv[0], err)
	}
	p := &Process{Cmd: cmd, Done: make(chan struct{})}
	go func() { p.Err = cmd.Wait(); log.Close(); close(p.Done) }()
	return p
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.Done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and waits up to bound, then kills; it reports whether
// the process ended within bound.
func (p *Process) Stop(bound time.Duration) bool {
	if p.Exited() {
		return true
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Done:
		return true
	case <-time.After(bound):
		p.Cmd.Process.Kill()
		<-p.Done
		return false
	}
}

// Services runs the repository's deploy/services.sh with args (the
// private PostgreSQL and S3 servers of a test) and returns what it prints.
func Services(tb testing.TB, args ...string) string {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "deploy", "services.sh"), args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("services.sh %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// moduleRoot is the directory holding go.mod, above the working directory.
func moduleRoot() (string, error) {
	root, err := filepath.Abs(".")
	for err == nil {
		if _, serr := os.Stat(filepath.Join(root, "go.mod")); serr == nil {
			return root, nil
		}
		parent := filepath.Dir(root)
		if parent == root {
			return "", fmt.Errorf("no go.mod above the working directory: %w", os.ErrNotExist)
		}
		root = parent
	}
	return "", err
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
