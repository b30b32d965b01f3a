package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/honeytoken"
	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/sandbox"
	"github.com/fumehood/fumehood/trace"
)

// Sandbox runs phases in containers (sandbox.Sandbox).
type Sandbox interface {
	NewWorkspace(id string, sizeBytes int64) (*sandbox.Workspace, error)
	NewWorkDir(id string) (*sandbox.WorkDir, error)
	Run(ctx context.Context, p sandbox.Phase, beforeMain func(cgroupID uint64) error) (sandbox.Result, error)
}

// Tracer records the processes of one cgroup.
type Tracer interface {
	Watch(cgroupID uint64) (Recording, error)
	Probes() []string
}

// Recording is one cgroup's recording; Stop ends it and returns its events.
type Recording interface {
	Stop() ([]trace.Event, error)
}

// Network gives each analysis its own sinkhole network.
type Network interface {
	Start(ctx context.Context, name string) (Sinkhole, error)
}

// Sinkhole is one analysis's network: the namespace its containers join,
// the resolver they use, the CA they trust, and what it captured in each
// phase (Take: the captures since the last Take, within the phase's
// budgets).
type Sinkhole interface {
	NetNSPath() string
	ResolvConf() string
	CACertPEM() []byte
	Take() []trace.Event
	Close() error
}

// Config is how the pipeline runs an analysis.
type Config struct {
	Ecosystem ecosystem.Config
	// WorkDir holds per-analysis downloads (sandbox.Config.WorkRoot); each
	// analysis removes its own, and the sandbox reaps those of dead runs.
	WorkDir        string
	Image          string
	Limits         sandbox.Limits
	WorkspaceBytes int64
	PhaseTimeout   time.Duration
	// Grace is how long what a phase's command leaves running is
	// observed after it exits, then killed.
	Grace time.Duration
	// NoSession skips the session phase (see session.go).
	NoSession bool
	// OutputBytes bounds the output kept per phase.
	OutputBytes int
	// Earlier finds the analysis each package version is compared with
	// before it is judged (trace.Previous); nil compares none.
	Earlier Earlier
	Logger  *slog.Logger
}

// DefaultConfig returns the limits documented in README.md; the CPU limit is
// sandbox.DefaultCPUs.
func DefaultConfig() Config {
	return Config{
		WorkDir: "/var/lib/fumehood/work",
		// The workspace is a tmpfs whose pages count against the phase's
		// memory, so the memory limit leaves room for a full workspace:
		// a disk filler meets ENOSPC, not the OOM killer.
		Limits:         sandbox.Limits{MemoryBytes: 2 << 30, Pids: 512, CPUs: sandbox.DefaultCPUs()},
		WorkspaceBytes: 1 << 30,
		PhaseTimeout:   3 * time.Minute,
		Grace:          30 * time.Second,
		OutputBytes:    16 << 10,
	}
}

// Pipeline analyses packages.
type Pipeline struct {
	cfg     Config
	sandbox Sandbox
	tracer  Tracer
	network Network // nil: loopback only
	rules   *rules.Set
	log     *slog.Logger
	// nodeVersion is the sandbox image's node version (Open sets it):
	// plant lays node-gyp's header cache out for it.
	nodeVersion string
}

// New returns a pipeline. network may be nil: the containers then get a
// network namespace with loopback only.
func New(cfg Config, sb Sandbox, tr Tracer, network Network, rs *rules.Set) *Pipeline {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Pipeline{cfg: cfg, sandbox: sb, tracer: tr, network: network, rules: rs, log: log}
}

// caPath is where the sandbox trusts the sinkhole's CA, as a company's
// root is installed on its laptops.
const caPath = "/usr/local/share/ca-certificates/corp-root.crt"

// Analyze runs one analysis of t from fetch to verdict under a new id.
func (p *Pipeline) Analyze(ctx context.Context, t ecosystem.Target) (*analysis.Analysis, error) {
	return p.AnalyzeWithID(ctx, uuid.NewString(), t)
}

