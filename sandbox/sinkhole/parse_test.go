package sinkhole

import (
	"bufio"
	"crypto/x509"
	"encoding/binary"
	"fmt"
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
			for _, e := range udpEvents(tt.pkt) {
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

func TestRecorderBounds(t *testing.T) {
	tests := []struct {
		name               string
		maxEvents, maxByte int
		add                int
		data               int
		wantKept           int
		wantLost           uint64
	}{
		{"fits", 10, 1 << 20, 5, 10, 5, 0},
		{"count bound", 3, 1 << 20, 5, 10, 3, 2},
		{"byte bound", 100, 3 * (eventOverhead + 100), 5, 100, 3, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(tt.maxEvents, tt.maxByte)
			for range tt.add {
				r.add(trace.Event{Kind: trace.KindUDP, Data: make([]byte, tt.data)})
			}
			evs := r.snapshot()
			var lost uint64
			if n := len(evs); n > 0 && evs[n-1].Kind == trace.KindLost {
				lost = evs[n-1].Count
				evs = evs[:n-1]
			}
			if len(evs) != tt.wantKept || lost != tt.wantLost {
				t.Errorf("got %d kept, %d lost; want %d kept, %d lost", len(evs), lost, tt.wantKept, tt.wantLost)
			}
			for _, e := range evs {
				if e.Time.IsZero() {
					t.Errorf("event without time: %+v", e)
				}
			}
		})
	}
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
		for _, e := range udpEvents(pkt) {
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
	s := &Sinkhole{rec: newRecorder(10, 1<<20)}
	var out strings.Builder
	s.serveHTTP(&out, bufio.NewReader(strings.NewReader(string(in))), netip.MustParseAddrPort("192.0.2.77:80"), "")
	// The accept value of RFC 6455's own example key.
	if !strings.HasPrefix(out.String(), "HTTP/1.1 101 ") || !strings.Contains(out.String(), "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") {
		t.Errorf("answer = %q, want 101 with the RFC's accept value", out.String())
	}
	evs := s.rec.snapshot()
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
