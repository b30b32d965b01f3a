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
#define DATA_LEN (2 * PATH_LEN + ARGV_LEN)

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

enum kind {
	KIND_EXEC = 1,
	KIND_FORK = 2,
	KIND_EXIT = 3,
	KIND_OPEN = 4,
	KIND_UNLINK = 5,
	KIND_RENAME = 6,
	KIND_CHMOD = 7,
	KIND_CONNECT = 8,
};

/*
 * One record. The header is fixed; the variable part data[] holds, in
 * order, path (path_len bytes), then path2 or cwd (path2_len bytes), then
 * argv (argv_len bytes). Only the used prefix of data[] is written to the
 * ring buffer. Lengths exclude any NUL terminator.
 */
struct event {
	__u64 ktime;       /* CLOCK_MONOTONIC ns */
	__u64 start;       /* group leader start time, ns since boot (monotonic) */
	__u64 cgroup;      /* cgroup v2 id */
	__u64 child_start; /* fork */
	__s64 flags;       /* open flags, unlinkat/renameat2/fchmodat2 flags */
	__s64 ret;         /* syscall result */
	__u32 pid;         /* thread id */
	__u32 tgid;
	__u32 ppid;        /* real parent's tgid */
	__u32 uid;         /* real uid (kernel view) */
	__u32 child_pid;   /* fork */
	__u32 mode;        /* open/chmod mode */
	__s32 exit_code;
	__s32 signal;
	__u16 family;
	__u16 port;        /* host byte order */
	__u16 path_len;
	__u16 path2_len;
	__u16 argv_len;
	__u8 kind;
	__u8 pad;
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
	return (__u32)e->path_len + e->path2_len + e->argv_len;
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

/* read_cwd writes the cwd of task (relative to its root) into the path2
 * region of e, walking at most CWD_DEPTH dentries. */
static __always_inline void read_cwd(struct event *e, struct task_struct *task)
{
	__u32 zero = 0;
	struct cwdbuf *cb = bpf_map_lookup_elem(&cwdscratch, &zero);
	if (!cb)
		return;

	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	struct dentry *pwd = BPF_CORE_READ(fs, pwd.dentry);
	struct vfsmount *pwdmnt = BPF_CORE_READ(fs, pwd.mnt);
	struct dentry *root = BPF_CORE_READ(fs, root.dentry);
	struct vfsmount *rootmnt = BPF_CORE_READ(fs, root.mnt);
	struct cwd_walk w = {
		.d = pwd,
		.vmnt = pwdmnt,
		.mnt = container_of(pwdmnt, struct mount, mnt),
		.root = root,
		.rootmnt = rootmnt,
		.off = PATH_LEN,
	};
	bpf_loop(CWD_DEPTH, cwd_step, &w, 0);

	__u32 off = w.off;
	if (off > PATH_LEN)
		return;
	if (off == PATH_LEN) {
		off = PATH_LEN - 1;
		cb->b[off] = '/';
	}
	__u32 n = PATH_LEN - off;
	__u32 at = e->path_len;
	if (at > PATH_LEN)
		return;
	n &= PATH_LEN - 1; /* off >= 1, so n < PATH_LEN */
	bpf_probe_read_kernel(&e->data[at], n, &cb->b[off & (PATH_LEN - 1)]);
	e->path2_len = n;
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
	emit(e, slot);
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

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_exit, struct task_struct *task)
{
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0; /* other threads of the process still run */
	__u64 cg;
	long slot = tracked_slot(&cg);
	if (slot < 0)
		return 0;
	struct event *e = new_event(KIND_EXIT, cg);
	if (!e)
		return 0;
	int code = BPF_CORE_READ(task, exit_code);
	e->exit_code = (code >> 8) & 0xff;
	e->signal = code & 0x7f;
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

static __always_inline void open_common(const char *path, __s64 flags, __u32 mode)
{
	long slot;
	struct event *e = begin(KIND_OPEN, &slot);
	if (!e)
		return;
	read_user_path(e, path, 0);
	e->flags = flags;
	if (flags & (0x40 | 0x410000)) /* O_CREAT | O_TMPFILE */
		e->mode = mode;
	park(e, slot);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	open_common((const char *)ctx->args[1], (__s64)ctx->args[2], (__u32)ctx->args[3]);
	return 0;
}
EXIT_PROBE(openat)

SEC("tracepoint/syscalls/sys_enter_openat2")
int enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};
	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	open_common((const char *)ctx->args[1], (__s64)how.flags, (__u32)how.mode);
	return 0;
}
EXIT_PROBE(openat2)

