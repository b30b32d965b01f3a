package sandbox

import (
	"context"
	"fmt"
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

// initScript is the container's init (pid 1 of its pid namespace), run
// by /bin/sh with the phase's command as its arguments. It runs the
// command as its child (a subshell that execs it), stdout and stderr both
// on init's stdout and without the report descriptor; reports the
// command's exit status on its own stderr (exitReport), its own messages
// ("Killed") going nowhere; and then stays: the kernel kills a pid
// namespace with its init, and what the command left running must live on
// to be observed. Programs are named by absolute path: the package may put
// its own `sleep` on the PATH.
const initScript = `exec 3>&2 2>/dev/null; (exec 2>&1 3>&-; exec "$@"); echo $? >&3; exec 3>&-; exec /bin/sleep infinity`

// specOpts is the hardened spec of a phase's container; its process is
// initScript running the phase's command.
func specOpts(p Phase, uid, gid uint32) []oci.SpecOpts {
	opts := []oci.SpecOpts{
		oci.WithProcessArgs(append([]string{"/bin/sh", "-c", initScript, "sh"}, p.Args...)...),
		oci.WithEnv(withPath(p.Env)),
		oci.WithProcessCwd(p.Cwd),
		oci.WithUIDGID(uid, gid),
		withoutCapabilities,
		oci.WithNoNewPrivileges,
		seccomp.WithDefaultProfile(),
		withSyscallsDenied(deniedSyscalls...),
		oci.WithRootFSReadonly(),
		oci.WithHostname(p.Hostname),
		oci.WithMounts(bindMounts(p.Mounts)),
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

// withoutCapabilities empties every capability set.
func withoutCapabilities(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Process == nil {
		s.Process = &specs.Process{}
	}
	s.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding:    []string{},
		Effective:   []string{},
		Inheritable: []string{},
		Permitted:   []string{},
		Ambient:     []string{},
	}
	return nil
}

// withSyscallsDenied removes names from every rule of the seccomp profile
// (set earlier) and adds one rule that makes them fail with EPERM.
func withSyscallsDenied(names ...string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux == nil || s.Linux.Seccomp == nil {
			return fmt.Errorf("deny syscalls: no seccomp profile to add to")
		}
		sc := s.Linux.Seccomp
		rules := sc.Syscalls[:0]
		for _, r := range sc.Syscalls {
			r.Names = slices.DeleteFunc(slices.Clone(r.Names), func(n string) bool { return slices.Contains(names, n) })
			if len(r.Names) > 0 {
				rules = append(rules, r)
			}
		}
		errno := uint(unix.EPERM)
		sc.Syscalls = append(rules, specs.LinuxSyscall{
			Names:    slices.Clone(names),
			Action:   specs.ActErrno,
			ErrnoRet: &errno,
		})
		return nil
	}
}
