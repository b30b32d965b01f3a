//go:build ignore

// fumehood probes: process lifecycle and file/network syscalls of the
// processes in tracked cgroups, written to the ring buffer of the run slot
// the cgroup is registered in. Only tracepoint-class hooks (tp_btf and
// syscall tracepoints) are used. See ../doc.go for the limits and for which
// fields are best-effort.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#define MAX_SLOTS 64    /* upper bound of Options.Slots */
#define PATH_LEN 1024   /* bytes of one path (or unix socket path), NUL included */
#define ARGV_LEN 2048   /* bytes of argv (NUL-separated), arg_start..arg_end */
#define CWD_DEPTH 48    /* path components walked for the cwd */
#define NAME_LEN 256    /* bytes of one dentry name read */
#define DATA_LEN (3 * PATH_LEN + ARGV_LEN)

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

/* Event kinds: each KIND_X is trace.Kind "x" (see trace/event.go; a test
 * in ../kinds_test.go checks the two against each other). */
enum kind {
	KIND_EXEC = 1,
	KIND_FORK = 2,
	KIND_EXIT = 3,
	KIND_OPEN = 4,
	KIND_UNLINK = 5,
	KIND_RENAME = 6,
	KIND_CHMOD = 7,
	KIND_CONNECT = 8,
	KIND_SEND = 9,
	KIND_BIND = 10,
	KIND_LISTEN = 11,
	KIND_ACCEPT = 12,
	KIND_SETUID = 13,
	KIND_PTRACE = 14,
	KIND_MEMFD = 15,
	KIND_MOUNT = 16,
	KIND_KILL = 17,
	KIND_CHDIR = 18,
	KIND_WRITE = 19,
	KIND_LINK = 20,
	KIND_MEMREAD = 21,
};

/* Which syscall of a kind (struct event.call): names setuid and link
 * events, and tells the send variants apart. */
enum call {
	CALL_SETUID = 1,
	CALL_SETGID = 2,
	CALL_SETREUID = 3,
	CALL_SETREGID = 4,
	CALL_SETRESUID = 5,
	CALL_SETRESGID = 6,
	CALL_LINK = 7,
	CALL_LINKAT = 8,
	CALL_SYMLINK = 9,
	CALL_SYMLINKAT = 10,
	CALL_SENDTO = 11,
	CALL_SENDMSG = 12,
	CALL_SENDMMSG = 13,
	CALL_WRITE = 14,
	CALL_OPEN = 15,
	CALL_CREAT = 16,
	CALL_OPENAT2 = 17,
	CALL_OPEN_BY_HANDLE_AT = 18,
	CALL_WRITEV = 19,
};

/* Bits of struct event.note. */
enum note {
	/* open: the path argument could not be read from user memory (a page
	 * not faulted in, a bad pointer); path is then the kernel's path of
	 * the file opened, when the open succeeded. */
	NOTE_PATH_UNREAD = 1,
};

/* What a standard descriptor of an exec'd program refers to (struct
 * event.stdio); each FDT_X is trace.FDType "x" (checked by a test in
 * ../kinds_test.go). 0 is left for "not recorded". */
enum fdtype {
	FDT_CLOSED = 1,
	FDT_FILE = 2,   /* regular file */
	FDT_PIPE = 3,
	FDT_CHAR = 4,   /* character device: a tty, /dev/null */
	FDT_UNIX = 5,   /* AF_UNIX socket (libuv's child stdio "pipes" are socketpairs) */
	FDT_INET = 6,   /* AF_INET or AF_INET6 socket */
	FDT_SOCKET = 7, /* a socket of another family */
	FDT_OTHER = 8,  /* directory, block device, anonymous inode */
};

/* Keep the enums in BTF so that bpf2go generates their Go constants. */
const enum kind *unused_kind __attribute__((unused));
const enum call *unused_call __attribute__((unused));
const enum note *unused_note __attribute__((unused));
const enum fdtype *unused_fdtype __attribute__((unused));

#define SEND_DATA 512    /* payload bytes kept of a send (a power of two) */
#define SEND_MSGS 4      /* messages of one sendmmsg recorded */
#define MSG_IOVS 8       /* iovecs of one message counted and read */

#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define S_IFREG 0100000
#define S_IFCHR 0020000
#define S_IFIFO 0010000

/*
 * One record. The header is fixed; the variable part data[] holds, in
 * order, path (path_len bytes; memfd: the name), then path2 or cwd
 * (path2_len bytes), then argv (argv_len bytes; mount: the fs type; send:
 * the payload head), then bin (bin_len bytes; exec: the program the kernel
 * loaded). Only the used prefix of data[] is written to the ring buffer.
 * Lengths exclude any NUL terminator.
 */
struct event {
	__u64 ktime;       /* CLOCK_MONOTONIC ns */
	__u64 start;       /* group leader start time, ns since boot (monotonic) */
	__u64 cgroup;      /* cgroup v2 id */
	__u64 child_start; /* fork */
	__s64 flags;       /* open flags, unlinkat/renameat2/fchmodat2 flags */
	__s64 ret;         /* syscall result */
	__u64 count;       /* send/write: bytes */
	__s64 arg;         /* setuid: new id; ptrace: request; listen: fd; kill: pid as given */
	__u64 aux;         /* sys_enter -> sys_exit scratch (a user pointer); not decoded */
	__u64 ino;         /* open: inode number of the file opened */
	__u32 pid;         /* thread id */
	__u32 tgid;
	__u32 ppid;        /* real parent's tgid */
	__u32 uid;         /* real uid (kernel view) */
	__u32 child_pid;   /* fork */
	__u32 mode;        /* open/chmod mode */
	__s32 exit_code;
	__s32 signal;
	__u32 target_pid;  /* kill, ptrace */
	__u32 aux2;        /* sys_enter -> sys_exit scratch; not decoded */
	__u32 dev;         /* open: its device (i_sb->s_dev: MAJOR << 20 | MINOR) */
	__u16 family;
	__u16 port;        /* host byte order */
	__u16 path_len;
	__u16 path2_len;
	__u16 argv_len;
	__u16 bin_len;
	__u16 stdio;       /* exec: enum fdtype of fd 0, 1, 2 in bits 0-3, 4-7, 8-11 */
	__u8 kind;
	__u8 call;         /* enum call */
	__u8 note;         /* enum note bits */
	__u8 addr[16];     /* inet: 4 bytes; inet6: 16 bytes */
	char comm[16];
	char data[DATA_LEN];
};

/* cgroup id -> run slot */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u32);
} tracked SEC(".maps");

struct ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16); /* set per slot at load time */
};

/* run slot -> that run's ring buffer */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MAX_SLOTS); /* set to Options.Slots at load time */
	__type(key, __u32);
	__array(values, struct ring);
} rings SEC(".maps");

/* run slot -> events the kernel could not deliver (reserve failures) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* thread id -> event begun at sys_enter, completed at sys_exit */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct event);
} pending SEC(".maps");

/* per-CPU scratch: the event being built and the cwd walk buffer */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} scratch SEC(".maps");

struct cwdbuf {
	char b[2 * PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cwdbuf);
} cwdscratch SEC(".maps");

static __always_inline void count_lost(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &slot);
	if (n)
		*n += 1;
}

