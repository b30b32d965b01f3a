package bpf

import (
	"encoding/binary"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/fumehood/fumehood/trace"
)

var testBoot = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// record builds a raw record the way the probes write one: the header of h
// followed by its data regions, in order path, path2 (or cwd), argv and
// bin (those not given are empty).
func record(h probesEvent, regions ...string) []byte {
	lens := [...]*uint16{&h.PathLen, &h.Path2Len, &h.ArgvLen, &h.BinLen}
	for i, r := range regions {
		*lens[i] = uint16(len(r))
	}
	raw := append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(&h)), headerLen)...)
	return append(raw, strings.Join(regions, "")...)
}

// stdioBits packs enum fdtype values as struct event.stdio does.
func stdioBits(in, out, err probesFdtype) uint16 {
	return uint16(in) | uint16(out)<<4 | uint16(err)<<8
}

func comm(s string) (c [16]int8) {
	for i := range min(len(s), 15) {
		c[i] = int8(s[i])
	}
	return c
}

// common is the header every test record shares.
func common(kind probesKind) probesEvent {
	return probesEvent{
		Kind: uint8(kind), Ktime: 1500, Start: 900, Cgroup: 4242,
		Pid: 11, Tgid: 10, Ppid: 1, Uid: 1000, Comm: comm("node"),
	}
}

// base is the trace.Event fields common() decodes to.
func base(kind trace.Kind) trace.Event {
	return trace.Event{
		Time: testBoot.Add(1500), Kind: kind,
		PID: 11, TGID: 10, PPID: 1, UID: 1000, Comm: "node", CgroupID: 4242, Start: 900,
	}
}

func with(e trace.Event, f func(*trace.Event)) trace.Event {
	f(&e)
	return e
}

