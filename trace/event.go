package trace

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// Kind names what an Event records. Every kind is declared below and
// listed in kinds; the probe kinds are also the members of enum kind in
// bpf/c/probes.c (KIND_EXEC is "exec"), which a test of package bpf checks
// against the decoder's table.
type Kind string

// Event kinds. Probe events come from eBPF (package bpf); capture events
// from the sinkhole; plant, alive and lost events from the pipeline and the
// ring buffer reader.
const (
	KindExec    Kind = "exec"    // a process image was replaced: Path, Argv, Cwd, Path2 (the program loaded), Stdio
	KindFork    Kind = "fork"    // a process was created: ChildPID, ChildStart
	KindExit    Kind = "exit"    // a process ended: ExitCode, Signal
	KindOpen    Kind = "open"    // open/creat/openat/openat2/open_by_handle_at: Path, Flags, Mode, Ret, Dev, Ino (see Event)
	KindUnlink  Kind = "unlink"  // unlink/unlinkat/rmdir: Path, Ret
	KindRename  Kind = "rename"  // rename/renameat/renameat2: Path -> Path2, Ret
	KindChmod   Kind = "chmod"   // chmod/fchmodat: Path, Mode, Ret
	KindConnect Kind = "connect" // connect: Addr, Port, Family, Ret
	KindSend    Kind = "send"    // sendto/sendmsg/sendmmsg, write/writev to an inet socket: Family, Addr, Port (a connected socket's peer), Count (bytes), Data (first 512 bytes, TCP and UDP)
	KindBind    Kind = "bind"    // bind: Family, Addr, Port, Ret
	KindListen  Kind = "listen"  // listen: Arg (fd), Ret
	KindAccept  Kind = "accept"  // accept/accept4: Family, Addr, Port of the peer, Ret
	KindSetuid  Kind = "setuid"  // setuid/setgid/setresuid/setresgid/setreuid/setregid: Name (syscall), Arg (new id), Ret
	KindPtrace  Kind = "ptrace"  // ptrace: Arg (request), TargetPID, Ret
	KindMemfd   Kind = "memfd"   // memfd_create: Name, Flags, Ret
	KindMount   Kind = "mount"   // mount: Path2 (source), Path (target), Name (fs type), Flags, Ret
	KindKill    Kind = "kill"    // kill/tkill/tgkill: TargetPID, Signal, Ret
	KindChdir   Kind = "chdir"   // chdir/fchdir: Path, Ret
	KindWrite   Kind = "write"   // bytes written to one file by one process, aggregated: Path, Count
	KindLink    Kind = "link"    // link/linkat/symlink/symlinkat: Path (new), Path2 (target), Name (syscall), Ret
	// KindMemRead is process_vm_readv: Arg (the pid as the caller gave
	// it, in its pid namespace), TargetPID (the tgid of that process as
	// the kernel knows it, 0 when there is none), Ret (bytes read).
	KindMemRead Kind = "memread"

	// KindLost counts events the kernel or the reader dropped: Count;
	// Name is the kind the recording's budget refused ("" for what the
	// kernel could not deliver), and Ret is -ENOENT for the opens of
	// files that do not exist, which a recording budgets apart (Missing).
	KindLost Kind = "lost"

	// KindPlant records a fake secret planted in the sandbox before the
	// package ran, so that rules can recognise it leaving (also when a
	// stored trace is re-judged) and being read: Name (what it imitates),
	// Path (file, or PlantEnv+NAME), Data (the value), Dev and Ino the
	// identity of its file, and Addr the host that issued the value when
	// the sandbox knows it (the configured registry, for a registry
	// token). A file holding several secrets has a plant event for each.
	// A token variable's identity is its marker, the file a process opens
	// when it reads the variable; the plant event at PlantEnvCopy, with no
	// value, gives the marker opened for a copy of the whole environment
	// (see package worker). Plant events come first in a trace, but for
	// those of the files a phase changed, with no Data: one that names a
	// token variable (Path PlantEnv+NAME, Path2 the file, its identity a
	// marker of the variable) goes before that phase's events, one that
	// holds a token variable's value (a stash) after them.
	KindPlant Kind = "plant"

	// KindAlive marks a process still running when its phase ended (it was
	// then killed): TGID, Comm, Path (its executable) and Argv.
	KindAlive Kind = "alive"

	// KindInitDied marks a phase whose container init ended before the
	// phase's command did, cutting the observation short: ExitCode (init's
	// status, 128+n for signal n). It names no process (init is the
	// sandbox's); the kernel's exit event of init, if recorded, is in the
	// trace too.
	KindInitDied Kind = "init_died"

	// Sinkhole captures: what the package sent over the network. They
	// carry no process fields; Addr and Port are the destination the
	// package dialled.
	KindDNS  Kind = "dns"  // a query: Name, QType
	KindHTTP Kind = "http" // a request: Method, Name (Host), URI, Headers, Data (body head)
	KindTLS  Kind = "tls"  // a TLS handshake: Name (SNI)
	KindTCP  Kind = "tcp"  // a TCP connection that spoke no HTTP: Data (first bytes)
	KindUDP  Kind = "udp"  // a datagram to a port other than DNS: Data
)

