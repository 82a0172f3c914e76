package catalog_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"frontdesk/cache"
	"frontdesk/catalog"
	"frontdesk/ent"
	"frontdesk/ent/product"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// listing is what a client sees of every page of a listing.
type listing struct {
	IDs         []string
	Cursors     []string
	Next, Prev  []bool
	Total       int
	BackwardIDs []string
}

// walk reads every page of a listing forward, then back from its last
// cursor, with totalCount.
func walk(t *testing.T, ctx context.Context, s *catalog.Service, f catalog.Filter, sort catalog.Sort, reverse bool) listing {
	t.Helper()
	var out listing
	var after *ent.Cursor
	for range 100 {
		page, err := s.Products(ctx, catalog.ListArgs{First: ptr(7), After: after, Filter: f, Sort: sort, Reverse: reverse, Count: true})
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.TotalCount(ctx, page)
		if err != nil {
			t.Fatal(err)
		}
		out.Total = n
		for i, p := range page.Products {
			out.IDs = append(out.IDs, string(p.ID))
			out.Cursors = append(out.Cursors, string(page.Cursors[i].ID)+"@"+page.Cursors[i].Value.(string))
		}
		out.Next, out.Prev = append(out.Next, page.HasNext), append(out.Prev, page.HasPrevious)
		if !page.HasNext || len(page.Cursors) == 0 {
			break
		}
		c := page.Cursors[len(page.Cursors)-1]
		after = &c
	}
	if after == nil {
		return out
	}
	before := after
	for range 100 {
		page, err := s.Products(ctx, catalog.ListArgs{Last: ptr(5), Before: before, Filter: f, Sort: sort, Reverse: reverse})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Products {
			out.BackwardIDs = append(out.BackwardIDs, string(p.ID))
		}
		out.Next, out.Prev = append(out.Next, page.HasNext), append(out.Prev, page.HasPrevious)
		if !page.HasPrevious || len(page.Cursors) == 0 {
			break
		}
		c := page.Cursors[0]
		before = &c
	}
	return out
}

// TestRankedSearchSameAsDatabase checks that a search answered from a
// term's kept ranked list (rankedPage) lists, pages and counts exactly as
// the database does without it (a service with no in-process cache), for
// several terms, filters, sorts, cursors both ways, public and staff.
func TestRankedSearchSameAsDatabase(t *testing.T) {
	s, db := newService(t)
	ctx := context.Background()
	if _, err := s.SeedLarge(ctx, 150); err != nil {
		t.Fatal(err)
	}
	// Some products the public does not see.
	for _, id := range db.Client.Product.Query().Limit(15).IDsX(ctx) {
		db.Client.Product.UpdateOneID(id).SetStatus(product.StatusDRAFT).ExecX(ctx)
	}
	plain := catalog.New(db.Client, db.Dialect, nil, nil, catalog.Options{TaxRateBPS: 1000, LocalCacheBytes: -1})
	prices := db.Client.Product.Query().Order(product.ByPriceMin()).Select(product.FieldPriceMin).IntsX(ctx)
	middle := int64(prices[len(prices)/2])
	low := int64(prices[len(prices)/4])
	terms := []string{"calm", "de", "demo", "demo product", "Calm, TEA!", "sourced small", "nothingmatches", "x"}
	filters := map[string]func(q string) catalog.Filter{
		"search":   func(q string) catalog.Filter { return catalog.Filter{Search: q} },
		"priceMax": func(q string) catalog.Filter { return catalog.Filter{Search: q, PriceMax: ptr(middle)} },
		"priceMin": func(q string) catalog.Filter { return catalog.Filter{Search: q, PriceMin: ptr(middle)} },
		"range": func(q string) catalog.Filter {
			return catalog.Filter{Search: q, PriceMin: ptr(low), PriceMax: ptr(middle)}
		},
		"empty range": func(q string) catalog.Filter {
			return catalog.Filter{Search: q, PriceMin: ptr(middle), PriceMax: ptr(low)}
		},
		"tag (database)": func(q string) catalog.Filter { return catalog.Filter{Search: q, Tags: []string{"demo"}} },
		"draft (staff)": func(q string) catalog.Filter {
			return catalog.Filter{Search: q, Statuses: []product.Status{product.StatusDRAFT}}
		},
		"priceMax, draft": func(q string) catalog.Filter {
			return catalog.Filter{Search: q, PriceMax: ptr(middle), Statuses: []product.Status{product.StatusDRAFT, product.StatusACTIVE}}
		},
	}
	for _, q := range terms {
		for name, filter := range filters {
			for _, sort := range []struct {
				sort    catalog.Sort
				reverse bool
			}{{catalog.SortRelevance, false}, {catalog.SortRelevance, true}, {catalog.SortPrice, false}} {
				for _, who := range []struct {
					name string
					ctx  context.Context
				}{{"public", ctx}, {"staff", identity.SystemContext(ctx)}} {
					t.Run(q+"/"+name+"/"+string(sort.sort)+"/"+who.name, func(t *testing.T) {
						f := filter(q)
						want := walk(t, who.ctx, plain, f, sort.sort, sort.reverse)
						got := walk(t, who.ctx, s, f, sort.sort, sort.reverse)
						if d := cmp.Diff(want, got); d != "" {
							t.Fatalf("listing differs (-database +ranked list):\n%s", d)
						}
					})
				}
			}
		}
	}
}