func TestDecode(t *testing.T) {
	inet := common(probesKindKIND_CONNECT)
	inet.Family, inet.Port, inet.Ret = afInet, 443, -111
	copy(inet.Addr[:], []byte{10, 0, 0, 7})
	inet6 := common(probesKindKIND_CONNECT)
	inet6.Family, inet6.Port = afInet6, 53
	inet6.Addr = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	unixc := common(probesKindKIND_CONNECT)
	unixc.Family = afUnix
	other := common(probesKindKIND_CONNECT)
	other.Family = 16 // netlink: family only
	open := common(probesKindKIND_OPEN)
	open.Flags, open.Mode, open.Ret = trace.OWronly|trace.OCreat|trace.OTrunc, 0o644, 3
	opened := common(probesKindKIND_OPEN)
	opened.Ret, opened.Dev, opened.Ino = 3, 8<<20|1, 1234 // sda1
	unread := common(probesKindKIND_OPEN)
	unread.Call, unread.Note, unread.Ret = uint8(probesCallCALL_OPEN), uint8(probesNoteNOTE_PATH_UNREAD), 4
	unread.Dev, unread.Ino = 0<<20|45, 9 // a tmpfs: anonymous device 0:45
	byHandle := common(probesKindKIND_OPEN)
	byHandle.Call, byHandle.Ret = uint8(probesCallCALL_OPEN_BY_HANDLE_AT), -1
	procEnv := common(probesKindKIND_OPEN)
	procEnv.Ret, procEnv.Dev, procEnv.Ino, procEnv.TargetPid = 3, 23, 5000, 77
	memread := common(probesKindKIND_MEMREAD)
	memread.Arg, memread.TargetPid, memread.Ret = 5, 4005, 4096
	fork := common(probesKindKIND_FORK)
	fork.ChildPid, fork.ChildStart = 12, 1400
	exit := common(probesKindKIND_EXIT)
	exit.ExitCode, exit.Signal = 3, 0
	killed := common(probesKindKIND_EXIT)
	killed.Signal = 9
	chmod := common(probesKindKIND_CHMOD)
	chmod.Mode = 0o4755
	unlink := common(probesKindKIND_UNLINK)
	unlink.Flags, unlink.Ret = 0x200, -39
	rename := common(probesKindKIND_RENAME)
	send := common(probesKindKIND_SEND)
	send.Family, send.Port, send.Count, send.Ret = afInet, 53, 5, 5
	copy(send.Addr[:], []byte{10, 0, 0, 53})
	sendConnected := common(probesKindKIND_SEND)
	sendConnected.Count, sendConnected.Ret = 6, 6
	bind := common(probesKindKIND_BIND)
	bind.Family, bind.Port = afInet6, 8080
	listen := common(probesKindKIND_LISTEN)
	listen.Arg = 3
	accept := common(probesKindKIND_ACCEPT)
	accept.Family, accept.Port, accept.Ret = afInet, 40000, 4
	copy(accept.Addr[:], []byte{127, 0, 0, 1})
	setresuid := common(probesKindKIND_SETUID)
	setresuid.Call, setresuid.Arg, setresuid.Ret = 5, 0, -1
	ptrace := common(probesKindKIND_PTRACE)
	ptrace.Arg, ptrace.TargetPid = 16, 77
	memfd := common(probesKindKIND_MEMFD)
	memfd.Flags, memfd.Ret = 1, 5
	mount := common(probesKindKIND_MOUNT)
	mount.Flags, mount.Ret = 6, -2
	kill := common(probesKindKIND_KILL)
	kill.Arg, kill.TargetPid, kill.Signal = -1, 0xffffffff, 9
	chdir := common(probesKindKIND_CHDIR)
	write := common(probesKindKIND_WRITE)
	write.Count = 3000
	symlinkat := common(probesKindKIND_LINK)
	symlinkat.Call = 10
	shell := common(probesKindKIND_EXEC)
	shell.Stdio = stdioBits(probesFdtypeFDT_INET, probesFdtypeFDT_INET, probesFdtypeFDT_CLOSED)
	oddStdio := common(probesKindKIND_EXEC)
	oddStdio.Stdio = stdioBits(probesFdtypeFDT_PIPE, 15, probesFdtypeFDT_UNIX) // 15: no such fdtype

	tests := []struct {
		name string
		raw  []byte
		want trace.Event
	}{
		{"exec", record(common(probesKindKIND_EXEC), "/usr/bin/node", "/home/u/pkg", "node\x00-e\x00\x00x y\x00"),
			with(base(trace.KindExec), func(e *trace.Event) {
				e.Path, e.Cwd, e.Argv = "/usr/bin/node", "/home/u/pkg", []string{"node", "-e", "", "x y"}
			})},
		{"exec argv cut at limit", record(common(probesKindKIND_EXEC), "/bin/sh", "/", "sh\x00-c\x00ech"),
			with(base(trace.KindExec), func(e *trace.Event) {
				e.Path, e.Cwd, e.Argv = "/bin/sh", "/", []string{"sh", "-c", "ech"}
			})},
		{"exec of a symlink with socket stdio", record(shell, "/tmp/update-check", "/", "update-check\x00", "/usr/bin/dash"),
			with(base(trace.KindExec), func(e *trace.Event) {
				e.Path, e.Cwd, e.Argv, e.Path2 = "/tmp/update-check", "/", []string{"update-check"}, "/usr/bin/dash"
				e.Stdio = trace.NewStdio(trace.FDInet, trace.FDInet, trace.FDClosed)
			})},
		{"exec stdio of an unknown type", record(oddStdio, "/bin/sh", "/", "sh\x00"),
			with(base(trace.KindExec), func(e *trace.Event) {
				e.Path, e.Cwd, e.Argv = "/bin/sh", "/", []string{"sh"}
				e.Stdio = trace.NewStdio(trace.FDPipe, trace.FDUnknown, trace.FDUnix)
			})},
		{"fork", record(fork, "", "", ""),
			with(base(trace.KindFork), func(e *trace.Event) { e.ChildPID, e.ChildStart = 12, 1400 })},
		{"exit", record(exit, "", "", ""),
			with(base(trace.KindExit), func(e *trace.Event) { e.ExitCode = 3 })},
		{"exit by signal", record(killed, "", "", ""),
			with(base(trace.KindExit), func(e *trace.Event) { e.Signal = 9 })},
		{"open", record(open, "out/a.txt", "", ""),
			with(base(trace.KindOpen), func(e *trace.Event) {
				e.Path, e.Flags, e.Mode, e.Ret = "out/a.txt", 0x241, 0o644, 3
			})},
		{"open identity", record(opened, "/home/u/./.aws/credentials", "", ""),
			with(base(trace.KindOpen), func(e *trace.Event) {
				e.Path, e.Ret, e.Dev, e.Ino = "/home/u/./.aws/credentials", 3, 0x801, 1234
			})},
		{"open path unread", record(unread, "/home/u/.npmrc", "", ""),
			with(base(trace.KindOpen), func(e *trace.Event) {
				e.Name, e.Path, e.PathUnread, e.Ret, e.Dev, e.Ino = "open", "/home/u/.npmrc", true, 4, 45, 9
			})},
		{"open by handle", record(byHandle, "", "", ""),
			with(base(trace.KindOpen), func(e *trace.Event) { e.Name, e.Ret = "open_by_handle_at", -1 })},
		{"open of a process's environ", record(procEnv, "/proc/self/environ", "environ", ""),
			with(base(trace.KindOpen), func(e *trace.Event) {
				e.Path, e.Path2, e.Ret, e.Dev, e.Ino, e.TargetPID = "/proc/self/environ", "environ", 3, 23, 5000, 77
			})},
		{"memread", record(memread, "", "", ""),
			with(base(trace.KindMemRead), func(e *trace.Event) { e.Arg, e.TargetPID, e.Ret = 5, 4005, 4096 })},
		{"unlink", record(unlink, "/tmp/d", "", ""),
			with(base(trace.KindUnlink), func(e *trace.Event) { e.Path, e.Flags, e.Ret = "/tmp/d", 0x200, -39 })},
		{"rename", record(rename, "a", "/tmp/b", ""),
			with(base(trace.KindRename), func(e *trace.Event) { e.Path, e.Path2 = "a", "/tmp/b" })},
		{"chmod", record(chmod, "b", "", ""),
			with(base(trace.KindChmod), func(e *trace.Event) { e.Path, e.Mode = "b", 0o4755 })},
		{"connect inet", record(inet, "", "", ""),
			with(base(trace.KindConnect), func(e *trace.Event) {
				e.Family, e.Addr, e.Port, e.Ret = 2, "10.0.0.7", 443, -111
			})},
		{"connect inet6", record(inet6, "", "", ""),
			with(base(trace.KindConnect), func(e *trace.Event) { e.Family, e.Addr, e.Port = 10, "2001:db8::1", 53 })},
		{"connect unix path", record(unixc, "/run/x.sock\x00\x00", "", ""),
			with(base(trace.KindConnect), func(e *trace.Event) { e.Family, e.Addr = 1, "/run/x.sock" })},
		{"connect unix abstract", record(unixc, "\x00dbus\x00", "", ""),
			with(base(trace.KindConnect), func(e *trace.Event) { e.Family, e.Addr = 1, "@dbus" })},
		{"send inet with payload", record(send, "", "", "\x12\x34\x01\x00\x00"),
			with(base(trace.KindSend), func(e *trace.Event) {
				e.Family, e.Addr, e.Port, e.Count, e.Ret, e.Data = 2, "10.0.0.53", 53, 5, 5, []byte{0x12, 0x34, 1, 0, 0}
			})},
		{"send connected stream", record(sendConnected, "", "", ""),
			with(base(trace.KindSend), func(e *trace.Event) { e.Count, e.Ret = 6, 6 })},
		{"bind inet6", record(bind, "", "", ""),
			with(base(trace.KindBind), func(e *trace.Event) { e.Family, e.Addr, e.Port = 10, "::", 8080 })},
		{"listen", record(listen, "", "", ""),
			with(base(trace.KindListen), func(e *trace.Event) { e.Arg = 3 })},
		{"accept", record(accept, "", "", ""),
			with(base(trace.KindAccept), func(e *trace.Event) { e.Family, e.Addr, e.Port, e.Ret = 2, "127.0.0.1", 40000, 4 })},
		{"setresuid", record(setresuid, "", "", ""),
			with(base(trace.KindSetuid), func(e *trace.Event) { e.Name, e.Ret = "setresuid", -1 })},
		{"ptrace", record(ptrace, "", "", ""),
			with(base(trace.KindPtrace), func(e *trace.Event) { e.Arg, e.TargetPID = 16, 77 })},
		{"memfd", record(memfd, "x", "", ""),
			with(base(trace.KindMemfd), func(e *trace.Event) { e.Name, e.Flags, e.Ret = "x", 1, 5 })},
		{"mount", record(mount, "/mnt", "none", "tmpfs"),
			with(base(trace.KindMount), func(e *trace.Event) {
				e.Path, e.Path2, e.Name, e.Flags, e.Ret = "/mnt", "none", "tmpfs", 6, -2
			})},
		{"kill every process", record(kill, "", "", ""),
			with(base(trace.KindKill), func(e *trace.Event) { e.Arg, e.TargetPID, e.Signal = -1, 0xffffffff, 9 })},
		{"chdir", record(chdir, "/tmp", "", ""),
			with(base(trace.KindChdir), func(e *trace.Event) { e.Path = "/tmp" })},
		{"write", record(write, "/home/u/.bashrc", "", ""),
			with(base(trace.KindWrite), func(e *trace.Event) { e.Path, e.Count = "/home/u/.bashrc", 3000 })},
		{"symlinkat", record(symlinkat, "/tmp/l", "/etc/passwd", ""),
			with(base(trace.KindLink), func(e *trace.Event) { e.Name, e.Path, e.Path2 = "symlinkat", "/tmp/l", "/etc/passwd" })},
		{"connect other family", record(other, "", "", ""),
			with(base(trace.KindConnect), func(e *trace.Event) { e.Family = 16 })},
	}
	d := decoder{bootWall: testBoot}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got trace.Event
			if err := d.decode(tt.raw, &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestWriteEvent(t *testing.T) {
	v := probesWagg{Ktime: 1500, Start: 900, Cgroup: 4242, Bytes: 123, Pid: 11, Tgid: 10, Ppid: 1, Uid: 1000, Comm: comm("node"), PathLen: 6}
	copy(v.Path[:], []int8{'/', 't', 'm', 'p', '/', 'x', 'J', 'U', 'N', 'K'})
	d := decoder{bootWall: testBoot}
	got := d.writeEvent(&v)
	want := with(base(trace.KindWrite), func(e *trace.Event) { e.Path, e.Count = "/tmp/x", 123 })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	v.PathLen = 5000 // corrupt: cut at the array
	if got := d.writeEvent(&v); len(got.Path) != len(v.Path) {
		t.Errorf("path of a corrupt length: got %d bytes, want %d", len(got.Path), len(v.Path))
	}
}

func TestDecodeCopiesStrings(t *testing.T) {
	raw := record(common(probesKindKIND_OPEN), "/etc/passwd", "", "")
	d := decoder{bootWall: testBoot}
	var ev trace.Event
	if err := d.decode(raw, &ev); err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		raw[i] = 'X'
	}
	if got, want := ev.Path, "/etc/passwd"; got != want {
		t.Errorf("path after the record was reused: got %q, want %q", got, want)
	}
}

func TestDecodeMalformed(t *testing.T) {
	good := record(common(probesKindKIND_OPEN), "/etc/passwd", "", "")
	long := append([]byte(nil), good...)
	// more than the record holds
	binary.LittleEndian.PutUint16(long[unsafe.Offsetof(probesEvent{}.PathLen):], 200)
	longBin := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(longBin[unsafe.Offsetof(probesEvent{}.BinLen):], 1)
	tests := []struct {
		name string
		raw  []byte
	}{
		{"empty", nil},
		{"short header", good[:headerLen-1]},
		{"lengths past the end", long},
		{"bin past the end", longBin},
		{"unknown kind", record(common(0), "", "", "")},
		{"kind out of range", record(common(200), "", "", "")},
	}
	d := decoder{bootWall: testBoot}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev trace.Event
			if err := d.decode(tt.raw, &ev); !errors.Is(err, ErrRecord) {
				t.Errorf("got error %v, want ErrRecord", err)
			}
		})
	}
}

