// Package bpf owns the eBPF side of fumehood: the C probes (c/probes.c),
// their bpf2go-generated objects (committed, so building needs no clang),
// the loader that attaches them once per process, and the ring buffer
// reader that turns records into trace.Event. It imports trace only; it
// knows nothing of containers or packages.
//
// # Hooks
//
// Only tracepoint-class hooks are used, because fentry/LSM may be denied
// and kprobes missing: tp_btf sched_process_exec/fork/exit and the
// syscalls tracepoints sys_enter_/sys_exit_ of openat, openat2, unlink,
// unlinkat, rmdir, rename, renameat, renameat2, chmod, fchmodat, fchmodat2
// and connect. Load mounts tracefs at /sys/kernel/tracing when it is not
// mounted (the syscall tracepoints are resolved there). A syscall
// tracepoint the kernel lacks is skipped with a warning; Probes lists what
// is attached.
//
// # Filtering and slots
//
// Every probe first looks the current task's cgroup v2 id up in the map
// tracked (cgroup id -> run slot) and returns at once if it is absent, so
// untracked processes cost one hash lookup. Tracer.Watch registers a
// cgroup and gives it a fresh ring buffer in the array of ring buffers
// rings, indexed by slot: one package's flood fills only its own buffer.
// Ring buffer reserve failures (and a full map of pending syscalls) are
// counted per slot in a per-CPU array (lost); events beyond
// Options.MaxEvents and malformed records are dropped in userspace and
// counted too. One reader goroutine per recording decodes with
// ringbuf.Reader.ReadInto and a reused record; it never blocks on a
// consumer, so the kernel side only loses when the ring itself is full. Recording.Stop unregisters the
// cgroup, removes the ring from the array (the kernel waits for running
// probes then), drains it and appends one trace.KindLost event when
// anything was lost.
//
// # Events
//
// Every event carries kernel time (converted once to wall clock), pid
// (thread id), tgid, ppid (real parent's tgid), uid (real uid as the host
// kernel sees it), comm, cgroup id and the process start time
// (group_leader->start_time, ns of CLOCK_MONOTONIC) so that (tgid, start)
// identifies a process.
//
//   - exec: Path is the kernel's bprm->filename (as passed to execve, so
//     possibly relative or /dev/fd/N); Argv is read from the new image's
//     mm arg_start..arg_end, at most 2048 bytes (the last argument may be
//     cut); Cwd is walked from task->fs->pwd up to the task's root, at most
//     48 components and 1023 bytes (a longer cwd keeps its tail), dentry
//     names cut at 255 bytes.
//   - fork: only new processes, not threads; ChildPID and ChildStart.
//   - exit: only when the last thread of a process exits (signal->live is
//     zero); ExitCode and Signal from the task's exit_code.
//   - open: Path, Flags, Mode (only with O_CREAT or O_TMPFILE), Ret.
//   - unlink (unlink, unlinkat, rmdir): Path, Ret; Flags is unlinkat's
//     flag, and AT_REMOVEDIR (0x200) for rmdir.
//   - rename: Path -> Path2, Ret; Flags is renameat2's flag.
//   - chmod (chmod, fchmodat, fchmodat2): Path, Mode, Ret.
//   - connect: Family; inet/inet6: Addr (netip form) and Port; unix: Addr
//     is the socket path, "@name" for an abstract name; Ret.
//
// Whatever runs in the cgroup after Watch is recorded, so in a container
// the last steps of runc init before it execs the entry point appear too.
//
// Events are ordered by kernel time; syscall events carry the time of
// sys_enter and are written at sys_exit (paired per thread in the map
// pending), so a syscall still blocked when Stop runs is not recorded.
//
// # Best-effort fields
//
// Syscall string and struct arguments (file paths, open_how, sockaddr) are
// read from user memory at sys_enter: another thread can change them after
// the read (TOCTOU), and a page not yet faulted in reads as empty. Treat
// them as what the process asked for, not proof of what the kernel did.
// Paths are as given, up to 1023 bytes: relative paths are left relative
// (the exec event's Cwd lets rules resolve them; a later chdir is not
// traced), and dirfd arguments are not resolved. Exec Path (bprm->filename)
// and Cwd come from kernel memory. Argv is user memory of the new image,
// which the process itself may rewrite later but not before the probe runs.
//
// # Regenerating
//
// go generate ./bpf (needs clang; see gen.go). c/vmlinux.h was produced by
// bpftool btf dump file /sys/kernel/btf/vmlinux format c.
package bpf