/* tracked_slot returns the run slot of the current cgroup, or -1. */
static __always_inline long tracked_slot(__u64 *cg)
{
	*cg = bpf_get_current_cgroup_id();
	__u32 *slot = bpf_map_lookup_elem(&tracked, cg);
	if (!slot)
		return -1;
	return *slot;
}

/* new_event fills the common header of the per-CPU scratch event. */
static __always_inline struct event *new_event(__u8 kind, __u64 cg)
{
	__u32 zero = 0;
	struct event *e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u64 pidtgid = bpf_get_current_pid_tgid();

	__builtin_memset(e, 0, offsetof(struct event, data));
	e->kind = kind;
	e->ktime = bpf_ktime_get_ns();
	e->cgroup = cg;
	e->pid = (__u32)pidtgid;
	e->tgid = pidtgid >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->start = BPF_CORE_READ(task, group_leader, start_time);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

static __always_inline __u32 data_used(const struct event *e)
{
	return (__u32)e->path_len + e->path2_len + e->argv_len + e->bin_len;
}

/* emit copies the used part of e to the ring buffer of slot. */
static __always_inline void emit(struct event *e, __u32 slot)
{
	void *rb = bpf_map_lookup_elem(&rings, &slot);
	if (!rb)
		return; /* the slot's recording is being stopped */
	__u64 size = offsetof(struct event, data) + data_used(e);
	if (size > sizeof(*e))
		size = sizeof(*e);
	if (bpf_ringbuf_output(rb, e, size, 0) != 0)
		count_lost(slot);
}

/* str_len turns a bpf_probe_read_*_str result into a length without NUL. */
static __always_inline __u16 str_len(long n)
{
	if (n <= 1)
		return 0;
	return (__u16)(n - 1);
}

/* read_user_path reads a user string into the path (second == 0) or path2
 * region of e and records its length. */
static __always_inline void read_user_path(struct event *e, const char *p, int second)
{
	if (!second) {
		e->path_len = str_len(bpf_probe_read_user_str(e->data, PATH_LEN, p));
		return;
	}
	__u32 off = e->path_len;
	if (off > PATH_LEN)
		return;
	e->path2_len = str_len(bpf_probe_read_user_str(&e->data[off], PATH_LEN, p));
}

/* --- process lifecycle ------------------------------------------------ */

struct cwd_walk {
	struct dentry *d;
	struct vfsmount *vmnt;
	struct mount *mnt;
	struct dentry *root;
	struct vfsmount *rootmnt;
	__u32 off; /* the path grows down from cwdbuf.b[PATH_LEN] */
};

/* cwd_step prepends one component of the walk w; it returns 1 to stop. */
static long cwd_step(__u64 i, struct cwd_walk *w)
{
	__u32 zero = 0;
	struct cwdbuf *cb = bpf_map_lookup_elem(&cwdscratch, &zero);
	if (!cb)
		return 1;
	/* locals only: CO-RE reads must not go through struct cwd_walk */
	struct dentry *d = w->d;
	struct vfsmount *vmnt = w->vmnt;
	struct mount *mnt = w->mnt;
	if (d == w->root && vmnt == w->rootmnt)
		return 1;
	struct dentry *mnt_root = BPF_CORE_READ(vmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	if (d == mnt_root || d == parent) {
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);
		if (mp == mnt)
			return 1; /* the root of the mount tree */
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mp;
		w->vmnt = &mp->mnt;
		return 0;
	}
	__u32 len = BPF_CORE_READ(d, d_name.len);
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	if (len >= NAME_LEN)
		len = NAME_LEN - 1;
	__u32 off = w->off;
	if (off > PATH_LEN || len + 1 >= off)
		return 1; /* too long: keep the tail we have */
	off -= len + 1;
	cb->b[off & (PATH_LEN - 1)] = '/';
	bpf_probe_read_kernel(&cb->b[(off + 1) & (PATH_LEN - 1)], len & (NAME_LEN - 1), name);
	w->off = off;
	w->d = parent;
	return 0;
}

/* dpath writes the path of (d, vmnt) relative to the root of task into
 * dst (at least PATH_LEN bytes), walking at most CWD_DEPTH dentries, and
 * returns its length. A path longer than PATH_LEN - 1 keeps its tail. */
static __always_inline __u32 dpath(char *dst, struct dentry *d, struct vfsmount *vmnt, struct task_struct *task)
{
	__u32 zero = 0;
	struct cwdbuf *cb = bpf_map_lookup_elem(&cwdscratch, &zero);
	if (!cb)
		return 0;

	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	struct dentry *root = BPF_CORE_READ(fs, root.dentry);
	struct vfsmount *rootmnt = BPF_CORE_READ(fs, root.mnt);
	struct cwd_walk w = {
		.d = d,
		.vmnt = vmnt,
		.mnt = container_of(vmnt, struct mount, mnt),
		.root = root,
		.rootmnt = rootmnt,
		.off = PATH_LEN,
	};
	bpf_loop(CWD_DEPTH, cwd_step, &w, 0);

	__u32 off = w.off;
	if (off > PATH_LEN)
		return 0;
	if (off == PATH_LEN) {
		off = PATH_LEN - 1;
		cb->b[off] = '/';
	}
	__u32 n = PATH_LEN - off;
	n &= PATH_LEN - 1; /* off >= 1, so n < PATH_LEN */
	bpf_probe_read_kernel(dst, n, &cb->b[off & (PATH_LEN - 1)]);
	return n;
}

/* read_cwd writes the cwd of task into the path2 region of e. */
static __always_inline void read_cwd(struct event *e, struct task_struct *task)
{
	__u32 at = e->path_len & (PATH_LEN - 1); /* path_len < PATH_LEN */
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	e->path2_len = dpath(&e->data[at], BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt), task);
}

/* has_prefix reports whether the first n bytes of s are those of p. */
static __always_inline int has_prefix(const char *s, const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] != p[i])
			return 0;
	return 1;
}

/* pseudo_path writes "/NAME" and, when unlinked, " (deleted)" (the form
 * of /proc/PID/fd links) into dst (at least PATH_LEN bytes) when file has
 * a pseudo dentry, as memfds do, and returns its length; else 0. */
static __always_inline __u32 pseudo_path(char *dst, struct file *file)
{
	struct dentry *d = BPF_CORE_READ(file, f_path.dentry);
	if (!d || BPF_CORE_READ(d, d_parent) != d)
		return 0;
	__u32 len = BPF_CORE_READ(d, d_name.len);
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	if (len >= NAME_LEN)
		len = NAME_LEN - 1;
	dst[0] = '/';
	bpf_probe_read_kernel(&dst[1], len & (NAME_LEN - 1), name);
	__u32 n = 1 + (len & (NAME_LEN - 1));
	if (BPF_CORE_READ(d, d_inode, __i_nlink) == 0) {
		const char del[] = " (deleted)";
		bpf_probe_read_kernel(&dst[n & (NAME_LEN * 2 - 1)], sizeof(del) - 1, del);
		n += sizeof(del) - 1;
	}
	return n;
}

/* file_path writes the path of file into dst (at least PATH_LEN bytes):
 * its pseudo name or its path from the task's root. */
