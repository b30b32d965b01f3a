package sinkhole

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/fumehood/fumehood/trace"
)

// DefaultStateDir holds the namespace files and per-sinkhole files.
const DefaultStateDir = "/run/fumehood"

const maxConns = 256 // concurrent TCP connections per sinkhole

// ErrExists is returned by Start when a sinkhole of that name exists.
var ErrExists = errors.New("sinkhole exists")

// ErrName is returned by Start for a name that cannot be used.
var ErrName = errors.New("bad sinkhole name")

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Config describes one sinkhole.
type Config struct {
	Name     string // unique, short (<= 8 chars used in interface names), e.g. first 8 of the analysis id
	StateDir string // default /run/fumehood
	CA       *CA    // per-analysis CA for TLS interception; nil = no TLS termination (record SNI only)
	Logger   *slog.Logger
}

// Sinkhole is a running sinkhole: two network namespaces, the servers in
// one of them, and what they recorded.
type Sinkhole struct {
	name        string
	stateDir    string
	sandboxPath string
	sinkPath    string
	dir         string
	ca          *CA
	log         *slog.Logger
	rec         *recorder
	capture     *packetSocket // UDP capture; its kernel drops count as dropped

	ctx     context.Context
	cancel  context.CancelFunc
	servers []io.Closer

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

func paths(stateDir, name string) (sandbox, sink, dir string) {
	ns := filepath.Join(stateDir, "netns")
	return filepath.Join(ns, name+".sandbox"), filepath.Join(ns, name+".sink"), filepath.Join(stateDir, "sinkhole", name)
}

// Start creates the sandbox netns and the sinkhole netns joined by a veth,
// configures addresses with the sandbox's default routes (v4 and v6) via
// the sinkhole end, writes a resolv.conf naming the sinkhole, installs an
// nft redirect of every TCP and UDP port to the sinkhole's listeners, and
// starts them inside the sinkhole netns. The servers run until Close; ctx
// bounds the set-up only.
func Start(ctx context.Context, cfg Config) (_ *Sinkhole, retErr error) {
	if !validName.MatchString(cfg.Name) {
		return nil, fmt.Errorf("%w: %q", ErrName, cfg.Name)
	}
	if cfg.StateDir == "" {
		cfg.StateDir = DefaultStateDir
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sinkhole{
		name:     cfg.Name,
		stateDir: cfg.StateDir,
		ca:       cfg.CA,
		log:      cfg.Logger.With("sinkhole", cfg.Name),
		rec:      defaultRecorder(),
		conns:    make(map[net.Conn]struct{}),
	}
	s.sandboxPath, s.sinkPath, s.dir = paths(cfg.StateDir, cfg.Name)
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))

	if err := os.MkdirAll(filepath.Dir(s.dir), 0o755); err != nil {
		return nil, fmt.Errorf("sinkhole: %w", err)
	}
	if err := os.Mkdir(s.dir, 0o755); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("sinkhole %s: %w", cfg.Name, ErrExists)
		}
		return nil, fmt.Errorf("sinkhole: %w", err)
	}
	defer func() {
		if retErr != nil {
			s.teardown()
		}
	}()
	if err := writeOwner(s.dir); err != nil {
		return nil, err
	}
	if err := makeShared(filepath.Dir(s.sinkPath)); err != nil {
		return nil, fmt.Errorf("sinkhole: %w", err)
	}
	for _, p := range []string{s.sinkPath, s.sandboxPath} {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := createNetNS(p); err != nil {
			return nil, fmt.Errorf("sinkhole %s: %w", cfg.Name, err)
		}
	}
	ifName := sinkIfName(cfg.Name)
	if err := wire(s.sinkPath, s.sandboxPath, ifName); err != nil {
		return nil, fmt.Errorf("sinkhole %s: %w", cfg.Name, err)
	}
	if err := redirect(s.sinkPath, ifName); err != nil {
		return nil, fmt.Errorf("sinkhole %s: %w", cfg.Name, err)
	}
	if err := s.listen(ifName); err != nil {
		return nil, fmt.Errorf("sinkhole %s: %w", cfg.Name, err)
	}
	resolv := fmt.Sprintf("nameserver %s\nnameserver %s\noptions timeout:2 attempts:2\n", sinkV4.Addr(), sinkV6.Addr())
	if err := os.WriteFile(s.ResolvConf(), []byte(resolv), 0o644); err != nil {
		return nil, fmt.Errorf("sinkhole: %w", err)
	}
	s.log.Info("sinkhole started", "netns", s.sandboxPath, "address", sinkV4.Addr())
	return s, nil
}

