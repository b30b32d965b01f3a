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

// workspaceUID and workspaceGID own a workspace's home/ and tmp/.
const (
	workspaceUID = 1000
	workspaceGID = 1000
)

// Workspace is a size-bounded tmpfs on the host that phases mount into their
// containers: Dir/home as the user's home, Dir/tmp as /tmp.
type Workspace struct {
	Dir string // host dir, the tmpfs mount point

	id string
	s  *Sandbox
}

// Home is the host path of the workspace's home/ directory.
func (w *Workspace) Home() string { return filepath.Join(w.Dir, "home") }

// Tmp is the host path of the workspace's tmp/ directory.
func (w *Workspace) Tmp() string { return filepath.Join(w.Dir, "tmp") }

func (s *Sandbox) wsRoot() string { return filepath.Join(s.state, "ws") }

// ownerFile records who owns workspace dir, beside (not inside) it, so the
// sandboxed code never sees it.
func ownerFile(dir string) string { return dir + ".owner" }

// NewWorkspace mounts a tmpfs of sizeBytes at StateDir/ws/<id> (nosuid,
// nodev) with the subdirs home/ (0755) and tmp/ (1777), both owned by
// 1000:1000, so a package cannot fill the host's disk. Close unmounts and
// removes it.
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
	w := &Workspace{Dir: filepath.Join(s.wsRoot(), id), id: id, s: s}
	if err := os.MkdirAll(s.wsRoot(), 0o711); err != nil {
		s.release("ws", id)
		return nil, fmt.Errorf("new workspace %s: %w", id, err)
	}
	// The owner file comes first (a mount without one is a leftover to
	// reap), created exclusively: a workspace of that id that exists
	// already, maybe another process's, is never taken over or removed.
	own, err := os.OpenFile(ownerFile(w.Dir), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		s.release("ws", id)
		return nil, fmt.Errorf("new workspace %s: %w", id, err)
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
		if err := os.Chown(d.dir, workspaceUID, workspaceGID); err != nil {
			return nil, fmt.Errorf("new workspace %s: %w", id, err)
		}
	}
	return w, nil
}

// Close unmounts the workspace and removes its directory.
func (w *Workspace) Close() error {
	defer w.s.release("ws", w.id)
	return removeWorkspace(w.Dir)
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
