package ecosystem

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/fumehood/fumehood/internal/testenv"
)

// realNPM returns the configured npm registry, failing in CI and
// skipping elsewhere when it cannot be reached.
func realNPM(t *testing.T) Config {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := DefaultConfig(ctx)
	testenv.Require(t, err == nil, "npm registry configured")
	return cfg
}

// TestFetchRealNPM fetches one small pinned package from the configured
// registry.
func TestFetchRealNPM(t *testing.T) {
	cfg := realNPM(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := Fetch(ctx, cfg, Target{Ecosystem: NPM, Name: "is-number", Version: "7.0.0"}, t.TempDir())
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrBadArtifact) && !errors.Is(err, ErrTooLarge) {
		testenv.Require(t, false, "npm registry reachable: "+err.Error())
	}
	if err != nil {
		t.Fatalf("Fetch is-number@7.0.0: %v", err)
	}
	// The digest of the published tarball never changes.
	want := Artifact{Ecosystem: NPM, Name: "is-number", Version: "7.0.0", File: a.File, Size: 3730,
		Digest: "sha256:7b75c1057198cf97696909a9bee176c9c5e9bcb5b03bf3ecef2f484defadd51e", Registry: cfg.NPMRegistry}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("Fetch: got %+v, want %+v", a, want)
	}
}

// TestPrepareNPM prepares the cache for a local package that depends on
// small real packages (one transitively), then installs that package
// with the host's npm --offline from the cache alone, scripts disabled.
func TestPrepareNPM(t *testing.T) {
	cfg := realNPM(t)
	if _, err := exec.LookPath("npm"); err != nil {
		testenv.Require(t, false, "npm on the host")
	}
	dir := t.TempDir()
	tgz := writeFile(t, filepath.Join(dir, "demo-consumer-1.0.0.tgz"), npmTarball(t,
		`{"name":"demo-consumer","version":"1.0.0","dependencies":{"is-number":"7.0.0","is-odd":"3.0.1"}}`))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	work := filepath.Join(dir, "work")
	os.Mkdir(work, 0o755)
	a, err := Fetch(ctx, cfg, Target{Ecosystem: NPM, Path: tgz}, work)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	if err := Prepare(ctx, cfg, a, cache); err != nil {
		testenv.Require(t, false, "npm registry reachable: "+err.Error())
	}
	if _, err := os.Stat(filepath.Join(cache, "_cacache")); err != nil {
		t.Fatalf("no npm cache in %s: %v", cache, err)
	}

	project := filepath.Join(dir, "project")
	writeFile(t, filepath.Join(project, "package.json"), []byte(`{"name":"app","version":"1.0.0","private":true}`))
	cmds, err := Commands(a, Layout{Home: dir, Project: project, Artifact: a.File, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	argv := append(cmds[0].Argv, "--ignore-scripts")
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = project
	cmd.Env = append(os.Environ(), cmds[0].Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("offline install from the prepared cache: %v\n%s", err, out)
	}
	for rel, want := range map[string]string{
		"node_modules/demo-consumer/package.json": "1.0.0",
		"node_modules/is-number/package.json":     "7.0.0",
		"node_modules/is-odd/package.json":        "3.0.1",
	} {
		b, err := os.ReadFile(filepath.Join(project, rel))
		if err != nil {
			t.Errorf("offline install: %v", err)
			continue
		}
		var m struct{ Version string }
		json.Unmarshal(b, &m)
		if m.Version != want {
			t.Errorf("%s: got version %q, want %q", rel, m.Version, want)
		}
	}
}

// TestPrepareNPMNoDeps leaves the cache alone for a package without
// dependencies (no npm run at all).
func TestPrepareNPMNoDeps(t *testing.T) {
	dir := t.TempDir()
	tgz := writeFile(t, filepath.Join(dir, "in", "demo-pkg-1.0.0.tgz"), npmTarball(t, pkgJSON))
	a, err := Fetch(context.Background(), Config{NPMRegistry: "http://127.0.0.1:9"}, Target{Ecosystem: NPM, Path: tgz}, dir)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	if err := Prepare(context.Background(), Config{NPMRegistry: "http://127.0.0.1:9"}, a, cache); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cache); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cache dir: got %v, want it not created", err)
	}
}
