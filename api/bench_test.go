package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/store"
)

// BenchmarkAPI measures submit and get latency at 200 requests/s (open
// loop: each request starts on its tick whatever the others do) from a
// loopback client, with 100,000 analyses in the store. It reports p50 and
// p99 of each in milliseconds; the goal is p99 < 20 ms. It runs on the
// embedded store (SQLite, a blob directory) and on a farm's (PostgreSQL, an
// S3 bucket: testenv.PostgresSchema, testenv.S3).
func BenchmarkAPI(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { st, blobs := newStores(b); benchAPI(b, st, blobs) })
	b.Run("postgres", func(b *testing.B) {
		st, blobs, err := store.Open(context.Background(), testenv.PostgresSchema(b), store.WithBlobs(testenv.S3(b)))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchAPI(b, st, blobs)
	})
}

func benchAPI(b *testing.B, st store.Store, blobs store.Blobs) {
	const stored, rate = 100_000, 200
	ctx := context.Background()
	rs, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 0, stored)
	t0 := time.Now().Add(-time.Hour)
	for i := range stored {
		r := &store.Record{
			Analysis: analysis.Analysis{ID: uuid.NewString(), Verdict: analysis.Benign, Rules: rs.Version(),
				Package: analysis.Package{Ecosystem: "npm", Name: fmt.Sprintf("pkg%d", i%5000), Version: fmt.Sprintf("1.0.%d", i)}},
			Status: store.Queued, Spec: "npm:x@1.0.0", Submitted: t0.Add(time.Duration(i) * time.Millisecond),
		}
		if err := st.Create(ctx, r); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	sched := &fakeScheduler{st: st, blobs: blobs, rules: rs.Version()}
	tok, hash := NewToken()
	if err := st.CreateToken(ctx, hash, store.RoleSubmit, "bench"); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Store: st, Blobs: blobs, Scheduler: sched, Rules: rs}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()

	send := func(i int) (kind string, d time.Duration, err error) {
		var req *http.Request
		if i%2 == 0 {
			kind = "submit"
			req, _ = http.NewRequest("POST", srv.URL+"/v1/analyses", strings.NewReader(fmt.Sprintf(`{"spec":"npm:bench%d@1.0.%d"}`, i, i)))
			req.Header.Set("Content-Type", "application/json")
		} else {
			kind = "get"
			req, _ = http.NewRequest("GET", srv.URL+"/v1/analyses/"+ids[(i*7919)%len(ids)], nil)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return kind, 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d = time.Since(start)
		if resp.StatusCode != 200 && resp.StatusCode != 202 {
			return kind, d, fmt.Errorf("%s: status %d", kind, resp.StatusCode)
		}
		return kind, d, nil
	}

	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	var firstErr error
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		wg.Go(func() {
			kind, d, err := send(i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			lat[kind] = append(lat[kind], d)
		})
	}
	wg.Wait()
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	for _, kind := range []string{"submit", "get"} {
		ds := lat[kind]
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		b.ReportMetric(ms(ds[len(ds)/2]), kind+"-p50-ms")
		b.ReportMetric(ms(ds[(len(ds)*99)/100]), kind+"-p99-ms")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
