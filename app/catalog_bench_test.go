package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/app"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// catalogListing is the storefront listing of the catalog issue: the first
// 20 products with id, name, slug, description, featured image URL,
// variants (id, SKU, name, price, price with tax, stock level) and
// collections (id, name), plus totalCount. The schema calls names
// "title".
const catalogListing = `query Listing { products(first: 20) { totalCount edges { node {
  id title slug description featuredImage { url }
  variants { id sku title price { amount currency } priceWithTax { amount currency } stockLevel }
  collections { id title } } } } }`

// catalogSearch is a storefront text search (best match first).
const catalogSearch = `query Search($q: String!) { products(first: 20, filter: {search: $q}) { totalCount edges { node {
  id title slug featuredImage { url } variants { id sku price { amount currency } stockLevel } } } } }`

// benchClients is the number of concurrent storefront clients.
const benchClients = 16

// BenchmarkCatalogHTTP seeds FRONTDESK_BENCH_PRODUCTS products (default
// 10,000) × 3 variants, starts the real server (app.New: every middleware,
// extension and the cache the environment selects) on 127.0.0.1 and sends
// b.N requests per case from 16 keep-alive clients: the storefront
// listing warm, a plain net/http handler writing the same response bytes
// (the ceiling), the listing and a search cold (the catalog version
// replaced before every request, one client) and a search warm. Each case
// reports p50/p99 latency, requests per second, SQL statements and heap
// allocations per request (the whole process, so the in-process client's
// share is included: the ceiling row shows it) and, for the listing, its
// throughput as a percentage of the ceiling's. Run it with a fixed count,
// e.g. -benchtime 4000x; `make bench` does, on SQLite and on MariaDB with
// Redis.
func BenchmarkCatalogHTTP(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("FRONTDESK_BENCH_PRODUCTS")); err == nil && v > 0 {
		n = v
	}
	counter, wrap := testenv.CountQueries()
	cfg := testenv.Config(b)
	cfg.Workers = false
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Logs are formatted as in production (the access and operation
	// logs cost allocations too) and thrown away.
	a, err := app.New(ctx, cfg, app.NewLogger(io.Discard, "info"), app.Options{Driver: wrap})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	began := time.Now()
	if _, err := a.Catalog.SeedLarge(ctx, n); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d products × 3 variants on %s in %s", n, testenv.Name(), time.Since(began).Round(time.Millisecond))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Server.Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-served
	}()
	url := "http://" + ln.Addr().String() + "/graphql"
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true},
	}
	listing := benchJSON(map[string]any{"query": catalogListing})
	sample, err := benchPost(client, url, listing)
	if err != nil {
		b.Fatal(err)
	}
	var shape struct {
		Data struct {
			Products struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						FeaturedImage *struct{ URL string }
						Variants      []struct{ ID string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(sample, &shape); err != nil || shape.Data.Products.TotalCount != n ||
		len(shape.Data.Products.Edges) != 20 || shape.Data.Products.Edges[0].Node.FeaturedImage == nil ||
		len(shape.Data.Products.Edges[0].Node.Variants) != 3 {
		b.Fatalf("unexpected listing (%v): %.300s", err, sample)
	}

	// The ceiling: plain net/http on loopback writing the listing's bytes.
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	plain := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(sample)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = plain.Serve(plainLn) }()
	defer plain.Close()
	plainURL := "http://" + plainLn.Addr().String() + "/"

	invalidate := func() {
		if err := a.Catalog.Invalidate(identity.SystemContext(ctx)); err != nil {
			b.Fatal(err)
		}
	}
	words := []string{"calm", "morning dai", "gentle pure", "restore", "bright cla", "organic night", "fresh", "balance"}
	search := func(i int) []byte {
		return benchJSON(map[string]any{"query": catalogSearch, "variables": map[string]any{"q": words[i%len(words)]}})
	}
	var ceiling float64
	cases := []struct {
		name    string
		clients int
		cold    bool
		body    func(i int) []byte
		url     string
	}{
		{"ceiling", benchClients, false, func(int) []byte { return listing }, plainURL},
		{"listing/warm", benchClients, false, func(int) []byte { return listing }, url},
		{"listing/cold", 1, true, func(int) []byte { return listing }, url},
		{"search/warm", benchClients, false, search, url},
		{"search/cold", 1, true, search, url},
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("%s/products=%d", c.name, n), func(b *testing.B) {
			requests := b.N
			if c.cold {
				requests = max(b.N/100, 20) // each one misses every cache
			}
			// Warm up (and fill the cache for the warm cases).
			for i := range len(words) {
				if _, err := benchPost(client, c.url, c.body(i)); err != nil {
					b.Fatal(err)
				}
			}
			r := benchDrive(b, client, c.url, requests, c.clients, c.body, c.cold, invalidate, counter)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(r.p50.Seconds()*1e3, "p50-ms")
			b.ReportMetric(r.p99.Seconds()*1e3, "p99-ms")
			b.ReportMetric(r.rps, "req/s")
			b.ReportMetric(r.sql, "sql/req")
			b.ReportMetric(r.allocs, "allocs/req")
			if c.name == "ceiling" {
				ceiling = r.rps
			} else if c.clients == benchClients && ceiling > 0 {
				b.ReportMetric(100*r.rps/ceiling, "%ceiling")
			}
		})
	}
}

type benchResult struct {
	p50, p99 time.Duration
	rps      float64
	sql      float64
	allocs   float64
}

// drive sends requests requests from clients goroutines and measures them.
// In cold mode (one client) the catalog version is replaced before each
// request, outside the timed part.
func benchDrive(b *testing.B, client *http.Client, url string, requests, clients int, body func(int) []byte, cold bool, invalidate func(), counter *testenv.QueryCounter) benchResult {
	b.Helper()
	latencies := make([]time.Duration, requests)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var sqlCount int64
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	counter.Reset()
	deadline := time.Now().Add(5 * time.Minute) // bounded whatever b.N is
	start := time.Now()
	var busy time.Duration
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= requests || failed.Load() != nil || time.Now().After(deadline) {
					return
				}
				payload := body(i)
				if cold {
					invalidate()
					sqlCount -= counter.Reset() // the invalidation's own statements (none on Redis)
				}
				t0 := time.Now()
				if _, err := benchPost(client, url, payload); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				latencies[i] = time.Since(t0)
				if cold {
					busy += latencies[i]
					sqlCount += counter.Reset()
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if cold {
		elapsed = busy // one client: time spent in requests only
	}
	runtime.ReadMemStats(&ms1)
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	done := min(int(next.Load()), requests)
	latencies = latencies[:done]
	if !cold {
		sqlCount = counter.Reset()
	}
	slices.Sort(latencies)
	return benchResult{
		p50:    latencies[done/2],
		p99:    latencies[min(done*99/100, done-1)],
		rps:    float64(done) / elapsed.Seconds(),
		sql:    float64(sqlCount) / float64(done),
		allocs: float64(ms1.Mallocs-ms0.Mallocs) / float64(done),
	}
}

func benchPost(client *http.Client, url string, body []byte) ([]byte, error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"errors"`)) {
		return nil, fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, out)
	}
	return out, nil
}

func benchJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
