package sinkhole

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"

	"github.com/fumehood/fumehood/trace"
	"github.com/miekg/dns"
)

const (
	dnsTTL          = 60
	dnsTXT          = "v=spf1 -all"
	maxDNSPerConn   = 64 // DNS-over-TCP messages answered per connection
	dnsUDPMaxPacket = 4096
)

// answer replies to every question: A and AAAA with the sinkhole's own
// addresses, TXT with a short string, ANY with all three; other types get
// an empty NOERROR answer.
func answer(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true
	for _, q := range req.Question {
		hdr := func(t uint16) dns.RR_Header {
			return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: dnsTTL}
		}
		a := &dns.A{Hdr: hdr(dns.TypeA), A: sinkV4.Addr().AsSlice()}
		aaaa := &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: sinkV6.Addr().AsSlice()}
		txt := &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: []string{dnsTXT}}
		switch q.Qtype {
		case dns.TypeA:
			m.Answer = append(m.Answer, a)
		case dns.TypeAAAA:
			m.Answer = append(m.Answer, aaaa)
		case dns.TypeTXT:
			m.Answer = append(m.Answer, txt)
		case dns.TypeANY:
			m.Answer = append(m.Answer, a, aaaa, txt)
		}
	}
	return m
}

// dnsEvents returns one KindDNS event per question of msg, which was sent
// to dst.
func dnsEvents(msg *dns.Msg, dst netip.AddrPort) []trace.Event {
	evs := make([]trace.Event, 0, len(msg.Question))
	for _, q := range msg.Question {
		evs = append(evs, trace.Event{
			Kind:  trace.KindDNS,
			Name:  strings.TrimSuffix(q.Name, "."),
			QType: dns.TypeToString[q.Qtype],
			Addr:  dst.Addr().Unmap().String(),
			Port:  dst.Port(),
		})
	}
	return evs
}

// serveDNSUDP answers queries on pc until it is closed. Queries are
// recorded by the packet capture, which sees their original destination.
func serveDNSUDP(pc net.PacketConn) {
	buf := make([]byte, dnsUDPMaxPacket)
	for {
		n, from, err := pc.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		req := new(dns.Msg)
		if req.Unpack(buf[:n]) != nil || req.Response {
			continue
		}
		out, err := answer(req).Pack()
		if err != nil {
			continue
		}
		pc.WriteTo(out, from) //nolint:errcheck // a lost answer is the client's retry
	}
}

// discardUDP reads and drops datagrams until pc is closed, so that
// connected UDP clients see no port-unreachable errors and keep sending.
func discardUDP(pc net.PacketConn) {
	buf := make([]byte, 2048)
	for {
		if _, _, err := pc.ReadFrom(buf); errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// serveDNSTCP answers length-prefixed DNS messages on c, recording each
// question.
func (s *Sinkhole) serveDNSTCP(c net.Conn, f flow) {
	var lb [2]byte
	for range maxDNSPerConn {
		if _, err := io.ReadFull(c, lb[:]); err != nil {
			return
		}
		buf := make([]byte, binary.BigEndian.Uint16(lb[:]))
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		req := new(dns.Msg)
		if err := req.Unpack(buf); err != nil {
			s.rec.add(f, trace.Event{Kind: trace.KindTCP, Addr: f.dst.Addr().String(), Port: f.dst.Port(), Data: head(buf)})
			return
		}
		for _, e := range dnsEvents(req, f.dst) {
			s.rec.add(f, e)
		}
		out, err := answer(req).Pack()
		if err != nil {
			return
		}
		if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(out)))); err != nil {
			return
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// head returns a copy of the first headMax bytes of b.
func head(b []byte) []byte {
	if len(b) > headMax {
		b = b[:headMax]
	}
	return append([]byte(nil), b...)
}