static __always_inline __u32 file_path(char *dst, struct file *file, struct task_struct *task)
{
	__u32 n = pseudo_path(dst, file);
	if (n)
		return n;
	return dpath(dst, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt), task);
}

/* fd_file returns the struct file of the current task's descriptor fd. */
static __always_inline struct file *fd_file(__u64 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline __u32 file_type(struct file *f)
{
	return BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT;
}

/* socket_fdtype classifies the socket file f by its address family. */
static __always_inline __u16 socket_fdtype(struct file *f)
{
	struct socket *sock = BPF_CORE_READ(f, private_data);
	switch (BPF_CORE_READ(sock, sk, __sk_common.skc_family)) {
	case AF_UNIX:
		return FDT_UNIX;
	case AF_INET:
	case AF_INET6:
		return FDT_INET;
	default:
		return FDT_SOCKET;
	}
}

/* fdtype classifies the current task's descriptor fd (enum fdtype). */
static __always_inline __u16 fdtype(__u64 fd)
{
	struct file *f = fd_file(fd);
	if (!f)
		return FDT_CLOSED;
	switch (file_type(f)) {
	case S_IFREG:
		return FDT_FILE;
	case S_IFIFO:
		return FDT_PIPE;
	case S_IFCHR:
		return FDT_CHAR;
	case S_IFSOCK:
		return socket_fdtype(f);
	default:
		return FDT_OTHER;
	}
}

/* stdio_types packs the types of the current task's descriptors 0, 1 and
 * 2, four bits each (struct event.stdio). */
static __always_inline __u16 stdio_types(void)
{
	return fdtype(0) | fdtype(1) << 4 | fdtype(2) << 8;
}

/* read_bin writes the path of the program the kernel loaded for bprm (after
 * symlinks and #! interpreters) into the bin region of e. */
static __always_inline void read_bin(struct event *e, struct linux_binprm *bprm, struct task_struct *task)
{
	__u32 at = data_used(e);
	if (at > 2 * PATH_LEN + ARGV_LEN)
		return;
	e->bin_len = file_path(&e->data[at], BPF_CORE_READ(bprm, file), task);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 cg;
	long slot = tracked_slot(&cg);
	if (slot < 0)
		return 0;
	struct event *e = new_event(KIND_EXEC, cg);
	if (!e)
		return 0;

	const char *filename = BPF_CORE_READ(bprm, filename);
	e->path_len = str_len(bpf_probe_read_kernel_str(e->data, PATH_LEN, filename));
	/* An exec through a file descriptor ("/dev/fd/N" from execveat with
	 * AT_EMPTY_PATH, or /proc/self/fd/N) of a memfd: name the memfd. */
	if (has_prefix(e->data, "/dev/fd/", 8) || has_prefix(e->data, "/proc/", 6)) {
		__u32 n = pseudo_path(e->data, BPF_CORE_READ(bprm, file));
		if (n)
			e->path_len = n;
	}
	read_cwd(e, task);

	unsigned long as = BPF_CORE_READ(task, mm, arg_start);
	unsigned long ae = BPF_CORE_READ(task, mm, arg_end);
	__u32 at = (__u32)e->path_len + e->path2_len;
	if (ae > as && at <= 2 * PATH_LEN) {
		__u64 n = ae - as;
		if (n > ARGV_LEN)
			n = ARGV_LEN;
		if (bpf_probe_read_user(&e->data[at], n, (void *)as) == 0)
			e->argv_len = n;
	}
	read_bin(e, bprm, task);
	e->stdio = stdio_types();
	emit(e, slot);
	/* The exec succeeded: drop the attempt parked at sys_enter, keyed by
	 * the thread id it had (a non-leader thread takes the leader's). */
	__u32 tid = old_pid;
	bpf_map_delete_elem(&pending, &tid);
	tid = e->pid;
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_fork, struct task_struct *parent, struct task_struct *child)
{
	if (child->pid != child->tgid)
		return 0; /* a new thread, not a new process */
	__u64 cg;
	long slot = tracked_slot(&cg);
	if (slot < 0)
		return 0;
	struct event *e = new_event(KIND_FORK, cg);
	if (!e)
		return 0;
	e->child_pid = child->tgid;
	e->child_start = child->start_time;
	emit(e, slot);
	return 0;
}

/* --- syscalls: begun at sys_enter, completed at sys_exit -------------- */

/* begin starts an event of kind in the scratch buffer if the current
 * cgroup is tracked, storing its run slot in *slot. */
static __always_inline struct event *begin(__u8 kind, long *slot)
{
	__u64 cg;
	*slot = tracked_slot(&cg);
	if (*slot < 0)
		return 0;
	return new_event(kind, cg);
}

/* park keeps e until the syscall returns; a full map loses the event. */
static __always_inline void park(struct event *e, long slot)
{
	__u32 tid = e->pid;
	if (bpf_map_update_elem(&pending, &tid, e, BPF_ANY) != 0)
		count_lost(slot);
}

static __always_inline void finish(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&pending, &tid);
	if (!e)
		return;
	__u64 cg;
	long slot = tracked_slot(&cg);
	if (slot >= 0) {
		e->ret = ctx->ret;
		emit(e, slot);
	}
	bpf_map_delete_elem(&pending, &tid);
}

#define EXIT_PROBE(name)                                          \
	SEC("tracepoint/syscalls/sys_exit_" #name)                \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)     \
	{                                                         \
		finish(ctx);                                      \
		return 0;                                         \
	}

/* --- exec attempts that fail ------------------------------------------
 * sys_enter_execve/execveat park an exec event with the filename as given,
 * the cwd and argv read from user memory (best-effort). A successful exec
 * is reported by sched_process_exec, which drops the parked event; so the
 * sys_exit that still finds it is that of a failed exec (ret < 0). */

#define EXEC_ARGS 32 /* argv pointers read of a failed exec */

struct argbuf {
	char b[2 * ARGV_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct argbuf);
} argscratch SEC(".maps");

/* read_user_argv copies the NUL-terminated strings of the user array argv
 * (at most EXEC_ARGS of them and ARGV_LEN bytes in all; the last may be
 * cut) into the argv region of e. */
static __always_inline void read_user_argv(struct event *e, const char *const *argv)
{
	__u32 zero = 0;
	struct argbuf *ab = bpf_map_lookup_elem(&argscratch, &zero);
	if (!ab || !argv)
		return;
	__u32 off = 0;
	for (int i = 0; i < EXEC_ARGS; i++) {
		const char *p = 0;
		if (off >= ARGV_LEN)
			break;
		if (bpf_probe_read_user(&p, sizeof(p), &argv[i]) != 0 || !p)
			break;
		__u64 pos = off;
		/* mask where the verifier sees it: clang drops a plain & */
		asm volatile("%0 &= 2047" : "+r"(pos)); /* ARGV_LEN - 1 */
		long n = bpf_probe_read_user_str(&ab->b[pos], ARGV_LEN, p);
		if (n <= 0)
			break;
		off += n;
	}
	__u64 n = off;
	if (n > ARGV_LEN)
		n = ARGV_LEN;
	__u32 at = (__u32)e->path_len + e->path2_len;
	if (n == 0 || at > 2 * PATH_LEN)
		return;
	if (bpf_probe_read_kernel(&e->data[at], n, ab->b) == 0)
		e->argv_len = n;
}

static __always_inline void exec_enter(const char *filename, const char *const *argv)
{
	long slot;
	struct event *e = begin(KIND_EXEC, &slot);
	if (!e)
		return;
	read_user_path(e, filename, 0);
	read_cwd(e, (struct task_struct *)bpf_get_current_task_btf());
	read_user_argv(e, argv);
	park(e, slot);
}

static __always_inline void exec_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&pending, &tid);
	if (!e)
		return;
	if (e->kind == KIND_EXEC && ctx->ret < 0) {
		finish(ctx);
		return;
	}
	bpf_map_delete_elem(&pending, &tid);
}

