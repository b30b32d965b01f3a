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
)

// Which packages the monitor analyses.
const (
	FollowAll   = "all"   // every package the registry changes
	FollowWatch = "watch" // the packages of a watch list
	FollowUsed  = "used"  // the packages this organisation installed through the firewall or named in a lockfile it submitted
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

// updateFeed is a registry's feed of changed packages, read from a
// position the store keeps.
type updateFeed interface {
	// start is the position of a feed never followed: its end.
	start(ctx context.Context) (string, error)
	// next returns the packages changed after pos, the position after
	// them, and whether the feed may hold more at once (a full page).
	next(ctx context.Context, pos string) (names []string, last string, more bool, err error)
}

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
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	return s.monitor(ctx, cfg, feedName, couchFeed{s: s, cfg: cfg}, s.docs.refresh, s.docs.sweep)
}

// monitor follows f, kept in the store under key, until ctx ends: see
// Server.Monitor. refresh queues the held versions of a changed package,
// sweep looks again at the packages with analyses outstanding.
func (c *core) monitor(ctx context.Context, cfg MonitorConfig, key string, f updateFeed, refresh, sweep func(ctx context.Context, name string)) error {
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	watch := map[string]bool{}
	for _, n := range cfg.Watch {
		watch[ecosystem.CanonicalName(c.eco, n)] = true
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
	pos, err := c.cfg.Store.FeedSeq(ctx, key)
	if err != nil {
		return err
	}
	for {
		more := false
		if pos == "" {
			pos, err = f.start(ctx)
		}
		if err == nil && pos != "" {
			var (
				names []string
				last  string
			)
			names, last, more, err = f.next(ctx, pos)
			if err == nil {
				for _, n := range names {
					if c.follows(ctx, cfg, watch, n) {
						refresh(ctx, ecosystem.CanonicalName(c.eco, n))
					}
				}
				if last != "" && last != pos {
					if err := c.cfg.Store.SetFeedSeq(ctx, key, last); err != nil {
						c.log.WarnContext(ctx, "monitor: keep position", "feed", key, "err", err)
					} else {
						pos = last
					}
				}
			}
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			c.log.WarnContext(ctx, "monitor: update feed", "feed", key, "err", err)
		}
		c.sweep(ctx, sweep)
		if err == nil && more {
			continue // behind: go on at once
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(cfg.Interval):
		}
	}
}

// couchFeed is the npm registry's CouchDB _changes feed.
type couchFeed struct {
	s   *Server
	cfg MonitorConfig
}

func (f couchFeed) start(context.Context) (string, error) { return "now", nil }

func (f couchFeed) next(ctx context.Context, seq string) ([]string, string, bool, error) {
	page, err := f.s.changes(ctx, f.cfg, seq)
	if err != nil {
		return nil, "", false, err
	}
	var names []string
	for _, c := range page.Results {
		if !c.Deleted {
			names = append(names, c.ID)
		}
	}
	return names, string(page.LastSeq), len(page.Results) >= f.cfg.Batch, nil
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
func (c *core) follows(ctx context.Context, cfg MonitorConfig, watch map[string]bool, name string) bool {
	if ecosystem.ValidName(c.eco, name) != nil {
		return false // design documents and the like
	}
	name = ecosystem.CanonicalName(c.eco, name)
	switch cfg.Follow {
	case FollowWatch:
		return watch[name]
	case FollowUsed:
		if tbs, err := c.cfg.Store.Tarballs(ctx, c.eco, name); err == nil && len(tbs) > 0 {
			return true
		}
		in, err := c.cfg.Store.InLockfile(ctx, c.eco, name)
		return err == nil && in
	}
	return true
}

// sweep calls look on each package whose queued analyses have no
// verdict yet, so that their latencies are observed without a client
// asking.
func (c *core) sweep(ctx context.Context, look func(ctx context.Context, name string)) {
	c.mu.Lock()
	names := map[string]bool{}
	for _, w := range c.waiting {
		names[w.name] = true
	}
	c.mu.Unlock()
	for name := range names {
		look(ctx, name)
	}
}
