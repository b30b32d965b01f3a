package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/ecosystem/pypi"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
)

// Media types of project pages (PEP 691).
const (
	mediaSimpleJSON = "application/vnd.pypi.simple.v1+json"
	mediaSimpleHTML = "application/vnd.pypi.simple.v1+html"
	mediaHTML       = "text/html"
)

// PyPIServer is the PyPI firewall: an http.Handler serving a PEP 503/691
// simple index (/simple/NAME/) and the files it lists (/files/NAME/FILE).
// Close it.
type PyPIServer struct {
	*core
	up   *upstream[*project]
	docs docs[*project]
}

// NewPyPI returns a firewall serving cfg.Upstream, a simple index, under
// cfg.Policy.
func NewPyPI(cfg Config) (*PyPIServer, error) {
	c, err := newCore(cfg, ecosystem.PyPI)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(c.cfg.Upstream, "/")
	page := func(name string) string { return base + "/" + name + "/" }
	s := &PyPIServer{core: c, up: upstreamOf(c, pypi.SimpleAccept, page, func(name string, b []byte, ctype string) (*project, error) {
		u, err := url.Parse(page(name))
		if err != nil {
			return nil, err
		}
		files, err := pypi.ParseProjectPage(u, b, ctype)
		if err != nil {
			return nil, fmt.Errorf("project page of %s: %w", name, err)
		}
		return newProject(name, b, files), nil
	})}
	s.docs = docs[*project]{c: c, up: s.up, decide: s.decide, versions: (*project).sortedVersions, queue: s.queueFrom}
	return s, nil
}

// project is an upstream project page, grouped by version.
type project struct {
	name     string // PEP 503 normalized
	digest   string // of the upstream's page
	releases map[string]*release
	byFile   map[string]*distFile
}

// release is one version of a project and its files.
type release struct {
	Version   string
	Published time.Time // the earliest upload-time of its files; zero when the index does not say
	files     []*distFile
	// analysed is the file whose analysis decides the release: the one
	// pip in the sandbox installs (pypi.Pick), nil when none fits.
	analysed *distFile
}

type distFile struct {
	pypi.File
	version string
}

// newProject groups the files of a page by the version their names give;
// files whose names are not a wheel or sdist of the project, or whose
// URLs are not http(s), are left out.
func newProject(name string, body []byte, files []pypi.File) *project {
	p := &project{name: name, digest: sha256Digest(body), releases: map[string]*release{}, byFile: map[string]*distFile{}}
	for _, f := range files {
		d, ok := pypi.ParseFilename(f.Filename)
		u, err := url.Parse(f.URL)
		if !ok || pypi.Normalize(d.Name) != name || pypi.ValidVersion(d.Version) != nil || strings.ContainsAny(f.Filename, "/\\") ||
			err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			continue // not a file of the project the firewall can fetch
		}
		df := &distFile{File: f, version: d.Version}
		r := p.releases[d.Version]
		if r == nil {
			r = &release{Version: d.Version}
			p.releases[d.Version] = r
		}
		if !f.Uploaded.IsZero() && (r.Published.IsZero() || f.Uploaded.Before(r.Published)) {
			r.Published = f.Uploaded
		}
		r.files = append(r.files, df)
		p.byFile[f.Filename] = df
	}
	for _, r := range p.releases {
		fs := make([]pypi.File, len(r.files))
		for i, f := range r.files {
			fs[i] = f.File
		}
		if pick, ok := pypi.Pick(fs, name, r.Version); ok {
			r.analysed = p.byFile[pick.Filename]
		}
	}
	return p
}

