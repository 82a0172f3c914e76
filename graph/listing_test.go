package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"frontdesk/cache"
	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/product"
	entschema "frontdesk/ent/schema"
	"frontdesk/gid"
	"frontdesk/graph"
	"frontdesk/identity"
	"frontdesk/integrations/storage"
	"frontdesk/internal/testenv"
)

// listingFixture is a small shop for the listing writer's tests: products
// with every kind of edge and none, texts that need escaping, stock at 0,
// untracked and on backorder, a price with tax and one struck through,
// drafts and archived products only staff see.
type listingFixture struct {
	resolver *graph.Resolver
	svc      *catalog.Service
	viewers  map[string]*identity.Viewer
}

func newListingFixture(t *testing.T) listingFixture {
	t.Helper()
	db := testenv.DB(t, database.Options{})
	media, err := storage.NewLocal(t.TempDir(), "/media")
	if err != nil {
		t.Fatal(err)
	}
	svc := catalog.New(db.Client, db.Dialect, cache.NewMemory(), nil, catalog.Options{TaxRateBPS: 1000, Storage: media})
	ctx := identity.WithViewer(context.Background(), &identity.Viewer{UserID: gid.New("usr"), Role: identity.RoleStaff})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tea, err := svc.CreateCategory(ctx, nil, catalog.CategoryInput{Name: ptr("Tea"), Description: ptr("Leaves & \"tips\"")})
	must(err)
	green, err := svc.CreateCategory(ctx, &tea.ID, catalog.CategoryInput{Name: ptr("Green \"leaf\" 緑茶")})
	must(err)
	featured, err := svc.CreateCollection(ctx, catalog.CollectionInput{Title: ptr("Featured"), Description: ptr("Our \\ picks")})
	must(err)
	sale, err := svc.CreateCollection(ctx, catalog.CollectionInput{Title: ptr("Sélection ☕ \"été\"")})
	must(err)
	active, draft, archived := product.StatusACTIVE, product.StatusDRAFT, product.StatusARCHIVED
	no := false
	yes := true
	create := func(in catalog.ProductInput) *ent.Product {
		t.Helper()
		p, err := svc.CreateProduct(ctx, in)
		must(err)
		return p
	}
	sencha := create(catalog.ProductInput{
		Title: ptr("Sencha \"Uji\""), Status: &active, CategoryID: &green.ID,
		Description:    ptr("Line one\nline two\ttabbed \\ back <b>bold</b> ünïcode"),
		SEOTitle:       ptr("Sencha from Uji"),
		SEODescription: ptr("Steamed green tea"),
		Tags:           []string{"green", "Japan"},
		Options:        []catalog.OptionInput{{Name: ptr("Size"), Values: []string{"50g", "100g"}}},
	})
	for _, v := range []catalog.VariantInput{
		{SKU: ptr("SEN-50"), Title: ptr("50 g"), Price: ptr(int64(1250)), Currency: ptr("AUD"), OnHand: ptr(0),
			OptionValues: []entschema.OptionValue{{Name: "Size", Value: "50g"}}, WeightGrams: ptr(60), Barcode: ptr("4901234567894")},
		{SKU: ptr("SEN-100"), Title: ptr("100 g"), Price: ptr(int64(2199)), Currency: ptr("AUD"), OnHand: ptr(7),
			CompareAtPrice: ptr(int64(2500)), OptionValues: []entschema.OptionValue{{Name: "Size", Value: "100g"}}},
	} {
		_, err := svc.CreateVariant(ctx, sencha.ID, v)
		must(err)
	}
	bare := create(catalog.ProductInput{Title: ptr("Bare"), Status: &active})
	untracked := create(catalog.ProductInput{Title: ptr("Untracked"), Status: &active, CategoryID: &tea.ID, Variants: []catalog.VariantInput{
		{SKU: ptr("UN-1"), Price: ptr(int64(500)), Currency: ptr("EUR"), Tracked: &no},
		{SKU: ptr("UN-2"), Price: ptr(int64(505)), Currency: ptr("EUR"), OnHand: ptr(0), AllowBackorder: &yes},
	}})
	hidden := create(catalog.ProductInput{Title: ptr("Draft"), Status: &draft, Variants: []catalog.VariantInput{
		{SKU: ptr("DR-1"), Price: ptr(int64(900)), Currency: ptr("AUD"), OnHand: ptr(3)},
	}})
	create(catalog.ProductInput{Title: ptr("Archived"), Status: &archived})
	ids := []gid.ID{sencha.ID, untracked.ID, hidden.ID}
	for i := range 9 {
		p := create(catalog.ProductInput{Title: ptr(fmt.Sprintf("Blend %02d", i)), Status: &active, Tags: []string{"blend"}, Variants: []catalog.VariantInput{
			{SKU: ptr(fmt.Sprintf("BL-%d", i)), Price: ptr(int64(1000 + 37*i)), Currency: ptr("AUD"), OnHand: ptr(i % 3)},
		}})
		ids = append(ids, p.ID)
	}
	_, err = svc.AddToCollection(ctx, featured.ID, ids)
	must(err)
	_, err = svc.AddToCollection(ctx, sale.ID, ids[:2])
	must(err)
	for i, p := range []gid.ID{sencha.ID, sencha.ID, ids[4]} {
		db.Client.ProductImage.Create().SetProductID(p).SetKey(fmt.Sprintf("products/%s/%d.jpg", p, i)).
			SetContentType("image/jpeg").SetWidth(1200).SetHeight(800).SetAlt(`A "cup"`).SetPosition(i).
			SetRenditions([]entschema.Rendition{{Width: 160, Height: 107, Key: fmt.Sprintf("r/%d-160.jpg", i)}, {Width: 480, Height: 320, Key: fmt.Sprintf("r/%d-480.jpg", i)}}).
			ExecX(ctx)
	}
	_ = bare
	return listingFixture{
		resolver: &graph.Resolver{Client: db.Client, Catalog: svc},
		svc:      svc,
		viewers: map[string]*identity.Viewer{
			"customer": {UserID: gid.New("usr"), Role: identity.RoleCustomer},
			"staff":    {UserID: gid.New("usr"), Role: identity.RoleStaff},
			// Partner keys: one may manage the catalog, one may not.
			"partner":        {UserID: gid.New("usr"), Role: identity.RoleAdmin, APIKeyID: gid.New("key"), Scopes: []identity.Permission{identity.ManageCatalog}},
			"partner-orders": {UserID: gid.New("usr"), Role: identity.RoleAdmin, APIKeyID: gid.New("key"), Scopes: []identity.Permission{identity.ManageOrders}},
		},
	}
}

