package bpf

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fumehood/fumehood/trace"
)

// ErrRecord means a ring buffer record could not be decoded.
var ErrRecord = errors.New("bpf: malformed record")

// kinds maps enum kind of c/probes.c to trace kinds (checked both ways by
// TestKindsMatchProbes).
var kinds = [...]trace.Kind{
	probesKindKIND_EXEC:    trace.KindExec,
	probesKindKIND_FORK:    trace.KindFork,
	probesKindKIND_EXIT:    trace.KindExit,
	probesKindKIND_OPEN:    trace.KindOpen,
	probesKindKIND_UNLINK:  trace.KindUnlink,
	probesKindKIND_RENAME:  trace.KindRename,
	probesKindKIND_CHMOD:   trace.KindChmod,
	probesKindKIND_CONNECT: trace.KindConnect,
	probesKindKIND_SEND:    trace.KindSend,
	probesKindKIND_BIND:    trace.KindBind,
	probesKindKIND_LISTEN:  trace.KindListen,
	probesKindKIND_ACCEPT:  trace.KindAccept,
	probesKindKIND_SETUID:  trace.KindSetuid,
	probesKindKIND_PTRACE:  trace.KindPtrace,
	probesKindKIND_MEMFD:   trace.KindMemfd,
	probesKindKIND_MOUNT:   trace.KindMount,
	probesKindKIND_KILL:    trace.KindKill,
	probesKindKIND_CHDIR:   trace.KindChdir,
	probesKindKIND_WRITE:   trace.KindWrite,
	probesKindKIND_LINK:    trace.KindLink,
	probesKindKIND_MEMREAD: trace.KindMemRead,
}

// calls names the syscall of setuid, link and open events (enum call of
// c/probes.c; checked by TestCallsMatchProbes). The send variants and
// openat, the usual open, are left unnamed.
var calls = [...]string{
	probesCallCALL_SETUID:            "setuid",
	probesCallCALL_SETGID:            "setgid",
	probesCallCALL_SETREUID:          "setreuid",
	probesCallCALL_SETREGID:          "setregid",
	probesCallCALL_SETRESUID:         "setresuid",
	probesCallCALL_SETRESGID:         "setresgid",
	probesCallCALL_LINK:              "link",
	probesCallCALL_LINKAT:            "linkat",
	probesCallCALL_SYMLINK:           "symlink",
	probesCallCALL_SYMLINKAT:         "symlinkat",
	probesCallCALL_OPEN:              "open",
	probesCallCALL_CREAT:             "creat",
	probesCallCALL_OPENAT2:           "openat2",
	probesCallCALL_OPEN_BY_HANDLE_AT: "open_by_handle_at",
}

// fdTypes maps enum fdtype of c/probes.c to trace's descriptor types
// (checked by TestFDTypesMatchProbes).
var fdTypes = [...]trace.FDType{
	probesFdtypeFDT_CLOSED: trace.FDClosed,
	probesFdtypeFDT_FILE:   trace.FDFile,
	probesFdtypeFDT_PIPE:   trace.FDPipe,
	probesFdtypeFDT_CHAR:   trace.FDChar,
	probesFdtypeFDT_UNIX:   trace.FDUnix,
	probesFdtypeFDT_INET:   trace.FDInet,
	probesFdtypeFDT_SOCKET: trace.FDSocket,
	probesFdtypeFDT_OTHER:  trace.FDOther,
}

// stdio converts struct event.stdio (an enum fdtype per four bits, fd 0
// lowest) to trace.Stdio; a value the table lacks is FDUnknown.
func stdio(s uint16) trace.Stdio {
	var t [3]trace.FDType
	for fd := range t {
		if v := s >> (4 * fd) & 0xf; int(v) < len(fdTypes) {
			t[fd] = fdTypes[v]
		}
	}
	return trace.NewStdio(t[0], t[1], t[2])
}

func callName(c uint8) string {
	if int(c) < len(calls) {
		return calls[c]
	}
	return ""
}

