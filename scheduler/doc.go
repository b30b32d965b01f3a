// Package scheduler puts work on the queue: it owns the asynq task types,
// their payloads and options, the queues and their weights, and the
// submission of analyses and batches (validation, de-duplication against
// the store, enqueueing).
//
// The store is the source of truth; Redis only carries ids, and each
// worker process's metrics (PublishMetrics, WorkerMetrics: one key per
// process, fumehood:metrics:HOST:PID, that expires unless republished). A submission
// is validated (ecosystem.Parse for registry specs — paths are refused,
// the farm never reads its own files for a caller; an upload is checked
// like `fumehood analyze FILE` checks it and put in the blob store, so its
// key carries the artifact digest), de-duplicated on store.Key (ecosystem,
// name, version, artifact digest, rule set version) unless forced,
// created queued in the store, then enqueued with asynq.TaskID(record id):
// enqueueing the same record twice is a no-op. If the enqueue fails the
// record is marked failed, so nothing stays queued that no task carries.
//
// Queues: interactive (weight 6) for single submissions and webhooks,
// batch (3) for batch items, feed (1) for periodic feeds, and rejudge,
// which workers serve apart (a re-judge holds no sandbox). Feeds:
// StartFeed queues a poll of a watch list every period, and a worker's
// Poll submits the versions the registry published since to the feed
// queue.
// Tasks carry their own timeout and retry budget (AnalyzeTimeout,
// AnalyzeMaxRetry, ...); the worker (worker.Serve) sets the backoff.
//
// scheduler imports store, ecosystem, ecosystem/lockfile and
// internal/netpolicy; it never touches the sandbox.
package scheduler