// sortedVersions returns the project's versions, oldest first.
func (p *project) sortedVersions() []string {
	vs := make([]string, 0, len(p.releases))
	for v := range p.releases {
		vs = append(vs, v)
	}
	slices.SortFunc(vs, func(a, b string) int {
		va, _ := pypi.ParseVersion(a)
		vb, _ := pypi.ParseVersion(b)
		if c := va.Compare(vb); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return vs
}

// integrity is how a file's index hash is recorded.
func integrity(f *distFile) string {
	if f == nil || f.SHA256 == "" {
		return ""
	}
	return "sha256=" + strings.ToLower(f.SHA256)
}

// ServeHTTP serves GET and HEAD of project pages (/simple/NAME/, HTML or
// JSON by Accept), files (/files/NAME/FILE) and the metrics at
// /-/fumehood/metrics.
func (s *PyPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if p == "/-/fumehood/metrics" {
		s.metrics.Handler().ServeHTTP(w, r)
		return
	}
	who, ok := s.reader(w, r)
	if !ok {
		return
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case len(parts) == 3 && parts[0] == "simple" && parts[2] == "":
		name, err := url.PathUnescape(parts[1])
		switch {
		case err != nil || pypi.ValidName(name) != nil:
			jsonError(w, http.StatusNotFound, fmt.Sprintf("not a project name: %q", clip(parts[1])))
		case pypi.Normalize(name) != name:
			http.Redirect(w, r, "/simple/"+pypi.Normalize(name)+"/", http.StatusMovedPermanently)
		default:
			s.serveProject(w, r, who, name)
		}
	case len(parts) == 2 && parts[0] == "simple" && parts[1] != "":
		http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
	case len(parts) == 3 && parts[0] == "files":
		name, err1 := url.PathUnescape(parts[1])
		file, err2 := url.PathUnescape(parts[2])
		if err1 != nil || err2 != nil || pypi.ValidName(name) != nil || pypi.Normalize(name) != name {
			jsonError(w, http.StatusNotFound, "not a file of the firewall")
			return
		}
		s.serveFile(w, r, who, name, file)
	default:
		jsonError(w, http.StatusNotFound, "the fumehood firewall serves /simple/NAME/ pages and their files only")
	}
}

// decide returns the decision on every version of p and the recorded
// files by name; fresh: read from the store, not the decision cache
// (core.decide).
func (s *PyPIServer) decide(ctx context.Context, p *project, fresh bool) (map[string]Decision, map[string]*store.Tarball, error) {
	facts := func() map[string]Facts {
		facts := make(map[string]Facts, len(p.releases))
		for v, r := range p.releases {
			facts[v] = Facts{Version: v, Published: r.Published, Integrity: integrity(r.analysed)}
		}
		return facts
	}
	return s.core.decide(ctx, p.name, p, fresh, facts, func(v string) string {
		if a := p.releases[v].analysed; a != nil {
			return a.Filename
		}
		return ""
	}, func(v string) string {
		pv, err := pypi.ParseVersion(v)
		if err != nil {
			return v
		}
		return pv.Key()
	})
}

func (s *PyPIServer) serveProject(w http.ResponseWriter, r *http.Request, who, name string) {
	p, admitted, ok := s.docs.list(w, r, who, name, "project")
	if !ok {
		return
	}
	ctype := negotiate(r.Header.Get("Accept"))
	base := s.base(r)
	if _, done := notModified(w, r, name, ctype, base, p.digest, strings.Join(admitted, ",")); done {
		return
	}
	body, err := p.render(admitted, base, ctype)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(body)
}

// negotiate picks the project page's media type from an Accept header:
// PEP 691 JSON or HTML, by quality (JSON on a tie); HTML when the client
// names neither.
func negotiate(accept string) string {
	best, bestQ := mediaHTML, 0.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		var t string
		switch mt {
		case mediaSimpleJSON, "application/vnd.pypi.simple.latest+json":
			t = mediaSimpleJSON
		case mediaSimpleHTML, "application/vnd.pypi.simple.latest+html":
			t = mediaSimpleHTML
		case mediaHTML, "*/*", "text/*":
			t = mediaHTML
		default:
			continue
		}
		if q > bestQ || (q == bestQ && t == mediaSimpleJSON) {
			best, bestQ = t, q
		}
	}
	return best
}

// fileURL is the firewall's URL of a file.
func fileURL(base, name, file string) string {
	return base + "/files/" + name + "/" + url.PathEscape(file)
}

// render writes the project page a client gets, in ctype: the files of
// the admitted versions only, at the firewall's URLs, with their sha256.
func (p *project) render(admitted []string, base, ctype string) ([]byte, error) {
	var files []*distFile
	for _, v := range admitted {
		files = append(files, p.releases[v].files...)
	}
	if ctype == mediaSimpleJSON {
		type jsonFile struct {
			Filename       string            `json:"filename"`
			URL            string            `json:"url"`
			Hashes         map[string]string `json:"hashes"`
			RequiresPython string            `json:"requires-python,omitempty"`
			Yanked         bool              `json:"yanked"`
			UploadTime     string            `json:"upload-time,omitempty"`
		}
		doc := struct {
			Meta     map[string]string `json:"meta"`
			Name     string            `json:"name"`
			Files    []jsonFile        `json:"files"`
			Versions []string          `json:"versions"`
		}{Meta: map[string]string{"api-version": "1.1"}, Name: p.name, Files: []jsonFile{}, Versions: admitted}
		if doc.Versions == nil {
			doc.Versions = []string{}
		}
		for _, f := range files {
			jf := jsonFile{Filename: f.Filename, URL: fileURL(base, p.name, f.Filename), Hashes: map[string]string{},
				RequiresPython: f.RequiresPython, Yanked: f.Yanked}
			if f.SHA256 != "" {
				jf.Hashes["sha256"] = f.SHA256
			}
			if !f.Uploaded.IsZero() {
				jf.UploadTime = f.Uploaded.UTC().Format(time.RFC3339Nano)
			}
			doc.Files = append(doc.Files, jf)
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("render project %s: %w", p.name, err)
		}
		return b, nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"1.1\">\n<title>Links for %s</title>\n</head>\n<body>\n<h1>Links for %s</h1>\n",
		html.EscapeString(p.name), html.EscapeString(p.name))
	for _, f := range files {
		href := fileURL(base, p.name, f.Filename)
		if f.SHA256 != "" {
			href += "#sha256=" + f.SHA256
		}
		fmt.Fprintf(&b, "<a href=\"%s\"", html.EscapeString(href))
		if f.RequiresPython != "" {
			fmt.Fprintf(&b, " data-requires-python=\"%s\"", html.EscapeString(f.RequiresPython))
		}
		if f.Yanked {
			b.WriteString(` data-yanked=""`)
		}
		fmt.Fprintf(&b, ">%s</a><br/>\n", html.EscapeString(f.Filename))
	}
	b.WriteString("</body>\n</html>\n")
	return b.Bytes(), nil
}

func (s *PyPIServer) serveFile(w http.ResponseWriter, r *http.Request, who, name, file string) {
	s.docs.serveFile(w, r, who, name, file, func(p *project, file string) (download, bool) {
		f := p.byFile[file]
		if f == nil {
			return download{}, false
		}
		return download{kind: "file", name: name, version: f.version, what: name + "==" + f.version + " (" + f.Filename + ")",
			decide: func(ctx context.Context) (Decision, *store.Tarball, error) { return s.decideFile(ctx, p, f) },
			ensure: func(ctx context.Context, seen *store.Tarball) (store.Tarball, error) {
				return s.ensureFile(ctx, p, f, seen)
			},
			queue: func() { s.queueFrom(p, f.version, scheduler.QueueInteractive) },
		}, true
	})
}

// decideFile returns the decision on f's version and f's recorded bytes
// (nil before the firewall fetched them), read from the store as
// Server.decideOne's. A file whose index hash differs from the one
// recorded at first sight is blocked, whichever file of its version it
// is.
func (s *PyPIServer) decideFile(ctx context.Context, p *project, f *distFile) (Decision, *store.Tarball, error) {
	ds, seen, err := s.decide(ctx, p, true)
	if err != nil {
		return Decision{}, nil, err
	}
	tb := seen[f.Filename]
	if tb != nil && tb.Integrity != integrity(f) {
		return Decision{State: Blocked, Reason: fmt.Sprintf("the registry's bytes changed after the firewall first saw them (%s, on %s, digest %s)",
			f.Filename, tb.FirstSeen.Format(time.RFC3339), tb.Digest)}, tb, nil
	}
	return ds[f.version], tb, nil
}

// ensureFile returns the recorded bytes of f, fetched from the URL the
// index gives and checked against its sha256 at first sight. An index
// that gives no sha256 has its files refused.
func (s *PyPIServer) ensureFile(ctx context.Context, p *project, f *distFile, seen *store.Tarball) (store.Tarball, error) {
	want, err := hex.DecodeString(f.SHA256)
	if err != nil || len(want) != sha256.Size {
		return store.Tarball{}, fmt.Errorf("%s: %w: the index gives no sha256", f.Filename, errIntegrity)
	}
	return s.ensure(ctx, seen, fetchFile{url: f.URL, name: f.Filename, hash: sha256.New(), want: want, integrity: integrity(f)},
		store.Tarball{Ecosystem: ecosystem.PyPI, Name: p.name, Version: f.Filename, Integrity: integrity(f)})
}

// queueFrom fetches the file of a held version the sandbox would install
// and submits its analysis on the queue q, in the background. A version
// with no such file (only wheels for other platforms) is not queued: it
// waits for the window.
func (s *PyPIServer) queueFrom(p *project, v, q string) {
	a := p.releases[v].analysed
	if a == nil {
		return
	}
	s.background(p.name+"=="+v, func(ctx context.Context) error {
		_, seen, err := s.decide(ctx, p, false)
		if err != nil {
			return err
		}
		tb, err := s.ensureFile(ctx, p, a, seen[a.Filename])
		if err != nil {
			return err
		}
		return s.submit(ctx, p.name, "pypi:"+p.name+"=="+v, tb.Digest, q, p.releases[v].Published)
	})
}