SEC("tracepoint/syscalls/sys_enter_execve")
int enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	exec_enter((const char *)ctx->args[0], (const char *const *)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	exec_exit(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	exec_enter((const char *)ctx->args[1], (const char *const *)ctx->args[2]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	exec_exit(ctx);
	return 0;
}

/* --- paths relative to a directory descriptor -------------------------- */

#define AT_FDCWD -100

/* read_at_path reads the user path p into the path (second == 0) or
 * path2 region of e. A relative p that a call resolves against the
 * directory descriptor dirfd (not AT_FDCWD) is joined to that directory's
 * path from the task's root, so that the event names the file whatever
 * descriptor the call went through ("rm -rf" and Python's dir_fd remove
 * and open "id_rsa" under a descriptor of ~/.ssh). A directory path
 * longer than half a path is left out (the name stays relative). */
static __always_inline void read_at_path(struct event *e, __s64 dirfd, const char *p, int second)
{
	char first = '/';
	struct file *dir = 0;
	if (p && (int)dirfd != AT_FDCWD && bpf_probe_read_user(&first, 1, p) == 0 && first != '/')
		dir = fd_file((__u32)dirfd);
	__u32 base = 0;
	if (second) {
		base = e->path_len;
		if (base > PATH_LEN)
			return;
	}
	__u32 n = 0;
	if (dir) {
		n = file_path(&e->data[base & (2 * PATH_LEN - 1)], dir, (struct task_struct *)bpf_get_current_task_btf());
		if (n > PATH_LEN / 2)
			n = 0;
	}
	long m;
	if (n) {
		__u32 at = (base + n) & (2 * PATH_LEN - 1);
		if (e->data[(at - 1) & (2 * PATH_LEN - 1)] != '/') {
			e->data[at] = '/';
			n++;
			at = (base + n) & (2 * PATH_LEN - 1);
		}
		m = bpf_probe_read_user_str(&e->data[at], PATH_LEN / 2, p);
	} else {
		m = bpf_probe_read_user_str(&e->data[base & (2 * PATH_LEN - 1)], PATH_LEN, p);
	}
	__u16 len = str_len(m) + n;
	if (second)
		e->path2_len = len;
	else
		e->path_len = len;
}

/* --- opens: the path as given and the file the kernel returned -------- */

#define PROC_SUPER_MAGIC 0x9fa0
#define PROC_NAME_LEN 32 /* bytes kept of the name of a /proc entry opened */
#define O_CREAT 0x40
#define O_TMPFILE 0x410000

/* open_common parks an open event of syscall call: the path as given (none
 * for open_by_handle_at), flags, and mode when the call may create. */
static __always_inline void open_common(__u8 call, __s64 dirfd, const char *path, __s64 flags, __u32 mode)
{
	long slot;
	struct event *e = begin(KIND_OPEN, &slot);
	if (!e)
		return;
	e->call = call;
	if (path) {
		char c;
		if (bpf_probe_read_user(&c, 1, path) < 0)
			e->note |= NOTE_PATH_UNREAD;
		else
			read_at_path(e, dirfd, path, 0);
	}
	e->flags = flags;
	if (flags & (O_CREAT | O_TMPFILE))
		e->mode = mode;
	park(e, slot);
}

/* proc_owner returns the tgid of the process a /proc/PID (or
 * /proc/PID/task/TID) file belongs to, 0 for any other inode or when that
 * process is gone. */
static __always_inline __u32 proc_owner(struct inode *inode)
{
	if (BPF_CORE_READ(inode, i_sb, s_magic) != PROC_SUPER_MAGIC)
		return 0;
	struct proc_inode *pi = container_of(inode, struct proc_inode, vfs_inode);
	struct hlist_node *first = BPF_CORE_READ(pi, pid, tasks[PIDTYPE_PID].first);
	if (!first)
		return 0;
	struct task_struct *t = container_of(first, struct task_struct, pid_links[PIDTYPE_PID]);
	return BPF_CORE_READ(t, tgid);
}

/* open_identity records what the kernel opened, f: its device and inode;
 * for a /proc/PID file the owner's tgid (target_pid) and the entry's name
 * (path2); and f's path when the path argument could not be read. */
static __always_inline void open_identity(struct event *e, struct file *f)
{
	if (!f)
		return;
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	e->ino = BPF_CORE_READ(inode, i_ino);
	e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (e->note & NOTE_PATH_UNREAD)
		e->path_len = file_path(e->data, f, (struct task_struct *)bpf_get_current_task_btf());
	__u32 owner = proc_owner(inode);
	if (!owner)
		return;
	e->target_pid = owner;
	__u32 at = e->path_len & (PATH_LEN - 1); /* path_len < PATH_LEN */
	const unsigned char *name = BPF_CORE_READ(f, f_path.dentry, d_name.name);
	e->path2_len = str_len(bpf_probe_read_kernel_str(&e->data[at], PROC_NAME_LEN, name));
}

/* open_exit completes a parked open; a new descriptor (ret >= 0) is
 * looked up in the task's file table for the file's identity. */
static __always_inline void open_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&pending, &tid);
	if (!e)
		return;
	if (ctx->ret >= 0)
		open_identity(e, fd_file(ctx->ret));
	finish(ctx);
}

#define OPEN_EXIT_PROBE(name)                                     \
	SEC("tracepoint/syscalls/sys_exit_" #name)                \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)     \
	{                                                         \
		open_exit(ctx);                                   \
		return 0;                                         \
	}

SEC("tracepoint/syscalls/sys_enter_open")
int enter_open(struct trace_event_raw_sys_enter *ctx)
{
	open_common(CALL_OPEN, AT_FDCWD, (const char *)ctx->args[0], (__s64)ctx->args[1], (__u32)ctx->args[2]);
	return 0;
}
OPEN_EXIT_PROBE(open)

/* creat(path, mode) is open(path, O_CREAT | O_WRONLY | O_TRUNC, mode). */
SEC("tracepoint/syscalls/sys_enter_creat")
int enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	open_common(CALL_CREAT, AT_FDCWD, (const char *)ctx->args[0], O_CREAT | 0x1 | 0x200, (__u32)ctx->args[1]);
	return 0;
}
OPEN_EXIT_PROBE(creat)

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	open_common(0, (__s64)ctx->args[0], (const char *)ctx->args[1], (__s64)ctx->args[2], (__u32)ctx->args[3]);
	return 0;
}
OPEN_EXIT_PROBE(openat)

