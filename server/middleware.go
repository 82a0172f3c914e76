package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"frontdesk/graph"
	"frontdesk/requestid"
	"frontdesk/telemetry"
)

// withRequestID accepts a well-formed X-Request-ID from the client (or a
// proxy) and otherwise makes one, puts it in the context and echoes it.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !requestid.Valid(id) {
			id = requestid.New()
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(requestid.With(r.Context(), id)))
	})
}

// untraced are the probe endpoints: scraped and polled every few seconds,
// they would fill the trace store with nothing worth reading.
var untraced = map[string]bool{"/metrics": true, "/healthz": true, "/readyz": true}

// withTracing runs each request under a server span that continues the
// client's W3C trace. WebSocket upgrades get none: the connection lives
// for hours, and the operations on it are traced one by one.
func withTracing(tracer trace.Tracer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" || untraced[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		ctx, span := telemetry.StartRequest(tracer, r, requestid.From(r.Context()))
		rec := &statusRecorder{ResponseWriter: w}
		r = r.WithContext(ctx)
		defer func() {
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			// The mux sets r.Pattern on this request value.
			telemetry.FinishRequest(span, r.Method, r.Pattern, status)
		}()
		next.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers the status and size of a response for the
// access log. It passes Hijack through so WebSockets still upgrade.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	s.status = http.StatusSwitchingProtocols
	return h.Hijack()
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withAccessLog logs one line per request with its outcome. GraphQL
// operation names and outcomes are logged by the GraphQL layer; bodies,
// tokens and cookies are never logged.
func withAccessLog(log *slog.Logger, m *metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		// The mux has set r.Pattern to the route that matched.
		m.observe(r.Pattern, rec.status, time.Since(start))
		log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

// withRecover turns a panic outside the GraphQL executor into a 500 with
// the request id, and logs the stack. gqlgen recovers resolver panics
// itself (see graph.Recover).
func withRecover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil || p == http.ErrAbortHandler {
				if p != nil {
					panic(p)
				}
				return
			}
			log.ErrorContext(r.Context(), "panic in HTTP handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			writeJSONError(w, http.StatusInternalServerError, "INTERNAL",
				"internal error (request id "+requestid.From(r.Context())+")")
		}()
		next.ServeHTTP(w, r)
	})
}

// originPolicy decides which browser origins may call the API with
// credentials. It never answers "*".
type originPolicy struct {
	allowed []string
	dev     bool
}

func (p originPolicy) allows(origin string) bool {
	if origin == "" {
		return false
	}
	origin = strings.ToLower(origin)
	if slices.Contains(p.allowed, origin) {
		return true
	}
	if p.dev {
		u, err := url.Parse(origin)
		if err == nil && u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1") {
			return true
		}
	}
	return false
}

// checkWebSocketOrigin allows non-browser clients (no Origin header),
// same-host pages and allowed origins.
func (p originPolicy) checkWebSocketOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if u, err := url.Parse(origin); err == nil && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return p.allows(origin)
}

// withCORS answers preflights and tags responses for allowed origins only.
func withCORS(p originPolicy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" {
			w.Header().Add("Vary", "Origin")
		}
		if !p.allows(origin) {
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Expose-Headers", "X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-ID, X-Frontdesk-CSRF, Idempotency-Key, Apollo-Require-Preflight")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withBodyLimit caps request bodies: JSON requests at maxBody, multipart
// uploads at maxUpload. A declared length over the cap is refused before
// reading; an undeclared one fails when the reader passes the cap.
func withBodyLimit(maxBody, maxUpload int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := maxBody
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			limit = maxUpload
		}
		if r.ContentLength > limit {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE",
				fmt.Sprintf("request body is %d bytes; the limit is %d", r.ContentLength, limit))
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength < 0 && limit == maxBody {
			// A chunked JSON body has no declared length: read it here, so
			// an oversized one gets REQUEST_TOO_LARGE rather than a decode
			// error from deep inside the transport.
			body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
			if err != nil {
				writeJSONError(w, http.StatusBadRequest, "BAD_REQUEST", "could not read the request body")
				return
			}
			if int64(len(body)) > limit {
				writeJSONError(w, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE",
					fmt.Sprintf("request body is over the limit of %d bytes", limit))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// writeJSONError writes a GraphQL-shaped error response for failures that
// happen before the GraphQL executor runs.
func writeJSONError(w http.ResponseWriter, status int, code, message string) {
	body, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{
		"message": message, "extensions": map[string]string{"code": code},
	}}}) // cannot fail: strings only
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client may be gone; nothing to do about it

}

// markGET tells the GraphQL layer which requests came over GET, where only
// queries are allowed (WebSocket upgrades are GETs too, but are not marked).
func markGET(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.Header.Get("Upgrade") == "" {
			r = r.WithContext(graph.WithGET(r.Context()))
		}
		next.ServeHTTP(w, r)
	})
}
