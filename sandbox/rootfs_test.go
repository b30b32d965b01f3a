package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fumehood/fumehood/internal/testenv"
)

// TestSeed checks what a phase's root filesystem gets before init runs: the
// account appended to the image's passwd and group, the host name, and the
// phase's files with their modes.
func TestSeed(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"passwd": "root:x:0:0:root:/root:/bin/bash\n", "group": "root:x:0:\n"} {
		if err := os.WriteFile(filepath.Join(dir, "etc", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := Phase{
		Hostname: "mchen-XPS-13-9310",
		Account:  Account{Name: "mchen", FullName: "Mei Chen,,,", Home: "/home/mchen", Shell: "/bin/bash"},
		Files:    []File{{Path: "/etc/resolv.conf", Data: []byte("nameserver 10.0.0.1\n"), Mode: 0o644}, {Path: "/usr/local/share/ca/x.crt", Data: []byte("pem"), Mode: 0o600}},
	}
	if err := seed(dir, p, 1854600003, 1854600003); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"etc/passwd":               "root:x:0:0:root:/root:/bin/bash\nmchen:x:1854600003:1854600003:Mei Chen,,,:/home/mchen:/bin/bash\n",
		"etc/group":                "root:x:0:\nmchen:x:1854600003:\n",
		"etc/hostname":             "mchen-XPS-13-9310\n",
		"etc/resolv.conf":          "nameserver 10.0.0.1\n",
		"usr/local/share/ca/x.crt": "pem",
	}
	for name, w := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != w {
			t.Errorf("%s = %q, %v; want %q", name, got, err, w)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "usr/local/share/ca/x.crt")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode of x.crt: %v, %v; want 0600", fi, err)
	}
	hosts, err := os.ReadFile(filepath.Join(dir, "etc/hosts"))
	if err != nil || !slices.Contains(strings.Split(string(hosts), "\n"), "127.0.1.1\tmchen-XPS-13-9310") {
		t.Errorf("etc/hosts = %q, %v; want the host name on 127.0.1.1", hosts, err)
	}

	for _, bad := range []Phase{
		{Files: []File{{Path: "relative/x"}}},
		{Files: []File{{Path: "/"}}},
	} {
		if err := seed(dir, bad, 1, 1); !errors.Is(err, ErrInvalidPhase) {
			t.Errorf("seed(%+v): got %v, want ErrInvalidPhase", bad.Files, err)
		}
	}
	for _, a := range []Account{{Name: "Root!", Home: "/h", Shell: "/bin/sh"}, {Name: "x", FullName: "a:b", Home: "/h", Shell: "/bin/sh"}, {Name: "x", Home: "h", Shell: "/bin/sh"}} {
		if err := a.check(); !errors.Is(err, ErrInvalidPhase) {
			t.Errorf("check(%+v): got %v, want ErrInvalidPhase", a, err)
		}
	}
}

// TestUnmountRoot checks the removal of a phase's root mount point: stacked
// mounts come off, what runc left in the plain directory after a cancelled
// create goes with it, and a directory with anything mounted below it is
// left alone, its contents untouched.
func TestUnmountRoot(t *testing.T) {
	testenv.Root(t)
	base := t.TempDir()
	mount := func(t *testing.T, dir string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
			t.Fatalf("mount tmpfs on %s: %v", dir, err)
		}
	}
	t.Run("stacked mounts", func(t *testing.T) {
		dir := filepath.Join(base, "stacked")
		mount(t, dir)
		mount(t, dir)
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := unmountRoot(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("root mount point still there: %v", err)
		}
	})
	t.Run("runc's mount points left in the plain directory", func(t *testing.T) {
		dir := filepath.Join(base, "plain")
		for _, d := range []string{"proc", "dev/pts", "sys"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := unmountRoot(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("root mount point still there: %v", err)
		}
	})
	t.Run("a mount below", func(t *testing.T) {
		dir := filepath.Join(base, "below")
		inner := filepath.Join(dir, "proc")
		mount(t, inner)
		t.Cleanup(func() { unix.Unmount(inner, unix.MNT_DETACH) })
		kept := filepath.Join(inner, "kept")
		if err := os.WriteFile(kept, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := unmountRoot(dir); err == nil {
			t.Error("removed a root mount point with a mount below it")
		}
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("a file in the mount below was touched: %v", err)
		}
	})
	t.Run("gone", func(t *testing.T) {
		if err := unmountRoot(filepath.Join(base, "absent")); err != nil {
			t.Errorf("unmountRoot of a missing directory: %v", err)
		}
	})
}
