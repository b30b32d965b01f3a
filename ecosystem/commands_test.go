package ecosystem

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

var layout = Layout{
	Home:     "/home/alex",
	Project:  "/home/alex/projects/app",
	Artifact: "/home/alex/Downloads/artifact",
	Cache:    "/home/alex/.cache/offline",
}

func TestCommandsGolden(t *testing.T) {
	dir := t.TempDir()
	whl := writeFile(t, filepath.Join(dir, "demo_dist-2.0-py3-none-any.whl"), zipFile(t,
		member{name: "demo_dist/__init__.py"},
		member{name: "demo_dist-2.0.dist-info/METADATA", body: "Metadata-Version: 2.1\nName: demo-dist\nVersion: 2.0\n"},
		member{name: "demo_dist-2.0.dist-info/top_level.txt", body: "demo_dist\n_demo_speedups\nnot a module\n"},
	))
	sd := writeFile(t, filepath.Join(dir, "src_layout-1.0.tar.gz"), tarGz(t,
		member{name: "src_layout-1.0/PKG-INFO", body: "Metadata-Version: 2.1\nName: src-layout\nVersion: 1.0\n"},
		member{name: "src_layout-1.0/setup.py"},
		member{name: "src_layout-1.0/src/alpha/__init__.py"},
		member{name: "src_layout-1.0/beta.py"},
		member{name: "src_layout-1.0/tests/test_x.py"},
	))
	npmTgz := writeFile(t, filepath.Join(dir, "pkg-2.0.0.tgz"), tarGz(t,
		member{name: "package/package.json", body: `{"name":"@demo/pkg","version":"2.0.0","scripts":{"postinstall":"node setup.js","prepare":"husky install","test":"jest"}}`},
		member{name: "package/binding.gyp", body: "{}"},
	))
	noMods := writeFile(t, filepath.Join(dir, "data_only-1.0.tar.gz"), tarGz(t,
		member{name: "data_only-1.0/PKG-INFO", body: "Metadata-Version: 2.1\nName: data-only\nVersion: 1.0\n"},
		member{name: "data_only-1.0/setup.py"},
	))
	tests := []struct {
		name string
		a    Artifact
	}{
		{name: "npm", a: Artifact{Ecosystem: NPM, Name: "@demo/pkg", Version: "2.0.0", Registry: "http://registry.internal:4873/", File: npmTgz}},
		{name: "pypi-wheel", a: Artifact{Ecosystem: PyPI, Name: "demo-dist", Version: "2.0", File: whl}},
		{name: "pypi-sdist", a: Artifact{Ecosystem: PyPI, Name: "src-layout", Version: "1.0", File: sd}},
		{name: "pypi-no-modules", a: Artifact{Ecosystem: PyPI, Name: "data-only", Version: "1.0", File: noMods}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds, err := Commands(tt.a, layout)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(cmds, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "commands", tt.name+".golden")
			if *update {
				writeFile(t, golden, append(got, '\n'))
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if string(got)+"\n" != string(want) {
				t.Errorf("Commands(%s):\ngot  %s\nwant %s", tt.name, got, want)
			}
		})
	}
}

func TestCommandsErrors(t *testing.T) {
	tests := []struct {
		name string
		a    Artifact
		l    Layout
	}{
		{name: "relative layout", a: Artifact{Ecosystem: NPM, Name: "x"}, l: Layout{Home: "home", Project: "/p", Artifact: "/a", Cache: "/c"}},
		{name: "bad npm name", a: Artifact{Ecosystem: NPM, Name: `x"); process.exit(0); ("`}, l: layout},
		{name: "unknown ecosystem", a: Artifact{Ecosystem: "cargo", Name: "x"}, l: layout},
		{name: "missing pypi artifact", a: Artifact{Ecosystem: PyPI, Name: "x", File: "/nonexistent.whl"}, l: layout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if cmds, err := Commands(tt.a, tt.l); err == nil {
				t.Fatalf("Commands = %v, nil; want an error", cmds)
			}
		})
	}
}

func TestScriptRuns(t *testing.T) {
	dir := t.TempDir()
	npmTgz := writeFile(t, filepath.Join(dir, "x-1.0.0.tgz"), tarGz(t,
		member{name: "package/package.json", body: `{"name":"x","version":"1.0.0","scripts":{"postinstall":"node setup.js"}}`},
	))
	sd := writeFile(t, filepath.Join(dir, "x-1.0.tar.gz"), tarGz(t,
		member{name: "x-1.0/PKG-INFO", body: "Metadata-Version: 2.1\nName: x\nVersion: 1.0\n"},
		member{name: "x-1.0/setup.py"},
	))
	const pkgDir = "/home/alex/projects/app/node_modules/x"
	shim := "import sys\n# This is <pip-setuptools-caller> -- a caller that pip uses to run setup.py\nexec(...)"
	tests := []struct {
		name string
		a    Artifact
		argv []string
		cwd  string
		want bool
	}{
		{"npm script", Artifact{Ecosystem: NPM, Name: "x", File: npmTgz}, []string{"sh", "-c", "node setup.js"}, pkgDir, true},
		{"npm script, /bin/sh", Artifact{Ecosystem: NPM, Name: "x", File: npmTgz}, []string{"/bin/sh", "-c", "node setup.js"}, pkgDir, true},
		{"npm script of a dependency", Artifact{Ecosystem: NPM, Name: "x", File: npmTgz}, []string{"sh", "-c", "node setup.js"}, "/home/alex/projects/app/node_modules/y", false},
		{"npm other command", Artifact{Ecosystem: NPM, Name: "x", File: npmTgz}, []string{"sh", "-c", "node other.js"}, pkgDir, false},
		{"npm node directly", Artifact{Ecosystem: NPM, Name: "x", File: npmTgz}, []string{"node", "setup.js"}, pkgDir, false},
		{"pip shim egg_info", Artifact{Ecosystem: PyPI, Name: "x", File: sd}, []string{"/usr/bin/python3", "-c", shim, "egg_info"}, "/tmp/pip-req-build-1", true},
		{"pip pep517 hook", Artifact{Ecosystem: PyPI, Name: "x", File: sd}, []string{"/usr/bin/python3", "/usr/lib/python3/dist-packages/pip/_vendor/pyproject_hooks/_in_process/_in_process.py", "build_wheel", "/tmp/t"}, "/tmp/x", true},
		{"pip other python", Artifact{Ecosystem: PyPI, Name: "x", File: sd}, []string{"python3", "-c", "print(1)"}, "/tmp", false},
		{"shim text as an argument", Artifact{Ecosystem: PyPI, Name: "x", File: sd}, []string{"python3", "run.py", shim}, "/tmp", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds, err := Commands(tt.a, layout)
			if err != nil {
				t.Fatal(err)
			}
			s := cmds[0].Scripts
			if len(s) != 1 {
				t.Fatalf("install scripts = %+v, want one", s)
			}
			if got := s[0].Runs(tt.argv, tt.cwd); got != tt.want {
				t.Errorf("%s.Runs(%q, %q) = %v, want %v", s[0].Name, tt.argv, tt.cwd, got, tt.want)
			}
		})
	}
}
