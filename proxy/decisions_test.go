package proxy

import (
	"context"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
)

// countingFirewall counts the store reads a decision makes.
type countingFirewall struct {
	store.Firewall
	reads atomic.Int64
}

func (f *countingFirewall) Tarballs(ctx context.Context, eco, name string) ([]store.Tarball, error) {
	f.reads.Add(1)
	return f.Firewall.Tarballs(ctx, eco, name)
}

func (f *countingFirewall) RegistryRecords(ctx context.Context, eco, name string) ([]*store.Record, error) {
	f.reads.Add(1)
	return f.Firewall.RegistryRecords(ctx, eco, name)
}

func (f *countingFirewall) Overrides(ctx context.Context, eco, name string) ([]store.Override, error) {
	f.reads.Add(1)
	return f.Firewall.Overrides(ctx, eco, name)
}

// TestDecisionCacheReads: a warm packument reads no store; a tarball is
// decided on the store's facts every time.
func TestDecisionCacheReads(t *testing.T) {
	var fw *countingFirewall
	h := newHarness(t, func(c *Config) {
		fw = &countingFirewall{Firewall: c.Store}
		c.Store, c.DecisionTTL = fw, time.Hour
	})
	h.up.publish("warm", "1.0.0", tarball(t, "warm", "1.0.0", nil), time.Now().Add(-1000*time.Hour))
	h.packument("warm", true)
	before := fw.reads.Load()
	for range 5 {
		h.packument("warm", true)
		h.packument("warm", false)
	}
	if got := fw.reads.Load() - before; got != 0 {
		t.Errorf("store reads of 10 warm packuments: %d, want 0", got)
	}
	if resp, _ := h.get("/warm/-/warm-1.0.0.tgz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("tarball: %d", resp.StatusCode)
	}
	before = fw.reads.Load()
	if resp, _ := h.get("/warm/-/warm-1.0.0.tgz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("tarball: %d", resp.StatusCode)
	}
	if got := fw.reads.Load() - before; got != 3 {
		t.Errorf("store reads of a tarball request: %d, want 3", got)
	}
}

