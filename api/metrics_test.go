package api

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/analysis"
)

// fakeFarm is a farm of workers that published their metrics.
type fakeFarm struct {
	published map[string][]byte
	running   map[string]int
}

func (f fakeFarm) WorkerMetrics(context.Context) (map[string][]byte, error) { return f.published, nil }
func (f fakeFarm) InFlight(context.Context) (map[string]int, error)         { return f.running, nil }

// TestFarmMetrics scrapes one process that reads two workers' published
// metrics: each worker's counts, phase times and failures come out under
// fumehood_farm_* labelled with the worker, beside the process's own, and
// so do the tasks each runs now.
func TestFarmMetrics(t *testing.T) {
	a, b := NewMetrics(nil), NewMetrics(nil)
	a.Analysis(&analysis.Analysis{Verdict: analysis.Benign, Phases: []analysis.Phase{{Name: "install", DurationMS: 1500, Events: 10}}})
	a.Analysis(&analysis.Analysis{Verdict: analysis.Malicious, Phases: []analysis.Phase{{Name: "install", DurationMS: 700, Lost: 2}}})
	b.Analysis(&analysis.Analysis{Verdict: analysis.Benign})
	b.SandboxFailure()
	published := map[string][]byte{}
	for name, m := range map[string]*Metrics{"host-a:10": a, "host-b:20": b} {
		text, err := m.Exposition()
		if err != nil {
			t.Fatal(err)
		}
		published[name] = text
	}
	serve := NewMetrics(nil)
	serve.Analysis(&analysis.Analysis{Verdict: analysis.Suspicious})
	serve.AddFarm(fakeFarm{published: published, running: map[string]int{"host-a:10": 1, "host-b:20": 0}})

	rec := httptest.NewRecorder()
	serve.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	if rec.Code != 200 {
		t.Fatalf("status %d:\n%s", rec.Code, text)
	}
	for _, want := range []string{
		`fumehood_analyses_total{verdict="suspicious"} 1`, // the process's own
		`fumehood_farm_analyses_total{verdict="benign",worker="host-a:10"} 1`,
		`fumehood_farm_analyses_total{verdict="malicious",worker="host-a:10"} 1`,
		`fumehood_farm_analyses_total{verdict="benign",worker="host-b:20"} 1`,
		`fumehood_farm_phase_duration_seconds_count{phase="install",worker="host-a:10"} 2`,
		`fumehood_farm_phase_duration_seconds_sum{phase="install",worker="host-a:10"} 2.2`,
		`fumehood_farm_phase_duration_seconds_bucket{phase="install",worker="host-a:10",le="1"} 1`,
		`fumehood_farm_phase_duration_seconds_bucket{phase="install",worker="host-a:10",le="+Inf"} 2`,
		`fumehood_farm_trace_events_lost_total{phase="install",worker="host-a:10"} 2`,
		`fumehood_farm_sandbox_failures_total{worker="host-b:20"} 1`,
		`fumehood_farm_sandbox_failures_total{worker="host-a:10"} 0`,
		`fumehood_farm_in_flight{worker="host-a:10"} 1`,
		`fumehood_farm_in_flight{worker="host-b:20"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(text, `fumehood_analyses_total{verdict="benign"}`+" 1") {
		t.Errorf("the workers' counts leaked into the process's own:\n%s", text)
	}
}