// userDev converts a kernel-internal dev_t (MAJOR << 20 | MINOR, as in
// super_block.s_dev) to the encoding stat(2) reports in st_dev.
func userDev(k uint32) uint64 {
	return unix.Mkdev(k>>20, k&(1<<20-1))
}

// Socket families of connect events.
const (
	afUnix  = 1
	afInet  = 2
	afInet6 = 10
)

// headerLen is the fixed part of a record; the used prefix of Data follows.
const headerLen = int(unsafe.Offsetof(probesEvent{}.Data))

// decoder turns raw ring buffer records into trace events. It reuses one
// header buffer, so it is not safe for concurrent use.
type decoder struct {
	bootWall time.Time // wall clock at CLOCK_MONOTONIC zero
	hdr      probesEvent
}

// decode fills ev from raw, a record as the probes wrote it. Strings are
// copied: raw may be reused after decode returns.
func (d *decoder) decode(raw []byte, ev *trace.Event) error {
	if len(raw) < headerLen {
		return fmt.Errorf("record of %d bytes, header needs %d: %w", len(raw), headerLen, ErrRecord)
	}
	h := &d.hdr
	copy(unsafe.Slice((*byte)(unsafe.Pointer(h)), headerLen), raw)
	data := raw[headerLen:]
	pathEnd := int(h.PathLen)
	path2End := pathEnd + int(h.Path2Len)
	argvEnd := path2End + int(h.ArgvLen)
	binEnd := argvEnd + int(h.BinLen)
	if binEnd > len(data) {
		return fmt.Errorf("record of %d data bytes, lengths need %d: %w", len(data), binEnd, ErrRecord)
	}
	if int(h.Kind) >= len(kinds) || kinds[h.Kind] == "" {
		return fmt.Errorf("unknown kind %d: %w", h.Kind, ErrRecord)
	}

	*ev = trace.Event{
		Time:     d.bootWall.Add(time.Duration(h.Ktime)),
		Kind:     kinds[h.Kind],
		PID:      h.Pid,
		TGID:     h.Tgid,
		PPID:     h.Ppid,
		UID:      h.Uid,
		Comm:     cString(int8Bytes(h.Comm[:])),
		CgroupID: h.Cgroup,
		Start:    h.Start,
	}
	path, path2, argv := data[:pathEnd], data[pathEnd:path2End], data[path2End:argvEnd]
	switch probesKind(h.Kind) {
	case probesKindKIND_EXEC:
		ev.Path = string(path)
		ev.Cwd = string(path2)
		ev.Argv = splitArgv(argv)
		ev.Path2 = string(data[argvEnd:binEnd])
		ev.Stdio = stdio(h.Stdio)
		ev.Ret = h.Ret // a failed attempt: -errno
	case probesKindKIND_FORK:
		ev.ChildPID = h.ChildPid
		ev.ChildStart = h.ChildStart
	case probesKindKIND_EXIT:
		ev.ExitCode = h.ExitCode
		ev.Signal = h.Signal
	case probesKindKIND_OPEN:
		decodeOpen(h, path, path2, ev)
	case probesKindKIND_UNLINK, probesKindKIND_RENAME, probesKindKIND_CHMOD:
		ev.Path = string(path)
		ev.Path2 = string(path2)
		ev.Flags = h.Flags
		ev.Mode = h.Mode
		ev.Ret = h.Ret
	case probesKindKIND_CONNECT, probesKindKIND_BIND, probesKindKIND_ACCEPT:
		ev.Ret = h.Ret
		sockaddr(h, path, ev)
	case probesKindKIND_SEND:
		ev.Ret = h.Ret
		ev.Count = h.Count
		sockaddr(h, path, ev)
		if len(argv) > 0 {
			ev.Data = bytes.Clone(argv)
		}
	case probesKindKIND_LISTEN:
		ev.Arg = h.Arg
		ev.Ret = h.Ret
	case probesKindKIND_SETUID:
		ev.Name = callName(h.Call)
		ev.Arg = h.Arg
		ev.Ret = h.Ret
	case probesKindKIND_PTRACE, probesKindKIND_MEMREAD:
		ev.Arg = h.Arg
		ev.TargetPID = h.TargetPid
		ev.Ret = h.Ret
	case probesKindKIND_MEMFD:
		ev.Name = string(path)
		ev.Flags = h.Flags
		ev.Ret = h.Ret
	case probesKindKIND_MOUNT:
		ev.Path = string(path)
		ev.Path2 = string(path2)
		ev.Name = string(argv)
		ev.Flags = h.Flags
		ev.Ret = h.Ret
	case probesKindKIND_KILL:
		ev.Arg = h.Arg
		ev.TargetPID = h.TargetPid
		ev.Signal = h.Signal
		ev.Ret = h.Ret
	case probesKindKIND_CHDIR:
		ev.Path = string(path)
		ev.Ret = h.Ret
	case probesKindKIND_WRITE:
		ev.Path = string(path)
		ev.Count = h.Count
	case probesKindKIND_LINK:
		ev.Name = callName(h.Call)
		ev.Path = string(path)
		ev.Path2 = string(path2)
		ev.Flags = h.Flags
		ev.Ret = h.Ret
	}
	return nil
}

