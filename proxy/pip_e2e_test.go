package proxy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/store"
)

// pipClient runs the real pip against the firewall, isolated from the
// host's configuration and caches, never building anything (wheels only).
type pipClient struct {
	t     *testing.T
	pip   string
	index string
	home  string
}

func (c *pipClient) run(args ...string) (string, error) {
	c.t.Helper()
	args = append(args, "--isolated", "--no-cache-dir", "--disable-pip-version-check", "--no-input", "--retries", "0",
		"--timeout", "60", "--no-deps", "--only-binary", ":all:")
	cmd := exec.Command(c.pip, args...)
	cmd.Env = append(os.Environ(), "HOME="+c.home, "PIP_CONFIG_FILE="+os.DevNull, "PIP_INDEX_URL="+c.index, "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// download has pip download what asks for into a fresh directory and
// returns the files it wrote.
func (c *pipClient) download(what string) ([]string, string, error) {
	c.t.Helper()
	dir, err := os.MkdirTemp(c.home, "download-")
	if err != nil {
		c.t.Fatal(err)
	}
	out, err := c.run("download", "--dest", dir, "--index-url", c.index, what)
	ents, _ := os.ReadDir(dir)
	var files []string
	for _, e := range ents {
		files = append(files, e.Name())
	}
	return files, out, err
}

// TestEndToEndPip puts the real pip behind the PyPI firewall, in front
// of a stand-in simple index serving generated wheels. The farm is the
// real scheduler (Redis) and worker handler, which hands the stand-in
// sandbox (verdictFarm) the firewall's bytes under their wheel name; the
// stand-in returns the verdict the test sets: this test needs no
// containerd, and pip only downloads and unpacks wheels.
func TestEndToEndPip(t *testing.T) {
	pip := testenv.Tool(t, "pip3")
	ix := newSimpleIndex(t)
	st, srv, farm := startFarm(t, ecosystem.Config{NPMRegistry: "http://127.0.0.1:9", PyPIIndex: ix.url()}, ix.url(), NewPyPI)
	ctx := context.Background()
	client := &pipClient{t: t, pip: pip, index: srv.URL + "/simple/", home: t.TempDir()}

	// tiny-pkg 1.0 is a month old; 1.1, uploaded an hour ago, is the one
	// the stand-in will judge malicious.
	oldName, oldWhl := wheel(t, "Tiny_Pkg", "1.0", "X = 1\n")
	evilName, evilWhl := wheel(t, "Tiny_Pkg", "1.1", "import os\n")
	ix.publish("Tiny_Pkg", &pubFile{name: oldName, data: oldWhl, uploaded: time.Now().Add(-30 * 24 * time.Hour)})
	ix.publish("Tiny_Pkg", &pubFile{name: evilName, data: evilWhl, uploaded: time.Now().Add(-time.Hour)})
	verdictGiven := farm.set(sha256Digest(evilWhl), analysis.Malicious)

	// The admitted version is what pip finds; the held one is invisible.
	files, out, err := client.download("tiny-pkg")
	if err != nil || strings.Join(files, ",") != oldName {
		t.Fatalf("pip download tiny-pkg: %v; got %v, want %s\n%s", err, files, oldName, out)
	}
	if files, out, err := client.download("tiny-pkg==1.1"); err == nil || len(files) != 0 || !strings.Contains(out, "No matching distribution") {
		t.Errorf("pip download of the held version: %v %v, want no matching distribution\n%s", err, files, out)
	}
	// It was queued because it was asked for, analysed from the
	// firewall's bytes (the worker named them as the wheel they are),
	// then blocked.
	testenv.WaitFor(t, 2*time.Minute, "the held version's analysis to start", func() bool {
		farm.mu.Lock()
		defer farm.mu.Unlock()
		return farm.analysed[sha256Digest(evilWhl)] != ""
	})
	close(verdictGiven)
	testenv.WaitFor(t, 2*time.Minute, "the malicious verdict", func() bool {
		recs, _ := st.(store.Firewall).RegistryRecords(ctx, "pypi", "tiny-pkg")
		for _, r := range recs {
			if r.Package.Version == "1.1" && r.Status == store.Done && r.Verdict == analysis.Malicious {
				return r.Artifact == sha256Digest(evilWhl)
			}
		}
		return false
	})
	_, out, err = client.download(srv.URL + "/files/tiny-pkg/" + evilName)
	if err == nil || !strings.Contains(out, "403") {
		t.Errorf("pip download of the blocked file: %v, want a 403\n%s", err, out)
	}

	// pip install puts the admitted version in place.
	target := filepath.Join(client.home, "target")
	if out, err := client.run("install", "--target", target, "--index-url", client.index, "tiny-pkg"); err != nil {
		t.Fatalf("pip install tiny-pkg: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(target, "tiny_pkg-1.0.dist-info", "METADATA")); err != nil {
		t.Errorf("pip install did not install tiny-pkg 1.0: %v", err)
	}

	// An override admits a held version.
	heldName, heldWhl := wheel(t, "Tiny_Pkg", "1.2", "X = 2\n")
	farm.set(sha256Digest(heldWhl), analysis.Benign) // never released: the analysis stays under way
	ix.publish("Tiny_Pkg", &pubFile{name: heldName, data: heldWhl, uploaded: time.Now()})
	if files, out, err := client.download("tiny-pkg==1.2"); err == nil {
		t.Errorf("pip download of the held 1.2 succeeded before the override: %v\n%s", files, out)
	}
	if err := (Admin{Firewall: st.(store.Firewall)}).AddOverride(ctx, &store.Override{Ecosystem: "pypi", Name: "tiny_pkg", Versions: "1.2",
		Action: store.Allow, Reason: "vendored and reviewed", Who: "e2e"}); err != nil {
		t.Fatal(err)
	}
	if files, out, err := client.download("tiny-pkg==1.2"); err != nil || strings.Join(files, ",") != heldName {
		t.Errorf("pip download of the overridden 1.2: %v %v\n%s", err, files, out)
	}
}
