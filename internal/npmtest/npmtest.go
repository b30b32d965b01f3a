// Package npmtest is a stand-in npm registry for tests: packuments and
// tarballs of packages a test publishes, served over HTTP on an address
// of the test's choosing, so that no test reaches a real registry.
package npmtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Registry serves what Publish added: GET /NAME is the packument,
// GET /NAME/-/NAME-VERSION.tgz the tarball.
type Registry struct {
	URL string // http://HOST:PORT, no trailing slash

	srv        *httptest.Server
	mu         sync.Mutex
	packuments map[string]map[string]any // name → packument
	tarballs   map[string][]byte         // URL path → tarball
}

// New serves a registry on ln (nil: a loopback port of its own) until tb
// ends.
func New(tb testing.TB, ln net.Listener) *Registry {
	tb.Helper()
	r := &Registry{packuments: map[string]map[string]any{}, tarballs: map[string][]byte{}}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	if ln != nil {
		r.srv.Listener.Close()
		r.srv.Listener = ln
	}
	r.srv.Start()
	tb.Cleanup(r.srv.Close)
	r.URL = r.srv.URL
	return r
}

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, ok := r.tarballs[req.URL.Path]; ok {
		w.Write(b)
		return
	}
	if p, ok := r.packuments[strings.TrimPrefix(req.URL.Path, "/")]; ok {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(p)
		return
	}
	http.NotFound(w, req)
}

// Published is where a published version's tarball is and its hash, as a
// lockfile records them.
type Published struct {
	Resolved, Integrity string
}

// Publish adds the package whose package.json is manifest (with "name"
// and "version") and whose other files are files (path in the package →
// content), and makes it the latest version of its name.
func (r *Registry) Publish(tb testing.TB, manifest map[string]any, files map[string]string) Published {
	tb.Helper()
	name, _ := manifest["name"].(string)
	version, _ := manifest["version"].(string)
	if name == "" || version == "" {
		tb.Fatalf("npmtest: a manifest without name or version: %v", manifest)
	}
	tgz := Tarball(tb, manifest, files)
	path := "/" + name + "/-/" + name + "-" + version + ".tgz"
	sum := sha512.Sum512(tgz)
	pub := Published{Resolved: r.URL + path, Integrity: "sha512-" + base64.StdEncoding.EncodeToString(sum[:])}
	doc := map[string]any{}
	for k, v := range manifest {
		doc[k] = v
	}
	doc["dist"] = map[string]string{"tarball": pub.Resolved, "integrity": pub.Integrity}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tarballs[path] = tgz
	p := r.packuments[name]
	if p == nil {
		p = map[string]any{"name": name, "versions": map[string]any{}}
		r.packuments[name] = p
	}
	p["versions"].(map[string]any)[version] = doc
	p["dist-tags"] = map[string]string{"latest": version}
	return pub
}

// Tarball packs manifest as package/package.json and files under
// package/, as npm pack does, into a gzipped tar.
func Tarball(tb testing.TB, manifest map[string]any, files map[string]string) []byte {
	tb.Helper()
	pj, err := json.Marshal(manifest)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	add := func(name string, body []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			tb.Fatal(err)
		}
	}
	add("package.json", pj)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names) // the same bytes, so the same digest, every time
	for _, n := range names {
		add(n, []byte(files[n]))
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
