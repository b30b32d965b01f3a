package bpf

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fumehood/fumehood/trace"
)

// facts is what the probes helper reports about the syscalls it made, for
// the test to check the events against.
type facts struct {
	UDPPort    int    // the datagram receiver's port
	ListenFD   int    // the fd passed to listen
	PeerPort   int    // the port of the TCP client the listener accepted
	TCPPort    int    // the listener's port
	ChildPID   int    // the process traced with ptrace and then killed
	TID        int    // the helper's thread that sent tkill and tgkill
	MemfdFD    int    // the memfd the helper executed
	DNSQuery   []byte // the DNS-like datagram sent with sendto
	Dir        string
	SetuidDone bool
}

// dnsQuery is a DNS query for name, type A, as a resolver sends it.
func dnsQuery(name string) []byte {
	q := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for label := range strings.SplitSeq(name, ".") {
		q = append(q, byte(len(label)))
		q = append(q, label...)
	}
	return append(q, 0, 0, 1, 0, 1)
}

// mmsghdr is struct mmsghdr of <sys/socket.h> on 64-bit Linux.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// probesHelper makes the syscalls of the probe set added for issue 4, in
// an order that needs no privilege after the credential changes, and
// writes what the test cannot know in advance to DIR/facts.json. It ends
// by executing a memfd with execveat(AT_EMPTY_PATH).
func probesHelper(dir string) {
	f := facts{Dir: dir, DNSQuery: dnsQuery("probe.fumehood.test")}

	// Datagrams: sendto with an address, write and sendmsg on a connected
	// socket, sendmmsg of two messages; a sendto on a unix stream socket.
	rcv, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	exitOn(err)
	exitOn(unix.Bind(rcv, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	sa, err := unix.Getsockname(rcv)
	exitOn(err)
	f.UDPPort = sa.(*unix.SockaddrInet4).Port
	dst := &unix.SockaddrInet4{Port: f.UDPPort, Addr: [4]byte{127, 0, 0, 1}}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	exitOn(err)
	exitOn(unix.Sendto(s, f.DNSQuery, 0, dst))
	exitOn(unix.Connect(s, dst))
	_, err = unix.Write(s, []byte("write-on-connected-udp"))
	exitOn(err)
	_, err = unix.SendmsgN(s, []byte("sendmsg-payload"), nil, nil, 0)
	exitOn(err)
	bufs := [][]byte{[]byte("mmsg-one"), []byte("mmsg-two!")}
	iovs := make([]unix.Iovec, len(bufs))
	msgs := make([]mmsghdr, len(bufs))
	for i, b := range bufs {
		iovs[i].Base = &b[0]
		iovs[i].SetLen(len(b))
		msgs[i].hdr.Iov = &iovs[i]
		msgs[i].hdr.SetIovlen(1)
	}
	if _, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), 0, 0, 0); errno != 0 {
		exitOn(fmt.Errorf("sendmmsg: %w", errno))
	}
	runtime.KeepAlive(bufs)
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	exitOn(err)
	exitOn(unix.Sendto(pair[0], []byte("stream"), 0, nil))

	// bind, listen, accept4 of a TCP connection from ourselves.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	exitOn(err)
	lf, err := ln.(*net.TCPListener).File() // a dup: find the listen fd below
	exitOn(err)
	lf.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	exitOn(err)
	f.PeerPort = c.LocalAddr().(*net.TCPAddr).Port
	f.TCPPort = ln.Addr().(*net.TCPAddr).Port
	ac, err := ln.Accept()
	exitOn(err)
	// Sends on the TCP connection: write, writev of two buffers, sendto,
	// and a write longer than the head the probes keep.
	cf, err := c.(*net.TCPConn).File()
	exitOn(err)
	fd := int(cf.Fd())
	_, err = unix.Write(fd, []byte("tcp-write"))
	exitOn(err)
	_, err = unix.Writev(fd, [][]byte{[]byte("tcp-"), []byte("writev")})
	exitOn(err)
	exitOn(unix.Sendto(fd, []byte("tcp-sendto"), 0, nil))
	_, err = unix.Write(fd, []byte(strings.Repeat("L", 600)))
	exitOn(err)
	cf.Close()
	ac.Close()
	c.Close()
	ln.Close()

	// ptrace, kill, tkill, tgkill.
	runtime.LockOSThread()
	child := exec.Command("sleep", "30")
	exitOn(child.Start())
	f.ChildPID = child.Process.Pid
	exitOn(unix.PtraceAttach(f.ChildPID))
	exitOn(unix.Kill(f.ChildPID, unix.SIGKILL))
	child.Wait()
	f.TID = unix.Gettid()
	exitOn(unix.Tgkill(os.Getpid(), f.TID, 0))
	if _, _, errno := unix.RawSyscall(unix.SYS_TKILL, uintptr(f.TID), 0, 0); errno != 0 {
		exitOn(fmt.Errorf("tkill: %w", errno))
	}
	runtime.UnlockOSThread()

	// mount (to a missing target: nothing is mounted), chdir, fchdir.
	if err := unix.Mount("fh-src", dir+"/nomnt", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, ""); err != unix.ENOENT {
		exitOn(fmt.Errorf("mount: got %v, want ENOENT", err))
	}
	exitOn(os.Mkdir(dir+"/sub", 0o755))
	exitOn(os.Mkdir(dir+"/sub2", 0o755))
	exitOn(unix.Chdir(dir + "/sub"))
	d2, err := unix.Open(dir+"/sub2", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	exitOn(err)
	exitOn(unix.Fchdir(d2))

	// link, linkat, symlink, symlinkat.
	exitOn(os.WriteFile(dir+"/a", nil, 0o644))
	p, err := unix.BytePtrFromString(dir + "/l1")
	exitOn(err)
	rawPathCall(unix.SYS_LINK, dir+"/a", uintptr(unsafe.Pointer(p)))
	exitOn(os.Link(dir+"/a", dir+"/l2"))
	p, err = unix.BytePtrFromString(dir + "/s1")
	exitOn(err)
	rawPathCall(unix.SYS_SYMLINK, "a", uintptr(unsafe.Pointer(p)))
	exitOn(os.Symlink("a", dir+"/s2"))

	// Writes: 3 x 1000 bytes and close; pwrite64 and writev left open
	// (flushed when the process exits).
	w, err := os.Create(dir + "/w")
	exitOn(err)
	for range 3 {
		_, err := w.Write(make([]byte, 1000))
		exitOn(err)
	}
	exitOn(w.Close())
	w2, err := os.Create(dir + "/w2")
	exitOn(err)
	_, err = w2.WriteAt(make([]byte, 100), 0)
	exitOn(err)
	_, err = unix.Writev(int(w2.Fd()), [][]byte{make([]byte, 50), make([]byte, 50)})
	exitOn(err)

	// set*id on one thread that ends with the goroutine.
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits
		defer close(done)
		for _, c := range []struct {
			nr      uintptr
			a, b, d int
		}{
			{unix.SYS_SETUID, 0, 0, 0},
			{unix.SYS_SETGID, 4321, 0, 0},
			{unix.SYS_SETREGID, -1, 4322, 0},
			{unix.SYS_SETRESGID, -1, 4323, -1},
			{unix.SYS_SETREUID, -1, 0, 0},
			{unix.SYS_SETRESUID, -1, 1234, -1},
		} {
			if _, _, errno := unix.RawSyscall(c.nr, uintptr(c.a), uintptr(c.b), uintptr(c.d)); errno != 0 {
				exitOn(fmt.Errorf("syscall %d: %w", c.nr, errno))
			}
		}
		f.SetuidDone = true
	}()
	<-done

	// A memfd holding /bin/true, executed through /proc/self/fd/N by a
	// child, then by this process with execveat(AT_EMPTY_PATH).
	mfd, err := unix.MemfdCreate("fh-probe", unix.MFD_CLOEXEC)
	exitOn(err)
	f.MemfdFD = mfd
	bin, err := os.ReadFile("/bin/true")
	exitOn(err)
	_, err = unix.Write(mfd, bin)
	exitOn(err)
	exitOn(exec.Command(fmt.Sprintf("/proc/self/fd/%d", mfd)).Run())

	out, err := json.Marshal(f)
	exitOn(err)
	exitOn(os.WriteFile(dir+"/facts.json", out, 0o644))

	empty, err := unix.BytePtrFromString("")
	exitOn(err)
	arg0, err := unix.BytePtrFromString("true")
	exitOn(err)
	argv := []*byte{arg0, nil}
	envv := []*byte{nil}
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(mfd), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])), unix.AT_EMPTY_PATH, 0)
	exitOn(fmt.Errorf("execveat: %w", errno))
}

