package sinkhole

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fumehood/fumehood/trace"
	"github.com/miekg/dns"
)

// ipv4UDP builds an IPv4 packet carrying a UDP datagram to dst.
func ipv4UDP(dst netip.AddrPort, payload []byte, fragOff uint16) []byte {
	p := make([]byte, 28+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	binary.BigEndian.PutUint16(p[6:], fragOff)
	p[9] = 17
	copy(p[12:], []byte{100, 64, 0, 2})
	a := dst.Addr().As4()
	copy(p[16:], a[:])
	binary.BigEndian.PutUint16(p[22:], dst.Port())
	binary.BigEndian.PutUint16(p[24:], uint16(8+len(payload)))
	copy(p[28:], payload)
	return p
}

func ipv6UDP(dst netip.AddrPort, payload []byte) []byte {
	p := make([]byte, 48+len(payload))
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(8+len(payload)))
	p[6] = 17
	a := dst.Addr().As16()
	copy(p[24:], a[:])
	binary.BigEndian.PutUint16(p[42:], dst.Port())
	binary.BigEndian.PutUint16(p[44:], uint16(8+len(payload)))
	copy(p[48:], payload)
	return p
}

func TestUDPEvents(t *testing.T) {
	q := new(dns.Msg)
	q.SetQuestion("x.example.com.", dns.TypeTXT)
	query, _ := q.Pack()
	v4 := netip.MustParseAddrPort("198.51.100.9:9999")
	v6 := netip.MustParseAddrPort("[2001:db8::1]:53")
	trailer := append(ipv4UDP(v4, []byte("hi"), 0), 0, 0, 0) // link padding after the datagram
	tests := []struct {
		name string
		pkt  []byte
		want string // the events, "kind qtype name addr:port data"
	}{
		{"udp v4", ipv4UDP(v4, []byte("payload"), 0), `[udp   198.51.100.9:9999 "payload"]`},
		{"padding ignored", trailer, `[udp   198.51.100.9:9999 "hi"]`},
		{"dns v6", ipv6UDP(v6, query), `[dns TXT x.example.com 2001:db8::1:53 ""]`},
		{"not dns on 53", ipv6UDP(v6, []byte("xx")), `[udp   2001:db8::1:53 "xx"]`},
		{"later fragment", ipv4UDP(v4, []byte("frag"), 10), `[]`},
		{"truncated", ipv4UDP(v4, nil, 0)[:20], `[]`},
		{"empty", nil, `[]`},
		{"not ip", []byte{0x10, 1, 2}, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			_, evs := udpEvents(tt.pkt)
			for _, e := range evs {
				got = append(got, fmt.Sprintf("%s %s %s %s:%d %q", e.Kind, e.QType, e.Name, e.Addr, e.Port, e.Data))
			}
			if s := "[" + strings.Join(got, " ") + "]"; s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func TestReadHead(t *testing.T) {
	tests := []struct {
		name, in    string
		wantHeaders []string
		wantBody    string
		wantClose   bool
		wantErr     bool
	}{
		{
			name:        "content-length",
			in:          "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcNEXT",
			wantHeaders: []string{"Host: h", "Content-Length: 3"}, wantBody: "abc",
		},
		{
			name:        "chunked",
			in:          "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
			wantHeaders: []string{"Transfer-Encoding: chunked"}, wantBody: "abcde",
		},
		{
			name:        "http/1.0 closes",
			in:          "GET / HTTP/1.0\r\nX-A:  spaced \r\n\r\n",
			wantHeaders: []string{"X-A: spaced"}, wantClose: true,
		},
		{name: "bad request line", in: "GARBAGE\r\n\r\n", wantErr: true},
		{name: "bad length", in: "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", wantErr: true},
		{name: "line too long", in: "GET /" + strings.Repeat("a", 2*headMax) + " HTTP/1.1\r\n\r\n", wantErr: true},
		{name: "eof in headers", in: "GET / HTTP/1.1\r\nHost: h\r\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tt.in), headMax)
			r, err := readHead(br)
			if err == nil {
				err = r.readBody(br)
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("error: got %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !slices.Equal(r.headers, tt.wantHeaders) {
				t.Errorf("headers: got %q, want %q", r.headers, tt.wantHeaders)
			}
			if string(r.body) != tt.wantBody {
				t.Errorf("body: got %q, want %q", r.body, tt.wantBody)
			}
			if r.close != tt.wantClose {
				t.Errorf("close: got %v, want %v", r.close, tt.wantClose)
			}
		})
	}
}

// sent is one capture of a recorder test: from source port src, kind to
// dest (an address:port, or a name for dns and http), with data.
type sent struct {
	src  uint16
	kind trace.Kind
	dest string
	data string
}

func (c sent) add(r *recorder) {
	f := flow{src: netip.AddrPortFrom(netip.MustParseAddr("100.64.0.2"), c.src)}
	e := trace.Event{Kind: c.kind, Data: []byte(c.data)}
	if ap, err := netip.ParseAddrPort(c.dest); err == nil {
		f.dst, e.Addr, e.Port = ap, ap.Addr().String(), ap.Port()
	} else {
		e.Name, e.Addr, e.Port = c.dest, "100.64.0.1", 80
	}
	r.add(f, e)
}

func repeat(n int, c sent) []sent {
	out := make([]sent, n)
	for i := range out {
		out[i] = c
	}
	return out
}

func TestRecorderBudgets(t *testing.T) {
	const x, y = "198.51.100.9:9999", "198.51.100.9:443"
	flood := repeat(50, sent{1000, trace.KindUDP, x, "noise"})
	big := strings.Repeat("t", 3*flowHead)
	one := (&trace.Event{Kind: trace.KindUDP, Addr: "198.51.100.9", Data: []byte("a")}).Size() // every event here but the big one
	tests := []struct {
		name        string
		phase, dest limits
		sends       []sent
		want        []string // data kept, in order
		wantLost    uint64
	}{
		{"fits", limits{10, 1 << 20}, limits{10, 1 << 20},
			[]sent{{1, trace.KindUDP, x, "a"}, {1, trace.KindUDP, x, "b"}}, []string{"a", "b"}, 0},
		{"phase count", limits{2, 1 << 20}, limits{10, 1 << 20},
			[]sent{{1, trace.KindUDP, x, "a"}, {2, trace.KindUDP, y, "b"}, {3, trace.KindTCP, y, "c"}}, []string{"a", "b"}, 1},
		{"phase bytes", limits{10, 2*one + 10}, limits{10, 1 << 20},
			[]sent{{1, trace.KindUDP, x, "a"}, {2, trace.KindUDP, y, "b"}, {3, trace.KindTCP, y, "c"}}, []string{"a", "b"}, 1},
		{"a flood to one destination leaves another's budget", limits{20, 1 << 20}, limits{3, 1 << 20},
			append(slices.Clone(flood), sent{2000, trace.KindTCP, y, "token"}), []string{"noise", "noise", "noise", "token"}, 47},
		{"destination bytes", limits{20, 1 << 20}, limits{10, 2*one + 10},
			[]sent{{1, trace.KindUDP, x, "a"}, {1, trace.KindUDP, x, "b"}, {1, trace.KindUDP, x, "c"}}, []string{"a", "b"}, 1},
		{"a later flow to a flooded destination keeps its head", limits{20, 1 << 20}, limits{3, 1 << 20},
			append(slices.Clone(flood), sent{2000, trace.KindUDP, x, big}, sent{2000, trace.KindUDP, x, "again"}),
			[]string{"noise", "noise", "noise", big[:flowHead]}, 48},
		{"dns by zone", limits{20, 1 << 20}, limits{2, 1 << 20},
			[]sent{{1, trace.KindDNS, "a.evil.example", ""}, {1, trace.KindDNS, "b.EVIL.example", "2"}, {1, trace.KindDNS, "c.evil.example", "3"},
				{1, trace.KindDNS, "c.other.example", "4"}}, []string{"", "2", "4"}, 1},
		{"http by host", limits{20, 1 << 20}, limits{1, 1 << 20},
			[]sent{{1, trace.KindHTTP, "a.example", "1"}, {1, trace.KindHTTP, "A.example", "2"}, {1, trace.KindHTTP, "b.example", "3"}},
			[]string{"1", "3"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(tt.phase, tt.dest)
			for _, c := range tt.sends {
				c.add(r)
			}
			kept, lost := split(t, r.take())
			if !slices.Equal(kept, tt.want) || lost != tt.wantLost {
				t.Errorf("got %q kept, %d lost; want %q kept, %d lost", kept, lost, tt.want, tt.wantLost)
			}
		})
	}
}

// TestRecorderPhases: each take ends a phase; the next starts with fresh
// budgets and its own count of what was dropped.
func TestRecorderPhases(t *testing.T) {
	r := newRecorder(limits{2, 1 << 20}, limits{2, 1 << 20})
	for _, d := range []string{"a", "b", "c"} {
		sent{1, trace.KindUDP, "198.51.100.9:9", d}.add(r)
	}
	if kept, lost := split(t, r.take()); !slices.Equal(kept, []string{"a", "b"}) || lost != 1 {
		t.Errorf("first phase: got %q kept, %d lost; want [a b], 1 lost", kept, lost)
	}
	sent{1, trace.KindUDP, "198.51.100.9:9", "d"}.add(r)
	if kept, lost := split(t, r.take()); !slices.Equal(kept, []string{"d"}) || lost != 0 {
		t.Errorf("second phase: got %q kept, %d lost; want [d], none lost", kept, lost)
	}
}

// split returns the data of the events and the count of a final KindLost
// event; every event must have a time.
func split(t *testing.T, evs []trace.Event) (kept []string, lost uint64) {
	t.Helper()
	for i, e := range evs {
		if e.Time.IsZero() {
			t.Errorf("event without time: %+v", e)
		}
		if e.Kind == trace.KindLost {
			if i != len(evs)-1 || e.Name != "sinkhole" {
				t.Errorf("lost event %+v, want it last and named sinkhole", e)
			}
			lost = e.Count
			continue
		}
		kept = append(kept, string(e.Data))
	}
	return kept, lost
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		qtype uint16
		want  []uint16
	}{
		{dns.TypeA, []uint16{dns.TypeA}},
		{dns.TypeAAAA, []uint16{dns.TypeAAAA}},
		{dns.TypeTXT, []uint16{dns.TypeTXT}},
		{dns.TypeANY, []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT}},
		{dns.TypeMX, nil},
	}
	for _, tt := range tests {
		q := new(dns.Msg)
		q.SetQuestion("n.example.", tt.qtype)
		r := answer(q)
		var got []uint16
		for _, rr := range r.Answer {
			got = append(got, rr.Header().Rrtype)
		}
		if !slices.Equal(got, tt.want) || r.Rcode != dns.RcodeSuccess || r.Id != q.Id {
			t.Errorf("%s: got %v rcode %d, want %v NOERROR", dns.TypeToString[tt.qtype], got, r.Rcode, tt.want)
		}
	}
}

func TestCALeaf(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.CertPEM()) {
		t.Fatal("CertPEM does not parse")
	}
	for _, name := range []string{"registry.example.com", "203.0.113.7"} {
		l, err := ca.leaf(name)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(l.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, CurrentTime: time.Now()}); err != nil {
			t.Errorf("leaf for %s: got %v, want it verified by the CA", name, err)
		}
	}
	other, _ := NewCA()
	l, _ := other.leaf("registry.example.com")
	cert, _ := x509.ParseCertificate(l.Certificate[0])
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "registry.example.com", Roots: pool}); err == nil {
		t.Error("a leaf of another CA verified: CAs are not distinct")
	}
}

