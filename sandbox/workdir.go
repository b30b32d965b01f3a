package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WorkDir is a directory on the host where one run keeps what never enters
// a container (its downloads), Config.WorkRoot/<id>. Like a workspace it
// has an owner file beside it, so that Reap removes it once the process
// that made it is gone: a run killed mid-way leaves no tarball behind.
type WorkDir struct {
	Dir string

	id string
	s  *Sandbox
}

// NewWorkDir makes the empty work directory of run id (mode 0700),
// replacing what an earlier run of the same id left: a re-delivered task
// whose first run died. Close removes it.
func (s *Sandbox) NewWorkDir(id string) (_ *WorkDir, retErr error) {
	if err := checkID(id); err != nil {
		return nil, fmt.Errorf("new work dir: %w", err)
	}
	if err := s.claim("work", id); err != nil {
		return nil, fmt.Errorf("new work dir: %w", err)
	}
	w := &WorkDir{Dir: filepath.Join(s.work, id), id: id, s: s}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, w.Close())
		}
	}()
	if err := os.MkdirAll(s.work, 0o700); err != nil {
		return nil, fmt.Errorf("new work dir %s: %w", id, err)
	}
	if err := removeWorkDir(w.Dir); err != nil {
		return nil, err
	}
	// The owner file comes first: a directory without one is a leftover.
	if err := os.WriteFile(ownerFile(w.Dir), fmt.Appendf(nil, "%d %d\n", s.owner.PID, s.owner.Start), 0o600); err != nil {
		return nil, fmt.Errorf("new work dir %s: %w", id, err)
	}
	if err := os.Mkdir(w.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("new work dir %s: %w", id, err)
	}
	return w, nil
}

// Close removes the work directory and its owner file.
func (w *WorkDir) Close() error {
	defer w.s.release("work", w.id)
	return removeWorkDir(w.Dir)
}

func removeWorkDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove work dir %s: %w", dir, err)
	}
	if err := os.Remove(ownerFile(dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove work dir %s: %w", dir, err)
	}
	return nil
}
