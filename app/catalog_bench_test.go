package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	"frontdesk/catalog"
	"frontdesk/ent"
	"frontdesk/ent/category"
	"frontdesk/ent/product"
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

// catalogMiss is the listing with every request a new filter value
// (priceMax above every price, so the rows are the listing's and only the
// cache keys differ), optionally a category, a sort, a search or a cursor.
const catalogMiss = `query Miss($max: Int!, $cat: ID, $q: String, $sort: ProductSort, $after: Cursor) {
  products(first: 20, after: $after, sort: $sort, filter: {priceMax: $max, category: $cat, search: $q}) { totalCount edges { node {
  id title slug description featuredImage { url }
  variants { id sku title price { amount currency } priceWithTax { amount currency } stockLevel }
  collections { id title } } } } }`

// catalogProduct is a product page by slug.
const catalogProduct = `query ProductPage($slug: String!) { product(slug: $slug) {
  id title slug description featuredImage { url }
  variants { id sku title price { amount currency } priceWithTax { amount currency } stockLevel availableForSale }
  collections { id title } } }`

// benchClients is the number of concurrent storefront clients.
const benchClients = 16

// BenchmarkCatalogHTTP seeds FRONTDESK_BENCH_PRODUCTS products (default
// 10,000) × 3 variants, starts the real server (app.New: every middleware,
// extension and the cache the environment selects) on 127.0.0.1 and
// drives it side by side with a plain net/http server that writes the
// same response bytes (the ceiling), measured in the same run just before
// each case with the same number of clients. Cases:
//
//   - listing/warm: the Vendure-comparison listing, 16 clients, served from
//     the response cache;
//   - listing/miss: the same listing with a new priceMax on every request,
//     so every request misses every cache (response, page, count), at 16
//     clients and at 1;
//   - filter, sort, search, deep: one client, each request a new priceMax
//     with a category, the PRICE sort, a text search, or a cursor half-way
//     through the catalog;
//   - search/first: the text search with a product written before each
//     request (outside the timing), so the catalog version is replaced,
//     the search index reads the write and the term's ranked matches,
//     the count and the page are all made again: what the first request
//     for a term after a catalog write costs;
//   - product/warm and product/miss: a product page by slug, the same one
//     (16 clients) or a different product each request (1 client).
//
// Each case reports p50/p99 latency, requests per second, SQL statements
// and heap allocations per request (the whole process, so the in-process
// client's share is included: the ceiling rows show it), the CPU time per
// request of the MariaDB and Redis servers when they run on this machine
// (found by name in /proc, in 10 ms ticks, so use enough requests; what
// else they serve meanwhile counts too, except that cases with a ceiling
// subtract the servers' CPU rate during the ceiling's run, which sends
// them nothing) and, for cases with a ceiling, throughput as a
// percentage of it. Run with a fixed
// count, e.g. -benchtime 4000x; `make bench` does, on SQLite and on
// MariaDB with Redis.
func BenchmarkCatalogHTTP(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("FRONTDESK_BENCH_PRODUCTS")); err == nil && v > 0 {
		n = v
	}
	counter, wrap := testenv.CountQueries()
	cfg := testenv.Config(b)
	cfg.Workers = false
	cfg.ResponseCache = os.Getenv("FRONTDESK_RESPONSE_CACHE") != "off"
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
	url := serveForBench(b, a)
	client := &http.Client{
		Timeout:   30 * time.Second,
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
		len(shape.Data.Products.Edges) != min(20, n) || shape.Data.Products.Edges[0].Node.FeaturedImage == nil ||
		len(shape.Data.Products.Edges[0].Node.Variants) != 3 {
		b.Fatalf("unexpected listing (%v): %.300s", err, sample)
	}

	// The ceiling: plain net/http on loopback writing the bytes of the
	// case measured next.
	var ceilingBytes atomic.Pointer[[]byte]
	plainURL := ceilingForBench(b, func() []byte { return *ceilingBytes.Load() })

	// Inputs: slugs of many products, a leaf category, a cursor half-way.
	slugs := a.DB.Client.Product.Query().Limit(5000).Select(product.FieldSlug).StringsX(ctx)
	ids := a.DB.Client.Product.Query().Limit(5000).IDsX(ctx)
	var writes atomic.Int64
	cats := a.DB.Client.Category.Query().Where(category.ParentIDNotNil()).IDsX(ctx)
	// Walked in pages of at most 1,000: one page of n/2 loads the edges
	// of n/2 products with one IN list, more variables than SQLite takes
	// at 100,000 products.
	var halfway *ent.Cursor
	for left := max(n/2, 1); left > 0; {
		page, err := a.Catalog.Products(identity.SystemContext(ctx), catalog.ListArgs{First: ptrInt(min(left, 1000)), After: halfway})
		if err != nil {
			b.Fatal(err)
		}
		left -= len(page.Cursors)
		halfway = &page.Cursors[len(page.Cursors)-1]
	}
	var deepJSON bytes.Buffer
	halfway.MarshalGQL(&deepJSON)
	var deep string
	if err := json.Unmarshal(deepJSON.Bytes(), &deep); err != nil {
		b.Fatal(err)
	}
	var miss atomic.Int64 // a new priceMax for every request of every case
	missing := func(extra map[string]any) func(int) []byte {
		return func(int) []byte {
			vars := map[string]any{"max": 1_000_000_000 + miss.Add(1)}
			for k, v := range extra {
				vars[k] = v
			}
			return benchJSON(map[string]any{"query": catalogMiss, "variables": vars})
		}
	}
	same := func(body []byte) func(int) []byte { return func(int) []byte { return body } }
	var nextSlug atomic.Int64 // a product not asked for before in this run
	product := func(int) []byte {
		i := int(nextSlug.Add(1))
		return benchJSON(map[string]any{"query": catalogProduct, "variables": map[string]any{"slug": slugs[i%len(slugs)]}})
	}
	cases := []struct {
		name    string
		clients int
		body    func(i int) []byte
		// ceiling: measure the plain server with this case's bytes first.
		ceiling bool
		// share of b.N this case sends (slow cases send fewer).
		share int
		// cold: a product is written before each request (outside the
		// timing), so nothing of an earlier request is kept.
		cold bool
	}{
		{"listing/warm", benchClients, same(listing), true, 1, false},
		{"listing/miss", benchClients, missing(nil), true, 4, false},
		{"listing/miss-1client", 1, missing(nil), false, 20, false},
		{"filter/miss-1client", 1, missing(map[string]any{"cat": cats[0]}), false, 20, false},
		{"sort/miss-1client", 1, missing(map[string]any{"sort": "PRICE"}), false, 20, false},
		{"search/miss-1client", 1, missing(map[string]any{"q": "calm"}), false, 20, false},
		// A term's first request (nothing kept: the ranked matches are read).
		{"search/first-1client", 1, missing(map[string]any{"q": "calm"}), false, 40, true},
		{"deep/miss-1client", 1, missing(map[string]any{"after": deep}), false, 20, false},
		{"product/warm", benchClients, same(product(-1)), true, 1, false},
		{"product/miss-1client", 1, product, false, 20, false},
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("%s/products=%d", c.name, n), func(b *testing.B) {
			requests := max(b.N/c.share, 20)
			// Warm up (and fill the cache for the warm cases).
			first, err := benchPost(client, url, c.body(0))
			if err != nil {
				b.Fatal(err)
			}
			for i := range 8 {
				if _, err := benchPost(client, url, c.body(i)); err != nil {
					b.Fatal(err)
				}
			}
			var ceiling float64
			var idle *benchResult
			if c.ceiling {
				ceilingBytes.Store(&first)
				r := benchDrive(b, client, plainURL, requests, c.clients, same(nil), false, nil, counter)
				ceiling, idle = r.rps, &r
				b.ReportMetric(r.rps, "ceiling-req/s")
			}
			invalidate := func() {
				// A real write: one product's SEO title, through the
				// admin API, which replaces the catalog version as every
				// catalog write does.
				written := writes.Add(1)
				id := ids[int(written)%len(ids)]
				seo := fmt.Sprintf("written %d", written)
				if _, err := a.Catalog.UpdateProduct(identity.SystemContext(ctx), id, catalog.ProductInput{SEOTitle: &seo}); err != nil {
					b.Fatal(err)
				}
			}
			r := benchDrive(b, client, url, requests, c.clients, c.body, c.cold, invalidate, counter)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(r.p50.Seconds()*1e3, "p50-ms")
			b.ReportMetric(r.p99.Seconds()*1e3, "p99-ms")
			b.ReportMetric(r.rps, "req/s")
			b.ReportMetric(r.sql, "sql/req")
			b.ReportMetric(r.allocs, "allocs/req")
			serverCPU(b, r, idle)
			if ceiling > 0 {
				b.ReportMetric(100*r.rps/ceiling, "%ceiling")
			}
		})
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.Logf("after the run: heap in use %d MiB, from the OS %d MiB, RSS %s", ms.HeapInuse>>20, ms.Sys>>20, rss())
}

