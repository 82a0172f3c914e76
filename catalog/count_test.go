package catalog_test

import (
	"context"
	"testing"

	"frontdesk/catalog"
	"frontdesk/ent/product"
	"frontdesk/identity"
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