// AnalyzeWithID runs one analysis of t under id (a uuid the caller
// stored), from fetch to verdict.
func (p *Pipeline) AnalyzeWithID(ctx context.Context, id string, t ecosystem.Target) (*analysis.Analysis, error) {
	if err := uuid.Validate(id); err != nil {
		return nil, fmt.Errorf("analysis id %q: %w", id, err)
	}
	a := &analysis.Analysis{ID: id, Started: time.Now().UTC()}
	log := p.log.With("analysis", a.ID)
	// A run of this id that was killed (a re-delivered farm task) left
	// its downloads there; NewWorkDir starts afresh.
	wd, err := p.sandbox.NewWorkDir(a.ID)
	if err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	defer wd.Close()
	dir := wd.Dir

	art, err := ecosystem.Fetch(ctx, p.cfg.Ecosystem, t, dir)
	if err != nil {
		return nil, err
	}
	a.Package = analysis.Package{Ecosystem: art.Ecosystem, Name: ecosystem.CanonicalName(art.Ecosystem, art.Name), Version: art.Version, Digest: art.Digest}
	log.InfoContext(ctx, "fetched", "package", a.Package)

	ws, err := p.sandbox.NewWorkspace(a.ID, p.cfg.WorkspaceBytes)
	if err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	defer ws.Close()
	persona, err := drawPersona(rand.Reader)
	if err != nil {
		return nil, err
	}
	dev := developer{Persona: persona, uid: ws.UID()}
	hostHome := ws.Home()
	layout, err := p.plant(ctx, art, hostHome, dev)
	if err != nil {
		return nil, err
	}

	mounts := []sandbox.Mount{
		{Source: hostHome, Target: dev.Home()},
		{Source: ws.Tmp(), Target: "/tmp"},
	}
	var files []sandbox.File
	env := dev.baseEnv()
	hs, err := honeytoken.Generate(rand.Reader, dev.Profile(hostOf(p.cfg.Ecosystem.NPMRegistry)))
	if err != nil {
		return nil, err
	}
	if err := writeFiles(hostHome, hs.Files, dev.uid); err != nil {
		return nil, err
	}
	env = append(env, hs.Env...)
	var tokenVars []string
	for _, tok := range hs.Tokens {
		if name, ok := strings.CutPrefix(tok.Where, trace.PlantEnv); ok {
			tokenVars = append(tokenVars, name)
		}
	}
	hostEnviron := filepath.Join(ws.Dir, "environ")
	preload, nodeOptions, pth, err := environ(hostEnviron, tokenVars)
	if err != nil {
		return nil, err
	}
	mounts = append(mounts, preload)
	files = append(files, pth)
	env = append(env, nodeOptions)

	var netns string
	a.Sandbox = analysis.Sandbox{Image: p.cfg.Image, Probes: p.tracer.Probes(), Network: "loopback only", Persona: persona.Record(dev.uid)}
	var sink Sinkhole
	if p.network != nil {
		sink, err = p.network.Start(ctx, a.ID)
		if err != nil {
			return nil, fmt.Errorf("sinkhole: %w", err)
		}
		defer sink.Close()
		netns = sink.NetNSPath()
		a.Sandbox.Network = "sinkhole"
		resolv, err := os.ReadFile(sink.ResolvConf())
		if err != nil {
			return nil, fmt.Errorf("sinkhole: %w", err)
		}
		files = append(files, sandbox.File{Path: "/etc/resolv.conf", Data: resolv, Mode: 0o644})
		if pem := sink.CACertPEM(); len(pem) > 0 {
			files = append(files, caFiles(pem)...)
			env = append(env, "NODE_EXTRA_CA_CERTS="+caPath)
		}
	}

	tr := &trace.Trace{}
	planted, err := plantEvents(hs.Tokens, hostHome, dev.Home(), hostEnviron, a.Started)
	if err != nil {
		return nil, err
	}
	tr.Append("setup", planted)
	var cmds []ecosystem.Command
	scanRoots := []scanRoot{{hostHome, dev.Home()}, {ws.Tmp(), "/tmp"}}
	detonate := func(c ecosystem.Command) error {
		since := time.Now()
		info, ph, events, err := p.runPhase(ctx, a.ID, c, sandbox.Phase{
			Args: c.Argv, Env: append(slices.Clone(env), c.Env...), Cwd: c.Cwd,
			User: ws.User(), Account: dev.account(), Hostname: dev.Hostname,
			Mounts: mounts, Files: files, NetNS: netns,
		})
		if err != nil {
			return fmt.Errorf("phase %s: %w", c.Phase, err)
		}
		if sink != nil {
			events = mergeByTime(events, sink.Take())
		}
		ph.Events, ph.Lost = len(events), lost(events)
		found := scanChanged(scanRoots, since, hs.Tokens)
		tr.Append(c.Phase, found.readers) // before the events that ran them
		tr.Append(c.Phase, events)
		tr.Append(c.Phase, found.stashes)
		tr.Phases = append(tr.Phases, info)
		a.Phases = append(a.Phases, ph)
		log.InfoContext(ctx, "phase done", "phase", ph.Name, "exit", ph.ExitCode, "timed_out", ph.TimedOut, "events", ph.Events, "lost", ph.Lost)
		return nil
	}
	if art.Dynamic {
		mc, err := ecosystem.MetadataCommand(art, layout)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, mc)
		if err := detonate(mc); err != nil {
			return nil, err
		}
		if art, err = p.learnMetadata(ctx, art, layout, ws); err != nil {
			return nil, err
		}
		a.Package.Name, a.Package.Version = ecosystem.CanonicalName(art.Ecosystem, art.Name), art.Version
	}
	rest, err := ecosystem.Commands(art, layout)
	if err != nil {
		return nil, err
	}
	cmds = append(cmds, rest...)
	for _, c := range rest {
		if art.Dynamic {
			break // no metadata, no install: coverage says what did not run
		}
		if c.Phase == ecosystem.PhaseCI {
			c.Env = append(slices.Clone(c.Env), dev.ciEnv()...)
		}
		if err := detonate(c); err != nil {
			return nil, err
		}
	}
	if !p.cfg.NoSession {
		if err := detonate(dev.sessionCommand(layout)); err != nil {
			return nil, err
		}
	}

	if err := p.judge(ctx, a, cmds, tr); err != nil {
		return nil, err
	}
	a.Finished = time.Now().UTC()
	return a, nil
}

