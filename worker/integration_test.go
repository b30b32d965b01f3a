package worker_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/bpf"
	"github.com/fumehood/fumehood/deploy"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/evaluate"
	"github.com/fumehood/fumehood/internal/leftovers"
	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/sandbox"
	"github.com/fumehood/fumehood/trace"
	"github.com/fumehood/fumehood/worker"
)

// stateDir is this test process's own (see testenv.StateDir).
var stateDir = testenv.StateDir("test")

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveStateDirs()
	os.Exit(code)
}

// openMachine loads the real machine: containerd, the imported image, eBPF.
// It keeps the production limits (worker.DefaultConfig, whose CPU limit
// FUMEHOOD_CPUS sets): a test asserts what a package does, never how fast
// this machine does it; tune shortens a limit only where the outcome does
// not depend on speed.
func openMachine(t *testing.T, tune func(*worker.Config)) *worker.Machine {
	t.Helper()
	addr := testenv.Containerd(t)
	testenv.BPF(t)
	ctx := context.Background()
	eco, err := ecosystem.DefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := worker.DefaultConfig()
	cfg.Ecosystem = eco
	cfg.WorkDir = t.TempDir()
	cfg.Image = sandbox.ImageRef(deploy.ImageRecipe)
	if tune != nil {
		tune(&cfg)
	}
	m, err := worker.Open(ctx, worker.MachineConfig{Containerd: addr, StateDir: stateDir}, cfg)
	if err != nil {
		if strings.Contains(err.Error(), "not imported") {
			testenv.Require(t, false, "sandbox image imported (deploy/setup.sh deps)")
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close machine: %v", err)
		}
		assertNoLeftovers(t, addr)
	})
	return m
}

