package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/image-spec/identity"
)

const (
	// teardownTimeout bounds the cleanup of one container.
	teardownTimeout = 30 * time.Second
	// ioTimeout bounds the wait for the last output of a container's
	// init once it has ended.
	ioTimeout = 5 * time.Second
	// pollInterval is how often the grace period looks at cgroup.procs.
	pollInterval = 100 * time.Millisecond
	// defaultHostname is used when Phase.Hostname is empty, so the host's
	// own name never shows inside.
	defaultHostname = "localhost"
)

// Mount binds a host path into the container.
type Mount struct {
	Source, Target string
	ReadOnly       bool
}

// Limits are the container's resource limits; zero means no limit.
type Limits struct {
	MemoryBytes int64   // memory, swap included
	Pids        int64   // processes and threads
	CPUs        float64 // CPU time, in CPUs (CFS quota)
}

// CPUsEnv names the environment variable that sets the default CPU limit of
// a phase, in CPUs: e.g. 0.5 on a machine shared with other work, or to prove
// that the tests do not depend on the machine's speed (make test-slow).
const CPUsEnv = "FUMEHOOD_CPUS"

// ParseCPUs parses a CPU limit: a positive number of CPUs, e.g. "0.5".
func ParseCPUs(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("CPU limit %q: want a positive number of CPUs", s)
	}
	return v, nil
}

// DefaultCPUs is the default CPU limit of a phase: CPUsEnv's value when it
// holds a valid limit (commands report an invalid one), else one CPU.
func DefaultCPUs() float64 {
	if v, err := ParseCPUs(os.Getenv(CPUsEnv)); err == nil {
		return v
	}
	return 1
}

// Phase is one command to run in a fresh container.
type Phase struct {
	ID   string   // unique container id, e.g. "<analysis-id>-install"
	Args []string // the main command
	Env  []string // its environment; PATH is added if missing
	Cwd  string   // its working directory, default "/"
	// User is the command's "uid:gid", numeric and not root (a
	// Workspace's User); "" runs it as a uid slot claimed for the run.
	User     string
	Account  Account // names User in /etc/passwd and /etc/group; zero: no entry
	Hostname string  // default "localhost"
	Mounts   []Mount
	Files    []File        // written into the container's root filesystem
	NetNS    string        // path of a network namespace to join; "" = a new one with loopback only
	Limits   Limits        //
	Timeout  time.Duration // wall clock for the whole phase, then everything is killed
	Grace    time.Duration // after the main command exits, wait this long for the rest, then kill
	Output   io.Writer     // stdout+stderr of the main command (caller bounds it); nil discards
}

// Result is how a phase ended.
type Result struct {
	ExitCode  int  // of the main command; 128+n if killed by signal n; -1 if unknown
	TimedOut  bool // the phase's Timeout elapsed before its processes were done
	OOMKilled bool // the OOM killer killed a process of the container
	// Duration runs from the main command's start to the kill of what was left.
	Duration time.Duration
	// Watched is how long what the command left running was observed
	// after it exited (at most Phase.Grace); 0 when it left nothing.
	Watched time.Duration
	// Survivors are the processes alive when the container was killed,
	// excluding its init; the main command too if it was still running.
	Survivors []Survivor
	// InitPID is the host pid of the container's own init (/sbin/init),
	// whose doings (starting the command, waiting, its kill at teardown)
	// are not the package's.
	InitPID int
	// InitDied is set when init ended before the command did: the
	// observation was cut short (init is out of the package's reach, so
	// this is an attack on the sandbox or a fault of the machine).
	// InitExit is then init's status (128+n for signal n).
	InitDied bool
	InitExit int
}

// Survivor is a process found alive at the end of a phase, read from /proc
// before the kill. PID is the host pid.
type Survivor struct {
	PID       int
	Comm, Exe string
	Argv      []string
}

