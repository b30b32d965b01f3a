// Package sandbox runs untrusted commands in throw-away, hardened containerd
// containers and removes every trace of them afterwards. It owns:
//
//   - the sandbox image: BuildImage runs the image recipe (deploy/image) with
//     debootstrap into a fresh directory, packs the root filesystem as a
//     single-layer OCI image tar, cached by the recipe's sha256 (the
//     recipe's downloads are kept beside it for the next build); ImportImage
//     loads such a tar into containerd and unpacks it for overlayfs;
//     CopyFromImage copies files out of the imported image's layers (the
//     worker takes its node and npm for the host), mounting and running
//     nothing;
//   - workspaces: size-bounded tmpfs mounts (home/ and tmp/) under
//     StateDir/ws, so a package cannot fill the host's disk;
//   - work directories: WorkRoot/<id>, where a run keeps what never enters
//     a container (the downloaded tarball and dependencies), with an owner
//     file beside each like a workspace's;
//   - phases: Run starts a container from a fresh snapshot of the image,
//     runs one command in it with limits, a wall-clock timeout and a grace
//     period for what it leaves running, and tears it all down;
//   - the reaper: Reap removes containers, snapshots, cgroups, workspaces
//     and work directories that a crashed or killed earlier process left.
//
// The package knows containers, not packages: it must not import ecosystem,
// bpf, rules, store or worker. The sinkhole network lives in sandbox/sinkhole;
// Run only joins a network namespace by path (Phase.NetNS).
//
// # How a phase runs
//
// The container's init (pid 1 of its pid namespace) is /sbin/init, a small
// static C program built into the image (deploy/image/init.c). It runs as
// root with CAP_SETUID, CAP_SETGID and CAP_SETPCAP only, takes its
// instructions from its environment (the command's argv, uid:gid, working
// directory and OOM score; nobody else can read init's environment), forks
// the phase's command, which empties its capability bounding set and takes
// the package's uid and gid before it execs, and reports the command's exit
// status on its own stderr, a pipe only the host reads. Then it stays,
// reaping orphans: the kernel kills a pid namespace with its init, and what
// the command left running must live on to be observed. Run polls the
// container's cgroup.procs until only init is left or Phase.Grace has
// elapsed (Result.Watched), records every other process still alive
// (Result.Survivors, host pids, read from /proc before the kill), and kills
// the whole task. One process start per phase, where a do-nothing init and
// a task.Exec of the command took two (runc exec costs about 30 ms).
//
// Package code never shares init's uid, so it cannot signal init, ptrace
// it, open its /proc/1/fd (and so write a forged status), or change its
// OOM score. Where this process's root holds CAP_SYS_RESOURCE, runc gives
// init an oom_score_adj of -1000 (never the OOM killer's choice) and init,
// holding that capability too, gives the command 0 with the floor pinned
// there; where root lacks it (some VM and container hosts, this
// development machine among them), init keeps 0 and the command starts at
// 1000, which package code may lower again. Either way init ending before
// the command is Result.InitDied, judged by the init-died rule: the
// observation was cut short.
//
// Sleeps are cut short (MaxSleep): the spec routes nanosleep and
// clock_nanosleep to seccomp user notification, runc hands the filter's
// descriptor to a listener of Run's (ListenerPath, a socket per run under
// the state directory), and the agent lets a sleep up to MaxSleep run as
// asked and answers a longer one with success after MaxSleep. A payload
// that sleeps an hour before it acts then acts while it is watched. Timers
// (epoll, poll, select timeouts) are not sleeps and keep their length.
//
// beforeMain is called with the container's cgroup id (the inode number of
// its cgroup v2 directory) once the task is created (runc has made its
// cgroup) and before it starts, so the trace holds the phase from its
// first exec. Init's own events are the sandbox's, not the package's: its
// host pid is Result.InitPID.
//
// Teardown (Kill all → wait for init → task.Delete → unmount the root →
// container.Delete → remove the snapshot) runs on a detached context with
// its own timeout, so a cancelled or timed-out job still cleans up. No
// container refers to the root's snapshot (runc takes the mounted overlay
// as the spec's root path), so the snapshot carries containerd's gc.root
// label besides its owner labels: without it the garbage collector took
// the upper directory of running containers.
//
// # Identity: a uid per analysis, no user namespace
//
// Package code runs as a uid of its own, UIDBase+n, the same number as its
// gid, held by a Workspace (or by Run for a phase without one) through an
// flock in /run/lock/fumehood-uid that the kernel drops with its holder.
// New refuses to start when the host's passwd, group, subuid or subgid
// files name an id in the range. Per-user kernel limits (inotify
// instances, processes, signals, message queues) are counted per uid, so
// what a package exhausts is its slot's, never a host user's and never
// another analysis's. Traces carry these uids; nothing in the rules
// compares uids, and the analysis records the persona's (analysis.Persona).
//
// A user namespace was tried and refused. runc 1.1.5 takes uid/gid maps,
// but containerd 1.6 has no idmapped snapshots (the image would be copied
// and chowned once per mapping), a user namespace joining the sinkhole's
// network namespace (created outside it) cannot mount sysfs, and above all
// the kernel charges per-user counts up the namespace hierarchy to the
// namespace's owner: a process in a user namespace that root created,
// mapped to host uid 300000, holding every inotify instance it could made
// inotify_init() fail for host root. Plain high uids move nobody's limits.
//
// # Hardening
//
// Besides the above: NoNewPrivileges, containerd's default seccomp profile
// with io_uring_setup/enter/register explicitly denied (their operations
// bypass syscall tracepoints), a read-only root filesystem, the default
// masked and read-only /proc and /sys paths, its own hostname, memory (swap
// included), pids and CPU (CFS quota) limits, and a new network namespace
// with loopback only unless Phase.NetNS names one to join. On this host's
// hybrid cgroups the limits are enforced by the v1 controllers; the cgroup id
// is the one of the cgroup v2 (unified) directory runc creates beside them.
//
// # What the container shows of us
//
// A cgroup namespace makes /proc/self/cgroup read "/". The root filesystem
// is a fresh snapshot of the image that Run mounts itself as an overlay
// (StateDir/root/<id>) whose layers it names /proc/self/fd/N of descriptors
// held only for the mount call: an overlay shows its options as given, so
// the container's mountinfo names no host directory (containerd's own
// mount would show /var/lib/containerd/...). The phase's files (resolver,
// CA), its account (Phase.Account, appended to the image's /etc/passwd and
// /etc/group) and its host name (/etc/hostname, /etc/hosts) are written
// into that root before init starts, not bind-mounted; only the
// workspace's home and /tmp are binds, of directories of a tmpfs.
//
// # Ownership and reaping
//
// Containers and snapshots carry the labels "fumehood.run" (owner pid) and
// "fumehood.run.start" (the owner's start time in clock ticks, to survive pid
// reuse); a workspace has an owner file beside its mount point. Reap removes
// what belongs to a dead owner, and what belongs to this process but is not
// one of its live runs or workspaces, and root mounts whose container is
// gone; it never touches what another living process owns.
package sandbox
