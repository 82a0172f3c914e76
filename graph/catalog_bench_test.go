package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"

	"frontdesk/catalog"
	"frontdesk/identity"
)

// benchListing is the storefront listing shape of the catalog issue.
const benchListing = `{ products(first: 20) { totalCount edges { node {
  id title slug description featuredImage { url }
  variants { id sku title price { amount currency } priceWithTax { amount } stockLevel }
  collections { id title } } } } }`

// BenchmarkCatalogListing seeds FRONTDESK_BENCH_PRODUCTS products (default
// 1000) × 3 variants and measures the listing over HTTP, warm (cache hit)
// and cold (cache version replaced before every request), reporting SQL
// statements per request. Run with -benchmem for allocations.
func BenchmarkCatalogListing(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("FRONTDESK_BENCH_PRODUCTS")); err == nil && v > 0 {
		n = v
	}
	ts, svc, counter := catalogServer(b)
	if _, err := svc.Seed(context.Background(), catalog.SeedOptions{Products: n}); err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"query": benchListing})
	get := func(b *testing.B) {
		resp, err := http.Post(ts.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || bytes.Contains(out, []byte(`"errors"`)) {
			b.Fatalf("%d %s", resp.StatusCode, out)
		}
	}
	b.Run(fmt.Sprintf("warm/products=%d", n), func(b *testing.B) {
		get(b)
		counter.Reset()
		b.ResetTimer()
		b.SetParallelism(8) // 16 clients on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				get(b)
			}
		})
		b.ReportMetric(float64(counter.Reset())/float64(b.N), "sql/op")
	})
	// The ceiling: a plain net/http handler writing the same response
	// bytes, measured the same way; report listing req/s as a fraction.
	resp, err := http.Post(ts.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	same, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(same)
	}))
	defer plain.Close()
	b.Run("ceiling", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := http.Post(plain.URL, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
		})
	})
	b.Run(fmt.Sprintf("cold/products=%d", n), func(b *testing.B) {
		ctx := identity.SystemContext(context.Background())
		counter.Reset()
		var sql int64
		for b.Loop() {
			b.StopTimer()
			if err := svc.Invalidate(ctx); err != nil {
				b.Fatal(err)
			}
			counter.Reset()
			b.StartTimer()
			get(b)
			sql += counter.Reset()
		}
		b.ReportMetric(float64(sql)/float64(b.N), "sql/op")
	})
	b.Run("search", func(b *testing.B) {
		q, _ := json.Marshal(map[string]any{"query": `{ products(first: 20, filter: {search: "calm dai"}) { totalCount edges { node { id title } } } }`})
		ctx := context.Background()
		for b.Loop() {
			b.StopTimer()
			_ = svc.Invalidate(ctx)
			b.StartTimer()
			resp, err := http.Post(ts.URL, "application/json", bytes.NewReader(q))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