static __always_inline void path_common(__u8 kind, const char *p, const char *p2, __s64 flags, __u32 mode)
{
	long slot;
	struct event *e = begin(kind, &slot);
	if (!e)
		return;
	read_user_path(e, p, 0);
	if (p2)
		read_user_path(e, p2, 1);
	e->flags = flags;
	e->mode = mode;
	park(e, slot);
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int enter_unlink(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_UNLINK, (const char *)ctx->args[0], 0, 0, 0);
	return 0;
}
EXIT_PROBE(unlink)

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int enter_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_UNLINK, (const char *)ctx->args[1], 0, (__s64)ctx->args[2], 0);
	return 0;
}
EXIT_PROBE(unlinkat)

SEC("tracepoint/syscalls/sys_enter_rmdir")
int enter_rmdir(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_UNLINK, (const char *)ctx->args[0], 0, 0x200 /* AT_REMOVEDIR */, 0);
	return 0;
}
EXIT_PROBE(rmdir)

SEC("tracepoint/syscalls/sys_enter_rename")
int enter_rename(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_RENAME, (const char *)ctx->args[0], (const char *)ctx->args[1], 0, 0);
	return 0;
}
EXIT_PROBE(rename)

SEC("tracepoint/syscalls/sys_enter_renameat")
int enter_renameat(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_RENAME, (const char *)ctx->args[1], (const char *)ctx->args[3], 0, 0);
	return 0;
}
EXIT_PROBE(renameat)

SEC("tracepoint/syscalls/sys_enter_renameat2")
int enter_renameat2(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_RENAME, (const char *)ctx->args[1], (const char *)ctx->args[3], (__s64)ctx->args[4], 0);
	return 0;
}
EXIT_PROBE(renameat2)

SEC("tracepoint/syscalls/sys_enter_chmod")
int enter_chmod(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_CHMOD, (const char *)ctx->args[0], 0, 0, (__u32)ctx->args[1]);
	return 0;
}
EXIT_PROBE(chmod)

SEC("tracepoint/syscalls/sys_enter_fchmodat")
int enter_fchmodat(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_CHMOD, (const char *)ctx->args[1], 0, 0, (__u32)ctx->args[2]);
	return 0;
}
EXIT_PROBE(fchmodat)

SEC("tracepoint/syscalls/sys_enter_fchmodat2")
int enter_fchmodat2(struct trace_event_raw_sys_enter *ctx)
{
	path_common(KIND_CHMOD, (const char *)ctx->args[1], 0, (__s64)ctx->args[3], (__u32)ctx->args[2]);
	return 0;
}
EXIT_PROBE(fchmodat2)

SEC("tracepoint/syscalls/sys_enter_connect")
int enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	long slot;
	struct event *e = begin(KIND_CONNECT, &slot);
	if (!e)
		return 0;
	const void *sa = (const void *)ctx->args[1];
	__u64 alen = ctx->args[2];
	__u16 family = 0;
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
		/* raw bytes: abstract names start with NUL */
		__u64 n = alen - 2;
		if (n > 108)
			n = 108;
		if (bpf_probe_read_user(e->data, n & 127, (const char *)sa + 2) == 0)
			e->path_len = n & 127;
	}
	park(e, slot);
	return 0;
}
EXIT_PROBE(connect)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
