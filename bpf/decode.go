package bpf

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unsafe"

	"github.com/fumehood/fumehood/trace"
)

// ErrRecord means a ring buffer record could not be decoded.
var ErrRecord = errors.New("bpf: malformed record")

// Kind values of struct event (enum kind in c/probes.c).
const (
	kindExec    = 1
	kindFork    = 2
	kindExit    = 3
	kindOpen    = 4
	kindUnlink  = 5
	kindRename  = 6
	kindChmod   = 7
	kindConnect = 8
	kindSend    = 9
	kindBind    = 10
	kindListen  = 11
	kindAccept  = 12
	kindSetuid  = 13
	kindPtrace  = 14
	kindMemfd   = 15
	kindMount   = 16
	kindKill    = 17
	kindChdir   = 18
	kindWrite   = 19
	kindLink    = 20
)

var kinds = [...]trace.Kind{
	kindExec:    trace.KindExec,
	kindFork:    trace.KindFork,
	kindExit:    trace.KindExit,
	kindOpen:    trace.KindOpen,
	kindUnlink:  trace.KindUnlink,
	kindRename:  trace.KindRename,
	kindChmod:   trace.KindChmod,
	kindConnect: trace.KindConnect,
	kindSend:    trace.KindSend,
	kindBind:    trace.KindBind,
	kindListen:  trace.KindListen,
	kindAccept:  trace.KindAccept,
	kindSetuid:  trace.KindSetuid,
	kindPtrace:  trace.KindPtrace,
	kindMemfd:   trace.KindMemfd,
	kindMount:   trace.KindMount,
	kindKill:    trace.KindKill,
	kindChdir:   trace.KindChdir,
	kindWrite:   trace.KindWrite,
	kindLink:    trace.KindLink,
}

// calls names the syscall of setuid and link events (enum call in
// c/probes.c); the send variants have values past its end.
var calls = [...]string{
	1:  "setuid",
	2:  "setgid",
	3:  "setreuid",
	4:  "setregid",
	5:  "setresuid",
	6:  "setresgid",
	7:  "link",
	8:  "linkat",
	9:  "symlink",
	10: "symlinkat",
}

func callName(c uint8) string {
	if int(c) < len(calls) {
		return calls[c]
	}
	return ""
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
	if argvEnd > len(data) {
		return fmt.Errorf("record of %d data bytes, lengths need %d: %w", len(data), argvEnd, ErrRecord)
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
	switch h.Kind {
	case kindExec:
		ev.Path = string(path)
		ev.Cwd = string(path2)
		ev.Argv = splitArgv(argv)
		ev.Ret = h.Ret // a failed attempt: -errno
	case kindFork:
		ev.ChildPID = h.ChildPid
		ev.ChildStart = h.ChildStart
	case kindExit:
		ev.ExitCode = h.ExitCode
		ev.Signal = h.Signal
	case kindOpen, kindUnlink, kindRename, kindChmod:
		ev.Path = string(path)
		ev.Path2 = string(path2)
		ev.Flags = h.Flags
		ev.Mode = h.Mode
		ev.Ret = h.Ret
	case kindConnect, kindBind, kindAccept:
		ev.Ret = h.Ret
		sockaddr(h, path, ev)
	case kindSend:
		ev.Ret = h.Ret
		ev.Count = h.Count
		sockaddr(h, path, ev)
		if len(argv) > 0 {
			ev.Data = bytes.Clone(argv)
		}
	case kindListen:
		ev.Arg = h.Arg
		ev.Ret = h.Ret
	case kindSetuid:
		ev.Name = callName(h.Call)
		ev.Arg = h.Arg
		ev.Ret = h.Ret
	case kindPtrace:
		ev.Arg = h.Arg
		ev.TargetPID = h.TargetPid
		ev.Ret = h.Ret
	case kindMemfd:
		ev.Name = string(path)
		ev.Flags = h.Flags
		ev.Ret = h.Ret
	case kindMount:
		ev.Path = string(path)
		ev.Path2 = string(path2)
		ev.Name = string(argv)
		ev.Flags = h.Flags
		ev.Ret = h.Ret
	case kindKill:
		ev.Arg = h.Arg
		ev.TargetPID = h.TargetPid
		ev.Signal = h.Signal
		ev.Ret = h.Ret
	case kindChdir:
		ev.Path = string(path)
		ev.Ret = h.Ret
	case kindWrite:
		ev.Path = string(path)
		ev.Count = h.Count
	case kindLink:
		ev.Name = callName(h.Call)
		ev.Path = string(path)
		ev.Path2 = string(path2)
		ev.Flags = h.Flags
		ev.Ret = h.Ret
	}
	return nil
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
