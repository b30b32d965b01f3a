package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/errdefs"
)

// ownerFilter selects containers and snapshots labelled by a sandbox.
const ownerFilter = `labels."` + labelOwner + `"`

// Reap removes what crashed earlier runs left: containers (and their tasks)
// labelled by a sandbox, their root mounts and snapshots, their cgroup
// directories, workspaces under StateDir and work directories under WorkRoot. It removes only what belongs to a dead owner
// process, or to this process but is none of its live runs and workspaces;
// what another living process owns stays. Safe to call on every start and
// concurrently with Run.
func (s *Sandbox) Reap(ctx context.Context) error {
	ctx = s.nsCtx(ctx)
	var errs []error
	if err := s.reapContainers(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.reapRoots(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.reapSleeps(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.reapSnapshots(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.reapCgroups(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.reapDirs(ctx, "ws", s.wsRoot(), removeWorkspace); err != nil {
		errs = append(errs, err)
	}
	if err := s.reapDirs(ctx, "work", s.work, removeWorkDir); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("reap: %w", errors.Join(errs...))
	}
	return nil
}

// abandoned reports whether a thing of kind and id owned by o (ok=false: no
// readable owner) is a leftover.
func (s *Sandbox) abandoned(kind, id string, o owner, ok bool) bool {
	switch {
	case !ok:
		return true
	case o == s.owner:
		return !s.isLive(kind, id)
	default:
		return !o.alive()
	}
}

func (s *Sandbox) reapContainers(ctx context.Context) error {
	ctrs, err := s.client.Containers(ctx, ownerFilter)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	for _, c := range ctrs {
		labels, err := c.Labels(ctx)
		if err != nil {
			if !errdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("container %s: %w", c.ID(), err))
			}
			continue
		}
		o, ok := ownerFromLabels(labels)
		if !s.abandoned("run", c.ID(), o, ok) {
			continue
		}
		s.log.InfoContext(ctx, "reaping container", "id", c.ID(), "owner_pid", o.PID)
		if err := removeContainer(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// clearAbandoned removes what an earlier, dead owner left under id: a run
// re-delivered by the queue after its worker was killed reuses the id
// before any reaper of that worker's host ran. A live owner's run is
// ErrRunExists.
func (s *Sandbox) clearAbandoned(ctx context.Context, id string) error {
	if c, err := s.client.LoadContainer(ctx, id); err == nil {
		labels, err := c.Labels(ctx)
		if err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("container %s: %w", id, err)
		}
		if o, ok := ownerFromLabels(labels); !s.abandoned("run", id, o, ok) {
			return fmt.Errorf("%w: %s (owner pid %d)", ErrRunExists, id, o.PID)
		}
		s.log.InfoContext(ctx, "removing an abandoned run of the same id", "id", id)
		if err := removeContainer(ctx, c); err != nil {
			return err
		}
	}
	if err := unmountRoot(filepath.Join(s.rootsDir(), id)); err != nil {
		return err
	}
	sn := s.client.SnapshotService(snapshotter)
	info, err := sn.Stat(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", id, err)
	}
	if o, ok := ownerFromLabels(info.Labels); !s.abandoned("run", id, o, ok) {
		return fmt.Errorf("%w: snapshot %s (owner pid %d)", ErrRunExists, id, o.PID)
	}
	if err := sn.Remove(ctx, id); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove snapshot %s: %w", id, err)
	}
	return nil
}

// removeContainer kills and deletes c's task, if any, then c and its snapshot.
func removeContainer(ctx context.Context, c client.Container) error {
	task, err := c.Task(ctx, nil)
	switch {
	case errdefs.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("container %s: task: %w", c.ID(), err)
	default:
		if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("container %s: delete task: %w", c.ID(), err)
		}
	}
	if err := c.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("container %s: delete: %w", c.ID(), err)
	}
	return nil
}

// reapRoots unmounts and removes the root mount points whose container no
// longer exists (reapContainers ran first), and those of this process that
// are none of its live runs.
func (s *Sandbox) reapRoots(ctx context.Context) error {
	entries, err := os.ReadDir(s.rootsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list root mounts: %w", err)
	}
	var errs []error
	for _, e := range entries {
		id := e.Name()
		if s.isLive("run", id) {
			continue
		}
		if _, err := s.client.LoadContainer(ctx, id); !errdefs.IsNotFound(err) {
			continue // another process's run in progress, or a container to reap next time
		}
		dir := filepath.Join(s.rootsDir(), id)
		s.log.InfoContext(ctx, "reaping root mount", "dir", dir)
		if err := unmountRoot(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// reapSnapshots removes labelled snapshots that no container uses any more.
func (s *Sandbox) reapSnapshots(ctx context.Context) error {
	sn := s.client.SnapshotService(snapshotter)
	var infos []snapshots.Info
	err := sn.Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		infos = append(infos, info)
		return nil
	}, ownerFilter)
	if err != nil {
		return fmt.Errorf("list snapshots: %w", err)
	}
	var errs []error
	for _, info := range infos {
		o, ok := ownerFromLabels(info.Labels)
		if !s.abandoned("run", info.Name, o, ok) {
			continue
		}
		if _, err := s.client.LoadContainer(ctx, info.Name); err == nil {
			continue // its container is alive, or was just reaped with it
		}
		s.log.InfoContext(ctx, "reaping snapshot", "key", info.Name, "owner_pid", o.PID)
		if err := sn.Remove(ctx, info.Name); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove snapshot %s: %w", info.Name, err))
		}
	}
	return errors.Join(errs...)
}

// reapCgroups removes the cgroup directories of the namespace whose
// container no longer exists. A cgroup that still has processes cannot be
// removed (EBUSY) and is reported.
func (s *Sandbox) reapCgroups(ctx context.Context) error {
	var errs []error
	for _, parent := range cgroupDirs("/" + s.ns) {
		entries, err := os.ReadDir(parent)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			if _, err := s.client.LoadContainer(ctx, e.Name()); !errdefs.IsNotFound(err) {
				continue
			}
			dir := filepath.Join(parent, e.Name())
			s.log.InfoContext(ctx, "reaping cgroup", "dir", dir)
			if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove cgroup: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// reapDirs removes the directories of kind (workspaces, work directories)
// under root, each with an owner file beside it, that are leftovers.
func (s *Sandbox) reapDirs(ctx context.Context, kind, root string, remove func(dir string) error) error {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", kind, err)
	}
	ids := map[string]bool{}
	for _, e := range entries {
		ids[strings.TrimSuffix(e.Name(), ".owner")] = true
	}
	var errs []error
	for id := range ids {
		dir := filepath.Join(root, id)
		o, ok := dirOwner(dir)
		if !s.abandoned(kind, id, o, ok) {
			continue
		}
		s.log.InfoContext(ctx, "reaping", "kind", kind, "dir", dir, "owner_pid", o.PID)
		if err := remove(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
