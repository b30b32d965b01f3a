package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

func TestRunExitCode(t *testing.T) {
	s := newTestSandbox(t)
	tests := []struct {
		name string
		args []string
		want int
		out  string
	}{
		{"true", []string{"true"}, 0, ""},
		{"exit 3", []string{"sh", "-c", "exit 3"}, 3, ""},
		{"killed", []string{"sh", "-c", "kill -9 $$"}, 137, ""},
		{"output", []string{"sh", "-c", "echo to-stdout; sleep 0.1; echo to-stderr >&2; exit 1"}, 1, "to-stdout\nto-stderr\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, out := run(t, s, phase(t, tt.args...))
			if res.ExitCode != tt.want {
				t.Errorf("exit code: got %d, want %d", res.ExitCode, tt.want)
			}
			if out != tt.out {
				t.Errorf("output: got %q, want %q", out, tt.out)
			}
			if res.TimedOut || res.OOMKilled || len(res.Survivors) != 0 {
				t.Errorf("result: got %+v, want no timeout, OOM or survivors", res)
			}
		})
	}
}

func TestRunTimeout(t *testing.T) {
	s := newTestSandbox(t)
	p := phase(t, "tail", "-f", "/dev/null")
	p.Timeout = 2 * time.Second
	res, _ := run(t, s, p)
	if !res.TimedOut {
		t.Errorf("TimedOut: got false, want true")
	}
	if res.ExitCode != 137 {
		t.Errorf("exit code: got %d, want 137 (SIGKILL)", res.ExitCode)
	}
	if !hasSurvivor(res, "tail", "-f", "/dev/null") {
		t.Errorf("survivors: got %+v, want the main tail -f /dev/null", res.Survivors)
	}
}

func TestRunDetachedChildIsSurvivor(t *testing.T) {
	s := newTestSandbox(t)
	p := phase(t, "sh", "-c", "setsid tail -f /dev/null & echo started")
	p.Grace = time.Second
	res, out := run(t, s, p)
	if res.ExitCode != 0 || res.TimedOut {
		t.Errorf("result: got exit %d timed out %v, want 0 and false", res.ExitCode, res.TimedOut)
	}
	if out != "started\n" {
		t.Errorf("output: got %q, want %q", out, "started\n")
	}
	if len(res.Survivors) != 1 || !hasSurvivor(res, "tail", "-f", "/dev/null") {
		t.Fatalf("survivors: got %+v, want exactly the detached tail", res.Survivors)
	}
	sv := res.Survivors[0]
	if res.InitPID <= 0 || res.InitPID == sv.PID {
		t.Errorf("init pid: got %d, want the container's init, not the survivor %d", res.InitPID, sv.PID)
	}
	if sv.Comm != "tail" || !strings.HasSuffix(sv.Exe, "/tail") {
		t.Errorf("survivor comm/exe: got %q %q, want tail .../tail", sv.Comm, sv.Exe)
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(sv.PID) + "/cmdline"); err == nil && strings.Contains(string(b), "/dev/null") {
		t.Errorf("survivor %d still runs after Run: %q", sv.PID, b)
	}
}

// TestRunInitNotOnPath: the package cannot have its own program run as
// the container's init (whose doings are not the package's) by putting it
// on the PATH: the init runs after the command, by absolute path.
func TestRunInitNotOnPath(t *testing.T) {
	s := newTestSandbox(t)
	w := workspace(t, s, "path-"+strconv.Itoa(os.Getpid()), 8<<20)
	p := phase(t, "sh", "-c", `mkdir -p /tmp/bin && printf '#!/bin/sh\ntail -f /dev/null &\nexec tail -f /dev/null\n' >/tmp/bin/sleep && chmod +x /tmp/bin/sleep; /bin/sleep 0.5 & echo planted`)
	p.Env = []string{"PATH=/tmp/bin:/usr/bin:/bin"}
	p.Mounts = []Mount{{Source: w.Tmp(), Target: "/tmp"}}
	p.Grace = time.Minute // the grace waits for the sleep 0.5 the command leaves, however slowly it ends
	res, out := run(t, s, p)
	if res.ExitCode != 0 || out != "planted\n" {
		t.Fatalf("result: exit %d output %q, want 0 and planted", res.ExitCode, out)
	}
	if len(res.Survivors) != 0 {
		t.Errorf("survivors %+v: the package's sleep ran as init", res.Survivors)
	}
}