func ptrInt(n int) *int { return &n }

// rss is the process's resident set size from /proc (Linux), or "?".
func rss() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			return string(bytes.TrimSpace(v))
		}
	}
	return "?"
}

type benchResult struct {
	p50, p99 time.Duration
	rps      float64
	sql      float64
	allocs   float64
	// n requests were sent in wall seconds of real time.
	n    int
	wall time.Duration
	// dbCPU and redisCPU are the CPU time the database and Redis servers
	// on this machine used meanwhile (whatever else they served
	// included), -1 when they run elsewhere.
	dbCPU, redisCPU time.Duration
}

// serverCPU reports the CPU time per request the servers used for r,
// less the rate they used during idle (a run that sent them nothing,
// such as the ceiling's, else nil): the servers of a shared machine
// also serve other processes.
func serverCPU(b *testing.B, r benchResult, idle *benchResult) {
	report := func(used, idleUsed time.Duration, unit string) {
		if used < 0 || r.n == 0 {
			return
		}
		net := used.Seconds()
		if idle != nil && idleUsed >= 0 && idle.wall > 0 {
			net -= idleUsed.Seconds() / idle.wall.Seconds() * r.wall.Seconds()
		}
		b.ReportMetric(1e3*net/float64(r.n), unit)
	}
	var idleDB, idleRedis time.Duration = -1, -1
	if idle != nil {
		idleDB, idleRedis = idle.dbCPU, idle.redisCPU
	}
	report(r.dbCPU, idleDB, "db-cpu-ms/req")
	report(r.redisCPU, idleRedis, "redis-cpu-ms/req")
}

