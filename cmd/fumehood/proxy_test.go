package main

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fumehood/fumehood/internal/testenv"
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

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api, served, alone := freeAddr(t), freeAddr(t), freeAddr(t)
	var wg sync.WaitGroup
	start := func(args ...string) {
		out := &syncBuf{}
		wg.Go(func() {
			if code := run(ctx, &env{stdout: out, stderr: out}, args); code != 0 {
				t.Errorf("fumehood %v: exit %d\n%s", args, code, out.b.String())
			}
		})
	}
	defer wg.Wait()
	defer cancel()
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

	code, tok, stderr := runCLI(t, "token", "create", "--role", "admin", "--name", "ops", "--data", data)
	if code != 0 {
		t.Fatalf("token create: %d %s", code, stderr)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+api+"/v1/policy", strings.NewReader(`{"name":"demo-pkg","action":"deny","reason":"test"}`))
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
	for _, addr := range []string{served, alone} {
		if code, vs := versions(addr); code != 200 || len(vs) != 0 {
			t.Errorf("firewall at %s after the deny: %d %v, want no version", addr, code, vs)
		}
		resp, err := http.Get(fmt.Sprintf("http://%s/demo-pkg/-/demo-pkg-1.0.0.tgz", addr))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("tarball at %s after the deny: %d, want 403", addr, resp.StatusCode)
		}
	}
}