func FuzzReadHead(f *testing.F) {
	f.Add("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc")
	f.Add("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		br := bufio.NewReaderSize(strings.NewReader(in), headMax)
		r, err := readHead(br)
		if err != nil {
			return
		}
		if r.readBody(br) == nil && len(r.body) > headMax {
			t.Errorf("body head of %d bytes, want at most %d", len(r.body), headMax)
		}
	})
}

func FuzzUDPEvents(f *testing.F) {
	f.Add(ipv4UDP(netip.MustParseAddrPort("198.51.100.9:53"), []byte("x"), 0))
	f.Add(ipv6UDP(netip.MustParseAddrPort("[2001:db8::1]:9"), []byte("y")))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		_, evs := udpEvents(pkt)
		for _, e := range evs {
			if len(e.Data) > headMax {
				t.Errorf("data of %d bytes, want at most %d", len(e.Data), headMax)
			}
		}
	})
}

// wsFrame is a client frame: masked with key as RFC 6455 requires.
func wsFrame(opcode byte, payload []byte, key [4]byte) []byte {
	f := []byte{0x80 | opcode}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	default:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i&3])
	}
	return f
}

// TestWebSocket: a client that upgrades and sends masked frames (without
// waiting for the answer, as a hasty sender does) gets the handshake
// answer, and the capture holds the payloads unmasked, in order.
func TestWebSocket(t *testing.T) {
	long := strings.Repeat("x", 300)
	req := "GET /v2/stream HTTP/1.1\r\nHost: live.example.invalid\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	in := []byte(req)
	in = append(in, wsFrame(0x1, []byte(`{"samples":[1,2,3]}`), [4]byte{0x37, 0xfa, 0x21, 0x3d})...)
	in = append(in, wsFrame(0x2, []byte(long), [4]byte{9, 8, 7, 6})...)
	in = append(in, wsFrame(wsClose, nil, [4]byte{1, 2, 3, 4})...)
	in = append(in, wsFrame(0x1, []byte("after close"), [4]byte{1, 2, 3, 4})...)
	s := &Sinkhole{rec: defaultRecorder()}
	var out strings.Builder
	s.serveHTTP(&out, bufio.NewReader(strings.NewReader(string(in))), flow{dst: netip.MustParseAddrPort("192.0.2.77:80")}, "")
	// The accept value of RFC 6455's own example key.
	if !strings.HasPrefix(out.String(), "HTTP/1.1 101 ") || !strings.Contains(out.String(), "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") {
		t.Errorf("answer = %q, want 101 with the RFC's accept value", out.String())
	}
	evs := s.rec.take()
	if len(evs) != 1 || evs[0].Kind != trace.KindHTTP {
		t.Fatalf("events = %+v, want one http capture", evs)
	}
	if got, want := string(evs[0].Data), `{"samples":[1,2,3]}`+long; got != want {
		t.Errorf("data = %q, want the unmasked payloads %q", got, want)
	}
}

