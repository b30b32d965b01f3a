package sinkhole

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/trace"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// hostCapture records, from every host interface, the packets that carry
// marker or come from a sandbox address.
type hostCapture struct {
	p       *packetSocket
	marker  []byte
	control []byte
	done    chan struct{}

	mu      sync.Mutex
	leaked  [][]byte
	sawCtrl bool
}

func (h *hostCapture) run() {
	defer close(h.done)
	buf := make([]byte, 65536)
	for {
		n, _, err := h.p.read(buf)
		if err != nil {
			return
		}
		pkt := buf[:n]
		h.mu.Lock()
		if bytes.Contains(pkt, h.control) {
			h.sawCtrl = true
		}
		if bytes.Contains(pkt, h.marker) || fromSandbox(pkt) {
			h.leaked = append(h.leaked, bytes.Clone(pkt))
		}
		h.mu.Unlock()
	}
}

// fromSandbox reports whether the IP packet pkt has a sandbox source
// address.
func fromSandbox(pkt []byte) bool {
	switch {
	case len(pkt) >= 20 && pkt[0]>>4 == 4:
		return netip.AddrFrom4([4]byte(pkt[12:16])) == sandboxV4.Addr()
	case len(pkt) >= 40 && pkt[0]>>4 == 6:
		return netip.AddrFrom16([16]byte(pkt[8:24])) == sandboxV6.Addr()
	}
	return false
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// sendAll sends, from the calling thread's netns, TCP, UDP, an ICMP echo
// and a raw IP packet (protocol 253) carrying marker to dst.
func sendAll(t *testing.T, dst netip.Addr, marker []byte) {
	t.Helper()
	family := unix.AF_INET
	var sa unix.Sockaddr
	if dst.Is6() {
		family, sa = unix.AF_INET6, &unix.SockaddrInet6{Addr: dst.As16()}
	} else {
		sa = &unix.SockaddrInet4{Addr: dst.As4()}
	}
	ap := func(port int) string { return netip.AddrPortFrom(dst, uint16(port)).String() }
	if c, err := net.DialTimeout("tcp", ap(4445), 2*time.Second); err == nil {
		c.Write(marker)
		c.Close()
	}
	if c, err := net.Dial("udp", ap(4446)); err == nil {
		c.Write(marker)
		c.Close()
	} else {
		t.Errorf("udp to %s: %v", dst, err)
	}
	icmpProto, echoType := unix.IPPROTO_ICMP, byte(8)
	if dst.Is6() {
		icmpProto, echoType = unix.IPPROTO_ICMPV6, 128
	}
	echo := append([]byte{echoType, 0, 0, 0, 0x12, 0x34, 0, 1}, marker...)
	if !dst.Is6() {
		binary.BigEndian.PutUint16(echo[2:], checksum(echo))
	}
	for _, s := range []struct {
		proto int
		b     []byte
	}{{icmpProto, echo}, {253, marker}} {
		fd, err := unix.Socket(family, unix.SOCK_RAW|unix.SOCK_CLOEXEC, s.proto)
		if err != nil {
			t.Errorf("raw socket %d: %v", s.proto, err)
			continue
		}
		// Errors (no route, unreachable) are fine: the packet must not leave.
		unix.Sendto(fd, s.b, 0, sa)
		unix.Close(fd)
	}
}

func linkStats(t *testing.T, nsPath, name string) (tx, rx uint64) {
	t.Helper()
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	st := l.Attrs().Statistics
	return st.TxPackets, st.RxPackets
}

// TestNothingReachesTheHost sends every kind of packet from the sandbox
// netns to a public-looking address, the host's own addresses and
// loopback, while a packet socket on all host interfaces watches for any
// of it. As controls, the sinkhole must have seen the traffic and the
// host capture must see a packet the test sends on the host afterwards.
func TestNothingReachesTheHost(t *testing.T) {
	s := startSinkhole(t, "safety", nil)
	id := make([]byte, 8)
	rand.Read(id)
	marker := []byte("sandbox-leak-" + hex.EncodeToString(id))
	control := []byte("host-control-" + hex.EncodeToString(id))

	p, err := listenPackets(0) // all interfaces of the host netns
	if err != nil {
		t.Fatal(err)
	}
	h := &hostCapture{p: p, marker: marker, control: control, done: make(chan struct{})}
	go h.run()
	defer func() { p.Close(); <-h.done }()

	dsts := []netip.Addr{netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::1")}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && !p.Addr().IsLoopback() && !p.Addr().IsLinkLocalUnicast() {
			dsts = append(dsts, p.Addr())
		}
	}
	t.Logf("destinations: %v", dsts)

	tx0, _ := linkStats(t, s.NetNSPath(), sandboxIf)
	_, rx0 := linkStats(t, s.sinkPath, sinkIfName(s.name))
	inSandbox(t, s, func() error {
		for _, d := range dsts {
			sendAll(t, d, marker)
		}
		return nil
	})
	tx1, _ := linkStats(t, s.NetNSPath(), sandboxIf)
	_, rx1 := linkStats(t, s.sinkPath, sinkIfName(s.name))

	// Control 1: the traffic left the sandbox and reached the sinkhole.
	waitEvent(t, s, "udp marker", func(e trace.Event) bool {
		return e.Kind == trace.KindUDP && e.Addr == "198.51.100.1" && bytes.Equal(e.Data, marker)
	})
	if tx1-tx0 < uint64(len(dsts)) || rx1-rx0 < uint64(len(dsts)) {
		t.Errorf("veth counters: sandbox tx +%d, sinkhole rx +%d, want at least %d each", tx1-tx0, rx1-rx0, len(dsts))
	}
	// Control 2: the host capture works; packets reach a packet socket in
	// order, so once it has seen this one it has seen anything sent before.
	c, err := net.Dial("udp", "127.0.0.1:4447")
	if err != nil {
		t.Fatal(err)
	}
	c.Write(control)
	c.Close()
	testenv.WaitFor(t, 2*time.Minute, "the host capture to see the control packet (else it cannot vouch for anything)", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.sawCtrl
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, pkt := range h.leaked {
		t.Errorf("sandbox packet seen on the host: % x", pkt[:min(len(pkt), 64)])
	}
}
