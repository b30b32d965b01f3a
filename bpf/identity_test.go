package bpf

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fumehood/fumehood/trace"
)

// secretRel is the file identityHelper opens, under its directory.
const secretRel = "home/.aws/credentials"

// spelling is one way identityHelper opened the secret: the path the open
// event should carry, and its syscall name.
type spelling struct {
	Path string // as given, or the kernel's path when the probe could not read it
	Name string // the event's Name ("" for openat)
}

// identityFacts is what identityHelper reports.
type identityFacts struct {
	Spellings []spelling
	Created   string // a file made with creat(2)
	// Removed and Renamed (from, to) were named relative to a directory
	// descriptor (unlinkat, renameat).
	Removed   string
	Renamed   [2]string
	Unread    string // the path given from a page not faulted in
	ParentPID int    // the process read with process_vm_readv and /proc/PID/environ
}

// identityHelper opens DIR/secretRel through every path variant and open
// syscall, reads its parent's environ and memory, and writes what it did
// to DIR/facts.json.
func identityHelper(dir string) {
	secret := filepath.Join(dir, secretRel)
	exitOn(os.Symlink(secret, dir+"/sym"))
	exitOn(os.Link(secret, dir+"/hard"))
	f := identityFacts{ParentPID: os.Getppid()}
	openat := func(dirfd int, p string) {
		fd, err := unix.Openat(dirfd, p, unix.O_RDONLY, 0)
		exitOn(err)
		unix.Close(fd)
	}
	for _, p := range []string{
		"/proc/self/root" + secret,
		dir + "/home/./.aws/credentials",
		dir + "//home//.aws//credentials",
		dir + "/home/.aws/../.aws/credentials",
		dir + "/sym",
		dir + "/hard",
	} {
		openat(unix.AT_FDCWD, p)
		f.Spellings = append(f.Spellings, spelling{Path: p})
	}
	awsDir, err := unix.Open(dir+"/home/.aws", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	exitOn(err)
	openat(awsDir, "credentials")
	// A name under a directory descriptor is joined to the directory's
	// path.
	f.Spellings = append(f.Spellings, spelling{Path: secret})
	for _, n := range []string{"gone", "from"} {
		exitOn(os.WriteFile(dir+"/home/.aws/"+n, nil, 0o600))
	}
	exitOn(unix.Unlinkat(awsDir, "gone", 0))
	f.Removed = dir + "/home/.aws/gone"
	exitOn(unix.Renameat(awsDir, "from", awsDir, "to"))
	f.Renamed = [2]string{dir + "/home/.aws/from", dir + "/home/.aws/to"}

	rawPathCall(unix.SYS_OPEN, secret, unix.O_RDONLY)
	f.Spellings = append(f.Spellings, spelling{Path: secret, Name: "open"})
	fd, err := unix.Openat2(unix.AT_FDCWD, dir+"/sym", &unix.OpenHow{Flags: unix.O_RDONLY})
	exitOn(err)
	unix.Close(fd)
	f.Spellings = append(f.Spellings, spelling{Path: dir + "/sym", Name: "openat2"})
	handle, _, err := unix.NameToHandleAt(unix.AT_FDCWD, secret, 0)
	exitOn(err)
	mfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	exitOn(err)
	fd, err = unix.OpenByHandleAt(mfd, handle, unix.O_RDONLY)
	exitOn(err)
	unix.Close(fd)
	f.Spellings = append(f.Spellings, spelling{Name: "open_by_handle_at"})

	// The path argument in a page of a file mapping that nothing touched
	// yet: the probe cannot read it, the kernel faults it in.
	exitOn(os.WriteFile(dir+"/pathpage", append([]byte(secret), 0), 0o644))
	pf, err := os.Open(dir + "/pathpage")
	exitOn(err)
	page, err := unix.Mmap(int(pf.Fd()), 0, os.Getpagesize(), unix.PROT_READ, unix.MAP_PRIVATE)
	exitOn(err)
	if _, _, errno := unix.Syscall(unix.SYS_OPEN, uintptr(unsafe.Pointer(&page[0])), unix.O_RDONLY, 0); errno != 0 {
		exitOn(fmt.Errorf("open from an untouched page: %w", errno))
	}
	f.Unread = secret

	f.Created = dir + "/created"
	rawPathCall(unix.SYS_CREAT, f.Created, 0o600)

	for _, p := range []string{fmt.Sprintf("/proc/%d/environ", f.ParentPID), fmt.Sprintf("/proc/%d/mem", f.ParentPID), "/proc/self/environ"} {
		pf, err := os.Open(p)
		exitOn(err)
		pf.Close()
	}
	buf := make([]byte, 8)
	local := []unix.Iovec{{Base: &buf[0], Len: uint64(len(buf))}}
	remote := []unix.RemoteIovec{{Base: uintptr(0x10000), Len: len(buf)}} // the address may be unmapped: the call is what counts
	unix.ProcessVMReadv(f.ParentPID, local, remote, 0)

	raw, err := json.Marshal(f)
	exitOn(err)
	exitOn(os.WriteFile(dir+"/facts.json", raw, 0o644))
}

// fileID returns the identity stat(2) reports for p.
func fileID(t *testing.T, p string) trace.FileID {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return trace.FileID{Dev: st.Dev, Ino: st.Ino}
}

// TestOpenIdentity opens one file through every path spelling and open
// syscall, on a tmpfs (like the sandbox's workspace) and on the temporary
// directory's file system, and checks that each open event carries the
// device and inode stat(2) reports for it.
func TestOpenIdentity(t *testing.T) {
	tr := load(t, Options{})
	tmpfs := t.TempDir()
	if err := unix.Mount("fumehood-test", tmpfs, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(tmpfs, unix.MNT_DETACH) })
	disk, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{"tmpfs": tmpfs, "disk": disk} {
		t.Run(name, func(t *testing.T) { checkIdentity(t, tr, dir) })
	}
}

