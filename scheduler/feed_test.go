package scheduler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/internal/testenv"
)

func TestParseWatchList(t *testing.T) {
	got, err := ParseWatchList(strings.NewReader(`# packages we depend on
npm:left-pad
npm:@types/node   # scoped
pypi:Requests_OAuthlib

npm:left-pad
pypi:requests-oauthlib
`))
	if want := []string{"npm:left-pad", "npm:@types/node", "pypi:requests-oauthlib"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("ParseWatchList = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"", "# nothing\n", "left-pad\n", "cargo:serde\n", "npm:Bad Name\n", "npm:ok\npypi:\n", "npm:a@1.0.0\n"} {
		if _, err := ParseWatchList(strings.NewReader(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseWatchList(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	_, err = ParseWatchList(strings.NewReader("npm:ok\ncargo:x\nnpm:also ok?\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("ParseWatchList error %v does not name lines 2 and 3", err)
	}
}

func TestPoll(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	day := func(d int) string { return now.AddDate(0, 0, -d).Format(time.RFC3339) }
	docs := map[string]string{
		// 1.1.0 and 2.0.0-beta.1 are new within a two-day window.
		"/watched": fmt.Sprintf(`{"dist-tags":{"latest":"1.1.0"},"versions":{"1.0.0":{},"1.1.0":{},"2.0.0-beta.1":{}},
			"time":{"1.0.0":%q,"1.1.0":%q,"2.0.0-beta.1":%q}}`, day(400), day(1), day(0)),
		"/@scope%2fquiet": fmt.Sprintf(`{"dist-tags":{"latest":"3.0.0"},"versions":{"3.0.0":{}},"time":{"3.0.0":%q}}`, day(30)),
		// A registry that dates nothing: the latest version is new.
		"/undated": `{"dist-tags":{"latest":"0.2.0"},"versions":{"0.1.0":{},"0.2.0":{}}}`,
	}
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d, ok := docs[r.URL.EscapedPath()]; ok {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, d)
			return
		}
		http.NotFound(w, r)
	}))
	defer reg.Close()
	e := newEnv(t, WithEcosystem(ecosystem.Config{NPMRegistry: reg.URL + "/"}))
	ctx := context.Background()
	p := FeedPayload{Watch: []string{"npm:watched", "npm:@scope/quiet", "npm:undated", "npm:gone"}, Window: 48 * time.Hour}

	res, err := e.s.Poll(ctx, p, now)
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	var got []string
	for _, id := range res.Submitted {
		r, err := e.st.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Spec)
		info, err := e.insp.GetTaskInfo(QueueFeed, id)
		if err != nil || info.Type != TypeAnalyze {
			t.Errorf("task of %s on the feed queue: %+v, %v", r.Spec, info, err)
		}
	}
	slices.Sort(got)
	if want := []string{"npm:undated@0.2.0", "npm:watched@1.1.0", "npm:watched@2.0.0-beta.1"}; !slices.Equal(got, want) {
		t.Errorf("submitted %q, want %q", got, want)
	}
	if len(res.Failed) != 1 || !errors.Is(res.Failed[0], ecosystem.ErrNotFound) {
		t.Errorf("failed %v, want the unknown package alone", res.Failed)
	}

	// The next poll overlaps: nothing is analysed twice.
	again, err := e.s.Poll(ctx, p, now.Add(time.Hour))
	if err != nil || len(again.Submitted) != 0 || again.Existing != 3 {
		t.Errorf("second Poll = %+v, %v; want the 3 versions existing, none submitted", again, err)
	}
	if n := count(t, e.st); n != 3 {
		t.Errorf("%d records, want 3", n)
	}

	// Nothing pollable is an error (the task is retried).
	if _, err := e.s.Poll(ctx, FeedPayload{Watch: []string{"npm:gone"}, Window: time.Hour}, now); err == nil {
		t.Error("Poll of unknown packages alone succeeded")
	}
}

func TestFeedTask(t *testing.T) {
	p := FeedPayload{Watch: []string{"npm:a", "pypi:b"}, Window: 2 * time.Hour}
	task := NewFeedTask(p)
	got, err := ParseFeed(task)
	if err != nil || !slices.Equal(got.Watch, p.Watch) || got.Window != p.Window {
		t.Errorf("ParseFeed = %+v, %v; want %+v", got, err, p)
	}
	for _, bad := range []string{`{"watch":[],"window":1}`, `{"watch":["npm:a"]}`, `{`} {
		if _, err := ParseFeed(asynq.NewTask(TypeFeed, []byte(bad))); !errors.Is(err, ErrPayload) {
			t.Errorf("ParseFeed(%s) = %v, want ErrPayload", bad, err)
		}
	}
}

// A feed polls at once and then every period; two feeds of the same list
// (two serve processes) queue one poll per period.
func TestStartFeed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.s.StartFeed(ctx, []string{"npm:a"}, time.Millisecond); !errors.Is(err, ErrInvalid) {
		t.Errorf("StartFeed every millisecond: %v, want ErrInvalid", err)
	}
	start := time.Now()
	var stops []func()
	for range 2 {
		stop, err := e.s.StartFeed(ctx, []string{"npm:a", "pypi:b"}, time.Second)
		if err != nil {
			t.Fatalf("StartFeed: %v", err)
		}
		stops = append(stops, stop)
	}
	// Two polls: the one at start and at least one period boundary.
	testenv.WaitFor(t, 2*time.Minute, "two feed polls", func() bool {
		ts, err := e.insp.ListPendingTasks(QueueFeed)
		return err == nil && len(ts) >= 2
	})
	for _, stop := range stops {
		stop()
	}
	periods := int(time.Since(start)/time.Second) + 2 // the first and the last may be partial
	ts, err := e.insp.ListPendingTasks(QueueFeed)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) < 2 || len(ts) > periods {
		t.Fatalf("%d feed polls pending after %v, want one per period (2 to %d)", len(ts), time.Since(start), periods)
	}
	p, err := ParseFeed(asynq.NewTask(ts[0].Type, ts[0].Payload))
	if err != nil || !slices.Equal(p.Watch, []string{"npm:a", "pypi:b"}) || p.Window != 2*time.Second {
		t.Errorf("feed task = %+v, %v; want both packages, a window of two periods", p, err)
	}
}
