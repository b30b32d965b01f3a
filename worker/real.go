package worker

import (
	"context"
	"log/slog"

	"github.com/fumehood/fumehood/bpf"
	"github.com/fumehood/fumehood/sandbox/sinkhole"
)

// BPFTracer adapts a loaded bpf.Tracer to Tracer.
type BPFTracer struct{ *bpf.Tracer }

// Watch implements Tracer.
func (b BPFTracer) Watch(cgroupID uint64) (Recording, error) {
	r, err := b.Tracer.Watch(cgroupID)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Sinkholes starts a sinkhole network with a fresh CA per analysis.
type Sinkholes struct {
	StateDir string
	Logger   *slog.Logger
}

// Start implements Network.
func (s Sinkholes) Start(ctx context.Context, name string) (Sinkhole, error) {
	ca, err := sinkhole.NewCA()
	if err != nil {
		return nil, err
	}
	if len(name) > 8 {
		name = name[:8]
	}
	sh, err := sinkhole.Start(ctx, sinkhole.Config{Name: name, StateDir: s.StateDir, CA: ca, Logger: s.Logger})
	if err != nil {
		return nil, err
	}
	return withCA{sh, ca}, nil
}

type withCA struct {
	*sinkhole.Sinkhole
	ca *sinkhole.CA
}

func (w withCA) CACertPEM() []byte { return w.ca.CertPEM() }
