package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/fumehood/fumehood/bpf"
	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/sandbox"
	"github.com/fumehood/fumehood/sandbox/sinkhole"
)

// ErrNotReady is returned when this machine cannot run analyses: not root,
// containerd down, image not imported, probes not loadable.
var ErrNotReady = errors.New("machine not ready")

// MachineConfig says where the machine's services are.
type MachineConfig struct {
	Containerd string // socket address
	StateDir   string // workspaces and network namespaces
	NoNetwork  bool   // loopback only instead of the sinkhole
	// CacheDir keeps the sandbox image's node and npm copied out for the
	// host (default sandbox.DefaultCacheDir, where images are built).
	CacheDir string
}

// Machine is the loaded sandbox, tracer and rules of one process: load it
// once, analyse many packages, Close it.
type Machine struct {
	*Pipeline
	sandbox *sandbox.Sandbox
	tracer  *bpf.Tracer
}

// Open connects to containerd, removes what crashed earlier runs left,
// checks the image, copies its node and npm out for resolving npm
// dependencies on the host (cfg.Ecosystem.NPM), loads the probes and the
// builtin rules.
func Open(ctx context.Context, mc MachineConfig, cfg Config) (m *Machine, retErr error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: analyses need root (containerd, eBPF, network namespaces)", ErrNotReady)
	}
	rs, err := rules.Default()
	if err != nil {
		return nil, err
	}
	sb, err := sandbox.New(ctx, sandbox.Config{Address: mc.Containerd, Image: cfg.Image, StateDir: mc.StateDir, WorkRoot: cfg.WorkDir, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("%w: containerd at %s: %w (is it running? deploy/setup.sh starts it)", ErrNotReady, mc.Containerd, err)
	}
	machine := &Machine{sandbox: sb}
	defer func() {
		if retErr != nil {
			machine.Close()
		}
	}()
	// A leftover that cannot be removed now is not worth refusing work
	// for: the next start tries again, and a run that reuses its id
	// clears it first.
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := sb.Reap(ctx); err != nil {
		log.WarnContext(ctx, "leftovers of earlier runs remain", "err", err)
	}
	if err := sinkhole.Reap(mc.StateDir); err != nil {
		log.WarnContext(ctx, "leftover networks of earlier runs remain", "err", err)
	}
	ok, err := sb.HasImage(ctx, cfg.Image)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: sandbox image %s is not imported; run `fumehood image build`", ErrNotReady, cfg.Image)
	}
	if mc.CacheDir == "" {
		mc.CacheDir = sandbox.DefaultCacheDir
	}
	rt, err := hostRuntime(ctx, sb, mc.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	nodeVersion, err := rt.NodeVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: the sandbox image's node on the host: %w", ErrNotReady, err)
	}
	cfg.Ecosystem.NPM = rt
	machine.tracer, err = bpf.Load(bpf.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("%w: load eBPF probes: %w", ErrNotReady, err)
	}
	var network Network
	if !mc.NoNetwork {
		network = Sinkholes{StateDir: mc.StateDir, Logger: cfg.Logger}
	}
	machine.Pipeline = New(cfg, sb, BPFTracer{Tracer: machine.tracer}, network, rs)
	machine.Pipeline.nodeVersion = nodeVersion
	return machine, nil
}

// Close unloads the probes and disconnects from containerd.
func (m *Machine) Close() error {
	var errs []error
	if m.tracer != nil {
		errs = append(errs, m.tracer.Close())
	}
	errs = append(errs, m.sandbox.Close())
	return errors.Join(errs...)
}
