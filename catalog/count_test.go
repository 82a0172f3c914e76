package catalog_test

import (
	"context"
	"sync"
	"testing"

	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent/category"
	"frontdesk/ent/product"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// TestPriceRangeCount checks that totalCount with a price range (counted
// from the filter's sorted prices) equals a COUNT of the same filter, at
// the bounds of the range and with other filters, for the public and
// staff.
func TestPriceRangeCount(t *testing.T) {
	s, db := newService(t)
	ctx := context.Background()
	if _, err := s.SeedLarge(ctx, 60); err != nil {
		t.Fatal(err)
	}
	prices := db.Client.Product.Query().Order(product.ByPriceMin()).Select(product.FieldPriceMin).IntsX(ctx)
	lowest, middle, highest := int64(prices[0]), int64(prices[len(prices)/2]), int64(prices[len(prices)-1])
	yes := true
	for _, tc := range []struct {
		name   string
		filter catalog.Filter
	}{
		{"max only", catalog.Filter{PriceMax: ptr(middle)}},
		{"min only", catalog.Filter{PriceMin: ptr(middle)}},
		{"min and max at one price", catalog.Filter{PriceMin: ptr(middle), PriceMax: ptr(middle)}},
		{"whole range", catalog.Filter{PriceMin: ptr(lowest), PriceMax: ptr(highest)}},
		{"below every price", catalog.Filter{PriceMax: ptr(lowest - 1)}},
		{"above every price", catalog.Filter{PriceMin: ptr(highest + 1)}},
		{"empty range", catalog.Filter{PriceMin: ptr(highest), PriceMax: ptr(lowest)}},
		{"huge max", catalog.Filter{PriceMax: ptr(int64(1) << 62)}},
		{"with a search", catalog.Filter{PriceMax: ptr(middle), Search: "calm"}},
		{"in stock", catalog.Filter{PriceMin: ptr(middle), InStock: &yes}},
		{"with a tag", catalog.Filter{PriceMax: ptr(highest - 1), Tags: []string{"tea"}}},
	} {
		for _, who := range []struct {
			name string
			ctx  context.Context
		}{{"public", ctx}, {"staff", identity.SystemContext(ctx)}} {
			t.Run(tc.name+"/"+who.name, func(t *testing.T) {
				page, err := s.Products(who.ctx, catalog.ListArgs{First: ptr(1), Filter: tc.filter})
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.TotalCount(who.ctx, page)
				if err != nil {
					t.Fatal(err)
				}
				q := db.Client.Product.Query()
				if who.name == "public" {
					q.Where(product.StatusEQ(product.StatusACTIVE))
				}
				if tc.filter.PriceMin != nil {
					q.Where(product.PriceMinGTE(*tc.filter.PriceMin))
				}
				if tc.filter.PriceMax != nil {
					q.Where(product.PriceMinLTE(*tc.filter.PriceMax))
				}
				if tc.filter.Search == "" && tc.filter.InStock == nil && tc.filter.Tags == nil {
					if want := q.CountX(ctx); got != want {
						t.Fatalf("totalCount %d, COUNT %d", got, want)
					}
				}
				// Every filter: the same as walking all pages.
				all, err := s.Products(who.ctx, catalog.ListArgs{First: ptr(1000), Filter: tc.filter})
				if err != nil {
					t.Fatal(err)
				}
				if got != len(all.Products) {
					t.Fatalf("totalCount %d, listing has %d", got, len(all.Products))
				}
			})
		}
	}
}

// TestConcurrentMissesReadOnce checks that requests missing the same
// cache entries at the same moment, as every request does after a
// catalog write, wait for one read of each: 64 listings of one category,
// each with its own price range and its total, run together; each page
// is its own statement, and the category's count and the prices its
// ranges are counted from are read once, not once per request.
func TestConcurrentMissesReadOnce(t *testing.T) {
	counter, wrap := testenv.CountQueries()
	db := testenv.DB(t, database.Options{Driver: wrap})
	s := catalog.New(db.Client, db.Dialect, nil, nil, catalog.Options{})
	ctx := context.Background()
	if _, err := s.SeedLarge(ctx, 60); err != nil {
		t.Fatal(err)
	}
	leaf := db.Client.Category.Query().Where(category.ParentIDNotNil()).FirstIDX(ctx)
	// The category's products seen once, so their rows and edges are kept.
	if _, err := s.Products(s.WithLoaders(ctx), catalog.ListArgs{First: ptr(100), Filter: catalog.Filter{CategoryID: &leaf}}); err != nil {
		t.Fatal(err)
	}
	const clients = 64
	counter.Reset()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			<-start
			rctx := s.WithLoaders(ctx)
			f := catalog.Filter{CategoryID: &leaf, PriceMax: ptr(int64(1_000_000 + i))}
			page, err := s.Products(rctx, catalog.ListArgs{First: ptr(5), Filter: f, Count: true})
			if err == nil {
				_, err = s.TotalCount(rctx, page)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := counter.Reset(); n > clients+2 {
		t.Fatalf("%d statements for %d listings, want at most %d: a page each, one count, one list of prices", n, clients, clients+2)
	}
}