// serverPIDs are the local MariaDB/MySQL and Redis servers the tests
// use, found once by their process names in /proc (Linux); 0 when the
// tests do not use one or none runs here.
var serverPIDs = sync.OnceValue(func() (pids struct{ db, redis int }) {
	useDB, useRedis := testenv.Name() == "mysql", os.Getenv("FRONTDESK_TEST_REDIS_URL") != ""
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + d.Name() + "/comm")
		if err != nil {
			continue
		}
		switch string(bytes.TrimSpace(comm)) {
		case "mariadbd", "mysqld":
			if useDB {
				pids.db = pid
			}
		case "redis-server":
			if useRedis {
				pids.redis = pid
			}
		}
	}
	return pids
})

// cpuTime is the user and system CPU time process pid has used, from
// /proc/<pid>/stat (in clock ticks of 10 ms, USER_HZ on Linux), or -1.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return -1
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime and stime fields 14 and 15.
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(u+st) * 10 * time.Millisecond
}

// used is the CPU time between two cpuTime readings, or -1.
func used(before, after time.Duration) time.Duration {
	if before < 0 || after < 0 {
		return -1
	}
	return after - before
}

// drive sends requests requests from clients goroutines and measures them.
// In cold mode (one client) invalidate runs before each request, outside
// the timed part and its statements uncounted (its allocations are
// counted: they are the whole process's).
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
	servers := serverPIDs()
	db0, redis0 := cpuTime(servers.db), cpuTime(servers.redis)
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
					counter.Reset() // the write's own statements are not the request's
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
	wall := elapsed
	if cold {
		elapsed = busy // one client: time spent in requests only
	}
	runtime.ReadMemStats(&ms1)
	db1, redis1 := cpuTime(servers.db), cpuTime(servers.redis)
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
		p50:      latencies[done/2],
		p99:      latencies[min(done*99/100, done-1)],
		rps:      float64(done) / elapsed.Seconds(),
		sql:      float64(sqlCount) / float64(done),
		allocs:   float64(ms1.Mallocs-ms0.Mallocs) / float64(done),
		n:        done,
		wall:     wall,
		dbCPU:    used(db0, db1),
		redisCPU: used(redis0, redis1),
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