// Where a plant event of a token variable points: PlantEnv+NAME for the
// variable NAME, PlantEnvCopy for the whole environment copied.
const (
	PlantEnv     = "env:"
	PlantEnvCopy = PlantEnv + "*"
)

// source says where the events of a kind come from.
type source uint8

const (
	fromProbe    source = iota + 1 // the eBPF probes
	fromCapture                    // the sinkhole
	fromPipeline                   // the worker or the ring buffer reader
)

// kinds is every Kind and its source.
var kinds = map[Kind]source{
	KindExec: fromProbe, KindFork: fromProbe, KindExit: fromProbe, KindOpen: fromProbe,
	KindUnlink: fromProbe, KindRename: fromProbe, KindChmod: fromProbe, KindConnect: fromProbe,
	KindSend: fromProbe, KindBind: fromProbe, KindListen: fromProbe, KindAccept: fromProbe,
	KindSetuid: fromProbe, KindPtrace: fromProbe, KindMemfd: fromProbe, KindMount: fromProbe,
	KindKill: fromProbe, KindChdir: fromProbe, KindWrite: fromProbe, KindLink: fromProbe,
	KindMemRead: fromProbe,
	KindLost:    fromPipeline, KindPlant: fromPipeline, KindAlive: fromPipeline, KindInitDied: fromPipeline,
	KindDNS: fromCapture, KindHTTP: fromCapture, KindTLS: fromCapture, KindTCP: fromCapture, KindUDP: fromCapture,
}

// Kinds returns every event kind, sorted.
func Kinds() []Kind {
	return slices.Sorted(maps.Keys(kinds))
}

// Valid reports whether k is a kind of this package.
func (k Kind) Valid() bool { return kinds[k] != 0 }

// Probe reports whether events of kind k come from the eBPF probes.
func (k Kind) Probe() bool { return kinds[k] == fromProbe }

// Capture reports whether events of kind k are sinkhole captures, which
// carry no process.
func (k Kind) Capture() bool { return kinds[k] == fromCapture }

// Open flags the rules care about (the values of <fcntl.h> on Linux).
const (
	OWronly = 0x1
	ORdwr   = 0x2
	OCreat  = 0x40
	OTrunc  = 0x200
	OAppend = 0x400
)

