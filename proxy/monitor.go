package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/scheduler"
)

// Which packages the monitor analyses.
const (
	FollowAll   = "all"   // every package the registry changes
	FollowWatch = "watch" // the packages of a watch list
	FollowUsed  = "used"  // the packages this organisation installed through the firewall
)

// MonitorConfig is a follower of a registry's replication changes feed.
type MonitorConfig struct {
	// Changes is the CouchDB database whose _changes feed lists every
	// package the registry changes (its replication endpoint).
	Changes string
	// Follow is FollowAll, FollowWatch or FollowUsed.
	Follow string
	// Watch are the package names of FollowWatch.
	Watch []string
	// Interval is the pause when the feed is caught up (default 30 s).
	Interval time.Duration
	// Batch is the changes asked for at once (default 500).
	Batch int
}

// feedName is the name under which the npm changes feed's sequence is
// kept in the store.
const feedName = "npm-changes"

// Monitor follows the registry's changes feed until ctx ends: each
// changed package the filter selects has its packument fetched afresh and
// the analysis of every held version (the new ones) queued at feed
// priority, exactly as an install asking for it would, from the bytes
// the firewall fetched. The sequence is stored after each batch is
// queued, so a restart resumes with no gap (a batch may be seen twice:
// queueing is idempotent); a feed never followed starts at its end
// ("now"). The lag from publication to verdict of what it queued is the
// fumehood_proxy_publication_to_verdict_seconds histogram.
func (s *Server) Monitor(ctx context.Context, cfg MonitorConfig) error {
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	watch := map[string]bool{}
	for _, n := range cfg.Watch {
		watch[n] = true
	}
	switch cfg.Follow {
	case FollowAll, FollowUsed:
	case FollowWatch:
		if len(watch) == 0 {
			return errors.New("monitor: an empty watch list")
		}
	default:
		return fmt.Errorf("monitor: follow %q: want all, watch or used", cfg.Follow)
	}
	seq, err := s.cfg.Store.FeedSeq(ctx, feedName)
	if err != nil {
		return err
	}
	if seq == "" {
		seq = "now"
	}
	for {
		page, err := s.changes(ctx, cfg, seq)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.log.WarnContext(ctx, "monitor: changes feed", "err", err)
		default:
			for _, c := range page.Results {
				if !c.Deleted && s.follows(ctx, cfg, watch, c.ID) {
					s.refresh(ctx, c.ID)
				}
			}
			if last := string(page.LastSeq); last != "" && last != seq {
				if err := s.cfg.Store.SetFeedSeq(ctx, feedName, last); err != nil {
					s.log.WarnContext(ctx, "monitor: keep sequence", "err", err)
				} else {
					seq = last
				}
			}
		}
		s.sweep(ctx)
		if err == nil && len(page.Results) >= cfg.Batch {
			continue // behind: go on at once
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(cfg.Interval):
		}
	}
}

// changesPage is a page of a CouchDB _changes feed.
type changesPage struct {
	Results []struct {
		ID      string `json:"id"`
		Deleted bool   `json:"deleted"`
	} `json:"results"`
	LastSeq json.RawMessage `json:"last_seq"`
}

// changes reads the changes after seq (a raw JSON sequence, or "now").
func (s *Server) changes(ctx context.Context, cfg MonitorConfig, seq string) (changesPage, error) {
	since := seq
	var str string
	if json.Unmarshal([]byte(seq), &str) == nil {
		since = str // a string sequence goes in the URL unquoted
	}
	u := strings.TrimSuffix(cfg.Changes, "/") + "/_changes?" + url.Values{"since": {since}, "limit": {fmt.Sprint(cfg.Batch)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return changesPage{}, err
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return changesPage{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return changesPage{}, fmt.Errorf("changes since %s: %s", since, resp.Status)
	}
	var p changesPage
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxPackument)).Decode(&p); err != nil {
		return changesPage{}, fmt.Errorf("changes since %s: %w", since, err)
	}
	return p, nil
}

// follows reports whether the monitor analyses package name.
func (s *Server) follows(ctx context.Context, cfg MonitorConfig, watch map[string]bool, name string) bool {
	if ecosystem.ValidName(ecosystem.NPM, name) != nil {
		return false // design documents and the like
	}
	switch cfg.Follow {
	case FollowWatch:
		return watch[name]
	case FollowUsed:
		tbs, err := s.cfg.Store.Tarballs(ctx, ecosystem.NPM, name)
		return err == nil && len(tbs) > 0
	}
	return true
}

// refresh fetches name's packument afresh and queues the analysis of its
// held versions on the feed queue.
func (s *Server) refresh(ctx context.Context, name string) {
	p, err := s.up.fetch(ctx, name, s.up.cached(name))
	if err != nil {
		s.log.WarnContext(ctx, "monitor: packument", "name", name, "err", err)
		return
	}
	ds, _, err := s.decide(ctx, p)
	if err != nil {
		s.log.WarnContext(ctx, "monitor: decide", "name", name, "err", err)
		return
	}
	for v, d := range ds {
		if d.Queue {
			s.queueFrom(p, v, scheduler.QueueFeed, p.versions[v].Published)
		}
	}
}

// sweep looks again at the packages whose queued analyses have no verdict
// yet, so that their latencies are observed without a client asking.
func (s *Server) sweep(ctx context.Context) {
	s.mu.Lock()
	names := map[string]bool{}
	for _, w := range s.waiting {
		names[w.name] = true
	}
	s.mu.Unlock()
	for name := range names {
		if p := s.up.cached(name); p != nil {
			if _, _, err := s.decide(ctx, p.doc); err != nil {
				s.log.WarnContext(ctx, "monitor: sweep", "name", name, "err", err)
			}
		}
	}
}
