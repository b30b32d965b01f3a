package sinkhole

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// sharedMu serialises making the netns directory a shared mount within
// this process.
var sharedMu sync.Mutex

// makeShared makes dir a mount point with shared propagation, so that the
// unmount of a namespace file below it reaches every mount namespace that
// copied it (what ip-netns does for /run/netns).
func makeShared(dir string) error {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("netns dir: %w", err)
	}
	err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) { // not a mount point yet
		if err := unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind netns dir: %w", err)
		}
		err = unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("share netns dir: %w", err)
	}
	return nil
}

// createNetNS creates a new network namespace and bind-mounts it on path,
// which must not exist. The namespace lives as long as the mount (or a
// socket or process inside it).
func createNetNS(path string) (retErr error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("netns file: %w", err)
	}
	f.Close()
	defer func() {
		if retErr != nil {
			os.Remove(path)
		}
	}()
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it ends with this goroutine, so
		// no other goroutine runs in the new namespace.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("bind netns: %w", err)
			return
		}
		errc <- nil
	}()
	return <-errc
}

// inNetNS runs fn on a thread that has joined the network namespace at
// path. Sockets fn creates belong to that namespace for their lifetime.
func inNetNS(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread is discarded with the goroutine
		// rather than returned to the scheduler in the wrong namespace.
		runtime.LockOSThread()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open netns: %w", err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("setns %s: %w", filepath.Base(path), err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// removeNetNS unmounts and removes a namespace file; a missing file or
// mount is not an error.
func removeNetNS(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}