// Run creates the container from a fresh snapshot of the image, runs the
// phase, tears it all down (Kill → wait → task.Delete →
// container.Delete(WithSnapshotCleanup)) on a detached context, and returns
// how it ended. beforeMain, if not nil, is called with the container's
// cgroup id after its task is created and before it starts. A command that
// times out, crashes, or hits a limit is a Result, not an error; errors are
// for infrastructure failures (containerd down, image missing, beforeMain
// failing...) and for ctx being cancelled.
func (s *Sandbox) Run(ctx context.Context, p Phase, beforeMain func(cgroupID uint64) error) (res Result, retErr error) {
	res.ExitCode = -1
	if err := checkID(p.ID); err != nil {
		return res, fmt.Errorf("run: %w", err)
	}
	if len(p.Args) == 0 || p.Timeout <= 0 {
		return res, fmt.Errorf("run %s: %w: needs Args and a positive Timeout", p.ID, ErrInvalidPhase)
	}
	if p.User == "" {
		slot, err := claimUID(uidLockDir)
		if err != nil {
			return res, fmt.Errorf("run %s: %w", p.ID, err)
		}
		defer slot.release()
		p.User = fmt.Sprintf("%d:%d", slot.UID, slot.UID)
	}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	if p.Hostname == "" {
		p.Hostname = defaultHostname
	}
	if p.Output == nil {
		p.Output = io.Discard
	}
	uid, gid, err := parseUser(p.User)
	if err == nil && p.Account.Name != "" {
		err = p.Account.check()
	}
	if err != nil {
		return res, fmt.Errorf("run %s: %w", p.ID, err)
	}
	if err := s.claim("run", p.ID); err != nil {
		return res, fmt.Errorf("run: %w", err)
	}
	defer s.release("run", p.ID)

	ctx = s.nsCtx(ctx)
	log := s.log.With("run", p.ID)
	img, err := s.client.GetImage(ctx, s.image)
	if errdefs.IsNotFound(err) {
		return res, fmt.Errorf("run %s: %w: %s", p.ID, ErrImageNotFound, s.image)
	}
	if err != nil {
		return res, fmt.Errorf("run %s: %w", p.ID, err)
	}
	if err := s.clearAbandoned(ctx, p.ID); err != nil {
		return res, fmt.Errorf("run %s: %w", p.ID, err)
	}
	labels := s.owner.labels()
	diffIDs, err := img.RootFS(ctx)
	if err != nil {
		return res, fmt.Errorf("run %s: %w", p.ID, err)
	}
	root := filepath.Join(s.rootsDir(), p.ID)
	sleeps, err := listenSleeps(s.sleepsDir(), p.ID, log)
	if err != nil {
		return res, fmt.Errorf("run %s: %w", p.ID, err)
	}
	defer sleeps.close()
	ctr, err := s.client.NewContainer(ctx, p.ID,
		client.WithContainerLabels(labels),
		client.WithNewSpec(append(specOpts(p, uid, gid, s.oomGuard), oci.WithRootFSPath(root), withSleepAgent(sleeps.path))...),
	)
	if err != nil {
		return res, fmt.Errorf("run %s: create container: %w", p.ID, err)
	}

	// Waits outlive ctx: teardown must still see the exits.
	waitCtx, stopWaits := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWaits()
	sn := s.client.SnapshotService(snapshotter)
	r := &running{ctr: ctr, log: log}
	defer func() {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
		defer cancel()
		oom, err := r.teardown(tctx, sn)
		res.OOMKilled = oom > 0
		retErr = errors.Join(retErr, err)
	}()
	// The container's root: a fresh snapshot of the image, mounted here
	// (see mountRoot) with the phase's files in it. No container refers
	// to the snapshot, so it is a root for containerd's garbage
	// collector; Reap removes one a crash left, by its owner labels.
	if _, err := sn.Prepare(ctx, p.ID, identity.ChainID(diffIDs).String(), snapshots.WithLabels(gcRoot(labels))); err != nil {
		return res, fmt.Errorf("run %s: prepare snapshot: %w", p.ID, err)
	}
	r.snapshot, r.root = p.ID, root
	if err := mountRoot(ctx, sn, p.ID, root); err != nil {
		return res, fmt.Errorf("run %s: %w", p.ID, err)
	}
	if err := seed(r.root, p, uid, gid); err != nil {
		return res, fmt.Errorf("run %s: %w", p.ID, err)
	}

	report := newExitReport()
	task, err := ctr.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, p.Output, report)))
	if err != nil {
		return res, fmt.Errorf("run %s: create task: %w", p.ID, err)
	}
	r.task = task
	if r.initExit, err = task.Wait(waitCtx); err != nil {
		return res, fmt.Errorf("run %s: %w", p.ID, err)
	}
	// The task is created, not started: its cgroup exists, nothing of the
	// phase has run yet.
	spec, err := ctr.Spec(ctx)
	if err != nil {
		return res, fmt.Errorf("run %s: %w", p.ID, err)
	}
	r.cgroup = spec.Linux.CgroupsPath
	cgDir := cgroupDirs(r.cgroup)[0]
	cgID, err := cgroupID(cgDir)
	if err != nil {
		return res, fmt.Errorf("run %s: %w", p.ID, err)
	}
	if beforeMain != nil {
		if err := beforeMain(cgID); err != nil {
			return res, fmt.Errorf("run %s: before main: %w", p.ID, err)
		}
	}

	phaseCtx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	start := time.Now()
	if err := task.Start(ctx); err != nil {
		return res, fmt.Errorf("run %s: start: %w", p.ID, err)
	}
	log.DebugContext(ctx, "phase started", "cgroup_id", cgID, "init_pid", task.Pid())

	exited := false
	select {
	case res.ExitCode = <-report.code:
		exited = true
		watch := time.Now()
		if r.awaitRest(phaseCtx, cgDir, task.Pid(), p.Grace) {
			res.Watched = time.Since(watch)
		}
	case st := <-r.initExit:
		// init reports before it could end; its stderr may still be in
		// flight: the copy ends with init's end.
		r.initExit, exited = nil, true
		waitIO(task.IO(), ioTimeout)
		select {
		case res.ExitCode = <-report.code:
		default:
			res.InitDied, res.InitExit = true, int(st.ExitCode())
			log.WarnContext(ctx, "init ended before the phase's command", "status", st.ExitCode())
		}
	case <-phaseCtx.Done():
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("run %s: %w", p.ID, err)
	}
	res.TimedOut = phaseCtx.Err() != nil
	res.InitPID = int(task.Pid())
	res.Survivors = survivors(cgDir, task.Pid())
	res.Duration = time.Since(start)

	kctx, kcancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer kcancel()
	if err := r.killAll(kctx); err != nil {
		return res, fmt.Errorf("run %s: %w", p.ID, err)
	}
	if !exited {
		res.ExitCode = 128 + int(syscall.SIGKILL) // killed with everything else
	}
	log.InfoContext(ctx, "phase done", "exit_code", res.ExitCode, "timed_out", res.TimedOut,
		"survivors", len(res.Survivors), "duration", res.Duration)
	return res, nil
}

