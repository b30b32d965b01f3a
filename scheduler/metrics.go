package scheduler

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// metricsKey prefixes the Redis key of each worker process's metrics.
const metricsKey = "fumehood:metrics:"

// PublishMetrics keeps the metrics of the worker process named worker
// (the Prometheus text format) in Redis for ttl, where WorkerMetrics finds
// them: workers publish every so often, so that one scrape of serve sees
// the whole farm, and one that stops publishing drops out after ttl.
func (s *Scheduler) PublishMetrics(ctx context.Context, worker string, text []byte, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, metricsKey+worker, text, ttl).Err(); err != nil {
		return fmt.Errorf("publish metrics of %s: %w", worker, err)
	}
	return nil
}

// WorkerMetrics returns what each worker process published last with
// PublishMetrics, by worker.
func (s *Scheduler) WorkerMetrics(ctx context.Context) (map[string][]byte, error) {
	var keys []string
	iter := s.rdb.Scan(ctx, 0, metricsKey+"*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("worker metrics: %w", err)
	}
	out := map[string][]byte{}
	if len(keys) == 0 {
		return out, nil
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("worker metrics: %w", err)
	}
	for i, v := range vals {
		if text, ok := v.(string); ok { // nil: expired since the scan
			out[strings.TrimPrefix(keys[i], metricsKey)] = []byte(text)
		}
	}
	return out, nil
}

// InFlight returns, per worker process registered with the queue (by
// host:pid, the name PublishMetrics is given), the tasks it runs now.
func (s *Scheduler) InFlight(context.Context) (map[string]int, error) {
	servers, err := s.insp.Servers()
	if err != nil {
		return nil, fmt.Errorf("workers: %w", err)
	}
	return WorkerProcesses(servers), nil
}

// WorkerProcesses returns, per worker process among the servers the queue
// lists (a worker process runs two: one for analyses, one for re-judges),
// the tasks it runs now.
func WorkerProcesses(servers []*asynq.ServerInfo) map[string]int {
	out := map[string]int{}
	for _, sv := range servers {
		out[WorkerName(sv.Host, sv.PID)] += len(sv.ActiveWorkers)
	}
	return out
}

// WorkerName names a worker process in metrics: its host and process id,
// as the queue knows it.
func WorkerName(host string, pid int) string { return host + ":" + strconv.Itoa(pid) }

// redisClient is the go-redis client of opt (asynq's options make one).
func redisClient(opt interface{ MakeRedisClient() any }) redis.UniversalClient {
	return opt.MakeRedisClient().(redis.UniversalClient)
}
