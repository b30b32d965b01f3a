package sandbox

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseUser(t *testing.T) {
	tests := []struct {
		in       string
		uid, gid uint32
		wantErr  bool
	}{
		{in: "1000:1000", uid: 1000, gid: 1000},
		{in: "0:5", uid: 0, gid: 5},
		{in: "alex", wantErr: true},
		{in: "alex:alex", wantErr: true},
		{in: "1000", wantErr: true},
		{in: "-1:2", wantErr: true},
	}
	for _, tt := range tests {
		uid, gid, err := parseUser(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalidPhase) {
				t.Errorf("parseUser(%q): got err %v, want ErrInvalidPhase", tt.in, err)
			}
			continue
		}
		if err != nil || uid != tt.uid || gid != tt.gid {
			t.Errorf("parseUser(%q) = %d, %d, %v; want %d, %d, nil", tt.in, uid, gid, err, tt.uid, tt.gid)
		}
	}
}

// TestSpecHardening generates the spec of a phase (no containerd needed)
// and checks every hardening setting.
func TestSpecHardening(t *testing.T) {
	p := Phase{
		ID: "x", Hostname: "box", Args: []string{"npm", "install", "a,b:c"}, Cwd: "/home/alex/app", Env: []string{"HOME=/home/alex"},
		Mounts: []Mount{{Source: "/h", Target: "/home/alex"}, {Source: "/r", Target: "/ro", ReadOnly: true}},
		NetNS:  "/run/netns/n1",
		Limits: Limits{MemoryBytes: 64 << 20, Pids: 32, CPUs: 0.5},
	}
	ctx := namespaces.WithNamespace(context.Background(), "test")
	s, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: p.ID}, specOpts(p, 1000, 1001, true)...)
	if err != nil {
		t.Fatalf("GenerateSpec: %v", err)
	}
	// init: root with the capabilities to start the command as 1000:1001
	// and nothing else, never chosen by the OOM killer, its instructions
	// in its environment and not on its command line.
	if got := s.Process.User; got.UID != 0 || got.GID != 0 {
		t.Errorf("init user: got %d:%d, want 0:0", got.UID, got.GID)
	}
	if got, want := s.Process.Args, []string{"/sbin/init"}; !slices.Equal(got, want) {
		t.Errorf("init args: got %q, want %q", got, want)
	}
	wantEnv := []string{imagePath, "HOME=/home/alex", "PID1_EXEC=3:npm,7:install,5:a,b:c,", "PID1_USER=1000:1001", "PID1_CWD=/home/alex/app", "PID1_OOM=0"}
	env := s.Process.Env
	if n := len(env); n == 0 || !strings.HasPrefix(env[n-1], "PID1_PID=") {
		t.Errorf("init env: got %q, want PID1_PID last", env)
	} else if pid, err := strconv.Atoi(strings.TrimPrefix(env[n-1], "PID1_PID=")); err != nil || pid < minCommandPID || pid >= maxCommandPID {
		t.Errorf("init env: %s, want a pid in [%d, %d)", env[n-1], minCommandPID, maxCommandPID)
	} else {
		env = env[:n-1]
	}
	if !slices.Equal(env, wantEnv) {
		t.Errorf("init env: got %q, want %q", env, wantEnv)
	}
	c := s.Process.Capabilities
	wantCaps := []string{"CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_CHECKPOINT_RESTORE", "CAP_SYS_RESOURCE"}
	for name, set := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
		if !slices.Equal(set, wantCaps) {
			t.Errorf("%s capabilities: got %v, want %v", name, set, wantCaps)
		}
	}
	for name, set := range map[string][]string{"inheritable": c.Inheritable, "ambient": c.Ambient} {
		if len(set) != 0 {
			t.Errorf("%s capabilities: got %v, want none", name, set)
		}
	}
	if a := s.Process.OOMScoreAdj; a == nil || *a != -1000 {
		t.Errorf("init oom_score_adj: got %v, want -1000", a)
	}
	if !s.Process.NoNewPrivileges {
		t.Error("NoNewPrivileges: got false, want true")
	}
	if !s.Root.Readonly {
		t.Error("root readonly: got false, want true")
	}
	if s.Hostname != "box" {
		t.Errorf("hostname: got %q, want %q", s.Hostname, "box")
	}
	if slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys/net") {
		t.Errorf("read-only paths %q: want /proc/sys's directories but kernel/", s.Linux.ReadonlyPaths)
	}
	if len(s.Linux.MaskedPaths) == 0 || len(s.Linux.ReadonlyPaths) == 0 {
		t.Errorf("masked/readonly paths: got %d/%d, want the defaults", len(s.Linux.MaskedPaths), len(s.Linux.ReadonlyPaths))
	}
	r := s.Linux.Resources
	if got, want := *r.Memory.Limit, int64(64<<20); got != want {
		t.Errorf("memory limit: got %d, want %d", got, want)
	}
	if got, want := *r.Memory.Swap, int64(64<<20); got != want {
		t.Errorf("memory+swap limit: got %d, want %d", got, want)
	}
	if got, want := *r.Pids.Limit, int64(32); got != want {
		t.Errorf("pids limit: got %d, want %d", got, want)
	}
	if got, want := *r.CPU.Quota, int64(50_000); got != want {
		t.Errorf("cpu quota: got %d, want %d", got, want)
	}
	var netns string
	cgroupns := false
	for _, ns := range s.Linux.Namespaces {
		switch ns.Type {
		case specs.NetworkNamespace:
			netns = ns.Path
		case specs.CgroupNamespace:
			cgroupns = ns.Path == ""
		}
	}
	if netns != p.NetNS {
		t.Errorf("network namespace path: got %q, want %q", netns, p.NetNS)
	}
	if !cgroupns {
		t.Error("cgroup namespace: got none, want a new one")
	}
	var binds []string
	for _, m := range s.Mounts {
		if m.Type == "bind" {
			binds = append(binds, m.Destination+" "+m.Options[1])
		}
	}
	if want := []string{"/home/alex rw", "/ro ro"}; !slices.Equal(binds, want) {
		t.Errorf("bind mounts: got %q, want %q", binds, want)
	}

	sc := s.Linux.Seccomp
	if sc == nil || sc.DefaultAction != specs.ActErrno {
		t.Fatalf("seccomp: got %+v, want the default (deny by default) profile", sc)
	}
	for _, name := range deniedSyscalls {
		var actions []specs.LinuxSeccompAction
		for _, rule := range sc.Syscalls {
			if slices.Contains(rule.Names, name) {
				actions = append(actions, rule.Action)
			}
		}
		if want := []specs.LinuxSeccompAction{specs.ActErrno}; !slices.Equal(actions, want) {
			t.Errorf("seccomp rules for %s: got %v, want %v", name, actions, want)
		}
	}
}

