package netpolicy

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	allow, err := Parse("10.1.2.0/24, 127.0.0.1,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr         string
		def, allowed bool // passes the default policy, passes allow
	}{
		{"93.184.0.10", true, true},
		{"2001:db8::1", true, true},
		{"127.0.0.1", false, true},
		{"127.0.0.2", false, false},
		{"::1", false, false},
		{"::ffff:127.0.0.1", false, true},
		{"::ffff:169.254.169.254", false, false},
		{"169.254.169.254", false, false},
		{"10.1.2.3", false, true},
		{"10.1.3.3", false, false},
		{"172.16.0.1", false, false},
		{"172.32.0.1", true, true},
		{"192.168.1.1", false, false},
		{"100.64.0.1", false, false},
		{"0.0.0.0", false, false},
		{"224.0.0.1", false, false},
		{"255.255.255.255", false, false},
		{"fd12::1", false, true},
		{"fe80::1", false, false},
		{"::", false, false},
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.addr)
		if err := (Policy{}).Check(a); (err == nil) != tt.def || (err != nil && !errors.Is(err, ErrBlocked)) {
			t.Errorf("default Check(%s) = %v, want allowed %v", tt.addr, err, tt.def)
		}
		if err := allow.Check(a); (err == nil) != tt.allowed {
			t.Errorf("Check(%s) with %v = %v, want allowed %v", tt.addr, allow.Allow, err, tt.allowed)
		}
	}
}

func TestParse(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "localhost", "10.0.0.0/8;rm", "::1/200"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	p, err := Parse(" , 10.9.8.7/8 ,")
	if err != nil || len(p.Allow) != 1 || p.Allow[0] != netip.MustParsePrefix("10.0.0.0/8") {
		t.Errorf("Parse = %v, %v; want the masked 10.0.0.0/8 alone", p.Allow, err)
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://hooks.example.test/x", true}, // names are checked when dialled
		{"http://127.0.0.1:8080/", false},
		{"http://[::1]/", false},
		{"http://LOCALHOST./", false},
		{"http://169.254.169.254/latest/meta-data/", false},
		{"http://198.51.100.7/", true},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		if err := (Policy{}).CheckURL(u); (err == nil) != tt.ok {
			t.Errorf("CheckURL(%s) = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}

func TestParseURL(t *testing.T) {
	for _, tt := range []struct {
		raw string
		ok  bool
	}{
		{"https://hooks.example.test/x?y=1", true},
		{"http://127.0.0.1:9/h", true}, // syntax only: CheckURL judges the address
		{"file:///etc/passwd", false},
		{"gopher://x/", false},
		{"https://u:p@hooks.example.test/", false},
		{"https:///path", false},
		{"/relative", false},
		{"http://x/" + strings.Repeat("a", MaxURL), false},
		{"http://%zz/", false},
	} {
		_, err := ParseURL(tt.raw)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadURL)) {
			t.Errorf("ParseURL(%.40q) = %v, want ok %v", tt.raw, err, tt.ok)
		}
	}
}

// serve starts a server on addr (a loopback address) answering h.
func serve(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// The client checks each connection: the address a name resolves to, and
// every redirect hop.
func TestClient(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	inner := serve(t, "127.0.0.2:0", ok)
	outer := serve(t, "127.0.0.1:0", http.RedirectHandler(inner.URL+"/x", http.StatusFound))
	_, port, _ := net.SplitHostPort(outer.Listener.Addr().String())

	only1, _ := Parse("127.0.0.1")
	both, _ := Parse("127.0.0.0/8")
	tests := []struct {
		name string
		p    Policy
		url  string
		ok   bool
	}{
		{"loopback by default", Policy{}, inner.URL, false},
		{"a name resolving to loopback", Policy{}, "http://localhost:" + port + "/", false},
		{"allowed", only1, outer.URL + "/ok", false}, // redirected to 127.0.0.2
		{"allowed with its redirect", both, outer.URL, true},
		{"allowed directly", both, inner.URL, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.p.Client(5 * time.Second).Get(tt.url)
			if err == nil {
				resp.Body.Close()
			}
			if (err == nil) != tt.ok {
				t.Fatalf("Get(%s) = %v, want ok %v", tt.url, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrBlocked) {
				t.Errorf("Get(%s) error %v does not wrap ErrBlocked", tt.url, err)
			}
		})
	}
}
