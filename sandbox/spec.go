package sandbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// deniedSyscalls fail with EPERM whatever the seccomp profile allows:
// io_uring operations bypass the syscall tracepoints the tracer relies on.
var deniedSyscalls = []string{"io_uring_setup", "io_uring_enter", "io_uring_register"}

// cpuPeriod is the CFS period the CPU quota is expressed in (100 ms).
const cpuPeriod = 100_000

// parseUser parses "uid:gid" (numeric only: the image's /etc/passwd is not
// consulted).
func parseUser(u string) (uid, gid uint32, err error) {
	a, b, ok := strings.Cut(u, ":")
	if !ok {
		return 0, 0, fmt.Errorf("%w: user %q is not uid:gid", ErrInvalidPhase, u)
	}
	x, err1 := strconv.ParseUint(a, 10, 32)
	y, err2 := strconv.ParseUint(b, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%w: user %q is not numeric uid:gid", ErrInvalidPhase, u)
	}
	return uint32(x), uint32(y), nil
}

// initPath is the container's init in the image (deploy/image/init.c).
// It runs as root with initCaps only, out of the package's reach, and
// takes its instructions from its environment (initEnv), so that
// /proc/1/cmdline is "/sbin/init" as on any machine.
const initPath = "/sbin/init"

// initCaps are init's capabilities: what it needs to start the command as
// the package's user (set its ids, empty its bounding set). The command
// gets none of them.
// CAP_CHECKPOINT_RESTORE lets it set the pid the command gets
// (commandPID) through /proc/sys/kernel/ns_last_pid.
var initCaps = []string{"CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_CHECKPOINT_RESTORE"}

// The command's pid is drawn from [minCommandPID, maxCommandPID): a fresh
// pid namespace counts from 1, and a package that reads a small pid or
// ppid as a sandbox would stay quiet. init sets it through ns_last_pid.
const (
	minCommandPID = 1500
	maxCommandPID = 30000
)

// commandPID draws the pid init gives the command.
func commandPID() int { return minCommandPID + rand.IntN(maxCommandPID-minCommandPID) }

// OOM scores (oom_score_adj). With the guard, init's is -1000 (the OOM
// killer never picks it: a package that fills the container's memory
// cannot end the observation by getting init killed) and init, holding
// CAP_SYS_RESOURCE for that alone, gives the command an ordinary 0 it
// cannot lower. The guard needs CAP_SYS_RESOURCE, which some hosts' root
// lacks (a container or VM sandbox): there init keeps 0 and the command
// starts at 1000, the OOM killer's first choice, which package code may
// lower back to 0 (only CAP_SYS_RESOURCE pins a floor); init ending early
// is then still recorded (Result.InitDied).
const (
	initOOMScoreAdj    = -1000
	commandOOMScoreAdj = 0
	unguardedOOMScore  = 1000
)

// hostCanGuardOOM reports whether this process's root may lower OOM
// scores (CAP_SYS_RESOURCE in its effective set), as runc, its child, must
// to give init -1000.
func hostCanGuardOOM() bool {
	var hdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[unix.CAP_SYS_RESOURCE/32].Effective&(1<<(unix.CAP_SYS_RESOURCE%32)) != 0
}

// initEnv is init's environment: the command's, followed by what init
// needs to start it, which init removes before it does (see init.c).
func initEnv(p Phase, uid, gid uint32, oom int) []string {
	var exec strings.Builder
	for _, a := range p.Args {
		exec.WriteString(strconv.Itoa(len(a)) + ":" + a + ",")
	}
	return append(withPath(p.Env),
		"PID1_EXEC="+exec.String(),
		fmt.Sprintf("PID1_USER=%d:%d", uid, gid),
		"PID1_CWD="+p.Cwd,
		"PID1_OOM="+strconv.Itoa(oom),
		"PID1_PID="+strconv.Itoa(commandPID()),
	)
}