// TestRunGraceWaitsForChildren: a child that finishes within the grace
// period is waited for, its output kept, and not reported.
func TestRunGraceWaitsForChildren(t *testing.T) {
	s := newTestSandbox(t)
	p := phase(t, "sh", "-c", "(sleep 1; echo late) & echo early")
	p.Grace = 30 * time.Second
	res, out := run(t, s, p)
	if out != "early\nlate\n" {
		t.Errorf("output: got %q, want %q", out, "early\nlate\n")
	}
	if len(res.Survivors) != 0 || res.TimedOut {
		t.Errorf("result: got %+v, want no survivors and no timeout", res)
	}
}

// TestRunCommandPID: the command does not start at a fresh namespace's
// small pids (malware reads pid < 400 as a sandbox), and its parent is
// still init.
func TestRunCommandPID(t *testing.T) {
	s := newTestSandbox(t)
	res, out := run(t, s, phase(t, "sh", "-c", "echo $$ $PPID"))
	var pid, ppid int
	if _, err := fmt.Sscan(out, &pid, &ppid); err != nil || res.ExitCode != 0 {
		t.Fatalf("output %q exit %d: %v", out, res.ExitCode, err)
	}
	if pid < minCommandPID || pid >= maxCommandPID || ppid != 1 {
		t.Errorf("pid %d ppid %d, want a pid in [%d, %d) under init", pid, ppid, minCommandPID, maxCommandPID)
	}
	// /proc/sys/kernel is writable for init: not for the package.
	res, out = run(t, s, phase(t, "sh", "-c", "echo 100 > /proc/sys/kernel/ns_last_pid && echo wrote; echo 1 > /proc/sys/kernel/panic && echo wrote"))
	if strings.Contains(out, "wrote") {
		t.Errorf("package code wrote a kernel sysctl: %q (exit %d)", out, res.ExitCode)
	}
}

// TestRunSleepsShortened: a payload that sleeps longer than the phase
// lasts acts while the phase runs: every sleep syscall (shell sleep's
// relative nanosleep, Python's time.sleep, an absolute clock_nanosleep) ends after MaxSleep.
func TestRunSleepsShortened(t *testing.T) {
	s := newTestSandbox(t)
	tests := []struct {
		name string
		args []string
	}{
		{"shell", []string{"sh", "-c", "sleep 3600; echo woke"}},
		{"python", []string{"python3", "-c", "import time; time.sleep(3600); print('woke')"}},
		{"short sleeps run", []string{"sh", "-c", "sleep 0.01; sleep 0.01; echo woke"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := phase(t, tt.args...)
			p.Timeout = 2 * time.Minute // far less than the hour asked for
			res, out := run(t, s, p)
			if res.TimedOut || res.ExitCode != 0 || out != "woke\n" {
				t.Errorf("result: exit %d timed out %v output %q, want the sleep cut short and woke", res.ExitCode, res.TimedOut, out)
			}
		})
	}
}

func TestRunMemoryLimit(t *testing.T) {
	s := newTestSandbox(t)
	p := phase(t, "python3", "-c", "b = bytearray(512 << 20); print('allocated')")
	p.Limits.MemoryBytes = 64 << 20
	res, out := run(t, s, p)
	if !res.OOMKilled {
		t.Errorf("OOMKilled: got false, want true (output %q)", out)
	}
	if res.ExitCode == 0 || strings.Contains(out, "allocated") {
		t.Errorf("exit code %d output %q: want the allocation to fail", res.ExitCode, out)
	}
}

func TestRunPidsLimit(t *testing.T) {
	s := newTestSandbox(t)
	p := phase(t, "bash", "-c", ":(){ :|:& };:")
	p.Limits.Pids = 64
	p.Grace = 2 * time.Second
	p.Timeout = 30 * time.Second
	res, out := run(t, s, p)
	if !strings.Contains(out, "Resource temporarily unavailable") {
		t.Errorf("output: got %q, want fork failures (EAGAIN)", lastBytes(out, 300))
	}
	if n := len(res.Survivors); n == 0 || n >= 64 {
		t.Errorf("survivors: got %d, want between 1 and 63 (pids limit 64 with init)", n)
	}
}

func TestRunDiskFillStopsAtWorkspaceSize(t *testing.T) {
	s := newTestSandbox(t)
	w := workspace(t, s, "fill-"+strconv.Itoa(os.Getpid()), 8<<20)
	var st unix.Statfs_t
	if err := unix.Statfs(w.Dir, &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Fatalf("workspace %s: statfs type %x, %v; want tmpfs", w.Dir, st.Type, err)
	}
	p := phase(t, "dd", "if=/dev/zero", "of=/tmp/fill", "bs=1M", "count=64")
	p.User = w.User()
	p.Mounts = []Mount{{Source: w.Home(), Target: "/home/alex"}, {Source: w.Tmp(), Target: "/tmp"}}
	res, out := run(t, s, p)
	if res.ExitCode == 0 || !strings.Contains(out, "No space left on device") {
		t.Errorf("dd: got exit %d output %q, want ENOSPC", res.ExitCode, out)
	}
	fi, err := os.Stat(filepath.Join(w.Tmp(), "fill"))
	if err != nil {
		t.Fatalf("filled file not in the workspace: %v", err)
	}
	if fi.Size() > 8<<20 {
		t.Errorf("filled file: got %d bytes, want at most the workspace's %d", fi.Size(), 8<<20)
	}
	if got := fi.Sys().(*syscall.Stat_t).Uid; got != w.UID() {
		t.Errorf("filled file owner: got %d, want the workspace's %d", got, w.UID())
	}
}

