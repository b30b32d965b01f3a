package bpf

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Defaults of Options.
const (
	DefaultRingBytes = 8 << 20
	DefaultSlots     = 8
	DefaultMaxEvents = 1 << 20
	DefaultMaxBytes  = 96 << 20
)

// tracefsDir is where syscall tracepoints are resolved; Load mounts tracefs
// there when it is not mounted yet.
const tracefsDir = "/sys/kernel/tracing"

// Errors callers branch on.
var (
	// ErrNoSlot means every run slot is in use: Options.Slots recordings
	// are running.
	ErrNoSlot = errors.New("bpf: no free run slot")
	// ErrWatched means the cgroup is already being recorded.
	ErrWatched = errors.New("bpf: cgroup already watched")
	// ErrClosed means the Tracer was closed.
	ErrClosed = errors.New("bpf: tracer closed")
)

// Options configures Load.
type Options struct {
	// RingBytes is the size of each recording's ring buffer, rounded up to
	// a power of two of at least one page. Default DefaultRingBytes.
	RingBytes int
	// Slots is the number of concurrent recordings. Default DefaultSlots.
	Slots int
	// MaxEvents bounds the events one recording keeps in memory; events
	// beyond it are dropped and counted as lost. Default DefaultMaxEvents.
	MaxEvents int
	// MaxBytes bounds the memory one recording's events take (counted
	// with trace.Event.Size); no kind of event may take more than half of
	// it, so that a flood of one kind leaves room for the others. Events
	// beyond it are dropped and counted as lost, per kind. Default
	// DefaultMaxBytes.
	MaxBytes int
	// Logger receives load and attach messages. Default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.RingBytes <= 0 {
		o.RingBytes = DefaultRingBytes
	}
	size := os.Getpagesize()
	for size < o.RingBytes {
		size <<= 1
	}
	o.RingBytes = size
	if o.Slots <= 0 {
		o.Slots = DefaultSlots
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Tracer holds the loaded probes and their links. Keep it reachable until
// Close: the garbage collector detaches unreachable links.
type Tracer struct {
	opts     Options
	coll     *ebpf.Collection
	maps     probesMaps
	ringSpec *ebpf.MapSpec
	links    []link.Link
	probes   []string
	bootWall time.Time // wall clock at CLOCK_MONOTONIC zero
	ncpu     int
	mu       sync.Mutex
	slots    []*Recording // nil: free
	closed   bool
}

// Load loads and attaches every probe. Call it once per process; it needs
// root.
func Load(opts Options) (_ *Tracer, retErr error) {
	opts = opts.withDefaults()
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("bpf: remove memlock limit: %w", err)
	}
	if err := mountTracefs(); err != nil {
		return nil, err
	}
	spec, err := loadProbes()
	if err != nil {
		return nil, fmt.Errorf("bpf: load spec: %w", err)
	}
	rings := spec.Maps["rings"]
	rings.MaxEntries = uint32(opts.Slots)
	rings.InnerMap.MaxEntries = uint32(opts.RingBytes)
	spec.Maps["lost"].MaxEntries = uint32(opts.Slots)

	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("bpf: possible cpus: %w", err)
	}
	t := &Tracer{
		opts:     opts,
		ringSpec: rings.InnerMap.Copy(),
		bootWall: bootWall(),
		ncpu:     ncpu,
		slots:    make([]*Recording, opts.Slots),
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			opts.Logger.Debug("bpf: verifier rejected a probe", "log", fmt.Sprintf("%+v", ve))
		}
		return nil, fmt.Errorf("bpf: load objects: %w", err)
	}
	t.coll = coll
	defer func() {
		if retErr != nil {
			t.Close()
		}
	}()
	if err := coll.Assign(&t.maps); err != nil {
		return nil, fmt.Errorf("bpf: assign maps: %w", err)
	}
	for name, ps := range spec.Programs {
		l, err := attach(ps.SectionName, coll.Programs[name])
		if errors.Is(err, os.ErrNotExist) && strings.HasPrefix(ps.SectionName, "tracepoint/syscalls/") {
			// A syscall this kernel lacks (e.g. fchmodat2 before 6.6).
			opts.Logger.Warn("bpf: tracepoint missing, probe skipped", "probe", ps.SectionName)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("bpf: attach %s: %w", ps.SectionName, err)
		}
		t.links = append(t.links, l)
		t.probes = append(t.probes, ps.SectionName)
	}
	slices.Sort(t.probes)
	opts.Logger.Info("bpf: probes attached", "count", len(t.probes),
		"slots", opts.Slots, "ring_bytes", opts.RingBytes)
	return t, nil
}

// attach attaches prog by the kind its ELF section names.
func attach(section string, prog *ebpf.Program) (link.Link, error) {
	kind, target, _ := strings.Cut(section, "/")
	switch kind {
	case "tp_btf":
		return link.AttachTracing(link.TracingOptions{Program: prog, AttachType: ebpf.AttachTraceRawTp})
	case "tracepoint":
		group, name, ok := strings.Cut(target, "/")
		if !ok {
			return nil, fmt.Errorf("section %q: want tracepoint/group/name", section)
		}
		return link.Tracepoint(group, name, prog, nil)
	}
	return nil, fmt.Errorf("section %q: unsupported hook", section)
}

// mountTracefs mounts tracefs at tracefsDir unless it is mounted there or
// at the debugfs location.
func mountTracefs() error {
	for _, d := range []string{tracefsDir, "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(d + "/events"); err == nil {
			return nil
		}
	}
	if err := unix.Mount("tracefs", tracefsDir, "tracefs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("bpf: mount tracefs at %s: %w", tracefsDir, err)
	}
	return nil
}

// bootWall returns the wall-clock time of CLOCK_MONOTONIC zero, the clock of
// bpf_ktime_get_ns.
func bootWall() time.Time {
	var ts unix.Timespec
	before := time.Now()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return time.Time{} // cannot happen on Linux
	}
	return before.Round(0).Add(-time.Duration(ts.Nano()))
}

// Probes returns the ELF section names of the attached probes, sorted,
// e.g. "tp_btf/sched_process_exec" or "tracepoint/syscalls/sys_enter_openat".
func (t *Tracer) Probes() []string { return append([]string(nil), t.probes...) }

// Close stops every running recording (discarding its events), detaches
// the probes and frees the maps.
func (t *Tracer) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true // no Watch from now on
	var running []*Recording
	for _, r := range t.slots {
		if r != nil {
			running = append(running, r)
		}
	}
	t.mu.Unlock()
	var errs []error
	for _, r := range running {
		if _, err := r.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, l := range t.links {
		if err := l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("bpf: detach: %w", err))
		}
	}
	if err := t.maps.Close(); err != nil {
		errs = append(errs, fmt.Errorf("bpf: close maps: %w", err))
	}
	t.coll.Close()
	return errors.Join(errs...)
}
