package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/proxy"
)

// syncBuf is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// TestServeNPMProxy runs `serve --workers 0 --npm-proxy` and `proxy` in
// this process against one Redis and store, in front of a stand-in
// registry: both firewalls serve the package, and an admin's deny through
// the API hides it from both.
func TestServeNPMProxy(t *testing.T) {
	_, err := exec.LookPath("redis-server")
	testenv.Require(t, err == nil, "redis-server on PATH")
	logs := t.TempDir()
	redisAddr := startRedis(t, logs)
	data := t.TempDir()

	tgz := []byte("bytes of a tarball, never unpacked here")
	sum := sha512.Sum512(tgz)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".tgz") {
			w.Write(tgz)
			return
		}
		if r.URL.Path != "/demo-pkg" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"name": "demo-pkg", "dist-tags": map[string]string{"latest": "1.0.0"},
			"time": map[string]string{"1.0.0": "2020-01-01T00:00:00.000Z"},
			"versions": map[string]any{"1.0.0": map[string]any{"name": "demo-pkg", "version": "1.0.0", "dist": map[string]string{
				"tarball":   "http://" + r.Host + "/demo-pkg/-/demo-pkg-1.0.0.tgz",
				"integrity": "sha512-" + base64.StdEncoding.EncodeToString(sum[:])}}}})
	}))
	defer upstream.Close()

	api, served, alone := freeAddr(t), freeAddr(t), freeAddr(t)
	start := background(t)
	start("serve", "--workers", "0", "--listen", api, "--data", data, "--redis", redisAddr,
		"--npm-proxy", served, "--npm-upstream", upstream.URL, "--quarantine", "72h")
	start("proxy", "--npm-proxy", alone, "--npm-upstream", upstream.URL, "--data", data, "--redis", redisAddr, "--url", "http://"+api)

	versions := func(addr string) (int, []string) {
		resp, err := http.Get("http://" + addr + "/demo-pkg")
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var p struct{ Versions map[string]any }
		json.NewDecoder(resp.Body).Decode(&p)
		var vs []string
		for v := range p.Versions {
			vs = append(vs, v)
		}
		return resp.StatusCode, vs
	}
	for _, addr := range []string{served, alone} {
		testenv.WaitFor(t, 2*time.Minute, "the firewall at "+addr, func() bool { code, vs := versions(addr); return code == 200 && len(vs) == 1 })
	}

	// Downloads are decided on the store's facts: refused by both at
	// once. serve's own firewall lists the deny at once; the other
	// process's within its decision TTL.
	deny(t, api, data, `{"name":"demo-pkg","action":"deny","reason":"test"}`)
	denied(t, served, alone, "/demo-pkg/-/demo-pkg-1.0.0.tgz", versions)
}

// background returns a function that runs fumehood with args in the
// background until the test ends, failing it if the command fails.
func background(t *testing.T) func(args ...string) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return func(args ...string) {
		out := &syncBuf{}
		wg.Go(func() {
			if code := run(ctx, &env{stdout: out, stderr: out}, args); code != 0 {
				t.Errorf("fumehood %v: exit %d\n%s", args, code, out.b.String())
			}
		})
	}
}

// status is the status of a GET of u.
func status(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// denied checks a deny at two firewalls, served (in the process that
// took the deny) and alone (another process): the download at path is
// refused by both at once; listed, which lists the versions or files a
// firewall shows, shows none at served at once and at alone within its
// decision TTL.
func denied(t *testing.T, served, alone, path string, listed func(addr string) (int, []string)) {
	t.Helper()
	for _, addr := range []string{served, alone} {
		if code := status(t, "http://"+addr+path); code != http.StatusForbidden {
			t.Errorf("%s at %s after the deny: %d, want 403", path, addr, code)
		}
	}
	if code, vs := listed(served); code != 200 || len(vs) != 0 {
		t.Errorf("firewall at %s after the deny: %d %v, want none listed", served, code, vs)
	}
	testenv.WaitFor(t, proxy.DefaultDecisionTTL+5*time.Second, "the deny at the firewall of another process", func() bool {
		code, vs := listed(alone)
		return code == 200 && len(vs) == 0
	})
}

// deny posts the override body to the API at api as an admin (ops) of
// the farm at data.
func deny(t *testing.T, api, data, body string) {
	t.Helper()
	code, tok, stderr := runCLI(t, "token", "create", "--role", "admin", "--name", "ops", "--data", data)
	if code != 0 {
		t.Fatalf("token create: %d %s", code, stderr)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+api+"/v1/policy", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var o struct{ Who string }
	json.NewDecoder(resp.Body).Decode(&o)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || o.Who != "ops" {
		t.Fatalf("POST /v1/policy: %d, who %q; want 201 by ops", resp.StatusCode, o.Who)
	}
}

// TestServePyPIProxy runs `serve --workers 0 --pypi-proxy` and `proxy
// --pypi-proxy` (npm's firewall off) against one Redis and store, in
// front of a stand-in simple index: both list the old project's file,
// and an admin's deny of it through the API hides it from both.
func TestServePyPIProxy(t *testing.T) {
	_, err := exec.LookPath("redis-server")
	testenv.Require(t, err == nil, "redis-server on PATH")
	redisAddr := startRedis(t, t.TempDir())
	data := t.TempDir()
	whl := []byte("bytes of a wheel, never unpacked here")
	sum := sha256.Sum256(whl)
	index := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/simple/demo-pkg/":
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			json.NewEncoder(w).Encode(map[string]any{"meta": map[string]string{"api-version": "1.1"}, "name": "demo-pkg",
				"files": []map[string]any{{"filename": "demo_pkg-1.0-py3-none-any.whl", "url": "/files/demo_pkg-1.0-py3-none-any.whl",
					"hashes": map[string]string{"sha256": hex.EncodeToString(sum[:])}, "upload-time": "2020-01-01T00:00:00Z"}}})
		case "/files/demo_pkg-1.0-py3-none-any.whl":
			w.Write(whl)
		default:
			http.NotFound(w, r)
		}
	}))
	defer index.Close()
	t.Setenv("FUMEHOOD_PYPI_INDEX", index.URL+"/simple/")

	api, served, alone := freeAddr(t), freeAddr(t), freeAddr(t)
	start := background(t)
	start("serve", "--workers", "0", "--listen", api, "--data", data, "--redis", redisAddr, "--pypi-proxy", served, "--quarantine", "72h")
	start("proxy", "--npm-proxy", "", "--pypi-proxy", alone, "--pypi-upstream", index.URL+"/simple", "--data", data, "--redis", redisAddr,
		"--url", "http://"+api)

	files := func(addr string) (int, []string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/simple/demo-pkg/", nil)
		req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var p struct {
			Files []struct{ Filename, URL string }
		}
		json.NewDecoder(resp.Body).Decode(&p)
		var fs []string
		for _, f := range p.Files {
			fs = append(fs, f.URL)
		}
		return resp.StatusCode, fs
	}
	for _, addr := range []string{served, alone} {
		testenv.WaitFor(t, 2*time.Minute, "the PyPI firewall at "+addr, func() bool {
			code, fs := files(addr)
			return code == 200 && len(fs) == 1 && fs[0] == "http://"+addr+"/files/demo-pkg/demo_pkg-1.0-py3-none-any.whl"
		})
	}

	// As npm's: downloads refused by both at once, the listing of the
	// other process within its decision TTL.
	deny(t, api, data, `{"ecosystem":"pypi","name":"Demo_Pkg","action":"deny","reason":"test"}`)
	denied(t, served, alone, "/files/demo-pkg/demo_pkg-1.0-py3-none-any.whl", files)
}
