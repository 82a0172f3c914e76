package catalog

import (
	"context"
	"go/token"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"frontdesk/cache"
	"frontdesk/database"
	"frontdesk/internal/testenv"
)

// ignoreUnexported skips unexported fields (ent's config, edge flags, the
// page's filter): neither JSON nor gob keeps them, and nothing reads them
// from a cached value.
var ignoreUnexported = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && !token.IsExported(sf.Name())
}, cmp.Ignore())

// loadPages seeds n products and returns pages as a storefront lists
// them: 20 products with variants, stock, images and collections, under
// each sort and with the inStock filter (whose page carries inventory).
func loadPages(t testing.TB, s *Service, n int) map[string]*ProductPage {
	t.Helper()
	ctx := context.Background()
	if _, err := s.SeedLarge(ctx, n); err != nil {
		t.Fatal(err)
	}
	yes := true
	twenty := 20
	pages := map[string]*ProductPage{}
	for name, args := range map[string]ListArgs{
		"newest":   {First: &twenty},
		"price":    {First: &twenty, Sort: SortPrice},
		"title":    {First: &twenty, Sort: SortTitle},
		"in stock": {First: &twenty, Filter: Filter{InStock: &yes}},
	} {
		p, err := s.Products(ctx, args)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(p.Products) == 0 || len(p.Variants) == 0 {
			t.Fatalf("%s: %d products, %d with variants", name, len(p.Products), len(p.Variants))
		}
		pages[name] = p
	}
	return pages
}

// TestCachedRoundTrip checks what the shared cache keeps survives its
// encoding field for field (product rows as a collection's products are
// kept, collections, the category tree, counts), and, with
// FRONTDESK_TEST_REDIS_URL, that a replica reading what another one
// cached in Redis gets it as loaded, while listing pages never go
// through Redis (they are kept in each process; see kept).
func TestCachedRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t, database.Options{})
	s := New(db.Client, db.Dialect, nil, nil, Options{})
	pages := loadPages(t, s, 60)
	all, err := s.Collections(ctx)
	if err != nil || len(all) == 0 {
		t.Fatalf("collections = %d, %v", len(all), err)
	}
	tree, err := s.tree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]any{"collections": all, "categories": tree, "count": 3}
	for name, p := range pages {
		values[name+" rows"] = p.Products
	}
	for name, v := range values {
		b, err := encodeValue(v)
		if err != nil {
			t.Fatalf("%s: encode: %v", name, err)
		}
		out := reflect.New(reflect.TypeOf(v))
		if err := decodeValue(b, out.Interface()); err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if d := cmp.Diff(v, out.Elem().Interface(), ignoreUnexported); d != "" {
			t.Errorf("%s: changed through the codec (-loaded +decoded):\n%s", name, d)
		}
	}

	url, prefix := testenv.Redis(t)
	if url == "" {
		t.Log("FRONTDESK_TEST_REDIS_URL not set: the Redis round trip is skipped")
		return
	}
	store, _, err := cache.Open(ctx, url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	writer := New(db.Client, db.Dialect, store, nil, Options{})
	hits := &hitCounter{Store: store}
	reader := New(db.Client, db.Dialect, hits, nil, Options{})
	if !writer.shared {
		t.Fatal("a Redis store is not shared")
	}
	for _, c := range all {
		loaded, err := writer.CollectionProducts(ctx, c.ID, 20)
		if err != nil {
			t.Fatal(err)
		}
		// A fresh in-process cache: the reader decodes Redis's copy.
		read, err := reader.CollectionProducts(ctx, c.ID, 20)
		if err != nil {
			t.Fatal(err)
		}
		if hits.hits(":collection-products:") == 0 {
			t.Fatalf("%s: the reader did not read the collection's products from Redis", c.Title)
		}
		if len(loaded) == 0 || &read[0] == &loaded[0] {
			t.Fatalf("%s: %d products, or the reader shares the writer's value", c.Title, len(loaded))
		}
		if d := cmp.Diff(loaded, read, ignoreUnexported); d != "" {
			t.Errorf("%s: products read from Redis differ (-loaded +read):\n%s", c.Title, d)
		}
	}
	yes := true
	twenty := 20
	for name, args := range map[string]ListArgs{
		"newest":   {First: &twenty},
		"in stock": {First: &twenty, Filter: Filter{InStock: &yes}},
	} {
		loaded, err := writer.Products(ctx, args)
		if err != nil {
			t.Fatal(err)
		}
		read, err := reader.Products(ctx, args)
		if err != nil {
			t.Fatal(err)
		}
		if n := hits.hits(":products:"); n != 0 {
			t.Errorf("%s: %d listing pages read from Redis, want none", name, n)
		}
		if d := cmp.Diff(loaded, read, ignoreUnexported); d != "" {
			t.Errorf("%s: the replicas' pages differ (-writer +reader):\n%s", name, d)
		}
	}
}

// hitCounter counts the keys of each kind read from the shared store.
type hitCounter struct {
	cache.Store
	mu   sync.Mutex
	read []string
}

func (h *hitCounter) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, ok, err := h.Store.Get(ctx, key)
	h.mu.Lock()
	h.read = append(h.read, key)
	h.mu.Unlock()
	return b, ok, err
}

// hits returns how many keys containing kind were read since the last
// call, and forgets them.
func (h *hitCounter) hits(kind string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, k := range h.read {
		if strings.Contains(k, kind) {
			n++
		}
	}
	h.read = nil
	return n
}