// TestRankedSearchSeesWrites checks that a product created, renamed or
// archived shows in a search at once, on the replica that wrote and on
// another one that had kept the term's ranked list (with Redis when
// FRONTDESK_TEST_REDIS_URL is set; otherwise one process).
func TestRankedSearchSeesWrites(t *testing.T) {
	s, db := newService(t)
	ctx := context.Background()
	if _, err := s.SeedLarge(ctx, 40); err != nil {
		t.Fatal(err)
	}
	writer, reader := s, s
	if url, prefix := testenv.Redis(t); url != "" {
		store, _, err := cache.Open(ctx, url, prefix)
		if err != nil {
			t.Fatal(err)
		}
		writer = catalog.New(db.Client, db.Dialect, store, nil, catalog.Options{})
		reader = catalog.New(db.Client, db.Dialect, store, nil, catalog.Options{})
	}
	search := func(svc *catalog.Service, q string, max int64) []string {
		t.Helper()
		page, err := svc.Products(ctx, catalog.ListArgs{First: ptr(100), Filter: catalog.Filter{Search: q, PriceMax: ptr(max)}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range page.Products {
			ids = append(ids, string(p.ID))
		}
		return ids
	}
	has := func(ids []string, id string) bool {
		for _, x := range ids {
			if x == id {
				return true
			}
		}
		return false
	}
	price := int64(1_000_000)
	next := func() int64 { price++; return price } // a new page each time; the ranked list is kept
	for _, svc := range []*catalog.Service{writer, reader} {
		search(svc, "zebrawood", next())
		search(svc, "quokka", next())
	}
	p := mustProduct(t, writer, catalog.ProductInput{Title: ptr("Zebrawood bowl"), Status: ptr(product.StatusACTIVE), Variants: []catalog.VariantInput{variant("ZB-1", 1200, 3)}})
	for name, svc := range map[string]*catalog.Service{"writer": writer, "reader": reader} {
		if !has(search(svc, "zebrawood", next()), string(p.ID)) {
			t.Fatalf("%s: a created product is not found", name)
		}
	}
	if _, err := writer.UpdateProduct(staffCtx(), p.ID, catalog.ProductInput{Title: ptr("Quokka bowl")}); err != nil {
		t.Fatal(err)
	}
	for name, svc := range map[string]*catalog.Service{"writer": writer, "reader": reader} {
		if has(search(svc, "zebrawood", next()), string(p.ID)) || !has(search(svc, "quokka", next()), string(p.ID)) {
			t.Fatalf("%s: a renamed product is found under its old title or not under its new one", name)
		}
	}
	if _, err := writer.ArchiveProduct(staffCtx(), p.ID); err != nil {
		t.Fatal(err)
	}
	for name, svc := range map[string]*catalog.Service{"writer": writer, "reader": reader} {
		if has(search(svc, "quokka", next()), string(p.ID)) {
			t.Fatalf("%s: an archived product is still found", name)
		}
	}
}
