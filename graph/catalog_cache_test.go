package graph_test

import (
	"context"
	"testing"

	"frontdesk/cache"
	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent/product"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// TestCatalogResponseCache checks the in-process response cache against
// what it must never break: a write on one replica is seen by the next
// read on another, staff and the public never share an answer, and a
// query that reads anything besides the catalog is not answered from it.
func TestCatalogResponseCache(t *testing.T) {
	counter, wrap := testenv.CountQueries()
	db := testenv.DB(t, database.Options{Driver: wrap})
	var store cache.Store = cache.NewMemory()
	if url, prefix := testenv.Redis(t); url != "" {
		s, _, err := cache.Open(context.Background(), url, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		store = s
	}
	_, writer := catalogReplica(t, db, store)
	reader, _ := catalogReplica(t, db, store)

	ctx := identity.WithViewer(context.Background(), &identity.Viewer{UserID: gid.New("usr"), Role: identity.RoleStaff})
	active, draft := product.StatusACTIVE, product.StatusDRAFT
	var first gid.ID
	for i, st := range []*product.Status{&active, &active, &draft} {
		p, err := writer.CreateProduct(ctx, catalog.ProductInput{Title: ptr([]string{"Alpha", "Beta", "Gamma"}[i]), Status: st})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = p.ID
		}
	}
	const q = `{ products(first: 10, sort: TITLE) { totalCount edges { node { title } } } }`
	type page struct {
		Products struct {
			TotalCount int
			Edges      []struct{ Node struct{ Title string } }
		}
	}
	read := func(viewer string) (page, int64) {
		t.Helper()
		counter.Reset()
		var p page
		if res := gql(t, reader, viewer, q, nil, &p); len(res.Errors) > 0 {
			t.Fatalf("errors: %+v", res.Errors)
		}
		return p, counter.Reset()
	}

	if p, _ := read(""); p.Products.TotalCount != 2 {
		t.Fatalf("public total = %d, want 2", p.Products.TotalCount)
	}
	if p, n := read(""); p.Products.TotalCount != 2 || n != 0 {
		t.Fatalf("public again: total %d with %d statements, want 2 from the cache", p.Products.TotalCount, n)
	}
	// Same query text, other visibility: staff see the draft too.
	if p, _ := read("admin"); p.Products.TotalCount != 3 {
		t.Fatalf("staff total = %d, want 3", p.Products.TotalCount)
	}
	if p, _ := read(""); p.Products.TotalCount != 2 {
		t.Fatalf("public after staff: total = %d, want 2", p.Products.TotalCount)
	}

	// A write through the other replica is seen by the very next read.
	if _, err := writer.UpdateProduct(ctx, first, catalog.ProductInput{Title: ptr("Aardvark")}); err != nil {
		t.Fatal(err)
	}
	if p, _ := read(""); p.Products.Edges[0].Node.Title != "Aardvark" {
		t.Fatalf("after rename on the other replica: first title %q", p.Products.Edges[0].Node.Title)
	}

	// A query that also reads outside the catalog runs every time.
	mixed := `query($id: ID!) { products(first: 1) { totalCount } node(id: $id) { id } }`
	for range 2 {
		counter.Reset()
		if res := gql(t, reader, "customer", mixed, map[string]any{"id": first}, nil); len(res.Errors) > 0 {
			t.Fatalf("errors: %+v", res.Errors)
		}
		if n := counter.Reset(); n == 0 {
			t.Fatal("a query with node(id:) was answered from the catalog response cache")
		}
	}
}
