package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fumehood/fumehood/internal/testenv"
)

// TestWorkerMetrics publishes two workers' metrics through Redis: each is
// read back under its name, a republish replaces the last, and a worker
// that stops publishing drops out when its time to live ends. A worker
// process registered with the queue counts in InFlight under the name its
// metrics carry.
func TestWorkerMetrics(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if got, err := e.s.WorkerMetrics(ctx); err != nil || len(got) != 0 {
		t.Fatalf("WorkerMetrics before any publish = %v, %v; want none", got, err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.s.PublishMetrics(ctx, "host-a:1", []byte("a 1\n"), time.Minute))
	must(e.s.PublishMetrics(ctx, "host-b:2", []byte("b 1\n"), time.Second))
	must(e.s.PublishMetrics(ctx, "host-a:1", []byte("a 2\n"), time.Minute))
	got, err := e.s.WorkerMetrics(ctx)
	must(err)
	if len(got) != 2 || string(got["host-a:1"]) != "a 2\n" || string(got["host-b:2"]) != "b 1\n" {
		t.Errorf("WorkerMetrics = %q, want host-a:1 at its last publish and host-b:2", got)
	}
	time.Sleep(1500 * time.Millisecond) // host-b's time to live
	got, err = e.s.WorkerMetrics(ctx)
	must(err)
	if _, ok := got["host-b:2"]; ok || len(got) != 1 {
		t.Errorf("WorkerMetrics after host-b's time to live = %q, want host-a:1 alone", got)
	}

	srv := asynq.NewServer(e.redis, asynq.Config{Concurrency: 1, Queues: Queues()})
	must(srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })))
	defer srv.Shutdown()
	var running map[string]int
	testenv.WaitFor(t, time.Minute, "the worker process to register with the queue", func() bool {
		running, err = e.s.InFlight(ctx)
		must(err)
		return len(running) > 0
	})
	servers, err := e.insp.Servers()
	must(err)
	if want := WorkerName(servers[0].Host, servers[0].PID); len(running) != 1 || running[want] != 0 {
		t.Errorf("InFlight = %v, want %s running nothing", running, want)
	}
}
