package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"frontdesk/cache"
	"frontdesk/config"
	"frontdesk/errcode"
	"frontdesk/graph"
	"frontdesk/identity"
	"frontdesk/ratelimit"
)

// rateLimits applies the request budgets of /graphql, after
// authentication, so each caller draws on their own: an API key's, a
// signed-in user's (staff have a larger one), or for anonymous callers
// their client network's (identity.Client.Network). An HTTP request costs
// one; a WebSocket costs one to open and one for each operation started
// on it, counted against the viewer of its connection_init, so a socket
// is no way around the budget. Health, readiness, metrics and webhooks
// (signed by their senders) are other routes and are never counted.
type rateLimits struct {
	limiter *ratelimit.Limiter
	budgets map[string]ratelimit.Budget
	log     *slog.Logger
	metrics *metrics
	errs    graph.Errors
}

// Classes of caller, as metric labels and budget names.
const (
	classAnonymous = "anonymous"
	classUser      = "user"
	classStaff     = "staff"
	classAPIKey    = "api_key"
)

func newRateLimits(cfg *config.Config, store cache.Store, now func() time.Time, log *slog.Logger, m *metrics) *rateLimits {
	budgets := map[string]ratelimit.Budget{
		classAnonymous: cfg.RateLimitAnonymous,
		classUser:      cfg.RateLimitUser,
		classStaff:     cfg.RateLimitStaff,
		classAPIKey:    cfg.RateLimitAPIKey,
	}
	if store == nil {
		// Nothing to count in: only reachable in tests that build a
		// server without a cache.
		store = cache.NewMemory()
	}
	return &rateLimits{limiter: ratelimit.New(store, now), budgets: budgets, log: log, metrics: m, errs: graph.Errors{Log: log}}
}

// caller names the budget ctx's caller draws on. peer is the fallback
// address when the identity middleware did not record the client.
func (rl *rateLimits) caller(ctx context.Context, peer string) (key, class string) {
	v := identity.ViewerFrom(ctx)
	switch {
	case v == nil:
		return anonymousKey(ctx, peer), classAnonymous
	case v.System:
		return "", ""
	case v.APIKeyID != "":
		return "key:" + string(v.APIKeyID), classAPIKey
	case v.IsStaff():
		return "user:" + string(v.UserID), classStaff
	default:
		return "user:" + string(v.UserID), classUser
	}
}

// anonymousKey is the budget key of an anonymous caller: their client
// network (identity.Client.Network), or peer when the identity middleware
// did not record the client. Requests without credentials and requests
// whose credentials were refused (authFailed) both draw on it.
func anonymousKey(ctx context.Context, peer string) string {
	if n := identity.ClientFrom(ctx).Network(); n != "" {
		return "ip:" + n
	}
	return "ip:" + peer
}

// peerHost is the TCP peer of r without its port.
func peerHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// take counts one request of ctx's caller. ok is false when the caller is
// over budget. While the shared cache fails the limiter counts in this
// process (per-replica budgets, see package ratelimit); should even that
// fail the request is let through, logged and counted: the budgets
// protect the service, and refusing everyone would do the harm they are
// there to prevent.
func (rl *rateLimits) take(ctx context.Context, peer string) (d ratelimit.Decision, counted bool) {
	key, class := rl.caller(ctx, peer)
	return rl.takeAs(ctx, key, class)
}

// takeAs counts one request against the budget of class under key.
func (rl *rateLimits) takeAs(ctx context.Context, key, class string) (d ratelimit.Decision, counted bool) {
	b := rl.budgets[class]
	if key == "" || b.Off() {
		return ratelimit.Decision{Allowed: true}, false
	}
	d, err := rl.limiter.Take(ctx, key, b)
	if err != nil {
		rl.log.ErrorContext(ctx, "rate limit unavailable; request let through", "error", err.Error())
		rl.metrics.rateLimitErrors.Inc()
		return ratelimit.Decision{Allowed: true}, false
	}
	if d.Local {
		rl.metrics.rateLimitLocal.Inc()
	}
	if !d.Allowed {
		rl.metrics.rateLimited.WithLabelValues(class).Inc()
	}
	return d, true
}