// TestDecisionCacheInvalidation: each change of what decides admission
// shows in the next packument, though decisions are cached for an hour
// (a short TTL where another process writes the change).
func TestDecisionCacheInvalidation(t *testing.T) {
	const name = "cached-pkg"
	bytes1 := tarball(t, name, "1.0.0", map[string][]byte{"index.js": []byte("1\n")})
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		// quarantine, when set, replaces the harness's window.
		quarantine time.Duration
		// setup publishes and records what the first packument sees.
		setup func(t *testing.T, h *harness, admin Admin)
		// change makes the change the next packument must show.
		change        func(t *testing.T, h *harness, admin Admin)
		before, after []string
	}{{
		name: "override added",
		ttl:  time.Hour,
		setup: func(t *testing.T, h *harness, _ Admin) {
			h.up.publish(name, "1.0.0", bytes1, time.Now())
		},
		change: func(t *testing.T, h *harness, admin Admin) {
			allow(t, admin, name)
		},
		before: nil, after: []string{"1.0.0"},
	}, {
		name: "override removed",
		ttl:  time.Hour,
		setup: func(t *testing.T, h *harness, admin Admin) {
			h.up.publish(name, "1.0.0", bytes1, time.Now())
			allow(t, admin, name)
		},
		change: func(t *testing.T, h *harness, admin Admin) {
			ovs, err := admin.Overrides(context.Background(), "npm", name)
			if err != nil || len(ovs) != 1 {
				t.Fatalf("overrides: %v, %v", ovs, err)
			}
			if err := admin.DeleteOverride(context.Background(), ovs[0].ID); err != nil {
				t.Fatal(err)
			}
		},
		before: []string{"1.0.0"}, after: nil,
	}, {
		name:       "quarantine window passes",
		ttl:        time.Hour,
		quarantine: time.Hour,
		setup: func(t *testing.T, h *harness, _ Admin) {
			h.up.publish(name, "1.0.0", bytes1, time.Now().Add(-time.Hour+time.Second))
		},
		change: func(t *testing.T, h *harness, _ Admin) { time.Sleep(1100 * time.Millisecond) },
		before: nil, after: []string{"1.0.0"},
	}, {
		name: "upstream document changed",
		ttl:  time.Hour,
		setup: func(t *testing.T, h *harness, _ Admin) {
			h.up.publish(name, "1.0.0", bytes1, time.Now().Add(-1000*time.Hour))
		},
		change: func(t *testing.T, h *harness, _ Admin) {
			h.up.publish(name, "1.1.0", tarball(t, name, "1.1.0", nil), time.Now().Add(-999*time.Hour))
		},
		before: []string{"1.0.0"}, after: []string{"1.0.0", "1.1.0"},
	}, {
		// Admitted on a benign analysis of other bytes until the
		// firewall records the bytes the registry serves, whose
		// analysis is under way.
		name: "tarball recorded",
		ttl:  time.Hour,
		setup: func(t *testing.T, h *harness, _ Admin) {
			h.up.publish(name, "1.0.0", bytes1, time.Now())
			submit(t, h, name, "1.0.0", sha256Digest([]byte("other bytes")))
			h.farm.judge(t, name, "1.0.0", analysis.Benign, "")
			submit(t, h, name, "1.0.0", sha256Digest(bytes1))
		},
		change: func(t *testing.T, h *harness, _ Admin) {
			if resp, b := h.get("/" + name + "/-/" + name + "-1.0.0.tgz"); resp.StatusCode != http.StatusForbidden {
				t.Errorf("tarball of other bytes than analysed: %d %s, want 403", resp.StatusCode, b)
			}
		},
		before: []string{"1.0.0"}, after: nil,
	}, {
		// A worker of another process writes the verdict: the TTL
		// bounds how late it shows.
		name: "verdict written by another process",
		ttl:  200 * time.Millisecond,
		setup: func(t *testing.T, h *harness, _ Admin) {
			h.up.publish(name, "1.0.0", bytes1, time.Now())
		},
		change: func(t *testing.T, h *harness, _ Admin) {
			h.farm.judge(t, name, "1.0.0", analysis.Benign, "")
			time.Sleep(300 * time.Millisecond)
		},
		before: nil, after: []string{"1.0.0"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.DecisionTTL, c.Changes = tc.ttl, &Changes{}
				if tc.quarantine != 0 {
					c.Policy.Quarantine = tc.quarantine
				}
			})
			admin := Admin{Firewall: h.st.(store.Firewall), Changes: h.px.cfg.Changes}
			tc.setup(t, h, admin)
			// The first packument queues what is held; the second is
			// the one the cache keeps.
			h.packument(name, true)
			h.px.bg.Wait()
			if got := versionsOf(h.packument(name, true)); !slices.Equal(got, tc.before) {
				t.Fatalf("before: versions %v, want %v", got, tc.before)
			}
			tc.change(t, h, admin)
			if got := versionsOf(h.packument(name, true)); !slices.Equal(got, tc.after) {
				t.Errorf("after: versions %v, want %v", got, tc.after)
			}
		})
	}
}

// allow admits every version of name through admin.
func allow(t *testing.T, admin Admin, name string) {
	t.Helper()
	if err := admin.AddOverride(context.Background(), &store.Override{Ecosystem: "npm", Name: name,
		Action: store.Allow, Reason: "vendored by us", Who: "alice"}); err != nil {
		t.Fatal(err)
	}
}

// submit queues the analysis of bytes of digest as name@v.
func submit(t *testing.T, h *harness, name, v, digest string) {
	t.Helper()
	if _, _, err := h.farm.Submit(context.Background(), scheduler.Submission{Spec: "npm:" + name + "@" + v, Fetched: digest}); err != nil {
		t.Fatal(err)
	}
}