// TestCorpus analyses every public corpus sample in the sandbox; each
// verdict must meet its sample.json expectation.
func TestCorpus(t *testing.T) {
	m := openMachine(t, nil)
	samples, err := evaluate.Load(testenv.Corpus(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		t.Run(s.Ecosystem+"/"+s.Name, func(t *testing.T) {
			a, err := m.Analyze(context.Background(), ecosystem.Target{Ecosystem: s.Ecosystem, Path: s.Dir})
			if err != nil {
				t.Fatalf("analyze: %v", err)
			}
			if a.Package.Name != ecosystem.CanonicalName(s.Ecosystem, s.Name) || !strings.HasPrefix(a.Package.Digest, "sha256:") {
				t.Errorf("package = %+v, want name %s with a sha256 digest", a.Package, s.Name)
			}
			// the ci phase runs again the install scripts a package has
			want := []string{"install", "import", worker.PhaseSession}
			if len(a.Coverage.Scripts) > 0 {
				want = slices.Insert(want, 1, "ci")
			}
			var got []string
			for _, p := range a.Phases {
				got = append(got, p.Name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("phases = %q, want %q", got, want)
			}
			if !evaluate.Met(s.Expect, a.Verdict) {
				t.Errorf("verdict %s (score %d), want %s; hits:\n%s", a.Verdict, a.Score, s.Expect, describeHits(a))
			}
		})
	}
}

func describeHits(a *analysis.Analysis) string {
	var b strings.Builder
	for _, h := range a.Hits {
		b.WriteString("  " + h.Rule + " [" + string(h.Severity) + "] " + h.Summary + "\n")
		for _, ev := range h.Evidence {
			b.WriteString("      " + ev + "\n")
		}
	}
	for _, p := range a.Phases {
		b.WriteString("  phase " + p.Name + " output:\n" + p.Output + "\n")
	}
	return b.String()
}

// hostileCase is a package that attacks the machine or the observation
// itself, and the check of its analysis.
type hostileCase struct {
	pkg   string
	check func(t *testing.T, a *analysis.Analysis)
}

// limitHostile gives hostile packages small limits, so that each meets one.
func limitHostile(c *worker.Config) {
	c.WorkspaceBytes = 128 << 20
	c.Limits.MemoryBytes = 512 << 20
	c.Limits.Pids = 128
}

// TestHostile runs packages that attack the machine and end by themselves
// when they meet a limit, under the production phase timeout: each must end
// with a verdict and leave the host unharmed.
func TestHostile(t *testing.T) {
	runHostile(t, openMachine(t, limitHostile), []hostileCase{
		{"memhog", func(t *testing.T, a *analysis.Analysis) {
			if p := a.Phases[0]; p.ExitCode == 0 || p.TimedOut {
				t.Errorf("memory hog not stopped by the memory limit: %+v", p)
			}
		}},
		{"diskfill", func(t *testing.T, a *analysis.Analysis) {
			if p := a.Phases[0]; p.TimedOut || !strings.Contains(p.Output, "No space left on device") {
				t.Errorf("disk filler not stopped by the workspace size: %+v", p)
			}
		}},
		// The script writes "0" where init reports the exit status, then
		// fails: the install must be reported as failed.
		{"fakeexit", func(t *testing.T, a *analysis.Analysis) {
			if p := a.Phases[0]; p.ExitCode == 0 || p.InitDied {
				t.Errorf("forged exit status believed: %+v", p)
			}
		}},
		// The script raises init's OOM score, leaves a payload that acts
		// 3 s later and fills the memory: init must survive (the hog is
		// killed) and the payload's act must be in the trace.
		{"initoom", func(t *testing.T, a *analysis.Analysis) {
			if p := a.Phases[0]; p.InitDied || p.ExitCode == 0 || !p.OOMKilled {
				t.Errorf("install %+v: want a failed, OOM-killed install with init alive", p)
			}
			if !traced(a, "install", trace.KindOpen, "/tmp/.cache-7c1e") {
				t.Error("the payload's act after the OOM kill was not observed")
			}
		}},
		// A detached payload sleeps an hour after the install: its sleep
		// is cut short, so it acts while it is watched, and is observed,
		// not only reported as a survivor.
		{"latepayload", func(t *testing.T, a *analysis.Analysis) {
			if p := a.Phases[0]; p.Survivors != 0 {
				t.Errorf("install %+v: want no survivor, the payload done", p)
			}
			if !traced(a, "install", trace.KindOpen, "/home/"+a.Sandbox.Persona.User+"/.ssh/id_rsa") {
				t.Error("the payload's read of the ssh key an hour after the install was not observed")
			}
		}},
		// The package's bins take the names of the project's tools: the
		// session runs them as the developer would, and their read of
		// ~/.npmrc is package code's.
		{"binshadow", func(t *testing.T, a *analysis.Analysis) {
			if !slices.ContainsFunc(a.Hits, func(h analysis.Hit) bool { return h.Rule == "cred-npm-token" }) {
				t.Errorf("no cred-npm-token hit; verdict %s, hits:\n%s", a.Verdict, describeHits(a))
			}
		}},
		// A wiper removes ~/.ssh, ~/.aws, ~/.config and the project with
		// rm -rf and fs.rmSync (names under a directory descriptor): the
		// removals must name the planted files.
		{"wiper", func(t *testing.T, a *analysis.Analysis) {
			for _, rule := range []string{"destroy-credentials", "wipe-home"} {
				if !slices.ContainsFunc(a.Hits, func(h analysis.Hit) bool { return h.Rule == rule }) {
					t.Errorf("no %s hit; verdict %s, hits:\n%s", rule, a.Verdict, describeHits(a))
				}
			}
			if a.Verdict != analysis.Malicious {
				t.Errorf("verdict %s, want malicious", a.Verdict)
			}
		}},
		// A detached payload waits 20 s on a timer (epoll, not a sleep)
		// after the install: the watch must last until it acts.
		{"latetimer", func(t *testing.T, a *analysis.Analysis) {
			if p := a.Phases[0]; p.WatchedMS == 0 || p.Survivors != 0 {
				t.Errorf("install %+v: want what it left watched until it ended", p)
			}
			if !traced(a, "install", trace.KindOpen, "/home/"+a.Sandbox.Persona.User+"/.ssh/id_rsa") {
				t.Error("the payload's read of the ssh key 20 s after the install was not observed")
			}
		}},
		// The install plants code in the shell's rc file, a git hook, the
		// project's test script and the ssh config: the session phase must
		// run each, as package code.
		{"persist", func(t *testing.T, a *analysis.Analysis) {
			for _, marker := range []string{"rc-fired-4b1d", "hook-fired-4b1d", "test-fired-4b1d", "ssh-fired-4b1d"} {
				if !packageCodeRan(a, worker.PhaseSession, marker) {
					t.Errorf("%s: not run as package code in the session phase", marker)
				}
			}
		}},
		// Node and Python processes read the environment in the ways the
		// preloads tell apart (worker/environ.go): by the identity of the
		// markers their opens returned, one name, the token-looking ones
		// after the keys, the diagnostic report's copy, code compiled under
		// a name of Node's own, posix.environ, reaching for the raw spawn
		// binding, Node's internals exposed, a report to a stream or one the
		// runtime is set to write, the dict under os.environ (every token),
		// a read after Set.prototype.has was
		// replaced, and a child started after
		// NODE_OPTIONS was deleted and replaced each read tokens; a whole
		// copy and Node's own copies for the children it starts read none.
		{"envreads", func(t *testing.T, a *analysis.Analysis) {
			got := envReads(a, "install")
			want := map[string][]string{
				"copy.js":         {"*"},
				"entries.js":      {"AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "NPM_TOKEN"},
				"read.js":         {"GITHUB_TOKEN"},
				"unset.js":        {"NPM_TOKEN"},
				"read.py":         {"AWS_ACCESS_KEY_ID"},
				"pycopy.py":       {"*"},
				"report.js":       {"GITHUB_TOKEN"},
				"vmname.js":       {"NPM_TOKEN"},
				"rawenv.py":       {"SLACK_WEBHOOK_URL"},
				"tamper.js":       {"GITHUB_TOKEN"},
				"binding.js":      {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "GITHUB_TOKEN", "NPM_TOKEN", "SLACK_WEBHOOK_URL"},
				"internals.js":    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "GITHUB_TOKEN", "NPM_TOKEN", "SLACK_WEBHOOK_URL"},
				"reportstream.js": {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "GITHUB_TOKEN", "NPM_TOKEN", "SLACK_WEBHOOK_URL"},
				"reportauto.js":   {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "GITHUB_TOKEN", "NPM_TOKEN", "SLACK_WEBHOOK_URL"},
				"rawdata.py":      {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "GITHUB_TOKEN", "NPM_TOKEN", "SLACK_WEBHOOK_URL"},
			}
			for script, names := range want {
				if !slices.Equal(got[script], names) {
					t.Errorf("%s read %q, want %q", script, got[script], names)
				}
			}
			if len(got["start.js"]) != 0 {
				t.Errorf("start.js, which only starts children, read %q", got["start.js"])
			}
			if t.Failed() {
				t.Logf("output:\n%s", a.Phases[0].Output)
			}
		}},
		// The install's shell expands a token variable into a cache file (no
		// recorder sees a shell's expansion); the import reads it and sends
		// it enciphered. The file holding the value is planted after the
		// install, so its read at import is a credential read.
		{"envstash", func(t *testing.T, a *analysis.Analysis) {
			if !slices.ContainsFunc(a.Trace.Events, func(e trace.Event) bool {
				return e.Kind == trace.KindPlant && e.Phase == "install" && strings.HasSuffix(e.Path, "/.cache/hostile-envstash/state")
			}) {
				t.Error("no plant event for the stash")
			}
			if !slices.ContainsFunc(a.Hits, func(h analysis.Hit) bool { return h.Rule == "cred-read-then-send" }) || a.Verdict != analysis.Malicious {
				t.Errorf("verdict %s, want malicious with cred-read-then-send; hits:\n%s", a.Verdict, describeHits(a))
			}
		}},
		// The script prints what sandbox checks read: nothing of ours may
		// show, and the identity must be the persona's.
		{"fingerprint", func(t *testing.T, a *analysis.Analysis) {
			out, pe := a.Phases[0].Output, a.Sandbox.Persona
			for _, mark := range []string{"fumehood", "containerd", "sinkhole", "/run/", a.ID} {
				if strings.Contains(out, mark) {
					t.Errorf("output shows %q:\n%s", mark, out)
				}
			}
			for _, want := range []string{"fp-init: /sbin/init\n", "fp-user: " + pe.User + "\n", "fp-host: " + pe.Hostname + "\n",
				"fp-home: /home/" + pe.User + "\n", "fp-gituser: " + pe.Email + "\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			for _, l := range strings.Split(out, "\n") {
				if c, ok := strings.CutPrefix(l, "fp-cgroup: "); ok {
					for _, g := range strings.Split(c, " | ") {
						if !strings.HasSuffix(g, ":/") {
							t.Errorf("cgroup line %q names a cgroup path", g)
						}
					}
				}
			}
			if pe.UID < sandbox.UIDBase || pe.UID >= sandbox.UIDBase+sandbox.UIDSlots {
				t.Errorf("persona uid %d outside the sandbox's uids", pe.UID)
			}
		}},
		// 14,000 datagrams to one destination, then a token to another:
		// the sinkhole's per-destination budget keeps the token's capture.
		{"udpflood", func(t *testing.T, a *analysis.Analysis) {
			exfilIn(t, a, trace.KindTCP)
		}},
		// One datagram to each of 12,000 destinations drowns the sinkhole's
		// phase budget; the probes' copy of what was sent keeps the token.
		{"sinkblind", func(t *testing.T, a *analysis.Analysis) {
			exfilIn(t, a, trace.KindSend)
		}},
		// 300,000 lookups of missing files, then the npmrc read and sent:
		// the lookups fill only their own share of the budget.
		{"lookupflood", func(t *testing.T, a *analysis.Analysis) {
			var lookups uint64
			for i := range a.Trace.Events {
				if e := &a.Trace.Events[i]; e.Kind == trace.KindLost && e.Missing() {
					lookups += e.Count
				}
			}
			if lookups == 0 || a.Trace.LostEvidence() != 0 {
				t.Errorf("%d lookups and %d other events lost; want lookups lost, nothing else", lookups, a.Trace.LostEvidence())
			}
			exfilIn(t, a, trace.KindTCP)
		}},
		// 300,000 opens: the tracer keeps its byte budget, counts the
		// rest as lost opens, and still records the exec that follows.
		{"openflood", func(t *testing.T, a *analysis.Analysis) {
			var size int
			var lostOpens uint64
			after := false
			for i := range a.Trace.Events {
				e := &a.Trace.Events[i]
				size += e.Size()
				after = after || e.Kind == trace.KindExec && slices.Contains(e.Argv, "after-the-flood")
				if e.Kind == trace.KindLost && e.Name == string(trace.KindOpen) {
					lostOpens += e.Count
				}
			}
			if limit := len(a.Phases) * bpf.DefaultMaxBytes; size > limit || lostOpens == 0 || !after || a.Verdict == analysis.Benign {
				t.Errorf("trace of %d MiB (limit %d MiB), %d opens lost, exec after the flood recorded %v, verdict %s; want within the limit, lost opens counted, the exec, not benign",
					size>>20, limit>>20, lostOpens, after, a.Verdict)
			}
		}},
	})
}

// traced reports whether a's phase holds an event of kind on path.
func traced(a *analysis.Analysis, phase string, kind trace.Kind, path string) bool {
	for _, e := range a.Trace.Events {
		if e.Phase == phase && e.Kind == kind && e.Path == path {
			return true
		}
	}
	return false
}

// envReads returns, for each script a Node or Python process of phase
// ran, the token variables it read by the recorders' markers its opens
// returned (the copy's as "*"), sorted.
func envReads(a *analysis.Analysis, phase string) map[string][]string {
	markers := map[trace.FileID]string{}
	scripts := map[uint32]string{}
	reads := map[string][]string{}
	for _, e := range a.Trace.Events {
		switch {
		case e.Kind == trace.KindPlant && strings.HasPrefix(e.Path, trace.PlantEnv) && e.Path2 == "": // a recorder's marker
			markers[e.File()] = strings.TrimPrefix(e.Path, trace.PlantEnv)
		case e.Phase != phase:
		case e.Kind == trace.KindExec && len(e.Argv) > 0 && slices.Contains([]string{".js", ".py"}, filepath.Ext(e.Argv[len(e.Argv)-1])):
			scripts[e.TGID] = filepath.Base(e.Argv[len(e.Argv)-1])
		case e.Kind == trace.KindOpen && e.Ret >= 0:
			if name, ok := markers[e.File()]; ok && scripts[e.TGID] != "" && !slices.Contains(reads[scripts[e.TGID]], name) {
				reads[scripts[e.TGID]] = append(reads[scripts[e.TGID]], name)
			}
		}
	}
	for _, names := range reads {
		slices.Sort(names)
	}
	return reads
}

// packageCodeRan reports whether a process of the phase whose argv holds
// marker was package code, by the trace's process table.
func packageCodeRan(a *analysis.Analysis, phase, marker string) bool {
	for _, p := range a.Trace.Processes {
		if p.Phase == phase && p.Role == trace.RolePackageCode && slices.Contains(p.Argv, marker) {
			return true
		}
	}
	return false
}

// exfilIn checks that a is malicious with a honeytoken-exfil hit among
// whose evidence is an event of kind k.
func exfilIn(t *testing.T, a *analysis.Analysis, k trace.Kind) {
	t.Helper()
	for _, h := range a.Hits {
		for _, seq := range h.Events {
			if e := a.Trace.Event(seq); h.Rule == "honeytoken-exfil" && e != nil && e.Kind == k {
				if a.Verdict != analysis.Malicious {
					t.Errorf("verdict %s, want malicious", a.Verdict)
				}
				return
			}
		}
	}
	t.Errorf("no honeytoken-exfil hit on a %s event; verdict %s, hits:\n%s", k, a.Verdict, describeHits(a))
}

// TestHostileEndless runs hostile packages that never end by themselves:
// their outcome is the timeout whatever the machine's speed, so a short one
// keeps the test short.
func TestHostileEndless(t *testing.T) {
	runHostile(t, openMachine(t, func(c *worker.Config) {
		limitHostile(c)
		c.PhaseTimeout = 20 * time.Second
	}), []hostileCase{
		{"forkbomb", func(t *testing.T, a *analysis.Analysis) {
			if p := a.Phases[0]; !p.TimedOut && p.ExitCode == 0 {
				t.Errorf("fork bomb ended cleanly: %+v", p)
			}
		}},
		{"sleeper", func(t *testing.T, a *analysis.Analysis) {
			if p := a.Phases[0]; !p.TimedOut {
				t.Errorf("never-exiting install not timed out: %+v", p)
			}
		}},
	})
}

func runHostile(t *testing.T, m *worker.Machine, tests []hostileCase) {
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			var before syscall.Statfs_t
			if err := syscall.Statfs("/", &before); err != nil {
				t.Fatal(err)
			}
			a, err := m.Analyze(context.Background(), ecosystem.Target{Ecosystem: "npm", Path: filepath.Join("testdata", "packages", tt.pkg)})
			if err != nil {
				t.Fatalf("analyze: %v", err)
			}
			if a.Verdict == "" || len(a.Phases) == 0 {
				t.Fatalf("no verdict: %+v", a)
			}
			tt.check(t, a)
			var after syscall.Statfs_t
			if err := syscall.Statfs("/", &after); err != nil {
				t.Fatal(err)
			}
			// A package's writes go to the workspace tmpfs (1 GiB): one
			// that escaped it, as the disk filler would, takes more than
			// 768 MiB of the host's disk. Less than that is other
			// programs on a shared machine (builds, downloads).
			if used := (int64(before.Bavail) - int64(after.Bavail)) * before.Bsize; used > 768<<20 {
				t.Errorf("host disk shrank by %d MiB", used>>20)
			}
		})
	}
}

