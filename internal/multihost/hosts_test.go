package multihost

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// serviceAddr is where the services listen, an address of the machine's
// loopback link for the run: the one address a worker host reaches.
const (
	serviceAddr = "100.72.0.1"
	hostsNet    = "100.72.0.0/16"
)

// host is a worker host: a network namespace with a veth to the machine's.
type host struct {
	name string // netns and host-side link: fhmh-NAME
	addr string // its address inside the namespace
}

func (h *host) netns() string { return "/run/netns/" + h.name }

// ip runs ip(8) with args and fails tb on error.
func ip(tb testing.TB, args ...string) {
	tb.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		tb.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newHosts adds the service address and one host per name; hosts
// number from 1 (100.72.1.0/30, ...).
func newHosts(tb testing.TB, names ...string) []*host {
	tb.Helper()
	ip(tb, "addr", "add", serviceAddr+"/32", "dev", "lo")
	var hosts []*host
	for i, n := range names {
		h := &host{name: "fhmh-" + n, addr: fmt.Sprintf("100.72.%d.2", i+1)}
		gw := fmt.Sprintf("100.72.%d.1", i+1)
		ip(tb, "netns", "add", h.name)
		ip(tb, "link", "add", h.name, "type", "veth", "peer", "name", "eth0", "netns", h.name)
		ip(tb, "addr", "add", gw+"/30", "dev", h.name)
		ip(tb, "link", "set", h.name, "up")
		ip(tb, "-n", h.name, "link", "set", "lo", "up")
		ip(tb, "-n", h.name, "addr", "add", h.addr+"/30", "dev", "eth0")
		ip(tb, "-n", h.name, "link", "set", "eth0", "up")
		ip(tb, "-n", h.name, "route", "add", serviceAddr+"/32", "via", gw)
		hosts = append(hosts, h)
	}
	return hosts
}

// pids lists the processes whose network namespace is the host's: every
// process of that host.
func (h *host) pids() []int {
	out, _ := exec.Command("ip", "netns", "pids", h.name).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// kill sends SIGKILL to every process of the host and returns how many
// there were.
func (h *host) kill() int {
	pids := h.pids()
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
	return len(pids)
}

// removeHosts kills every process of the hosts named, removes their
// links and namespaces and the service address; what is not there is no
// error (it also clears what a killed run left).
func removeHosts(names ...string) {
	for _, n := range names {
		h := &host{name: "fhmh-" + n}
		h.kill()
		exec.Command("ip", "link", "del", h.name).Run()
		exec.Command("ip", "netns", "del", h.name).Run()
	}
	exec.Command("ip", "addr", "del", serviceAddr+"/32", "dev", "lo").Run()
}

// ourNetwork lists the network namespaces, links and addresses of ours
// that exist.
func ourNetwork() []string {
	var left []string
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "fhmh") {
			left = append(left, "netns "+e.Name())
		}
	}
	out, _ := exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], "fhmh") {
			left = append(left, "link "+strings.TrimSuffix(strings.Split(f[1], "@")[0], ":"))
		}
	}
	if out, _ := exec.Command("ip", "-o", "addr", "show", "dev", "lo").Output(); strings.Contains(string(out), " "+serviceAddr+"/") {
		left = append(left, "address "+serviceAddr)
	}
	return left
}
