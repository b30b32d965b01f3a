package proxy

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/fumehood/fumehood/store"
)

// Changes counts the admins' changes to the firewall's policy (overrides
// added or removed). Admin bumps it after each one; every firewall given
// it (Config.Changes) drops the decisions it cached before. Its zero
// value is ready; a nil *Changes counts nothing.
type Changes struct{ n atomic.Uint64 }

// Bump records one change.
func (c *Changes) Bump() {
	if c != nil {
		c.n.Add(1)
	}
}

func (c *Changes) load() uint64 {
	if c == nil {
		return 0
	}
	return c.n.Load()
}

// maxDecided bounds the packages whose decisions are kept.
const maxDecided = 10000

// decisionCache keeps, per package, the decisions on a document's
// versions and the package's recorded files, so that a warm request
// reads no store. An entry stands while it is younger than its TTL, the
// document it was made from is the one cached upstream, no admin change
// came after it and no held version it lists has reached the end of its
// window; writes of this firewall to the store (a file recorded, an
// analysis queued) drop the package's entry at once.
type decisionCache struct {
	ttl     time.Duration // <= 0: nothing is kept
	changes *Changes

	mu sync.Mutex
	// epoch counts the drops: a decision made while one happened is
	// not kept, as it may rest on what was read before the write.
	epoch   uint64
	entries map[string]decided
}

// decided is one package's cached decisions.
type decided struct {
	doc     any // the upstream document they were made from
	ds      map[string]Decision
	seen    map[string]*store.Tarball
	changes uint64 // Changes when they were made
	expires time.Time
}

// mark is when a decision was started: what put compares with.
type mark struct{ epoch, changes uint64 }

func newDecisionCache(ttl time.Duration, changes *Changes) *decisionCache {
	return &decisionCache{ttl: ttl, changes: changes, entries: map[string]decided{}}
}

// get returns name's decisions made from doc, if they still stand at now.
func (dc *decisionCache) get(name string, doc any, now time.Time) (decided, bool) {
	if dc.ttl <= 0 {
		return decided{}, false
	}
	dc.mu.Lock()
	e, ok := dc.entries[name]
	dc.mu.Unlock()
	if !ok || e.doc != doc || e.changes != dc.changes.load() || !now.Before(e.expires) {
		return decided{}, false
	}
	return e, true
}

// start marks the start of a decision, before its store reads.
func (dc *decisionCache) start() mark {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	return mark{epoch: dc.epoch, changes: dc.changes.load()}
}

// put keeps name's decisions, made from doc at now after m, unless
// something was dropped or changed since m. They expire after the TTL or
// when the window of a held version they list ends, whichever is first.
func (dc *decisionCache) put(name string, doc any, m mark, now time.Time, ds map[string]Decision, seen map[string]*store.Tarball) {
	if dc.ttl <= 0 {
		return
	}
	expires := now.Add(dc.ttl)
	for _, d := range ds {
		if d.State == Held && !d.DecidedBy.IsZero() && d.DecidedBy.Before(expires) {
			expires = d.DecidedBy
		}
	}
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if dc.epoch != m.epoch || dc.changes.load() != m.changes {
		return
	}
	if _, ok := dc.entries[name]; !ok && len(dc.entries) >= maxDecided {
		clear(dc.entries)
	}
	dc.entries[name] = decided{doc: doc, ds: ds, seen: seen, changes: m.changes, expires: expires}
}

// drop forgets name's decisions: the store's facts of it changed.
func (dc *decisionCache) drop(name string) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	dc.epoch++
	delete(dc.entries, name)
}
