package proxy

import (
	"strings"
	"testing"
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
// name and a file a .tgz without a slash.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"/left-pad", "/@s%2fp", "/@s/p/-/s-p-1.0.0.tgz", "/..%2f..%2fetc", "/a/-/../../x.tgz", "/%40s%2Fp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		name, file, err := parsePath(p)
		if err != nil {
			return
		}
		if name == "" || strings.Contains(name, "..") || strings.Contains(file, "/") || (file != "" && !strings.HasSuffix(file, ".tgz")) {
			t.Errorf("parsePath(%q) = %q, %q", p, name, file)
		}
	})
}