// gcRoot returns labels with containerd's garbage-collection root label.
func gcRoot(labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	out["containerd.io/gc.root"] = time.Now().UTC().Format(time.RFC3339)
	return out
}

// waitIO waits until the task's output is copied, at most d.
func waitIO(io cio.IO, d time.Duration) {
	done := make(chan struct{})
	go func() {
		io.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// running is what teardown needs of a phase's container.
type running struct {
	ctr      client.Container
	task     client.Task
	initExit <-chan client.ExitStatus // nil once received
	cgroup   string                   // cgroups path, e.g. "/fumehood/<id>"
	snapshot string                   // the root's snapshot key, once prepared
	root     string                   // the root's mount point, once made
	log      *slog.Logger
}

// awaitRest polls the cgroup until only init is left, grace has elapsed,
// or ctx is done. It reports whether anything besides init was left.
func (r *running) awaitRest(ctx context.Context, cgDir string, initPID uint32, grace time.Duration) bool {
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for left := false; ; left = true {
		pids, err := cgroupProcs(cgDir)
		if err != nil || !slices.ContainsFunc(pids, func(p int) bool { return p != int(initPID) }) {
			return left
		}
		select {
		case <-deadline.C:
			return true
		case <-ctx.Done():
			return true
		case <-tick.C:
		}
	}
}

// survivors reads the processes of the cgroup other than init from /proc.
func survivors(cgDir string, initPID uint32) []Survivor {
	pids, _ := cgroupProcs(cgDir)
	var out []Survivor
	for _, pid := range pids {
		if pid == int(initPID) {
			continue
		}
		if sv, ok := readSurvivor(pid); ok {
			out = append(out, sv)
		}
	}
	return out
}

// killAll sends SIGKILL to every process of the task.
func (r *running) killAll(ctx context.Context) error {
	err := r.task.Kill(ctx, syscall.SIGKILL, client.WithKillAll)
	if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsFailedPrecondition(err) {
		return fmt.Errorf("kill: %w", err)
	}
	return nil
}

// teardown kills what is left, waits for init, reads the OOM kill count,
// and deletes the task, the root mount, the container and its snapshot.
func (r *running) teardown(ctx context.Context, sn snapshots.Snapshotter) (oom int, err error) {
	var errs []error
	if r.task != nil {
		if err := r.killAll(ctx); err != nil {
			errs = append(errs, err)
		}
		if r.initExit != nil {
			select {
			case <-r.initExit:
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("wait for init: %w", ctx.Err()))
			}
		}
		if r.cgroup != "" {
			if oom, err = oomKills(r.cgroup); err != nil {
				r.log.WarnContext(ctx, "no OOM count", "err", err)
			}
		}
		if _, err := r.task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete task: %w", err))
		}
	}
	if r.root != "" {
		if err := unmountRoot(r.root); err != nil {
			errs = append(errs, err)
		}
	}
	if err := r.ctr.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("delete container: %w", err))
	}
	if r.snapshot != "" {
		if err := sn.Remove(ctx, r.snapshot); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove snapshot: %w", err))
		}
	}
	if len(errs) > 0 {
		return oom, fmt.Errorf("teardown %s: %w", r.ctr.ID(), errors.Join(errs...))
	}
	return oom, nil
}

// exitReport reads what the container's init writes on its stderr: the
// exit status of the phase's command, one line of decimal digits (see
// deploy/image/init.c). Only init holds that pipe: the command's stderr is
// its stdout, and package code, under another uid than init's, cannot open
// /proc/1/fd.
type exitReport struct {
	mu   sync.Mutex
	line []byte
	done bool
	code chan int // receives the status once; -1 if the line is not a number
}

func newExitReport() *exitReport { return &exitReport{code: make(chan int, 1)} }

func (e *exitReport) Write(b []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return len(b), nil
	}
	e.line = append(e.line, b...)
	i := bytes.IndexByte(e.line, '\n')
	switch {
	case i >= 0:
		code, err := strconv.Atoi(string(e.line[:i]))
		if err != nil {
			code = -1
		}
		e.done = true
		e.code <- code
	case len(e.line) > 32:
		e.done = true
		e.code <- -1
	}
	return len(b), nil
}

// withPath returns env with the image's PATH added if it sets none.
func withPath(env []string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			return env
		}
	}
	return append([]string{imagePath}, env...)
}
