package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"frontdesk/cache"
	"frontdesk/config"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
	"frontdesk/ratelimit"
)

// brokenStore is a cache whose counters always fail, as when Redis is down.
type brokenStore struct{ cache.Store }

func (brokenStore) Incr(context.Context, string, time.Duration) (int64, time.Duration, error) {
	return 0, 0, errors.New("dial tcp 127.0.0.1:6379: connection refused")
}

func limitsFor(store cache.Store, b ratelimit.Budget) (*rateLimits, *metrics) {
	cfg := &config.Config{RateLimitAnonymous: b, RateLimitUser: b, RateLimitStaff: b, RateLimitAPIKey: b}
	m := newMetrics(nil, func() int { return 0 }, nil)
	return newRateLimits(cfg, store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), m), m
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })

// TestRateLimitFallsBackToThisProcessWhenTheStoreIsDown: while the shared
// store fails, budgets still hold, counted in this process, and the
// fallback is counted for the operator.
func TestRateLimitFallsBackToThisProcessWhenTheStoreIsDown(t *testing.T) {
	rl, m := limitsFor(brokenStore{}, ratelimit.Budget{Limit: 2, Period: time.Minute})
	h := rl.middleware(okHandler)
	var codes []int
	for range 3 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader("{}")))
		codes = append(codes, w.Code)
		if w.Header().Get("RateLimit-Limit") != "2" {
			t.Fatalf("store down: no RateLimit headers: %v", w.Header())
		}
	}
	if codes[0] != http.StatusOK || codes[1] != http.StatusOK || codes[2] != http.StatusTooManyRequests {
		t.Fatalf("store down, budget 2: %v, want 200 200 429", codes)
	}
	w := httptest.NewRecorder()
	m.handler("", slog.New(slog.NewTextHandler(io.Discard, nil))).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(w.Body.String(), "frontdesk_rate_limit_local_total 3") {
		t.Fatalf("/metrics does not count the 3 local decisions")
	}
}

// TestRateLimitCallers: which budget each kind of caller draws on.
func TestRateLimitCallers(t *testing.T) {
	rl, _ := limitsFor(cache.NewMemory(), ratelimit.Budget{Limit: 1, Period: time.Minute})
	client := identity.WithClient(context.Background(), identity.Client{IP: "2001:db8:1:2::9"})
	for _, tt := range []struct {
		name       string
		ctx        context.Context
		key, class string
	}{
		{"anonymous: the client network", client, "ip:2001:db8:1:2::/64", classAnonymous},
		{"anonymous without a recorded client: the peer", context.Background(), "ip:192.0.2.1", classAnonymous},
		{"customer", identity.WithViewer(client, &identity.Viewer{UserID: "usr_1", Role: identity.RoleCustomer}), "user:usr_1", classUser},
		{"staff", identity.WithViewer(client, &identity.Viewer{UserID: "usr_2", Role: identity.RolePractitioner}), "user:usr_2", classStaff},
		{"API key", identity.WithViewer(client, &identity.Viewer{UserID: "usr_2", Role: identity.RoleAdmin, APIKeyID: "key_1"}), "key:key_1", classAPIKey},
		{"system: never counted", identity.SystemContext(client), "", ""},
	} {
		if key, class := rl.caller(tt.ctx, "192.0.2.1"); key != tt.key || class != tt.class {
			t.Errorf("%s: %q %q, want %q %q", tt.name, key, class, tt.key, tt.class)
		}
	}
}

// BenchmarkRateLimitMiddleware is the limiter's overhead per /graphql
// request: the middleware around a handler that does nothing, with the
// budgets off and on, on the store the test environment selects
// (in-process, or Redis on loopback with FRONTDESK_TEST_REDIS_URL).
func BenchmarkRateLimitMiddleware(b *testing.B) {
	url, prefix := testenv.Redis(b)
	store, _, err := cache.Open(context.Background(), url, prefix)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	for _, bc := range []struct {
		name   string
		budget ratelimit.Budget
	}{{"off", ratelimit.Budget{}}, {"on", ratelimit.Budget{Limit: 1 << 40, Period: time.Minute}}} {
		b.Run(bc.name, func(b *testing.B) {
			rl, _ := limitsFor(store, bc.budget)
			h := rl.middleware(okHandler)
			req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			req = req.WithContext(identity.WithClient(req.Context(), identity.Client{IP: "198.51.100.1"}))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
