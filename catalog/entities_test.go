package catalog_test

import (
	"context"
	"testing"

	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent/product"
	"frontdesk/gid"
	"frontdesk/internal/testenv"
)

// TestListingEdgesSeeWrites checks the per-product edges and per-variant
// stock a listing is put together from (catalog/entities.go) against
// writes on another replica: a new variant, a price, a collection, a
// stock change by an admin and a reservation are each seen by the next
// listing on this one, also by a listing whose page was kept (the same
// filter) and by one with a new filter value, and the listing asks the
// database only for what changed.
func TestListingEdgesSeeWrites(t *testing.T) {
	counter, wrap := testenv.CountQueries()
	db := testenv.DB(t, database.Options{Driver: wrap})
	store := sharedStore(t)
	writer := catalog.New(db.Client, db.Dialect, store, nil, catalog.Options{})
	reader := catalog.New(db.Client, db.Dialect, store, nil, catalog.Options{})
	ctx := staffCtx()
	active := product.StatusACTIVE
	var ids []gid.ID
	for _, title := range []string{"Assam", "Darjeeling", "Earl Grey"} {
		p := mustProduct(t, writer, catalog.ProductInput{Title: ptr(title), Status: &active,
			Variants: []catalog.VariantInput{variant(title+"-S", 1000, 4)}})
		ids = append(ids, p.ID)
	}
	col, err := writer.CreateCollection(ctx, catalog.CollectionInput{Title: ptr("Breakfast")})
	if err != nil {
		t.Fatal(err)
	}

	// Each listing runs in a request of its own (its own loaders and
	// versions), as the GraphQL layer runs them.
	priceMax := int64(1_000_000)
	list := func(sameFilter bool, want int64, what string) *catalog.ProductPage {
		t.Helper()
		if !sameFilter {
			priceMax++
		}
		pm := priceMax
		rctx := reader.WithLoaders(context.Background())
		counter.Reset()
		page, err := reader.Products(rctx, catalog.ListArgs{Sort: catalog.SortTitle, Filter: catalog.Filter{PriceMax: &pm}})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := counter.Reset(); want >= 0 && n != want {
			t.Errorf("%s: %d statements, want %d", what, n, want)
		}
		if len(page.Products) != 3 {
			t.Fatalf("%s: %d products", what, len(page.Products))
		}
		return page
	}
	stock := func(page *catalog.ProductPage, i, j int) int {
		t.Helper()
		v := page.Variants[page.Products[i].ID][j]
		a := catalog.Available(page.Inventory[v.ID])
		if a == nil {
			t.Fatalf("variant %s has no tracked stock", v.Sku)
		}
		return *a
	}

	list(false, -1, "first listing") // reads the edges, the prices to count from
	if p := list(false, 1, "new filter value"); stock(p, 0, 0) != 4 {
		t.Fatalf("stock = %d, want 4", stock(p, 0, 0))
	}
	list(true, 0, "same filter")

	// Catalog writes on the other replica: everything is read again.
	if _, err := writer.CreateVariant(ctx, ids[0], variant("Assam-L", 2500, 7)); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.AddToCollection(ctx, col.ID, ids[1:2]); err != nil {
		t.Fatal(err)
	}
	vs, err := writer.Variants(ctx, ids[2])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.UpdateVariant(ctx, vs[0].ID, catalog.VariantInput{Price: ptr(int64(1700))}); err != nil {
		t.Fatal(err)
	}
	for _, same := range []bool{true, false} {
		p := list(same, -1, "after catalog writes")
		if n := len(p.Variants[ids[0]]); n != 2 || stock(p, 0, 1) != 7 {
			t.Errorf("same filter %v: Assam has %d variants, want 2 with 7 of the new one", same, n)
		}
		if cs := p.Collections[ids[1]]; len(cs) != 1 || cs[0].ID != col.ID {
			t.Errorf("same filter %v: Darjeeling's collections = %v", same, cs)
		}
		if price := p.Variants[ids[2]][0].Price; price != 1700 {
			t.Errorf("same filter %v: Earl Grey's price = %d, want 1700", same, price)
		}
	}

	// An admin's stock change (a catalog write) and a reservation (stock
	// only) on the other replica.
	if _, err := writer.ChangeStock(ctx, catalog.StockChange{VariantID: vs[0].ID, Delta: -3, Reason: "breakage"}); err != nil {
		t.Fatal(err)
	}
	if p := list(false, -1, "after a stock change"); stock(p, 2, 0) != 1 {
		t.Errorf("Earl Grey's stock after the change = %d, want 1", stock(p, 2, 0))
	}
	list(false, 1, "known products again")
	tx, err := writer.Client().Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.Reserve(ctx, tx, vs[0].ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// The kept page and the products' edges stay; only the stock is read.
	if p := list(true, 1, "same filter after a reservation"); stock(p, 2, 0) != 0 {
		t.Errorf("Earl Grey's stock after the reservation = %d, want 0", stock(p, 2, 0))
	}
	if p := list(false, 1, "new filter after a reservation"); stock(p, 2, 0) != 0 || stock(p, 0, 0) != 4 {
		t.Errorf("stock = %d and %d, want 0 and 4", stock(p, 2, 0), stock(p, 0, 0))
	}
}
