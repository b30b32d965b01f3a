package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/report"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
)

// Earlier finds the stored analysis, with its trace, that a version of a
// package is compared with: that of its highest lower version
// (report.Earlier). It returns nil, nil, nil when there is none. The
// trace need hold only the plant events that open it: the comparison
// (report.NewScripts) reads the planted values alone.
type Earlier interface {
	Earlier(ctx context.Context, pkg analysis.Package) (*analysis.Analysis, *trace.Trace, error)
}

// StoreEarlier finds earlier versions in a farm's store and their traces
// in its blobs.
type StoreEarlier struct {
	Store  store.Store
	Blobs  store.Blobs
	Logger *slog.Logger
}

// Earlier implements Earlier. An earlier analysis whose trace is gone or
// does not decode is passed over (logged): it would fail every later
// version of the package otherwise. Store and blob failures are returned.
func (s StoreEarlier) Earlier(ctx context.Context, pkg analysis.Package) (*analysis.Analysis, *trace.Trace, error) {
	if pkg.Name == "" || pkg.Version == "" {
		return nil, nil, nil
	}
	recs, err := s.Store.Versions(ctx, pkg.Ecosystem, pkg.Name)
	if err != nil {
		return nil, nil, fmt.Errorf("earlier versions of %s: %w", pkg.Name, err)
	}
	rec := report.Earlier(recs, pkg.Ecosystem, pkg.Version)
	if rec == nil {
		return nil, nil, nil
	}
	r, err := s.Blobs.Get(ctx, rec.TraceDigest)
	if err == nil {
		var tr *trace.Trace
		tr, err = trace.DecodePlants(r)
		r.Close()
		if err == nil {
			return &rec.Analysis, tr, nil
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
	} else if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrDigest) {
		return nil, nil, fmt.Errorf("trace of earlier analysis %s: %w", rec.ID, err)
	}
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	log.WarnContext(ctx, "earlier version not compared: its trace is unreadable", "analysis", rec.ID, "version", rec.Package.Version, "err", err)
	return nil, nil, nil
}

// previous compares analysis a, whose trace tr is not judged yet and
// whose phases ran cmds, with the analysis of its package's earlier
// version, when the pipeline has a way to find one and there is one.
func (p *Pipeline) previous(ctx context.Context, a *analysis.Analysis, cmds []ecosystem.Command, tr *trace.Trace) (*trace.Previous, error) {
	if p.cfg.Earlier == nil {
		return nil, nil
	}
	return comparePrevious(ctx, p.cfg.Earlier, a, cmds, tr)
}

// comparePrevious compares analysis a, whose phases ran cmds and
// recorded tr, with the analysis e finds of its package's earlier
// version: the scripts new in a (report.NewScripts) and the processes
// that ran them. It returns nil when there is no earlier version.
func comparePrevious(ctx context.Context, e Earlier, a *analysis.Analysis, cmds []ecosystem.Command, tr *trace.Trace) (*trace.Previous, error) {
	ea, etr, err := e.Earlier(ctx, a.Package)
	if err != nil || ea == nil {
		return nil, err
	}
	prev := &trace.Previous{Analysis: ea.ID, Version: ea.Package.Version, NewScripts: report.NewScripts(ea, etr, a, tr)}
	prev.NewScriptProcs = scriptProcs(cmds, tr, prev.NewScripts)
	return prev, nil
}

// storedCommands rebuilds, from what a stored analysis a recorded (its
// coverage's scripts and its persona's project), the install scripts of
// its commands as far as scriptProcs needs them: one command per script,
// in its phase, with its package manager's Runs.
func storedCommands(a *analysis.Analysis) []ecosystem.Command {
	project := Persona{User: a.Sandbox.Persona.User, Project: a.Sandbox.Persona.Project}.ProjectDir()
	var cmds []ecosystem.Command
	for _, s := range slices.Concat(a.Coverage.Scripts, a.Coverage.CI) {
		cmds = append(cmds, ecosystem.Command{Phase: s.Phase,
			Scripts: []ecosystem.Script{ecosystem.ScriptOf(a.Package.Ecosystem, a.Package.Name, project, s.Name, s.Command)}})
	}
	return cmds
}