// FuzzReadFrame: any bytes give an error or a payload within the bound.
func FuzzReadFrame(f *testing.F) {
	f.Add(wsFrame(0x1, []byte("hello"), [4]byte{1, 2, 3, 4}), 3)
	f.Add([]byte{0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 9}, 100)
	f.Fuzz(func(t *testing.T, b []byte, keep int) {
		_, payload, _ := readFrame(bufio.NewReader(strings.NewReader(string(b))), keep)
		if len(payload) > max(keep, 0) {
			t.Errorf("payload of %d bytes, bound %d", len(payload), keep)
		}
	})
}

// TestHTTPIdleKeepAlive checks that a kept-alive connection whose client
// sends nothing more is closed: Node's keep-alive agent with an unread
// answer otherwise holds its process, and the phase, open.
func TestHTTPIdleKeepAlive(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	s := &Sinkhole{rec: defaultRecorder()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serveHTTP(server, bufio.NewReader(server), flow{dst: netip.MustParseAddrPort("192.0.2.77:80")}, "")
		server.Close()
	}()
	go io.Copy(io.Discard, client) //nolint:errcheck // drains the answers
	if _, err := io.WriteString(client, "POST /x HTTP/1.1\r\nHost: hook.example.invalid\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute): // a generous bound: the idle timeout is 5 s
		t.Fatal("the sinkhole kept an idle kept-alive connection open")
	}
}