SEC("tracepoint/syscalls/sys_enter_openat2")
int enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};
	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	open_common(CALL_OPENAT2, (__s64)ctx->args[0], (const char *)ctx->args[1], (__s64)how.flags, (__u32)how.mode);
	return 0;
}
OPEN_EXIT_PROBE(openat2)

/* open_by_handle_at(mount_fd, handle, flags) names no path. */
SEC("tracepoint/syscalls/sys_enter_open_by_handle_at")
int enter_open_by_handle_at(struct trace_event_raw_sys_enter *ctx)
{
	open_common(CALL_OPEN_BY_HANDLE_AT, AT_FDCWD, 0, (__s64)ctx->args[2], 0);
	return 0;
}
OPEN_EXIT_PROBE(open_by_handle_at)

/* path_common parks an event of a call on p (under directory descriptor
 * dirfd) and p2 (under dirfd2), when given. */
static __always_inline void path_common(__u8 kind, __s64 dirfd, const char *p, __s64 dirfd2, const char *p2, __s64 flags, __u32 mode)
{
	long slot;
	struct event *e = begin(kind, &slot);
	if (!e)
		return;
	read_at_path(e, dirfd, p, 0);
	if (p2)
		read_at_path(e, dirfd2, p2, 1);
	e->flags = flags;
	e->mode = mode;
	park(e, slot);
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int enter_unlink(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_UNLINK, AT_FDCWD, (const char *)ctx->args[0], AT_FDCWD, 0, 0, 0);
	return 0;
}
EXIT_PROBE(unlink)

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int enter_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_UNLINK, (__s64)ctx->args[0], (const char *)ctx->args[1], AT_FDCWD, 0, (__s64)ctx->args[2], 0);
	return 0;
}
EXIT_PROBE(unlinkat)

SEC("tracepoint/syscalls/sys_enter_rmdir")
int enter_rmdir(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_UNLINK, AT_FDCWD, (const char *)ctx->args[0], AT_FDCWD, 0, 0x200 /* AT_REMOVEDIR */, 0);
	return 0;
}
EXIT_PROBE(rmdir)

SEC("tracepoint/syscalls/sys_enter_rename")
int enter_rename(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_RENAME, AT_FDCWD, (const char *)ctx->args[0], AT_FDCWD, (const char *)ctx->args[1], 0, 0);
	return 0;
}
EXIT_PROBE(rename)

SEC("tracepoint/syscalls/sys_enter_renameat")
int enter_renameat(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_RENAME, (__s64)ctx->args[0], (const char *)ctx->args[1], (__s64)ctx->args[2], (const char *)ctx->args[3], 0, 0);
	return 0;
}
EXIT_PROBE(renameat)

SEC("tracepoint/syscalls/sys_enter_renameat2")
int enter_renameat2(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_RENAME, (__s64)ctx->args[0], (const char *)ctx->args[1], (__s64)ctx->args[2], (const char *)ctx->args[3], (__s64)ctx->args[4], 0);
	return 0;
}
EXIT_PROBE(renameat2)

SEC("tracepoint/syscalls/sys_enter_chmod")
int enter_chmod(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_CHMOD, AT_FDCWD, (const char *)ctx->args[0], AT_FDCWD, 0, 0, (__u32)ctx->args[1]);
	return 0;
}
EXIT_PROBE(chmod)

SEC("tracepoint/syscalls/sys_enter_fchmodat")
int enter_fchmodat(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_CHMOD, (__s64)ctx->args[0], (const char *)ctx->args[1], AT_FDCWD, 0, 0, (__u32)ctx->args[2]);
	return 0;
}
EXIT_PROBE(fchmodat)

SEC("tracepoint/syscalls/sys_enter_fchmodat2")
int enter_fchmodat2(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_CHMOD, (__s64)ctx->args[0], (const char *)ctx->args[1], AT_FDCWD, 0, (__s64)ctx->args[3], (__u32)ctx->args[2]);
	return 0;
}
EXIT_PROBE(fchmodat2)

/* read_sockaddr fills Family, Addr and Port (inet, inet6) or the path
 * region (unix: raw bytes, abstract names start with NUL) of e from the
 * user sockaddr sa of alen bytes. */
static __always_inline void read_sockaddr(struct event *e, const void *sa, __u64 alen)
{
	__u16 family = 0;
	if (!sa || alen < 2)
		return;
	bpf_probe_read_user(&family, sizeof(family), sa);
	e->family = family;
	if (family == AF_INET) {
		struct sockaddr_in in = {};
		bpf_probe_read_user(&in, sizeof(in), sa);
		e->port = bpf_ntohs(in.sin_port);
		__builtin_memcpy(e->addr, &in.sin_addr, 4);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 in6 = {};
		bpf_probe_read_user(&in6, sizeof(in6), sa);
		e->port = bpf_ntohs(in6.sin6_port);
		__builtin_memcpy(e->addr, &in6.sin6_addr, 16);
	} else if (family == AF_UNIX && alen > 2) {
		__u64 n = alen - 2;
		if (n > 108)
			n = 108;
		if (bpf_probe_read_user(e->data, n & 127, (const char *)sa + 2) == 0)
			e->path_len = n & 127;
	}
}

SEC("tracepoint/syscalls/sys_enter_connect")
int enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	long slot;
	struct event *e = begin(KIND_CONNECT, &slot);
	if (!e)
		return 0;
	read_sockaddr(e, (const void *)ctx->args[1], ctx->args[2]);
	park(e, slot);
	return 0;
}
EXIT_PROBE(connect)

SEC("tracepoint/syscalls/sys_enter_bind")
int enter_bind(struct trace_event_raw_sys_enter *ctx)
{
	long slot;
	struct event *e = begin(KIND_BIND, &slot);
	if (!e)
		return 0;
	read_sockaddr(e, (const void *)ctx->args[1], ctx->args[2]);
	park(e, slot);
	return 0;
}
EXIT_PROBE(bind)

SEC("tracepoint/syscalls/sys_enter_listen")
int enter_listen(struct trace_event_raw_sys_enter *ctx)
{
	long slot;
	struct event *e = begin(KIND_LISTEN, &slot);
	if (!e)
		return 0;
	e->arg = (__s32)ctx->args[0];
	park(e, slot);
	return 0;
}
EXIT_PROBE(listen)

/* accept: the peer address is what the kernel wrote to the caller's
 * sockaddr, read at sys_exit. */
static __always_inline void accept_enter(struct trace_event_raw_sys_enter *ctx)
{
	long slot;
	struct event *e = begin(KIND_ACCEPT, &slot);
	if (!e)
		return;
	e->aux = ctx->args[1];
	park(e, slot);
}

static __always_inline void accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&pending, &tid);
	if (!e)
		return;
	if (ctx->ret >= 0 && e->aux)
		read_sockaddr(e, (const void *)e->aux, 110 /* sizeof(sockaddr_un) */);
	finish(ctx);
}

