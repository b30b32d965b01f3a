package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
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

func TestConcurrentGoroutines(t *testing.T) { forEachStore(t, testConcurrentGoroutines) }

func testConcurrentGoroutines(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	st := openTest(t)
	mustCreate(t, st, newRecord("same", "npm", "x", "1.0.0"))

	const workers = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		fresh   int // FindOrCreate calls that created
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
				// ... and submit the same package versions under their own ids.
				_, existing, ferr := findOrCreateVersion(ctx, st, fmt.Sprintf("w%d", w), i)
				mu.Lock()
				if ferr != nil {
					errs = append(errs, ferr)
				} else if !existing {
					fresh++
				}
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
	if got, want := fresh, 20; got != want {
		t.Errorf("FindOrCreate created %d records of 20 versions, want %d", got, want)
	}
	checkOnePerVersion(t, st, 20)
	if got, want := mustGet(t, st, "same").Attempts, workers*20; got != want {
		t.Errorf("attempts %d, want %d", got, want)
	}
	checkOneRecord(t, st, "same")
}

// findOrCreateVersion submits npm:z@1.0.<i> under an id of its own.
func findOrCreateVersion(ctx context.Context, st Store, who string, i int) (*Record, bool, error) {
	v := fmt.Sprintf("1.0.%d", i)
	r := newRecord(who+"-"+v, "npm", "z", v)
	return st.FindOrCreate(ctx, Key{Ecosystem: "npm", Name: "z", Version: v, Rules: r.Rules}, r)
}

// checkOnePerVersion asserts that npm:z has exactly one record of each of
// its n versions.
func checkOnePerVersion(t *testing.T, st Store, n int) {
	t.Helper()
	rs, _, err := st.List(context.Background(), Query{Name: "z", Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, r := range rs {
		per[r.Package.Version]++
	}
	for i := range n {
		if v := fmt.Sprintf("1.0.%d", i); per[v] != 1 {
			t.Errorf("npm:z@%s stored %d times, want once", v, per[v])
		}
	}
}

// Environment of the helper processes of TestConcurrentProcesses.
const (
	helperEnv     = "FUMEHOOD_STORE_TEST_HELPER"      // BACKEND,WORKER
	helperAddrEnv = "FUMEHOOD_STORE_TEST_HELPER_ADDR" // the database
)

// TestMain makes the test binary, run by TestConcurrentProcesses with
// helperEnv set, a store client: it completes the shared analysis, creates
// the shared ids and submits the shared versions, and prints how many
// creates and how many submissions created a record.
func TestMain(m *testing.M) {
	if arg := os.Getenv(helperEnv); arg != "" {
		storeClient(arg, os.Getenv(helperAddrEnv))
	}
	os.Exit(m.Run())
}

// storeClient is the helper process of TestConcurrentProcesses; it exits.
func storeClient(arg, addr string) {
	name, w, _ := strings.Cut(arg, ",")
	worker, _ := strconv.Atoi(w)
	ctx := context.Background()
	st, err := opens[name](ctx, addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	created, fresh := 0, 0
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
		_, existing, err := findOrCreateVersion(ctx, st, fmt.Sprintf("p%d", worker), i)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if !existing {
			fresh++
		}
	}
	st.Close()
	fmt.Println(created, fresh)
	os.Exit(0)
}

// TestConcurrentProcesses runs processes on one database, as workers of a
// farm on several hosts would: each completes the same analysis 50 times,
// races to create the same 50 records, and submits the same 50 package
// versions (FindOrCreate) under its own ids; one record each results.
func TestConcurrentProcesses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		const procs = 3
		addr := b.fresh(t)
		cmds := make([]*exec.Cmd, procs)
		outs := make([]strings.Builder, procs)
		for i := range cmds {
			cmds[i] = exec.Command(os.Args[0])
			cmds[i].Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", helperEnv, b.name, i), helperAddrEnv+"="+addr)
			cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		}
		st, err := b.open(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		mustCreate(t, st, newRecord("same", "npm", "x", "1.0.0"))
		for _, c := range cmds {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		created, fresh := 0, 0
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Fatalf("helper %d: %v: %s", i, err, outs[i].String())
			}
			var n, f int
			if _, err := fmt.Sscan(outs[i].String(), &n, &f); err != nil {
				t.Fatalf("helper %d printed %q", i, outs[i].String())
			}
			created += n
			fresh += f
		}
		if got, want := created, 50; got != want {
			t.Errorf("%d creates of 50 ids succeeded across processes, want %d", got, want)
		}
		if got, want := fresh, 50; got != want {
			t.Errorf("FindOrCreate created %d records of 50 versions across processes, want %d", got, want)
		}
		checkOnePerVersion(t, st, 50)
		if got, want := mustGet(t, st, "same").Attempts, procs*50; got != want {
			t.Errorf("attempts %d, want %d", got, want)
		}
		checkOneRecord(t, st, "same")
	})
}
