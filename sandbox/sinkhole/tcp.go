package sinkhole

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
	"unsafe"

	"github.com/fumehood/fumehood/trace"
	"golang.org/x/sys/unix"
)

const (
	connTimeout  = 30 * time.Second // whole life of one connection
	firstTimeout = 5 * time.Second  // wait for the client's first bytes
	rawTimeout   = 3 * time.Second  // collect the first bytes of a non-HTTP stream
	idleTimeout  = 5 * time.Second  // wait for the next request on a kept-alive connection
	soOrigDst    = 80               // SO_ORIGINAL_DST and IP6T_SO_ORIGINAL_DST
)

var errNoTermination = errors.New("no CA: TLS not terminated")

// originalDst returns the destination the client dialled before the nft
// redirect rewrote it.
func originalDst(c *net.TCPConn) (netip.AddrPort, error) {
	local, ok := netip.AddrFromSlice(c.LocalAddr().(*net.TCPAddr).IP)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("original dst: bad local address %s", c.LocalAddr())
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("original dst: %w", err)
	}
	var dst netip.AddrPort
	var serr error
	err = rc.Control(func(fd uintptr) {
		if local.Unmap().Is4() {
			var sa unix.RawSockaddrInet4
			serr = getsockopt(fd, unix.SOL_IP, unsafe.Pointer(&sa), unsafe.Sizeof(sa))
			dst = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), htons(sa.Port))
			return
		}
		var sa unix.RawSockaddrInet6
		serr = getsockopt(fd, unix.SOL_IPV6, unsafe.Pointer(&sa), unsafe.Sizeof(sa))
		dst = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), htons(sa.Port))
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("original dst: %w", err)
	}
	return dst, nil
}

func getsockopt(fd uintptr, level int, p unsafe.Pointer, size uintptr) error {
	l := uint32(size)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, uintptr(level), soOrigDst, uintptr(p), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// serveTCP accepts connections on ln until it is closed, each bounded by
// the sinkhole's connection limit.
func (s *Sinkhole) serveTCP(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			s.log.Warn("sinkhole accept", "err", err)
			continue
		}
		if !s.track(c) {
			s.rec.drop()
			c.Close()
			continue
		}
		go func() {
			defer s.untrack(c)
			s.handleConn(c.(*net.TCPConn))
		}()
	}
}

func (s *Sinkhole) handleConn(c *net.TCPConn) {
	c.SetDeadline(time.Now().Add(connTimeout)) //nolint:errcheck // a fresh socket
	dst, err := originalDst(c)
	if err != nil {
		s.log.Warn("sinkhole", "err", err)
		dst = c.LocalAddr().(*net.TCPAddr).AddrPort()
	}
	f := flow{src: c.RemoteAddr().(*net.TCPAddr).AddrPort(), dst: netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())}
	if dst.Port() == 53 {
		s.serveDNSTCP(c, f)
		return
	}
	s.serveStream(c, f, "", false)
}

// serveStream looks at the first bytes the client sends on c and records
// and answers them as TLS, HTTP, or raw bytes. Inside TLS (inner), sni is
// the name the client asked for and TLS is not expected again.
func (s *Sinkhole) serveStream(c net.Conn, f flow, sni string, inner bool) {
	br := bufio.NewReaderSize(c, headMax)
	c.SetReadDeadline(time.Now().Add(firstTimeout)) //nolint:errcheck // best effort
	first, _ := br.Peek(1)
	// Back to a bound of the connection's length: a zero deadline would
	// let a keep-alive client hold the connection, and its process, open
	// until the phase's time limit.
	c.SetReadDeadline(time.Now().Add(connTimeout)) //nolint:errcheck // best effort
	switch {
	case len(first) == 1 && first[0] == 0x16 && !inner:
		s.serveTLS(c, br, f)
	case len(first) == 1 && isHTTP(peekBuffered(br)):
		s.serveHTTP(c, br, f, sni)
	default:
		s.serveRaw(c, br, f)
	}
}

func peekBuffered(br *bufio.Reader) []byte {
	b, _ := br.Peek(br.Buffered())
	return b
}

var methods = [][]byte{
	[]byte("GET "), []byte("POST "), []byte("PUT "), []byte("HEAD "), []byte("DELETE "),
	[]byte("OPTIONS "), []byte("PATCH "), []byte("CONNECT "), []byte("TRACE "),
}

func isHTTP(b []byte) bool {
	for _, m := range methods {
		if bytes.HasPrefix(b, m) {
			return true
		}
	}
	return false
}

// serveRaw records the first headMax bytes the client sends within
// rawTimeout.
func (s *Sinkhole) serveRaw(c net.Conn, r io.Reader, f flow) {
	c.SetReadDeadline(time.Now().Add(rawTimeout)) //nolint:errcheck // best effort
	buf := make([]byte, headMax)
	n, _ := io.ReadFull(r, buf)
	s.rec.add(f, trace.Event{Kind: trace.KindTCP, Addr: f.dst.Addr().String(), Port: f.dst.Port(), Data: buf[:n:n]})
}

// teeConn is a net.Conn whose reads are served by r, which keeps a copy
// of the first bytes read.
type teeConn struct {
	net.Conn
	r    io.Reader
	seen []byte
}

func (t *teeConn) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if room := headMax - len(t.seen); room > 0 {
		t.seen = append(t.seen, p[:min(n, room)]...)
	}
	return n, err
}

// serveTLS records the ClientHello's SNI and, with a CA, terminates TLS
// and serves what the client sends inside.
func (s *Sinkhole) serveTLS(c net.Conn, br *bufio.Reader, f flow) {
	tc := &teeConn{Conn: c, r: br}
	var sni string
	hello := false
	cfg := &tls.Config{
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			hello = true
			sni = h.ServerName
			s.rec.add(f, trace.Event{Kind: trace.KindTLS, Name: sni, Addr: f.dst.Addr().String(), Port: f.dst.Port()})
			if s.ca == nil {
				return nil, errNoTermination
			}
			name := sni
			if name == "" {
				name = f.dst.Addr().String()
			}
			leaf, err := s.ca.leaf(name)
			if err != nil {
				return nil, err
			}
			return &tls.Config{Certificates: []tls.Certificate{*leaf}, NextProtos: []string{"http/1.1"}}, nil
		},
	}
	srv := tls.Server(tc, cfg)
	ctx, cancel := context.WithTimeout(s.ctx, firstTimeout)
	err := srv.HandshakeContext(ctx)
	cancel()
	if !hello {
		// Not a ClientHello after all: keep what was sent.
		s.rec.add(f, trace.Event{Kind: trace.KindTCP, Addr: f.dst.Addr().String(), Port: f.dst.Port(), Data: tc.seen})
		return
	}
	if err != nil {
		s.log.Debug("sinkhole tls", "sni", sni, "err", err)
		return
	}
	s.serveStream(srv, f, sni, true)
}
