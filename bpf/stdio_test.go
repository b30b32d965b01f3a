package bpf

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fumehood/fumehood/trace"
)

// stdioHelper puts the two ends of a new channel on descriptors 0 and 1
// and execs shell -c true. how is "socketpair" (AF_UNIX), "pipe" (the read
// end on 0) or "tcp" (one connection to addr on both).
func stdioHelper(how, shell, addr string) {
	var fds [2]int
	var err error
	switch how {
	case "socketpair":
		fds, err = unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	case "pipe":
		err = unix.Pipe(fds[:])
	case "tcp":
		fds[0], err = dialFD(addr)
		fds[1] = fds[0]
	default:
		err = fmt.Errorf("stdio helper: unknown channel %q", how)
	}
	exitOn(err)
	exitOn(unix.Dup3(fds[0], 0, 0))
	exitOn(unix.Dup3(fds[1], 1, 0))
	exitOn(unix.Exec(shell, []string{filepath.Base(shell), "-c", "true"}, os.Environ()))
}

// dialFD connects to the TCP address addr and returns a descriptor of the
// connection that survives exec.
func dialFD(addr string) (int, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return -1, fmt.Errorf("dial %s: %w", addr, err)
	}
	f, err := c.(*net.TCPConn).File() // a blocking duplicate without close-on-exec
	if err != nil {
		return -1, fmt.Errorf("descriptor of %s: %w", addr, err)
	}
	return int(f.Fd()), nil
}

// TestExecStdio checks that an exec reports what its descriptors 0, 1 and
// 2 are (2 is the pipe run collects output through) and the program the
// kernel loaded, also through a symlink with another name.
func TestExecStdio(t *testing.T) {
	tr := load(t, Options{})
	helper, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dash, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	disguised := filepath.Join(t.TempDir(), "update-check")
	if err := os.Symlink("/bin/sh", disguised); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go acceptAll(ln)

	tests := []struct {
		how, shell string
		want       trace.Stdio
	}{
		{"socketpair", "/bin/sh", trace.NewStdio(trace.FDUnix, trace.FDUnix, trace.FDPipe)},
		{"pipe", "/bin/sh", trace.NewStdio(trace.FDPipe, trace.FDPipe, trace.FDPipe)},
		{"tcp", disguised, trace.NewStdio(trace.FDInet, trace.FDInet, trace.FDPipe)},
	}
	for _, tt := range tests {
		t.Run(tt.how, func(t *testing.T) {
			cg := newCgroup(t)
			rec, err := tr.Watch(cg.id)
			if err != nil {
				t.Fatal(err)
			}
			run(t, cg, fmt.Sprintf("%s %s %s %s", helper, tt.how, tt.shell, ln.Addr()), helperEnv+"=stdio")
			events := stop(t, rec)
			argv := []string{filepath.Base(tt.shell), "-c", "true"}
			e := one(t, events, trace.KindExec, "exec of "+tt.shell, func(e *trace.Event) bool { return slices.Equal(e.Argv, argv) })
			if e.Stdio != tt.want || e.Path2 != dash {
				t.Errorf("exec of %s: stdio %q loaded %q, want %q and %q", tt.shell, e.Stdio, e.Path2, tt.want, dash)
			}
		})
	}
}

// acceptAll accepts connections on ln until it is closed, holding them
// open.
func acceptAll(ln net.Listener) {
	for {
		if _, err := ln.Accept(); err != nil {
			return
		}
	}
}