// TestSpecUnguarded: where root lacks CAP_SYS_RESOURCE, init gets neither
// that capability nor an OOM score, and the command starts at 1000.
func TestSpecUnguarded(t *testing.T) {
	p := Phase{ID: "x", Args: []string{"true"}, Cwd: "/"}
	ctx := namespaces.WithNamespace(context.Background(), "test")
	s, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: p.ID}, specOpts(p, 1000, 1000, false)...)
	if err != nil {
		t.Fatalf("GenerateSpec: %v", err)
	}
	if got := s.Process.Capabilities.Permitted; !slices.Equal(got, initCaps) {
		t.Errorf("permitted capabilities: got %v, want %v", got, initCaps)
	}
	if s.Process.OOMScoreAdj != nil {
		t.Errorf("init oom_score_adj: got %d, want none", *s.Process.OOMScoreAdj)
	}
	if !slices.Contains(s.Process.Env, "PID1_OOM=1000") {
		t.Errorf("init env %q: want the command at PID1_OOM=1000", s.Process.Env)
	}
}

func TestSyscallsDeniedRemovesAllows(t *testing.T) {
	s := &oci.Spec{Linux: &specs.Linux{Seccomp: &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "io_uring_setup"}, Action: specs.ActAllow},
			{Names: []string{"io_uring_enter"}, Action: specs.ActAllow},
		},
	}}}
	if err := withSyscallsDenied(deniedSyscalls...)(context.Background(), nil, nil, s); err != nil {
		t.Fatal(err)
	}
	got := s.Linux.Seccomp.Syscalls
	if len(got) != 2 || !slices.Equal(got[0].Names, []string{"read"}) || got[1].Action != specs.ActErrno || !slices.Equal(got[1].Names, deniedSyscalls) {
		t.Errorf("rules: got %+v, want [read allowed] then io_uring_* denied", got)
	}
	if err := withSyscallsDenied("x")(context.Background(), nil, nil, &oci.Spec{}); err == nil {
		t.Error("deny without a seccomp profile: got nil error, want one")
	}
}

func TestSleepAgentRoutesSleeps(t *testing.T) {
	ctx := namespaces.WithNamespace(context.Background(), "test")
	s, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: "x"}, seccomp.WithDefaultProfile(), withSleepAgent("/run/x/sleep/x.sock"))
	if err != nil {
		t.Fatal(err)
	}
	sc := s.Linux.Seccomp
	if sc.ListenerPath != "/run/x/sleep/x.sock" {
		t.Errorf("listener path: got %q", sc.ListenerPath)
	}
	for _, r := range sc.Syscalls {
		for _, n := range sleepSyscalls {
			if slices.Contains(r.Names, n) && r.Action != specs.ActNotify {
				t.Errorf("%s: in a rule with action %s, want only %s", n, r.Action, specs.ActNotify)
			}
		}
	}
	if last := sc.Syscalls[len(sc.Syscalls)-1]; last.Action != specs.ActNotify || !slices.Equal(last.Names, sleepSyscalls) {
		t.Errorf("last rule: got %+v, want the sleeps notified", last)
	}
}
