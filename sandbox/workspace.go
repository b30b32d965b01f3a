package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Workspace is a size-bounded tmpfs on the host that phases mount into their
// containers: Dir/home as the user's home, Dir/tmp as /tmp.
type Workspace struct {
	Dir string // host dir, the tmpfs mount point

	id  string
	s   *Sandbox
	uid *uidSlot
}

// UID is the uid (and gid) the workspace's package code runs as, a slot no
// host account has, held until Close; home/ and tmp/ belong to it.
func (w *Workspace) UID() uint32 { return w.uid.UID }

// User is UID as a Phase.User ("uid:gid").
func (w *Workspace) User() string {
	return strconv.FormatUint(uint64(w.UID()), 10) + ":" + strconv.FormatUint(uint64(w.UID()), 10)
}

// Home is the host path of the workspace's home/ directory.
func (w *Workspace) Home() string { return filepath.Join(w.Dir, "home") }

// Tmp is the host path of the workspace's tmp/ directory.
func (w *Workspace) Tmp() string { return filepath.Join(w.Dir, "tmp") }

func (s *Sandbox) wsRoot() string { return filepath.Join(s.state, "ws") }

// ownerFile records who owns workspace dir, beside (not inside) it, so the
// sandboxed code never sees it.
func ownerFile(dir string) string { return dir + ".owner" }

// NewWorkspace claims a uid slot (see UIDBase) and mounts a tmpfs of
// sizeBytes at StateDir/ws/<id> (nosuid, nodev) with the subdirs home/
// (0755) and tmp/ (1777), both owned by that uid, so a package cannot fill
// the host's disk. Close unmounts and removes it and releases the uid.
func (s *Sandbox) NewWorkspace(id string, sizeBytes int64) (_ *Workspace, retErr error) {
	if err := checkID(id); err != nil {
		return nil, fmt.Errorf("new workspace: %w", err)
	}
	if sizeBytes <= 0 {
		return nil, fmt.Errorf("new workspace %s: size %d must be positive", id, sizeBytes)
	}
	if err := s.claim("ws", id); err != nil {
		return nil, fmt.Errorf("new workspace: %w", err)
	}
	slot, err := claimUID(uidLockDir)
	if err != nil {
		s.release("ws", id)
		return nil, fmt.Errorf("new workspace %s: %w", id, err)
	}
	w := &Workspace{Dir: filepath.Join(s.wsRoot(), id), id: id, s: s, uid: slot}
	if err := os.MkdirAll(s.wsRoot(), 0o711); err != nil {
		return nil, errors.Join(fmt.Errorf("new workspace %s: %w", id, err), w.releaseAll())
	}
	// The owner file comes first (a mount without one is a leftover to
	// reap), created exclusively: a workspace of that id that exists
	// already, maybe another process's, is never taken over or removed.
	own, err := os.OpenFile(ownerFile(w.Dir), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("new workspace %s: %w", id, err), w.releaseAll())
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, w.Close())
		}
	}()
	_, err = fmt.Fprintf(own, "%d %d\n", s.owner.PID, s.owner.Start)
	if cerr := own.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("new workspace %s: %w", id, err)
	}
	if err := os.Mkdir(w.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("new workspace %s: %w", id, err)
	}
	opts := "size=" + strconv.FormatInt(sizeBytes, 10) + ",mode=0755"
	if err := unix.Mount("tmpfs", w.Dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return nil, fmt.Errorf("new workspace %s: mount tmpfs: %w", id, err)
	}
	for _, d := range []struct {
		dir  string
		mode os.FileMode
	}{{w.Home(), 0o755}, {w.Tmp(), 0o777 | os.ModeSticky}} {
		if err := os.Mkdir(d.dir, d.mode); err != nil {
			return nil, fmt.Errorf("new workspace %s: %w", id, err)
		}
		if err := os.Chmod(d.dir, d.mode); err != nil { // umask-free
			return nil, fmt.Errorf("new workspace %s: %w", id, err)
		}
		if err := os.Chown(d.dir, int(w.UID()), int(w.UID())); err != nil {
			return nil, fmt.Errorf("new workspace %s: %w", id, err)
		}
	}
	return w, nil
}

// Close unmounts the workspace, removes its directory and releases its uid.
func (w *Workspace) Close() error {
	return errors.Join(removeWorkspace(w.Dir), w.releaseAll())
}

// releaseAll releases the workspace's id and uid.
func (w *Workspace) releaseAll() error {
	w.s.release("ws", w.id)
	return w.uid.release()
}

// removeWorkspace unmounts dir, removes it (it must then be empty) and its
// owner file. A workspace that is already gone is not an error.
func removeWorkspace(dir string) error {
	if err := unmountUnder(dir); err != nil {
		return fmt.Errorf("remove workspace %s: %w", dir, err)
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove workspace %s: %w", dir, err)
	}
	if err := os.Remove(ownerFile(dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove workspace %s: %w", dir, err)
	}
	return nil
}

// workspaceOwner reads the owner file of workspace dir.
func dirOwner(dir string) (owner, bool) {
	b, err := os.ReadFile(ownerFile(dir))
	if err != nil {
		return owner{}, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return owner{}, false
	}
	return ownerFromLabels(map[string]string{labelOwner: f[0], labelOwnerStart: f[1]})
}