func TestRunHardening(t *testing.T) {
	s := newTestSandbox(t)
	script := `id -u; id -g; id -un; hostname; cat /etc/hostname
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status | tr -d ' \t'
touch /usr/x 2>&1 || echo rootfs-ro
touch /tmp/x 2>&1 && echo tmp-rw
echo "routes=[$(ip route)]"
python3 - <<'PY'
import ctypes, errno, socket
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
r = libc.syscall(425, 1, params)  # io_uring_setup
print("io_uring", r, errno.errorcode.get(ctypes.get_errno()))
try:
    socket.create_connection(("192.0.2.1", 80), timeout=5)
    print("connect ok")
except OSError as e:
    print("connect", errno.errorcode.get(e.errno))
PY
`
	w := workspace(t, s, "hard-"+strconv.Itoa(os.Getpid()), 8<<20)
	p := phase(t, "sh", "-c", script)
	p.Hostname = "alex-xps13"
	p.User = w.User()
	p.Account = Account{Name: "alex", FullName: "Alex Morgan,,,", Home: "/home/alex", Shell: "/bin/bash"}
	p.Mounts = []Mount{{Source: w.Tmp(), Target: "/tmp"}}
	_, out := run(t, s, p)
	for _, want := range []string{
		fmt.Sprintf("%d\n%d\nalex\nalex-xps13\nalex-xps13\n", w.UID(), w.UID()),
		"CapInh:0000000000000000\nCapPrm:0000000000000000\nCapEff:0000000000000000\nCapBnd:0000000000000000\nCapAmb:0000000000000000\n",
		"NoNewPrivs:1\nSeccomp:2\n",
		"Read-only file system\nrootfs-ro\n",
		"tmp-rw\n",
		"routes=[]\n",
		"io_uring -1 EPERM\n",
		"connect ENETUNREACH\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q; got:\n%s", want, out)
		}
	}
}

// TestRunCgroupAndLimits checks, from beforeMain, that the cgroup id is the
// one of the container's cgroup v2 dir, that the limits reached the
// controllers, and that the main command runs inside that cgroup.
func TestRunCgroupAndLimits(t *testing.T) {
	s := newTestSandbox(t)
	p := phase(t, "cat", "/proc/self/cgroup")
	p.Limits = Limits{MemoryBytes: 96 << 20, Pids: 77, CPUs: 0.5}
	rel := "/" + s.ns + "/" + p.ID
	var gotID uint64
	var limits []string
	before := func(id uint64) error {
		gotID = id
		for _, f := range []string{"memory/" + rel + "/memory.limit_in_bytes", "pids/" + rel + "/pids.max", "cpu/" + rel + "/cpu.cfs_quota_us"} {
			b, err := os.ReadFile(filepath.Join(cgroupRoot, f))
			if err != nil {
				return err
			}
			limits = append(limits, strings.TrimSpace(string(b)))
		}
		return nil
	}
	var out strings.Builder
	p.Output = &out
	if _, err := s.Run(context.Background(), p, before); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if want := []string{strconv.Itoa(96 << 20), "77", "50000"}; !slices.Equal(limits, want) {
		t.Errorf("cgroup v1 limits (memory, pids, cpu quota): got %q, want %q", limits, want)
	}
	if gotID == 0 {
		t.Errorf("cgroup id: got 0, want the inode of %s", rel)
	}
	// A cgroup namespace: the command sees its cgroup as the root.
	if !strings.Contains(out.String(), "0::/\n") || strings.Contains(out.String(), p.ID) {
		t.Errorf("main's /proc/self/cgroup: got %q, want the root of its cgroup namespace", out.String())
	}
}

