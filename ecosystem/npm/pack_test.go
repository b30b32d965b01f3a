package npm

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
)

var lim = archive.Limits{MaxBytes: 1 << 20, MaxFiles: 1000}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPack(t *testing.T) {
	common := map[string]string{
		"README.md": "", "LICENSE": "", "index.js": "", "lib/a.js": "", "lib/sub/b.js": "", "src/c.ts": "",
		"docs/x.md": "", "sample.json": "{}", "lib/sample.json": "{}", ".git/config": "", "node_modules/dep/index.js": "",
		"lib/node_modules/x.js": "", ".npmrc": "", "package-lock.json": "", "bin/cli": "",
	}
	tests := []struct {
		name  string
		files string
		want  []string
	}{
		{name: "no files list", files: "", want: []string{"LICENSE", "README.md", "bin/cli", "docs/x.md", "index.js", "lib/a.js", "lib/sample.json", "lib/sub/b.js", "package.json", "src/c.ts"}},
		{name: "dir and glob", files: `"files": ["lib/", "bin/*"],`, want: []string{"LICENSE", "README.md", "bin/cli", "index.js", "lib/a.js", "lib/sample.json", "lib/sub/b.js", "package.json"}},
		{name: "globstar", files: `"files": ["./lib/**/*.js"],`, want: []string{"LICENSE", "README.md", "index.js", "lib/a.js", "lib/sub/b.js", "package.json"}},
		{name: "empty list", files: `"files": [],`, want: []string{"LICENSE", "README.md", "index.js", "package.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := t.TempDir()
			write(t, src, common)
			write(t, src, map[string]string{"package.json": `{"name":"demo","version":"1.0.0",` + tt.files + `"main":"./index.js"}`})
			if err := os.Symlink("/etc/passwd", filepath.Join(src, "lib", "link.js")); err != nil {
				t.Fatal(err)
			}
			work := t.TempDir()
			out, m, err := Pack(src, work, lim)
			if err != nil {
				t.Fatal(err)
			}
			if m.Name != "demo" || m.Version != "1.0.0" || out != filepath.Join(work, "demo-1.0.0.tgz") {
				t.Errorf("Pack = %s, %s@%s; want demo-1.0.0.tgz in %s", out, m.Name, m.Version, work)
			}
			c, err := archive.CheckTarGz(out, lim, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range c.Names {
				got = append(got, n[len("package/"):])
			}
			sort.Strings(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("packed:\ngot  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestPackLimits(t *testing.T) {
	src := t.TempDir()
	write(t, src, map[string]string{"package.json": `{"name":"demo","version":"1.0.0"}`, "a.js": "", "b.js": "", "c.js": ""})
	if _, _, err := Pack(src, t.TempDir(), archive.Limits{MaxBytes: 1 << 20, MaxFiles: 2}); err == nil {
		t.Fatal("Pack of 4 files with MaxFiles 2: got nil, want an error")
	}
	write(t, src, map[string]string{"package.json": `{"name":"Demo","version":"1.0.0"}`})
	if _, _, err := Pack(src, t.TempDir(), lim); err == nil {
		t.Fatal("Pack with an invalid name: got nil, want an error")
	}
}

func TestDeps(t *testing.T) {
	m := Manifest{
		Name: "demo",
		Dependencies: map[string]string{
			"range": "^1.2.0", "tag": "latest", "alias": "npm:other@^2", "star": "*",
			"git": "git+ssh://git@git.invalid/x.git", "gh": "user/repo", "url": "https://files.invalid/x.tgz",
			"file": "file:../x", "rel": "./local", "link": "link:../y", "Bad Name": "1.0.0",
		},
		OptionalDependencies: map[string]string{"opt": "~1.0.0"},
		PeerDependencies:     map[string]string{"peer": ">=2", "optpeer": "1"},
		PeerDependenciesMeta: map[string]struct {
			Optional bool `json:"optional"`
		}{"optpeer": {Optional: true}},
	}
	got, optional := m.Deps()
	want := map[string]string{"range": "^1.2.0", "tag": "latest", "alias": "npm:other@^2", "star": "*", "peer": ">=2"}
	if !maps.Equal(got, want) {
		t.Errorf("Deps required: got %v, want %v", got, want)
	}
	if want := map[string]string{"opt": "~1.0.0"}; !maps.Equal(optional, want) {
		t.Errorf("Deps optional: got %v, want %v", optional, want)
	}
}