// Event is one observed action of a sandboxed process. It is flat on
// purpose: rules address its fields directly and the hot path decodes
// millions of them. Fields that do not apply to a Kind are zero and left out
// of the JSON form.
type Event struct {
	Seq   uint64    `json:"seq"`             // order within the trace, from 1
	Time  time.Time `json:"time"`            // wall clock
	Phase string    `json:"phase,omitempty"` // install, import, ...
	Kind  Kind      `json:"kind"`

	PID      uint32 `json:"pid"`            // thread id
	TGID     uint32 `json:"tgid"`           // process id
	PPID     uint32 `json:"ppid,omitempty"` // parent's tgid
	UID      uint32 `json:"uid"`            // real uid
	Comm     string `json:"comm,omitempty"` // task name, 15 bytes at most
	CgroupID uint64 `json:"cgroup,omitempty"`
	// Start is the process's start time (ns since boot); with TGID it
	// identifies the process.
	Start uint64 `json:"start,omitempty"`

	Path  string   `json:"path,omitempty"`  // exec: the file executed; file events: the path argument
	Path2 string   `json:"path2,omitempty"` // rename/link: the new path; open of a /proc/PID file: the entry's name; exec: see below
	Argv  []string `json:"argv,omitempty"`  // exec
	Cwd   string   `json:"cwd,omitempty"`   // exec, and relative file paths
	// For an exec, Path2 is the program the kernel loaded: the file
	// executed after symlinks and #! interpreters, by its path from the
	// process's root ("/usr/bin/dash" for Path "/tmp/x/update-check", a
	// symlink to /bin/sh), so no name the process chose hides what runs.
	// Stdio is what its descriptors 0, 1 and 2 referred to then, in JSON
	// "inet,inet,char" (see FDType). Both are empty for a failed attempt.
	Stdio Stdio  `json:"stdio,omitempty"`
	Flags int64  `json:"flags,omitempty"` // open flags
	Mode  uint32 `json:"mode,omitempty"`  // open/chmod mode
	Ret   int64  `json:"ret,omitempty"`   // syscall result: fd, 0 or -errno

	// Dev and Ino identify the file a successful open returned (from the
	// kernel's file of the new descriptor, whatever path was spelled) and
	// a planted file. Dev is encoded as stat(2)'s st_dev.
	Dev uint64 `json:"dev,omitempty"`
	Ino uint64 `json:"ino,omitempty"`
	// PathUnread marks an open whose path argument the probe could not
	// read from user memory; Path is then the kernel's path of the file
	// opened (when the open succeeded), or empty.
	PathUnread bool `json:"path_unread,omitempty"`

	ChildPID   uint32 `json:"child_pid,omitempty"`   // fork
	ChildStart uint64 `json:"child_start,omitempty"` // fork
	ExitCode   int32  `json:"exit_code,omitempty"`   // exit
	Signal     int32  `json:"signal,omitempty"`      // exit: the signal that killed the process

	Family uint16 `json:"family,omitempty"` // connect: 2 (inet) or 10 (inet6); 1 (unix)
	Addr   string `json:"addr,omitempty"`   // connect: IP address or unix socket path
	Port   uint16 `json:"port,omitempty"`

	Count uint64 `json:"count,omitempty"` // lost: number of events dropped; send/write: bytes

	Arg       int64  `json:"arg,omitempty"`        // setuid: new id; ptrace: request; listen: fd
	TargetPID uint32 `json:"target_pid,omitempty"` // kill, ptrace: as given; memread, open of a /proc/PID file: the process's tgid

	Name    string   `json:"name,omitempty"`    // dns: query name; http: Host; tls: SNI
	QType   string   `json:"qtype,omitempty"`   // dns: A, AAAA, TXT, ...
	Method  string   `json:"method,omitempty"`  // http
	URI     string   `json:"uri,omitempty"`     // http: request target
	Headers []string `json:"headers,omitempty"` // http: "Key: value", in order
	Data    []byte   `json:"data,omitempty"`    // http body head, tcp/udp payload head
}

// Proc returns the identity of the process that caused e.
func (e *Event) Proc() ProcKey { return ProcKey{TGID: e.TGID, Start: e.Start} }

// File returns the identity of the file an open returned or a plant
// wrote; the zero FileID when e has none.
func (e *Event) File() FileID { return FileID{Dev: e.Dev, Ino: e.Ino} }

// FileID is a file's identity: its device (stat(2)'s st_dev) and inode.
type FileID struct{ Dev, Ino uint64 }

// eventSize is the memory an Event takes besides its strings.
const eventSize = int(unsafe.Sizeof(Event{}))

// Size returns about the memory e takes: the struct and the bytes its
// strings, argv, headers and data point to. Budgets in bytes (the
// tracer's, the sinkhole's) count events with it.
func (e *Event) Size() int {
	n := eventSize + len(e.Phase) + len(e.Comm) + len(e.Path) + len(e.Path2) + len(e.Cwd) +
		len(e.Addr) + len(e.Name) + len(e.QType) + len(e.Method) + len(e.URI) + len(e.Data)
	for _, a := range e.Argv {
		n += len(a) + 16
	}
	for _, h := range e.Headers {
		n += len(h) + 16
	}
	return n
}

// AnswerMax bounds, in bytes, what the sinkhole sent back for the
// capture e: an HTTP response or WebSocket upgrade with its headers, a
// DNS answer for e's name, a TLS server's handshake for e's SNI; a raw
// TCP or UDP flow gets nothing. A sinkhole lost event (Name "sinkhole")
// bounds each capture it counts as the largest. Other events: 0. The
// sinkhole's tests hold its answers to these bounds. Nothing else reaches
// a sandbox from the network, so a file a process wrote more bytes to
// than the sum over the captures so far cannot be network data alone.
func (e *Event) AnswerMax() uint64 {
	const http, tls = 1 << 10, 4 << 10
	switch e.Kind {
	case KindHTTP:
		return http
	case KindDNS:
		return 512 + 4*uint64(len(e.Name))
	case KindTLS:
		return tls + 2*uint64(len(e.Name))
	case KindLost:
		if e.Name == "sinkhole" {
			return e.Count * (tls + 2*255)
		}
	}
	return 0
}

// Failed reports whether the syscall behind e returned an error.
func (e *Event) Failed() bool { return e.Ret < 0 }

// Errors of Missing.
const (
	ENOENT  = 2
	ENOTDIR = 20
)

