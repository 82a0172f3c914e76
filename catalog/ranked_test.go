package catalog_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"frontdesk/cache"
	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/collectionproduct"
	"frontdesk/ent/product"
	"frontdesk/fulltext"
	"frontdesk/gid"
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

// TestIndexedSearch checks a search answered from the search index
// (rankedList) against the database's full-text search (a service with
// no in-process cache) and against the index's definition, for several
// words, filters, sorts, cursors both ways, public and staff: it matches,
// counts and pages as the database does, and ranks as fulltext.Search
// ranks the products' search text. (The order is the index's: the two
// databases each rank in their own way.)
func TestIndexedSearch(t *testing.T) {
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
	col := db.Client.Collection.Query().FirstIDX(ctx)
	members := map[gid.ID]bool{}
	for _, m := range db.Client.CollectionProduct.Query().Where(collectionproduct.CollectionID(col)).AllX(ctx) {
		members[m.ProductID] = true
	}

	// The definition: every product's search text in an index of its own.
	reference := fulltext.New[*ent.Product]()
	var docs []fulltext.Doc[*ent.Product]
	for _, p := range db.Client.Product.Query().AllX(ctx) {
		docs = append(docs, fulltext.Doc[*ent.Product]{ID: string(p.ID), Text: p.SearchText, Data: p})
	}
	reference.Apply(docs, nil)
	ranked := func(q string, f catalog.Filter, staff, reverse bool) []string {
		var words []string
		for _, w := range fulltext.Words(q) {
			if len(w) > 1 {
				words = append(words, w)
			}
		}
		ids := []string{}
		results := reference.Search(words, func(_ string, p *ent.Product) bool {
			statuses := f.Statuses
			if !staff {
				statuses = []product.Status{product.StatusACTIVE}
			}
			return (len(statuses) == 0 || slices.Contains(statuses, p.Status)) &&
				(f.PriceMin == nil || p.PriceMin >= *f.PriceMin) && (f.PriceMax == nil || p.PriceMin <= *f.PriceMax) &&
				(len(f.Tags) == 0 || strings.Contains(p.TagKey, "|"+f.Tags[0]+"|")) &&
				(f.CollectionID == nil || members[p.ID])
		})
		for i := range results.Len() {
			ids = append(ids, results.At(i).ID)
		}
		if reverse {
			slices.Reverse(ids)
		}
		return ids
	}
	sorted := func(ids []string) []string { return slices.Sorted(slices.Values(ids)) }

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
		"tag": func(q string) catalog.Filter { return catalog.Filter{Search: q, Tags: []string{"demo"}} },
		"collection": func(q string) catalog.Filter {
			return catalog.Filter{Search: q, CollectionID: &col, PriceMax: ptr(middle)}
		},
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
					name  string
					ctx   context.Context
					staff bool
				}{{"public", ctx, false}, {"staff", identity.SystemContext(ctx), true}} {
					t.Run(q+"/"+name+"/"+string(sort.sort)+"/"+who.name, func(t *testing.T) {
						f := filter(q)
						want := walk(t, who.ctx, plain, f, sort.sort, sort.reverse)
						got := walk(t, who.ctx, s, f, sort.sort, sort.reverse)
						if sort.sort == catalog.SortRelevance {
							order := ranked(q, f, who.staff, sort.reverse)
							if !slices.Equal(got.IDs, order) {
								t.Fatalf("ranked %v,\nwant %v", got.IDs, order)
							}
							// walk pages back, five at a time, from the
							// last match of its second last page of seven.
							var back []string
							if pages := (len(order) + 6) / 7; pages > 1 {
								before := order[:7*(pages-1)-1]
								for end := len(before); end > 0; end -= 5 {
									back = append(back, before[max(end-5, 0):end]...)
								}
							}
							if !slices.Equal(got.BackwardIDs, back) {
								t.Fatalf("paged back %v,\nwant %v", got.BackwardIDs, back)
							}
							// The same matches, pages and cursor positions
							// as the database, in the index's order.
							for _, l := range []*listing{&want, &got} {
								l.IDs, l.BackwardIDs = sorted(l.IDs), nil
								for i, c := range l.Cursors {
									l.Cursors[i] = c[strings.Index(c, "@"):]
								}
							}
						}
						if d := cmp.Diff(want, got); d != "" {
							t.Fatalf("listing differs (-database +index):\n%s", d)
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
	// Searched within a collection: the product shows once added to it
	// and not after it is taken out.
	col, err := writer.CreateCollection(staffCtx(), catalog.CollectionInput{Title: ptr("Bowls")})
	if err != nil {
		t.Fatal(err)
	}
	inCollection := func(svc *catalog.Service) bool {
		t.Helper()
		page, err := svc.Products(ctx, catalog.ListArgs{First: ptr(10), Filter: catalog.Filter{Search: "zebrawood", CollectionID: &col.ID, PriceMax: ptr(next())}})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Products) == 1 && page.Products[0].ID == p.ID
	}
	for _, svc := range []*catalog.Service{writer, reader} {
		if inCollection(svc) {
			t.Fatal("found in a collection it is not in")
		}
	}
	if _, err := writer.AddToCollection(staffCtx(), col.ID, []gid.ID{p.ID}); err != nil {
		t.Fatal(err)
	}
	for name, svc := range map[string]*catalog.Service{"writer": writer, "reader": reader} {
		if !inCollection(svc) {
			t.Fatalf("%s: a product added to a collection is not found in it", name)
		}
	}
	if _, err := writer.RemoveFromCollection(staffCtx(), col.ID, []gid.ID{p.ID}); err != nil {
		t.Fatal(err)
	}
	for name, svc := range map[string]*catalog.Service{"writer": writer, "reader": reader} {
		if inCollection(svc) {
			t.Fatalf("%s: a product taken out of a collection is still found in it", name)
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

// TestSearchIndexCatchUp checks how the search index learns of writes
// made elsewhere (another replica, or a transaction that committed late):
// after the catalog version changes, the next search reads the products
// written within the look-back of its last read, indexes only those that
// changed, and counts: two statements when one product changed, one when
// none did, none while the version stays.
func TestSearchIndexCatchUp(t *testing.T) {
	counter, wrap := testenv.CountQueries()
	db := testenv.DB(t, database.Options{Driver: wrap})
	store := sharedStore(t)
	s := catalog.New(db.Client, db.Dialect, store, nil, catalog.Options{})
	ctx := context.Background()
	if _, err := s.SeedLarge(ctx, 60); err != nil {
		t.Fatal(err)
	}
	price := int64(1_000_000)
	search := func(q string) (ids []string, statements int64) {
		t.Helper()
		price++ // a new page: the ranked list, not the page, is what is kept
		counter.Reset()
		page, err := s.Products(s.WithLoaders(ctx), catalog.ListArgs{First: ptr(100), Filter: catalog.Filter{Search: q, PriceMax: ptr(price)}})
		if err != nil {
			t.Fatal(err)
		}
		statements = counter.Reset()
		for _, p := range page.Products {
			ids = append(ids, string(p.ID))
		}
		return ids, statements
	}
	search("calm") // builds the index
	if _, n := search("calm"); n != 0 {
		t.Errorf("a search while the version stays: %d statements, want 0", n)
	}

	// A transaction that stamped the row 30 seconds ago and committed
	// only now, written past the API (so nothing replaced the version).
	id := db.Client.Product.Query().FirstIDX(ctx)
	db.Client.Product.UpdateOneID(id).SetSearchText("latecomer").
		SetUpdatedAt(time.Now().Add(-30 * time.Second).UTC().Truncate(time.Microsecond)).ExecX(ctx)
	if ids, _ := search("latecomer"); len(ids) != 0 {
		t.Fatalf("found before the version changed: %v", ids)
	}
	if err := s.Invalidate(ctx); err != nil {
		t.Fatal(err)
	}
	ids, n := search("latecomer")
	if !slices.Equal(ids, []string{string(id)}) {
		t.Fatalf("a write within the look-back is not found: %v", ids)
	}
	// The written products' ids and times, the one changed row, then the
	// page's rows and edges read again under the new version (products,
	// variants, inventories, images, memberships, collections: six).
	if n != 2+6 {
		t.Errorf("catching up one write: %d statements, want 8", n)
	}
	if err := s.Invalidate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, n := search("calm"); n != 1+6 {
		t.Errorf("catching up nothing: %d statements, want 7", n)
	}
}

// TestSearchIndexBounded checks Options.SearchIndexMaxProducts: a catalog
// larger than it gets no index, and its searches, answered by the
// database, find the same products; one within it is searched in the
// index, without SQL once the words' matches are kept.
func TestSearchIndexBounded(t *testing.T) {
	counter, wrap := testenv.CountQueries()
	db := testenv.DB(t, database.Options{Driver: wrap})
	ctx := context.Background()
	seeder := catalog.New(db.Client, db.Dialect, nil, nil, catalog.Options{})
	if _, err := seeder.SeedLarge(ctx, 30); err != nil {
		t.Fatal(err)
	}
	price := int64(1_000_000)
	search := func(s *catalog.Service) (ids []string, statements int64) {
		t.Helper()
		price++ // a new page each time
		counter.Reset()
		page, err := s.Products(s.WithLoaders(ctx), catalog.ListArgs{First: ptr(100), Filter: catalog.Filter{Search: "calm", PriceMax: ptr(price)}})
		if err != nil {
			t.Fatal(err)
		}
		statements = counter.Reset()
		for _, p := range page.Products {
			ids = append(ids, string(p.ID))
		}
		return slices.Sorted(slices.Values(ids)), statements
	}
	for _, c := range []struct {
		name    string
		max     int
		indexed bool
	}{{"over the bound", 29, false}, {"within it", 30, true}, {"no index", -1, false}} {
		t.Run(c.name, func(t *testing.T) {
			s := catalog.New(db.Client, db.Dialect, nil, nil, catalog.Options{SearchIndexMaxProducts: c.max})
			first, _ := search(s)
			again, n := search(s)
			want, _ := search(catalog.New(db.Client, db.Dialect, nil, nil, catalog.Options{LocalCacheBytes: -1}))
			if len(want) == 0 || !slices.Equal(first, want) || !slices.Equal(again, want) {
				t.Fatalf("found %v then %v, want %v", first, again, want)
			}
			if indexed := n == 0; indexed != c.indexed {
				t.Fatalf("a repeated search ran %d statements; indexed %v, want %v", n, indexed, c.indexed)
			}
		})
	}
}

// downStore is a shared cache that is down: every call fails as an open
// circuit breaker fails it.
type downStore struct{}

func (downStore) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, cache.ErrUnavailable
}
func (downStore) Set(context.Context, string, []byte, time.Duration) error {
	return cache.ErrUnavailable
}
func (downStore) Delete(context.Context, ...string) error { return cache.ErrUnavailable }
func (downStore) Incr(context.Context, string, time.Duration) (int64, time.Duration, error) {
	return 0, 0, cache.ErrUnavailable
}
func (downStore) Ping(context.Context) error { return cache.ErrUnavailable }
func (downStore) Close() error               { return nil }

// TestSearchWhileSharedCacheDown checks the search index while the shared
// cache is down: each replica then works on versions of its own, which a
// write there replaces at once and which move on every two seconds
// (catalog/cache.go), and the index catches up from the database at each,
// so a search still sees a write on its own replica at once and one on
// another replica within that window.
func TestSearchWhileSharedCacheDown(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	ctx := context.Background()
	writer := catalog.New(db.Client, db.Dialect, downStore{}, nil, catalog.Options{})
	reader := catalog.New(db.Client, db.Dialect, downStore{}, nil, catalog.Options{})
	if _, err := writer.SeedLarge(ctx, 20); err != nil {
		t.Fatal(err)
	}
	found := func(svc *catalog.Service) bool {
		t.Helper()
		page, err := svc.Products(svc.WithLoaders(ctx), catalog.ListArgs{First: ptr(10), Filter: catalog.Filter{Search: "quokka"}})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Products) == 1
	}
	if found(writer) || found(reader) {
		t.Fatal("found before it exists")
	}
	mustProduct(t, writer, catalog.ProductInput{Title: ptr("Quokka mug"), Status: ptr(product.StatusACTIVE), Variants: []catalog.VariantInput{variant("QM-1", 900, 2)}})
	if !found(writer) {
		t.Fatal("the replica that wrote does not find it")
	}
	for deadline := time.Now().Add(5 * time.Second); !found(reader); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("another replica does not find it after its version moved on")
		}
	}
}
