package catalog_test

import (
	"context"
	"slices"
	"testing"

	"frontdesk/catalog"
	"frontdesk/ent/product"
)

// TestRelevance ranks the best match first on both databases and pages
// through the ranked list with cursors without repeating or losing rows.
func TestRelevance(t *testing.T) {
	s, _ := newService(t)
	active := product.StatusACTIVE
	for _, p := range []struct{ title, desc string }{
		{"Garden Hose", "Thirty metres of hose for the garden."},
		{"Jasmine Tea", "Green tea scented with jasmine flowers: tea for the evening, tea for guests."},
		{"Teapot", "A pot for tea."},
		{"Black Tea", "Strong tea."},
	} {
		mustProduct(t, s, catalog.ProductInput{Title: ptr(p.title), Description: ptr(p.desc), Status: &active})
	}
	ctx := context.Background()
	page, err := s.Products(ctx, catalog.ListArgs{Filter: catalog.Filter{Search: "tea"}, Sort: catalog.SortRelevance})
	if err != nil {
		t.Fatal(err)
	}
	got := titles(page)
	// "tea" is a word of two titles and the prefix of "Teapot"; the
	// hose does not match at all. The best matches come first.
	if n := total(t, ctx, s, page); n != 3 || len(got) != 3 || slices.Contains(got, "Garden Hose") || got[0] == "Teapot" {
		t.Fatalf("ranked = %v (total %d)", got, n)
	}
	// Pages of two cover the same list in the same order.
	var paged []string
	args := catalog.ListArgs{First: ptr(2), Filter: catalog.Filter{Search: "tea"}, Sort: catalog.SortRelevance}
	for range 2 {
		p, err := s.Products(ctx, args)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, titles(p)...)
		if n := total(t, ctx, s, p); n != 3 {
			t.Fatalf("page total = %d", n)
		}
		args.After = &p.Cursors[len(p.Cursors)-1]
	}
	if !slices.Equal(paged, got) {
		t.Fatalf("paged %v, want %v", paged, got)
	}
}

// TestSeedLarge bulk-loads a catalog that reads like Seed's: every
// product with three variants with stock, a category, searchable, in the
// collections.
func TestSeedLarge(t *testing.T) {
	s, _ := newService(t)
	n, err := s.SeedLarge(context.Background(), 1203)
	if err != nil || n != 1203 {
		t.Fatalf("seed = %d, %v", n, err)
	}
	ctx := context.Background()
	page, err := s.Products(ctx, catalog.ListArgs{First: ptr(20)})
	if err != nil {
		t.Fatal(err)
	}
	if n := total(t, ctx, s, page); n != 1203 || len(page.Products) != 20 || page.Products[0].Title != "Daily Bright 1203" {
		t.Fatalf("listing: total %d, first %q", n, page.Products[0].Title)
	}
	for _, p := range page.Products {
		vs := page.Variants[p.ID]
		if len(vs) != 3 || page.Inventory[vs[0].ID] == nil || p.CategoryID == nil || p.PriceMin != vs[0].Price {
			t.Fatalf("product %s: %d variants, price min %d", p.Title, len(vs), p.PriceMin)
		}
	}
	found, err := s.Products(ctx, catalog.ListArgs{Filter: catalog.Filter{Search: "demo-01203-l"}})
	if err != nil || total(t, ctx, s, found) != 1 {
		t.Fatalf("search by SKU: %v, %v", found, err)
	}
	cols, err := s.Collections(ctx)
	if err != nil || len(cols) != 2 {
		t.Fatalf("collections = %d, %v", len(cols), err)
	}
}
