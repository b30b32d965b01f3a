package ecosystem

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in      string
		want    Target
		wantErr string // substring of the error; "" means success
	}{
		{in: "npm:is-number@7.0.0", want: Target{Ecosystem: NPM, Name: "is-number", Version: "7.0.0"}},
		{in: "npm:@scope/pkg.js@1.2.3-beta.1+build.5", want: Target{Ecosystem: NPM, Name: "@scope/pkg.js", Version: "1.2.3-beta.1+build.5"}},
		{in: "  npm:a@0.0.1 ", want: Target{Ecosystem: NPM, Name: "a", Version: "0.0.1"}},
		{in: "pypi:requests==2.31.0", want: Target{Ecosystem: PyPI, Name: "requests", Version: "2.31.0"}},
		{in: "pypi:Zope.Interface==6.0.post1", want: Target{Ecosystem: PyPI, Name: "Zope.Interface", Version: "6.0.post1"}},
		{in: "pypi:pkg_x==1!2.0rc1.dev3+local.7", want: Target{Ecosystem: PyPI, Name: "pkg_x", Version: "1!2.0rc1.dev3+local.7"}},
		{in: "npm:is-number", wantErr: "exact version is required"},
		{in: "npm:is-number@", wantErr: "exact version is required"},
		{in: "npm:is-number@^7.0.0", wantErr: "ranges and dist-tags are not accepted"},
		{in: "npm:is-number@latest", wantErr: "ranges and dist-tags are not accepted"},
		{in: "npm:is-number@7", wantErr: "ranges and dist-tags are not accepted"},
		{in: "npm:is-number@7.0", wantErr: "ranges and dist-tags are not accepted"},
		{in: "npm:is-number@7.0.0.0", wantErr: "not a SemVer version"},
		{in: "npm:is-number@07.0.0", wantErr: "not a SemVer version"},
		{in: "npm:Is-Number@7.0.0", wantErr: "lower case"},
		{in: "npm:.hidden@1.0.0", wantErr: "not starting with"},
		{in: "npm:_under@1.0.0", wantErr: "not starting with"},
		{in: "npm:node_modules@1.0.0", wantErr: "reserved"},
		{in: "npm:has space@1.0.0", wantErr: "only a-z"},
		{in: "npm:@scope@1.0.0", wantErr: "@scope/name"},
		{in: "npm:@/x@1.0.0", wantErr: "@scope/name"},
		{in: "npm:@@1.0.0", wantErr: "@scope/name"},
		{in: "npm:" + strings.Repeat("a", 215) + "@1.0.0", wantErr: "longer than 214"},
		{in: "pypi:requests", wantErr: "exact version is required"},
		{in: "pypi:requests>=2.0", wantErr: "only exact versions"},
		{in: "pypi:requests~=2.0", wantErr: "only exact versions"},
		{in: "pypi:requests==2.*", wantErr: "ranges and wildcards"},
		{in: "pypi:requests==2.0,<3", wantErr: "ranges and wildcards"},
		{in: "pypi:requests===2.0", wantErr: "arbitrary equality"},
		{in: "pypi:requests==two", wantErr: "not a PEP 440 version"},
		{in: "pypi:-bad==1.0", wantErr: "PEP 508"},
		{in: "pypi:requests[socks]==1.0", wantErr: "PEP 508"},
		{in: "", wantErr: "empty spec"},
		{in: "is-number@7.0.0", wantErr: "neither npm:NAME@VERSION"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) = %+v, %v; want an ErrBadSpec containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if again, err := Parse(got.String()); err != nil || again != got {
				t.Errorf("Parse(%q) = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func TestParsePath(t *testing.T) {
	dir := t.TempDir()
	npmDir := filepath.Join(dir, "npmsrc")
	writeFile(t, filepath.Join(npmDir, "package.json"), []byte(pkgJSON))
	pyDir := filepath.Join(dir, "pysrc")
	writeFile(t, filepath.Join(pyDir, "pyproject.toml"), []byte("[project]\nname='x'\nversion='1'\n"))
	setupDir := filepath.Join(dir, "setupsrc")
	writeFile(t, filepath.Join(setupDir, "setup.py"), nil)
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	tgz := writeFile(t, filepath.Join(dir, "a-1.0.0.tgz"), npmTarball(t, pkgJSON))
	npmTarGz := writeFile(t, filepath.Join(dir, "a-1.0.0.tar.gz"), npmTarball(t, pkgJSON))
	sd := writeFile(t, filepath.Join(dir, "x-1.0.tar.gz"), sdist(t, "x", "1.0"))
	whl := writeFile(t, filepath.Join(dir, "x-1.0-py3-none-any.whl"), wheel(t, "x", "1.0"))
	odd := writeFile(t, filepath.Join(dir, "odd.tar.gz"), tarGz(t, member{name: "README"}))
	notGz := writeFile(t, filepath.Join(dir, "plain.tar.gz"), []byte("plain text"))
	zipped := writeFile(t, filepath.Join(dir, "x.zip"), zipFile(t, member{name: "a"}))

	tests := []struct {
		in      string
		want    Target
		wantErr string
	}{
		{in: npmDir, want: Target{Ecosystem: NPM, Path: npmDir}},
		{in: pyDir, want: Target{Ecosystem: PyPI, Path: pyDir}},
		{in: setupDir, want: Target{Ecosystem: PyPI, Path: setupDir}},
		{in: tgz, want: Target{Ecosystem: NPM, Path: tgz}},
		{in: npmTarGz, want: Target{Ecosystem: NPM, Path: npmTarGz}},
		{in: sd, want: Target{Ecosystem: PyPI, Path: sd}},
		{in: whl, want: Target{Ecosystem: PyPI, Path: whl}},
		{in: empty, wantErr: "has no package.json"},
		{in: odd, wantErr: "cannot tell npm from pypi"},
		{in: notGz, wantErr: "not gzip"},
		{in: zipped, wantErr: "an artifact is a .tgz, .tar.gz or .whl"},
		{in: filepath.Join(dir, "missing.tgz"), wantErr: "neither npm:NAME@VERSION"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.in), func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) = %+v, %v; want an ErrBadSpec containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"npm:is-number@7.0.0", "npm:@a/b@1.0.0-rc.1", "pypi:x==1.0", "pypi:x>=1", "npm:x@^1", "pypi:A.b_c==1!2.3a4.post5.dev6+l.7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.HasPrefix(s, "npm:") && !strings.HasPrefix(s, "pypi:") {
			return // paths touch the file system; the spec grammar is what is fuzzed
		}
		got, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrBadSpec", s, err)
			}
			return
		}
		if got.Name == "" || got.Version == "" || got.Path != "" {
			t.Fatalf("Parse(%q) = %+v: want name and version, no path", s, got)
		}
		if strings.ContainsAny(got.Name+got.Version, " \t\n\"'`$;&|<>^~*,=") {
			t.Fatalf("Parse(%q) = %+v: accepted a character no exact spec has", s, got)
		}
		again, err := Parse(got.String())
		if err != nil || again != got {
			t.Fatalf("Parse(%q) = %+v, %v; want %+v", got.String(), again, err, got)
		}
	})
}
