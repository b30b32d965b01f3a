package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fumehood/fumehood/internal/leftovers"
	"github.com/fumehood/fumehood/internal/testenv"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), &env{stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

// tgz writes a gzipped tar of entries (name -> body) to a temp file.
func tgz(t *testing.T, entries map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	f := filepath.Join(t.TempDir(), "pkg.tgz")
	if err := os.WriteFile(f, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveStateDirs()
	os.Exit(code)
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, exitBadInput, "usage: fumehood"},
		{[]string{"help"}, 0, "usage: fumehood"},
		{[]string{"frobnicate"}, exitBadInput, `unknown command "frobnicate"`},
		{[]string{"analyze"}, exitBadInput, "want exactly one target"},
		{[]string{"analyze", "--nope", "npm:a@1.0.0"}, exitBadInput, "flag provided but not defined"},
		{[]string{"image"}, exitBadInput, "usage: fumehood image"},
		{[]string{"image", "import", "/nonexistent.tar"}, exitBadInput, "no such file"},
		{[]string{"rules"}, exitBadInput, "usage: fumehood rules"},
		{[]string{"worker", "--webhook-allow", "intranet"}, exitBadInput, "--webhook-allow"},
		{[]string{"worker", "--rejudge-workers", "-1"}, exitBadInput, "--rejudge-workers -1"},
		{[]string{"serve", "--feed", "/nonexistent/watch.txt"}, exitBadInput, "--feed"},
		{[]string{"serve", "--feed", "testdata/watch-bad.txt"}, exitBadInput, "line 2"},
		{[]string{"serve", "--feed", "testdata/watch.txt", "--feed-every", "10ms"}, exitBadInput, "--feed-every"},
		{[]string{"proxy", "--workers", "2"}, exitBadInput, "flag provided but not defined: -workers"},
		{[]string{"proxy", "extra"}, exitBadInput, "takes no arguments"},
		{[]string{"proxy", "--quarantine", "soon"}, exitBadInput, "flag -quarantine"},
		{[]string{"proxy", "--quarantine", "-1h"}, exitBadInput, "must not be negative"},
		{[]string{"proxy", "--npm-changes", "http://127.0.0.1:9/db", "--monitor", "some"}, exitBadInput, "--monitor"},
		{[]string{"proxy", "--npm-changes", "http://127.0.0.1:9/db", "--monitor", "watch", "--monitor-watch", "/nonexistent"}, exitBadInput, "--monitor-watch"},
		{[]string{"serve", "--npm-proxy", "127.0.0.1:0", "--npm-changes", "http://127.0.0.1:9/db", "--monitor-watch", "testdata/watch.txt"}, exitBadInput, "goes with --monitor watch"},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("fumehood %v: exit %d, stderr %q; want exit %d and %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
}

// TestBadSpecs needs nothing but the parser: malformed specs fail before
// any machine is touched.
func TestBadSpecs(t *testing.T) {
	for _, spec := range []string{"npm:", "npm:Bad Name@1.0.0", "npm:left-pad@^1.0.0", "npm:left-pad@latest", "npm:left-pad", "pypi:requests>=2", "pypi:re quests==1.0", "cargo:serde@1.0.0", "./does-not-exist.tgz"} {
		code, _, stderr := runCLI(t, "analyze", spec)
		if code != exitBadInput || stderr == "" {
			t.Errorf("analyze %q: exit %d, stderr %q; want exit %d with a message", spec, code, stderr, exitBadInput)
		}
	}
}

func TestRulesCommands(t *testing.T) {
	code, out, stderr := runCLI(t, "rules", "list")
	if code != 0 || !strings.Contains(out, "rules, version") {
		t.Fatalf("rules list: exit %d, %s %s", code, out, stderr)
	}
	if n := strings.Count(out, "\n"); n < 14 {
		t.Errorf("rules list printed %d lines, want at least 12 rules", n)
	}
	code, out, _ = runCLI(t, "rules", "test")
	if code != 0 || !strings.Contains(out, " 0 failed") {
		t.Errorf("rules test: exit %d\n%s", code, out)
	}
}

// TestBadArtifacts runs the real machine: each bad artifact is refused with
// exit 3 and a clear message, and nothing lands outside the work dirs.
func TestBadArtifacts(t *testing.T) {
	testenv.Containerd(t)
	testenv.BPF(t)
	outside := filepath.Join(os.TempDir(), "fumehood-escape-check")
	os.Remove(outside)
	big := filepath.Join(t.TempDir(), "big.tgz")
	if err := os.WriteFile(big, bytes.Repeat([]byte{0x1f}, 65<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	notGzip := filepath.Join(t.TempDir(), "plain.tgz")
	os.WriteFile(notGzip, []byte("this is not gzip"), 0o644)
	corrupt := tgz(t, map[string]string{"package/package.json": `{"name":"x","version":"1.0.0"}`})
	b, _ := os.ReadFile(corrupt)
	os.WriteFile(corrupt, b[:len(b)/2], 0o644)
	tests := []struct {
		name, target, want string
	}{
		{"not gzip", notGzip, "gzip"},
		{"truncated", corrupt, ""},
		{"traversal", tgz(t, map[string]string{"package/package.json": `{"name":"x","version":"1.0.0"}`, "../../../../" + outside: "escaped"}), ""},
		{"absolute", tgz(t, map[string]string{"package/package.json": `{"name":"x","version":"1.0.0"}`, outside: "escaped"}), ""},
		{"no manifest", tgz(t, map[string]string{"package/index.js": "1"}), "package.json"},
		{"too large", big, ""},
		{"missing version", "npm:is-number@999.999.999", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "analyze", "--state", testenv.StateDir("test"), tt.target)
			if code != exitBadInput || stderr == "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d with %q", code, stderr, exitBadInput, tt.want)
			}
			if _, err := os.Stat(outside); err == nil {
				t.Errorf("an archive entry was written outside the work dirs: %s", outside)
				os.Remove(outside)
			}
		})
	}
}

