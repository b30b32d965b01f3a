package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

const cgroupRoot = "/sys/fs/cgroup"

// unifiedRoot is where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup on
// a pure v2 host, /sys/fs/cgroup/unified on a hybrid one.
func unifiedRoot() string {
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return cgroupRoot
	}
	return filepath.Join(cgroupRoot, "unified")
}

// cgroupDirs lists the directories of cgroup path rel (e.g. "/fumehood/x")
// in every hierarchy: the unified one and, on a hybrid host, each v1 one.
func cgroupDirs(rel string) []string {
	u := unifiedRoot()
	dirs := []string{filepath.Join(u, rel)}
	if u == cgroupRoot {
		return dirs
	}
	entries, _ := os.ReadDir(cgroupRoot)
	for _, e := range entries {
		if e.IsDir() && e.Name() != "unified" {
			dirs = append(dirs, filepath.Join(cgroupRoot, e.Name(), rel))
		}
	}
	return dirs
}

// cgroupID is the id the kernel gives the cgroup v2 directory dir (what
// bpf_get_current_cgroup_id returns): its inode number.
func cgroupID(dir string) (uint64, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return 0, fmt.Errorf("cgroup id: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("cgroup id of %s: no inode", dir)
	}
	return st.Ino, nil
}

// cgroupProcs lists the pids in dir's cgroup.procs.
func cgroupProcs(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, fmt.Errorf("read cgroup procs: %w", err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("parse cgroup procs of %s: %w", dir, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// oomKills is how many processes the OOM killer killed in cgroup rel: the
// oom_kill count of memory.events (v2) or memory.oom_control (v1).
func oomKills(rel string) (int, error) {
	candidates := []string{
		filepath.Join(unifiedRoot(), rel, "memory.events"),
		filepath.Join(cgroupRoot, "memory", rel, "memory.oom_control"),
	}
	var errs []error
	for _, f := range candidates {
		n, err := keyedValue(f, "oom_kill")
		if err == nil {
			return n, nil
		}
		errs = append(errs, err)
	}
	return 0, fmt.Errorf("oom kills of %s: %w", rel, errors.Join(errs...))
}

// keyedValue reads the value of key in a flat-keyed cgroup file.
func keyedValue(file, key string) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == key {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("%s: no %s", file, key)
}

// readSurvivor reads what /proc says about pid. A process that exited
// meanwhile gives ok=false.
func readSurvivor(pid int) (Survivor, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	comm, err := os.ReadFile(dir + "/comm")
	if err != nil {
		return Survivor{}, false
	}
	sv := Survivor{PID: pid, Comm: strings.TrimSuffix(string(comm), "\n")}
	sv.Exe, _ = os.Readlink(dir + "/exe")
	if b, err := os.ReadFile(dir + "/cmdline"); err == nil && len(b) > 0 {
		sv.Argv = strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	}
	return sv, true
}