SEC("tracepoint/syscalls/sys_enter_accept")
int enter_accept(struct trace_event_raw_sys_enter *ctx)
{
	accept_enter(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	accept_exit(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int enter_accept4(struct trace_event_raw_sys_enter *ctx)
{
	accept_enter(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	accept_exit(ctx);
	return 0;
}

/* --- send ------------------------------------------------------------- */

/* is_inet reports whether f is an AF_INET or AF_INET6 socket: a TCP or UDP
 * send, whose first bytes are kept. */
static __always_inline int is_inet(struct file *f)
{
	return f && file_type(f) == S_IFSOCK && socket_fdtype(f) == FDT_INET;
}

/* sock_peer sets the destination of e, when the call named none, to the
 * peer of the connected inet socket f. */
static __always_inline void sock_peer(struct event *e, struct file *f)
{
	if (e->family || !is_inet(f))
		return;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (!port)
		return; /* not connected */
	e->family = family;
	e->port = port;
	if (family == AF_INET) {
		__u32 a = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(e->addr, &a, 4);
	} else {
		BPF_CORE_READ_INTO(&e->addr, sk, __sk_common.skc_v6_daddr);
	}
}

/* payload_at is where the payload head starts in e's data: the third
 * region (send uses no path2; path holds a unix socket path), or -1. */
static __always_inline long payload_at(struct event *e)
{
	__u32 at = (__u32)e->path_len + e->path2_len;
	if (at > 2 * PATH_LEN)
		return -1;
	return at;
}

/* read_payload copies the first bytes (at most SEND_DATA of n) of the user
 * buffer buf into the third data region of e. */
static __always_inline void read_payload(struct event *e, const void *buf, __u64 n)
{
	long at = payload_at(e);
	if (at < 0 || !buf)
		return;
	if (n > SEND_DATA)
		n = SEND_DATA;
	n &= 2 * SEND_DATA - 1;
	if (n && bpf_probe_read_user(&e->data[at], n, buf) == 0)
		e->argv_len = n;
}

/* read_iovs fills e from the user iovec array iov of cnt entries: the
 * bytes requested (the sum of at most MSG_IOVS iovecs) and, with head,
 * the first SEND_DATA bytes of their concatenation. */
static __always_inline void read_iovs(struct event *e, const struct iovec *iov, __u64 cnt, int head)
{
	long at = payload_at(e);
	__u64 total = 0;
	__u32 got = 0;
	for (int i = 0; i < MSG_IOVS; i++) {
		struct iovec v = {};
		if (i >= cnt || bpf_probe_read_user(&v, sizeof(v), &iov[i]) != 0)
			break;
		total += v.iov_len;
		if (!head || at < 0 || got >= SEND_DATA || !v.iov_len)
			continue;
		__u64 n = SEND_DATA - got;
		if (v.iov_len < n)
			n = v.iov_len;
		barrier_var(n);
		n &= 2 * SEND_DATA - 1;
		__u64 off = at + got;
		barrier_var(off);
		if (off > 2 * PATH_LEN + SEND_DATA)
			break;
		off &= 4 * PATH_LEN - 1; /* no-op, for the verifier: off + n < DATA_LEN */
		if (bpf_probe_read_user(&e->data[off], n, v.iov_base) != 0)
			head = 0;
		else
			got += n;
	}
	e->count = total;
	e->argv_len = got;
}

/* read_msg fills e from the user msghdr m: destination, bytes requested
 * and, for an inet socket, the head of the payload. */
static __always_inline void read_msg(struct event *e, const struct user_msghdr *m, int inet)
{
	struct user_msghdr h = {};
	if (bpf_probe_read_user(&h, sizeof(h), m) != 0)
		return;
	read_sockaddr(e, h.msg_name, (__u32)h.msg_namelen);
	read_iovs(e, h.msg_iov, h.msg_iovlen, inet);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	long slot;
	struct event *e = begin(KIND_SEND, &slot);
	if (!e)
		return 0;
	e->call = CALL_SENDTO;
	read_sockaddr(e, (const void *)ctx->args[4], ctx->args[5]);
	e->count = ctx->args[2];
	struct file *f = fd_file(ctx->args[0]);
	if (is_inet(f)) {
		read_payload(e, (const void *)ctx->args[1], ctx->args[2]);
		sock_peer(e, f);
	}
	park(e, slot);
	return 0;
}
EXIT_PROBE(sendto)

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	long slot;
	struct event *e = begin(KIND_SEND, &slot);
	if (!e)
		return 0;
	e->call = CALL_SENDMSG;
	struct file *f = fd_file(ctx->args[0]);
	int inet = is_inet(f);
	read_msg(e, (const struct user_msghdr *)ctx->args[1], inet);
	if (inet)
		sock_peer(e, f);
	park(e, slot);
	return 0;
}
EXIT_PROBE(sendmsg)

/* sendmmsg: the messages are read at sys_exit, one event per message sent
 * (at most SEND_MSGS), each with Ret the bytes the kernel sent of it. */
SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int enter_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	long slot;
	struct event *e = begin(KIND_SEND, &slot);
	if (!e)
		return 0;
	e->call = CALL_SENDMMSG;
	e->aux = ctx->args[1];
	e->aux2 = ctx->args[0]; /* the fd, for the peer of a connected socket */
	park(e, slot);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int exit_sendmmsg(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&pending, &tid);
	if (!e)
		return 0;
	__u64 cg;
	long slot = tracked_slot(&cg);
	const struct mmsghdr *vec = (const struct mmsghdr *)e->aux;
	long sent = ctx->ret;
	if (slot < 0 || !vec)
		goto out;
	struct file *f = fd_file(e->aux2);
	int inet = is_inet(f);
	if (sent <= 0) {
		read_msg(e, &vec[0].msg_hdr, inet);
		if (inet)
			sock_peer(e, f);
		e->ret = sent;
		emit(e, slot);
		goto out;
	}
	for (int i = 0; i < SEND_MSGS; i++) {
		if (i >= sent)
			break;
		e->family = 0;
		e->port = 0;
		e->path_len = 0;
		e->argv_len = 0;
		__builtin_memset(e->addr, 0, sizeof(e->addr));
		read_msg(e, &vec[i].msg_hdr, inet);
		if (inet)
			sock_peer(e, f);
		__u32 len = 0;
		bpf_probe_read_user(&len, sizeof(len), &vec[i].msg_len);
		e->ret = len;
		emit(e, slot);
	}
out:
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

/* --- credentials, processes, mounts ----------------------------------- */

static __always_inline void id_common(__u8 call, __s32 id)
{
	long slot;
	struct event *e = begin(KIND_SETUID, &slot);
	if (!e)
		return;
	e->call = call;
	e->arg = id;
	park(e, slot);
}

/* pick returns the first of a, b, c that is not -1 ("unchanged"). */
static __always_inline __s32 pick(__s32 a, __s32 b, __s32 c)
{
	if (a != -1)
		return a;
	if (b != -1)
		return b;
	return c;
}

#define A(i) ((__s32)ctx->args[i])
#define ID_PROBE(name, CALL, expr)                                       \
	SEC("tracepoint/syscalls/sys_enter_" #name)                      \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)          \
	{                                                                \
		id_common(CALL, expr);                                   \
		return 0;                                                \
	}                                                                \
	EXIT_PROBE(name)

/* The new id: the effective one when the call sets it, else the real,
 * else the saved one. */
ID_PROBE(setuid, CALL_SETUID, pick(A(0), -1, -1))
ID_PROBE(setgid, CALL_SETGID, pick(A(0), -1, -1))
ID_PROBE(setreuid, CALL_SETREUID, pick(A(1), A(0), -1))
ID_PROBE(setregid, CALL_SETREGID, pick(A(1), A(0), -1))
ID_PROBE(setresuid, CALL_SETRESUID, pick(A(1), A(0), A(2)))
ID_PROBE(setresgid, CALL_SETRESGID, pick(A(1), A(0), A(2)))

SEC("tracepoint/syscalls/sys_enter_ptrace")
int enter_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	long slot;
	struct event *e = begin(KIND_PTRACE, &slot);
	if (!e)
		return 0;
	e->arg = (__s64)ctx->args[0];
	e->target_pid = (__u32)ctx->args[1];
	park(e, slot);
	return 0;
}
EXIT_PROBE(ptrace)

/* process_vm_readv(pid, ...): Arg is the pid as given (in the caller's pid
 * namespace), TargetPID the tgid the kernel knows it by (0 when no such
 * process), Ret the bytes read. */
extern struct task_struct *bpf_task_from_vpid(s32 vpid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;

SEC("tracepoint/syscalls/sys_enter_process_vm_readv")
int enter_process_vm_readv(struct trace_event_raw_sys_enter *ctx)
{
	long slot;
	struct event *e = begin(KIND_MEMREAD, &slot);
	if (!e)
		return 0;
	e->arg = (__s32)ctx->args[0];
	if (bpf_task_from_vpid) { /* a __weak kfunc: 0 where the kernel lacks it */
		struct task_struct *t = bpf_task_from_vpid((__s32)ctx->args[0]);
		if (t) {
			e->target_pid = t->tgid;
			bpf_task_release(t);
		}
	}
	park(e, slot);
	return 0;
}
EXIT_PROBE(process_vm_readv)

SEC("tracepoint/syscalls/sys_enter_memfd_create")
int enter_memfd_create(struct trace_event_raw_sys_enter *ctx)
{
	long slot;
	struct event *e = begin(KIND_MEMFD, &slot);
	if (!e)
		return 0;
	read_user_path(e, (const char *)ctx->args[0], 0);
	e->flags = (__u32)ctx->args[1];
	park(e, slot);
	return 0;
}
EXIT_PROBE(memfd_create)

SEC("tracepoint/syscalls/sys_enter_mount")
int enter_mount(struct trace_event_raw_sys_enter *ctx)
{
	long slot;
	struct event *e = begin(KIND_MOUNT, &slot);
	if (!e)
		return 0;
	read_user_path(e, (const char *)ctx->args[1], 0);
	read_user_path(e, (const char *)ctx->args[0], 1);
	__u32 at = (__u32)e->path_len + e->path2_len;
	if (at <= 2 * PATH_LEN)
		e->argv_len = str_len(bpf_probe_read_user_str(&e->data[at], NAME_LEN, (const char *)ctx->args[2]));
	e->flags = (__s64)ctx->args[3];
	park(e, slot);
	return 0;
}
EXIT_PROBE(mount)

static __always_inline void kill_common(__s32 target, __s32 tgid, __s32 sig)
{
	long slot;
	struct event *e = begin(KIND_KILL, &slot);
	if (!e)
		return;
	e->arg = target;
	e->target_pid = tgid;
	e->signal = sig;
	park(e, slot);
}

SEC("tracepoint/syscalls/sys_enter_kill")
int enter_kill(struct trace_event_raw_sys_enter *ctx)
{
	kill_common(ctx->args[0], ctx->args[0], ctx->args[1]);
	return 0;
}
EXIT_PROBE(kill)

SEC("tracepoint/syscalls/sys_enter_tkill")
int enter_tkill(struct trace_event_raw_sys_enter *ctx)
{
	kill_common(ctx->args[0], ctx->args[0], ctx->args[1]);
	return 0;
}
EXIT_PROBE(tkill)

SEC("tracepoint/syscalls/sys_enter_tgkill")
int enter_tgkill(struct trace_event_raw_sys_enter *ctx)
{
	kill_common(ctx->args[0], ctx->args[0], ctx->args[2]);
	return 0;
}
EXIT_PROBE(tgkill)

SEC("tracepoint/syscalls/sys_enter_chdir")
int enter_chdir(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_CHDIR, AT_FDCWD, (const char *)ctx->args[0], AT_FDCWD, 0, 0, 0);
	return 0;
}
EXIT_PROBE(chdir)

/* fchdir: the path is the new cwd, walked from the kernel's dentries at
 * sys_exit when the call succeeded. */
SEC("tracepoint/syscalls/sys_enter_fchdir")
int enter_fchdir(struct trace_event_raw_sys_enter *ctx)
{
	long slot;
	struct event *e = begin(KIND_CHDIR, &slot);
	if (!e)
		return 0;
	park(e, slot);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_fchdir")
int exit_fchdir(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&pending, &tid);
	if (!e)
		return 0;
	if (ctx->ret == 0) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
		struct fs_struct *fs = BPF_CORE_READ(task, fs);
		e->path_len = dpath(e->data, BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt), task);
	}
	finish(ctx);
	return 0;
}

/* link_common parks a link event: newpath under newdirfd, and target,
 * under targetdirfd for a hard link (a symlink's target is its text). */
static __always_inline void link_common(__u8 call, __s64 newdirfd, const char *newpath, __s64 targetdirfd, const char *target, __s64 flags)
{
	long slot;
	struct event *e = begin(KIND_LINK, &slot);
	if (!e)
		return;
	e->call = call;
	read_at_path(e, newdirfd, newpath, 0);
	read_at_path(e, targetdirfd, target, 1);
	e->flags = flags;
	park(e, slot);
}

SEC("tracepoint/syscalls/sys_enter_link")
int enter_link(struct trace_event_raw_sys_enter *ctx)
{
	link_common(CALL_LINK, AT_FDCWD, (const char *)ctx->args[1], AT_FDCWD, (const char *)ctx->args[0], 0);
	return 0;
}
EXIT_PROBE(link)

SEC("tracepoint/syscalls/sys_enter_linkat")
int enter_linkat(struct trace_event_raw_sys_enter *ctx)
{
	link_common(CALL_LINKAT, (__s64)ctx->args[2], (const char *)ctx->args[3], (__s64)ctx->args[0], (const char *)ctx->args[1], (__s64)ctx->args[4]);
	return 0;
}
EXIT_PROBE(linkat)

SEC("tracepoint/syscalls/sys_enter_symlink")
int enter_symlink(struct trace_event_raw_sys_enter *ctx)
{
	link_common(CALL_SYMLINK, AT_FDCWD, (const char *)ctx->args[1], AT_FDCWD, (const char *)ctx->args[0], 0);
	return 0;
}
EXIT_PROBE(symlink)

SEC("tracepoint/syscalls/sys_enter_symlinkat")
int enter_symlinkat(struct trace_event_raw_sys_enter *ctx)
{
	link_common(CALL_SYMLINKAT, (__s64)ctx->args[1], (const char *)ctx->args[2], AT_FDCWD, (const char *)ctx->args[0], 0);
	return 0;
}
EXIT_PROBE(symlinkat)

/* --- writes to regular files, aggregated per (process, open file) ------ */

struct wkey {
	__u32 tgid;
	__u32 pad;
	__u64 file; /* struct file pointer */
};

struct wagg {
	__u64 ktime; /* first write */
	__u64 start;
	__u64 cgroup;
	__u64 bytes;
	__u32 pid;   /* the thread of the first write */
	__u32 tgid;
	__u32 ppid;
	__u32 uid;
	char comm[16];
	__u32 path_len;
	__u32 pad;
	char path[PATH_LEN];
};

/* (tgid, file) -> bytes written so far; flushed as one write event when
 * the descriptor is closed, the process exits, or the recording stops. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct wkey);
	__type(value, struct wagg);
} writes SEC(".maps");

/* thread id -> the regular file a write in progress goes to */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u64);
} wpending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wagg);
} wscratch SEC(".maps");

