package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Account is the user a phase's command runs as, as the container's
// /etc/passwd and /etc/group name it (its uid and gid are Phase.User's).
type Account struct {
	Name     string // login name, e.g. "mchen"
	FullName string // the passwd comment field
	Home     string // absolute
	Shell    string // absolute, e.g. "/bin/bash"
}

// File is a file written into a container's root filesystem before its
// init starts, owned by root: the resolver, a trusted CA. It lands in the
// container's own writable layer, so nothing of it shows as a mount.
type File struct {
	Path string // absolute, in the container
	Data []byte
	Mode fs.FileMode // permission bits
}

var accountName = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,31}$`)

func (a Account) check() error {
	bad := func(s string) bool { return strings.ContainsAny(s, ":\n") }
	if !accountName.MatchString(a.Name) || bad(a.FullName) || bad(a.Home) || bad(a.Shell) ||
		!path.IsAbs(a.Home) || !path.IsAbs(a.Shell) {
		return fmt.Errorf("%w: account %q", ErrInvalidPhase, a.Name)
	}
	return nil
}

// rootsDir holds the mount points of the containers' root filesystems.
func (s *Sandbox) rootsDir() string { return filepath.Join(s.state, "root") }

// mountRoot mounts the active snapshot key at dir as an overlay of its
// own, the container's root (its spec's root path). The layers
// are named to the kernel as /proc/self/fd/N of descriptors held only for
// the mount call, and an overlay shows its options as given: the
// container's /proc/self/mountinfo names none of the host's directories
// (containerd's own mount of the snapshot would show them all).
func mountRoot(ctx context.Context, sn snapshots.Snapshotter, key, dir string) error {
	ms, err := sn.Mounts(ctx, key)
	if err != nil {
		return fmt.Errorf("root mounts: %w", err)
	}
	if len(ms) != 1 || ms[0].Type != "overlay" {
		return fmt.Errorf("root mounts: want one overlay, got %+v", ms)
	}
	var opts []string
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	hide := func(p string) (string, error) {
		fd, err := unix.Open(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return "", fmt.Errorf("open layer: %w", err)
		}
		fds = append(fds, fd)
		return "/proc/self/fd/" + strconv.Itoa(fd), nil
	}
	for _, o := range ms[0].Options {
		k, v, ok := strings.Cut(o, "=")
		switch {
		case ok && (k == "upperdir" || k == "workdir"):
			h, err := hide(v)
			if err != nil {
				return err
			}
			o = k + "=" + h
		case ok && k == "lowerdir":
			var hs []string
			for _, l := range strings.Split(v, ":") {
				h, err := hide(l)
				if err != nil {
					return err
				}
				hs = append(hs, h)
			}
			o = k + "=" + strings.Join(hs, ":")
		}
		opts = append(opts, o)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("root mount point: %w", err)
	}
	if err := unix.Mount("overlay", dir, "overlay", 0, strings.Join(opts, ",")); err != nil {
		return errors.Join(fmt.Errorf("mount root: %w", err), os.Remove(dir))
	}
	return nil
}

// unmountRoot unmounts and removes a root mount point; one already gone is
// not an error. A task create that was cancelled goes on in containerd's
// shim: runc may make its mount point directories (proc, dev, ...) in the
// plain directory after the root was unmounted. With nothing mounted at or
// below it, what it then holds is runc's and is removed with it; with
// anything mounted there, it is left alone (the reaper tries again).
func unmountRoot(dir string) error {
	for {
		m, err := mountinfo.Mounted(dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("root mount point: %w", err)
		}
		if !m {
			break
		}
		// stacked mounts come off one at a time
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount root: %w", err)
		}
	}
	err := os.Remove(dir)
	if err == nil || errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("remove root mount point: %w", err)
	}
	below, merr := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if merr != nil || len(below) > 0 {
		return fmt.Errorf("remove root mount point: %w (%d mounts below it)", errors.Join(err, merr), len(below))
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove root mount point: %w", err)
	}
	return nil
}

// seed writes into the root filesystem at dir the phase's files, its
// account (appended to the image's /etc/passwd and /etc/group) and its
// host name (/etc/hostname, /etc/hosts).
func seed(dir string, p Phase, uid, gid uint32) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer root.Close()
	files := []File{
		{Path: "/etc/hostname", Data: []byte(p.Hostname + "\n"), Mode: 0o644},
		{Path: "/etc/hosts", Mode: 0o644, Data: []byte("127.0.0.1\tlocalhost\n127.0.1.1\t" + p.Hostname + "\n\n" +
			"::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")},
	}
	if a := p.Account; a.Name != "" {
		for _, f := range []struct{ path, line string }{
			{"/etc/passwd", fmt.Sprintf("%s:x:%d:%d:%s:%s:%s\n", a.Name, uid, gid, a.FullName, a.Home, a.Shell)},
			{"/etc/group", fmt.Sprintf("%s:x:%d:\n", a.Name, gid)},
		} {
			old, err := root.ReadFile(f.path[1:])
			if err != nil {
				return fmt.Errorf("seed: %w", err)
			}
			files = append(files, File{Path: f.path, Data: append(old, f.line...), Mode: 0o644})
		}
	}
	for _, f := range append(files, p.Files...) {
		name := path.Clean(f.Path)
		if !path.IsAbs(name) || name == "/" {
			return fmt.Errorf("seed: %w: file %q", ErrInvalidPhase, f.Path)
		}
		name = name[1:]
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return fmt.Errorf("seed %s: %w", f.Path, err)
		}
		if err := root.WriteFile(name, f.Data, f.Mode); err != nil {
			return fmt.Errorf("seed %s: %w", f.Path, err)
		}
		if err := root.Chmod(name, f.Mode); err != nil { // umask-free
			return fmt.Errorf("seed %s: %w", f.Path, err)
		}
	}
	return nil
}
