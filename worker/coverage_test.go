package worker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/trace"
)

var update = flag.Bool("update", false, "rewrite golden files")

// writeTarGz writes a .tar.gz of name -> body members to dir/file.
func writeTarGz(t *testing.T, dir, file string, members map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range members {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, file)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// procs writes hand-made traces: each process gets its own tgid and
// start time.
type procs struct {
	events []trace.Event
	next   uint32
}

// exec records a process of phase, child of parent (0: the phase's
// command itself), running argv in cwd, and returns its tgid.
func (p *procs) exec(phase string, parent uint32, cwd string, argv ...string) uint32 {
	p.next++
	tgid := 100 + p.next
	p.events = append(p.events, trace.Event{Phase: phase, Kind: trace.KindExec, TGID: tgid, PID: tgid, PPID: parent, Start: uint64(tgid) * 1000, Path: argv[0], Argv: argv, Cwd: cwd})
	return tgid
}

func (p *procs) exit(phase string, tgid uint32, code, signal int32) {
	p.events = append(p.events, trace.Event{Phase: phase, Kind: trace.KindExit, TGID: tgid, PID: tgid, Start: uint64(tgid) * 1000, ExitCode: code, Signal: signal})
}

const (
	home    = "/home/alex"
	project = "/home/alex/projects/app"
	pkgDir  = project + "/node_modules/demo"
	shim    = "import sys\n# This is <pip-setuptools-caller> -- a caller that pip uses to run setup.py\nexec(compile(...))"
)

var testLayout = ecosystem.Layout{Home: home, Project: project, Artifact: home + "/Downloads/a", Cache: home + "/.npm"}

// npmInstall records npm running the postinstall under pkgDir (when
// script is set) and exiting with code.
func (p *procs) npmInstall(script string, scriptCode, code int32) {
	npm := p.exec("install", 1, project, "node", "/usr/bin/npm", "install")
	if script != "" {
		sh := p.exec("install", npm, pkgDir, "sh", "-c", script)
		p.exit("install", sh, scriptCode, 0)
	}
	p.exit("install", npm, code, 0)
}

// npmCI records npm rebuild in the ci phase running the postinstall
// under pkgDir (when script is set) again.
func (p *procs) npmCI(script string, scriptCode int32) {
	npm := p.exec("ci", 1, project, "node", "/usr/bin/npm", "rebuild")
	if script != "" {
		sh := p.exec("ci", npm, pkgDir, "sh", "-c", script)
		p.exit("ci", sh, scriptCode, 0)
	}
	p.exit("ci", npm, scriptCode, 0)
}

// npmImport records the import command's two node processes.
func (p *procs) npmImport(cjs, esm int32) {
	sh := p.exec("import", 1, project, "sh", "-c", "...")
	r := p.exec("import", sh, project, "node", "-e", `require("demo")`)
	p.exit("import", r, cjs, 0)
	i := p.exec("import", sh, project, "node", "--input-type=module", "-e", `await import("demo")`)
	p.exit("import", i, esm, 0)
}

func TestCoverage(t *testing.T) {
	dir := t.TempDir()
	withScript := writeTarGz(t, dir, "demo-1.0.0.tgz", map[string]string{"package/package.json": `{"name":"demo","version":"1.0.0","scripts":{"postinstall":"node setup.js"}}`})
	noScript := writeTarGz(t, dir, "demo-1.0.1.tgz", map[string]string{"package/package.json": `{"name":"demo","version":"1.0.1"}`})
	sdist := writeTarGz(t, dir, "demo-1.0.tar.gz", map[string]string{"demo-1.0/PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n", "demo-1.0/setup.py": "", "demo-1.0/demo/__init__.py": "", "demo-1.0/extra.py": ""})
	npmScript := ecosystem.Artifact{Ecosystem: ecosystem.NPM, Name: "demo", Version: "1.0.0", File: withScript}
	npmPlain := ecosystem.Artifact{Ecosystem: ecosystem.NPM, Name: "demo", Version: "1.0.1", File: noScript}
	pySdist := ecosystem.Artifact{Ecosystem: ecosystem.PyPI, Name: "demo", Version: "1.0", File: sdist}
	ok := analysis.Phase{Name: "install"}

	tests := []struct {
		name   string
		art    ecosystem.Artifact
		phases []analysis.Phase
		trace  func(p *procs)
	}{
		{"npm-full", npmScript, []analysis.Phase{ok, {Name: "ci"}, {Name: "import"}}, func(p *procs) {
			p.npmInstall("node setup.js", 0, 0)
			p.npmCI("node setup.js", 0)
			p.npmImport(0, 0)
		}},
		// the ci phase failing (a script that fails only in CI) is
		// reported in its scripts, not as a gap of the developer's install
		{"npm-ci-failed", npmScript, []analysis.Phase{ok, {Name: "ci", ExitCode: 1}, {Name: "import"}}, func(p *procs) {
			p.npmInstall("node setup.js", 0, 0)
			p.npmCI("node setup.js", 1)
			p.npmImport(0, 0)
		}},
		{"npm-platform-refused", npmScript, []analysis.Phase{
			{Name: "install", ExitCode: 1, Output: "npm WARN config x\nnpm ERR! code EBADPLATFORM\nnpm ERR! notsup Unsupported platform for demo@1.0.0\n"},
			{Name: "ci"},
			{Name: "import", ExitCode: 1},
		}, func(p *procs) { p.npmInstall("", 0, 1); p.npmCI("", 0); p.npmImport(1, 1) }},
		{"npm-script-failed", npmScript, []analysis.Phase{
			{Name: "install", ExitCode: 1, Output: "> demo@1.0.0 postinstall\n> node setup.js\nError: \x1b[31mboom\x1b[0m\n"},
			{Name: "ci", ExitCode: 1},
			{Name: "import", ExitCode: 1},
		}, func(p *procs) { p.npmInstall("node setup.js", 1, 1); p.npmCI("node setup.js", 1); p.npmImport(1, 1) }},
		{"npm-esm-only", npmPlain, []analysis.Phase{ok, {Name: "import", ExitCode: 1}}, func(p *procs) { p.npmInstall("", 0, 0); p.npmImport(1, 0) }},
		{"npm-import-killed", npmPlain, []analysis.Phase{ok, {Name: "import", ExitCode: 1}}, func(p *procs) { p.npmInstall("", 0, 0); p.npmImport(0, 0); p.events[len(p.events)-1].Signal = 9 }},
		{"npm-import-not-run", npmPlain, []analysis.Phase{ok}, func(p *procs) { p.npmInstall("", 0, 0) }},
		{"npm-forged-script", npmScript, []analysis.Phase{ok, {Name: "ci"}, {Name: "import", ExitCode: 1}}, func(p *procs) {
			// The script's text run by a grandchild of npm (a dependency's
			// script) is not the package's script.
			npm := p.exec("install", 1, project, "node", "/usr/bin/npm", "install")
			dep := p.exec("install", npm, project+"/node_modules/dep", "sh", "-c", "node x.js")
			fake := p.exec("install", dep, pkgDir, "sh", "-c", "node setup.js")
			p.exit("install", fake, 0, 0)
			p.exit("install", dep, 0, 0)
			p.exit("install", npm, 0, 0)
			p.npmCI("", 0)
			p.npmImport(1, 1)
		}},
		{"pypi-sdist-full", pySdist, []analysis.Phase{ok, {Name: "ci"}, {Name: "import"}}, func(p *procs) {
			for _, phase := range []string{"install", "ci"} {
				pip := p.exec(phase, 1, project, "python3", "-m", "pip", "install")
				for _, cmd := range []string{"egg_info", "bdist_wheel"} {
					b := p.exec(phase, pip, "/tmp/pip-req-build-x", "/usr/bin/python3", "-c", shim, cmd)
					p.exit(phase, b, 0, 0)
				}
				p.exit(phase, pip, 0, 0)
			}
			sh := p.exec("import", 1, project, "sh", "-c", "...")
			for _, m := range []string{"demo", "extra"} {
				im := p.exec("import", sh, project, "python3", "-c", "import importlib, sys; importlib.import_module(sys.argv[1])", m)
				p.exit("import", im, 0, 0)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds, err := ecosystem.Commands(tt.art, testLayout)
			if err != nil {
				t.Fatal(err)
			}
			var p procs
			tt.trace(&p)
			tr := &trace.Trace{}
			for _, e := range p.events {
				tr.Append(e.Phase, []trace.Event{e})
			}
			checkGolden(t, filepath.Join("testdata", "coverage", tt.name+".json"), coverage(cmds, tt.phases, tr))
		})
	}
}

// TestCoverageRecorded reads the coverage of a real npm analysis: its
// postinstall (node setup.js) ran and both imports succeeded.
func TestCoverageRecorded(t *testing.T) {
	f, err := os.Open("testdata/recorded.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := trace.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	tgz := writeTarGz(t, t.TempDir(), "devtools-sync-2.0.1.tgz", map[string]string{"package/package.json": `{"name":"devtools-sync","version":"2.0.1","scripts":{"postinstall":"node setup.js"}}`})
	cmds, err := ecosystem.Commands(ecosystem.Artifact{Ecosystem: ecosystem.NPM, Name: "devtools-sync", Version: "2.0.1", File: tgz}, testLayout)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("testdata", "coverage", "recorded.json"), coverage(cmds, []analysis.Phase{{Name: "install"}, {Name: "import"}}, tr))
}

// TestCoverageAfterInit: the container's init (named in the phase
// metadata) execs before the phase's command; the command, not init, is
// the process whose children are the scripts.
func TestCoverageAfterInit(t *testing.T) {
	tgz := writeTarGz(t, t.TempDir(), "demo-1.0.0.tgz", map[string]string{"package/package.json": `{"name":"demo","version":"1.0.0","scripts":{"postinstall":"node setup.js"}}`})
	cmds, err := ecosystem.Commands(ecosystem.Artifact{Ecosystem: ecosystem.NPM, Name: "demo", Version: "1.0.0", File: tgz}, testLayout)
	if err != nil {
		t.Fatal(err)
	}
	var p procs
	init := p.exec("install", 0, "/", "/bin/sh", "-c", "init")
	npm := p.exec("install", init, project, "node", "/usr/bin/npm", "install")
	sh := p.exec("install", npm, pkgDir, "sh", "-c", "node setup.js")
	p.exit("install", sh, 0, 0)
	p.exit("install", npm, 0, 0)
	tr := &trace.Trace{Phases: []trace.PhaseInfo{{Name: "install", Init: trace.ProcKey{TGID: init}, Command: trace.RolePackageManager}}}
	tr.Append("install", p.events)
	c := coverage(cmds[:1], []analysis.Phase{{Name: "install"}}, tr)
	if len(c.Scripts) != 1 || !c.Scripts[0].Ran {
		t.Errorf("scripts = %+v, want the postinstall run", c.Scripts)
	}
}

// checkGolden compares v, in indented JSON, with the golden file (-update
// rewrites it).
func checkGolden(t *testing.T, golden string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\ngot  %s\nwant %s", golden, got, want)
	}
}

func TestOutputLine(t *testing.T) {
	tests := []struct{ out, want string }{
		{"", "no output"},
		{"added 1 package\n\n", "added 1 package"},
		{"npm WARN x\nnpm ERR! code EBADENGINE\nnpm ERR! more\n", "npm ERR! code EBADENGINE"},
		{"Processing ./x.tar.gz\nERROR: Could not find a version that satisfies the requirement y\n", "ERROR: Could not find a version that satisfies the requirement y"},
		{"\x1b]0;title\x07done\r\n", "]0;titledone"},
		{string(bytes.Repeat([]byte("é"), 200)), string(bytes.Repeat([]byte("é"), maxReasonLine)) + "…"},
	}
	for _, tt := range tests {
		if got := outputLine(tt.out); got != tt.want {
			t.Errorf("outputLine(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
}
