package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Task types.
const (
	TypeAnalyze = "analyze" // detonate one stored record's package
	TypeRejudge = "rejudge" // judge one stored trace again with the worker's rules
	TypeWebhook = "webhook" // notify a submitter of a suspicious or malicious verdict
	TypeFeed    = "feed"    // poll watched packages for new versions (periodic)
)

// Queues.
const (
	QueueInteractive = "interactive"
	QueueBatch       = "batch"
	QueueFeed        = "feed"
	// QueueRejudge carries re-judges. A re-judge needs no sandbox, only
	// a core and the store, so workers serve this queue apart from the
	// others, at a concurrency of its own (worker.FarmConfig).
	QueueRejudge = "rejudge"
)

// Queues returns the queues of analyses with their weights, as
// asynq.Config.Queues takes them: interactive is served six times as
// often as feed. QueueRejudge is not among them.
func Queues() map[string]int {
	return map[string]int{QueueInteractive: 6, QueueBatch: 3, QueueFeed: 1}
}

// Per-task bounds. An analysis runs two phases of at most 3 minutes each
// plus fetching and preparing its dependencies.
const (
	AnalyzeTimeout  = 20 * time.Minute
	AnalyzeMaxRetry = 5
	RejudgeTimeout  = 2 * time.Minute
	RejudgeMaxRetry = 3
	WebhookTimeout  = 30 * time.Second
	WebhookMaxRetry = 10
	FeedTimeout     = 10 * time.Minute
	FeedMaxRetry    = 3
	// WebhookRetention keeps a delivered webhook's task id for a day, so
	// that a redelivered analysis does not notify twice.
	WebhookRetention = 24 * time.Hour
)

// AnalyzePayload names the record to analyse; everything else is in the
// store.
type AnalyzePayload struct {
	ID string `json:"id"`
}

// RejudgePayload names the record whose trace is judged again.
type RejudgePayload struct {
	ID string `json:"id"`
}

// WebhookPayload names the record to report and where.
type WebhookPayload struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// FeedPayload is a poll of watched packages: their versions published
// within Window before the poll are new.
type FeedPayload struct {
	Watch  []string      `json:"watch"` // "npm:NAME", "pypi:NAME"
	Window time.Duration `json:"window"`
}

// NewAnalyzeTask returns the task analysing record id. Its task id is the
// record id.
func NewAnalyzeTask(id string) *asynq.Task {
	return asynq.NewTask(TypeAnalyze, mustJSON(AnalyzePayload{ID: id}),
		asynq.TaskID(id), asynq.Timeout(AnalyzeTimeout), asynq.MaxRetry(AnalyzeMaxRetry))
}

// NewRejudgeTask returns the task re-judging record id for batch.
func NewRejudgeTask(batch, id string) *asynq.Task {
	return asynq.NewTask(TypeRejudge, mustJSON(RejudgePayload{ID: id}),
		asynq.TaskID(TypeRejudge+":"+batch+":"+id), asynq.Queue(QueueRejudge),
		asynq.Timeout(RejudgeTimeout), asynq.MaxRetry(RejudgeMaxRetry))
}

// NewWebhookTask returns the task posting record id's summary to url.
func NewWebhookTask(id, url string) *asynq.Task {
	return asynq.NewTask(TypeWebhook, mustJSON(WebhookPayload{ID: id, URL: url}),
		asynq.TaskID(TypeWebhook+":"+id), asynq.Queue(QueueInteractive),
		asynq.Timeout(WebhookTimeout), asynq.MaxRetry(WebhookMaxRetry), asynq.Retention(WebhookRetention))
}

// NewFeedTask returns a poll of p on the feed queue.
func NewFeedTask(p FeedPayload) *asynq.Task {
	return asynq.NewTask(TypeFeed, mustJSON(p), asynq.Queue(QueueFeed),
		asynq.Timeout(FeedTimeout), asynq.MaxRetry(FeedMaxRetry))
}

// mustJSON marshals payload structs of strings and numbers, which cannot
// fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("scheduler: marshal %T: %v", v, err))
	}
	return b
}

// ErrPayload is a task whose payload is not what its type carries.
var ErrPayload = errors.New("bad task payload")

// ParseAnalyze decodes an analyze task's payload.
func ParseAnalyze(t *asynq.Task) (AnalyzePayload, error) {
	var p AnalyzePayload
	if err := decode(t, TypeAnalyze, &p); err != nil {
		return p, err
	}
	return p, need(t, p.ID)
}

// ParseRejudge decodes a rejudge task's payload.
func ParseRejudge(t *asynq.Task) (RejudgePayload, error) {
	var p RejudgePayload
	if err := decode(t, TypeRejudge, &p); err != nil {
		return p, err
	}
	return p, need(t, p.ID)
}

// ParseWebhook decodes a webhook task's payload.
func ParseWebhook(t *asynq.Task) (WebhookPayload, error) {
	var p WebhookPayload
	if err := decode(t, TypeWebhook, &p); err != nil {
		return p, err
	}
	return p, need(t, p.ID, p.URL)
}

// ParseFeed decodes a feed task's payload.
func ParseFeed(t *asynq.Task) (FeedPayload, error) {
	var p FeedPayload
	if err := decode(t, TypeFeed, &p); err != nil {
		return p, err
	}
	if len(p.Watch) == 0 || p.Window <= 0 {
		return p, fmt.Errorf("%s task: %s: want packages to watch and a window: %w", t.Type(), t.Payload(), ErrPayload)
	}
	return p, nil
}

func decode(t *asynq.Task, typ string, p any) error {
	if t.Type() != typ {
		return fmt.Errorf("task type %q, want %q: %w", t.Type(), typ, ErrPayload)
	}
	if err := json.Unmarshal(t.Payload(), p); err != nil {
		return fmt.Errorf("%s task: %v: %w", typ, err, ErrPayload)
	}
	return nil
}

func need(t *asynq.Task, fields ...string) error {
	for _, f := range fields {
		if f == "" {
			return fmt.Errorf("%s task: %s: missing field: %w", t.Type(), t.Payload(), ErrPayload)
		}
	}
	return nil
}
