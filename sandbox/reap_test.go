package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const reapChildEnv = "FUMEHOOD_REAP_CHILD"

// TestReapKilledOwner starts a run in a child test process, checks that
// Reap leaves it alone while the child lives, kills the child, and checks
// that Reap then removes its container, snapshot, cgroups, workspace and
// work directory (with the tarball it downloaded).
func TestReapKilledOwner(t *testing.T) {
	if os.Getenv(reapChildEnv) != "" {
		reapChild(t)
		return
	}
	s := newTestSandbox(t)
	ctx := context.Background()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReapKilledOwner$", "-test.v")
	cmd.Env = append(os.Environ(), reapChildEnv+"=1", "FUMEHOOD_TEST_STATE="+s.state)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	var id string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
			id = rest
			break
		}
	}
	if id == "" {
		t.Fatalf("child never got its run going: %v", sc.Err())
	}
	go func() { // keep the child from blocking on a full pipe
		for sc.Scan() {
		}
	}()
	wsDir := s.wsRoot() + "/" + id
	workDir := s.work + "/" + id

	if err := s.Reap(ctx); err != nil {
		t.Fatalf("Reap with the owner alive: %v", err)
	}
	if _, err := s.client.LoadContainer(s.nsCtx(ctx), id); err != nil {
		t.Fatalf("Reap removed a living process's container: %v", err)
	}
	if m, _ := mounted(wsDir); !m {
		t.Fatalf("Reap removed a living process's workspace %s", wsDir)
	}
	if _, err := os.Stat(workDir + "/pkg.tgz"); err != nil {
		t.Fatalf("Reap removed a living process's work directory: %v", err)
	}
	again := phase(t, "true")
	again.ID = id
	if _, err := s.Run(ctx, again, nil); !errors.Is(err, ErrRunExists) {
		t.Fatalf("Run of a live run's id: got %v, want ErrRunExists", err)
	}

	cmd.Process.Kill()
	cmd.Wait()
	killed = true
	if _, err := s.client.LoadContainer(s.nsCtx(ctx), id); err != nil {
		t.Fatalf("container of the killed run: got %v, want it left behind", err)
	}
	// The queue re-delivers the killed run under the same id before any
	// Reap: the run clears what the dead owner left and goes ahead.
	if res, err := s.Run(ctx, again, nil); err != nil || res.ExitCode != 0 {
		t.Fatalf("Run of a dead run's id: got %+v, %v; want exit 0", res, err)
	}

	if err := s.Reap(ctx); err != nil {
		t.Fatalf("Reap: %v", err)
	}
	assertNoLeftovers(t, s, id)
	if m, _ := mounted(wsDir); m {
		t.Errorf("workspace %s still mounted after Reap", wsDir)
	}
	for _, f := range []string{wsDir, ownerFile(wsDir), workDir, ownerFile(workDir)} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Reap: got %v, want it gone", f, err)
		}
	}
}

// reapChild runs a long phase in a workspace, with a download in its work
// directory, and says "ready <id>" once it is running; the parent kills
// this process.
func reapChild(t *testing.T) {
	s := newTestSandbox(t)
	p := phase(t, "tail", "-f", "/dev/null")
	w, err := s.NewWorkspace(p.ID, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	p.Mounts = []Mount{{Source: w.Tmp(), Target: "/tmp"}}
	p.Timeout = 10 * time.Minute
	wd, err := s.NewWorkDir(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wd.Dir+"/pkg.tgz", []byte("downloaded"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.Run(context.Background(), p, func(uint64) error {
		fmt.Printf("ready %s\n", p.ID)
		return nil
	})
	t.Fatalf("child run ended: %v", err)
}

// TestReapSparesOwnLiveRuns calls Reap while a run and a workspace of the
// same process are live: both must survive, and a stale workspace of this
// process must not.
func TestReapSparesOwnLiveRuns(t *testing.T) {
	s := newTestSandbox(t)
	ctx := context.Background()
	p := phase(t, "true")
	live := workspace(t, s, p.ID, 1<<20)
	stale, err := s.NewWorkspace(p.ID+"-stale", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	s.release("ws", p.ID+"-stale") // as if a crashed run of ours had left it
	before := func(uint64) error {
		if err := s.Reap(ctx); err != nil {
			return err
		}
		if _, err := s.client.LoadContainer(s.nsCtx(ctx), p.ID); err != nil {
			return fmt.Errorf("own live container reaped: %w", err)
		}
		return nil
	}
	if _, err := s.Run(ctx, p, before); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if m, _ := mounted(live.Dir); !m {
		t.Errorf("own live workspace %s was reaped", live.Dir)
	}
	if _, err := os.Stat(stale.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale workspace %s: got %v, want it reaped", stale.Dir, err)
	}
}
