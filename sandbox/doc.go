// Package sandbox runs untrusted commands in throw-away, hardened containerd
// containers and removes every trace of them afterwards. It owns:
//
//   - the sandbox image: BuildImage runs the image recipe (deploy/image) with
//     debootstrap into a fresh directory, packs the root filesystem as a
//     single-layer OCI image tar, cached by the recipe's sha256; ImportImage
//     loads such a tar into containerd and unpacks it for overlayfs;
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
// The container's init (pid 1 of its pid namespace) is a few lines of
// /bin/sh (initScript) started as the unprivileged user: it runs the
// phase's command as its child, reports the command's exit status to Run
// on its own stderr, and then becomes /bin/sleep, so that pid 1 outlives
// the command: when the command exits, the processes it detached keep
// running and are observed (the kernel would kill them with a pid 1 that
// exits). Run then polls the container's cgroup.procs until only init is
// left or Phase.Grace has elapsed, records every other process still alive
// (Result.Survivors, host pids, read from /proc before the kill), and kills
// the whole task. One process start per phase, where a do-nothing init and
// a task.Exec of the command took two (runc exec costs about 30 ms).
//
// beforeMain is called with the container's cgroup id (the inode number of
// its cgroup v2 directory) once the task is created (runc has made its
// cgroup) and before it starts, so the trace holds the phase from its
// first exec. Init's own events are the sandbox's, not the package's: its
// host pid is Result.InitPID.
//
// Teardown (Kill all → wait for init → task.Delete →
// container.Delete with snapshot cleanup) runs on a detached context with its
// own timeout, so a cancelled or timed-out job still cleans up.
//
// # Hardening
//
// Every container runs as uid:gid 1000:1000 (Phase.User), with empty
// capability sets, NoNewPrivileges, containerd's default seccomp profile
// with io_uring_setup/enter/register explicitly denied (their operations
// bypass syscall tracepoints), a read-only root filesystem, the default
// masked and read-only /proc and /sys paths, its own hostname, memory (swap
// included), pids and CPU (CFS quota) limits, and a new network namespace
// with loopback only unless Phase.NetNS names one to join. On this host's
// hybrid cgroups the limits are enforced by the v1 controllers; the cgroup id
// is the one of the cgroup v2 (unified) directory runc creates beside them.
//
// # Ownership and reaping
//
// Containers and snapshots carry the labels "fumehood.run" (owner pid) and
// "fumehood.run.start" (the owner's start time in clock ticks, to survive pid
// reuse); a workspace has an owner file beside its mount point. Reap removes
// what belongs to a dead owner, and what belongs to this process but is not
// one of its live runs or workspaces; it never touches what another living
// process owns.
package sandbox