// refusal is the RATE_LIMITED error, presented by the one error presenter
// so it reads like every other: extensions.code and extensions.retryAfter.
func (rl *rateLimits) refusal(ctx context.Context, d ratelimit.Decision) *gqlerror.Error {
	return rl.errs.Present(ctx, &errcode.Error{Code: errcode.RateLimited, RetryAfter: d.Reset,
		Message: fmt.Sprintf("too many requests; try again in %d seconds", ratelimit.Seconds(d.Reset))})
}

// overWebSocketKey marks the context of a WebSocket connection (its
// value is the TCP peer), so its operations are counted one by one.
type overWebSocketKey struct{}

// middleware counts HTTP requests to /graphql, sets the RateLimit headers
// (draft-ietf-httpapi-ratelimit-headers: limit, remaining, seconds to
// reset, and the policy) and answers 429 with Retry-After when the budget
// is spent. WebSocket upgrades are counted here too and marked, so the
// operations started on the socket are counted by InterceptOperation.
func (rl *rateLimits) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		peer := peerHost(r)
		if r.Header.Get("Upgrade") != "" {
			ctx = context.WithValue(ctx, overWebSocketKey{}, peer)
			r = r.WithContext(ctx)
		}
		if d, counted := rl.take(ctx, peer); counted && rl.answer(ctx, w, d) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// answer sets the RateLimit headers of a counted request and, when it is
// over budget, answers it with 429 and Retry-After; refused says so.
func (rl *rateLimits) answer(ctx context.Context, w http.ResponseWriter, d ratelimit.Decision) (refused bool) {
	h := w.Header()
	reset := strconv.FormatInt(ratelimit.Seconds(d.Reset), 10)
	h.Set("RateLimit-Limit", strconv.FormatInt(d.Limit, 10))
	h.Set("RateLimit-Remaining", strconv.FormatInt(d.Remaining, 10))
	h.Set("RateLimit-Reset", reset)
	h.Set("RateLimit-Policy", strconv.FormatInt(d.Limit, 10)+";w="+strconv.FormatInt(int64(d.Period/time.Second), 10))
	if d.Allowed {
		return false
	}
	h.Set("Retry-After", reset)
	body, _ := json.Marshal(map[string]any{"errors": []*gqlerror.Error{rl.refusal(ctx, d)}}) // cannot fail: strings and numbers
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write(body) // the client may be gone; nothing to do
	return true
}

// authFailed counts a request whose credentials authentication refused
// (an unknown, expired or revoked bearer token or API key, or another
// scheme than Bearer) against its client's anonymous budget, on every
// route: bad credentials buy nothing that no credentials would not, so a
// client cannot hammer the API and the session look-up with them
// unthrottled. Within the budget the 401 goes out with the RateLimit
// headers; over it the answer is 429 RATE_LIMITED with Retry-After.
// Requests that authenticate never come here and cost nothing more.
func (rl *rateLimits) authFailed(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	d, counted := rl.takeAs(ctx, anonymousKey(ctx, peerHost(r)), classAnonymous)
	return counted && rl.answer(ctx, w, d)
}

var (
	_ graphql.HandlerExtension     = (*rateLimits)(nil)
	_ graphql.OperationInterceptor = (*rateLimits)(nil)
)

func (*rateLimits) ExtensionName() string                   { return "RateLimit" }
func (*rateLimits) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation counts each operation started on a WebSocket (a
// subscription, or a query or mutation sent over the socket) against the
// connection's viewer. Over budget, the operation gets one response with
// the RATE_LIMITED error and ends; the connection stays open. HTTP
// requests were counted by middleware and pass through.
func (rl *rateLimits) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	peer, ws := ctx.Value(overWebSocketKey{}).(string)
	if !ws {
		return next(ctx)
	}
	if d, _ := rl.take(ctx, peer); !d.Allowed {
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{rl.refusal(ctx, d)}})
	}
	return next(ctx)
}

// admitWebSocket counts an operation started on a graphql-transport-ws
// connection against the connection's viewer (wsTransport calls it for
// every subscribe); it returns the RATE_LIMITED error when the budget is
// spent.
func (rl *rateLimits) admitWebSocket(ctx context.Context, peer string) *gqlerror.Error {
	if d, _ := rl.take(ctx, peer); !d.Allowed {
		return rl.refusal(ctx, d)
	}
	return nil
}
