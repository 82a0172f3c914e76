package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"frontdesk/cache"
	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/product"
	entschema "frontdesk/ent/schema"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

func newService(t *testing.T) (*catalog.Service, *database.DB) {
	t.Helper()
	db := testenv.DB(t, database.Options{})
	return catalog.New(db.Client, db.Dialect, nil, nil, catalog.Options{TaxRateBPS: 1000}), db
}

// sharedStore is the cache store replicas share: Redis when
// FRONTDESK_TEST_REDIS_URL is set, else one process's memory.
func sharedStore(t *testing.T) cache.Store {
	t.Helper()
	url, prefix := testenv.Redis(t)
	if url == "" {
		return cache.NewMemory()
	}
	s, _, err := cache.Open(context.Background(), url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func staffCtx() context.Context {
	return identity.WithViewer(context.Background(), &identity.Viewer{UserID: gid.New("usr"), Role: identity.RoleStaff})
}

func ptr[T any](v T) *T { return &v }

func variant(sku string, price int64, onHand int) catalog.VariantInput {
	return catalog.VariantInput{SKU: ptr(sku), Price: ptr(price), Currency: ptr("AUD"), OnHand: ptr(onHand)}
}

func mustProduct(t *testing.T, s *catalog.Service, in catalog.ProductInput) *ent.Product {
	t.Helper()
	p, err := s.CreateProduct(staffCtx(), in)
	if err != nil {
		t.Fatalf("create product %s: %v", deref(in.Title), err)
	}
	return p
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func titles(page *catalog.ProductPage) []string {
	var out []string
	for _, p := range page.Products {
		out = append(out, p.Title)
	}
	return out
}

func TestVisibilityAndFilters(t *testing.T) {
	s, _ := newService(t)
	ctx := staffCtx()
	shirts, err := s.CreateCategory(ctx, nil, catalog.CategoryInput{Name: ptr("Shirts")})
	if err != nil {
		t.Fatal(err)
	}
	linen, err := s.CreateCategory(ctx, &shirts.ID, catalog.CategoryInput{Name: ptr("Linen shirts")})
	if err != nil {
		t.Fatal(err)
	}
	active := product.StatusACTIVE
	a := mustProduct(t, s, catalog.ProductInput{Title: ptr("Linen Shirt"), Description: ptr("A *breezy* summer shirt"),
		Tags: []string{"Summer", "linen"}, CategoryID: &linen.ID, Status: &active,
		Variants: []catalog.VariantInput{variant("LS-S", 4900, 3), variant("LS-M", 5900, 0)}})
	b := mustProduct(t, s, catalog.ProductInput{Title: ptr("Wool Jumper"), Description: ptr("Warm for winter"),
		Tags: []string{"winter"}, CategoryID: &shirts.ID, Status: &active,
		Variants: []catalog.VariantInput{variant("WJ-1", 12000, 0)}})
	mustProduct(t, s, catalog.ProductInput{Title: ptr("Secret Draft"), Variants: []catalog.VariantInput{variant("SD-1", 100, 1)}})

	if a.DescriptionHTML != "<p>A <em>breezy</em> summer shirt</p>\n" {
		t.Errorf("description html = %q", a.DescriptionHTML)
	}
	if a.PriceMin != 4900 || a.PriceMax != 5900 || a.Currency != "AUD" {
		t.Errorf("price summary = %d..%d %s", a.PriceMin, a.PriceMax, a.Currency)
	}

	public := context.Background()
	tests := []struct {
		name string
		ctx  context.Context
		args catalog.ListArgs
		want []string
	}{
		{"public sees active only", public, catalog.ListArgs{Sort: catalog.SortTitle}, []string{"Linen Shirt", "Wool Jumper"}},
		{"staff sees all", ctx, catalog.ListArgs{Sort: catalog.SortTitle}, []string{"Linen Shirt", "Secret Draft", "Wool Jumper"}},
		{"public cannot ask for drafts", public, catalog.ListArgs{Sort: catalog.SortTitle, Filter: catalog.Filter{Statuses: []product.Status{product.StatusDRAFT}}}, []string{"Linen Shirt", "Wool Jumper"}},
		{"category includes descendants", public, catalog.ListArgs{Sort: catalog.SortTitle, Filter: catalog.Filter{CategoryID: &shirts.ID}}, []string{"Linen Shirt", "Wool Jumper"}},
		{"leaf category", public, catalog.ListArgs{Filter: catalog.Filter{CategoryID: &linen.ID}}, []string{"Linen Shirt"}},
		{"price desc", public, catalog.ListArgs{Sort: catalog.SortPrice, Reverse: true}, []string{"Wool Jumper", "Linen Shirt"}},
		{"price range", public, catalog.ListArgs{Filter: catalog.Filter{PriceMin: ptr(int64(5000))}}, []string{"Wool Jumper"}},
		{"in stock", public, catalog.ListArgs{Filter: catalog.Filter{InStock: ptr(true)}}, []string{"Linen Shirt"}},
		{"out of stock", public, catalog.ListArgs{Filter: catalog.Filter{InStock: ptr(false)}}, []string{"Wool Jumper"}},
		{"tags", public, catalog.ListArgs{Filter: catalog.Filter{Tags: []string{"SUMMER", "linen"}}}, []string{"Linen Shirt"}},
		{"search title prefix", public, catalog.ListArgs{Filter: catalog.Filter{Search: "lin"}}, []string{"Linen Shirt"}},
		{"search description", public, catalog.ListArgs{Filter: catalog.Filter{Search: "warm winter"}}, []string{"Wool Jumper"}},
		{"search sku", public, catalog.ListArgs{Filter: catalog.Filter{Search: "wj"}}, []string{"Wool Jumper"}},
		{"search is not syntax", public, catalog.ListArgs{Filter: catalog.Filter{Search: `"shirt* -(`}}, []string{"Linen Shirt"}},
		{"search hides drafts", public, catalog.ListArgs{Filter: catalog.Filter{Search: "secret"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := s.Products(tt.ctx, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, titles(page)); diff != "" {
				t.Errorf("titles (-want +got):\n%s", diff)
			}
			if total(t, tt.ctx, s, page) != len(tt.want) {
				t.Errorf("totalCount = %d, want %d", total(t, tt.ctx, s, page), len(tt.want))
			}
		})
	}

	if _, err := s.Product(public, nil, ptr("secret-draft")); !errors.Is(err, catalog.ErrProductNotFound) {
		t.Errorf("public product(slug: draft) = %v, want not found", err)
	}
	if got, err := s.Product(public, &b.ID, nil); err != nil || got.ID != b.ID {
		t.Errorf("public product(id) = %v, %v", got, err)
	}
	// Archiving hides the product from the public at once (cache invalidated).
	if _, err := s.ArchiveProduct(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	page, err := s.Products(public, catalog.ListArgs{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Linen Shirt"}, titles(page)); diff != "" {
		t.Errorf("after archive (-want +got):\n%s", diff)
	}
	if p, err := s.RestoreProduct(ctx, b.ID); err != nil || p.Status != product.StatusDRAFT {
		t.Errorf("restore = %v, %v", p, err)
	}
}

func TestPaginationIsStable(t *testing.T) {
	s, _ := newService(t)
	active := product.StatusACTIVE
	var want []string
	for i := range 7 {
		title := fmt.Sprintf("Product %02d", i)
		want = append(want, title)
		// Equal prices make the ID the tie-breaker.
		mustProduct(t, s, catalog.ProductInput{Title: ptr(title), Status: &active,
			Variants: []catalog.VariantInput{variant(fmt.Sprintf("P-%d", i), int64(100*(i/2)), 1)}})
	}
	for _, sort := range []catalog.Sort{catalog.SortTitle, catalog.SortPrice, catalog.SortNewest} {
		t.Run(string(sort), func(t *testing.T) {
			ctx := context.Background()
			all, err := s.Products(ctx, catalog.ListArgs{Sort: sort, First: ptr(100)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var after *ent.Cursor
			for {
				page, err := s.Products(ctx, catalog.ListArgs{Sort: sort, First: ptr(3), After: after})
				if err != nil {
					t.Fatal(err)
				}
				if n := total(t, ctx, s, page); n != 7 {
					t.Fatalf("totalCount = %d", n)
				}
				got = append(got, titles(page)...)
				if !page.HasNext {
					break
				}
				after = &page.Cursors[len(page.Cursors)-1]
			}
			if diff := cmp.Diff(titles(all), got); diff != "" {
				t.Errorf("forward pages (-all +paged):\n%s", diff)
			}
			// Backwards from the end gives the same order.
			var back []string
			before := &all.Cursors[len(all.Cursors)-1]
			back = append(back, all.Products[len(all.Products)-1].Title)
			for {
				page, err := s.Products(ctx, catalog.ListArgs{Sort: sort, Last: ptr(2), Before: before})
				if err != nil {
					t.Fatal(err)
				}
				back = append(titles(page), back...)
				if !page.HasPrevious {
					break
				}
				before = &page.Cursors[0]
			}
			if diff := cmp.Diff(titles(all), back); diff != "" {
				t.Errorf("backward pages (-all +paged):\n%s", diff)
			}
		})
	}
}

func codes(err error) []string {
	list, ok := errcode.AsUserErrors(err)
	if !ok {
		return []string{"not a user error: " + fmt.Sprint(err)}
	}
	var out []string
	for _, e := range list {
		out = append(out, fmt.Sprintf("%s %v", e.Code, e.Field))
	}
	return out
}

func TestValidationWritesNothing(t *testing.T) {
	s, db := newService(t)
	ctx := staffCtx()
	existing := mustProduct(t, s, catalog.ProductInput{Title: ptr("Taken"), Variants: []catalog.VariantInput{variant("SKU-1", 100, 1)}})
	unknown := gid.New("cat")
	usd := variant("SKU-USD", 100, 1)
	usd.Currency = ptr("USD")
	neg := variant("SKU-NEG", -1, 1)
	tests := []struct {
		name string
		in   catalog.ProductInput
		want []string
	}{
		{"negative price", catalog.ProductInput{Title: ptr("A"), Variants: []catalog.VariantInput{neg}}, []string{"INVALID [variants 0 price]"}},
		{"duplicate sku", catalog.ProductInput{Title: ptr("B"), Variants: []catalog.VariantInput{variant("SKU-1", 100, 1)}}, []string{"TAKEN [variants 0 sku]"}},
		{"duplicate slug", catalog.ProductInput{Title: ptr("Taken")}, []string{"TAKEN [slug]"}},
		{"unknown category", catalog.ProductInput{Title: ptr("C"), CategoryID: &unknown}, []string{"NOT_FOUND [categoryId]"}},
		{"currency mismatch", catalog.ProductInput{Title: ptr("D"), Variants: []catalog.VariantInput{variant("SKU-AUD", 100, 1), usd}}, []string{"INVALID [variants 1 currency]"}},
		{"bad currency", catalog.ProductInput{Title: ptr("E"), Variants: []catalog.VariantInput{{SKU: ptr("X"), Price: ptr(int64(1)), Currency: ptr("XXX")}}}, []string{"INVALID [variants 0 currency]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateProduct(ctx, tt.in)
			if diff := cmp.Diff(tt.want, codes(err)); diff != "" {
				t.Errorf("user errors (-want +got):\n%s", diff)
			}
			n, err := db.Client.Product.Query().Count(context.Background())
			if err != nil || n != 1 {
				t.Errorf("products after failed create = %d (%v), want 1", n, err)
			}
			if n, _ := db.Client.Variant.Query().Count(context.Background()); n != 1 {
				t.Errorf("variants after failed create = %d, want 1", n)
			}
		})
	}
	if _, err := s.CreateProduct(context.Background(), catalog.ProductInput{Title: ptr("Anon")}); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("anonymous create = %v", err)
	}
	customer := identity.WithViewer(context.Background(), &identity.Viewer{UserID: gid.New("usr"), Role: identity.RoleCustomer})
	if _, err := s.UpdateProduct(customer, existing.ID, catalog.ProductInput{Title: ptr("x")}); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("customer update = %v", err)
	}
	// Update: a variant in another currency than its siblings is refused.
	v2, err := s.CreateVariant(ctx, existing.ID, variant("SKU-2", 200, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateVariant(ctx, v2.ID, catalog.VariantInput{Price: ptr(int64(5)), Currency: ptr("EUR")}); codes(err)[0] != "INVALID [currency]" {
		t.Errorf("currency change = %v", codes(err))
	}
}

func TestCategoryMoveRefusesCycles(t *testing.T) {
	s, _ := newService(t)
	ctx := staffCtx()
	a, _ := s.CreateCategory(ctx, nil, catalog.CategoryInput{Name: ptr("A")})
	b, _ := s.CreateCategory(ctx, &a.ID, catalog.CategoryInput{Name: ptr("B")})
	c, err := s.CreateCategory(ctx, &b.ID, catalog.CategoryInput{Name: ptr("C")})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []gid.ID{a.ID, b.ID, c.ID} {
		if _, err := s.MoveCategory(ctx, a.ID, &target, nil); codes(err)[0] != "INVALID [parentId]" {
			t.Errorf("move A under %s: %v", target, codes(err))
		}
	}
	// Moving B (with C) to the top keeps C below B.
	if _, err := s.MoveCategory(ctx, b.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	roots, err := s.Categories(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) != 2 {
		t.Fatalf("roots = %d, want 2", len(roots))
	}
	kids, err := s.Children(context.Background(), b.ID)
	if err != nil || len(kids) != 1 || kids[0].ID != c.ID {
		t.Fatalf("children of B = %v, %v", kids, err)
	}
	// And now A may move under C.
	if _, err := s.MoveCategory(ctx, a.ID, &c.ID, nil); err != nil {
		t.Fatal(err)
	}
	anc, err := s.Ancestors(context.Background(), mustCategory(t, s, a.ID))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range anc {
		names = append(names, x.Name)
	}
	if diff := cmp.Diff([]string{"B", "C"}, names); diff != "" {
		t.Errorf("ancestors of A (-want +got):\n%s", diff)
	}
}

func mustCategory(t *testing.T, s *catalog.Service, id gid.ID) *ent.Category {
	t.Helper()
	c, err := s.Category(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestReserveNeverOversells races many checkouts for the last units; the
// conditional UPDATE lets exactly the stock on hand through.
func TestReserveNeverOversells(t *testing.T) {
	s, db := newService(t)
	p := mustProduct(t, s, catalog.ProductInput{Title: ptr("Scarce"), Variants: []catalog.VariantInput{variant("SC-1", 100, 5)}})
	vs, err := s.Variants(context.Background(), p.ID)
	if err != nil || len(vs) != 1 {
		t.Fatal(vs, err)
	}
	id := vs[0].ID
	const buyers = 20
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok, sold int
	)
	for range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			tx, err := db.Client.Tx(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			err = s.Reserve(ctx, tx, id, 1)
			if err != nil {
				_ = tx.Rollback()
				if list, isUser := errcode.AsUserErrors(err); !isUser || list[0].Code != errcode.OutOfStock {
					t.Errorf("reserve: %v", err)
				}
				mu.Lock()
				sold++
				mu.Unlock()
				return
			}
			if err := tx.Commit(); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ok++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if ok != 5 || sold != buyers-5 {
		t.Fatalf("reserved %d, refused %d; want 5 and %d", ok, sold, buyers-5)
	}
	ctx := context.Background()
	tx, _ := db.Client.Tx(ctx)
	if err := s.Commit(ctx, tx, id, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, tx, id, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, tx, id, 1); codes(err)[0] != "CONFLICT [quantity]" {
		t.Fatalf("over-release: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	inv, err := s.Inventory(ctx, id)
	if err != nil || inv.OnHand != 2 || inv.Reserved != 0 {
		t.Fatalf("inventory = %+v, %v; want on hand 2, reserved 0", inv, err)
	}
	// Admin stock changes are recorded and cannot undercut reservations.
	tx, _ = db.Client.Tx(ctx)
	if err := s.Reserve(ctx, tx, id, 2); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangeStock(staffCtx(), catalog.StockChange{VariantID: id, Delta: -1, Reason: "damaged"}); codes(err)[0] != "CONFLICT [delta]" {
		t.Fatalf("undercut: %v", codes(err))
	}
	if _, err := s.ChangeStock(staffCtx(), catalog.StockChange{VariantID: id, Set: ptr(10), Reason: "stocktake"}); err != nil {
		t.Fatal(err)
	}
	adj, err := db.Client.StockAdjustment.Query().All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := adj[len(adj)-1]
	if last.Kind != catalog.KindSet || last.Delta != 8 || last.OnHandAfter != 10 || last.Reason != "stocktake" || last.ActorID == nil {
		t.Errorf("last adjustment = %+v", last)
	}
	_ = entschema.OptionValue{}
}

func TestSeed(t *testing.T) {
	s, _ := newService(t)
	n, err := s.Seed(context.Background(), catalog.SeedOptions{Products: 12})
	if err != nil || n != 12 {
		t.Fatalf("seed = %d, %v", n, err)
	}
	page, err := s.Products(context.Background(), catalog.ListArgs{First: ptr(5), Filter: catalog.Filter{Search: "demo"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := total(t, context.Background(), s, page); n != 12 || len(page.Variants[page.Products[0].ID]) != 3 {
		t.Fatalf("seeded listing: total %d, variants %d", n, len(page.Variants[page.Products[0].ID]))
	}
	roots, err := s.Categories(context.Background())
	if err != nil || len(roots) != 3 {
		t.Fatalf("roots = %d, %v", len(roots), err)
	}
}

// total is a listing's totalCount, counted as the field resolver does.
func total(t *testing.T, ctx context.Context, s *catalog.Service, page *catalog.ProductPage) int {
	t.Helper()
	n, err := s.TotalCount(ctx, page)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A product page (loaders not primed by a listing) of a product in no
// collection and without images: empty lists, not errors. dataloadgen
// reports a key its batch did not return as ErrNotFound.
func TestEdgesOfABareProduct(t *testing.T) {
	s, _ := newService(t)
	active := product.StatusACTIVE
	p := mustProduct(t, s, catalog.ProductInput{Title: ptr("Bare"), Status: &active})
	ctx := s.WithLoaders(context.Background())
	cols, err := s.CollectionsOf(ctx, p.ID)
	if err != nil || len(cols) != 0 {
		t.Fatalf("collections = %v, %v", cols, err)
	}
	imgs, err := s.Images(ctx, p.ID)
	if err != nil || len(imgs) != 0 {
		t.Fatalf("images = %v, %v", imgs, err)
	}
}