// holdWriteHelper writes 500 bytes to FILE, says "ok" and waits for its
// stdin to close, keeping the file open.
func holdWriteHelper(file string) {
	w, err := os.Create(file)
	exitOn(err)
	_, err = w.Write(make([]byte, 500))
	exitOn(err)
	fmt.Println("ok")
	io.Copy(io.Discard, os.Stdin)
	w.Close()
}

func TestProbeSet(t *testing.T) {
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
	rec, err := tr.Watch(cg.id)
	if err != nil {
		t.Fatal(err)
	}
	run(t, cg, fmt.Sprintf("%s %s; echo piped | cat > /dev/null", helper, dir), helperEnv+"=probes")
	events := stop(t, rec)
	if rec.Lost() != 0 {
		t.Errorf("Lost: got %d, want 0", rec.Lost())
	}
	raw, err := os.ReadFile(dir + "/facts.json")
	if err != nil {
		t.Fatal(err)
	}
	var f facts
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	helperExec := one(t, events, trace.KindExec, "exec of the helper", func(e *trace.Event) bool { return e.Path == helper })
	mine := func(e *trace.Event) bool { return e.TGID == helperExec.TGID }

	t.Run("send", func(t *testing.T) {
		sends := find(events, trace.KindSend, mine)
		type want struct {
			family uint16
			addr   string
			port   uint16
			count  uint64
			data   string
			ret    int64
		}
		q := string(f.DNSQuery)
		udp, tcp := uint16(f.UDPPort), uint16(f.TCPPort)
		// A connected socket's sends name its peer; a unix socket's
		// payload is not kept.
		wants := []want{
			{2, "127.0.0.1", udp, uint64(len(q)), q, int64(len(q))},
			{2, "127.0.0.1", udp, 22, "write-on-connected-udp", 22},
			{2, "127.0.0.1", udp, 15, "sendmsg-payload", 15},
			{2, "127.0.0.1", udp, 8, "mmsg-one", 8},
			{2, "127.0.0.1", udp, 9, "mmsg-two!", 9},
			{0, "", 0, 6, "", 6},
			{2, "127.0.0.1", tcp, 9, "tcp-write", 9},
			{2, "127.0.0.1", tcp, 10, "tcp-writev", 10},
			{2, "127.0.0.1", tcp, 10, "tcp-sendto", 10},
			{2, "127.0.0.1", tcp, 600, strings.Repeat("L", 512), 600},
		}
		var got []want
		for _, e := range sends {
			got = append(got, want{e.Family, e.Addr, e.Port, e.Count, string(e.Data), e.Ret})
		}
		if !slices.Equal(got, wants) {
			t.Errorf("send events:\ngot  %+v\nwant %+v\n%s", got, wants, dump(events))
		}
	})
	t.Run("sockets", func(t *testing.T) {
		// Go's net package may bind more to probe for IPv6 support.
		binds := find(events, trace.KindBind, func(e *trace.Event) bool { return mine(e) && e.Family == 2 })
		if len(binds) != 2 || binds[0].Addr != "127.0.0.1" || binds[0].Port != 0 || binds[0].Family != 2 || binds[0].Ret != 0 {
			t.Errorf("bind: got %s, want two binds to 127.0.0.1:0 (udp, tcp)", dump(binds))
		}
		if l := one(t, events, trace.KindListen, "listen", mine); l.Arg <= 2 || l.Ret != 0 {
			t.Errorf("listen: got fd=%d ret=%d, want an fd > 2 and 0", l.Arg, l.Ret)
		}
		a := one(t, events, trace.KindAccept, "accept", mine)
		if a.Family != 2 || a.Addr != "127.0.0.1" || a.Port != uint16(f.PeerPort) || a.Ret <= 2 {
			t.Errorf("accept: got family=%d %s:%d ret=%d, want 2 127.0.0.1:%d and an fd", a.Family, a.Addr, a.Port, a.Ret, f.PeerPort)
		}
	})
	t.Run("credentials", func(t *testing.T) {
		var got []string
		for _, e := range find(events, trace.KindSetuid, mine) {
			got = append(got, fmt.Sprintf("%s(%d)=%d", e.Name, e.Arg, e.Ret))
		}
		want := []string{"setuid(0)=0", "setgid(4321)=0", "setregid(4322)=0", "setresgid(4323)=0", "setreuid(0)=0", "setresuid(1234)=0"}
		if !slices.Equal(got, want) || !f.SetuidDone {
			t.Errorf("setuid events: got %q, want %q", got, want)
		}
	})
	t.Run("processes", func(t *testing.T) {
		pt := one(t, events, trace.KindPtrace, "ptrace", mine)
		if pt.Arg != unix.PTRACE_ATTACH || pt.TargetPID != uint32(f.ChildPID) || pt.Ret != 0 {
			t.Errorf("ptrace: got request=%d target=%d ret=%d, want %d %d 0", pt.Arg, pt.TargetPID, pt.Ret, unix.PTRACE_ATTACH, f.ChildPID)
		}
		kill := one(t, events, trace.KindKill, "kill", func(e *trace.Event) bool { return mine(e) && e.Signal == 9 })
		if kill.TargetPID != uint32(f.ChildPID) || kill.Arg != int64(f.ChildPID) || kill.Ret != 0 {
			t.Errorf("kill: got target=%d arg=%d ret=%d, want %d", kill.TargetPID, kill.Arg, kill.Ret, f.ChildPID)
		}
		// tgkill names the process, tkill the thread.
		sig0 := find(events, trace.KindKill, func(e *trace.Event) bool { return mine(e) && e.Signal == 0 && e.PID == uint32(f.TID) })
		var targets []uint32
		for _, e := range sig0 {
			targets = append(targets, e.TargetPID)
		}
		if want := []uint32{helperExec.TGID, uint32(f.TID)}; !slices.Equal(targets, want) {
			t.Errorf("tgkill, tkill targets: got %v, want %v", targets, want)
		}
		mfd := one(t, events, trace.KindMemfd, "memfd_create", mine)
		if mfd.Name != "fh-probe" || mfd.Flags != unix.MFD_CLOEXEC || mfd.Ret != int64(f.MemfdFD) {
			t.Errorf("memfd: got name=%q flags=%d ret=%d, want fh-probe 1 %d", mfd.Name, mfd.Flags, mfd.Ret, f.MemfdFD)
		}
		execs := find(events, trace.KindExec, func(e *trace.Event) bool { return e.Path == "/memfd:fh-probe (deleted)" })
		if len(execs) != 2 {
			t.Errorf("got %d execs of the memfd, want 2 (/proc/self/fd, execveat)\n%s", len(execs), dump(events))
		}
		mnt := one(t, events, trace.KindMount, "mount", mine)
		if mnt.Path != f.Dir+"/nomnt" || mnt.Path2 != "fh-src" || mnt.Name != "tmpfs" || mnt.Flags != unix.MS_NOSUID|unix.MS_NODEV || mnt.Ret != -int64(syscall.ENOENT) {
			t.Errorf("mount: got %s on %s type %s flags %#x ret %d", mnt.Path2, mnt.Path, mnt.Name, mnt.Flags, mnt.Ret)
		}
	})
	t.Run("files", func(t *testing.T) {
		var chdirs []string
		for _, e := range find(events, trace.KindChdir, mine) {
			chdirs = append(chdirs, fmt.Sprintf("%s=%d", e.Path, e.Ret))
		}
		if want := []string{dir + "/sub=0", dir + "/sub2=0"}; !slices.Equal(chdirs, want) {
			t.Errorf("chdir, fchdir: got %q, want %q", chdirs, want)
		}
		var links []string
		for _, e := range find(events, trace.KindLink, mine) {
			links = append(links, fmt.Sprintf("%s %s -> %s = %d", e.Name, e.Path, e.Path2, e.Ret))
		}
		want := []string{
			"link " + dir + "/l1 -> " + dir + "/a = 0",
			"linkat " + dir + "/l2 -> " + dir + "/a = 0",
			"symlink " + dir + "/s1 -> a = 0",
			"symlinkat " + dir + "/s2 -> a = 0",
		}
		if !slices.Equal(links, want) {
			t.Errorf("links: got %q, want %q", links, want)
		}
		var writes []string
		for _, e := range find(events, trace.KindWrite, func(*trace.Event) bool { return true }) {
			writes = append(writes, fmt.Sprintf("%s %d", e.Path, e.Count))
			if e.TGID != helperExec.TGID || e.Comm == "" || e.Start != helperExec.Start {
				t.Errorf("write %s: got tgid=%d start=%d comm=%q, want the helper's", e.Path, e.TGID, e.Start, e.Comm)
			}
		}
		slices.Sort(writes)
		bin, err := os.Stat("/bin/true")
		if err != nil {
			t.Fatal(err)
		}
		want = []string{
			fmt.Sprintf("/memfd:fh-probe (deleted) %d", bin.Size()),
			dir + "/facts.json " + fmt.Sprint(len(raw)),
			dir + "/w 3000",
			dir + "/w2 200",
		}
		if !slices.Equal(writes, want) {
			t.Errorf("writes (pipes and /dev/null excluded): got %q, want %q", writes, want)
		}
	})
}