// judge tells what of a's package ran (cmds, of which a.Phases ran),
// compares it with its package's earlier version, judges tr and keeps it
// in a with its process table.
func (p *Pipeline) judge(ctx context.Context, a *analysis.Analysis, cmds []ecosystem.Command, tr *trace.Trace) error {
	a.Coverage = coverage(cmds, slices.DeleteFunc(slices.Clone(a.Phases), func(p analysis.Phase) bool { return p.Name == PhaseSession }), tr)
	var err error
	if tr.Previous, err = p.previous(ctx, a, cmds, tr); err != nil {
		return err
	}
	j := p.rules.Judge(tr)
	a.Verdict, a.Score, a.Hits, a.Rules = j.Verdict, j.Score, j.Hits, p.rules.Version()
	tr.Processes = j.Table.Processes()
	a.Trace = tr
	return nil
}

// runPhase runs one command in a fresh container while the tracer records
// it, and returns what the trace needs to know of the phase's processes
// and how it ended, with its events (survivors appended as alive events).
// The container's init is named in the trace's phase metadata (its events
// stay: the process table marks them runtime).
func (p *Pipeline) runPhase(ctx context.Context, id string, c ecosystem.Command, ph sandbox.Phase) (trace.PhaseInfo, analysis.Phase, []trace.Event, error) {
	out := newTail(p.cfg.OutputBytes)
	ph.ID = id + "-" + c.Phase
	ph.Limits = p.cfg.Limits
	ph.Timeout = p.cfg.PhaseTimeout
	ph.Grace = p.cfg.Grace
	ph.Output = out
	var rec Recording
	res, err := p.sandbox.Run(ctx, ph, func(cg uint64) error {
		r, err := p.tracer.Watch(cg)
		rec = r
		return err
	})
	var events []trace.Event
	if rec != nil {
		evs, serr := rec.Stop()
		events = evs
		err = errors.Join(err, serr)
	}
	if err != nil {
		return trace.PhaseInfo{}, analysis.Phase{}, nil, err
	}
	info := phaseInfo(c.Phase, res.InitPID, events)
	info.TimedOut = res.TimedOut
	now := time.Now()
	for _, s := range res.Survivors {
		events = append(events, trace.Event{Time: now, Kind: trace.KindAlive, TGID: uint32(s.PID), Comm: s.Comm, Path: s.Exe, Argv: s.Argv})
	}
	if res.InitDied {
		events = append(events, trace.Event{Time: now, Kind: trace.KindInitDied, ExitCode: int32(res.InitExit)})
	}
	return info, analysis.Phase{
		Name: c.Phase, Command: c.Argv, ExitCode: res.ExitCode, TimedOut: res.TimedOut, OOMKilled: res.OOMKilled,
		DurationMS: res.Duration.Milliseconds(), Survivors: len(res.Survivors), Output: out.String(),
		WatchedMS: res.Watched.Milliseconds(), InitDied: res.InitDied,
	}, events, nil
}

// lost returns what the tracer and the sinkhole dropped of events.
func lost(events []trace.Event) uint64 {
	var n uint64
	for i := range events {
		if events[i].Kind == trace.KindLost {
			n += events[i].Count
		}
	}
	return n
}

// phaseInfo names the phase's container init (host pid initPID; its start
// time from its first event, 0 when none was recorded) and the role of
// the command it runs: the package manager for an install and for pip's
// metadata step, the developer's tools (the same role, and its tools) for
// the session, package code for the phases that load the package
// in-process.
func phaseInfo(phase string, initPID int, events []trace.Event) trace.PhaseInfo {
	info := trace.PhaseInfo{Name: phase, Init: trace.ProcKey{TGID: uint32(initPID)}, Command: trace.RolePackageCode}
	switch phase {
	case ecosystem.PhaseInstall, ecosystem.PhaseMetadata, ecosystem.PhaseCI:
		info.Command = trace.RolePackageManager
	case PhaseSession:
		info.Command, info.Tools = trace.RolePackageManager, slices.Clone(sessionTools)
	}
	for i := range events {
		if events[i].TGID == info.Init.TGID {
			info.Init.Start = events[i].Start
			break
		}
	}
	return info
}

// mergeByTime merges two time-ordered event lists.
func mergeByTime(a, b []trace.Event) []trace.Event {
	if len(b) == 0 {
		return a // no capture: no copy of a flood of probe events
	}
	out := make([]trace.Event, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if b[j].Time.Before(a[i].Time) {
			out = append(out, b[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// tail keeps the last n bytes written to it.
type tail struct {
	n   int
	buf bytes.Buffer
}

func newTail(n int) *tail { return &tail{n: n} }

func (t *tail) Write(b []byte) (int, error) {
	t.buf.Write(b)
	if over := t.buf.Len() - t.n; over > 0 {
		t.buf.Next(over)
	}
	return len(b), nil
}

func (t *tail) String() string { return t.buf.String() }

var _ io.Writer = (*tail)(nil)
