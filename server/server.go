// Package server assembles Frontdesk's HTTP surface: the GraphQL endpoint
// with its transports, the playground, health checks, and the middleware
// every request passes through (request id, access log, recover, CORS,
// body limits). It also runs the HTTP server and shuts it down gracefully.
package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"frontdesk/cache"
	"frontdesk/config"
	"frontdesk/documents"
	"frontdesk/identity"
	"frontdesk/server/playground"
	"frontdesk/telemetry"
)

// Pinger is a dependency whose health /readyz reports.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the server needs from the rest of the process.
type Deps struct {
	Config *config.Config
	Log    *slog.Logger
	Schema graphql.ExecutableSchema
	// Cache stores persisted queries; nil switches them off.
	Cache cache.Store
	// Ready are checked by /readyz, by name ("database"): the replica is
	// not ready while one fails.
	Ready map[string]Pinger
	// Degradable are checked by /readyz too ("redis"), but the replica
	// serves without them, so their failure is reported and the replica
	// stays ready.
	Degradable map[string]Pinger
	// Extensions are added to the GraphQL server after the built-in ones;
	// tests use them to inject faults.
	Extensions []graphql.HandlerExtension
	// SQL, when set, has its connection-pool statistics exported.
	SQL *sql.DB
	// Routes lets other packages mount handlers (webhooks, media).
	Routes func(mux *http.ServeMux)
	// Identity resolves each request's viewer (bearer token, session
	// cookie with CSRF header, or WebSocket connection_init); nil leaves
	// every request anonymous.
	Identity *identity.Service
	// Now is the rate limiter's clock (nil: time.Now); tests advance it
	// to reach the next window.
	Now func() time.Time
	// Telemetry holds the registry /metrics serves and, when tracing is
	// on, the tracer for request and operation spans; nil gives the
	// server a registry of its own and no tracing.
	Telemetry *telemetry.Telemetry
	// Documents holds the trusted documents (docs/authentication.md,
	// "Trusted documents"); nil serves no document ids.
	Documents *documents.Store
}

// Server is Frontdesk's HTTP server.
type Server struct {
	deps    Deps
	ws      *gorillaWebsocket // legacy graphql-ws, through gqlgen's transport
	wsNext  *wsTransport      // graphql-transport-ws
	limits  *rateLimits
	handler http.Handler
	metrics *metrics
	// metricsHandler serves /metrics (on the main listener unless
	// FRONTDESK_METRICS_ADDR moves it).
	metricsHandler http.Handler
	draining       atomic.Bool
	http           *http.Server
	fresh          freshConns
}

// freshConns are connections accepted but not yet carrying a request
// (clients dial spares ahead of need). http.Server.Shutdown counts such a
// connection as busy for its first 5 seconds, so one spare would hold a
// shutdown that long; closing them first loses nothing, since no request
// has been read from them.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (f *freshConns) track(c net.Conn, state http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if state == http.StateNew {
		if f.conns == nil {
			f.conns = map[net.Conn]struct{}{}
		}
		f.conns[c] = struct{}{}
		return
	}
	delete(f.conns, c)
}

func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.Close()
	}
}

// New builds the server and its routes.
func New(deps Deps) *Server {
	cfg := deps.Config
	s := &Server{deps: deps}
	origins := originPolicy{allowed: cfg.AllowedOrigins, dev: cfg.Env == config.Development}
	s.ws = newGorillaWebsocket(origins.checkWebSocketOrigin)
	s.wsNext = newWSTransport(origins.checkWebSocketOrigin)
	var registry *prometheus.Registry
	if deps.Telemetry != nil {
		registry = deps.Telemetry.Registry
	}
	s.metrics = newMetrics(registry, s.OpenWebSockets, deps.SQL)
	s.metricsHandler = s.metrics.handler(cfg.MetricsToken, deps.Log)

	var wsInit transport.WebsocketInitFunc
	if deps.Identity != nil {
		wsInit = websocketInit(deps.Identity, cfg.WSAuthRecheck, deps.Log)
	}
	wsLimits := newWSLimits(cfg.WSMaxConnectionsPerIP, cfg.WSMaxConnectionsPerUser, cfg.WSMaxSubscriptions)
	wsLimits.log = deps.Log
	wsInit = wsLimits.init(wsInit)
	// Rate limits count /graphql only, after authentication (Identity
	// wraps the mux), so each request is charged to its caller.
	s.limits = newRateLimits(cfg, deps.Cache, deps.Now, deps.Log, s.metrics)
	s.wsNext.initTimeout, s.wsNext.keepAlive, s.wsNext.readLimit = cfg.WSInitTimeout, cfg.WSKeepAlive, cfg.WSReadLimit
	s.wsNext.limits, s.wsNext.admit, s.wsNext.log = wsLimits, s.limits.admitWebSocket, deps.Log
	if deps.Identity != nil {
		s.wsNext.init = wsAuthenticate(deps.Identity, deps.Log)
		s.wsNext.auth, s.wsNext.recheck = deps.Identity, cfg.WSAuthRecheck
	}
	extensions := append([]graphql.HandlerExtension{s.limits, wsLimits}, deps.Extensions...)
	if deps.Documents != nil {
		extensions = append(extensions, documents.Extension{Store: deps.Documents, Mode: documents.Mode(cfg.TrustedDocuments),
			Development: cfg.Env == config.Development})
	}
	tracer := deps.Telemetry.Tracer("frontdesk/server")
	// gqlgen's parsed-query cache; the upload check skips what it holds,
	// as graph.Limits does.
	queries := newQueryCache(cfg.QueryCacheBytes)
	gql := newGraphQLHandler(cfg, deps.Schema, s.wsNext, s.ws, wsInit, deps.Cache, queries, deps.Log, s.metrics, tracer, extensions)
	mux := http.NewServeMux()
	mux.Handle("/graphql", s.limits.middleware(withBodyLimit(cfg.MaxBodyBytes, cfg.MaxUploadBytes, markGET(documents.HandlerFor(deps.Documents, documents.Mode(cfg.TrustedDocuments), withMultipartBudget(cfg.MaxBodyBytes, cfg.MaxVariableValues, documentLimits(cfg), queries, wsLimits.middleware(gql)))))))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if cfg.Playground {
		// GraphiQL from the binary itself (no CDN), so it works offline.
		if pg, err := playground.New(); err != nil {
			deps.Log.Error("playground unavailable", "error", err.Error())
		} else {
			mux.Handle("GET /{$}", pg)
			mux.Handle("GET /playground/", pg)
			mux.Handle("GET /favicon.ico", pg)
		}
	}
	if deps.Routes != nil {
		deps.Routes(mux)
	}
	var h http.Handler = mux
	if deps.Identity != nil {
		// Inside CORS, so preflights are answered before credentials
		// are looked at.
		// Refused credentials draw on the client's anonymous budget.
		h = deps.Identity.Middleware(deps.Log, h, s.limits.authFailed)
	}
	if cfg.MetricsAddr == "" { // else on its own listener, or off
		// Outside identity: a scraper's bearer token is not a session.
		h = withMetricsRoute(s.metricsHandler, h)
	}
	h = withCORS(origins, h)
	h = withRecover(deps.Log, h)
	h = withAccessLog(deps.Log, s.metrics, h)
	if tracer != nil {
		h = withTracing(tracer, h)
	}
	h = withRequestID(h)
	s.handler = h
	return s
}