// Missing reports whether the syscall behind e failed because its file
// does not exist (ENOENT, ENOTDIR): for exec, the misses of a PATH
// search; for open, a lookup that read nothing (a compiler's include
// search). A lost event with Ret -ENOENT counts such opens.
func (e *Event) Missing() bool { return e.Ret == -ENOENT || e.Ret == -ENOTDIR }

// Writes reports whether an open event asked for write access or creation.
func (e *Event) Writes() bool {
	return e.Kind == KindOpen && e.Flags&(OWronly|ORdwr|OCreat|OTrunc|OAppend) != 0
}

// Remote reports whether a connect event targets an address off the
// machine: not loopback, not unspecified, not a unix socket.
func (e *Event) Remote() bool {
	if e.Kind != KindConnect || (e.Family != 2 && e.Family != 10) {
		return false
	}
	a, err := netip.ParseAddr(e.Addr)
	if err != nil {
		return false
	}
	return !a.IsLoopback() && !a.IsUnspecified()
}

// String renders e as one evidence line: what a person reads in a report.
func (e *Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s ", e.Seq, e.Kind)
	if e.TGID != 0 {
		fmt.Fprintf(&b, "pid=%d comm=%s ", e.TGID, e.Comm) // captures and lost counts belong to no process
	}
	switch e.Kind {
	case KindExec:
		fmt.Fprintf(&b, "%s %s", e.Path, quoteArgv(e.Argv))
		if e.Path2 != "" && e.Path2 != e.Path {
			fmt.Fprintf(&b, " loaded=%s", e.Path2)
		}
		if e.Cwd != "" {
			fmt.Fprintf(&b, " cwd=%s", e.Cwd)
		}
		if e.Stdio != 0 {
			fmt.Fprintf(&b, " stdio=%s", e.Stdio)
		}
	case KindFork:
		fmt.Fprintf(&b, "child=%d", e.ChildPID)
	case KindExit:
		fmt.Fprintf(&b, "code=%d", e.ExitCode)
		if e.Signal != 0 {
			fmt.Fprintf(&b, " signal=%d", e.Signal)
		}
	case KindOpen:
		fmt.Fprintf(&b, "%s flags=%#x", e.Path, e.Flags)
		if e.Name != "" {
			fmt.Fprintf(&b, " via %s", e.Name)
		}
		if e.PathUnread {
			b.WriteString(" (path unread)")
		}
		if e.Ino != 0 {
			fmt.Fprintf(&b, " file=%d:%d", e.Dev, e.Ino)
		}
	case KindMemRead:
		fmt.Fprintf(&b, "pid=%d (tgid %d)", e.Arg, e.TargetPID)
	case KindRename:
		fmt.Fprintf(&b, "%s -> %s", e.Path, e.Path2)
	case KindChmod:
		fmt.Fprintf(&b, "%s mode=%#o", e.Path, e.Mode)
	case KindConnect:
		if e.Family == 1 {
			fmt.Fprintf(&b, "unix:%s", e.Addr)
		} else {
			b.WriteString(netip.AddrPortFrom(parseAddr(e.Addr), e.Port).String())
		}
	case KindLost:
		fmt.Fprintf(&b, "count=%d", e.Count)
	case KindPlant:
		fmt.Fprintf(&b, "%s in %s", e.Name, e.Path)
	case KindAlive:
		fmt.Fprintf(&b, "still running at phase end: %s %s", e.Path, quoteArgv(e.Argv))
	case KindInitDied:
		fmt.Fprintf(&b, "the container's init ended before the phase's command: status %d", e.ExitCode)
	case KindDNS:
		fmt.Fprintf(&b, "%s %s", e.QType, e.Name)
	case KindHTTP:
		if strings.Contains(e.URI, "://") { // absolute form, as a proxy is asked
			fmt.Fprintf(&b, "%s %s", e.Method, e.URI)
		} else {
			fmt.Fprintf(&b, "%s http://%s%s", e.Method, e.Name, e.URI)
		}
		if len(e.Data) > 0 {
			fmt.Fprintf(&b, " body=%q", truncate(e.Data, 120))
		}
	case KindTLS:
		fmt.Fprintf(&b, "sni=%s", e.Name)
	case KindTCP, KindUDP:
		fmt.Fprintf(&b, "%s %q", netip.AddrPortFrom(parseAddr(e.Addr), e.Port), truncate(e.Data, 120))
	default:
		b.WriteString(e.Path)
	}
	if e.Ret < 0 {
		fmt.Fprintf(&b, " = %d", e.Ret)
	}
	return b.String()
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func parseAddr(s string) netip.Addr {
	a, _ := netip.ParseAddr(s)
	return a
}

func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\") {
			a = strconv.Quote(a)
		}
		q[i] = a
	}
	return "[" + strings.Join(q, " ") + "]"
}