// listen opens the servers' sockets inside the sinkhole netns and starts
// serving them.
func (s *Sinkhole) listen(ifName string) error {
	var (
		tcp     []net.Listener
		dnsUDP  []net.PacketConn
		discard []net.PacketConn
		capture *packetSocket
	)
	err := inNetNS(s.sinkPath, func() error {
		for _, nw := range []string{"4", "6"} {
			ln, err := net.Listen("tcp"+nw, ":"+strconv.Itoa(listenTCP))
			if err != nil {
				return fmt.Errorf("listen tcp: %w", err)
			}
			tcp = append(tcp, ln)
			s.servers = append(s.servers, ln)
			pc, err := net.ListenPacket("udp"+nw, ":"+strconv.Itoa(listenDNS))
			if err != nil {
				return fmt.Errorf("listen dns: %w", err)
			}
			dnsUDP = append(dnsUDP, pc)
			s.servers = append(s.servers, pc)
			pc, err = net.ListenPacket("udp"+nw, ":"+strconv.Itoa(listenUDP))
			if err != nil {
				return fmt.Errorf("listen udp: %w", err)
			}
			discard = append(discard, pc)
			s.servers = append(s.servers, pc)
		}
		ifi, err := net.InterfaceByName(ifName)
		if err != nil {
			return fmt.Errorf("capture: %w", err)
		}
		capture, err = listenPackets(ifi.Index)
		if err != nil {
			return err
		}
		s.servers = append(s.servers, capture)
		s.capture = capture
		return nil
	})
	if err != nil {
		return err
	}
	s.run(func() { s.captureUDP(capture) })
	for _, ln := range tcp {
		s.run(func() { s.serveTCP(ln) })
	}
	for _, pc := range dnsUDP {
		s.run(func() { serveDNSUDP(pc) })
	}
	for _, pc := range discard {
		s.run(func() { discardUDP(pc) })
	}
	return nil
}

func (s *Sinkhole) run(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// track admits a connection unless the sinkhole is closed or at its
// connection limit.
func (s *Sinkhole) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.conns) >= maxConns {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Sinkhole) untrack(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// NetNSPath returns the path of the sandbox's network namespace, for the
// container to join.
func (s *Sinkhole) NetNSPath() string { return s.sandboxPath }

// ResolvConf returns the host path of a resolv.conf naming the sinkhole,
// for the container's /etc/resolv.conf.
func (s *Sinkhole) ResolvConf() string { return filepath.Join(s.dir, "resolv.conf") }

// Take returns the captures since the last Take (one phase's), in arrival
// order; if any were dropped by the budgets, the last event is KindLost
// with their count. The next phase starts with fresh budgets.
func (s *Sinkhole) Take() []trace.Event {
	if s.capture != nil {
		n, err := s.capture.drops()
		if err != nil && !errors.Is(err, os.ErrClosed) {
			s.log.Warn("sinkhole capture", "err", err)
		}
		s.rec.dropN(n)
	}
	return s.rec.take()
}

// Close stops the servers and removes the namespaces and files. What
// was captured stays for Take.
func (s *Sinkhole) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.teardown()
		s.log.Info("sinkhole closed")
	})
	return s.closeErr
}

func (s *Sinkhole) teardown() error {
	s.cancel()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	for _, c := range s.servers {
		c.Close()
	}
	s.wg.Wait()
	return removeFiles(s.sandboxPath, s.sinkPath, s.dir)
}

func removeFiles(sandboxPath, sinkPath, dir string) error {
	var errs []error
	for _, p := range []string{sandboxPath, sinkPath} {
		errs = append(errs, removeNetNS(p))
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", dir, err))
	}
	return errors.Join(errs...)
}

// Reap removes the namespaces and files of sinkholes under stateDir whose
// owning process is gone (a crashed run). Sinkholes of live processes,
// this one included, are left alone.
func Reap(stateDir string) error {
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	var errs []error
	names := map[string]bool{}
	entries, err := os.ReadDir(filepath.Join(stateDir, "sinkhole"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reap: %w", err)
	}
	for _, e := range entries {
		names[e.Name()] = true
	}
	nsEntries, err := os.ReadDir(filepath.Join(stateDir, "netns"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reap: %w", err)
	}
	for _, e := range nsEntries {
		if n, ok := strings.CutSuffix(e.Name(), ".sandbox"); ok {
			names[n] = true
		} else if n, ok := strings.CutSuffix(e.Name(), ".sink"); ok {
			names[n] = true
		}
	}
	for name := range names {
		sandbox, sink, dir := paths(stateDir, name)
		if ownerAlive(dir) {
			continue
		}
		if err := removeFiles(sandbox, sink, dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reap: %w", err)
	}
	return nil
}

// writeOwner records this process (pid and start time) as the owner of
// the sinkhole in dir.
func writeOwner(dir string) error {
	st, err := procStart(os.Getpid())
	if err != nil {
		return err
	}
	owner := fmt.Sprintf("%d %s\n", os.Getpid(), st)
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(owner), 0o644); err != nil {
		return fmt.Errorf("sinkhole owner: %w", err)
	}
	return nil
}

// ownerAlive reports whether the process recorded in dir/owner still runs.
// A missing or unreadable owner file means a crash during set-up.
func ownerAlive(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "owner"))
	if err != nil {
		return false
	}
	var pid int
	var start string
	if _, err := fmt.Sscanf(string(b), "%d %s", &pid, &start); err != nil {
		return false
	}
	st, err := procStart(pid)
	return err == nil && st == start
}

// procStart returns the start time of process pid (field 22 of
// /proc/pid/stat), which tells a live process from a reused pid.
func procStart(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", fmt.Errorf("process %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; count after its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return "", fmt.Errorf("process %d: bad stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return "", fmt.Errorf("process %d: bad stat", pid)
	}
	return f[19], nil
}
