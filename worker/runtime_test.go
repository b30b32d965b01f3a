package worker_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/internal/npmtest"
	"github.com/fumehood/fumehood/trace"
	"github.com/fumehood/fumehood/worker"
)

// TestRuntime analyses packages that need a current developer runtime:
// one whose preinstall refuses node below 20 (as prisma's does) and whose
// install reports the runtime; one whose dependency's newest versions
// need a newer node than its older ones (resolved on the host to what the
// sandbox's npm picks, so the offline install finds it); one that builds
// a native addon against zlib found by pkg-config, with node's headers
// and no network. Each must run to its end, observed.
func TestRuntime(t *testing.T) {
	reg := npmtest.New(t, nil)
	// 1.1.0 is what node 20 up to 98 picks; 1.0.0 what an older node
	// picks; 1.2.0, the latest, what nothing picks.
	publish(t, reg, "runtime-dep", "1.0.0", nil)
	publish(t, reg, "runtime-dep", "1.1.0", map[string]string{"node": ">=20"})
	publish(t, reg, "runtime-dep", "1.2.0", map[string]string{"node": ">=99"})
	m := openMachine(t, func(c *worker.Config) { c.Ecosystem.NPMRegistry = reg.URL + "/" })

	tests := []struct {
		pkg   string
		check func(t *testing.T, a *analysis.Analysis)
	}{
		{"runtime-engines", func(t *testing.T, a *analysis.Analysis) {
			out := a.Phases[0].Output
			v := regexp.MustCompile(`runtime-report node=v(\d+)\.\d+\.\d+ npm=npm/(\d+)\.\d+\.\d+ python=3\.(\d+)\.`).FindStringSubmatch(out)
			if v == nil {
				t.Fatalf("no runtime report in the install output:\n%s", out)
			}
			if node, _ := strconv.Atoi(v[1]); node < 22 || node%2 != 0 {
				t.Errorf("node %s, want an LTS release, 22 or later", v[1])
			}
			if npm, _ := strconv.Atoi(v[2]); npm < 10 {
				t.Errorf("npm %s, want the npm of a current node (10 or later)", v[2])
			}
			if py, _ := strconv.Atoi(v[3]); py < 12 {
				t.Errorf("python 3.%s, want 3.12 or later", v[3])
			}
			// A developer's npm configuration as npm 11 writes it: no
			// setting it warns about (an old email=, a nodedir=).
			if strings.Contains(out, "npm warn Unknown") {
				t.Errorf("npm warned about its configuration:\n%s", out)
			}
			for _, script := range []string{"preinstall.js", "report.js"} {
				if !execed(a, "install", func(e trace.Event) bool { return filepath.Base(e.Path) == "node" && argvHas(e, script) }) {
					t.Errorf("no exec of node %s traced in the install phase", script)
				}
			}
		}},
		{"runtime-newer-dep", func(t *testing.T, a *analysis.Analysis) {
			if out := a.Phases[0].Output; !strings.Contains(out, "runtime-dep 1.1.0") {
				t.Errorf("install output lacks runtime-dep 1.1.0 (the version the sandbox's npm picks):\n%s", out)
			}
		}},
		{"runtime-native", func(t *testing.T, a *analysis.Analysis) {
			if !execed(a, "install", func(e trace.Event) bool { return filepath.Base(e.Path) == "pkg-config" && argvHas(e, "zlib") }) {
				t.Errorf("no exec of pkg-config traced in the install phase")
			}
			if !execed(a, "install", func(e trace.Event) bool { return strings.HasSuffix(e.Path, "/cc1") }) {
				t.Errorf("no compiler (cc1) traced in the install phase")
			}
			if im := phaseOf(a, "import"); im == nil || !strings.Contains(im.Output, "runtime-native zlib 1.") {
				t.Errorf("the import did not load the built addon: %+v", a.Phases)
			}
			// the ci phase builds it again, as a CI job's npm ci does
			if !execed(a, "ci", func(e trace.Event) bool { return strings.HasSuffix(e.Path, "/cc1") }) {
				t.Errorf("no compiler (cc1) traced in the ci phase")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			a, err := m.Analyze(context.Background(), ecosystem.Target{Ecosystem: "npm", Path: filepath.Join("testdata", "packages", tt.pkg)})
			if err != nil {
				t.Fatalf("analyze: %v", err)
			}
			if in, im := phaseOf(a, "install"), phaseOf(a, "import"); in == nil || in.ExitCode != 0 || im == nil || im.ExitCode != 0 {
				t.Fatalf("want install and import to exit 0; got:\n%s", describeHits(a))
			}
			tt.check(t, a)
			// The session replays the developer's npm test with the image's npm.
			if !execed(a, worker.PhaseSession, func(e trace.Event) bool { return e.Path == "/usr/local/bin/npm" && !e.Failed() && argvHas(e, "test") }) {
				t.Errorf("no npm test run by the image's npm traced in the session phase")
			}
			if a.Verdict != analysis.Benign || a.Coverage.Level != analysis.CoverageFull {
				t.Errorf("verdict %s, coverage %+v; want benign with full coverage:\n%s", a.Verdict, a.Coverage, describeHits(a))
			}
		})
	}
}

// execed reports whether the trace holds an exec in phase that match
// accepts.
// phaseOf returns a's phase called name, nil when it did not run.
func phaseOf(a *analysis.Analysis, name string) *analysis.Phase {
	for i := range a.Phases {
		if a.Phases[i].Name == name {
			return &a.Phases[i]
		}
	}
	return nil
}

func execed(a *analysis.Analysis, phase string, match func(trace.Event) bool) bool {
	for _, e := range a.Trace.Events {
		if e.Kind == trace.KindExec && e.Phase == phase && match(e) {
			return true
		}
	}
	return false
}

func argvHas(e trace.Event, sub string) bool {
	for _, a := range e.Argv {
		if strings.Contains(a, sub) {
			return true
		}
	}
	return false
}

// publish adds name@version with engines to reg: a package whose main
// exports its version.
func publish(t *testing.T, reg *npmtest.Registry, name, version string, engines map[string]string) {
	t.Helper()
	manifest := map[string]any{"name": name, "version": version, "main": "index.js"}
	if engines != nil {
		manifest["engines"] = engines
	}
	reg.Publish(t, manifest, map[string]string{"index.js": "module.exports = " + strconv.Quote(version) + ";\n"})
}