// TestManyFiles installs a package of 100,000 files: the install must
// complete, traced. Its bound is generous (ten times the production limit):
// how long 100,000 files take is the machine's speed, not the outcome.
func TestManyFiles(t *testing.T) {
	m := openMachine(t, func(c *worker.Config) { c.PhaseTimeout *= 10 })
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"many-files","version":"1.0.0","main":"index.js"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte("module.exports = 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		sub := filepath.Join(dir, "data", string(rune('a'+i%26))+strings.Repeat("x", i/26))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for j := range 1000 {
			if err := os.WriteFile(filepath.Join(sub, "f"+strconv.Itoa(j)+".txt"), []byte{'x'}, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	a, err := m.Analyze(context.Background(), ecosystem.Target{Ecosystem: "npm", Path: dir})
	if err != nil {
		t.Fatalf("analyze: %v", err)
	}
	if p := a.Phases[0]; p.ExitCode != 0 || p.TimedOut {
		t.Errorf("install of 100k files: %+v, want exit 0, no timeout", p)
	}
	// A recording is bounded in bytes (bpf.Options.MaxBytes): what does not
	// fit is counted per kind, as lost events named after the kind. The
	// ring buffer's reader itself must lose nothing (a lost event with no
	// kind): it keeps up with the event rate of this install.
	var ring, budget uint64
	for _, e := range a.Trace.Events {
		if e.Kind == trace.KindLost && e.Phase == "install" {
			if e.Name == "" {
				ring += e.Count
			} else {
				budget += e.Count
			}
		}
	}
	if ring != 0 {
		t.Errorf("install of 100k files: the ring buffer's reader lost %d events (%d more beyond the recording's budget)", ring, budget)
	}
	t.Logf("install of 100k files: %d events kept, %d beyond the recording's budget", a.Phases[0].Events, budget)
}

// TestNoEgress proves from the host side that a package's attempts to leave
// the machine never reach a host interface: a packet socket on every host
// interface watches for the package's marker and destinations while it
// tries TCP, UDP and ICMP to an off-machine address, the host's own
// addresses and 127.0.0.1; the sinkhole must have captured the attempts.
func TestNoEgress(t *testing.T) {
	m := openMachine(t, nil)
	// 127.0.0.1 is the sandbox's own loopback: traffic to it never leaves
	// the container. Every other target must end at the sinkhole.
	mustCapture := []string{"198.51.100.77"}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			mustCapture = append(mustCapture, ipn.IP.String())
		}
	}
	targets := append([]string{"127.0.0.1"}, mustCapture...)
	dir := t.TempDir()
	js, err := os.ReadFile(filepath.Join("testdata", "egress.js"))
	if err != nil {
		t.Fatal(err)
	}
	js = []byte(strings.Replace(string(js), "TARGETS", strings.Join(targets, ","), 1))
	if err := os.WriteFile(filepath.Join(dir, "egress.js"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"egress-probe","version":"1.0.0","scripts":{"postinstall":"node egress.js"}}`), 0o644); err != nil {
		t.Fatal(err)
	}

	sniff := startSniffer(t, "egress-marker-7f3c9a", net.ParseIP("198.51.100.77"))
	a, err := m.Analyze(context.Background(), ecosystem.Target{Ecosystem: "npm", Path: dir})
	if err != nil {
		t.Fatalf("analyze: %v", err)
	}
	// A control datagram on the host's loopback proves the sniffer sees
	// traffic at all.
	ctl, err := net.Dial("udp", "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	ctl.Write([]byte("control-frame-41d2"))
	ctl.Close()
	testenv.WaitFor(t, time.Minute, "the sniffer to see the control frame (else it does not work)", func() bool { return sniff.control.Load() > 0 })
	seen, _ := sniff.stop()
	if seen > 0 {
		t.Errorf("%d frames of the package's traffic reached host interfaces", seen)
	}
	var captured []string
	for _, e := range a.Trace.Events {
		if e.Kind == trace.KindTCP || e.Kind == trace.KindUDP || e.Kind == trace.KindHTTP {
			captured = append(captured, e.Addr)
		}
	}
	for _, want := range mustCapture {
		found := false
		for _, c := range captured {
			found = found || c == want
		}
		if !found {
			t.Errorf("no sinkhole capture for %s (captured %v): the attempt did not happen or was not seen", want, captured)
		}
	}
}

type sniffer struct {
	fd      int
	seen    atomic.Int64
	control atomic.Int64
	wg      sync.WaitGroup
	done    atomic.Bool
}

// startSniffer counts frames on every host interface that carry marker or
// are addressed to dst.
func startSniffer(t *testing.T, marker string, dst net.IP) *sniffer {
	t.Helper()
	const ethPAll = 0x0003
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, int(htons(ethPAll)))
	if err != nil {
		t.Fatalf("packet socket: %v", err)
	}
	tv := syscall.Timeval{Usec: 200000}
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	s := &sniffer{fd: fd}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 65536)
		d4 := dst.To4()
		for !s.done.Load() {
			n, _, err := syscall.Recvfrom(fd, buf, 0)
			if err != nil || n <= 0 {
				continue
			}
			f := buf[:n]
			if strings.Contains(string(f), "control-frame-41d2") {
				s.control.Add(1)
			}
			if strings.Contains(string(f), marker) || containsIP(f, d4) {
				s.seen.Add(1)
			}
		}
	}()
	return s
}

func (s *sniffer) stop() (seen, control int64) {
	s.done.Store(true)
	s.wg.Wait()
	syscall.Close(s.fd)
	return s.seen.Load(), s.control.Load()
}

func containsIP(frame []byte, ip net.IP) bool {
	return len(ip) == 4 && strings.Contains(string(frame), string(ip))
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// assertNoLeftovers checks that nothing of ours is left.
func assertNoLeftovers(t *testing.T, addr string) {
	t.Helper()
	left, err := leftovers.Find(context.Background(), addr, stateDir, "")
	if err != nil {
		t.Error(err)
	}
	for _, l := range left {
		t.Errorf("left behind: %s", l)
	}
}

// TestComputedVersion analyses PyPI projects whose setup.py computes the
// version (from a VERSION file; by exec of version.py): as a source
// directory and as a source archive without PKG-INFO. The metadata phase
// runs setup.py in the sandbox and the analysis ends with the right name
// and version, installed and imported.
func TestComputedVersion(t *testing.T) {
	m := openMachine(t, nil)
	tests := []struct{ dir, name, version string }{
		{"version-file", "ver-file", "1.4.2"},
		{"version-exec", "ver-exec", "0.9.1"},
	}
	for _, tt := range tests {
		src := filepath.Join("testdata", "packages", tt.dir)
		for _, target := range []string{src, sourceArchive(t, src)} {
			t.Run(filepath.Base(target), func(t *testing.T) {
				a, err := m.Analyze(context.Background(), ecosystem.Target{Ecosystem: ecosystem.PyPI, Path: target})
				if err != nil {
					t.Fatalf("analyze: %v", err)
				}
				if a.Package.Name != tt.name || a.Package.Version != tt.version {
					t.Errorf("package %s %s, want %s %s", a.Package.Name, a.Package.Version, tt.name, tt.version)
				}
				var phases []string
				for _, p := range a.Phases {
					phases = append(phases, p.Name)
				}
				// setup.py's build runs again in the ci phase
				if got, want := strings.Join(phases, ","), "metadata,install,ci,import,session"; got != want {
					t.Errorf("phases %s, want %s", got, want)
				}
				if a.Verdict != analysis.Benign || a.Coverage.Level != analysis.CoverageFull {
					t.Errorf("verdict %s, coverage %+v; want benign with full coverage (%s)", a.Verdict, a.Coverage, describeHits(a))
				}
			})
		}
	}
}

// sourceArchive packs the tree at dir as NAME.tar.gz with a NAME/ root
// and no PKG-INFO, the way a source host's archive download is made.
func sourceArchive(t *testing.T, dir string) string {
	t.Helper()
	base := filepath.Base(dir)
	out := filepath.Join(t.TempDir(), base+".tar.gz")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: base + "/" + filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHostileInotify runs a package that holds every inotify instance its
// uid may have and checks from the host, while it holds them, that host
// uid 1000 (a real account on these machines) and root can still create
// one: the package's uid is no host account's.
func TestHostileInotify(t *testing.T) {
	m := openMachine(t, nil)
	done := make(chan *analysis.Analysis, 1)
	go func() {
		a, err := m.Analyze(context.Background(), ecosystem.Target{Ecosystem: "npm", Path: filepath.Join("testdata", "packages", "inotifyhog")})
		if err != nil {
			t.Errorf("analyze: %v", err)
		}
		done <- a
	}()
	var pid int
	testenv.WaitFor(t, 3*time.Minute, "the package to hold its inotify instances", func() bool {
		pid = inotifyHolder("inotify-hog-9e2a", 100)
		return pid > 0
	})
	for _, uid := range []int{1000, 0} {
		if err := inotifyAs(uid); err != nil {
			t.Errorf("inotify_init as host uid %d while the package holds its instances: %v", uid, err)
		}
	}
	// Release the package (its /tmp, seen through its root).
	if err := os.WriteFile(filepath.Join("/proc", strconv.Itoa(pid), "root", "tmp", "release"), nil, 0o644); err != nil {
		t.Errorf("release the package: %v", err)
	}
	if a := <-done; a != nil && !strings.Contains(a.Phases[0].Output, "holding") {
		t.Errorf("the package did not hold instances: %s", a.Phases[0].Output)
	}
}

// inotifyHolder returns the pid of a process whose argv holds marker and
// which holds at least min inotify instances, or 0.
func inotifyHolder(marker string, min int) int {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if !strings.Contains(string(cmd), marker) {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		n := 0
		for _, fd := range fds {
			if l, _ := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name())); l == "anon_inode:inotify" {
				n++
			}
		}
		if n >= min {
			return pid
		}
	}
	return 0
}

// inotifyAs creates and closes an inotify instance as uid, on a thread of
// its own whose credentials alone change (a raw setresuid; the thread
// ends with the goroutine).
func inotifyAs(uid int) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with its changed uid
		if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, uintptr(uid), uintptr(uid), 0); e != 0 {
			errc <- fmt.Errorf("setresuid: %w", e)
			return
		}
		fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
		if err == nil {
			syscall.Close(fd)
		}
		errc <- err
	}()
	return <-errc
}
