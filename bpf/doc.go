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
// syscalls tracepoints sys_enter_/sys_exit_ of open, creat, openat,
// openat2, open_by_handle_at, unlink,
// unlinkat, rmdir, rename, renameat, renameat2, chmod, fchmodat, fchmodat2,
// connect, bind, listen, accept, accept4, sendto, sendmsg, sendmmsg,
// setuid, setgid, setreuid, setregid, setresuid, setresgid, ptrace,
// memfd_create, mount, kill, tkill, tgkill, chdir, fchdir, link, linkat,
// symlink, symlinkat, write, pwrite64, writev, pwritev, pwritev2, execve,
// execveat, process_vm_readv, and sys_enter_close. Load mounts tracefs at
// /sys/kernel/tracing when it is not mounted (the syscall tracepoints are resolved there). A syscall
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
// counted per slot in a per-CPU array (lost); malformed records are
// dropped in userspace and counted too. One reader goroutine per recording
// decodes with ringbuf.Reader.ReadInto and a reused record; it never
// blocks on a consumer, so the kernel side only loses when the ring itself
// is full. What a recording keeps in memory is bounded by a budget a flood
// cannot spend on behalf of the rest: Options.MaxEvents events and
// Options.MaxBytes bytes (96 MiB, counted with trace.Event.Size), and no
// kind of event more than half of the bytes, so 1.1 million opens leave
// room for the execs, forks and sends that follow them; opens of files
// that do not exist (a compiler's include lookups) are a class of their
// own with a quarter, so they leave room for the opens that found a file
// and for the rest. Recording.Stop unregisters the cgroup, removes the ring from the
// array (the kernel waits for running probes then), drains it and appends
// trace.KindLost events when anything was lost: one per class the budget
// refused (Name is the kind; Ret -ENOENT for the lookups) and one for
// what the kernel could not deliver.
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
//     names cut at 255 bytes. Path2 is the program the kernel loaded
//     (bprm->file once symlinks and #! interpreters are followed), walked
//     from its dentry the same way (a memfd by its pseudo name). Stdio is
//     the type of the new image's descriptors 0, 1 and 2 (after
//     close-on-exec), from files->fdt->fd[i]->f_inode->i_mode and, for a
//     socket, its family: closed, file, pipe, char, unix, inet (inet and
//     inet6), socket (another family), other; the record carries an enum
//     fdtype per four bits.
//   - exec attempts that fail (execve, execveat): Path is the filename as
//     given (relative to the cwd, or for execveat to its dirfd, which is
//     not resolved), Cwd as above, Argv read from the caller's argv array
//     (at most 32 arguments, 2048 bytes), Ret the -errno. A failed exec
//     leaves the process image as it was. sched_process_exec drops the
//     attempt parked at sys_enter, so a successful exec is reported once.
//     PATH searches (execvp) show as a run of -ENOENT attempts.
//   - fork: only new processes, not threads; ChildPID and ChildStart.
//   - exit: only when the last thread of a process exits (signal->live is
//     zero); ExitCode and Signal from the task's exit_code.
//   - open (open, creat, openat, openat2, open_by_handle_at): Path, Flags,
//     Mode (only with O_CREAT or O_TMPFILE), Ret; Name is the syscall
//     unless it is openat (creat's Flags are O_CREAT|O_WRONLY|O_TRUNC;
//     open_by_handle_at has no Path). When the call returns a descriptor,
//     the probe looks it up in the task's file table at sys_exit and
//     records the file's identity: Dev (i_sb->s_dev, converted to
//     stat(2)'s st_dev encoding by the decoder) and Ino (i_ino). So the
//     file read is known whatever path was spelled: /proc/self/root/...,
//     "..", "//", symlinks, hard links, a directory fd. When the path
//     argument could not be read (bpf_probe_read_user_str failed, e.g. a
//     page not faulted in yet), PathUnread is set and Path is the opened
//     file's path walked from the kernel's dentries. For a file of
//     /proc/PID (or /proc/PID/task/TID), TargetPID is the tgid of the
//     process it belongs to (resolved from the proc inode, so /proc/self
//     and a container's own pid numbers need no translation) and Path2
//     the entry's name as the kernel knows it ("environ", "mem"), at most
//     31 bytes. On overlayfs Dev/Ino are the overlay's; on tmpfs and ext4
//     they equal what stat(2) reports.
//   - Paths under a directory descriptor: a relative path that openat,
//     openat2, unlinkat, renameat(2), fchmodat(2), linkat or symlinkat
//     resolves against a descriptor (not AT_FDCWD) is joined, in the
//     probe, to that directory's path walked from the kernel's dentries:
//     "rm -rf ~/.ssh" (unlinkat(fd of ~/.ssh, "id_rsa")) and Python's
//     dir_fd name the files they touch, not bare names the decoder would
//     place under the process's cwd. A directory path longer than 512
//     bytes is left out (the name stays relative).
//   - memread (process_vm_readv): Arg is the target pid as given (in the
//     caller's pid namespace), TargetPID its tgid as the kernel knows it,
//     resolved at sys_enter with the kfunc bpf_task_from_vpid (0 on a
//     kernel without it, 6.13+, or when no such process exists); Ret.
//   - unlink (unlink, unlinkat, rmdir): Path, Ret; Flags is unlinkat's
//     flag, and AT_REMOVEDIR (0x200) for rmdir.
//   - rename: Path -> Path2, Ret; Flags is renameat2's flag.
//   - chmod (chmod, fchmodat, fchmodat2): Path, Mode, Ret.
//   - connect, bind: Family; inet/inet6: Addr (netip form) and Port; unix:
//     Addr is the socket path, "@name" for an abstract name; Ret.
//   - accept (accept, accept4): the peer address as above, read at sys_exit
//     from the sockaddr the caller passed (none when it passed NULL); Ret.
//   - listen: Arg (the fd), Ret.
//   - send: every send on an inet (TCP or UDP) socket, and sends on
//     other sockets without payload: sendto (Family/Addr/Port of dest_addr
//     when given), sendmsg (of msg_name), sendmmsg (one event per message
//     sent, at most 4, read at sys_exit; Ret is the bytes the kernel
//     reports sent of that message), and write(2) and writev(2) on an inet
//     socket. A send that names no destination on a connected inet socket
//     gets the socket's peer (skc_daddr/skc_dport). Count is the bytes
//     requested (for iovecs the sum of the first 8). On an inet socket
//     Data is the first 512 bytes of the payload (across the first 8
//     iovecs), read at sys_enter from user memory: best-effort (another
//     thread may change the buffer before the kernel copies it), and a
//     copy of what the sinkhole captures that no flood of the sinkhole's
//     budgets can take away. Unix socket payloads (node's child stdio are
//     socketpairs) are not kept. pwritev on a socket is not traced.
//   - setuid (setuid, setgid, setreuid, setregid, setresuid, setresgid):
//     Name is the syscall, Arg the new id: the effective one when the call
//     sets it, else the real, else the saved (-1 when none changes); Ret.
//   - ptrace: Arg (request), TargetPID, Ret.
//   - memfd: Name, Flags, Ret (the fd).
//   - mount: Path (target), Path2 (source), Name (fs type), Flags, Ret.
//   - kill (kill, tkill, tgkill): TargetPID (kill: pid; tkill: tid;
//     tgkill: tgid) and Arg (the same id, signed, so kill(-1) and process
//     groups show as negative), Signal, Ret.
//   - chdir: Path as given; fchdir: Path is the new cwd walked from the
//     kernel's dentries at sys_exit (empty when the call failed).
//   - link (link, linkat, symlink, symlinkat): Name is the syscall, Path
//     the new link, Path2 its target (for symlinks the literal text);
//     linkat's Flags; Ret.
//   - write: bytes written (the sys_exit results of write, pwrite64,
//     writev, pwritev, pwritev2) to one regular file through one open file
//     (struct file) by one process, summed in the kernel map writes. The
//     path is walked once from the file's dentry at the first write, so a
//     renamed or deleted file keeps the name it had then. One event per
//     aggregate, with Count and the time of the first write, when the
//     process closes a descriptor of that file, when the process exits
//     (its last thread), or at Stop for files still open. Closing one of
//     two dup'ed descriptors ends the aggregate early: later writes start
//     another. When the map is full, a write is emitted on its own. Pipes,
//     sockets, ttys and devices are never counted.
//
// A memfd (or any file with a pseudo dentry) is named "/NAME (deleted)",
// the form of its /proc/PID/fd link (the kernel names memfds "memfd:X"):
// write events carry that path, and so does an exec through a descriptor
// (execveat with AT_EMPTY_PATH, whose bprm->filename is "/dev/fd/N", or
// execve of /proc/self/fd/N), so an exec of a memfd shows as
// "/memfd:X (deleted)". An exec of a /dev/shm file by path keeps that path.
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
// What an open returned is not best-effort: Dev and Ino (and a /proc
// file's owner) come from the kernel's file for the new descriptor.
// So are a failed exec's Path and Argv (user memory at sys_enter).
// Paths are as given, up to 1023 bytes: relative paths are left relative
// (the exec event's Cwd lets rules resolve them; a later chdir is not
// traced), and dirfd arguments are not resolved. Exec Path (bprm->filename),
// Cwd, the program loaded and Stdio come from kernel memory. Argv is user
// memory of the new image, which the process itself may rewrite later but
// not before the probe runs.
//
// # Regenerating
//
// go generate ./bpf (needs clang; see gen.go). c/vmlinux.h was produced by
// bpftool btf dump file /sys/kernel/btf/vmlinux format c.
package bpf
