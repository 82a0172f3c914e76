package app_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/99designs/gqlgen/graphql"

	"frontdesk/config"
)

// Go's profiler is served on the metrics listener, behind the metrics
// token, and never on the public listener.
func TestProfilerOnlyOnTheMetricsListener(t *testing.T) {
	const token = "metrics-token-0123456789"
	s := start(t, func(c *config.Config) { c.MetricsAddr, c.MetricsToken = "127.0.0.1:0", token })
	addr := waitForLog(t, s, "serving metrics", "addr")
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1"} {
		if code, _ := scrape(t, s.base+path, ""); code != http.StatusNotFound {
			t.Fatalf("%s on the public listener: %d, want 404", path, code)
		}
		if code, _ := scrape(t, "http://"+addr+path, ""); code != http.StatusUnauthorized {
			t.Fatalf("%s without the token: %d, want 401", path, code)
		}
	}
	if code, body := scrape(t, "http://"+addr+"/debug/pprof/", "Bearer "+token); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("profile index: %d %.200s", code, body)
	}
	if code, body := scrape(t, "http://"+addr+"/debug/pprof/goroutine?debug=1", "Bearer "+token); code != http.StatusOK || !strings.Contains(body, "goroutine profile:") {
		t.Fatalf("goroutine profile: %d %.200s", code, body)
	}
	if code, _ := scrape(t, "http://"+addr+"/debug/pprof/profile?seconds=3600", "Bearer "+token); code != http.StatusBadRequest {
		t.Fatalf("an hour-long CPU profile: %d, want 400", code)
	}

	// Metrics on the main listener (no listener of their own): no
	// profiler anywhere.
	open := start(t, func(c *config.Config) { c.MetricsAddr, c.MetricsToken = "", token })
	if code, _ := scrape(t, open.base+"/debug/pprof/", ""); code != http.StatusNotFound {
		t.Fatalf("profiler on the public listener beside /metrics: %d, want 404", code)
	}
}

// fieldCounter counts the fields an operation resolves.
type fieldCounter struct{ n *atomic.Int64 }

func (fieldCounter) ExtensionName() string                   { return "TestFieldCounter" }
func (fieldCounter) Validate(graphql.ExecutableSchema) error { return nil }

func (f fieldCounter) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	f.n.Add(1)
	return next(ctx)
}

// FRONTDESK_RESPONSE_CACHE=off resolves every catalog query: the same
// listing twice resolves its fields twice. On, the second is answered
// with the first's bytes without resolving a field.
func TestResponseCacheSetting(t *testing.T) {
	for _, on := range []bool{true, false} {
		fields := fieldCounter{n: &atomic.Int64{}}
		s := start(t, func(c *config.Config) { c.ResponseCache = on }, fields)
		s.seedShop(t, 1200, 3)
		s.query(t, catalogListing, nil)
		fields.n.Store(0)
		r := s.query(t, catalogListing, nil)
		if len(r.Errors) > 0 || len(field(r, "products.edges").([]any)) != 1 {
			t.Fatalf("listing: %+v %v", r.Errors, r.Data)
		}
		if n := fields.n.Load(); (n == 0) != on {
			t.Fatalf("response cache %v: the repeated listing resolved %d fields", on, n)
		}
	}
}