// TestRunInitOutOfReach checks from inside a phase that the command cannot
// touch init (signal, ptrace-class /proc access, OOM score, its status
// pipe), that init looks like an ordinary one, and that mountinfo names no
// host path of ours.
func TestRunInitOutOfReach(t *testing.T) {
	s := newTestSandbox(t)
	script := `id -u
kill -9 1 2>/dev/null || echo kill-denied
ls /proc/1/fd >/dev/null 2>&1 || echo fd-denied
echo 0 > /proc/1/fd/2 2>/dev/null || echo status-denied
echo 1000 > /proc/1/oom_score_adj 2>/dev/null || echo oom-denied
echo "init-oom=$(cat /proc/1/oom_score_adj) own-oom=$(cat /proc/self/oom_score_adj)"
echo "cmdline=$(tr '\0' ' ' < /proc/1/cmdline)"
cat /proc/self/mountinfo
exit 4`
	p := phase(t, "sh", "-c", script)
	res, out := run(t, s, p)
	if res.ExitCode != 4 || res.InitDied {
		t.Errorf("result %+v, want exit 4 with init alive", res)
	}
	// Guarded, init is -1000 and the command 0; unguarded (root without
	// CAP_SYS_RESOURCE), init keeps what runc's parent had (containerd's
	// shim: 0 or 1) and the command starts at 1000.
	oom := regexp.MustCompile(`init-oom=-1000 own-oom=0\n`)
	if !s.oomGuard {
		oom = regexp.MustCompile(`init-oom=[01] own-oom=1000\n`)
	}
	if !oom.MatchString(out) {
		t.Errorf("OOM scores: output lacks %s:\n%s", oom, out)
	}
	for _, want := range []string{"kill-denied\n", "fd-denied\n", "status-denied\n", "oom-denied\n", "cmdline=/sbin/init \n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if first, _, _ := strings.Cut(out, "\n"); first == "0" || first == "1000" {
		t.Errorf("command ran as uid %s, want a uid slot", first)
	}
	for _, mark := range []string{"containerd", "fumehood", s.state, p.ID} {
		if strings.Contains(out, mark) {
			t.Errorf("mountinfo names %q:\n%s", mark, out)
		}
	}
}

func TestRunBeforeMainError(t *testing.T) {
	s := newTestSandbox(t)
	boom := errors.New("tracer failed")
	p := phase(t, "true")
	_, err := s.Run(context.Background(), p, func(uint64) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("Run: got %v, want the beforeMain error", err)
	}
	assertNoLeftovers(t, s, p.ID)
}

func TestRunImageMissing(t *testing.T) {
	s := newTestSandbox(t)
	s.image = "fumehood.local/sandbox:absent"
	_, err := s.Run(context.Background(), phase(t, "true"), nil)
	if !errors.Is(err, ErrImageNotFound) {
		t.Errorf("Run: got %v, want ErrImageNotFound", err)
	}
}

func TestRunLeavesNothing(t *testing.T) {
	s := newTestSandbox(t)
	tests := []struct {
		name    string
		args    []string
		timeout time.Duration
	}{
		{"exits", []string{"true"}, time.Minute},
		{"survivor", []string{"sh", "-c", "setsid tail -f /dev/null &"}, time.Minute},
		{"timeout", []string{"tail", "-f", "/dev/null"}, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := phase(t, tt.args...)
			p.Timeout = tt.timeout
			run(t, s, p)
			assertNoLeftovers(t, s, p.ID)
		})
	}
}

// assertNoLeftovers checks that nothing of container id remains: container,
// snapshot, cgroup dirs, mounts.
func assertNoLeftovers(t *testing.T, s *Sandbox, id string) {
	t.Helper()
	ctx := s.nsCtx(context.Background())
	if _, err := s.client.LoadContainer(ctx, id); !errdefs.IsNotFound(err) {
		t.Errorf("container %s: got %v, want not found", id, err)
	}
	if _, err := s.client.SnapshotService(snapshotter).Stat(ctx, id); !errdefs.IsNotFound(err) {
		t.Errorf("snapshot %s: got %v, want not found", id, err)
	}
	for _, d := range cgroupDirs("/" + s.ns + "/" + id) {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup dir %s: got %v, want it gone", d, err)
		}
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mi), "\n") {
		if strings.Contains(line, id) {
			t.Errorf("mount left: %s", line)
		}
	}
	if _, err := os.Stat(filepath.Join(s.rootsDir(), id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("root mount point of %s: got %v, want it gone", id, err)
	}
}

func hasSurvivor(res Result, argv ...string) bool {
	return slices.ContainsFunc(res.Survivors, func(s Survivor) bool { return slices.Equal(s.Argv, argv) })
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func BenchmarkPhase(b *testing.B) {
	s := newTestSandbox(b)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		p := phase(b, "true")
		p.ID += "-" + strconv.Itoa(i)
		res, err := s.Run(ctx, p, nil)
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("Run: %+v, %v", res, err)
		}
	}
}
