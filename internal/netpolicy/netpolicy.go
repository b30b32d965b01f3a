// Package netpolicy decides which addresses the farm itself may connect to
// on a submitter's behalf (webhook receivers). A webhook URL comes from
// whoever holds a submit token; without a policy it could make the farm
// post to its own loopback services, the cloud metadata endpoint or the
// internal network (server-side request forgery).
//
// The check runs when the connection is made, on the address the name
// resolved to, so a name that resolves to an internal address (or that
// changes its answer between a check and the dial) is refused too, and so
// is every redirect hop.
package netpolicy

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Errors of a URL or address the farm will not connect to.
var (
	ErrBadURL  = errors.New("want an absolute http or https URL without credentials")
	ErrBlocked = errors.New("address not allowed")
)

// MaxURL bounds the length of a URL ParseURL accepts.
const MaxURL = 2048

// internal are the networks refused unless allowed: this host, private and
// shared address space, link-local (cloud metadata), multicast, reserved.
var internal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("224.0.0.0/3"), // multicast, reserved, broadcast
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// Policy refuses internal addresses except those in Allow.
type Policy struct {
	Allow []netip.Prefix
}

// Parse reads a comma-separated list of networks (CIDR) or addresses to
// allow although internal, e.g. "10.1.2.0/24,127.0.0.1".
func Parse(s string) (Policy, error) {
	var p Policy
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		pre, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return Policy{}, fmt.Errorf("allowed network %q: want CIDR or an address", f)
			}
			pre = netip.PrefixFrom(a, a.BitLen())
		}
		p.Allow = append(p.Allow, pre.Masked())
	}
	return p, nil
}

// Check returns ErrBlocked for an internal address that Allow does not
// cover. IPv4-mapped IPv6 addresses are checked as IPv4.
func (p Policy) Check(a netip.Addr) error {
	a = a.Unmap()
	for _, n := range p.Allow {
		if n.Contains(a) {
			return nil
		}
	}
	for _, n := range internal {
		if n.Contains(a) {
			return fmt.Errorf("%s is in %s: %w", a, n, ErrBlocked)
		}
	}
	return nil
}

// ParseURL parses the URL of a receiver: absolute http or https, with a
// host, without credentials, at most MaxURL bytes. Errors wrap ErrBadURL.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || len(raw) > MaxURL {
		return nil, fmt.Errorf("%.100q: %w", raw, ErrBadURL)
	}
	return u, nil
}

// CheckURL refuses early what the dial would refuse for sure: a URL whose
// host is an internal address literal or "localhost". Other names are
// checked when connected to.
func (p Policy) CheckURL(u *url.URL) error {
	host := u.Hostname()
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return p.Check(netip.IPv6Loopback())
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return p.Check(a)
	}
	return nil
}

// Client returns an HTTP client whose every connection is checked against
// p. It uses no proxy: a proxy would connect on its behalf, unchecked.
func (p Policy) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, err)
			}
			if err := p.Check(ap.Addr()); err != nil {
				return fmt.Errorf("dial %s: %w", address, err)
			}
			return nil
		},
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:         d.DialContext,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConns:        16,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}