// TestAnalyzeJSON analyses the bundled harmless sample end to end through
// the CLI and checks the JSON contract.
func TestAnalyzeJSON(t *testing.T) {
	testenv.Containerd(t)
	testenv.BPF(t)
	tf := filepath.Join(t.TempDir(), "trace.jsonl")
	code, out, stderr := runCLI(t, "analyze", "--state", testenv.StateDir("test"), "--json", "--trace", tf, "../../deploy/samples/hello-npm")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, out)
	}
	var doc struct {
		ID      string
		Package struct{ Ecosystem, Name, Version, Digest string }
		Verdict string
		Score   *int
		Hits    []any
		Phases  []struct {
			Name       string
			ExitCode   *int  `json:"exit_code"`
			TimedOut   *bool `json:"timed_out"`
			DurationMS *int  `json:"duration_ms"`
			Events     *int
			Lost       *int
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(doc.ID) != 36 || doc.Package.Name != "hello-greeting" || doc.Package.Ecosystem != "npm" || !strings.HasPrefix(doc.Package.Digest, "sha256:") || doc.Verdict != "benign" || doc.Score == nil || doc.Hits == nil {
		t.Errorf("document: %+v", doc)
	}
	// install, its postinstall again with CI variables, import, and the
	// session that replays what the developer does next
	var names []string
	for _, p := range doc.Phases {
		names = append(names, p.Name)
	}
	if want := []string{"install", "ci", "import", "session"}; !slices.Equal(names, want) {
		t.Fatalf("phases %q, want %q: %+v", names, want, doc.Phases)
	}
	for _, p := range doc.Phases {
		if p.ExitCode == nil || *p.ExitCode != 0 || p.TimedOut == nil || p.DurationMS == nil || p.Events == nil || *p.Events == 0 || p.Lost == nil {
			t.Errorf("phase %+v", p)
		}
	}
	b, err := os.ReadFile(tf)
	if err != nil || !bytes.Contains(b, []byte(`"kind":"exec"`)) {
		t.Errorf("trace file: %v, %d bytes without exec events", err, len(b))
	}
}

// TestKill9 kills `fumehood analyze` mid-phase; the next start must leave
// nothing behind: containers, snapshots, cgroups, workspaces, work
// directories (the downloaded tarball), networks.
func TestKill9(t *testing.T) {
	addr := testenv.Containerd(t)
	testenv.BPF(t)
	bin := filepath.Join(t.TempDir(), "fumehood")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	state, data := testenv.StateDir("kill9"), t.TempDir()
	work := filepath.Join(data, "work")
	cmd := exec.Command(bin, "analyze", "--state", state, "--data", data, "--timeout", "2m", "../../worker/testdata/packages/sleeper")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Minute, "a container of the analysis", func() bool {
		left, err := leftovers.Find(context.Background(), addr, state, work)
		if err != nil {
			cmd.Process.Kill()
			t.Fatal(err)
		}
		return strings.Contains(strings.Join(left, "\n"), "container ")
	})
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	left, _ := leftovers.Find(context.Background(), addr, state, work)
	if !strings.Contains(strings.Join(left, "\n"), "work ") {
		t.Errorf("kill -9 left no work directory: %q", left)
	}
	if len(left) == 0 {
		t.Fatal("kill -9 left nothing to reap: the test proves nothing")
	}
	code, out, stderr := runCLI(t, "analyze", "--state", state, "--data", data, "../../deploy/samples/hello-npm")
	if code != 0 {
		t.Fatalf("next start: exit %d\n%s\n%s", code, out, stderr)
	}
	left, err := leftovers.Find(context.Background(), addr, state, work)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range left {
		t.Errorf("left behind after kill -9 and the next start: %s", l)
	}
}

