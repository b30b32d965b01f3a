package proxy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
)

// upstreamRegistry is a stand-in npm registry: full packuments (with
// ETags honoured) and tarballs, whose bytes a test may change.
type upstreamRegistry struct {
	srv *httptest.Server
	mu  sync.Mutex
	// pkgs: name → version → what the registry says of it.
	pkgs map[string]map[string]*pubVersion
	tags map[string]map[string]string
	// requests counts packument fetches by result (200, 304) and
	// tarball fetches ("tarball").
	requests map[string]int
	// tarballHost, when set, is the host packuments name for tarballs
	// (default the registry's own).
	tarballHost string
}

type pubVersion struct {
	tgz       []byte
	published time.Time
	integrity string // "" computes it from tgz
	scripts   map[string]string
}

func newUpstream(t testing.TB) *upstreamRegistry {
	u := &upstreamRegistry{pkgs: map[string]map[string]*pubVersion{}, tags: map[string]map[string]string{}, requests: map[string]int{}}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

// publish adds (or replaces) name@v; latest follows the newest publish.
func (u *upstreamRegistry) publish(name, v string, tgz []byte, published time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.pkgs[name] == nil {
		u.pkgs[name], u.tags[name] = map[string]*pubVersion{}, map[string]string{}
	}
	u.pkgs[name][v] = &pubVersion{tgz: tgz, published: published}
	u.tags[name]["latest"] = v
}

// replaceBytes changes the bytes of name@v behind the firewall's back;
// sameIntegrity keeps the packument's old integrity (a tarball that no
// longer matches its own packument).
func (u *upstreamRegistry) replaceBytes(name, v string, tgz []byte, sameIntegrity bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.pkgs[name][v]
	if sameIntegrity {
		p.integrity = sri(p.tgz)
	}
	p.tgz = tgz
}

func (u *upstreamRegistry) count(what string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.requests[what]
}

func sri(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(s[:])
}

func (u *upstreamRegistry) serve(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := strings.TrimPrefix(r.URL.Path, "/")
	if name, file, ok := strings.Cut(p, "/-/"); ok {
		u.requests["tarball"]++
		for v, pv := range u.pkgs[name] {
			if ecosystemTarballName(name, v) == file {
				w.Write(pv.tgz)
				return
			}
		}
		http.NotFound(w, r)
		return
	}
	name := p
	versions := u.pkgs[name]
	if versions == nil {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"not found"}`))
		return
	}
	doc := map[string]any{"_id": name, "name": name, "dist-tags": u.tags[name], "readme": "# " + name}
	vs, times := map[string]any{}, map[string]string{"created": "2020-01-01T00:00:00.000Z"}
	var newest time.Time
	for v, pv := range versions {
		integrity := pv.integrity
		if integrity == "" {
			integrity = sri(pv.tgz)
		}
		sha := sha1.Sum(pv.tgz)
		host := u.srv.URL
		if u.tarballHost != "" {
			host = u.tarballHost
		}
		doc := map[string]any{"name": name, "version": v, "description": "a package",
			"dependencies": map[string]string{}, "dist": map[string]any{
				"tarball":   host + "/" + name + "/-/" + ecosystemTarballName(name, v),
				"integrity": integrity, "shasum": hex.EncodeToString(sha[:])}}
		if pv.scripts != nil {
			doc["scripts"] = pv.scripts
		}
		vs[v] = doc
		times[v] = pv.published.UTC().Format(time.RFC3339Nano)
		newest = maxTime(newest, pv.published)
	}
	times["modified"] = newest.UTC().Format(time.RFC3339Nano)
	doc["versions"], doc["time"] = vs, times
	b, _ := json.Marshal(doc)
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		u.requests["304"]++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	u.requests["200"]++
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func ecosystemTarballName(name, v string) string {
	return strings.Replace(strings.TrimPrefix(name, "@"), "/", "-", 1) + "-" + v + ".tgz"
}

// tarball packs files (path → content) under package/, as npm pack does,
// with package.json's name and version set; its bytes are deterministic.
func tarball(t testing.TB, name, v string, files map[string][]byte) []byte {
	t.Helper()
	manifest := map[string]any{}
	if b, ok := files["package.json"]; ok {
		if err := json.Unmarshal(b, &manifest); err != nil {
			t.Fatal(err)
		}
	}
	manifest["name"], manifest["version"] = name, v
	files = maps.Clone(files)
	if files == nil {
		files = map[string][]byte{}
	}
	files["package.json"], _ = json.MarshalIndent(manifest, "", "  ")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, p := range slices.Sorted(maps.Keys(files)) {
		hdr := &tar.Header{Name: "package/" + p, Mode: 0o644, Size: int64(len(files[p])), ModTime: time.Unix(499162500, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(files[p])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// corpusFiles reads a corpus sample's files (bytes only: nothing of it
// runs on the host).
func corpusFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "sample.json" {
			return nil
		}
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// fakeFarm stands in for the scheduler and the workers: Submit stores a
// queued registry record of the handed-over bytes (de-duplicated as the
// scheduler does), and judge completes one with a verdict.
type fakeFarm struct {
	st    store.Store
	rules string
	pypi  bool // judge judges PyPI records
	// spell, when set, is the version an analysis reports (as the
	// artifact's metadata spells it), by the version it was queued as.
	spell map[string]string
	mu    sync.Mutex
	subs  []scheduler.Submission
}

func (f *fakeFarm) Submit(ctx context.Context, sub scheduler.Submission) (*store.Record, bool, error) {
	f.mu.Lock()
	f.subs = append(f.subs, sub)
	f.mu.Unlock()
	t, err := ecosystem.Parse(sub.Spec)
	if err != nil {
		return nil, false, err
	}
	r := &store.Record{Spec: sub.Spec, Source: store.FromRegistry, Artifact: sub.Fetched}
	r.ID, r.Rules = uuid.NewString(), f.rules
	name := ecosystem.CanonicalName(t.Ecosystem, t.Name)
	r.Package = analysis.Package{Ecosystem: t.Ecosystem, Name: name, Version: t.Version, Digest: sub.Fetched}
	return f.st.FindOrCreate(ctx, store.Key{Ecosystem: t.Ecosystem, Name: name, Version: t.Version, Digest: sub.Fetched, Rules: f.rules, Source: store.FromRegistry}, r)
}

func (f *fakeFarm) submissions() []scheduler.Submission {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.subs)
}

// judge completes the queued record of name@v with verdict v and, for a
// verdict other than benign, a hit of rule.
func (f *fakeFarm) judge(t testing.TB, name, version string, v analysis.Verdict, rule string) *store.Record {
	t.Helper()
	ctx := context.Background()
	eco := "npm"
	if f.pypi {
		eco = "pypi"
	}
	recs, err := f.st.(store.Firewall).RegistryRecords(ctx, eco, name)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Package.Version != version || r.Status != store.Queued {
			continue
		}
		a := r.Analysis
		a.Verdict, a.Started, a.Finished = v, time.Now().UTC(), time.Now().UTC()
		if spelt, ok := f.spell[version]; ok {
			a.Package.Version = spelt
		}
		a.Coverage = analysis.Coverage{Level: analysis.CoverageFull, InstallOK: true}
		if v != analysis.Benign {
			a.Score = 90
			a.Hits = []analysis.Hit{{Rule: rule, Severity: analysis.High, Summary: rule, Evidence: []string{rule}}}
		}
		if err := f.st.Start(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.st.Complete(ctx, &a, ""); err != nil {
			t.Fatal(err)
		}
		return r
	}
	t.Fatalf("no queued analysis of %s@%s to judge", name, version)
	return nil
}

// escape is a package name as npm puts it in a path.
func escape(name string) string {
	return strings.Replace(url.PathEscape(name), "%2F", "%2f", 1)
}
