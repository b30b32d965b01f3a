package rules

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fumehood/fumehood/trace"
)

const dataBase = `
lists:
  - name: secret_files
    items: ["~/.npmrc", "~/.pypirc"]
  - name: readers
    items: [cat, head]
macros:
  - name: secret_read
    condition: GlobAny(path, secret_files) && !writes
rules:
  - id: r1
    description: d
    severity: high
    rationale: r
    kinds: [open]
    match: secret_read && !(Base(exe) in readers)
`

// opens returns a trace of one open of each path by /usr/bin/node.
func opens(paths ...string) *trace.Trace {
	tr := &trace.Trace{Events: []trace.Event{{Seq: 1, Kind: trace.KindExec, TGID: 5, Path: "/usr/bin/node", Argv: []string{"node"}}}}
	for i, p := range paths {
		tr.Events = append(tr.Events, trace.Event{Seq: uint64(i + 2), Kind: trace.KindOpen, TGID: 5, Path: p})
	}
	return tr
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := withRoles(fstest.MapFS{})
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

// withRoles adds the builtin process-role lists, which every rule set
// needs, to fsys.
func withRoles(fsys fstest.MapFS) fstest.MapFS {
	b, err := builtinFS.ReadFile("builtin/roles.yaml")
	if err != nil {
		panic(err)
	}
	fsys["roles.yaml"] = &fstest.MapFile{Data: b}
	return fsys
}

func TestListsAndMacros(t *testing.T) {
	tests := []struct {
		name     string
		override string // a file of a second layer, "" for none
		path     string
		want     bool
	}{
		{"list item", "", "/home/alex/.npmrc", true},
		{"not in list", "", "/home/alex/.netrc", false},
		{"override replaces a list", "lists: [{name: secret_files, items: [\"~/.netrc\"]}]", "/home/alex/.npmrc", false},
		{"override's item", "lists: [{name: secret_files, items: [\"~/.netrc\"]}]", "/home/alex/.netrc", true},
		{"append keeps old items", "lists: [{name: secret_files, append: true, items: [\"~/.netrc\"]}]", "/home/alex/.npmrc", true},
		{"append adds", "lists: [{name: secret_files, append: true, items: [\"~/.netrc\"]}]", "/home/alex/.netrc", true},
		{"list of lists", "lists: [{name: more, items: [\"~/.netrc\"]}, {name: secret_files, append: true, items: [more]}]", "/home/alex/.netrc", true},
		{"macro override", "macros: [{name: secret_read, condition: 'false'}]", "/home/alex/.npmrc", false},
		{"macro append", "macros: [{name: secret_read, append: true, condition: 'path == \"/etc/x\"'}]", "/etc/x", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var overrides []fs.FS
			if tt.override != "" {
				overrides = append(overrides, mapFS(map[string]string{"local.yaml": tt.override}))
			}
			s, err := Load(mapFS(map[string]string{"a.yaml": dataBase}), overrides...)
			if err != nil {
				t.Fatalf("Load() error: %v", err)
			}
			j := s.Judge(opens(tt.path))
			if got := len(j.Hits) == 1; got != tt.want {
				t.Errorf("hit = %v, want %v (hits %v)", got, tt.want, hitIDs(j.Hits))
			}
		})
	}
}

func TestListsPrefilter(t *testing.T) {
	s, err := Load(mapFS(map[string]string{"a.yaml": dataBase}))
	if err != nil {
		t.Fatal(err)
	}
	pf := s.rules[0].pre[0]
	if got, want := len(pf.globs), 1; got != want {
		t.Fatalf("prefilter has %d glob checks, want %d: lists and macros must expand to literals", got, want)
	}
	if got, want := len(pf.globs[0].patterns), 2; got != want {
		t.Errorf("glob check has %d patterns, want %d", got, want)
	}
}

func TestListsAndMacrosErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
		is    error
	}{
		{"unknown list in rule", map[string]string{"a.yaml": strings.Replace(dataBase, "in readers", "in nosuch_list", 1)},
			[]string{"a.yaml", `rule "r1"`, "nosuch_list"}, nil},
		{"unknown name in macro", map[string]string{"a.yaml": strings.Replace(dataBase, "secret_files)", "nosuch_files)", 1)},
			[]string{"a.yaml", `macro "secret_read"`, "nosuch_files"}, nil},
		{"macro cycle", map[string]string{"a.yaml": dataBase, "b.yaml": "macros:\n  - {name: m1, condition: m2 && writes}\n  - {name: m2, condition: '!m1'}\n"},
			[]string{"b.yaml", `macro "m1"`, "m1 -> m2 -> m1"}, ErrMacroCycle},
		{"self cycle", map[string]string{"a.yaml": dataBase, "b.yaml": "macros: [{name: m1, condition: m1}]\n"},
			[]string{"b.yaml", "m1 -> m1"}, ErrMacroCycle},
		{"append to nothing", map[string]string{"a.yaml": dataBase, "b.yaml": "lists: [{name: other, append: true, items: [x]}]\n"},
			[]string{"b.yaml", `list "other"`, "not defined"}, nil},
		{"shadows a field", map[string]string{"a.yaml": dataBase, "b.yaml": "lists: [{name: path, items: [x]}]\n"},
			[]string{"b.yaml", `list "path"`, "expression environment"}, nil},
		{"list and macro", map[string]string{"a.yaml": dataBase, "b.yaml": "macros: [{name: readers, condition: 'true'}]\n"},
			[]string{"b.yaml", `macro "readers"`, "both"}, nil},
		{"bad name", map[string]string{"a.yaml": dataBase, "b.yaml": "lists: [{name: a-b, items: [x]}]\n"},
			[]string{"b.yaml", "identifier"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(mapFS(tt.files))
			if err == nil {
				t.Fatal("Load() succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Load() error %q does not wrap ErrInvalid", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Load() error %q does not wrap %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load() error %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestOverrideLayerFixtures(t *testing.T) {
	base := mapFS(map[string]string{
		"a.yaml":                 dataBase,
		"fixtures/r1/hit.jsonl":  `{"seq":1,"kind":"open","tgid":5,"path":"/home/alex/.npmrc"}` + "\n",
		"fixtures/r1/miss.jsonl": `{"seq":1,"kind":"open","tgid":5,"path":"/home/alex/.bashrc"}` + "\n",
	})
	local := mapFS(map[string]string{"local.yaml": "lists: [{name: readers, append: true, items: [less]}]\n"})
	s, err := Load(base, local)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Test() {
		if !r.OK() {
			t.Errorf("fixture %s: got %v want %v err %v", r.Fixture, r.Got, r.Want, r.Err)
		}
	}
	plain, _ := Load(base)
	if s.Version() == plain.Version() {
		t.Error("Version() ignores the override layer")
	}
}

// Default loads the directories FUMEHOOD_RULES names after the builtin
// rules, and refuses a directory that is not there.
func TestDefaultOverrides(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "local.yaml"), []byte("lists: [{name: temp_dirs, append: true, items: [/scratch]}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(OverridesEnv, "")
	builtin, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(OverridesEnv, dir)
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if s.Version() == builtin.Version() {
		t.Error("Default() ignored the override directory")
	}
	t.Setenv(OverridesEnv, filepath.Join(dir, "missing"))
	if _, err := Default(); err == nil {
		t.Error("Default() accepted a missing override directory")
	}
}

// TestRolePolicy checks that process roles are rule data: every set needs
// the role lists, and an override layer changes them.
func TestRolePolicy(t *testing.T) {
	_, err := Load(fstest.MapFS{"r.yaml": {Data: []byte(okRule)}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "writable_dirs") {
		t.Errorf("Load() without role lists: error %v, want ErrInvalid naming writable_dirs", err)
	}
	_, err = Load(mapFS(map[string]string{"r.yaml": okRule, "z.yaml": "lists:\n  - name: package_manager_executables\n    items: [git]\n"}))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("Load() with a relative executable: error %v, want ErrInvalid about an absolute path", err)
	}
	local := fstest.MapFS{"local.yaml": {Data: []byte("lists:\n  - name: writable_dirs\n    append: true\n    items: [\"/opt/\"]\n")}}
	s, err := Load(mapFS(map[string]string{"r.yaml": okRule}), local)
	if err != nil {
		t.Fatal(err)
	}
	if w := s.Policy().Writable; !slices.Contains(w, "/opt/") || !slices.Contains(w, "/tmp/") {
		t.Errorf("Policy().Writable = %q, want the builtin dirs and /opt/", w)
	}
	b, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(b.Policy().Writable, "/opt/") || !slices.Contains(b.Policy().ManagerExecutables, "/usr/bin/git") {
		t.Errorf("Builtin().Policy() = %+v", b.Policy())
	}
}
