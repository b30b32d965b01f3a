// Package leftovers lists what analyses may leave behind on a machine —
// containers, active snapshots, cgroups, workspaces, work directories
// (downloads), network namespaces and mounts — so tests can assert that a run, or a crash followed by the next
// start, leaves none.
package leftovers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/fumehood/fumehood/sandbox"
)

// Namespace is the containerd namespace fumehood works in.
const Namespace = "fumehood"

// Find returns one line per leftover: containers and active snapshots in
// containerd at addr, cgroup dirs, entries and mounts under stateDir, and
// entries under workRoot (the runs' work directories; "" to skip).
// What a living process outside this one's descendants owns (another
// program's run in progress, sharing containerd) is not a leftover of ours.
func Find(ctx context.Context, addr, stateDir, workRoot string) ([]string, error) {
	c, err := containerd.New(addr)
	if err != nil {
		return nil, fmt.Errorf("containerd: %w", err)
	}
	defer c.Close()
	ctx = namespaces.WithNamespace(ctx, Namespace)
	var out []string
	cs, err := c.Containers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	elsewhere := map[string]bool{}
	for _, ct := range cs {
		labels, err := ct.Labels(ctx)
		if err != nil {
			continue // removed meanwhile
		}
		if sandbox.OwnedElsewhere(labels) {
			elsewhere[ct.ID()] = true
			continue
		}
		out = append(out, "container "+ct.ID())
	}
	err = c.SnapshotService("overlayfs").Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		if info.Kind != snapshots.KindCommitted && !sandbox.OwnedElsewhere(info.Labels) {
			out = append(out, "snapshot "+info.Name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk snapshots: %w", err)
	}
	ents, _ := os.ReadDir(filepath.Join("/sys/fs/cgroup/unified", Namespace))
	for _, e := range ents {
		if e.IsDir() && !elsewhere[e.Name()] {
			out = append(out, "cgroup "+e.Name())
		}
	}
	for _, sub := range []string{"ws", "netns", "root"} {
		ents, _ := os.ReadDir(filepath.Join(stateDir, sub))
		for _, e := range ents {
			out = append(out, sub+" "+e.Name())
		}
	}
	if workRoot != "" {
		ents, _ := os.ReadDir(workRoot)
		for _, e := range ents {
			out = append(out, "work "+e.Name())
		}
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		// The netns directory itself stays a shared mount, as ip-netns
		// leaves /run/netns; what is mounted inside it is a leftover.
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], stateDir+"/") && f[4] != filepath.Join(stateDir, "netns") {
			out = append(out, "mount "+f[4])
		}
	}
	return out, nil
}

// Running returns the id of an analysis whose workspace is under stateDir
// and whose container exists: the worker owning stateDir is mid-analysis.
// It returns "" when there is none.
func Running(ctx context.Context, addr, stateDir string) (string, error) {
	left, err := Find(ctx, addr, stateDir, "")
	if err != nil {
		return "", err
	}
	for _, l := range left {
		id, ok := strings.CutPrefix(l, "ws ")
		if ok && slices.ContainsFunc(left, func(c string) bool { return strings.HasPrefix(c, "container "+id+"-") }) {
			return id, nil
		}
	}
	return "", nil
}
