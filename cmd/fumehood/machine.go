package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fumehood/fumehood/bpf"
	"github.com/fumehood/fumehood/deploy"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/sandbox"
	"github.com/fumehood/fumehood/sandbox/sinkhole"
	"github.com/fumehood/fumehood/worker"
)

// machineOpts are the flags of commands that run the sandbox.
type machineOpts struct {
	containerd, data, state, image string
	timeout, grace                 time.Duration
	memory, disk                   int64
	pids                           int64
	noNetwork                      bool
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func (o *machineOpts) register(fs *flag.FlagSet) {
	d := worker.DefaultConfig()
	fs.StringVar(&o.containerd, "containerd", envOr("FUMEHOOD_CONTAINERD", "/run/containerd/containerd.sock"), "containerd socket `address` (FUMEHOOD_CONTAINERD)")
	fs.StringVar(&o.data, "data", envOr("FUMEHOOD_DATA", "/var/lib/fumehood"), "data `dir` for downloads and the store (FUMEHOOD_DATA)")
	fs.StringVar(&o.state, "state", "/run/fumehood", "runtime state `dir`: workspaces, network namespaces")
	fs.StringVar(&o.image, "image", sandbox.ImageRef(deploy.ImageRecipe), "sandbox image `ref`")
	fs.DurationVar(&o.timeout, "timeout", d.PhaseTimeout, "wall-clock limit of each phase")
	fs.DurationVar(&o.grace, "grace", d.Grace, "how long a phase waits for processes left running after its command ends")
	fs.Int64Var(&o.memory, "memory", d.Limits.MemoryBytes, "memory limit of each phase, in `bytes`")
	fs.Int64Var(&o.pids, "pids", d.Limits.Pids, "process limit of each phase")
	fs.Int64Var(&o.disk, "disk", d.WorkspaceBytes, "size of the writable home and /tmp together, in `bytes`")
	fs.BoolVar(&o.noNetwork, "no-network", false, "loopback only instead of the sinkhole network")
}

// machine is the loaded sandbox, tracer and rules.
type machine struct {
	sandbox  *sandbox.Sandbox
	tracer   *bpf.Tracer
	pipeline *worker.Pipeline
}

var errNotReady = errors.New("machine not ready")

func (o *machineOpts) open(ctx context.Context, log *slog.Logger) (m *machine, retErr error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: fumehood analyze needs root (containerd, eBPF, network namespaces)", errNotReady)
	}
	rs, err := rules.Builtin()
	if err != nil {
		return nil, err
	}
	eco, err := ecosystem.DefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	sb, err := sandbox.New(ctx, sandbox.Config{Address: o.containerd, Image: o.image, StateDir: o.state, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w: containerd at %s: %w (is containerd running? `make setup` starts it)", errNotReady, o.containerd, err)
	}
	m = &machine{sandbox: sb}
	defer func() {
		if retErr != nil {
			m.Close()
		}
	}()
	if err := sb.Reap(ctx); err != nil {
		return nil, fmt.Errorf("reap leftovers: %w", err)
	}
	if err := sinkhole.Reap(o.state); err != nil {
		return nil, fmt.Errorf("reap leftover networks: %w", err)
	}
	ok, err := sb.HasImage(ctx, o.image)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: sandbox image %s is not imported; run `fumehood image build`", errNotReady, o.image)
	}
	m.tracer, err = bpf.Load(bpf.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w: load eBPF probes: %w", errNotReady, err)
	}
	cfg := worker.DefaultConfig()
	cfg.Ecosystem = eco
	cfg.WorkDir = filepath.Join(o.data, "work")
	cfg.Image = o.image
	cfg.PhaseTimeout, cfg.Grace = o.timeout, o.grace
	cfg.Limits.MemoryBytes, cfg.Limits.Pids = o.memory, o.pids
	cfg.WorkspaceBytes = o.disk
	cfg.Logger = log
	var network worker.Network
	if !o.noNetwork {
		network = worker.Sinkholes{StateDir: o.state, Logger: log}
	}
	m.pipeline = worker.New(cfg, sb, worker.BPFTracer{Tracer: m.tracer}, network, rs)
	return m, nil
}

func (m *machine) Close() error {
	var errs []error
	if m.tracer != nil {
		errs = append(errs, m.tracer.Close())
	}
	errs = append(errs, m.sandbox.Close())
	return errors.Join(errs...)
}
