package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus series the server adds to the process's
// registry, which /metrics serves. Each process (and each test's app) has
// its own registry, so tests can run several side by side.
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

func newMetrics(registry *prometheus.Registry, openWebSockets func() int, db *sql.DB) *metrics {
	if registry == nil {
		registry = prometheus.NewRegistry()
	}
	m := &metrics{registry: registry}
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

// handler serves the registry, to callers with the bearer token when one
// is configured.
func (m *metrics) handler(token string, log *slog.Logger) http.Handler {
	h := promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)})
	if token == "" {
		return h
	}
	// Hashing both sides makes the comparison constant-time whatever
	// their lengths.
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the bearer token (FRONTDESK_METRICS_TOKEN)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// withMetricsRoute serves GET /metrics with metrics and everything else
// with next.
func withMetricsRoute(metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
		r.Pattern = "GET /metrics" // the route the access log and spans name
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		metrics.ServeHTTP(w, r)
	})
}

// MetricsHandler serves /metrics as configured (token or not), for the
// separate metrics listener.
func (s *Server) MetricsHandler() http.Handler { return s.metricsHandler }

// ServeMetrics serves /metrics alone on ln (FRONTDESK_METRICS_ADDR) until
// ctx ends, then shuts down within the shutdown timeout.
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	cfg := s.deps.Config
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metricsHandler)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.deps.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return errors.Join(fmt.Errorf("metrics server shutdown: %w", err), srv.Close())
	}
	return nil
}

// observe records one request under its route pattern (never the raw
// path, which would make a series per URL).
func (m *metrics) observe(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Observe(d.Seconds())
}
