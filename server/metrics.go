package server

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus series the server exports at /metrics. Each
// server has its own registry, so tests can run several side by side.
type metrics struct {
	registry   *prometheus.Registry
	requests   *prometheus.HistogramVec
	operations *prometheus.HistogramVec
	websockets prometheus.GaugeFunc
	// rateLimited counts requests refused for their budget, by class of
	// caller; rateLimitErrors counts requests let through because the
	// cache holding the budgets did not answer.
	rateLimited     *prometheus.CounterVec
	rateLimitErrors prometheus.Counter
}

func newMetrics(openWebSockets func() int, db *sql.DB) *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "frontdesk_http_request_duration_seconds",
		Help:    "HTTP requests by route and status code.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	}, []string{"route", "code"})
	m.operations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "frontdesk_graphql_operation_duration_seconds",
		Help:    "GraphQL queries and mutations by type and outcome (ok or the first error code).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	}, []string{"type", "outcome"})
	m.websockets = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "frontdesk_websocket_connections",
		Help: "Open GraphQL WebSocket connections.",
	}, func() float64 { return float64(openWebSockets()) })
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "frontdesk_rate_limited_total",
		Help: "Requests and WebSocket operations refused with RATE_LIMITED, by class of caller.",
	}, []string{"class"})
	m.rateLimitErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "frontdesk_rate_limit_errors_total",
		Help: "Requests let through unchecked because the rate-limit store did not answer.",
	})
	m.registry.MustRegister(m.requests, m.operations, m.websockets, m.rateLimited, m.rateLimitErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.registry.MustRegister(collectors.NewDBStatsCollector(db, "frontdesk"))
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// observe records one request under its route pattern (never the raw
// path, which would make a series per URL).
func (m *metrics) observe(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Observe(d.Seconds())
}
