package pypi

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
)

// computedVersion are source trees whose setup.py computes the version:
// only running it tells.
var computedVersion = map[string]map[string]string{
	"version-file": {
		"setup.py":            "from setuptools import setup\nsetup(name='ver-file', version=open('VERSION').read().strip(), packages=['verfile'])\n",
		"VERSION":             "1.4.2\n",
		"verfile/__init__.py": "",
	},
	"version-exec": {
		"setup.py":            "from setuptools import setup\nns = {}\nexec(open('verexec/version.py').read(), ns)\nsetup(name='ver-exec', version=ns['__version__'], packages=['verexec'])\n",
		"verexec/__init__.py": "",
		"verexec/version.py":  "__version__ = '.'.join(map(str, (0, 9, 1)))\n",
	},
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for n, b := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPackComputedVersion(t *testing.T) {
	lim := archive.Limits{MaxBytes: 1 << 20, MaxFiles: 100}
	for name, files := range computedVersion {
		t.Run(name, func(t *testing.T) {
			dir := writeTree(t, files)
			if _, _, err := StaticNameVersion(dir); !errors.Is(err, ErrNoStaticMetadata) || !errors.Is(err, archive.ErrBadArtifact) {
				t.Fatalf("StaticNameVersion: err %v, want ErrNoStaticMetadata and ErrBadArtifact", err)
			}
			out, m, err := Pack(dir, t.TempDir(), lim)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := filepath.Base(out), filepath.Base(dir)+".tar.gz"; got != want {
				t.Errorf("sdist %s, want %s (the directory's name)", got, want)
			}
			if !m.Dynamic || m.Name != "" || m.Version != "" || m.Build != "setup.py" || len(m.Modules) != 1 {
				t.Errorf("Meta = %+v, want Dynamic, no name or version, build setup.py, one module", m)
			}
			c, err := archive.CheckTarGz(out, lim, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range c.Names {
				if strings.HasSuffix(n, "/PKG-INFO") {
					t.Errorf("packed %s: a dynamic sdist has no PKG-INFO (it would have to invent a version)", n)
				}
			}
		})
	}
}

func TestCheckSourceArchive(t *testing.T) {
	lim := archive.Limits{MaxBytes: 1 << 20, MaxFiles: 100}
	work := t.TempDir()
	empty := writeTree(t, map[string]string{"README": "x"})
	out := filepath.Join(work, "empty.tar.gz")
	if err := archive.WriteTarGz(out, []archive.Member{{Name: "empty/README", Path: filepath.Join(empty, "README")}}, lim); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(out, lim); !errors.Is(err, archive.ErrBadArtifact) {
		t.Errorf("Check of an archive with neither PKG-INFO nor setup.py: err %v, want ErrBadArtifact", err)
	}
}

func TestParseReport(t *testing.T) {
	tests := []struct {
		name   string
		report string
		want   Meta
		ok     bool
	}{
		{"pip report", `{"version":"1","pip_version":"23.0.1","install":[{"download_info":{},"is_direct":true,"requested":true,"metadata":{"metadata_version":"2.1","name":"ver-file","version":"1.4.2","requires_dist":["requests>=2"]}}],"environment":{}}`,
			Meta{Name: "ver-file", Version: "1.4.2", Requires: []string{"requests>=2"}}, true},
		{"no requirements", `{"install":[{"metadata":{"name":"x","version":"0.9.1"}}]}`, Meta{Name: "x", Version: "0.9.1"}, true},
		{"not json", `ERROR: x`, Meta{}, false},
		{"nothing installed", `{"install":[]}`, Meta{}, false},
		{"two distributions", `{"install":[{"metadata":{"name":"x","version":"1"}},{"metadata":{"name":"y","version":"1"}}]}`, Meta{}, false},
		{"bad version", `{"install":[{"metadata":{"name":"x","version":"one"}}]}`, Meta{}, false},
		{"bad name", `{"install":[{"metadata":{"name":"../x","version":"1"}}]}`, Meta{}, false},
		{"oversized", `{"install":[{"metadata":{"name":"x","version":"1","summary":"` + strings.Repeat("a", MaxReport) + `"}}]}`, Meta{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReport([]byte(tt.report))
			if !tt.ok {
				if !errors.Is(err, archive.ErrBadArtifact) {
					t.Fatalf("ParseReport: got %+v, %v; want ErrBadArtifact", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseReport = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
