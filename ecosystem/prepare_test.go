package ecosystem

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestPreparePyPI resolves a wheel's declared dependencies, transitively,
// against a stand-in simple index and checks exactly what lands in the
// find-links directory.
func TestPreparePyPI(t *testing.T) {
	ix := newPyPIIndex(t, false)
	ix.add("dep-a", "dep_a-0.9-py3-none-any.whl", wheel(t, "dep_a", "0.9"))
	ix.add("dep-a", "dep_a-1.0-py3-none-any.whl", wheel(t, "dep_a", "1.0"))
	ix.add("dep-a", "dep_a-1.1-py3-none-any.whl", wheel(t, "dep_a", "1.1", "dep-d<2", "App_Dist"))
	ix.add("dep-a", "dep_a-2.0rc1-py3-none-any.whl", wheel(t, "dep_a", "2.0rc1"))
	ix.add("dep-a", "dep_a-1.2-cp27-cp27m-win32.whl", wheel(t, "dep_a", "1.2"))
	ix.add("dep-b", "dep_b-1.0-py3-none-any.whl", wheel(t, "dep_b", "1.0"))
	ix.add("dep-d", "dep_d-1.5.tar.gz", sdist(t, "dep_d", "1.5"))
	ix.add("dep-d", "dep_d-2.0.tar.gz", sdist(t, "dep_d", "2.0"))
	ix.add("dep-e", "dep_e-1.0.tar.gz", sdist(t, "dep_e", "1.0"))
	ix.hash["dep_e-1.0.tar.gz"] = ix.hash["dep_d-1.5.tar.gz"]
	ix.add("dep-f", "dep_f-1.0rc1-py3-none-any.whl", wheel(t, "dep_f", "1.0rc1"))

	dir := t.TempDir()
	in := writeFile(t, filepath.Join(dir, "in", "app_dist-1.0-py3-none-any.whl"), wheel(t, "app_dist", "1.0",
		"dep-a>=1.0,<2", "dep-b; extra == 'fast'", "dep-c @ http://files.invalid/dep_c.whl", "missing-dep", "dep-e", "dep-f",
		"Dep.A>=0.1"))
	cfg := Config{PyPIIndex: ix.srv.URL + "/simple"}
	work := filepath.Join(dir, "work")
	os.Mkdir(work, 0o755)
	a, err := Fetch(context.Background(), cfg, Target{Ecosystem: PyPI, Path: in}, work)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	os.Mkdir(cache, 0o755)
	if err := Prepare(context.Background(), cfg, a, cache); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{"dep_a-1.1-py3-none-any.whl", "dep_d-1.5.tar.gz", "dep_f-1.0rc1-py3-none-any.whl"}
	if !slices.Equal(got, want) {
		t.Errorf("find-links dir: got %v, want %v", got, want)
	}
}

// TestPreparePyPINoIndex skips dependencies when no index is configured
// rather than failing the analysis.
func TestPreparePyPINoIndex(t *testing.T) {
	t.Setenv("FUMEHOOD_PYPI_INDEX", "")
	dir := t.TempDir()
	in := writeFile(t, filepath.Join(dir, "in", "app_dist-1.0-py3-none-any.whl"), wheel(t, "app_dist", "1.0", "dep-a"))
	a, err := Fetch(context.Background(), Config{}, Target{Ecosystem: PyPI, Path: in}, dir)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	if err := Prepare(context.Background(), Config{}, a, cache); err != nil {
		t.Fatalf("Prepare without an index: got %v, want nil", err)
	}
	if _, err := os.Stat(cache); err == nil {
		t.Errorf("cache dir created without an index")
	}
}