func checkIdentity(t *testing.T, tr *Tracer, dir string) {
	secret := filepath.Join(dir, secretRel)
	if err := os.MkdirAll(filepath.Dir(secret), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte("[default]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := fileID(t, secret)
	helper, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cg := newCgroup(t)
	rec, err := tr.Watch(cg.id)
	if err != nil {
		t.Fatal(err)
	}
	run(t, cg, fmt.Sprintf("%s %s", helper, dir), helperEnv+"=identity")
	events := stop(t, rec)
	raw, err := os.ReadFile(dir + "/facts.json")
	if err != nil {
		t.Fatal(err)
	}
	var f identityFacts
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}

	one(t, events, trace.KindUnlink, "unlinkat under a directory descriptor", func(e *trace.Event) bool {
		return e.Path == f.Removed && e.Ret == 0
	})
	one(t, events, trace.KindRename, "renameat under directory descriptors", func(e *trace.Event) bool {
		return e.Path == f.Renamed[0] && e.Path2 == f.Renamed[1] && e.Ret == 0
	})
	for _, s := range f.Spellings {
		e := one(t, events, trace.KindOpen, fmt.Sprintf("open %q via %q", s.Path, s.Name), func(e *trace.Event) bool {
			return e.Path == s.Path && e.Name == s.Name && !e.PathUnread
		})
		if e.File() != want || e.Ret < 0 {
			t.Errorf("open %q via %q: got %d:%d ret=%d, want %d:%d", s.Path, s.Name, e.Dev, e.Ino, e.Ret, want.Dev, want.Ino)
		}
	}
	t.Run("path unread", func(t *testing.T) {
		// By identity: any open of the helper (the Go runtime's own of
		// /proc/self/maps) may find its path in a page not faulted in yet.
		e := one(t, events, trace.KindOpen, "open with an unread path", func(e *trace.Event) bool { return e.PathUnread && e.File() == want })
		if e.Path != f.Unread || e.Name != "open" {
			t.Errorf("got %s, want %s opened by open(2), identity %d:%d", e.String(), f.Unread, want.Dev, want.Ino)
		}
	})
	t.Run("creat", func(t *testing.T) {
		e := one(t, events, trace.KindOpen, "creat", func(e *trace.Event) bool { return e.Path == f.Created })
		if e.Name != "creat" || e.Flags != trace.OCreat|trace.OWronly|trace.OTrunc || e.Mode != 0o600 || e.File() != fileID(t, f.Created) {
			t.Errorf("got %s mode=%#o, want creat of %s with flags 0x241, mode 0600 and its identity", e.String(), e.Mode, f.Created)
		}
	})
	t.Run("proc", func(t *testing.T) {
		parent := one(t, events, trace.KindExec, "exec of the helper", func(e *trace.Event) bool { return e.Path == helper }).PPID
		self := one(t, events, trace.KindExec, "exec of the helper", func(e *trace.Event) bool { return e.Path == helper }).TGID
		for _, w := range []struct {
			path, entry string
			owner       uint32
		}{
			{fmt.Sprintf("/proc/%d/environ", f.ParentPID), "environ", parent},
			{fmt.Sprintf("/proc/%d/mem", f.ParentPID), "mem", parent},
			{"/proc/self/environ", "environ", self},
		} {
			if e := one(t, events, trace.KindOpen, w.path, func(e *trace.Event) bool { return e.Path == w.path }); e.TargetPID != w.owner || e.Path2 != w.entry {
				t.Errorf("open %s: got target %d entry %q, want %d %s", w.path, e.TargetPID, e.Path2, w.owner, w.entry)
			}
		}
		if e := one(t, events, trace.KindMemRead, "process_vm_readv", func(*trace.Event) bool { return true }); e.TargetPID != parent || e.Arg != int64(f.ParentPID) {
			t.Errorf("process_vm_readv: got %s, want target %d", e.String(), parent)
		}
	})
}
