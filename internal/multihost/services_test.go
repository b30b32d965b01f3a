package multihost

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fumehood/fumehood/internal/testenv"
)

// start runs argv, logging to LOGS/NAME.log, with the environment plus
// env.
func start(tb testing.TB, logs, name string, env []string, argv ...string) *testenv.Process {
	tb.Helper()
	return testenv.StartProcess(tb, filepath.Join(logs, name+".log"), env, argv...)
}

// freePort returns a port nothing listens on at addr.
func freePort(tb testing.TB, addr string) string {
	tb.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// redisServer is the run's Redis: append-only, fsync every second, no
// eviction, as the farm requires; restarted in place on its directory.
type redisServer struct {
	addr, dir, logs string
	p               *testenv.Process
}

func startRedis(tb testing.TB, logs string) *redisServer {
	tb.Helper()
	r := &redisServer{addr: net.JoinHostPort(serviceAddr, freePort(tb, serviceAddr)), dir: tb.TempDir(), logs: logs}
	r.start(tb)
	return r
}

func (r *redisServer) start(tb testing.TB) {
	tb.Helper()
	host, port, _ := net.SplitHostPort(r.addr)
	r.p = start(tb, r.logs, "redis", nil, "redis-server", "--bind", host, "--port", port, "--dir", r.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction",
		"--protected-mode", "no")
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	defer c.Close()
	testenv.WaitFor(tb, time.Minute, "redis-server at "+r.addr, func() bool { return c.Ping(context.Background()).Err() == nil })
}

// restart ends Redis as a shutdown does (SIGTERM: it writes its
// append-only file out first) and starts it again on the same directory.
func (r *redisServer) restart(tb testing.TB) {
	tb.Helper()
	r.p.Stop(time.Minute)
	r.start(tb)
}

// stopService stops the server of kind (postgres, s3) in dir and removes
// dir; it runs at teardown, a signal's included, so it reports nothing.
func stopService(kind, dir string) {
	exec.Command("../../deploy/services.sh", kind, "stop", dir).Run()
	os.RemoveAll(dir)
}

// removeStaleServices stops the servers a killed run left running
// (pg_ctl and versitygw run detached, so they outlive the test process)
// and removes their directories.
func removeStaleServices() {
	for _, kind := range []struct{ dir, name string }{{"pg", "postgres"}, {"s3", "s3"}} {
		dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "fumehood-multihost-"+kind.dir+"-*"))
		for _, d := range dirs {
			stopService(kind.name, d)
		}
	}
}

// serviceDir is a directory for a server run as another user (the
// postgres user cannot enter a test's private temporary directory).
func serviceDir(tb testing.TB, name string) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "fumehood-multihost-"+name+"-")
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

// startPostgres starts a cluster of the run's own on the service address
// that lets the hosts in by password, and returns its directory and the
// URL every farm process uses (TCP).
func startPostgres(tb testing.TB) (dir, dsn string) {
	tb.Helper()
	dir = serviceDir(tb, "pg")
	port := freePort(tb, serviceAddr)
	testenv.Services(tb, "postgres", "start", dir, port, serviceAddr, hostsNet)
	pw, err := os.ReadFile(filepath.Join(dir, "password"))
	if err != nil {
		tb.Fatal(err)
	}
	return dir, fmt.Sprintf("postgres://fumehood:%s@%s/postgres?sslmode=disable", strings.TrimSpace(string(pw)), net.JoinHostPort(serviceAddr, port))
}

// startS3 starts an S3 server of the run's own on the service address and
// returns its directory, the blob store address and its credentials as
// environment variables.
func startS3(tb testing.TB) (dir, blobs string, env []string) {
	tb.Helper()
	dir = serviceDir(tb, "s3")
	blobs = testenv.Services(tb, "s3", "start", dir, freePort(tb, serviceAddr), serviceAddr)
	b, err := os.ReadFile(filepath.Join(dir, "credentials"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		env = append(env, strings.TrimSpace(line))
	}
	return dir, blobs, env
}

// postmaster returns the pid of the cluster's server in dir.
func postmaster(dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(first)
	return pid
}

// pidFile returns the pid written in file.
func pidFile(file string) int {
	b, _ := os.ReadFile(file)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// cpuSeconds is the processor time pid and its descendants have used,
// those that ended and were waited for included (utime, stime, cutime,
// cstime of /proc/PID/stat, at 100 ticks a second); 0 when pid is 0 or
// gone.
func cpuSeconds(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	children := map[int][]int{}
	ticks := map[int]float64{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command, which is in parentheses and may
		// hold spaces: state ppid ... utime(14) stime cutime cstime.
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], p)
		for _, k := range f[11:15] {
			v, _ := strconv.ParseFloat(k, 64)
			ticks[p] += v
		}
	}
	total := 0.0
	for todo := []int{pid}; len(todo) > 0; {
		p := todo[len(todo)-1]
		todo = append(todo[:len(todo)-1], children[p]...)
		total += ticks[p]
	}
	return total / 100
}

// sandboxCPU is the processor time of every sandbox container in
// containerd's fumehood namespace since the machine started (cgroup v1
// cpuacct, which keeps what removed containers used): the run's and
// those of any other program sharing containerd meanwhile.
func sandboxCPU() float64 {
	b, _ := os.ReadFile("/sys/fs/cgroup/cpuacct/fumehood/cpuacct.usage")
	ns, _ := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	return ns / 1e9
}

// machineCPU is the processor time all cores have been busy since the
// machine started (/proc/stat: user, nice, system, irq, softirq and
// steal; guest time is within user).
func machineCPU() float64 {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	busy := 0.0
	for i, f := range strings.Fields(line)[1:] {
		if i == 3 || i == 4 || i > 7 { // idle, iowait, guest
			continue
		}
		v, _ := strconv.ParseFloat(f, 64)
		busy += v
	}
	return busy / 100
}

// sumOf returns the sum of the samples at the Prometheus endpoint url of
// the series whose name and labels match pattern (a regular expression),
// or -1 when url does not answer.
func sumOf(url, pattern string) float64 {
	resp, err := http.Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	n := 0.0
	for _, m := range regexp.MustCompile(`(?m)^`+pattern+` (\S+)$`).FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		n += v
	}
	return n
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func dumpLogs(tb testing.TB, dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		tb.Logf("--- %s (end)\n%s", e.Name(), b)
	}
}
