package sinkhole

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/fumehood/fumehood/trace"
	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// packetSocket is an AF_PACKET socket that receives network-layer packets
// (no link header) on one interface, or on all when ifindex is 0.
type packetSocket struct{ f *os.File }

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func listenPackets(ifindex int) (*packetSocket, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind packet socket: %w", err)
	}
	return &packetSocket{f: os.NewFile(uintptr(fd), "packet")}, nil
}

// read receives one packet into buf and reports its length and packet
// type (unix.PACKET_HOST, unix.PACKET_OUTGOING, ...). It blocks until a
// packet arrives or the socket is closed.
func (p *packetSocket) read(buf []byte) (n int, pkttype uint8, err error) {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		var from unix.Sockaddr
		n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
		if errors.Is(rerr, unix.EAGAIN) {
			return false
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			pkttype = ll.Pkttype
		}
		return true
	})
	if err != nil {
		return 0, 0, err
	}
	return n, pkttype, rerr
}

func (p *packetSocket) Close() error { return p.f.Close() }

// drops returns the packets the kernel dropped since the last call because
// the socket's receive queue was full (a flood faster than the capture).
func (p *packetSocket) drops() (uint64, error) {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var st *unix.TpacketStats
	var serr error
	if err := rc.Control(func(fd uintptr) {
		st, serr = unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
	}); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, fmt.Errorf("packet statistics: %w", serr)
	}
	return uint64(st.Drops), nil
}

// parseUDP returns the flow (source and destination) and payload of the
// UDP datagram in the IP packet pkt. Only first fragments and IPv6 packets
// without extension headers are understood.
func parseUDP(pkt []byte) (f flow, payload []byte, ok bool) {
	if len(pkt) < 1 {
		return f, nil, false
	}
	var src, dst netip.Addr
	var l4 []byte
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 {
			return f, nil, false
		}
		ihl := int(pkt[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(pkt[2:4]))
		if ihl < 20 || total < ihl || pkt[9] != unix.IPPROTO_UDP || binary.BigEndian.Uint16(pkt[6:8])&0x1fff != 0 {
			return f, nil, false
		}
		if total < len(pkt) {
			pkt = pkt[:total]
		}
		if len(pkt) < ihl {
			return f, nil, false
		}
		src, dst = netip.AddrFrom4([4]byte(pkt[12:16])), netip.AddrFrom4([4]byte(pkt[16:20]))
		l4 = pkt[ihl:]
	case 6:
		if len(pkt) < 40 || pkt[6] != unix.IPPROTO_UDP {
			return f, nil, false
		}
		if end := 40 + int(binary.BigEndian.Uint16(pkt[4:6])); end < len(pkt) {
			pkt = pkt[:end]
		}
		src, dst = netip.AddrFrom16([16]byte(pkt[8:24])), netip.AddrFrom16([16]byte(pkt[24:40]))
		l4 = pkt[40:]
	default:
		return f, nil, false
	}
	if len(l4) < 8 {
		return f, nil, false
	}
	if ul := int(binary.BigEndian.Uint16(l4[4:6])); ul >= 8 && ul < len(l4) {
		l4 = l4[:ul]
	}
	f.src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4[0:2]))
	f.dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:4]))
	return f, l4[8:], true
}

// udpEvents turns one captured IP packet into the flow it belongs to and
// events: the questions of a DNS query to port 53, or a KindUDP event with
// the datagram head.
func udpEvents(pkt []byte) (flow, []trace.Event) {
	f, payload, ok := parseUDP(pkt)
	if !ok {
		return f, nil
	}
	if f.dst.Port() == 53 {
		m := new(dns.Msg)
		if m.Unpack(payload) == nil && !m.Response && len(m.Question) > 0 {
			return f, dnsEvents(m, f.dst)
		}
	}
	return f, []trace.Event{{Kind: trace.KindUDP, Addr: f.dst.Addr().String(), Port: f.dst.Port(), Data: head(payload)}}
}

// captureUDP records the UDP datagrams arriving on p until it is closed.
func (s *Sinkhole) captureUDP(p *packetSocket) {
	buf := make([]byte, 65536)
	for {
		n, pkttype, err := p.read(buf)
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if !closed && !errors.Is(err, os.ErrClosed) {
				s.log.Warn("sinkhole capture stopped", "err", err)
			}
			return
		}
		if pkttype == unix.PACKET_OUTGOING {
			continue
		}
		f, evs := udpEvents(buf[:n])
		for _, e := range evs {
			s.rec.add(f, e)
		}
	}
}
