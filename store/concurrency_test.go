package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fumehood/fumehood/analysis"
)

// checkOneRecord asserts that id is stored once, done, and that the rule
// index agrees with its hits (a torn Complete would leave hits of another
// completion indexed).
func checkOneRecord(t *testing.T, st Store, id string) {
	t.Helper()
	ctx := context.Background()
	r := mustGet(t, st, id)
	if r.Status != Done {
		t.Errorf("%s: status %s, want done", id, r.Status)
	}
	all, _, err := st.List(ctx, Query{Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	listed := 0
	for _, x := range all {
		if x.ID == id {
			listed++
		}
	}
	if listed != 1 {
		t.Errorf("%s listed %d times, want once", id, listed)
	}
	for _, rule := range ruleSet {
		rs, _, err := st.List(ctx, Query{Rule: rule})
		if err != nil {
			t.Fatal(err)
		}
		indexed := slices.ContainsFunc(rs, func(x *Record) bool { return x.ID == id })
		hit := slices.ContainsFunc(r.Hits, func(h analysis.Hit) bool { return h.Rule == rule })
		if indexed != hit {
			t.Errorf("%s: rule %s indexed %v, in hits %v (hits %v)", id, rule, indexed, hit, r.Hits)
		}
	}
}

func TestConcurrentGoroutines(t *testing.T) {
	ctx := context.Background()
	st := openTest(t)
	mustCreate(t, st, newRecord("same", "npm", "x", "1.0.0"))

	const workers = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		errs    []error
	)
	for w := range workers {
		wg.Go(func() {
			for i := range 20 {
				// Every worker completes the same analysis with its own hits ...
				err := errors.Join(st.Start(ctx, "same"),
					st.Complete(ctx, finished("same", analysis.Suspicious, ruleSet[w%len(ruleSet)], ruleSet[(w+i)%len(ruleSet)]), ""))
				// ... and tries to create the same new records.
				cerr := st.Create(ctx, newRecord(fmt.Sprintf("new-%d", i), "npm", "y", "1.0.0"))
				mu.Lock()
				if cerr == nil {
					created++
				} else if !errors.Is(cerr, ErrExists) {
					err = errors.Join(err, cerr)
				}
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got, want := created, 20; got != want {
		t.Errorf("%d creates of 20 ids succeeded, want %d", got, want)
	}
	if got, want := mustGet(t, st, "same").Attempts, workers*20; got != want {
		t.Errorf("attempts %d, want %d", got, want)
	}
	checkOneRecord(t, st, "same")
}

// helperEnv makes the test binary a store client (see TestHelperProcess).
const helperEnv = "FUMEHOOD_STORE_TEST_HELPER"

// TestHelperProcess is not a test: run by TestConcurrentProcesses with
// helperEnv=DBPATH,WORKER, it completes the shared analysis and creates
// the shared ids, and prints how many creates succeeded.
func TestHelperProcess(t *testing.T) {
	arg := os.Getenv(helperEnv)
	if arg == "" {
		return
	}
	path, w, _ := strings.Cut(arg, ",")
	worker, _ := strconv.Atoi(w)
	ctx := context.Background()
	st, err := OpenSQLite(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	created := 0
	for i := range 50 {
		if err := st.Start(ctx, "same"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		a := finished("same", analysis.Malicious, ruleSet[worker%len(ruleSet)], ruleSet[(worker+i)%len(ruleSet)])
		if err := st.Complete(ctx, a, ""); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		err := st.Create(ctx, newRecord(fmt.Sprintf("new-%d", i), "npm", "y", "1.0.0"))
		switch {
		case err == nil:
			created++
		case !errors.Is(err, ErrExists):
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	st.Close()
	fmt.Println(created)
	os.Exit(0)
}

// TestConcurrentProcesses runs two processes on one database file, as two
// workers of a farm would: both complete the same analysis 50 times and
// race to create the same 50 records; one record each results.
func TestConcurrentProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	st, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mustCreate(t, st, newRecord("same", "npm", "x", "1.0.0"))

	const procs = 2
	cmds := make([]*exec.Cmd, procs)
	outs := make([]strings.Builder, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmds[i].Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", helperEnv, path, i))
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	created := 0
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("helper %d: %v: %s", i, err, outs[i].String())
		}
		n, err := strconv.Atoi(strings.TrimSpace(outs[i].String()))
		if err != nil {
			t.Fatalf("helper %d printed %q", i, outs[i].String())
		}
		created += n
	}
	if got, want := created, 50; got != want {
		t.Errorf("%d creates of 50 ids succeeded across processes, want %d", got, want)
	}
	if got, want := mustGet(t, st, "same").Attempts, procs*50; got != want {
		t.Errorf("attempts %d, want %d", got, want)
	}
	checkOneRecord(t, st, "same")
}
