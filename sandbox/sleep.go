package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// MaxSleep is the longest a sleep of the phase's processes lasts. A
// payload that waits ("sleep 3600 && steal", time.sleep in Python) would
// act after the phase and its watch; the phase's seccomp profile hands
// nanosleep and clock_nanosleep to the sleep agent (seccomp user
// notification: runc passes the listener the filter's descriptor), which
// lets a sleep up to MaxSleep run as asked and ends a longer one after
// MaxSleep, successfully. Waits on timers, poll, epoll or select (Node's
// setTimeout) are not sleeps to the kernel and keep their length.
const MaxSleep = 100 * time.Millisecond

// sleepSyscalls are the syscalls the agent shortens.
var sleepSyscalls = []string{"nanosleep", "clock_nanosleep"}

// seccompNotif and seccompNotifResp are the kernel's struct seccomp_notif
// and struct seccomp_notif_resp.
type seccompNotif struct {
	ID    uint64
	PID   uint32
	Flags uint32
	Data  seccompData
}

// seccompData is the kernel's struct seccomp_data.
type seccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// timerAbstime is clock_nanosleep's TIMER_ABSTIME flag.
const timerAbstime = 1

// sleepAgent answers the sleep syscalls of one phase's container.
type sleepAgent struct {
	path string
	ln   *net.UnixListener
	log  *slog.Logger
	stop chan struct{}
	done chan struct{}
}

// sleepsDir holds the agents' sockets, one per run (ID.sock).
func (s *Sandbox) sleepsDir() string { return filepath.Join(s.state, "sleep") }

// listenSleeps listens in dir for the runtime's seccomp descriptor of run
// id and serves it until close.
func listenSleeps(dir, id string, log *slog.Logger) (*sleepAgent, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sleep agent: %w", err)
	}
	path := filepath.Join(dir, id+".sock")
	if len(path) >= len(unix.RawSockaddrUnix{}.Path) {
		return nil, fmt.Errorf("sleep agent: socket path too long (%d bytes)", len(path))
	}
	os.Remove(path) //nolint:errcheck // a leftover of a dead run, if any
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("sleep agent: %w", err)
	}
	a := &sleepAgent{path: path, ln: ln, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go a.serve()
	return a, nil
}

// close stops the agent and waits for it; a sleep it holds is answered.
func (a *sleepAgent) close() {
	close(a.stop)
	a.ln.Close() //nolint:errcheck // ends Accept
	<-a.done
	os.Remove(a.path) //nolint:errcheck // gone with the state directory otherwise
}

func (a *sleepAgent) serve() {
	defer close(a.done)
	conn, err := a.ln.AcceptUnix()
	if err != nil {
		return // closed before the runtime connected: nothing ran
	}
	fd, err := receiveFD(conn)
	conn.Close() //nolint:errcheck // the descriptor is ours now
	if err != nil {
		a.log.Warn("sleep agent: no seccomp descriptor; sleeps are held by the agent until the phase ends", "err", err)
		return
	}
	defer unix.Close(fd) //nolint:errcheck // nothing to do about it
	a.loop(fd)
}

// receiveFD reads the runtime's message (the container's state) and the
// descriptor that comes with it.
func receiveFD(conn *net.UnixConn) (int, error) {
	buf, oob := make([]byte, 64<<10), make([]byte, unix.CmsgSpace(4*4))
	conn.SetReadDeadline(time.Now().Add(time.Minute)) //nolint:errcheck // best effort
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return -1, err
	}
	var fds []int
	for _, m := range msgs {
		if f, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, f...)
		}
	}
	if len(fds) == 0 {
		return -1, errors.New("no descriptor in the runtime's message")
	}
	for _, f := range fds[1:] {
		unix.Close(f) //nolint:errcheck // only the first is the filter's
	}
	return fds[0], nil
}

// loop answers notifications until the filter has no process left or the
// agent stops.
func (a *sleepAgent) loop(fd int) {
	var wg sync.WaitGroup
	defer wg.Wait()
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		select {
		case <-a.stop:
			return
		default:
		}
		n, err := unix.Poll(pfd, 100)
		if errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if err != nil || pfd[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			return
		}
		var req seccompNotif
		if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err != nil {
			continue // the caller died or was interrupted meanwhile
		}
		d, ok := requested(&req)
		if !ok || d <= MaxSleep {
			// Run it as asked (an unreadable argument fails as it would).
			respond(fd, seccompNotifResp{ID: req.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTimer(MaxSleep)
			select {
			case <-t.C:
			case <-a.stop:
				t.Stop()
			}
			respond(fd, seccompNotifResp{ID: req.ID}) // slept: returns 0
		}()
	}
}

// requested returns how long the notified sleep asks for, read from the
// caller's memory.
func requested(req *seccompNotif) (time.Duration, bool) {
	args := req.Data.Args
	addr, abs, clock := args[0], false, int32(unix.CLOCK_MONOTONIC)
	if int(req.Data.Nr) == unix.SYS_CLOCK_NANOSLEEP {
		clock, abs, addr = int32(args[0]), args[1]&timerAbstime != 0, args[2]
	}
	var ts unix.Timespec
	local := []unix.Iovec{{Base: (*byte)(unsafe.Pointer(&ts)), Len: uint64(unsafe.Sizeof(ts))}}
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: int(unsafe.Sizeof(ts))}}
	if n, err := unix.ProcessVMReadv(int(req.PID), local, remote, 0); err != nil || n != int(unsafe.Sizeof(ts)) {
		return 0, false
	}
	d := time.Duration(ts.Nano())
	if abs {
		var now unix.Timespec
		if err := unix.ClockGettime(clock, &now); err != nil {
			return 0, false
		}
		d -= time.Duration(now.Nano())
	}
	return d, true
}

func respond(fd int, resp seccompNotifResp) {
	// ENOENT: the caller is gone (killed, or the phase ended).
	ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp)) //nolint:errcheck // see above
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// withSleepAgent routes the sleep syscalls to the agent listening at path
// (after the profile and the other syscall actions are set).
func withSleepAgent(path string) oci.SpecOpts {
	route := withSyscallsAction(specs.ActNotify, nil, sleepSyscalls...)
	return func(ctx context.Context, c oci.Client, ctr *containers.Container, s *oci.Spec) error {
		if err := route(ctx, c, ctr, s); err != nil {
			return err
		}
		s.Linux.Seccomp.ListenerPath = path
		return nil
	}
}

// reapSleeps removes the sockets of runs that have no container (a
// crashed worker's: its listener is gone with it). A socket younger than
// a minute may be another process's run about to create its container.
func (s *Sandbox) reapSleeps(ctx context.Context) error {
	entries, err := os.ReadDir(s.sleepsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list sleep sockets: %w", err)
	}
	var errs []error
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".sock")
		if !ok || s.isLive("run", id) {
			continue
		}
		if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < time.Minute {
			continue
		}
		if _, err := s.client.LoadContainer(ctx, id); !errdefs.IsNotFound(err) {
			continue
		}
		if err := os.Remove(filepath.Join(s.sleepsDir(), e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
