package bpf

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/trace"
)

// cgroupRoot is where the tests create their cgroup v2 directories.
const cgroupRoot = "/sys/fs/cgroup/unified"

// helperEnv makes the test binary act as a helper program (see TestMain).
const helperEnv = "FUMEHOOD_BPF_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "connect":
		// Usage: NETWORK ADDRESS. Dial once.
		c, err := net.Dial(os.Args[1], os.Args[2])
		exitOn(err)
		c.Close()
	case "syscalls":
		// Usage: DIR [TCP6-ADDRESS]. The syscalls the shell test does not reach.
		syscallsHelper(os.Args[1], os.Args[2:])
	case "probes":
		// Usage: DIR. The probe set of issue 4; see probesHelper.
		probesHelper(os.Args[1])
	case "identity":
		// Usage: DIR. Opens DIR's secret every way; see identityHelper.
		identityHelper(os.Args[1])
	case "stdio":
		// Usage: socketpair|pipe|tcp SHELL ADDR. See stdioHelper.
		stdioHelper(os.Args[1], os.Args[2], os.Args[3])
	case "holdwrite":
		// Usage: FILE.
		holdWriteHelper(os.Args[1])
	}
	os.Exit(0)
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func rawPathCall(nr uintptr, path string, args ...uintptr) {
	p, err := unix.BytePtrFromString(path)
	exitOn(err)
	a := append([]uintptr{uintptr(unsafe.Pointer(p))}, args...)
	a = append(a, 0, 0)
	if _, _, errno := unix.Syscall(nr, a[0], a[1], a[2]); errno != 0 {
		exitOn(fmt.Errorf("syscall %d %s: %w", nr, path, errno))
	}
}

// atFDCWD is AT_FDCWD as a raw syscall argument.
func atFDCWD() uintptr {
	fd := unix.AT_FDCWD
	return uintptr(fd)
}

func syscallsHelper(dir string, tcp6 []string) {
	fd, err := unix.Openat2(unix.AT_FDCWD, dir+"/o2", &unix.OpenHow{Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o600})
	exitOn(err)
	unix.Close(fd)
	p2, err := unix.BytePtrFromString(dir + "/r1")
	exitOn(err)
	rawPathCall(unix.SYS_RENAME, dir+"/o2", uintptr(unsafe.Pointer(p2)))
	exitOn(unix.Renameat(unix.AT_FDCWD, dir+"/r1", unix.AT_FDCWD, dir+"/r2"))
	rawPathCall(unix.SYS_CHMOD, dir+"/r2", 0o700)
	p3, err := unix.BytePtrFromString(dir + "/r2")
	exitOn(err)
	if _, _, errno := unix.Syscall6(unix.SYS_FCHMODAT2, atFDCWD(), uintptr(unsafe.Pointer(p3)), 0o640, unix.AT_SYMLINK_NOFOLLOW, 0, 0); errno != 0 {
		exitOn(fmt.Errorf("fchmodat2: %w", errno))
	}
	rawPathCall(unix.SYS_UNLINK, dir+"/r2")
	exitOn(os.Mkdir(dir+"/d", 0o755))
	rawPathCall(unix.SYS_RMDIR, dir+"/d")
	for _, addr := range []string{dir + "/sock", "@fumehood-test-" + filepath.Base(dir)} {
		ln, err := net.Listen("unix", addr)
		exitOn(err)
		c, err := net.Dial("unix", addr)
		exitOn(err)
		c.Close()
		ln.Close()
	}
	for _, addr := range tcp6 {
		c, err := net.Dial("tcp6", addr)
		exitOn(err)
		c.Close()
	}
}

// cgroup is a cgroup v2 directory created for one test.
type cgroup struct {
	dir string
	id  uint64
	f   *os.File // the directory, for SysProcAttr.CgroupFD
}

func newCgroup(t testing.TB) *cgroup {
	t.Helper()
	dir := filepath.Join(cgroupRoot, "fumehood-test-"+randHex(t))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create cgroup: %v", err)
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove cgroup: %v", err)
		}
	})
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return &cgroup{dir: dir, id: st.Ino, f: f}
}

func randHex(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// run runs /bin/sh -c script with env added, in cg from its first
// instruction when cg is not nil, and waits for it.
func run(t *testing.T, cg *cgroup, script string, env ...string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = append(os.Environ(), env...)
	if cg != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.f.Fd())}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("script failed: %v\n%s", err, out)
	}
}

