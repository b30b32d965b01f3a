package api

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

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
	work     *prometheus.Registry // the analyses' collectors alone, which a worker publishes
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
	m.work = prometheus.NewRegistry()
	m.work.MustRegister(m.verdicts, m.phases, m.events, m.lost, m.failures)
	if queues != nil {
		m.reg.MustRegister(askedGauges{ask: queues.QueueDepths, desc: prometheus.NewDesc(
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

// Exposition returns what this process's analyses counted (verdicts,
// phase times, events, lost events, sandbox failures) in the Prometheus
// text format, for a worker to publish to the farm (Farm).
func (m *Metrics) Exposition() ([]byte, error) {
	mfs, err := m.work.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, fmt.Errorf("encode metrics: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// Farm reports the farm's worker processes, by name (host:pid): what each
// published of its metrics (Metrics.Exposition) and the tasks each runs
// now.
type Farm interface {
	WorkerMetrics(ctx context.Context) (map[string][]byte, error)
	InFlight(ctx context.Context) (map[string]int, error)
}

// AddFarm makes one scrape of this process see the whole farm: every
// worker's published metrics, renamed fumehood_farm_* and labelled with
// the worker, and fumehood_farm_in_flight, the tasks each worker runs now.
func (m *Metrics) AddFarm(f Farm) {
	m.reg.MustRegister(farmCollector{farm: f}, askedGauges{ask: f.InFlight, desc: prometheus.NewDesc(
		"fumehood_farm_in_flight", "Tasks each worker process of the farm runs now.", []string{"worker"}, nil)})
}

// farmCollector turns the workers' published metrics into this
// process's, at scrape time. It is unchecked (it describes nothing): the
// families are the workers'.
type farmCollector struct{ farm Farm }

func (farmCollector) Describe(chan<- *prometheus.Desc) {}

func (c farmCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	published, err := c.farm.WorkerMetrics(ctx)
	if err != nil { // fumehood_farm_in_flight, from the same Redis, shows it too
		slog.Warn("metrics: the workers' published metrics", "err", err)
		return
	}
	for w, text := range published {
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(bytes.NewReader(text))
		if err != nil {
			slog.Warn("metrics: a worker's published metrics", "worker", w, "err", err)
			continue
		}
		for _, mf := range mfs {
			farmMetrics(ch, w, mf)
		}
	}
}

// farmMetrics sends the metrics of family mf that worker published,
// as fumehood_farm_NAME with the label worker.
func farmMetrics(ch chan<- prometheus.Metric, worker string, mf *dto.MetricFamily) {
	for _, pm := range mf.GetMetric() {
		names, values := []string{"worker"}, []string{worker}
		for _, l := range pm.GetLabel() {
			names, values = append(names, l.GetName()), append(values, l.GetValue())
		}
		desc := prometheus.NewDesc("fumehood_farm_"+strings.TrimPrefix(mf.GetName(), "fumehood_"), mf.GetHelp(), names, nil)
		var (
			m   prometheus.Metric
			err error
		)
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			m, err = prometheus.NewConstMetric(desc, prometheus.CounterValue, pm.GetCounter().GetValue(), values...)
		case dto.MetricType_GAUGE:
			m, err = prometheus.NewConstMetric(desc, prometheus.GaugeValue, pm.GetGauge().GetValue(), values...)
		case dto.MetricType_HISTOGRAM:
			h := pm.GetHistogram()
			buckets := map[float64]uint64{}
			for _, b := range h.GetBucket() {
				if !math.IsInf(b.GetUpperBound(), 1) { // implicit: the count
					buckets[b.GetUpperBound()] = b.GetCumulativeCount()
				}
			}
			m, err = prometheus.NewConstHistogram(desc, h.GetSampleCount(), h.GetSampleSum(), buckets, values...)
		default:
			continue // fumehood publishes no other kind
		}
		if err != nil {
			m = prometheus.NewInvalidMetric(desc, err)
		}
		ch <- m
	}
}

// askedGauges is a gauge per label value, asked for at scrape time.
type askedGauges struct {
	ask  func(context.Context) (map[string]int, error)
	desc *prometheus.Desc
}

func (c askedGauges) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c askedGauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	values, err := c.ask(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for label, n := range values {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), label)
	}
}

// slogPrinter sends promhttp's errors to slog.
type slogPrinter struct{}

func (slogPrinter) Println(v ...any) { slog.Warn("metrics", "err", v) }