// countConn counts the bytes read through it.
type countConn struct {
	net.Conn
	n int
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += n
	return n, err
}

// TestAnswersWithinAnswerMax holds every answer the sinkhole gives to
// the bound trace.Event.AnswerMax states for its capture, at the longest
// names: the rules take a file written with more bytes than the answers
// so far for one that is not network data.
func TestAnswersWithinAnswerMax(t *testing.T) {
	long := strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("a", 61) // 253, the longest name
	for _, close := range []bool{false, true} {
		r := &request{method: "GET", close: close}
		if got, max := len(response(r, time.Now())), (&trace.Event{Kind: trace.KindHTTP}).AnswerMax(); uint64(got) > max {
			t.Errorf("HTTP response (close %v): %d bytes, AnswerMax %d", close, got, max)
		}
	}
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT, dns.TypeANY} {
		q := new(dns.Msg)
		q.SetQuestion(long+".", qt)
		out, err := answer(q).Pack()
		if err != nil {
			t.Fatal(err)
		}
		if max := (&trace.Event{Kind: trace.KindDNS, Name: long}).AnswerMax(); uint64(len(out)) > max {
			t.Errorf("DNS %s answer: %d bytes, AnswerMax %d", dns.TypeToString[qt], len(out), max)
		}
	}
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.leaf(long)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		defer b.Close()
		srv := tls.Server(b, &tls.Config{Certificates: []tls.Certificate{*leaf}, NextProtos: []string{"http/1.1"}})
		srv.Handshake() //nolint:errcheck // the client reports
	}()
	cc := &countConn{Conn: a}
	cl := tls.Client(cc, &tls.Config{ServerName: long, InsecureSkipVerify: true}) //nolint:gosec // counts bytes only
	if err := cl.Handshake(); err != nil {
		t.Fatal(err)
	}
	if max := (&trace.Event{Kind: trace.KindTLS, Name: long}).AnswerMax(); cc.n == 0 || uint64(cc.n) > max {
		t.Errorf("TLS handshake: %d bytes from the server, AnswerMax %d", cc.n, max)
	} else {
		t.Logf("TLS handshake: %d bytes from the server, AnswerMax %d", cc.n, max)
	}
}
