package multihost

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fumehood/fumehood/internal/leftovers"
	"github.com/fumehood/fumehood/internal/npmtest"
	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/scheduler"
)

var enabled = flag.Bool("multihost", false, "run the multi-host farm (root, containerd, eBPF, redis-server, PostgreSQL, versitygw); make multihost does")

// The run's size: uploads (interactive queue), registry specs
// (interactive) and the lockfile batch (batch queue).
const (
	uploads  = 24
	specs    = 8
	lockfile = 10
	total    = uploads + specs + lockfile
	// bound is the most the whole run may take; the analyses themselves
	// take a few minutes on two cores.
	bound = 15 * time.Minute
)

// root holds the hosts' state and data dirs: the same in every run, so
// that a worker of the next run reaps what a killed run left.
const root = "/run/fumehood-multihost"

func TestMultihost(t *testing.T) {
	// In CI it always runs (and fails when what it needs is missing);
	// elsewhere only when asked for, as it takes minutes and root.
	testenv.Require(t, *enabled || testenv.InCI(), "the -multihost flag outside CI, as root (make multihost)")
	containerdAddr := testenv.Containerd(t)
	testenv.BPF(t)
	for _, tool := range []string{"redis-server", "nsenter", "ip"} {
		testenv.Tool(t, tool)
	}
	ctls, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	testenv.Require(t, len(ctls) > 0, "PostgreSQL's programs (Debian's postgresql)")
	lock, err := os.OpenFile(root+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil { // released when the process ends
		t.Fatalf("lock %s: %v", lock.Name(), err)
	}

	// Teardown runs in reverse order of set-up, at the end of the test
	// or on SIGINT or SIGTERM, once.
	var (
		undoMu sync.Mutex
		undo   []func()
	)
	atExit := func(f func()) { undoMu.Lock(); undo = append(undo, f); undoMu.Unlock() }
	teardown := sync.OnceFunc(func() {
		undoMu.Lock()
		defer undoMu.Unlock()
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	})
	t.Cleanup(teardown)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; ok {
			fmt.Fprintln(os.Stderr, "multihost: signalled, tearing down")
			teardown()
			os.Exit(1)
		}
	}()

	names := []string{"a", "b"}
	removeHosts(names...) // what a killed run left, its servers too
	removeStaleServices()
	atExit(func() { removeHosts(names...) })
	hosts := newHosts(t, names...)
	logs := t.TempDir()
	atExit(func() {
		if t.Failed() {
			dumpLogs(t, logs)
		}
	})

	bin := filepath.Join(t.TempDir(), "fumehood")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/fumehood/fumehood/cmd/fumehood").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	red := startRedis(t, logs)
	atExit(func() { red.p.Stop(time.Minute) })
	pgDir, dsn := startPostgres(t)
	atExit(func() { stopService("postgres", pgDir) })
	s3Dir, blobs, s3Env := startS3(t)
	atExit(func() { stopService("s3", s3Dir) })
	ln, err := net.Listen("tcp", net.JoinHostPort(serviceAddr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	reg := npmtest.New(t, ln)

	env := append([]string{"FUMEHOOD_STORE=" + dsn, "FUMEHOOD_BLOBS=" + blobs, "FUMEHOOD_REDIS=" + red.addr,
		"FUMEHOOD_NPM_REGISTRY=" + reg.URL + "/", "FUMEHOOD_WEBHOOK_SECRET=multihost"}, s3Env...)
	serveData := t.TempDir()
	apiAddr := net.JoinHostPort("127.0.0.1", freePort(t, "127.0.0.1"))
	serve := start(t, logs, "serve", env, bin, "serve", "--listen", apiAddr, "--data", serveData, "--workers", "0")
	atExit(func() { serve.Stop(time.Minute) })
	testenv.WaitFor(t, 2*time.Minute, "the API's /healthz", func() bool {
		if serve.Exited() {
			t.Fatal("serve exited")
		}
		resp, err := http.Get("http://" + apiAddr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	out, err := exec.Command(bin, "token", "create", "--role", "admin", "--name", "multihost", "--store", dsn).Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	farm := &api{tb: t, url: "http://" + apiAddr, token: strings.TrimSpace(string(out)), http: &http.Client{Timeout: time.Minute}}

	// Each worker host: its state and data dirs, its /metrics on its own
	// address (the machine reaches it over the host's veth).
	atExit(func() { testenv.RemoveMounted(root) })
	workers := map[string]*testenv.Process{}
	startWorker := func(h *host, name string) {
		dir := filepath.Join(root, h.name)
		w := start(t, logs, name, env, "nsenter", "--net="+h.netns(), bin, "worker",
			"--state", filepath.Join(dir, "state"), "--data", filepath.Join(dir, "data"), "--containerd", containerdAddr,
			"--workers", "1", "--url", farm.url, "--metrics", net.JoinHostPort(h.addr, "9101"))
		workers[h.name] = w
		atExit(func() { w.Stop(time.Minute) })
	}
	for _, h := range hosts {
		startWorker(h, h.name)
	}
	in := asynq.NewInspector(asynq.RedisClientOpt{Addr: red.addr})
	atExit(func() { in.Close() })
	testenv.WaitFor(t, 2*time.Minute, "both workers to register with Redis", func() bool {
		for name, w := range workers {
			if w.Exited() {
				t.Fatalf("worker %s exited", name)
			}
		}
		s, err := in.Servers()
		return err == nil && len(scheduler.WorkerProcesses(s)) == len(hosts)
	})

	// Submissions: harmless packages made here, half of the uploads with
	// an install script that waits a second (so that a host dies with a
	// container running).
	begin := time.Now()
	var ids []string
	for i := range uploads {
		m := manifest(fmt.Sprintf("fh-mh-up-%d", i))
		if i%2 == 0 {
			m["scripts"] = map[string]string{"postinstall": `node -e "setTimeout(() => {}, 1000)"`}
		}
		ids = append(ids, farm.upload(fmt.Sprintf("fh-mh-up-%d-1.0.0.tgz", i), npmtest.Tarball(t, m, harmless)))
	}
	for i := range specs {
		name := fmt.Sprintf("fh-mh-spec-%d", i)
		reg.Publish(t, manifest(name), harmless)
		ids = append(ids, farm.submit("npm:"+name+"@1.0.0"))
	}
	lock3 := map[string]any{"name": "fh-mh-app", "version": "1.0.0", "lockfileVersion": 3, "requires": true}
	pkgs := map[string]any{"": map[string]any{"name": "fh-mh-app", "version": "1.0.0"}}
	for i := range lockfile {
		name := fmt.Sprintf("fh-mh-lock-%d", i)
		p := reg.Publish(t, manifest(name), harmless)
		pkgs["node_modules/"+name] = map[string]any{"version": "1.0.0", "resolved": p.Resolved, "integrity": p.Integrity}
	}
	lock3["packages"] = pkgs
	lockJSON, _ := json.Marshal(lock3)
	lockBatch := farm.submitBatch(map[string]any{"lockfile": string(lockJSON), "lockfile_name": "package-lock.json"})
	if lockBatch.Progress.Total != lockfile {
		t.Fatalf("lockfile batch of %d items, want %d", lockBatch.Progress.Total, lockfile)
	}
	t.Logf("submitted %d uploads, %d specs and a lockfile batch of %d in %v", uploads, specs, lockfile, time.Since(begin).Round(time.Millisecond))

	// The run's CPU accounting, from the first submission to the last
	// analysis: what each component used, summed over the processes it
	// had (a restarted one's earlier life included), and the machine's.
	cpu := map[string]float64{}
	account := func(component string, pid int, sign float64) { cpu[component] += sign * cpuSeconds(pid) }
	components := func(sign float64) {
		for _, w := range workers {
			account("workers", w.Cmd.Process.Pid, sign)
		}
		account("redis", red.p.Cmd.Process.Pid, sign)
		account("postgresql", postmaster(pgDir), sign)
		account("s3", pidFile(filepath.Join(s3Dir, "pid")), sign)
		account("serve", serve.Cmd.Process.Pid, sign)
		cpu["sandboxes"] += sign * sandboxCPU()
		cpu["machine"] += sign * machineCPU()
	}
	components(-1)

	// Host a dies with a container running: every process of it, kill -9.
	hostA := hosts[0]
	stateA := filepath.Join(root, hostA.name, "state")
	var killedID string
	testenv.WaitFor(t, 5*time.Minute, "host a to run a container", func() bool {
		if killedID, err = leftovers.Running(context.Background(), containerdAddr, stateA); err != nil {
			t.Fatal(err)
		}
		return killedID != ""
	})
	account("workers", workers[hostA.name].Cmd.Process.Pid, 1)
	n := hostA.kill()
	<-workers[hostA.name].Done
	delete(workers, hostA.name)
	killedAt := time.Now()
	t.Logf("killed host %s (%d processes) while it ran %s", hostA.name, n, killedID)
	if left := hostA.pids(); len(left) != 0 {
		t.Fatalf("processes of host %s after kill -9: %v", hostA.name, left)
	}
	if id, _ := leftovers.Running(context.Background(), containerdAddr, stateA); id != killedID {
		t.Fatalf("the kill left no container of %s to reap (%q): the run proves nothing of it", killedID, id)
	}

	// PostgreSQL restarts under the farm.
	account("postgresql", postmaster(pgDir), 1)
	testenv.Services(t, "postgres", "restart", pgDir)
	t.Logf("restarted PostgreSQL")

	ended := func() int {
		recs, err := farm.list()
		if err != nil {
			return -1 // the store or Redis restarting: try again
		}
		n := 0
		for _, r := range recs {
			if r.Status == "done" || r.Status == "failed" {
				n++
			}
		}
		return n
	}
	// Host a comes back when a quarter of the analyses have ended
	// (host b alone meanwhile); its worker reaps what the dead one left.
	testenv.WaitFor(t, bound, "a quarter of the analyses to end", func() bool { return ended() >= total/4 })
	startWorker(hostA, hostA.name+"-2")
	downFor := time.Since(killedAt)

	// Redis restarts when half the analyses have ended.
	testenv.WaitFor(t, bound, "half the analyses to end", func() bool { return ended() >= total/2 })
	account("redis", red.p.Cmd.Process.Pid, 1)
	red.restart(t)
	t.Logf("restarted Redis with %d of %d analyses ended", ended(), total)

	testenv.WaitFor(t, bound, "every analysis to end", func() bool { return ended() >= total })
	analysed := time.Since(begin)
	components(1)

	// A re-judge batch over every analysis of the run.
	readStart := time.Now()
	rejudge := farm.submitBatch(map[string]any{"rejudge": map[string]any{"since": begin.UTC().Format(time.RFC3339)}})
	var recs []record
	testenv.WaitFor(t, bound, "the re-judge batch to finish", func() bool {
		var err error
		if recs, err = farm.list(); err != nil {
			return false
		}
		for _, r := range recs {
			if r.Updated.Before(rejudge.Created) {
				return false
			}
		}
		return true
	})
	testenv.WaitFor(t, 2*time.Minute, "the queues to empty", func() bool {
		idle, _ := queuesIdle(in)
		return idle
	})

	// Exactly once: one record of each package, done and benign; none
	// lost, none failed, none twice.
	byName := map[string][]record{}
	for _, r := range recs {
		byName[r.Package.Name] = append(byName[r.Package.Name], r)
	}
	exactlyOnce, lost := 0, 0
	for _, id := range ids {
		if !slices.ContainsFunc(recs, func(r record) bool { return r.ID == id }) {
			t.Errorf("analysis %s is not in the store", id)
			lost++
		}
	}
	var lockItems batch
	farm.must(http.StatusOK, http.MethodGet, "/v1/batches/"+lockBatch.ID, nil, "", &lockItems)
	if p := lockItems.Progress; p.Total != lockfile || p.Done != lockfile {
		t.Errorf("lockfile batch progress %+v, want %d done", p, lockfile)
	}
	for _, kind := range []struct {
		prefix string
		n      int
	}{{"fh-mh-up-", uploads}, {"fh-mh-spec-", specs}, {"fh-mh-lock-", lockfile}} {
		for i := range kind.n {
			name := fmt.Sprintf("%s%d", kind.prefix, i)
			rs := byName[name]
			switch {
			case len(rs) == 0:
				t.Errorf("%s: no analysis", name)
				lost++
			case len(rs) > 1:
				t.Errorf("%s: %d analyses, want one", name, len(rs))
			case rs[0].Status != "done" || rs[0].Verdict != "benign" || rs[0].Package.Version != "1.0.0":
				t.Errorf("%s: %s %s %s (%s), want done, benign, 1.0.0", name, rs[0].Status, rs[0].Verdict, rs[0].Package.Version, rs[0].Error)
			default:
				exactlyOnce++
			}
		}
	}
	if len(recs) != total {
		t.Errorf("the store holds %d analyses, want %d", len(recs), total)
	}
	var killed record
	farm.must(http.StatusOK, http.MethodGet, "/v1/analyses/"+killedID, nil, "", &killed)
	if killed.Attempts < 2 {
		t.Errorf("the analysis killed with host a has %d attempts, want at least 2 (killed, then delivered again)", killed.Attempts)
	}
	if _, archived := queuesIdle(in); archived != 0 {
		t.Errorf("%d archived tasks, want none", archived)
	}

	// Every trace reads through the API.
	events := 0
	for _, r := range recs {
		n, err := farm.traceEvents(r.ID)
		if err != nil || n == 0 {
			t.Errorf("trace of %s (%s): %d events, %v", r.ID, r.Package.Name, n, err)
		}
		events += n
	}
	readBack := time.Since(readStart)

	// Nothing left on any host: containers, snapshots, cgroups of the
	// run's analyses; workspaces, network namespaces, mounts and work
	// directories of its workers.
	for _, h := range hosts {
		dir := filepath.Join(root, h.name)
		left, err := leftovers.Find(context.Background(), containerdAddr, filepath.Join(dir, "state"), filepath.Join(dir, "data", "work"))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range left {
			kind, _, _ := strings.Cut(l, " ")
			if kind != "container" && kind != "snapshot" && kind != "cgroup" || slices.ContainsFunc(ids, func(id string) bool { return strings.Contains(l, id) }) {
				t.Errorf("host %s: left behind: %s", h.name, l)
			}
		}
	}

	// One scrape of serve sees the whole farm: each worker host's
	// analyses as its own /metrics counts them, and what it runs now.
	perHost := map[string]float64{}
	for _, h := range hosts {
		perHost[h.name] = sumOf("http://"+net.JoinHostPort(h.addr, "9101")+"/metrics", `fumehood_analyses_total\{[^}]*\}`)
	}
	hostname, _ := os.Hostname()
	var farmView string
	testenv.WaitFor(t, time.Minute, "serve's /metrics to show each worker's analyses (published every 10 s)", func() bool {
		farmView = ""
		for _, h := range hosts {
			w := scheduler.WorkerName(hostname, workers[h.name].Cmd.Process.Pid)
			n := sumOf("http://"+apiAddr+"/metrics", `fumehood_farm_analyses_total\{verdict="[a-z]+",worker="`+regexp.QuoteMeta(w)+`"\}`)
			inFlight := sumOf("http://"+apiAddr+"/metrics", `fumehood_farm_in_flight\{worker="`+regexp.QuoteMeta(w)+`"\}`)
			if n != perHost[h.name] || inFlight != 0 {
				return false
			}
			farmView += fmt.Sprintf(" %s (%s) %v analyses, %v in flight;", h.name, w, n, inFlight)
		}
		return true
	})
	t.Logf("capacity, measured on a machine shared with other work (load average %s at the end): %d analyses in %v, from the first submission to the last analysis, with %d worker hosts of one analysis at a time (host a down %v, one analysis killed): %.1f analyses/min, %.1f per worker",
		loadavg(), total, analysed.Round(time.Second), len(hosts), downFor.Round(time.Second), float64(total)/analysed.Minutes(), float64(total)/analysed.Minutes()/float64(len(hosts)))
	t.Logf("analyses counted by each worker host's /metrics (since its last start): %v; in serve's farm view:%s", perHost, farmView)
	for _, c := range []string{"redis", "postgresql", "s3", "serve", "workers", "sandboxes", "machine"} {
		t.Logf("CPU %-10s %6.1f s, %5.1f%% of one core over %v", c, cpu[c], 100*cpu[c]/analysed.Seconds(), analysed.Round(time.Second))
	}
	t.Logf("re-judged %d analyses and read back their %d trace events through the API in %v", len(recs), events, readBack.Round(time.Second))

	teardown()
	if left := ourNetwork(); len(left) != 0 {
		t.Errorf("left after teardown: %v", left)
	}
	if _, err := os.Stat(root); err == nil {
		t.Errorf("%s left after teardown", root)
	}
	if !t.Failed() {
		fmt.Printf("multihost: %d/%d done exactly once, %d lost\n", exactlyOnce, total, lost)
	}
}

// harmless are the files of every package of the run besides its
// manifest: a module that adds.
var harmless = map[string]string{"index.js": "module.exports = (a, b) => a + b;\n"}

func manifest(name string) map[string]any {
	return map[string]any{"name": name, "version": "1.0.0", "main": "index.js", "license": "MIT"}
}

// queuesIdle reports whether no task is pending, running, scheduled or
// waiting for a retry, and returns how many are archived.
func queuesIdle(in *asynq.Inspector) (bool, int) {
	queues, err := in.Queues()
	if err != nil {
		return false, 0
	}
	idle, archived := true, 0
	for _, q := range queues {
		info, err := in.GetQueueInfo(q)
		if err != nil {
			return false, 0
		}
		if info.Pending+info.Active+info.Scheduled+info.Retry > 0 {
			idle = false
		}
		archived += info.Archived
	}
	return idle, archived
}