func load(t testing.TB, opts Options) *Tracer {
	t.Helper()
	testenv.BPF(t)
	tr, err := Load(opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tr
}

func stop(t *testing.T, r *Recording) []trace.Event {
	t.Helper()
	events, err := r.Stop()
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	return events
}

// find returns the events of kind that match.
func find(events []trace.Event, kind trace.Kind, match func(*trace.Event) bool) []trace.Event {
	var out []trace.Event
	for i := range events {
		if events[i].Kind == kind && match(&events[i]) {
			out = append(out, events[i])
		}
	}
	return out
}

// one returns the only event of kind that matches, failing otherwise.
func one(t *testing.T, events []trace.Event, kind trace.Kind, what string, match func(*trace.Event) bool) trace.Event {
	t.Helper()
	got := find(events, kind, match)
	if len(got) != 1 {
		t.Fatalf("%s: got %d %s events, want 1\n%s", what, len(got), kind, dump(events))
	}
	return got[0]
}

func dump(events []trace.Event) string {
	var b strings.Builder
	for i := range events {
		fmt.Fprintf(&b, "  %s ret=%d tgid=%d start=%d\n", events[i].String(), events[i].Ret, events[i].TGID, events[i].Start)
	}
	return b.String()
}

func TestRecordScript(t *testing.T) {
	tr := load(t, Options{})
	if got := tr.Probes(); !slices.Contains(got, "tp_btf/sched_process_exec") || !slices.Contains(got, "tracepoint/syscalls/sys_exit_openat") {
		t.Errorf("Probes: got %v, want exec and openat probes among them", got)
	}
	cg := newCgroup(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	known := filepath.Join(dir, "known.txt")
	if err := os.WriteFile(known, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing-"+randHex(t))
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	helper, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	rec, err := tr.Watch(cg.id)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if _, err := tr.Watch(cg.id); !errors.Is(err, ErrWatched) {
		t.Errorf("second Watch of one cgroup: got %v, want ErrWatched", err)
	}
	script := fmt.Sprintf(`cd %s
cat %s >/dev/null
cat %s 2>/dev/null
echo x > a
mv a b
chmod 751 b
rm b
FUMEHOOD_BPF_TEST_HELPER=connect %s tcp4 127.0.0.1:%d
/bin/sh -c 'exit 3' || true
echo done >/dev/null`, dir, known, missing, helper, port)
	run(t, cg, script)
	// A process outside the cgroup, meanwhile, must not be recorded.
	run(t, nil, fmt.Sprintf("cat %s >/dev/null; echo x > %s/outside", known, dir))
	events := stop(t, rec)
	if rec.Lost() != 0 {
		t.Errorf("Lost: got %d, want 0", rec.Lost())
	}

	for i, e := range events {
		if e.CgroupID != cg.id {
			t.Errorf("event %d from cgroup %d, want only %d: %s", i, e.CgroupID, cg.id, e.String())
		}
		if e.Path == dir+"/outside" || e.Path == "outside" {
			t.Errorf("event of a process outside the cgroup recorded: %s", e.String())
		}
		if i > 0 && e.Time.Before(events[i-1].Time) {
			t.Errorf("event %d earlier than event %d", i, i-1)
		}
		if e.Seq != 0 || e.Phase != "" {
			t.Errorf("event %d: Seq %d Phase %q, want both zero", i, e.Seq, e.Phase)
		}
	}

	shExec := one(t, events, trace.KindExec, "the script's shell", func(e *trace.Event) bool {
		return e.Path == "/bin/sh" && len(e.Argv) == 3 && e.Argv[2] == script
	})
	if got, want := shExec.Argv[:2], []string{"/bin/sh", "-c"}; !slices.Equal(got, want) {
		t.Errorf("shell argv: got %q, want %q", got, want)
	}
	if shExec.PPID != uint32(os.Getpid()) || shExec.UID != 0 || shExec.Comm != "sh" || shExec.Start == 0 || shExec.PID != shExec.TGID {
		t.Errorf("shell exec identity: got ppid=%d uid=%d comm=%q start=%d pid=%d tgid=%d, want ppid=%d uid=0 comm=sh",
			shExec.PPID, shExec.UID, shExec.Comm, shExec.Start, shExec.PID, shExec.TGID, os.Getpid())
	}
	sh := shExec.Proc()

	catExec := one(t, events, trace.KindExec, "cat of the known file", func(e *trace.Event) bool {
		return len(e.Argv) == 2 && e.Argv[0] == "cat" && e.Argv[1] == known
	})
	if catExec.Cwd != dir || catExec.PPID != sh.TGID || !strings.HasSuffix(catExec.Path, "/cat") {
		t.Errorf("cat exec: got path=%q cwd=%q ppid=%d, want .../cat, %q, %d", catExec.Path, catExec.Cwd, catExec.PPID, dir, sh.TGID)
	}
	one(t, events, trace.KindFork, "fork of cat", func(e *trace.Event) bool {
		return e.Proc() == sh && e.ChildPID == catExec.TGID && e.ChildStart == catExec.Start
	})
	open := one(t, events, trace.KindOpen, "open of the known file", func(e *trace.Event) bool { return e.Path == known })
	if open.Flags&3 != 0 || open.Ret < 0 || open.Proc() != catExec.Proc() {
		t.Errorf("open of known: got flags=%#x ret=%d proc=%v, want read-only, fd, %v", open.Flags, open.Ret, open.Proc(), catExec.Proc())
	}
	if miss := one(t, events, trace.KindOpen, "open of a missing file", func(e *trace.Event) bool { return e.Path == missing }); miss.Ret != -int64(syscall.ENOENT) {
		t.Errorf("open of missing: got ret %d, want %d", miss.Ret, -int64(syscall.ENOENT))
	}
	create := one(t, events, trace.KindOpen, "redirect into a", func(e *trace.Event) bool { return e.Path == "a" })
	if create.Flags&(trace.OWronly|trace.OCreat|trace.OTrunc) != trace.OWronly|trace.OCreat|trace.OTrunc || create.Mode != 0o666 || create.Ret < 0 || create.Proc() != sh {
		t.Errorf("create a: got flags=%#x mode=%#o ret=%d proc=%v, want O_WRONLY|O_CREAT|O_TRUNC 0666 by the shell", create.Flags, create.Mode, create.Ret, create.Proc())
	}
	if ren := one(t, events, trace.KindRename, "mv a b", func(e *trace.Event) bool { return e.Path == "a" }); ren.Path2 != "b" || ren.Ret != 0 || ren.Comm != "mv" {
		t.Errorf("rename: got %s ret=%d comm=%s, want a -> b, 0, mv", ren.String(), ren.Ret, ren.Comm)
	}
	if ch := one(t, events, trace.KindChmod, "chmod b", func(e *trace.Event) bool { return e.Path == "b" }); ch.Mode&0o7777 != 0o751 || ch.Ret != 0 {
		t.Errorf("chmod: got mode=%#o ret=%d, want 0751, 0", ch.Mode, ch.Ret)
	}
	if rm := one(t, events, trace.KindUnlink, "rm b", func(e *trace.Event) bool { return e.Path == "b" }); rm.Ret != 0 || rm.Comm != "rm" {
		t.Errorf("unlink: got ret=%d comm=%s, want 0, rm", rm.Ret, rm.Comm)
	}
	conn := one(t, events, trace.KindConnect, "connect to the listener", func(e *trace.Event) bool { return e.Port == uint16(port) })
	// Go connects non-blocking: the syscall returns EINPROGRESS.
	if conn.Family != 2 || conn.Addr != "127.0.0.1" || conn.Ret != -int64(syscall.EINPROGRESS) {
		t.Errorf("connect: got family=%d addr=%s ret=%d, want 2 127.0.0.1 %d", conn.Family, conn.Addr, conn.Ret, -int64(syscall.EINPROGRESS))
	}

	exit3 := one(t, events, trace.KindExit, "the child exiting 3", func(e *trace.Event) bool { return e.ExitCode == 3 })
	childExec := one(t, events, trace.KindExec, "exec of the child shell", func(e *trace.Event) bool { return e.Proc() == exit3.Proc() })
	if got, want := childExec.Argv, []string{"/bin/sh", "-c", "exit 3"}; !slices.Equal(got, want) {
		t.Errorf("child argv: got %q, want %q", got, want)
	}
	one(t, events, trace.KindFork, "fork of the child", func(e *trace.Event) bool {
		return e.Proc() == sh && e.ChildPID == exit3.TGID && e.ChildStart == exit3.Start
	})
	shExit := one(t, events, trace.KindExit, "exit of the script's shell", func(e *trace.Event) bool { return e.Proc() == sh })
	if shExit.ExitCode != 0 || shExit.Signal != 0 {
		t.Errorf("shell exit: got code=%d signal=%d, want 0 0", shExit.ExitCode, shExit.Signal)
	}
	// The Go helper starts threads: only its one process may appear.
	helperExec := one(t, events, trace.KindExec, "exec of the helper", func(e *trace.Event) bool { return e.Path == helper })
	if forks := find(events, trace.KindFork, func(e *trace.Event) bool { return e.Proc() == helperExec.Proc() }); len(forks) != 0 {
		t.Errorf("helper threads reported as forks: %v", forks)
	}
	one(t, events, trace.KindExit, "exit of the helper", func(e *trace.Event) bool { return e.Proc() == helperExec.Proc() })
}

func TestConcurrentRecordings(t *testing.T) {
	tr := load(t, Options{Slots: 2})
	dir := t.TempDir()
	cgs := []*cgroup{newCgroup(t), newCgroup(t)}
	recs := make([]*Recording, len(cgs))
	for i, cg := range cgs {
		var err error
		if recs[i], err = tr.Watch(cg.id); err != nil {
			t.Fatalf("Watch %d: %v", i, err)
		}
	}
	if _, err := tr.Watch(newCgroup(t).id); !errors.Is(err, ErrNoSlot) {
		t.Errorf("Watch with every slot busy: got %v, want ErrNoSlot", err)
	}
	var wg sync.WaitGroup
	for i, cg := range cgs {
		wg.Go(func() {
			run(t, cg, fmt.Sprintf("for i in 1 2 3 4 5; do echo $i > %s/marker-%d; done", dir, i))
		})
	}
	wg.Wait()
	for i, rec := range recs {
		events := stop(t, rec)
		own := find(events, trace.KindOpen, func(e *trace.Event) bool {
			return e.Path == fmt.Sprintf("%s/marker-%d", dir, i)
		})
		if len(own) != 5 {
			t.Errorf("recording %d: got %d opens of its own marker, want 5\n%s", i, len(own), dump(events))
		}
		for _, e := range events {
			if e.CgroupID != cgs[i].id || strings.Contains(e.Path, fmt.Sprintf("marker-%d", 1-i)) {
				t.Errorf("recording %d got an event of the other run: %s (cgroup %d)", i, e.String(), e.CgroupID)
			}
		}
	}
	// A freed slot is usable again.
	rec, err := tr.Watch(cgs[0].id)
	if err != nil {
		t.Fatalf("Watch after Stop: %v", err)
	}
	stop(t, rec)
}

func TestFloodReportsLost(t *testing.T) {
	tr := load(t, Options{RingBytes: 4096, Slots: 1})
	cg := newCgroup(t)
	rec, err := tr.Watch(cg.id)
	if err != nil {
		t.Fatal(err)
	}
	run(t, cg, `i=0; while [ $i -lt 20000 ]; do : < /dev/null; i=$((i+1)); done`)
	events := stop(t, rec)
	lost := rec.Lost()
	if lost == 0 {
		t.Fatalf("Lost: got 0 after 20000 opens into a 4 KiB ring, want > 0 (%d events)", len(events))
	}
	last := events[len(events)-1]
	if last.Kind != trace.KindLost || last.Count != lost || last.CgroupID != cg.id {
		t.Errorf("last event: got %s count=%d cgroup=%d, want lost count=%d cgroup=%d", last.Kind, last.Count, last.CgroupID, lost, cg.id)
	}
	if n := len(find(events, trace.KindLost, func(*trace.Event) bool { return true })); n != 1 {
		t.Errorf("got %d lost events, want 1", n)
	}
}

func TestMaxEventsDropsAndCounts(t *testing.T) {
	tr := load(t, Options{MaxEvents: 5})
	cg := newCgroup(t)
	rec, err := tr.Watch(cg.id)
	if err != nil {
		t.Fatal(err)
	}
	run(t, cg, `for i in 1 2 3 4 5 6 7 8 9 10; do : < /dev/null; done`)
	events := stop(t, rec)
	// exec + 10 opens + exit at least: 5 kept, the rest counted by kind.
	lost := find(events, trace.KindLost, func(*trace.Event) bool { return true })
	if got, want := len(events)-len(lost), 5; got != want {
		t.Fatalf("got %d events, want %d and lost events\n%s", got, want, dump(events))
	}
	var sum uint64
	for _, e := range lost {
		if !trace.Kind(e.Name).Probe() {
			t.Errorf("lost event %s count=%d: want one named by the kind refused", e.Name, e.Count)
		}
		sum += e.Count
	}
	if sum < 7 || sum != rec.Lost() {
		t.Errorf("lost events count %d (Lost %d), want >= 7 and equal to Lost", sum, rec.Lost())
	}
}

// TestMaxBytesKindShare: a flood of opens past its kind's half of the
// byte budget is counted as lost opens, and the exec after it is kept.
func TestMaxBytesKindShare(t *testing.T) {
	tr := load(t, Options{MaxBytes: 64 << 10})
	cg := newCgroup(t)
	rec, err := tr.Watch(cg.id)
	if err != nil {
		t.Fatal(err)
	}
	run(t, cg, `i=0; while [ $i -lt 2000 ]; do : < /dev/null; i=$((i+1)); done; /bin/true after-the-flood`)
	events := stop(t, rec)
	one(t, events, trace.KindExec, "exec after the flood", func(e *trace.Event) bool { return slices.Contains(e.Argv, "after-the-flood") })
	opens := one(t, events, trace.KindLost, "lost opens", func(e *trace.Event) bool { return e.Name == string(trace.KindOpen) })
	var kept int
	for i := range events {
		if events[i].Kind != trace.KindLost {
			kept += events[i].Size()
		}
	}
	if opens.Count < 1000 || kept > 64<<10 {
		t.Errorf("lost opens %d, kept %d bytes; want >= 1000 lost and at most %d bytes", opens.Count, kept, 64<<10)
	}
}

func TestSyscallVariants(t *testing.T) {
	tr := load(t, Options{})
	cg := newCgroup(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	helper, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var tcp6 []string
	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err == nil {
		defer ln6.Close()
		tcp6 = append(tcp6, ln6.Addr().String())
	} else {
		t.Logf("no IPv6 loopback, inet6 connect not checked: %v", err)
	}
	rec, err := tr.Watch(cg.id)
	if err != nil {
		t.Fatal(err)
	}
	run(t, cg, fmt.Sprintf("%s %s %s", helper, dir, strings.Join(tcp6, " ")), helperEnv+"=syscalls")
	events := stop(t, rec)

	type want struct {
		kind  trace.Kind
		path  string
		path2 string
		flags int64
		mode  uint32
		ret   int64
	}
	for _, w := range []want{
		{trace.KindOpen, dir + "/o2", "", trace.OCreat | trace.OWronly, 0o600, 3},
		{trace.KindRename, dir + "/o2", dir + "/r1", 0, 0, 0},
		{trace.KindRename, dir + "/r1", dir + "/r2", 0, 0, 0},
		{trace.KindChmod, dir + "/r2", "", 0, 0o700, 0},
		{trace.KindChmod, dir + "/r2", "", unix.AT_SYMLINK_NOFOLLOW, 0o640, 0},
		{trace.KindUnlink, dir + "/r2", "", 0, 0, 0},
		{trace.KindUnlink, dir + "/d", "", 0x200, 0, 0},
	} {
		e := one(t, events, w.kind, fmt.Sprintf("%s %s", w.kind, w.path), func(e *trace.Event) bool {
			return e.Path == w.path && e.Path2 == w.path2 && e.Mode == w.mode
		})
		// The open's fd is whatever was free: check only that it is one.
		if e.Flags != w.flags || (w.ret == 0 && e.Ret != 0) || e.Ret < 0 {
			t.Errorf("%s %s: got flags=%#x ret=%d, want flags=%#x ret=%d", w.kind, w.path, e.Flags, e.Ret, w.flags, w.ret)
		}
	}
	for _, addr := range []string{dir + "/sock", "@fumehood-test-" + filepath.Base(dir)} {
		if e := one(t, events, trace.KindConnect, "unix connect "+addr, func(e *trace.Event) bool { return e.Addr == addr }); e.Family != 1 || e.Ret != 0 {
			t.Errorf("unix connect %s: got family=%d ret=%d, want 1 0", addr, e.Family, e.Ret)
		}
	}
	if len(tcp6) == 1 {
		port := uint16(ln6.Addr().(*net.TCPAddr).Port)
		if e := one(t, events, trace.KindConnect, "inet6 connect", func(e *trace.Event) bool { return e.Port == port }); e.Family != 10 || e.Addr != "::1" {
			t.Errorf("inet6 connect: got family=%d addr=%s, want 10 ::1", e.Family, e.Addr)
		}
	}
}
