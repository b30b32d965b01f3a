package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fumehood/fumehood/analysis"
)

// QueueDepther reports the number of pending tasks per queue.
type QueueDepther interface {
	QueueDepths(ctx context.Context) (map[string]int, error)
}

// Metrics are the Prometheus collectors of one process, in a registry of
// their own (no global state).
type Metrics struct {
	reg      *prometheus.Registry
	verdicts *prometheus.CounterVec
	phases   *prometheus.HistogramVec
	events   *prometheus.CounterVec
	lost     *prometheus.CounterVec
	failures prometheus.Counter
}

// NewMetrics returns the collectors; queues, if not nil, is asked for the
// queue depths at each scrape.
func NewMetrics(queues QueueDepther) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fumehood_analyses_total", Help: "Analyses completed, by verdict.",
		}, []string{"verdict"}),
		phases: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fumehood_phase_duration_seconds", Help: "Duration of detonation phases.",
			Buckets: []float64{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 180, 300},
		}, []string{"phase"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fumehood_trace_events_total", Help: "Trace events recorded, by phase.",
		}, []string{"phase"}),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fumehood_trace_events_lost_total", Help: "Trace events the kernel dropped, by phase.",
		}, []string{"phase"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fumehood_sandbox_failures_total", Help: "Analyses that failed for an infrastructure reason (retried).",
		}),
	}
	m.reg.MustRegister(m.verdicts, m.phases, m.events, m.lost, m.failures)
	if queues != nil {
		m.reg.MustRegister(queueCollector{queues: queues, desc: prometheus.NewDesc(
			"fumehood_queue_depth", "Tasks pending (enqueued, scheduled or retrying) per queue.", []string{"queue"}, nil)})
	}
	for _, v := range []analysis.Verdict{analysis.Benign, analysis.Suspicious, analysis.Malicious} {
		m.verdicts.WithLabelValues(string(v))
	}
	return m
}

// Analysis counts a completed analysis: its verdict, its phases'
// durations, events and lost events.
func (m *Metrics) Analysis(a *analysis.Analysis) {
	m.verdicts.WithLabelValues(string(a.Verdict)).Inc()
	for _, ph := range a.Phases {
		m.phases.WithLabelValues(ph.Name).Observe((time.Duration(ph.DurationMS) * time.Millisecond).Seconds())
		m.events.WithLabelValues(ph.Name).Add(float64(ph.Events))
		m.lost.WithLabelValues(ph.Name).Add(float64(ph.Lost))
	}
}

// SandboxFailure counts an analysis attempt that failed for an
// infrastructure reason.
func (m *Metrics) SandboxFailure() { m.failures.Inc() }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{}, ErrorHandling: promhttp.ContinueOnError})
}

// queueCollector asks for the queue depths at scrape time.
type queueCollector struct {
	queues QueueDepther
	desc   *prometheus.Desc
}

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depths, err := c.queues.QueueDepths(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for q, n := range depths {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), q)
	}
}

// slogPrinter sends promhttp's errors to slog.
type slogPrinter struct{}

func (slogPrinter) Println(v ...any) { slog.Warn("metrics", "err", v) }