func TestWriteFlushedOnStop(t *testing.T) {
	tr := load(t, Options{})
	cg := newCgroup(t)
	file := filepath.Join(t.TempDir(), "held")
	helper, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := tr.Watch(cg.id)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helper, file)
	cmd.Env = append(os.Environ(), helperEnv+"=holdwrite")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.f.Fd())}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer in.Close()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ok\n" {
		t.Fatalf("helper: got %q %v, want ok", line, err)
	}
	events := stop(t, rec)
	w := one(t, events, trace.KindWrite, "write to the held file", func(e *trace.Event) bool { return e.Path == file })
	if w.Count != 500 || w.TGID != uint32(cmd.Process.Pid) {
		t.Errorf("write: got count=%d tgid=%d, want 500 %d", w.Count, w.TGID, cmd.Process.Pid)
	}
	// Stop took the aggregate out of the kernel: a second recording of the
	// same cgroup does not see it again when the process closes the file.
	rec2, err := tr.Watch(cg.id)
	if err != nil {
		t.Fatal(err)
	}
	in.Close()
	cmd.Wait()
	if got := find(stop(t, rec2), trace.KindWrite, func(*trace.Event) bool { return true }); len(got) != 0 {
		t.Errorf("second recording: got %d write events, want 0: %s", len(got), dump(got))
	}
}
