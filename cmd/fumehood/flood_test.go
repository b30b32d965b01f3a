package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/fumehood/fumehood/internal/testenv"
)

// BenchmarkAnalyzeFlood runs `fumehood analyze --trace` on a package that
// opens files 1.1 million times and reports the analyser's peak resident
// memory (goal: under 512 MiB whatever the flood) and the size of the
// trace file it wrote. Run it with -benchtime 1x.
func BenchmarkAnalyzeFlood(b *testing.B) {
	testenv.Containerd(b)
	testenv.BPF(b)
	dir := b.TempDir()
	bin := filepath.Join(dir, "fumehood")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	// The hostile package of the worker's tests, told to open 1.1 million
	// times.
	pkg := filepath.Join(dir, "openflood")
	if err := os.Mkdir(pkg, 0o755); err != nil {
		b.Fatal(err)
	}
	js, err := os.ReadFile("../../worker/testdata/packages/openflood/flood.js")
	if err != nil {
		b.Fatal(err)
	}
	manifest := `{"name":"bench-openflood","version":"1.0.0","config":{"opens":1100000},"scripts":{"postinstall":"node flood.js"}}`
	if err := os.WriteFile(filepath.Join(pkg, "flood.js"), js, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "package.json"), []byte(manifest), 0o644); err != nil {
		b.Fatal(err)
	}
	tf := filepath.Join(dir, "trace.jsonl")
	var rss, size int64
	for b.Loop() {
		cmd := exec.Command(bin, "analyze", "--state", testenv.StateDir("bench-flood"), "--timeout", "15m", "--trace", tf, pkg)
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code < 0 || code > 2 {
			b.Fatalf("analyze: %v (exit %d)\n%s", err, code, out)
		}
		rss = max(rss, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) // KiB
		st, err := os.Stat(tf)
		if err != nil {
			b.Fatal(err)
		}
		size = max(size, st.Size())
	}
	b.ReportMetric(float64(rss)/1024, "peak-rss-MiB")
	b.ReportMetric(float64(size)/(1<<20), "trace-MiB")
}