// specOpts is the hardened spec of a phase's container; its process is
// init, which starts the phase's command as uid:gid. guard gives init its
// OOM guard (see initOOMScoreAdj).
func specOpts(p Phase, uid, gid uint32, guard bool) []oci.SpecOpts {
	caps, oom := initCaps, unguardedOOMScore
	if guard {
		caps, oom = append(slices.Clone(initCaps), "CAP_SYS_RESOURCE"), commandOOMScoreAdj
	}
	opts := []oci.SpecOpts{
		oci.WithProcessArgs(initPath),
		oci.WithEnv(initEnv(p, uid, gid, oom)),
		oci.WithProcessCwd("/"),
		oci.WithUIDGID(0, 0),
		withCapabilities(caps),
		oci.WithNoNewPrivileges,
		seccomp.WithDefaultProfile(),
		withSyscallsDenied(deniedSyscalls...),
		oci.WithRootFSReadonly(),
		withKernelSysctlsWritable,
		oci.WithHostname(p.Hostname),
		oci.WithMounts(bindMounts(p.Mounts)),
		// /proc/self/cgroup reads "/", not the container's cgroup path.
		oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.CgroupNamespace}),
	}
	if l := p.Limits.MemoryBytes; l > 0 {
		// swap limit = memory limit: no swap on top of it.
		opts = append(opts, oci.WithMemoryLimit(uint64(l)), oci.WithMemorySwap(l))
	}
	if l := p.Limits.Pids; l > 0 {
		opts = append(opts, oci.WithPidsLimit(l))
	}
	if c := p.Limits.CPUs; c > 0 {
		opts = append(opts, oci.WithCPUCFS(int64(c*cpuPeriod), cpuPeriod))
	}
	if p.NetNS != "" {
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: p.NetNS}))
	}
	if guard {
		opts = append(opts, withOOMScoreAdj(initOOMScoreAdj))
	}
	return opts
}

func bindMounts(ms []Mount) []specs.Mount {
	out := make([]specs.Mount, 0, len(ms))
	for _, m := range ms {
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		out = append(out, specs.Mount{
			Destination: m.Target,
			Type:        "bind",
			Source:      m.Source,
			Options:     []string{"rbind", mode, "nosuid", "nodev"},
		})
	}
	return out
}

// withCapabilities gives the process caps as its bounding, permitted and
// effective sets, and nothing inheritable or ambient.
func withCapabilities(caps []string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding:    slices.Clone(caps),
			Effective:   slices.Clone(caps),
			Permitted:   slices.Clone(caps),
			Inheritable: []string{},
			Ambient:     []string{},
		}
		return nil
	}
}

// withOOMScoreAdj sets the process's oom_score_adj, which runc writes
// before init runs.
func withOOMScoreAdj(score int) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		s.Process.OOMScoreAdj = &score
		return nil
	}
}

// withSyscallsAction removes names from every rule of the seccomp profile
// (set earlier) and adds one rule that gives them action (with errno for
// an errno action).
func withSyscallsAction(action specs.LinuxSeccompAction, errno *uint, names ...string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux == nil || s.Linux.Seccomp == nil {
			return fmt.Errorf("seccomp %s: no profile to add to", action)
		}
		sc := s.Linux.Seccomp
		rules := sc.Syscalls[:0]
		for _, r := range sc.Syscalls {
			r.Names = slices.DeleteFunc(slices.Clone(r.Names), func(n string) bool { return slices.Contains(names, n) })
			if len(r.Names) > 0 {
				rules = append(rules, r)
			}
		}
		sc.Syscalls = append(rules, specs.LinuxSyscall{
			Names:    slices.Clone(names),
			Action:   action,
			ErrnoRet: errno,
		})
		return nil
	}
}

// withSyscallsDenied makes names fail with EPERM.
func withSyscallsDenied(names ...string) oci.SpecOpts {
	errno := uint(unix.EPERM)
	return withSyscallsAction(specs.ActErrno, &errno, names...)
}

// readonlySysctls replace the runtime's read-only /proc/sys: every
// directory of it but kernel/, which init writes ns_last_pid in (with
// CAP_CHECKPOINT_RESTORE). Writing a kernel sysctl takes a capability
// package code never has, and the files are root's.
var readonlySysctls = []string{"/proc/sys/abi", "/proc/sys/crypto", "/proc/sys/debug", "/proc/sys/dev",
	"/proc/sys/fs", "/proc/sys/net", "/proc/sys/user", "/proc/sys/vm"}

// withKernelSysctlsWritable replaces /proc/sys among the read-only paths
// with readonlySysctls.
func withKernelSysctlsWritable(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Linux == nil {
		return fmt.Errorf("sysctls: no linux section")
	}
	i := slices.Index(s.Linux.ReadonlyPaths, "/proc/sys")
	if i < 0 {
		return fmt.Errorf("sysctls: /proc/sys is not read-only in the base spec")
	}
	s.Linux.ReadonlyPaths = slices.Concat(s.Linux.ReadonlyPaths[:i], readonlySysctls, s.Linux.ReadonlyPaths[i+1:])
	return nil
}
