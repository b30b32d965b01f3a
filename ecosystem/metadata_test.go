package ecosystem

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestDynamicSource: a source tree whose setup.py reads its version from
// a file is fetched without a name or version, gets a metadata phase
// before install, and learns both from the report that phase writes.
func TestDynamicSource(t *testing.T) {
	src := t.TempDir()
	for n, b := range map[string]string{
		"setup.py":            "from setuptools import setup\nsetup(name='ver-file', version=open('VERSION').read().strip())\n",
		"VERSION":             "1.4.2\n",
		"verfile/__init__.py": "",
	} {
		p := filepath.Join(src, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a, err := Fetch(context.Background(), Config{}, Target{Ecosystem: PyPI, Path: src}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !a.Dynamic || a.Name != "" || a.Version != "" {
		t.Fatalf("Fetch = %+v, want Dynamic without name or version", a)
	}
	c, err := MetadataCommand(a, layout)
	if err != nil {
		t.Fatal(err)
	}
	want := Command{Phase: PhaseMetadata, Argv: []string{"python3", "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index", "--no-build-isolation",
		"--ignore-installed", "--quiet", "--report", MetadataReport, layout.Artifact}, Env: []string{"PIP_BREAK_SYSTEM_PACKAGES=1"}, Cwd: layout.Project}
	if len(c.Scripts) != 1 || c.Scripts[0].Name != "build" || c.Scripts[0].Command != "setup.py" {
		t.Errorf("metadata scripts = %+v, want the setup.py build", c.Scripts)
	}
	c.Scripts = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("MetadataCommand:\n got %+v\nwant %+v", c, want)
	}

	if _, err := Learn(a, []byte(`{"install":[{"metadata":{"name":"ver-file","version":"one"}}]}`)); !errors.Is(err, ErrBadArtifact) {
		t.Errorf("Learn of a bad version: err %v, want ErrBadArtifact", err)
	}
	got, err := Learn(a, []byte(`{"install":[{"metadata":{"name":"ver-file","version":"1.4.2"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Dynamic || got.Name != "ver-file" || got.Version != "1.4.2" || got.Requires == nil || got.File != a.File {
		t.Errorf("Learn = %+v, want ver-file 1.4.2, static, requirements known (none), same file", got)
	}
	cmds, err := Commands(got, layout)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 3 || cmds[0].Phase != PhaseInstall || cmds[1].Phase != PhaseCI || cmds[2].Phase != PhaseImport || cmds[2].Entries[0].Name != "verfile" {
		t.Errorf("Commands after Learn = %+v, want install, ci, import of verfile", cmds)
	}
	if _, err := MetadataCommand(got, layout); !errors.Is(err, ErrBadSpec) {
		t.Errorf("MetadataCommand of static metadata: err %v, want ErrBadSpec", err)
	}
}