// decodeOpen fills the fields of an open event.
func decodeOpen(h *probesEvent, path, path2 []byte, ev *trace.Event) {
	ev.Name = callName(h.Call)
	ev.Path = string(path)
	ev.Flags = h.Flags
	ev.Mode = h.Mode
	ev.Ret = h.Ret
	ev.PathUnread = h.Note&uint8(probesNoteNOTE_PATH_UNREAD) != 0
	if h.Ino != 0 {
		ev.Dev, ev.Ino = userDev(h.Dev), h.Ino
	}
	if h.TargetPid != 0 {
		ev.TargetPID = h.TargetPid
		ev.Path2 = string(path2)
	}
}

// sockaddr fills Family, Addr and Port from the address the probe read:
// inet and inet6 from the header, unix from the path region.
func sockaddr(h *probesEvent, path []byte, ev *trace.Event) {
	ev.Family = h.Family
	switch h.Family {
	case afInet:
		ev.Addr = netip.AddrFrom4([4]byte(h.Addr[:4])).String()
		ev.Port = h.Port
	case afInet6:
		ev.Addr = netip.AddrFrom16(h.Addr).String()
		ev.Port = h.Port
	case afUnix:
		ev.Addr = unixPath(path)
	}
}

// writeEvent converts an aggregate left in the kernel's map of writes (see
// Recording.Stop) into a write event.
func (d *decoder) writeEvent(v *probesWagg) trace.Event {
	n := min(int(v.PathLen), len(v.Path))
	return trace.Event{
		Time:     d.bootWall.Add(time.Duration(v.Ktime)),
		Kind:     trace.KindWrite,
		PID:      v.Pid,
		TGID:     v.Tgid,
		PPID:     v.Ppid,
		UID:      v.Uid,
		Comm:     cString(int8Bytes(v.Comm[:])),
		CgroupID: v.Cgroup,
		Start:    v.Start,
		Path:     string(int8Bytes(v.Path[:n])),
		Count:    v.Bytes,
	}
}

// int8Bytes views a C char array as bytes.
func int8Bytes(s []int8) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// cString returns b up to its first NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// splitArgv splits the NUL-separated argument block of a process. A block
// cut at the probe's limit ends without NUL; its last argument is kept as
// far as it was read.
func splitArgv(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	b = bytes.TrimSuffix(b, []byte{0})
	n := bytes.Count(b, []byte{0}) + 1
	argv := make([]string, 0, n)
	for range n {
		arg, rest, _ := bytes.Cut(b, []byte{0})
		argv = append(argv, string(arg))
		b = rest
	}
	return argv
}

// unixPath renders a sockaddr_un path: a filesystem path up to its NUL, or
// an abstract name (leading NUL) as "@name" in the notation of ss(8).
func unixPath(b []byte) string {
	if len(b) > 0 && b[0] == 0 {
		return "@" + string(bytes.TrimRight(b[1:], "\x00"))
	}
	return cString(b)
}
