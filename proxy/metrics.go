package proxy

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fumehood/fumehood/ecosystem"
)

// Metrics are the firewall's Prometheus collectors, in a registry of
// their own.
type Metrics struct {
	reg       *prometheus.Registry
	tarballs  *prometheus.CounterVec
	versions  *prometheus.CounterVec
	latency   prometheus.Histogram
	lag       prometheus.Histogram
	upstream  *prometheus.CounterVec
	auditLost prometheus.Counter
}

// NewMetrics returns fresh collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		tarballs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fumehood_proxy_tarballs_total", Help: "Tarball and distribution file requests, by ecosystem and the state of the version asked for.",
		}, []string{"ecosystem", "state"}),
		versions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fumehood_proxy_packument_versions_total", Help: "Versions of the packuments and project pages served, by ecosystem and state (held and blocked ones are hidden).",
		}, []string{"ecosystem", "state"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "fumehood_proxy_verdict_latency_seconds",
			Help:    "From the firewall queueing the analysis of a held version to its verdict.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1200, 3600},
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "fumehood_proxy_publication_to_verdict_seconds",
			Help:    "From a version's publication to the verdict on it, for the versions the changes-feed monitor queued (p50 and p99 by histogram_quantile).",
			Buckets: []float64{30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600, 86400},
		}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fumehood_proxy_upstream_requests_total", Help: "Requests to the upstream registry, by ecosystem, kind (document, file) and result (fetched, not_modified, not_found, integrity, error).",
		}, []string{"ecosystem", "kind", "result"}),
		auditLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fumehood_proxy_audit_lost_total", Help: "Audit entries dropped (queue full or store failing).",
		}),
	}
	m.reg.MustRegister(m.tarballs, m.versions, m.latency, m.lag, m.upstream, m.auditLost)
	for _, eco := range []string{ecosystem.NPM, ecosystem.PyPI} {
		for _, s := range []State{Admitted, Held, Blocked} {
			m.tarballs.WithLabelValues(eco, string(s))
			m.versions.WithLabelValues(eco, string(s))
		}
	}
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
