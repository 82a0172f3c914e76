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
	"net/http/pprof"
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
	// cache holding the budgets did not answer; rateLimitLocal those
	// counted against this process's budget instead (Redis down).
	rateLimited     *prometheus.CounterVec
	rateLimitErrors prometheus.Counter
	rateLimitLocal  prometheus.Counter
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
	m.rateLimitLocal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "frontdesk_rate_limit_local_total",
		Help: "Requests counted against this process's own budget because the shared rate-limit store (Redis) did not answer.",
	})
	m.registry.MustRegister(m.requests, m.operations, m.websockets, m.rateLimited, m.rateLimitErrors, m.rateLimitLocal,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.registry.MustRegister(collectors.NewDBStatsCollector(db, "frontdesk"))
	}
	return m
}

// handler serves the registry, to callers with the bearer token when one
// is configured.
func (m *metrics) handler(token string, log *slog.Logger) http.Handler {
	return requireToken(token, promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
}

// requireToken serves h only to requests carrying the metrics bearer
// token, when one is configured.
func requireToken(token string, h http.Handler) http.Handler {
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

// ServeMetrics serves /metrics and Go's profiler (/debug/pprof/) on ln
// (FRONTDESK_METRICS_ADDR), never on the public listener, until ctx ends,
// then shuts down within the shutdown timeout. Both need the metrics
// token when one is set.
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	cfg := s.deps.Config
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metricsHandler)
	mux.Handle("/debug/pprof/", requireToken(cfg.MetricsToken, profiler()))
	// A CPU profile or trace streams for as long as asked (?seconds=30),
	// so this listener's write timeout leaves room for a long one.
	writeTimeout := max(cfg.WriteTimeout, maxProfile+10*time.Second)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      writeTimeout,
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

// maxProfile bounds the seconds a CPU profile or execution trace may run.
const maxProfile = 120 * time.Second

// profiler is net/http/pprof's handlers on a mux of their own (importing
// the package for its side effect would put them on http.DefaultServeMux,
// which nothing here serves, and is easy to expose by accident).
func profiler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // heap, goroutine, allocs, block, mutex, …
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	bounded := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if sec, err := strconv.Atoi(r.URL.Query().Get("seconds")); err == nil && time.Duration(sec)*time.Second > maxProfile {
				http.Error(w, fmt.Sprintf("seconds: at most %d", int(maxProfile.Seconds())), http.StatusBadRequest)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("/debug/pprof/profile", bounded(pprof.Profile))
	mux.HandleFunc("/debug/pprof/trace", bounded(pprof.Trace))
	return mux
}
