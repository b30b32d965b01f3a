package pypi

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
)

func TestStaticNameVersion(t *testing.T) {
	tests := []struct {
		name        string
		files       map[string]string
		wantName    string
		wantVersion string
	}{
		{name: "pyproject", files: map[string]string{"pyproject.toml": "[build-system]\nrequires = [\"setuptools\"]\nname = \"not-this\"\n\n[project]\nname = \"proj-x\"\nversion = \"1.2.3\" # pinned\n"}, wantName: "proj-x", wantVersion: "1.2.3"},
		{name: "setup.cfg", files: map[string]string{"setup.cfg": "[metadata]\nname = cfg_x\nversion = 0.1.dev2\n", "setup.py": "from setuptools import setup\nsetup()\n"}, wantName: "cfg_x", wantVersion: "0.1.dev2"},
		{name: "setup.py literals", files: map[string]string{"setup.py": "NAME_HINT = 'x'\ndef f(name='wrong'): pass\nsetup(\n    name='lit-x',\n    version=\"2.0.post1\",\n)\n"}, wantName: "lit-x", wantVersion: "2.0.post1"},
		{name: "dynamic version", files: map[string]string{"pyproject.toml": "[project]\nname = \"dyn\"\ndynamic = [\"version\"]\n", "setup.py": "setup(version=open('V').read())\n"}},
		{name: "nothing static", files: map[string]string{"setup.py": "setup(**kw)\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, b := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			name, version, err := StaticNameVersion(dir)
			if tt.wantName == "" {
				if !errors.Is(err, archive.ErrBadArtifact) {
					t.Fatalf("StaticNameVersion = %q, %q, %v; want ErrBadArtifact", name, version, err)
				}
				return
			}
			if err != nil || name != tt.wantName || version != tt.wantVersion {
				t.Fatalf("StaticNameVersion = %q, %q, %v; want %q, %q", name, version, err, tt.wantName, tt.wantVersion)
			}
		})
	}
}

func TestPackSdist(t *testing.T) {
	dir := t.TempDir()
	for n, b := range map[string]string{
		"setup.py": "from setuptools import setup\nsetup(name='Demo.Pkg', version='1.0')\n", "sample.json": "{}",
		"demo_pkg/__init__.py": "", "demo_pkg/__pycache__/x.pyc": "", "demo_pkg/sample.json": "{}", ".git/HEAD": "", "extra.py": "",
	} {
		p := filepath.Join(dir, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	out, m, err := Pack(dir, work, archive.Limits{MaxBytes: 1 << 20, MaxFiles: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out, filepath.Join(work, "demo_pkg-1.0.tar.gz"); got != want {
		t.Errorf("sdist: got %s, want %s", got, want)
	}
	if m.Name != "Demo.Pkg" || m.Version != "1.0" {
		t.Errorf("meta: got %s %s, want Demo.Pkg 1.0", m.Name, m.Version)
	}
	if got, want := m.Modules, []string{"demo_pkg", "extra"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("modules: got %v, want %v", got, want)
	}
	c, err := archive.CheckTarGz(out, archive.Limits{MaxBytes: 1 << 20, MaxFiles: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, n := range c.Names {
		got[n] = true
	}
	for n, want := range map[string]bool{
		"demo_pkg-1.0/PKG-INFO": true, "demo_pkg-1.0/setup.py": true, "demo_pkg-1.0/demo_pkg/__init__.py": true,
		"demo_pkg-1.0/demo_pkg/sample.json": true, "demo_pkg-1.0/extra.py": true, "demo_pkg-1.0/sample.json": false,
		"demo_pkg-1.0/demo_pkg/__pycache__/x.pyc": false, "demo_pkg-1.0/.git/HEAD": false,
	} {
		if got[n] != want {
			t.Errorf("%s packed: got %v, want %v", n, got[n], want)
		}
	}
}
