package proxy

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/ecosystem/pypi"
)

// FuzzPackument feeds upstream documents (untrusted) through parsing and
// rendering: no panic, and a rendering lists no version it was not asked
// to and links every tarball at the firewall.
func FuzzPackument(f *testing.F) {
	f.Add([]byte(`{"name":"x","dist-tags":{"latest":"1.0.0"},"time":{"1.0.0":"2020-01-01T00:00:00Z"},
		"versions":{"1.0.0":{"name":"x","version":"1.0.0","scripts":{"install":"x"},"dist":{"tarball":"http://u/x/-/x-1.0.0.tgz","integrity":"sha512-AA=="}}}}`))
	f.Add([]byte(`{"versions":{"1":{"dist":{"tarball":"file:///etc/passwd"}}}}`))
	f.Add([]byte(`{"versions":{"1":{"dist":null}},"time":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePackument("x", b)
		if err != nil {
			return
		}
		admitted := p.sortedVersions()
		out, err := p.render(admitted, "http://firewall", true)
		if err != nil {
			return
		}
		for _, v := range p.versions {
			if !strings.HasPrefix(v.Tarball, "http") {
				t.Errorf("version %s kept with tarball %q", v.Version, v.Tarball)
			}
		}
		if strings.Contains(string(out), `"tarball":"http://u/`) {
			t.Errorf("rendering links the upstream: %s", out)
		}
	})
}

// FuzzPath: request paths are untrusted; a parsed name is a valid npm
// name with no "." or ".." segment (dots inside a segment, as in
// "a..b", are a valid name, not a way up) and a file a .tgz without a
// slash.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"/left-pad", "/@s%2fp", "/@s/p/-/s-p-1.0.0.tgz", "/..%2f..%2fetc", "/a/-/../../x.tgz", "/%40s%2Fp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		name, file, err := parsePath(p)
		if err != nil {
			return
		}
		segs := strings.Split(name, "/")
		if name == "" || slices.Contains(segs, "..") || slices.Contains(segs, ".") || strings.Contains(file, "/") ||
			(file != "" && !strings.HasSuffix(file, ".tgz")) {
			t.Errorf("parsePath(%q) = %q, %q", p, name, file)
		}
	})
}

// FuzzProjectPage feeds upstream project pages (untrusted, JSON or HTML)
// through parsing and rendering: no panic; only files of the project
// whose URLs are http(s) are kept, and a rendering links every file at
// the firewall.
func FuzzProjectPage(f *testing.F) {
	f.Add([]byte(`{"meta":{"api-version":"1.1"},"name":"x","files":[{"filename":"x-1.0-py3-none-any.whl","url":"../../p/x-1.0-py3-none-any.whl","hashes":{"sha256":"00"},"upload-time":"2020-01-01T00:00:00Z"}]}`), true)
	f.Add([]byte(`<a href="/p/x-1.0.tar.gz#sha256=00" data-requires-python="&gt;=3">x-1.0.tar.gz</a><a href="file:///etc/passwd">x-2.0.tar.gz</a>`), false)
	f.Add([]byte(`{"files":[{"filename":"../x-1.0.tar.gz","url":"javascript:alert(1)"}]}`), true)
	f.Fuzz(func(t *testing.T, b []byte, asJSON bool) {
		ctype := "text/html"
		if asJSON {
			ctype = mediaSimpleJSON
		}
		page, _ := url.Parse("http://upstream/simple/x/")
		files, err := pypi.ParseProjectPage(page, b, ctype)
		if err != nil {
			return
		}
		p := newProject("x", b, files)
		for _, f := range p.byFile {
			if !strings.HasPrefix(f.URL, "http://") && !strings.HasPrefix(f.URL, "https://") || strings.ContainsAny(f.Filename, "/\\") {
				t.Errorf("file %q kept with URL %q", f.Filename, f.URL)
			}
		}
		for _, ctype := range []string{mediaSimpleJSON, mediaHTML} {
			out, err := p.render(p.sortedVersions(), "http://firewall", ctype)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if strings.Contains(string(out), "http://upstream/") {
				t.Errorf("rendering links the upstream: %s", out)
			}
		}
	})
}
