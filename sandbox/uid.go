package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Package code runs as a uid of its own: one of UIDSlots consecutive uids
// from UIDBase, the same number as its gid, that no account of the host has
// (checked against the host's passwd, group, subuid and subgid files when a
// sandbox starts). Per-user kernel limits (inotify instances and watches,
// processes, pending signals, message queues) are counted per uid, so what
// a package exhausts is its own slot's, never a host user's nor another
// analysis's. A slot is held by an exclusive flock on a file in uidLockDir,
// which every fumehood process on the host shares whatever its state
// directory; the kernel releases it when its holder dies, so a crash leaves
// nothing to reap. See doc.go for why not a user namespace.
const (
	// UIDBase is the first uid of the slots. Its shape is that of a
	// directory account mapped by sssd on a company laptop, which is what
	// the sandbox's persona pretends to use.
	UIDBase = 1_854_600_000
	// UIDSlots bounds the analyses running at once on one host.
	UIDSlots = 4096

	uidLockDir = "/run/lock/fumehood-uid"
)

// ErrNoUID is returned when every uid slot is held.
var ErrNoUID = errors.New("no free uid slot")

// uidSlot is a held uid.
type uidSlot struct {
	UID  uint32
	lock *os.File
}

// claimUID holds the first free uid slot, locked in lockDir (uidLockDir),
// until release.
func claimUID(lockDir string) (*uidSlot, error) {
	if err := os.MkdirAll(lockDir, 0o700); err != nil {
		return nil, fmt.Errorf("claim uid: %w", err)
	}
	for i := range uint32(UIDSlots) {
		uid := UIDBase + i
		f, err := os.OpenFile(filepath.Join(lockDir, strconv.FormatUint(uint64(uid), 10)), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("claim uid: %w", err)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return &uidSlot{UID: uid, lock: f}, nil
		}
		f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("claim uid: %w", err)
		}
	}
	return nil, ErrNoUID
}

// release gives the slot back.
func (u *uidSlot) release() error {
	return u.lock.Close()
}

// checkUIDRange returns an error naming the first host account, group or
// subordinate id range in etc (normally /etc) that overlaps the slots.
func checkUIDRange(etc string) error {
	in := func(lo, n uint64) bool { return lo < UIDBase+UIDSlots && lo+n > UIDBase }
	for _, f := range []struct {
		name string
		// ids returns the first id and the count a line names.
		ids func(fields []string) (uint64, uint64, bool)
	}{
		{"passwd", colonID(2)},
		{"group", colonID(2)},
		{"subuid", subRange},
		{"subgid", subRange},
	} {
		file, err := os.Open(filepath.Join(etc, f.name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check uid range: %w", err)
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			lo, n, ok := f.ids(strings.Split(sc.Text(), ":"))
			if ok && in(lo, n) {
				file.Close()
				return fmt.Errorf("check uid range: %s/%s has %q inside the sandbox's uids %d-%d", etc, f.name, sc.Text(), UIDBase, UIDBase+UIDSlots-1)
			}
		}
		file.Close()
		if err := sc.Err(); err != nil {
			return fmt.Errorf("check uid range: %w", err)
		}
	}
	return nil
}

// colonID reads the id in field i of a passwd or group line.
func colonID(i int) func([]string) (uint64, uint64, bool) {
	return func(f []string) (uint64, uint64, bool) {
		if len(f) <= i {
			return 0, 0, false
		}
		id, err := strconv.ParseUint(f[i], 10, 32)
		return id, 1, err == nil
	}
}

// subRange reads "name:first:count" of subuid and subgid.
func subRange(f []string) (uint64, uint64, bool) {
	if len(f) != 3 {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(f[1], 10, 32)
	n, err2 := strconv.ParseUint(f[2], 10, 32)
	return lo, n, err1 == nil && err2 == nil
}
