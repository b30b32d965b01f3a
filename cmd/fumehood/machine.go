package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/fumehood/fumehood/deploy"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/sandbox"
	"github.com/fumehood/fumehood/worker"
)

// machineOpts are the flags of commands that run the sandbox.
type machineOpts struct {
	containerd, data, state, image string
	cache                          string
	timeout, grace                 time.Duration
	memory, disk                   int64
	cpus                           float64
	pids                           int64
	noNetwork                      bool
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// registerData registers --data, the data directory.
func registerData(fs *flag.FlagSet, data *string) {
	fs.StringVar(data, "data", envOr("FUMEHOOD_DATA", "/var/lib/fumehood"), "data `dir` for downloads and the store (FUMEHOOD_DATA)")
}

func (o *machineOpts) register(fs *flag.FlagSet) {
	d := worker.DefaultConfig()
	fs.StringVar(&o.containerd, "containerd", envOr("FUMEHOOD_CONTAINERD", "/run/containerd/containerd.sock"), "containerd socket `address` (FUMEHOOD_CONTAINERD)")
	registerData(fs, &o.data)
	fs.StringVar(&o.state, "state", "/run/fumehood", "runtime state `dir`: workspaces, network namespaces")
	fs.StringVar(&o.cache, "cache", envOr("FUMEHOOD_CACHE", sandbox.DefaultCacheDir), "`dir` of the image cache, where the image's node and npm are copied out for the host (FUMEHOOD_CACHE)")
	fs.StringVar(&o.image, "image", sandbox.ImageRef(deploy.ImageRecipe), "sandbox image `ref`")
	fs.DurationVar(&o.timeout, "timeout", d.PhaseTimeout, "wall-clock limit of each phase")
	fs.DurationVar(&o.grace, "grace", d.Grace, "how long a phase waits for processes left running after its command ends")
	fs.Int64Var(&o.memory, "memory", d.Limits.MemoryBytes, "memory limit of each phase, in `bytes`")
	fs.Int64Var(&o.pids, "pids", d.Limits.Pids, "process limit of each phase")
	fs.Float64Var(&o.cpus, "cpus", d.Limits.CPUs, "CPU limit of each phase, in CPUs ("+sandbox.CPUsEnv+")")
	fs.Int64Var(&o.disk, "disk", d.WorkspaceBytes, "size of the writable home and /tmp together, in `bytes`")
	fs.BoolVar(&o.noNetwork, "no-network", false, "loopback only instead of the sinkhole network")
}

// open opens the analysis machine; earlier, when not nil, finds the
// analysis each package version is compared with (worker.Config.Earlier).
func (o *machineOpts) open(ctx context.Context, log *slog.Logger, earlier worker.Earlier) (*worker.Machine, error) {
	if v := os.Getenv(sandbox.CPUsEnv); v != "" {
		if _, err := sandbox.ParseCPUs(v); err != nil {
			return nil, fmt.Errorf("%s: %w", sandbox.CPUsEnv, err)
		}
	}
	if !(o.cpus > 0) || math.IsInf(o.cpus, 0) {
		return nil, fmt.Errorf("--cpus %v: want a positive number of CPUs", o.cpus)
	}
	eco, err := ecosystem.DefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	cfg := worker.DefaultConfig()
	cfg.Ecosystem = eco
	cfg.WorkDir = filepath.Join(o.data, "work")
	cfg.Image = o.image
	cfg.PhaseTimeout, cfg.Grace = o.timeout, o.grace
	cfg.Limits.MemoryBytes, cfg.Limits.Pids, cfg.Limits.CPUs = o.memory, o.pids, o.cpus
	cfg.WorkspaceBytes = o.disk
	cfg.Logger, cfg.Earlier = log, earlier
	return worker.Open(ctx, worker.MachineConfig{Containerd: o.containerd, StateDir: o.state, CacheDir: o.cache, NoNetwork: o.noNetwork}, cfg)
}
