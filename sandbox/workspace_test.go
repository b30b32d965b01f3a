package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWorkspace(t *testing.T) {
	s := newTestSandbox(t)
	w, err := s.NewWorkspace("ws-test", 4<<20)
	if err != nil {
		t.Fatalf("NewWorkspace: %v", err)
	}
	if got, want := w.Dir, filepath.Join(s.state, "ws", "ws-test"); got != want {
		t.Errorf("Dir: got %q, want %q", got, want)
	}
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{w.Home(), 0o755 | os.ModeDir}, {w.Tmp(), 0o777 | os.ModeDir | os.ModeSticky}} {
		fi, err := os.Stat(d.path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != d.mode || st.Uid != w.UID() || st.Gid != w.UID() {
			t.Errorf("%s: got %v %d:%d, want %v %d:%[6]d", d.path, fi.Mode(), st.Uid, st.Gid, d.mode, w.UID())
		}
	}
	if w.UID() < UIDBase || w.UID() >= UIDBase+UIDSlots {
		t.Errorf("workspace uid %d outside the slots", w.UID())
	}
	if _, err := s.NewWorkspace("ws-test", 4<<20); err == nil {
		t.Error("second NewWorkspace of the same id: got nil error, want one")
	}
	if m, _ := mounted(w.Dir); !m {
		t.Fatalf("%s not mounted after a failed duplicate NewWorkspace", w.Dir)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, f := range []string{w.Dir, ownerFile(w.Dir)} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Close: got %v, want it gone", f, err)
		}
	}
}

func TestWorkspaceInvalid(t *testing.T) {
	s := newTestSandbox(t)
	for _, id := range []string{"", "../x", "a/b", ".hidden"} {
		if _, err := s.NewWorkspace(id, 1<<20); !errors.Is(err, ErrInvalidID) {
			t.Errorf("NewWorkspace(%q): got %v, want ErrInvalidID", id, err)
		}
	}
	if _, err := s.NewWorkspace("zero", 0); err == nil {
		t.Error("NewWorkspace of size 0: got nil error, want one")
	}
}