/* emit_write writes the aggregate v as one write event to slot. */
static __always_inline void emit_write(struct wagg *v, __u32 slot)
{
	__u32 zero = 0;
	struct event *e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return;
	__builtin_memset(e, 0, offsetof(struct event, data));
	e->kind = KIND_WRITE;
	e->ktime = v->ktime;
	e->start = v->start;
	e->cgroup = v->cgroup;
	e->count = v->bytes;
	e->pid = v->pid;
	e->tgid = v->tgid;
	e->ppid = v->ppid;
	e->uid = v->uid;
	__builtin_memcpy(e->comm, v->comm, sizeof(e->comm));
	__u32 n = v->path_len & (PATH_LEN - 1);
	bpf_probe_read_kernel(e->data, n, v->path);
	e->path_len = n;
	emit(e, slot);
}

/* add_write adds n bytes written by the current process to file f. */
static __always_inline void add_write(__u64 f, __u64 n, long slot, __u64 cg)
{
	struct wkey k = {.tgid = bpf_get_current_pid_tgid() >> 32, .file = f};
	struct wagg *v = bpf_map_lookup_elem(&writes, &k);
	if (v) {
		__sync_fetch_and_add(&v->bytes, n);
		return;
	}
	__u32 zero = 0;
	v = bpf_map_lookup_elem(&wscratch, &zero);
	if (!v)
		return;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u64 pidtgid = bpf_get_current_pid_tgid();
	v->ktime = bpf_ktime_get_ns();
	v->start = BPF_CORE_READ(task, group_leader, start_time);
	v->cgroup = cg;
	v->bytes = n;
	v->pid = (__u32)pidtgid;
	v->tgid = pidtgid >> 32;
	v->ppid = BPF_CORE_READ(task, real_parent, tgid);
	v->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(v->comm, sizeof(v->comm));
	struct file *file = (struct file *)f;
	v->path_len = file_path(v->path, file, task);
	if (bpf_map_update_elem(&writes, &k, v, BPF_NOEXIST) == 0)
		return;
	struct wagg *old = bpf_map_lookup_elem(&writes, &k);
	if (old) { /* another thread of the process won the race */
		__sync_fetch_and_add(&old->bytes, n);
		return;
	}
	emit_write(v, slot); /* the map is full: this write on its own */
}

