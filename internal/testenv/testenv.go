// Package testenv gates tests that need the real machine: root, containerd,
// eBPF, Redis. Outside CI a missing requirement skips the test; in CI
// (CI=true) it fails it, so that a broken CI set-up cannot pass by skipping.
package testenv

import (
	"net"
	"os"
	"strconv"
	"testing"
	"time"
)

// ContainerdAddress is the containerd socket the integration tests use,
// FUMEHOOD_CONTAINERD or containerd's default.
func ContainerdAddress() string {
	if a := os.Getenv("FUMEHOOD_CONTAINERD"); a != "" {
		return a
	}
	return "/run/containerd/containerd.sock"
}

// InCI reports whether the tests run in CI (CI=true).
func InCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// Require fails (in CI) or skips (elsewhere) t unless ok.
func Require(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if InCI() {
		t.Fatalf("requirement missing in CI: %s", what)
	}
	t.Skipf("requirement missing: %s", what)
}

// Root requires uid 0.
func Root(t testing.TB) {
	t.Helper()
	Require(t, os.Geteuid() == 0, "root")
}

// Containerd requires root and a containerd socket that accepts
// connections, and returns its address.
func Containerd(t testing.TB) string {
	t.Helper()
	Root(t)
	addr := ContainerdAddress()
	c, err := net.DialTimeout("unix", addr, 2*time.Second)
	if err == nil {
		c.Close()
	}
	Require(t, err == nil, "containerd at "+addr)
	return addr
}

// BPF requires root and a kernel with BTF.
func BPF(t testing.TB) {
	t.Helper()
	Root(t)
	_, err := os.Stat("/sys/kernel/btf/vmlinux")
	Require(t, err == nil, "kernel BTF at /sys/kernel/btf/vmlinux")
}

// Redis requires a Redis server at FUMEHOOD_TEST_REDIS (default
// 127.0.0.1:6379) and returns its address.
func Redis(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("FUMEHOOD_TEST_REDIS")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
	}
	Require(t, err == nil, "redis at "+addr)
	return addr
}