func TestSplitArgv(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"\x00", []string{""}},
		{"a", []string{"a"}},
		{"a\x00", []string{"a"}},
		{"a\x00\x00", []string{"a", ""}},
		{"a\x00b\x00c", []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		if got := splitArgv([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitArgv(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		in       Options
		ring     int
		slots    int
		maxEvent int
		maxBytes int
	}{
		{Options{}, DefaultRingBytes, DefaultSlots, DefaultMaxEvents, DefaultMaxBytes},
		{Options{RingBytes: 1}, 4096, DefaultSlots, DefaultMaxEvents, DefaultMaxBytes},
		{Options{RingBytes: 5000, Slots: 2, MaxEvents: 7, MaxBytes: 9}, 8192, 2, 7, 9},
		{Options{RingBytes: 1 << 20}, 1 << 20, DefaultSlots, DefaultMaxEvents, DefaultMaxBytes},
	}
	for _, tt := range tests {
		got := tt.in.withDefaults()
		if got.RingBytes != tt.ring || got.Slots != tt.slots || got.MaxEvents != tt.maxEvent || got.MaxBytes != tt.maxBytes || got.Logger == nil {
			t.Errorf("%+v.withDefaults(): got ring=%d slots=%d max=%d bytes=%d logger=%v, want %d %d %d %d non-nil",
				tt.in, got.RingBytes, got.Slots, got.MaxEvents, got.MaxBytes, got.Logger, tt.ring, tt.slots, tt.maxEvent, tt.maxBytes)
		}
	}
}

// TestBudget: a recording keeps events within its count and bytes, and no
// class beyond half of the bytes (lookups of missing files a quarter), so events of other kinds still fit after
// a flood of one, and opens that returned a file after a flood of lookups
// of missing ones; what it refuses is counted per class.
func TestBudget(t *testing.T) {
	open := trace.Event{Kind: trace.KindOpen, Path: "/tmp/flood", Ret: 3}
	miss := trace.Event{Kind: trace.KindOpen, Path: "/tmp/flood", Ret: -trace.ENOENT}
	denied := trace.Event{Kind: trace.KindOpen, Path: "/tmp/flood", Ret: -13}
	exec := trace.Event{Kind: trace.KindExec, Path: "/bin/true"}
	size := open.Size() // exec's is the same
	opens, missing := budgetClass{kind: trace.KindOpen}, budgetClass{kind: trace.KindOpen, missing: true}
	tests := []struct {
		name                string
		maxEvents, maxBytes int
		events              []trace.Event
		want                string // kinds kept
		wantDropped         map[budgetClass]uint64
	}{
		{"fits", 10, 10 * size, []trace.Event{exec, open, open}, "exec open open", map[budgetClass]uint64{}},
		{"count", 2, 10 * size, []trace.Event{exec, open, open}, "exec open", map[budgetClass]uint64{opens: 1}},
		{"a flood of one kind leaves room for the others", 100, 10 * size,
			[]trace.Event{open, open, open, open, open, open, open, exec, exec}, "open open open open open exec exec",
			map[budgetClass]uint64{opens: 2}},
		// a quarter of the bytes: 2 of 10
		{"a flood of lookups leaves room for the opens that found a file", 100, 10 * size,
			[]trace.Event{miss, miss, miss, miss, open, open, open, open, open, exec}, "open open open open open open open exec",
			map[budgetClass]uint64{missing: 2}},
		// a denied open is no lookup: it shares the opens' half
		{"a flood of denied opens is a flood of opens", 100, 10 * size,
			[]trace.Event{denied, denied, denied, denied, denied, open, exec}, "open open open open open exec",
			map[budgetClass]uint64{opens: 1}},
		{"bytes", 100, 3 * size, []trace.Event{exec, open, exec, exec}, "exec open", map[budgetClass]uint64{{kind: trace.KindExec}: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBudget(tt.maxEvents, tt.maxBytes)
			var kept []string
			for _, e := range tt.events {
				if b.admit(&e) {
					kept = append(kept, string(e.Kind))
				}
			}
			if got := strings.Join(kept, " "); got != tt.want || !maps.Equal(b.dropped, tt.wantDropped) {
				t.Errorf("got %q kept, %v dropped; want %q, %v", got, b.dropped, tt.want, tt.wantDropped)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(record(common(probesKindKIND_EXEC), "/bin/sh", "/", "sh\x00"))
	f.Add(record(common(probesKindKIND_CONNECT), "\x00x", "", ""))
	d := decoder{bootWall: testBoot}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ev trace.Event
		if err := d.decode(raw, &ev); err != nil {
			return
		}
		if ev.Kind == "" {
			t.Errorf("decoded without a kind: %+v", ev)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	execBench := common(probesKindKIND_EXEC)
	execBench.Stdio = stdioBits(probesFdtypeFDT_UNIX, probesFdtypeFDT_UNIX, probesFdtypeFDT_UNIX)
	records := map[string][]byte{
		"open": record(common(probesKindKIND_OPEN), "/usr/lib/node_modules/pkg/lib/index.js", "", ""),
		"exec": record(execBench, "/usr/bin/node", "/home/u/pkg",
			strings.Repeat("--some-argument\x00", 20), "/usr/local/bin/node"),
	}
	for name, raw := range records {
		b.Run(name, func(b *testing.B) {
			d := decoder{bootWall: testBoot}
			var ev trace.Event
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if err := d.decode(raw, &ev); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func TestUserDev(t *testing.T) {
	tests := []struct {
		kernel uint32
		want   uint64
	}{
		{0, 0},
		{0<<20 | 45, 45},              // tmpfs, anonymous
		{8<<20 | 1, 0x801},            // sda1
		{259<<20 | 300, 0x11032c},     // nvme: minor above 255
		{1<<20 | 0xfffff, 0xfff001ff}, // widest minor
	}
	for _, tt := range tests {
		if got := userDev(tt.kernel); got != tt.want {
			t.Errorf("userDev(%#x): got %#x, want %#x", tt.kernel, got, tt.want)
		}
	}
}
