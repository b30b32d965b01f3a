package bpf

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/trace"
)

// workloadC is the syscall-heavy programs of the benchmarks: "openclose N
// FILE" opens and closes FILE N times; "rate PER_MS MS FILE" opens and
// closes FILE PER_MS times a millisecond for MS milliseconds, on absolute
// deadlines.
const workloadC = `#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "openclose") == 0) {
		long n = atol(argv[2]);
		for (long i = 0; i < n; i++)
			close(open(argv[3], O_RDONLY));
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "rate") == 0) {
		long per = atol(argv[2]), ms = atol(argv[3]);
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		for (long m = 0; m < ms; m++) {
			for (long i = 0; i < per; i++)
				close(open(argv[4], O_RDONLY));
			t.tv_nsec += 1000000;
			if (t.tv_nsec >= 1000000000) {
				t.tv_nsec -= 1000000000;
				t.tv_sec++;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, 0);
		}
		return 0;
	}
	return 2;
}
`

// buildWorkload compiles workloadC with cc into dir.
func buildWorkload(b *testing.B, dir string) string {
	b.Helper()
	src := filepath.Join(dir, "workload.c")
	bin := filepath.Join(dir, "workload")
	if err := os.WriteFile(src, []byte(workloadC), 0o644); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("cc", "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		b.Fatalf("cc: %v\n%s", err, out)
	}
	return bin
}

// npmFixture is a local package tarball of 2,000 files without
// dependencies and an npm cache holding it, so that npm installs it
// offline.
type npmFixture struct {
	tarball string
	cache   string
}

func newNPMFixture(b *testing.B, dir string) npmFixture {
	b.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		testenv.Require(b, false, "npm")
	}
	pkg := filepath.Join(dir, "pkg")
	if err := os.MkdirAll(filepath.Join(pkg, "lib"), 0o755); err != nil {
		b.Fatal(err)
	}
	manifest, err := json.Marshal(map[string]any{"name": "fumehood-bench-fixture", "version": "1.0.0", "main": "lib/f0.js"})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "package.json"), manifest, 0o644); err != nil {
		b.Fatal(err)
	}
	for i := range 1999 {
		src := fmt.Sprintf("module.exports = %d;\n", i)
		if err := os.WriteFile(filepath.Join(pkg, "lib", fmt.Sprintf("f%d.js", i)), []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	f := npmFixture{tarball: filepath.Join(dir, "fumehood-bench-fixture-1.0.0.tgz"), cache: filepath.Join(dir, "cache")}
	npm(b, dir, "pack", "--pack-destination", dir, pkg)
	npm(b, dir, "cache", "add", f.tarball, "--cache", f.cache)
	// One install, untimed, so that the first timed run does not pay for
	// a cold page cache.
	warm := filepath.Join(dir, "warm")
	if err := os.Mkdir(warm, 0o755); err != nil {
		b.Fatal(err)
	}
	npm(b, warm, "install", "--offline", "--ignore-scripts", "--cache", f.cache, f.tarball)
	return f
}

func npm(b *testing.B, dir string, args ...string) {
	b.Helper()
	cmd := exec.Command("npm", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_audit=false", "npm_config_fund=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("npm %v: %v\n%s", args, err, out)
	}
}

// command runs argv in cg and waits for it.
func command(b *testing.B, cg *cgroup, dir string, argv ...string) {
	b.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_audit=false", "npm_config_fund=false")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.f.Fd())}
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v: %v\n%s", argv, err, out)
	}
}

// BenchmarkWorkload runs the same workloads untraced, in a cgroup the
// tracer watches, and under strace. For the traced runs it reports the
// events recorded and lost per run.
func BenchmarkWorkload(b *testing.B) {
	testenv.BPF(b)
	strace, err := exec.LookPath("strace")
	testenv.Require(b, err == nil, "strace")
	tr := load(b, Options{})
	dir := b.TempDir()
	bin := buildWorkload(b, dir)
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	fx := newNPMFixture(b, dir)

	workloads := []struct {
		name string
		// prepare returns the working directory and argv of one run.
		prepare func(b *testing.B) (string, []string)
	}{
		{"openclose", func(*testing.B) (string, []string) {
			return dir, []string{bin, "openclose", "200000", target}
		}},
		{"npm", func(b *testing.B) (string, []string) {
			proj, err := os.MkdirTemp(dir, "proj")
			if err != nil {
				b.Fatal(err)
			}
			return proj, []string{"npm", "install", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--cache", fx.cache, fx.tarball}
		}},
	}
	modes := []string{"untraced", "traced", "strace"}
	for _, mode := range modes {
		for _, w := range workloads {
			b.Run(mode+"/"+w.name, func(b *testing.B) {
				cg := newCgroup(b)
				var events, lost uint64
				for b.Loop() {
					b.StopTimer()
					wd, argv := w.prepare(b)
					if mode == "strace" {
						argv = append([]string{strace, "-f", "-qq", "-o", "/dev/null"}, argv...)
					}
					b.StartTimer()
					if mode != "traced" {
						command(b, cg, wd, argv...)
						continue
					}
					rec, err := tr.Watch(cg.id)
					if err != nil {
						b.Fatal(err)
					}
					command(b, cg, wd, argv...)
					got, err := rec.Stop()
					if err != nil {
						b.Fatal(err)
					}
					events += uint64(len(got))
					lost += rec.Lost()
				}
				if mode == "traced" {
					b.ReportMetric(float64(events)/float64(b.N), "events/op")
					b.ReportMetric(float64(lost)/float64(b.N), "lost/op")
				}
			})
		}
	}
}

// BenchmarkSustained generates about 100,000 open events a second for 3 s
// in a watched cgroup and reports the events lost (goal 0) and the event
// rate recorded.
func BenchmarkSustained(b *testing.B) {
	const perMS, ms = 100, 3000
	tr := load(b, Options{})
	dir := b.TempDir()
	bin := buildWorkload(b, dir)
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	cg := newCgroup(b)
	var opens, lost uint64
	var elapsed time.Duration
	for b.Loop() {
		rec, err := tr.Watch(cg.id)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		command(b, cg, dir, bin, "rate", strconv.Itoa(perMS), strconv.Itoa(ms), target)
		elapsed += time.Since(start)
		events, err := rec.Stop()
		if err != nil {
			b.Fatal(err)
		}
		opens += uint64(len(find(events, trace.KindOpen, func(e *trace.Event) bool { return e.Path == target })))
		lost += rec.Lost()
	}
	b.ReportMetric(float64(lost)/float64(b.N), "lost/op")
	b.ReportMetric(float64(opens)/elapsed.Seconds(), "events/s")
}
