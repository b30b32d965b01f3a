package scheduler

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fumehood/fumehood/ecosystem"
)

// MaxWatch bounds a watch list.
const MaxWatch = 10000

// ParseWatchList reads a feed's watch list: one package per line,
// "npm:NAME" or "pypi:NAME", blank lines and "#" comments ignored. Every
// line is checked; errors name their lines and wrap ErrInvalid.
func ParseWatchList(r io.Reader) ([]string, error) {
	lines, err := ecosystem.ReadList(r)
	if err != nil {
		return nil, fmt.Errorf("watch list: %w", err)
	}
	var (
		out  []string
		errs []error
		seen = map[string]bool{}
	)
	for _, l := range lines {
		n, line := l.N, l.Text
		eco, name, ok := strings.Cut(line, ":")
		if !ok {
			errs = append(errs, fmt.Errorf("line %d: %q: want npm:NAME or pypi:NAME", n, clip(line)))
			continue
		}
		if err := ecosystem.ValidName(eco, name); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %q: %w", n, clip(line), err))
			continue
		}
		key := eco + ":" + ecosystem.CanonicalName(eco, name)
		if !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("watch list: %w: %w", errors.Join(errs...), ErrInvalid)
	}
	if len(out) == 0 || len(out) > MaxWatch {
		return nil, fmt.Errorf("watch list: %d packages, want 1 to %d: %w", len(out), MaxWatch, ErrInvalid)
	}
	return out, nil
}

// PollResult is what a poll found.
type PollResult struct {
	Submitted []string // ids of new analyses
	Existing  int      // new versions already analysed
	Failed    []error  // packages that could not be polled
}

// Poll submits to the feed queue, for every watched package, the versions
// published within p.Window before now, or, when the registry dates none
// of its versions, its latest version. A version already analysed under
// the current rules is not analysed again (de-duplication), so polls may
// overlap. A package that cannot be polled (unknown, registry error) does
// not stop the others: it is in Failed; when no package could be polled
// (the registry is down, say) Poll returns an error.
func (s *Scheduler) Poll(ctx context.Context, p FeedPayload, now time.Time) (PollResult, error) {
	var res PollResult
	unpolled := 0
	for _, w := range p.Watch {
		eco, name, _ := strings.Cut(w, ":")
		rs, err := ecosystem.Releases(ctx, s.eco, eco, name)
		if err != nil {
			res.Failed = append(res.Failed, err)
			unpolled++
			continue
		}
		for _, v := range newReleases(rs, now.Add(-p.Window)) {
			spec := ecosystem.Target{Ecosystem: eco, Name: name, Version: v}.String()
			rec, existing, err := s.Submit(ctx, Submission{Spec: spec, Queue: QueueFeed})
			switch {
			case err != nil:
				res.Failed = append(res.Failed, fmt.Errorf("%s: %w", spec, err))
			case existing:
				res.Existing++
			default:
				res.Submitted = append(res.Submitted, rec.ID)
			}
		}
	}
	if unpolled == len(p.Watch) {
		return res, fmt.Errorf("feed poll: %w", errors.Join(res.Failed...))
	}
	return res, nil
}

// newReleases returns the versions of rs published at or after since; if
// none of rs is dated, the latest.
func newReleases(rs []ecosystem.Release, since time.Time) []string {
	var out []string
	dated := false
	for _, r := range rs {
		if r.Published.IsZero() {
			continue
		}
		dated = true
		if !r.Published.Before(since) {
			out = append(out, r.Version)
		}
	}
	if !dated {
		for _, r := range rs {
			if r.Latest {
				out = append(out, r.Version)
			}
		}
	}
	return out
}

// StartFeed polls watch (a ParseWatchList result) now and at every
// multiple of interval after, each poll looking back two intervals so that
// a missed poll loses nothing. The task id of a poll names its list and
// its period, so several serve processes of one farm queue one poll per
// period. stop ends the schedule (not the polls already queued).
func (s *Scheduler) StartFeed(ctx context.Context, watch []string, every time.Duration) (stop func(), err error) {
	if every < time.Second {
		return nil, fmt.Errorf("feed interval %v: want at least a second: %w", every, ErrInvalid)
	}
	p := FeedPayload{Watch: watch, Window: 2 * every}
	list := sha256.Sum256([]byte(strings.Join(watch, "\n")))
	enqueue := func(ctx context.Context, period time.Time) error {
		id := fmt.Sprintf("%s:%x:%d", TypeFeed, list[:8], period.UnixNano()/int64(every))
		_, err := s.client.EnqueueContext(ctx, NewFeedTask(p), asynq.TaskID(id))
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return fmt.Errorf("feed: %w", err)
		}
		return nil
	}
	if err := enqueue(ctx, time.Now().Truncate(every)); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			next := time.Now().Truncate(every).Add(every)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(next)):
			}
			if err := enqueue(ctx, next); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "feed poll not queued", "err", err)
			}
		}
	}()
	s.log.InfoContext(ctx, "feed started", "packages", len(watch), "every", every)
	return func() { cancel(); <-done }, nil
}
