package proxy

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
)

// changesFeed is a stand-in for a CouchDB _changes feed: change n (from
// 1) has sequence n; since=now starts at the end.
type changesFeed struct {
	srv    *httptest.Server
	mu     sync.Mutex
	ids    []string
	sinces []string
}

func newChangesFeed(t *testing.T) *changesFeed {
	f := &changesFeed{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/_changes" {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		since := r.URL.Query().Get("since")
		f.sinces = append(f.sinces, since)
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		n := len(f.ids)
		if since != "now" {
			n, _ = strconv.Atoi(since)
		}
		type change struct {
			Seq int    `json:"seq"`
			ID  string `json:"id"`
		}
		res := []change{}
		for i := n; i < len(f.ids) && len(res) < limit; i++ {
			res = append(res, change{Seq: i + 1, ID: f.ids[i]})
		}
		json.NewEncoder(w).Encode(map[string]any{"results": res, "last_seq": n + len(res)})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *changesFeed) add(ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, ids...)
}

func (f *changesFeed) since() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sinces)
}

// feedSubmissions are the specs submitted on the feed queue.
func feedSubmissions(f *fakeFarm) []string {
	var out []string
	for _, s := range f.submissions() {
		if s.Queue == scheduler.QueueFeed {
			out = append(out, s.Spec)
		}
	}
	slices.Sort(out)
	return out
}

func TestMonitor(t *testing.T) {
	h := newHarness(t, nil)
	feed := newChangesFeed(t)
	now := time.Now()
	h.up.publish("watched", "1.0.0", tarball(t, "watched", "1.0.0", nil), now.Add(-time.Minute))
	h.up.publish("ignored", "1.0.0", tarball(t, "ignored", "1.0.0", nil), now.Add(-time.Minute))
	h.up.publish("used-pkg", "1.0.0", tarball(t, "used-pkg", "1.0.0", nil), now.Add(-1000*time.Hour))
	h.up.publish("used-pkg", "2.0.0", tarball(t, "used-pkg", "2.0.0", nil), now.Add(-time.Minute))
	h.up.publish("locked-pkg", "1.0.0", tarball(t, "locked-pkg", "1.0.0", nil), now.Add(-1000*time.Hour))
	h.up.publish("locked-pkg", "2.0.0", tarball(t, "locked-pkg", "2.0.0", nil), now.Add(-time.Minute))
	fw := h.st.(store.Firewall)
	ctx := context.Background()

	run := monitorRunner(t, h.px.Monitor, feed.srv.URL)

	// A feed never followed starts at its end; then new changes of the
	// watched package are queued at feed priority, others are not.
	feed.add("watched") // before the monitor starts: not its business
	stop := run(MonitorConfig{Follow: FollowWatch, Watch: []string{"watched"}})
	testenv.WaitFor(t, time.Minute, "the first poll", func() bool { return len(feed.since()) > 0 })
	feed.add("ignored", "watched", "_design/app")
	testenv.WaitFor(t, time.Minute, "watched@1.0.0 queued", func() bool { return len(feedSubmissions(h.farm)) == 1 })
	testenv.WaitFor(t, time.Minute, "the sequence kept", func() bool { seq, _ := fw.FeedSeq(ctx, feedName); return seq == "4" })
	stop()
	if got := feed.since()[0]; got != "now" {
		t.Errorf("first since = %q, want now", got)
	}
	if got := feedSubmissions(h.farm); !slices.Equal(got, []string{"npm:watched@1.0.0"}) {
		t.Errorf("feed submissions = %v, want watched@1.0.0 alone", got)
	}

	// Its verdict gives the lag from publication to verdict.
	h.farm.judge(t, "watched", "1.0.0", analysis.Benign, "")
	stop = run(MonitorConfig{Follow: FollowUsed})
	testenv.WaitFor(t, time.Minute, "the lag observed", func() bool { return lagCount(h.px.metrics) == 1 })

	// A restart resumes where it stood; "used" follows the packages the
	// firewall served.
	if _, err := fw.SeeTarball(ctx, store.Tarball{Ecosystem: "npm", Name: "used-pkg", Version: "1.0.0", Digest: sha256Digest([]byte("x")), Integrity: "sha512-x"}); err != nil {
		t.Fatal(err)
	}
	feed.add("ignored", "used-pkg")
	testenv.WaitFor(t, time.Minute, "used-pkg@2.0.0 queued", func() bool { return len(feedSubmissions(h.farm)) == 2 })
	// and the packages a lockfile submitted to the farm named, which
	// nobody installed through the firewall yet
	locked := &store.Record{Spec: "npm:locked-pkg@1.0.0"}
	locked.ID, locked.Rules = "locked-1", "r"
	locked.Package = analysis.Package{Ecosystem: "npm", Name: "locked-pkg", Version: "1.0.0"}
	if err := h.st.Create(ctx, locked); err != nil {
		t.Fatal(err)
	}
	if err := h.st.CreateBatch(ctx, &store.Batch{ID: "lock-batch", Kind: "lockfile", Source: "package-lock.json"}, []string{locked.ID}); err != nil {
		t.Fatal(err)
	}
	feed.add("ignored", "locked-pkg")
	testenv.WaitFor(t, time.Minute, "locked-pkg@2.0.0 queued", func() bool { return len(feedSubmissions(h.farm)) == 3 })
	stop()
	if got := feedSubmissions(h.farm); !slices.Equal(got, []string{"npm:locked-pkg@2.0.0", "npm:used-pkg@2.0.0", "npm:watched@1.0.0"}) {
		t.Errorf("feed submissions = %v", got)
	}
	sinces := feed.since()
	if i := slices.Index(sinces, "now"); i != 0 || slices.Index(sinces[1:], "now") >= 0 || !slices.Contains(sinces, "4") {
		t.Errorf("sinces = %v, want now once, then resumed from 4", sinces)
	}
	for _, cfg := range []MonitorConfig{{Follow: "everything"}, {Follow: FollowWatch}} {
		if err := h.px.Monitor(ctx, cfg); err == nil {
			t.Errorf("Monitor(%+v): no error", cfg)
		}
	}
}

// monitorRunner returns a function that runs monitor on the feed at url
// with cfg until the stop it returns is called.
func monitorRunner(t *testing.T, monitor func(context.Context, MonitorConfig) error, url string) func(MonitorConfig) (stop func()) {
	return func(cfg MonitorConfig) func() {
		cfg.Changes, cfg.Interval = url, 20*time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- monitor(ctx, cfg) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Monitor: %v", err)
			}
		}
	}
}

// lagCount is how many observations the lag histogram holds.
func lagCount(m *Metrics) uint64 {
	mfs, err := m.reg.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() == "fumehood_proxy_publication_to_verdict_seconds" {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}