/* write_enter follows a write to a regular file (aggregated per process
 * and file) and records a write or writev to an inet socket as a send with
 * its first bytes (call is CALL_WRITE or CALL_WRITEV; 0 for the positional
 * writes, which sockets refuse). */
static __always_inline void write_enter(struct trace_event_raw_sys_enter *ctx, __u8 call)
{
	__u64 cg;
	long slot = tracked_slot(&cg);
	if (slot < 0)
		return;
	struct file *f = fd_file(ctx->args[0]);
	if (!f)
		return;
	__u32 type = file_type(f);
	if (type == S_IFREG) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		__u64 fp = (__u64)f;
		bpf_map_update_elem(&wpending, &tid, &fp, BPF_ANY);
		return;
	}
	if (!call || !is_inet(f))
		return;
	struct event *e = new_event(KIND_SEND, cg);
	if (!e)
		return;
	e->call = call;
	if (call == CALL_WRITEV) {
		read_iovs(e, (const struct iovec *)ctx->args[1], ctx->args[2], 1);
	} else {
		e->count = ctx->args[2];
		read_payload(e, (const void *)ctx->args[1], ctx->args[2]);
	}
	sock_peer(e, f);
	park(e, slot);
}

static __always_inline void write_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *fp = bpf_map_lookup_elem(&wpending, &tid);
	if (!fp) {
		finish(ctx);
		return;
	}
	__u64 f = *fp;
	bpf_map_delete_elem(&wpending, &tid);
	__u64 cg;
	long slot = tracked_slot(&cg);
	if (slot >= 0 && ctx->ret > 0)
		add_write(f, ctx->ret, slot, cg);
}

#define WRITE_PROBE(name, call)                                           \
	SEC("tracepoint/syscalls/sys_enter_" #name)                       \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)           \
	{                                                                 \
		write_enter(ctx, call);                                   \
		return 0;                                                 \
	}                                                                 \
	SEC("tracepoint/syscalls/sys_exit_" #name)                        \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)             \
	{                                                                 \
		write_exit(ctx);                                          \
		return 0;                                                 \
	}

WRITE_PROBE(write, CALL_WRITE)
WRITE_PROBE(pwrite64, 0)
WRITE_PROBE(writev, CALL_WRITEV)
WRITE_PROBE(pwritev, 0)
WRITE_PROBE(pwritev2, 0)

SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx)
{
	__u64 cg;
	long slot = tracked_slot(&cg);
	if (slot < 0)
		return 0;
	struct file *f = fd_file(ctx->args[0]);
	if (!f || file_type(f) != S_IFREG)
		return 0;
	struct wkey k = {.tgid = bpf_get_current_pid_tgid() >> 32, .file = (__u64)f};
	struct wagg *v = bpf_map_lookup_elem(&writes, &k);
	if (!v)
		return 0;
	emit_write(v, slot);
	bpf_map_delete_elem(&writes, &k);
	return 0;
}

struct flush_ctx {
	__u32 tgid;
	__u32 slot;
};

static long flush_one(struct bpf_map *map, struct wkey *k, struct wagg *v, struct flush_ctx *c)
{
	if (k->tgid != c->tgid)
		return 0;
	emit_write(v, c->slot);
	bpf_map_delete_elem(map, k);
	return 0;
}

/* flush_writes emits and removes every aggregate of process tgid. */
static __always_inline void flush_writes(__u32 tgid, __u32 slot)
{
	struct flush_ctx c = {.tgid = tgid, .slot = slot};
	bpf_for_each_map_elem(&writes, flush_one, &c, 0);
}

/* --- process exit: after the writes, which it flushes --------------- */

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_exit, struct task_struct *task)
{
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0; /* other threads of the process still run */
	__u64 cg;
	long slot = tracked_slot(&cg);
	if (slot < 0)
		return 0;
	flush_writes(task->tgid, slot);
	struct event *e = new_event(KIND_EXIT, cg);
	if (!e)
		return 0;
	int code = BPF_CORE_READ(task, exit_code);
	e->exit_code = (code >> 8) & 0xff;
	e->signal = code & 0x7f;
	emit(e, slot);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
