package catalog

import (
	"context"
	"encoding/json"
	"go/token"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"frontdesk/cache"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/schema"
	"frontdesk/gid"
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

// enrich adds what the seed leaves out but real pages carry (images
// without storage, renditions, a compare-at price), so the codec sees
// every field kind.
func enrich(p *ProductPage) *ProductPage {
	compare := int64(9900)
	if len(p.Images) == 0 {
		p.Images = map[gid.ID][]*ent.ProductImage{}
		for _, pr := range p.Products {
			p.Images[pr.ID] = []*ent.ProductImage{{ID: gid.ID("img_" + string(pr.ID)), CreatedAt: pr.CreatedAt, UpdatedAt: pr.UpdatedAt,
				ProductID: pr.ID, Key: "products/" + string(pr.ID) + ".png", ContentType: "image/png", Width: 1200, Height: 1200, Alt: pr.Title}}
		}
	}
	for _, is := range p.Images {
		for _, im := range is {
			im.Renditions = []schema.Rendition{{Width: 320, Height: 320, Key: im.Key + "@320"}, {Width: 960, Height: 960, Key: im.Key + "@960"}}
		}
	}
	for _, vs := range p.Variants {
		vs[0].CompareAtPrice = &compare
	}
	return p
}

// TestCachedRoundTrip checks a page survives the shared-cache encoding
// field for field, and, with FRONTDESK_TEST_REDIS_URL, that a replica
// reading the page another one cached in Redis gets the page as loaded.
func TestCachedRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t, database.Options{})
	s := New(db.Client, db.Dialect, nil, nil, Options{})
	pages := loadPages(t, s, 60)
	for name, p := range pages {
		p = enrich(p)
		b, err := encodeValue(p)
		if err != nil {
			t.Fatalf("%s: encode: %v", name, err)
		}
		var out *ProductPage
		if err := decodeValue(b, &out); err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if d := cmp.Diff(p, out, ignoreUnexported); d != "" {
			t.Errorf("%s: page changed through the codec (-loaded +decoded):\n%s", name, d)
		}
	}
	// The other cached kinds encode too.
	for _, v := range []any{3, []*ent.Collection{}, &categoryTree{All: []*ent.Category{{ID: "cat_1", Name: "Tea"}}}} {
		if _, err := encodeValue(v); err != nil {
			t.Errorf("encode %T: %v", v, err)
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
		// A fresh in-process cache: the reader decodes Redis's copy.
		read, err := reader.Products(ctx, args)
		if err != nil {
			t.Fatal(err)
		}
		if read == loaded {
			t.Fatalf("%s: the reader shares the writer's value", name)
		}
		if hits.pages.Swap(0) == 0 {
			t.Fatalf("%s: the reader did not read the page from Redis", name)
		}
		if d := cmp.Diff(loaded, read, ignoreUnexported); d != "" {
			t.Errorf("%s: page read from Redis differs (-loaded +read):\n%s", name, d)
		}
	}
}

// hitCounter counts the pages read from the shared store.
type hitCounter struct {
	cache.Store
	pages atomic.Int64
}

func (h *hitCounter) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, ok, err := h.Store.Get(ctx, key)
	if ok && strings.Contains(key, ":products:"+codecTag+":") {
		h.pages.Add(1)
	}
	return b, ok, err
}

// BenchmarkPageCodec encodes and decodes one page of 20 products with
// variants, stock, images and collections: JSON (the shared-cache
// encoding before) against gob.
func BenchmarkPageCodec(b *testing.B) {
	db := testenv.DB(b, database.Options{})
	s := New(db.Client, db.Dialect, nil, nil, Options{})
	page := enrich(loadPages(b, s, 40)["in stock"])
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for b.Loop() {
			buf, err := json.Marshal(page)
			if err != nil {
				b.Fatal(err)
			}
			var out *ProductPage
			if err := json.Unmarshal(buf, &out); err != nil {
				b.Fatal(err)
			}
			n = len(buf)
		}
		b.ReportMetric(float64(n), "bytes/page")
	})
	b.Run("gob", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for b.Loop() {
			buf, err := encodeValue(page)
			if err != nil {
				b.Fatal(err)
			}
			var out *ProductPage
			if err := decodeValue(buf, &out); err != nil {
				b.Fatal(err)
			}
			n = len(buf)
		}
		b.ReportMetric(float64(n), "bytes/page")
	})
	// What the in-process-only mode did to size each loaded value before,
	// against what it does now.
	b.Run("json-size", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(page); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sizeOf", func(b *testing.B) {
		for b.Loop() {
			_ = sizeOf(page)
		}
	})
}