// TestSignal sends SIGTERM and SIGINT to `fumehood analyze` mid-phase: it
// must clean up and exit by itself (code 4), leaving nothing behind without
// the help of a next start.
func TestSignal(t *testing.T) {
	addr := testenv.Containerd(t)
	testenv.BPF(t)
	bin := filepath.Join(t.TempDir(), "fumehood")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			state, data := testenv.StateDir("signal"), t.TempDir()
			work := filepath.Join(data, "work")
			cmd := exec.Command(bin, "analyze", "--state", state, "--data", data, "--timeout", "2m", "../../worker/testdata/packages/sleeper")
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { cmd.Wait(); close(exited) }()
			defer func() { cmd.Process.Kill(); <-exited }()
			testenv.WaitFor(t, 5*time.Minute, "a container of the analysis", func() bool {
				left, err := leftovers.Find(context.Background(), addr, state, work)
				return err == nil && strings.Contains(strings.Join(left, "\n"), "container ")
			})
			cmd.Process.Signal(sig)
			testenv.WaitFor(t, 2*time.Minute, "fumehood analyze to exit after "+sig.String(), func() bool {
				select {
				case <-exited:
					return true
				default:
					return false
				}
			})
			if code := cmd.ProcessState.ExitCode(); code != exitInfra {
				t.Errorf("exit code %d after %s, want %d", code, sig, exitInfra)
			}
			left, err := leftovers.Find(context.Background(), addr, state, work)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range left {
				t.Errorf("left behind after %s: %s", sig, l)
			}
		})
	}
}

// TestHostileFileName analyses a package whose autostart entry's file name
// holds newlines, a fake clean verdict and a terminal escape: the report
// must show one verdict, the real one, and no escape.
func TestHostileFileName(t *testing.T) {
	testenv.Containerd(t)
	testenv.BPF(t)
	code, out, stderr := runCLI(t, "analyze", "--state", testenv.StateDir("filename"), "--data", t.TempDir(), "../../worker/testdata/packages/fakeverdict")
	if code == 0 || code > 2 {
		t.Fatalf("exit %d, want a non-benign verdict\n%s\n%s", code, out, stderr)
	}
	if n := strings.Count(out, "\nverdict:"); n != 1 || strings.Contains(out, "\nno rule hits") || strings.ContainsRune(out, '\x1b') {
		t.Errorf("report shows %d verdict lines, a fake \"no rule hits\" line or an escape:\n%s", n, out)
	}
	if !strings.Contains(out, `verdict: BENIGN (score 0, rules builtin)\n\nno rule hits\n\x1b[8m.desktop`) {
		t.Errorf("the file name is not shown escaped:\n%s", out)
	}
}
