package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

const (
	// DefaultNamespace is the containerd namespace used when Config.Namespace is empty.
	DefaultNamespace = "fumehood"
	// DefaultStateDir is the state directory used when Config.StateDir is empty.
	DefaultStateDir = "/run/fumehood"
	// DefaultCacheDir is where BuildImage's callers keep built images and
	// their downloads, and what else is kept once per image.
	DefaultCacheDir = "/var/cache/fumehood"

	// labelOwner holds the owner process's pid.
	labelOwner = "fumehood.run"
	// labelOwnerStart holds the owner process's start time (clock ticks since boot).
	labelOwnerStart = "fumehood.run.start"

	snapshotter = "overlayfs"
)

var (
	// ErrInvalidID is returned for container or workspace ids that are not
	// a short run of letters, digits, '.', '_' and '-'.
	ErrInvalidID = errors.New("invalid id")
	// ErrImageNotFound is returned when the configured image is not in containerd.
	ErrImageNotFound = errors.New("image not found")
	// ErrInvalidPhase is returned when a Phase lacks what Run needs.
	ErrInvalidPhase = errors.New("invalid phase")
	// ErrRunExists: a live process runs a container of the same id.
	ErrRunExists = errors.New("a run of this id is in progress")
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}$`)

func checkID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	return nil
}

// Config configures a Sandbox.
type Config struct {
	Address   string // containerd socket
	Namespace string // containerd namespace, default "fumehood"
	Image     string // image ref the phases run in
	StateDir  string // workspaces live in StateDir/ws, default /run/fumehood
	// WorkRoot holds the runs' work directories on the host (downloads;
	// see NewWorkDir), default StateDir/work.
	WorkRoot string
	Logger   *slog.Logger
}

// Sandbox runs phases in containerd. It is safe for concurrent use.
type Sandbox struct {
	client *client.Client
	ns     string
	image  string
	state  string
	work   string // Config.WorkRoot
	log    *slog.Logger
	owner  owner
	// oomGuard: init gets an OOM score of -1000 (hostCanGuardOOM).
	oomGuard bool

	mu   sync.Mutex
	live map[string]bool // container and workspace ids in use by this process
}

// New connects to containerd.
func New(ctx context.Context, cfg Config) (*Sandbox, error) {
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.StateDir == "" {
		cfg.StateDir = DefaultStateDir
	}
	if cfg.WorkRoot == "" {
		cfg.WorkRoot = filepath.Join(cfg.StateDir, "work")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	me, err := self()
	if err != nil {
		return nil, err
	}
	if err := checkUIDRange("/etc"); err != nil {
		return nil, err
	}
	c, err := client.New(cfg.Address, client.WithDefaultNamespace(cfg.Namespace))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", cfg.Address, err)
	}
	guard := hostCanGuardOOM()
	if !guard {
		cfg.Logger.Warn("root lacks CAP_SYS_RESOURCE: containers' init cannot be kept from the OOM killer (see sandbox/doc.go)")
	}
	return &Sandbox{
		oomGuard: guard,
		client:   c,
		ns:       cfg.Namespace,
		image:    cfg.Image,
		state:    cfg.StateDir,
		work:     cfg.WorkRoot,
		log:      cfg.Logger.With("component", "sandbox"),
		owner:    me,
		live:     map[string]bool{},
	}, nil
}

// Close closes the connection to containerd.
func (s *Sandbox) Close() error {
	return s.client.Close()
}

// nsCtx puts the sandbox's namespace in ctx.
func (s *Sandbox) nsCtx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, s.ns)
}

// claim marks id as in use by this process; it fails if it already is.
func (s *Sandbox) claim(kind, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := kind + "/" + id
	if s.live[key] {
		return fmt.Errorf("%s %s is already in use", kind, id)
	}
	s.live[key] = true
	return nil
}

func (s *Sandbox) release(kind, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, kind+"/"+id)
}

func (s *Sandbox) isLive(kind, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[kind+"/"+id]
}

// owner identifies a process across pid reuse.
type owner struct {
	PID   int
	Start uint64 // start time in clock ticks since boot
}

func self() (owner, error) {
	pid := os.Getpid()
	st, err := startTime(pid)
	if err != nil {
		return owner{}, err
	}
	return owner{PID: pid, Start: st}, nil
}

// startTime reads field 22 (starttime) of /proc/pid/stat.
func startTime(pid int) (uint64, error) {
	return statField(pid, 22)
}

// parentPID reads field 4 (ppid) of /proc/pid/stat.
func parentPID(pid int) (int, error) {
	v, err := statField(pid, 4)
	return int(v), err
}

// statField reads numeric field n (1-based, as proc(5) numbers them; n > 2)
// of /proc/pid/stat.
func statField(pid, n int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	i := strings.LastIndexByte(string(b), ')')
	fields := strings.Fields(string(b[i+1:]))
	if i < 0 || len(fields) < n-2 {
		return 0, fmt.Errorf("parse /proc/%d/stat: unexpected format", pid)
	}
	return strconv.ParseUint(fields[n-3], 10, 64)
}

// OwnedElsewhere reports whether labels (of a container or a snapshot) name
// a living owner that is neither this process nor one of its descendants:
// a run in progress of another program sharing the containerd namespace.
func OwnedElsewhere(labels map[string]string) bool {
	o, ok := ownerFromLabels(labels)
	if !ok || !o.alive() {
		return false
	}
	self := os.Getpid()
	for pid := o.PID; pid > 1; {
		if pid == self {
			return false
		}
		ppid, err := parentPID(pid)
		if err != nil {
			return false
		}
		pid = ppid
	}
	return true
}

func (o owner) labels() map[string]string {
	return map[string]string{
		labelOwner:      strconv.Itoa(o.PID),
		labelOwnerStart: strconv.FormatUint(o.Start, 10),
	}
}

func ownerFromLabels(l map[string]string) (owner, bool) {
	pid, err1 := strconv.Atoi(l[labelOwner])
	st, err2 := strconv.ParseUint(l[labelOwnerStart], 10, 64)
	return owner{PID: pid, Start: st}, err1 == nil && err2 == nil
}

// alive reports whether the process o still runs (same pid, same start time).
func (o owner) alive() bool {
	st, err := startTime(o.PID)
	return err == nil && st == o.Start
}