// Handler returns the root HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve accepts connections on ln until ctx is cancelled, then shuts down
// gracefully: /readyz starts failing while everything is still served for
// DrainDelay (so load balancers stop sending first), then the listener
// closes, in-flight requests finish, and every WebSocket gets a 1001 close
// frame; whatever is still running when ShutdownTimeout passes is cut off.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	cfg := s.deps.Config
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.deps.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ConnState:         s.fresh.track,
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	s.deps.Log.Info("shutting down", "drain", cfg.DrainDelay.String(), "timeout", cfg.ShutdownTimeout.String())
	s.draining.Store(true)
	if cfg.DrainDelay > 0 {
		// Keep serving while /readyz fails, so the load balancer takes
		// this replica out before its listener closes.
		select {
		case err := <-errc:
			return fmt.Errorf("http server: %w", err)
		case <-time.After(cfg.DrainDelay):
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// WebSockets are hijacked, so Shutdown does not see them: close them
	// first with "going away" so clients reconnect to another replica.
	s.wsNext.CloseAll(websocket.CloseGoingAway, "server shutting down")
	s.ws.CloseAll(websocket.CloseGoingAway, "server shutting down")
	s.fresh.closeAll()
	err := s.http.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		_ = s.http.Close()
		return fmt.Errorf("shutdown: requests still running after %s were cut off", cfg.ShutdownTimeout)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

// OpenWebSockets reports how many WebSocket connections are open.
func (s *Server) OpenWebSockets() int { return s.wsNext.Open() + s.ws.Open() }

// Subscriptions reports how many subscriptions on graphql-transport-ws
// connections are listening for events (subscribers that share one
// execution count one each).
func (s *Server) Subscriptions() int { return int(s.wsNext.listening.Load()) }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyTimeout bounds each readiness check; /readyz answers within it
// (the checks run side by side), under the one second load balancers
// commonly allow.
const readyTimeout = 800 * time.Millisecond

// readyz reports whether this replica should receive traffic: its
// required dependencies answer and it is not shutting down. Every check
// runs at once with its own deadline, and the answer names each check's
// outcome. A degradable dependency that is down (Redis) is reported, with
// status "degraded", but leaves the replica ready: it serves from the
// database, and failing every replica's check because of a shared cache
// would take the whole service out of the load balancer.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	type result struct {
		name     string
		required bool
		err      error
	}
	results := make(chan result, len(s.deps.Ready)+len(s.deps.Degradable))
	run := func(name string, p Pinger, required bool) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		errc := make(chan error, 1)
		// A Pinger that ignores its context must not hold the answer.
		go func() { errc <- p.Ping(ctx) }()
		var err error
		select {
		case err = <-errc:
		case <-ctx.Done():
			err = ctx.Err()
		}
		results <- result{name, required, err}
	}
	for name, p := range s.deps.Ready {
		go run(name, p, true)
	}
	for name, p := range s.deps.Degradable {
		go run(name, p, false)
	}
	checks := map[string]string{}
	down := []string{}
	status, word := http.StatusOK, "ok"
	for range cap(results) {
		res := <-results
		if res.err == nil {
			checks[res.name] = "ok"
			continue
		}
		s.deps.Log.WarnContext(r.Context(), "readiness check failed", "check", res.name, "required", res.required, "error", res.err.Error())
		checks[res.name] = "unavailable"
		down = append(down, res.name)
		if res.required {
			status, word = http.StatusServiceUnavailable, "unavailable"
		} else if word == "ok" {
			word = "degraded"
		}
	}
	if s.draining.Load() {
		checks["server"] = "shutting down"
		down = append(down, "server")
		status, word = http.StatusServiceUnavailable, "unavailable"
	}
	slices.Sort(down)
	writeJSON(w, status, map[string]any{"status": word, "checks": checks, "down": down})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}