// serve serves the fixture's catalog with its loaders and no response
// cache (both paths must run), on schema.
func (f listingFixture) serve(t *testing.T, schema *graph.Schema) *httptest.Server {
	return serve(t, schema, f.viewers, graph.CatalogLoaders{Catalog: f.svc})
}

// postAs posts one operation to ts as viewer (none when empty) and
// returns the body as sent.
func postAs(t testing.TB, ts *httptest.Server, viewer, query string, vars map[string]any) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, ts.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if viewer != "" {
		req.Header.Set(viewerHeader, viewer)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// listingSelections are the selections the listing writer must write
// exactly as the generic executor does. fast says whether it writes them
// itself (false: it must leave them to the generic executor).
var listingSelections = []struct {
	name, query string
	fast        bool
}{
	{"storefront listing", `query Listing { products(first: 20) { totalCount edges { node {
		id title slug description featuredImage { url }
		variants { id sku title price { amount currency } priceWithTax { amount currency } stockLevel }
		collections { id title } } } } }`, true},
	{"every field", `query($w: Int!) { products(first: 20, sort: TITLE) {
		totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
		edges { cursor node { id status slug title description descriptionHtml seoTitle seoDescription tags
			category { id name slug description position }
			collections { id title slug description }
			variants { id sku title selectedOptions { name value } price { amount currency formatted }
				priceWithTax { amount currency formatted } compareAtPrice { amount currency formatted }
				weightGrams barcode position stockLevel availableForSale }
			images { id url urlAtWidth(width: 300) alt width height contentType position renditions { width height url } }
			featuredImage { url urlAtWidth(width: $w) }
			priceRange { min { amount formatted } max { amount currency } }
			inStock createdAt updatedAt } } } }`, true},
	{"aliases", `{
		a: products(first: 2) { e: edges { c: cursor n: node { i: id t: title v: variants { s: sku p: price { a: amount } } } } p: pageInfo { more: hasNextPage } n: totalCount }
		b: products(first: 3, sort: PRICE) { edges { node { title title t2: title img: featuredImage { u: url } } } } }`, true},
	{"fragments, inline fragments and typenames", `query { products(first: 5) { __typename ...Conn } }
	fragment Conn on ProductConnection { totalCount edges { __typename node { __typename ...P ... on Node { id }
		... on Product { slug variants { __typename ...V } } } } pageInfo { __typename endCursor } }
	fragment P on Product { title featuredImage { __typename url renditions { __typename width } }
		priceRange { __typename min { __typename amount } } collections { __typename title } category { __typename name } }
	fragment V on Variant { sku price { __typename amount } selectedOptions { __typename name } }`, true},
	{"include and skip", `query($yes: Boolean!, $no: Boolean!) { products(first: 6) { totalCount @include(if: $no)
		edges { node { id title @skip(if: $yes) description @include(if: $yes)
			variants @include(if: $yes) { sku stockLevel @skip(if: $no) }
			... @include(if: $no) { slug } ... @skip(if: $no) { inStock } } } } }`, true},
	{"a page after a cursor", `query($after: Cursor) { products(first: 3, after: $after, sort: TITLE) {
		pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { title } } } }`, true},
	{"the last page before a cursor", `query($before: Cursor) { products(last: 2, before: $before, sort: TITLE) {
		pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { title } } totalCount } }`, true},
	{"a filter, no totalCount", `query($f: ProductFilter) { products(first: 10, filter: $f, sort: PRICE, reverse: true) {
		edges { node { title inStock variants { stockLevel availableForSale } } } } }`, true},
	{"staff statuses", `{ products(first: 20, filter: {status: [DRAFT, ARCHIVED, ACTIVE]}, sort: NEWEST) { totalCount
		edges { node { title status variants { sku inventory { onHand reserved tracked allowBackorder } } } } } }`, true},
	{"a variant's product", `{ products(first: 4) { edges { node { variants { sku product { id title variants { sku } } } } } } }`, true},
	{"nothing found", `{ products(first: 5, filter: {search: "qqqqzzzz"}) { totalCount edges { cursor node { id } }
		pageInfo { startCursor endCursor hasNextPage hasPreviousPage } } }`, true},
	{"no products asked for", `{ products(first: 0) { edges { cursor } pageInfo { startCursor } totalCount } }`, true},
	{"only typenames", `{ products { __typename edges { __typename } pageInfo { __typename } } }`, true},
	// Left to the generic executor.
	{"options", `{ products(first: 5) { edges { node { title options { name values } } } } }`, false},
	{"a collection's products", `{ products(first: 3) { edges { node { collections { title products(first: 2) { title } } } } } }`, false},
	{"a category's parent", `{ products(first: 5) { edges { node { category { name parent { name } } } } } }`, false},
	{"a bad argument", `{ products(first: -1) { totalCount } }`, false},
}

// TestListingFastPathMatchesGeneric: for every selection, as every kind
// of viewer (anonymous, customer, staff, partner keys with and without
// the catalog scope), the fast path's response is byte for byte the
// generic executor's, and the fast path writes exactly the selections it
// should.
func TestListingFastPathMatchesGeneric(t *testing.T) {
	f := newListingFixture(t)
	ts := f.serve(t, graph.MustSchema(t, f.resolver))

	// Cursors for the paging selections, from the generic executor.
	graph.SetListingFastPath(t, false)
	var page struct {
		Data struct {
			Products struct {
				PageInfo struct{ EndCursor string }
				Edges    []struct{ Cursor string }
			}
		}
	}
	if err := json.Unmarshal(postAs(t, ts, "", listingSelections[5].query, nil), &page); err != nil || len(page.Data.Products.Edges) != 3 {
		t.Fatalf("first page: %v %+v", err, page)
	}
	vars := map[string]any{"w": 400, "yes": true, "no": false, "after": page.Data.Products.PageInfo.EndCursor,
		"before": page.Data.Products.Edges[2].Cursor, "f": map[string]any{"inStock": true}}

	for _, sel := range listingSelections {
		for _, viewer := range []string{"", "customer", "staff", "partner", "partner-orders"} {
			graph.SetListingFastPath(t, false)
			want := postAs(t, ts, viewer, sel.query, vars)
			graph.SetListingFastPath(t, true)
			before := graph.ListingFastPathWrites()
			got := postAs(t, ts, viewer, sel.query, vars)
			wrote := graph.ListingFastPathWrites() - before
			if !bytes.Equal(got, want) {
				t.Errorf("%s as %q: the fast path wrote\n%.1500s\nthe generic executor\n%.1500s", sel.name, viewer, got, want)
			}
			if (wrote > 0) != sel.fast {
				t.Errorf("%s as %q: the fast path wrote %d listings, want fast=%v: %.300s", sel.name, viewer, wrote, sel.fast, got)
			}
			if sel.fast && bytes.Contains(want, []byte(`"errors"`)) {
				t.Errorf("%s as %q: errors: %.500s", sel.name, viewer, want)
			}
		}
	}
}

// TestListingFastPathCoversTheFixture: the selections above see what
// they are meant to compare: escaped texts, null and zero stock, a price
// with tax, images and renditions, both collections, a draft only staff
// and the catalog-scoped key see, and inventory only they see.
func TestListingFastPathCoversTheFixture(t *testing.T) {
	f := newListingFixture(t)
	ts := f.serve(t, graph.MustSchema(t, f.resolver))
	vars := map[string]any{"w": 400}
	public := string(postAs(t, ts, "", listingSelections[1].query, vars))
	for _, want := range []string{`\"Uji\"`, `\n`, `\t`, `\\`, "ünïcode", `"stockLevel":0`, `"stockLevel":null`,
		`"priceWithTax":{"amount":1375,"currency":"AUD","formatted":"A$13.75"}`, `"compareAtPrice":null`, `"compareAtPrice":{"amount":2500`,
		`"images":[]`, `"featuredImage":null`, `"variants":[]`, `"collections":[]`, `"category":null`, `"renditions":[{"width":160`,
		`"urlAtWidth":"/media/r/`, `"Sélection ☕ \"été\""`, `"availableForSale":false`, `"tags":["blend"]`, `"hasNextPage":false`} {
		if !strings.Contains(public, want) {
			t.Errorf("the public listing lacks %s: %.2000s", want, public)
		}
	}
	staffQuery := listingSelections[8].query
	for viewer, sees := range map[string]bool{"": false, "customer": false, "partner-orders": false, "staff": true, "partner": true} {
		body := string(postAs(t, ts, viewer, staffQuery, nil))
		if strings.Contains(body, `"title":"Draft"`) != sees || strings.Contains(body, `"inventory":{"onHand"`) != sees {
			t.Errorf("as %q (sees drafts and stock: %v): %.600s", viewer, sees, body)
		}
	}
}

// TestListingFastPathAsksViewRuleOncePerProduct: the fast path puts every
// listed product through the view rule of Product as often as the
// generic executor does (once per product and node field); when the rule
// refuses one, the answer (null data and NOT_FOUND) is the generic
// executor's.
func TestListingFastPathAsksViewRuleOncePerProduct(t *testing.T) {
	f := newListingFixture(t)
	var asked atomic.Int64
	var refuse atomic.Value
	refuse.Store("")
	rule := identity.Rule(func(_ context.Context, p *ent.Product) bool {
		asked.Add(1)
		return p.Title != refuse.Load().(string)
	}).Cached()
	ts := f.serve(t, graph.SchemaWithRules(t, f.resolver, rule))
	query := `{ products(first: 20) { edges { node { title variants { sku } } n2: node { id } } } }`

	graph.SetListingFastPath(t, false)
	asked.Store(0)
	want := postAs(t, ts, "", query, nil)
	generic := asked.Load()
	graph.SetListingFastPath(t, true)
	asked.Store(0)
	before := graph.ListingFastPathWrites()
	got := postAs(t, ts, "", query, nil)
	if !bytes.Equal(got, want) || graph.ListingFastPathWrites() == before {
		t.Fatalf("the fast path wrote\n%.300s\nthe generic executor\n%.300s", got, want)
	}
	products := int64(bytes.Count(want, []byte(`"title"`)))
	if products < 10 || generic != 2*products || asked.Load() != generic {
		t.Errorf("the rule was asked %d times on the fast path and %d on the generic one for %d products; want twice per product on both",
			asked.Load(), generic, products)
	}

	refuse.Store("Blend 03")
	graph.SetListingFastPath(t, false)
	want = postAs(t, ts, "", query, nil)
	graph.SetListingFastPath(t, true)
	before = graph.ListingFastPathWrites()
	got = postAs(t, ts, "", query, nil)
	if g, w := sortedErrors(t, got), sortedErrors(t, want); g != w {
		t.Fatalf("with a refused product the fast path wrote\n%.400s\nthe generic executor\n%.400s", g, w)
	}
	if graph.ListingFastPathWrites() != before {
		t.Errorf("the fast path wrote a listing with a refused product")
	}
	if !strings.Contains(string(want), `"data":null`) || !strings.Contains(string(want), "NOT_FOUND") {
		t.Errorf("a refused product in a listing: %.300s; want null data and NOT_FOUND", want)
	}
}

// TestListingFastPathAllocates: the storefront listing costs a fraction
// of the generic executor's allocations (which makes about twenty per
// field).
func TestListingFastPathAllocates(t *testing.T) {
	f := newListingFixture(t)
	ts := f.serve(t, graph.MustSchema(t, f.resolver))
	query := listingSelections[1].query
	vars := map[string]any{"w": 400}
	allocs := func(fast bool) float64 {
		graph.SetListingFastPath(t, fast)
		postAs(t, ts, "", query, vars)
		return testing.AllocsPerRun(20, func() { postAs(t, ts, "", query, vars) })
	}
	generic, fast := allocs(false), allocs(true)
	t.Logf("allocations per listing: generic %.0f, fast path %.0f", generic, fast)
	if fast > generic/2 {
		t.Errorf("the fast path allocates %.0f times per listing, the generic executor %.0f; want at most half", fast, generic)
	}
}
