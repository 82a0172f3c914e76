package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"frontdesk/cache"
	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent/product"
	"frontdesk/gid"
	"frontdesk/graph"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// catalogServer serves the real schema with the catalog and its loaders,
// counting SQL statements. The viewer header picks the viewer as in
// bookingServer.
func catalogServer(t testing.TB) (*httptest.Server, *catalog.Service, *testenv.QueryCounter) {
	t.Helper()
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
	ts, svc := catalogReplica(t, db, store)
	return ts, svc, counter
}

// catalogReplica serves the catalog of db with the shared cache store,
// as one more replica would.
func catalogReplica(t testing.TB, db *database.DB, store cache.Store) (*httptest.Server, *catalog.Service) {
	t.Helper()
	svc := catalog.New(db.Client, db.Dialect, store, nil, catalog.Options{TaxRateBPS: 1000})
	schema := graph.MustSchema(t, &graph.Resolver{Client: db.Client, Catalog: svc})
	ts := serve(t, schema, map[string]*identity.Viewer{
		"admin":    {UserID: gid.ID("usr_01JD6Q7ZK3M4X9V2S8T5R1W0AD"), Role: identity.RoleAdmin},
		"customer": {UserID: gid.ID("usr_01JD6Q7ZK3M4X9V2S8T5R1W0PA"), Role: identity.RoleCustomer},
	}, graph.CatalogLoaders{Catalog: svc, Schema: schema})
	return ts, svc
}

const listingQuery = `query($n: Int!, $f: ProductFilter) {
  products(first: $n, filter: $f, sort: TITLE) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id title slug description inStock
      category { id name }
      featuredImage { url }
      images { id }
      priceRange { min { amount currency formatted } }
      variants { id sku title price { amount currency } priceWithTax { amount formatted } stockLevel availableForSale }
      collections { id title }
    } }
  }
}`

type listing struct {
	Products struct {
		TotalCount int
		PageInfo   struct{ HasNextPage bool }
		Edges      []struct {
			Node struct {
				ID       string
				Title    string
				InStock  bool
				Category *struct{ Name string }
				Variants []struct {
					SKU          string
					Price        struct{ Amount int }
					PriceWithTax struct {
						Amount    int
						Formatted string
					}
					StockLevel *int
				}
				Collections []struct{ Title string }
			}
		}
	}
}

// TestListingQueryCount proves the listing is N+1-free: 100 products with
// every edge cost the same number of statements as 5, and none when the
// response is cached. Edges are kept per product and stock per variant,
// so a new listing of products seen before (another price range) costs
// one statement, its rows, and after a sale the same listing costs one,
// the page's stock.
func TestListingQueryCount(t *testing.T) {
	ts, svc, counter := catalogServer(t)
	ctx := identity.WithViewer(context.Background(), &identity.Viewer{UserID: gid.New("usr"), Role: identity.RoleStaff})
	cat, err := svc.CreateCategory(ctx, nil, catalog.CategoryInput{Name: ptr("Tea")})
	if err != nil {
		t.Fatal(err)
	}
	col, err := svc.CreateCollection(ctx, catalog.CollectionInput{Title: ptr("Featured")})
	if err != nil {
		t.Fatal(err)
	}
	active := product.StatusACTIVE
	var ids []gid.ID
	for i := range 100 {
		p, err := svc.CreateProduct(ctx, catalog.ProductInput{
			Title: ptr(fmt.Sprintf("Tea %03d", i)), CategoryID: &cat.ID, Status: &active,
			Variants: []catalog.VariantInput{
				{SKU: ptr(fmt.Sprintf("T%d-S", i)), Price: ptr(int64(1000 + i)), Currency: ptr("AUD"), OnHand: ptr(i % 3)},
				{SKU: ptr(fmt.Sprintf("T%d-L", i)), Price: ptr(int64(2000 + i)), Currency: ptr("AUD"), OnHand: ptr(5)},
			}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	if _, err := svc.AddToCollection(ctx, col.ID, ids[:50]); err != nil {
		t.Fatal(err)
	}

	counts := map[int]int64{}
	for _, n := range []int{5, 100} {
		counter.Reset()
		var got listing
		res := gql(t, ts, "", listingQuery, map[string]any{"n": n}, &got)
		if len(res.Errors) > 0 {
			t.Fatalf("errors: %+v", res.Errors)
		}
		counts[n] = counter.Reset()
		if len(got.Products.Edges) != n || got.Products.TotalCount != 100 {
			t.Fatalf("n=%d: got %d edges, total %d", n, len(got.Products.Edges), got.Products.TotalCount)
		}
		first := got.Products.Edges[0].Node
		if first.Title != "Tea 000" || first.Category == nil || first.Category.Name != "Tea" ||
			len(first.Variants) != 2 || first.Variants[0].PriceWithTax.Amount != 1100 ||
			first.Variants[0].PriceWithTax.Formatted != "A$11.00" || len(first.Collections) != 1 {
			t.Fatalf("first product = %+v", first)
		}
		if sl := first.Variants[0].StockLevel; sl == nil || *sl != 0 {
			t.Errorf("stock level = %v, want 0", sl)
		}
		// Warm: the same request is served from the cache.
		gql(t, ts, "", listingQuery, map[string]any{"n": n}, nil)
		if warm := counter.Reset(); warm != 0 {
			t.Errorf("n=%d: warm listing ran %d statements, want 0", n, warm)
		}
	}
	// A cold page: the page's ids, the rows of its products, variants,
	// their stock, images, collection memberships. The category tree, the
	// list of collections and the total (one COUNT per filter, shared by
	// every page and page size) are cached after the first request, so the
	// second cold page needs three statements less; neither grows with n.
	if counts[5] != 9 || counts[100] != 6 {
		t.Errorf("statements per cold listing: 5 products %d, 100 products %d; want 9 and 6", counts[5], counts[100])
	}

	// A new filter value over products already seen: only the page's
	// rows. (The first price range also reads the listing's sorted prices
	// once, which every later range counts from.)
	miss := func(max int, want int64, what string) listing {
		t.Helper()
		counter.Reset()
		var got listing
		res := gql(t, ts, "", listingQuery, map[string]any{"n": 100, "f": map[string]any{"priceMax": max}}, &got)
		if len(res.Errors) > 0 {
			t.Fatalf("%s: errors: %+v", what, res.Errors)
		}
		if n := counter.Reset(); n != want {
			t.Errorf("%s ran %d statements, want %d", what, n, want)
		}
		if len(got.Products.Edges) != 100 || got.Products.TotalCount != 100 {
			t.Fatalf("%s: %d edges, total %d", what, len(got.Products.Edges), got.Products.TotalCount)
		}
		return got
	}
	miss(1_000_000, 2, "the first price range")
	miss(1_000_001, 1, "a listing of known products")
	miss(1_000_001, 0, "the same listing again")

	// A sale replaces the stock version only: the same listing reuses its
	// page and its products' edges and reads the page's stock again.
	vs, err := svc.Variants(ctx, ids[0])
	if err != nil || len(vs) != 2 {
		t.Fatalf("variants = %v, %v", vs, err)
	}
	tx, err := svc.Client().Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Reserve(ctx, tx, vs[1].ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got := miss(1_000_001, 1, "the listing after a sale")
	if sl := got.Products.Edges[0].Node.Variants[1].StockLevel; sl == nil || *sl != 4 {
		t.Errorf("stock level after a sale = %v, want 4", sl)
	}
	miss(1_000_002, 1, "a new listing after a sale")

	// An admin write is visible on the next read.
	gql(t, ts, "admin", `mutation($in: ProductRefInput!) { archiveProduct(input: $in) { userErrors { code } } }`,
		map[string]any{"in": map[string]any{"id": ids[0]}}, nil)
	var after listing
	gql(t, ts, "", listingQuery, map[string]any{"n": 1}, &after)
	if after.Products.TotalCount != 99 || after.Products.Edges[0].Node.Title != "Tea 001" {
		t.Errorf("after archive: total %d, first %q", after.Products.TotalCount, after.Products.Edges[0].Node.Title)
	}
	// node(id:) obeys the same visibility as products.
	nodeQ := `query($id: ID!) { node(id: $id) { id ... on Product { status } } }`
	var pub struct{ Node *struct{ Status string } }
	gql(t, ts, "customer", nodeQ, map[string]any{"id": ids[0]}, &pub)
	if pub.Node != nil {
		t.Errorf("customer sees archived product through node: %+v", pub.Node)
	}
	var adm struct{ Node *struct{ Status string } }
	gql(t, ts, "admin", nodeQ, map[string]any{"id": ids[0]}, &adm)
	if adm.Node == nil || adm.Node.Status != "ARCHIVED" {
		t.Errorf("admin node = %+v", adm.Node)
	}
}

// TestCatalogMutations drives the admin flow through GraphQL: userErrors
// for bad input, FORBIDDEN for customers, and stock changes.
func TestCatalogMutations(t *testing.T) {
	ts, _, _ := catalogServer(t)
	create := `mutation($in: CreateProductInput!) { createProduct(input: $in) {
	  product { id slug status descriptionHtml variants { id sku stockLevel inventory { onHand } } }
	  userErrors { field code } } }`
	in := map[string]any{"title": "Green Tea", "description": "Fresh **leaves** <script>alert(1)</script>", "status": "ACTIVE",
		"options":  []any{map[string]any{"name": "Size", "values": []any{"50g", "100g"}}},
		"variants": []any{map[string]any{"sku": "GT-50", "price": map[string]any{"amount": 900, "currency": "aud"}, "onHand": 4, "selectedOptions": []any{map[string]any{"name": "Size", "value": "50g"}}}}}
	var ok struct {
		CreateProduct struct {
			Product struct {
				ID, Slug, Status, DescriptionHTML string
				Variants                          []struct {
					ID         string
					StockLevel *int
					Inventory  *struct{ OnHand int }
				}
			}
			UserErrors []struct{ Code string }
		}
	}
	res := gql(t, ts, "admin", create, map[string]any{"in": in}, &ok)
	if len(res.Errors) > 0 || len(ok.CreateProduct.UserErrors) > 0 {
		t.Fatalf("create: %+v %+v", res.Errors, ok.CreateProduct.UserErrors)
	}
	p := ok.CreateProduct.Product
	if p.Slug != "green-tea" || p.DescriptionHTML != "<p>Fresh <strong>leaves</strong> alert(1)</p>\n" || p.Variants[0].Inventory.OnHand != 4 {
		t.Fatalf("product = %+v", p)
	}
	// Same slug and SKU again, and a negative price: userErrors, nothing written.
	bad := map[string]any{"title": "Green Tea", "variants": []any{
		map[string]any{"sku": "GT-50", "price": map[string]any{"amount": 1, "currency": "AUD"}},
		map[string]any{"sku": "GT-X", "price": map[string]any{"amount": -5, "currency": "AUD"}},
	}}
	var failed struct {
		CreateProduct struct {
			Product    *struct{ ID string }
			UserErrors []struct {
				Field []string
				Code  string
			}
		}
	}
	gql(t, ts, "admin", create, map[string]any{"in": bad}, &failed)
	if failed.CreateProduct.Product != nil || len(failed.CreateProduct.UserErrors) != 3 {
		t.Fatalf("bad create = %+v", failed.CreateProduct)
	}
	res = gql(t, ts, "customer", create, map[string]any{"in": in}, nil)
	if len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != "FORBIDDEN" {
		t.Fatalf("customer create errors = %+v", res.Errors)
	}
	adjust := `mutation($in: AdjustStockInput!) { adjustStock(input: $in) { variant { stockLevel } userErrors { code field } } }`
	var adj struct {
		AdjustStock struct {
			Variant    *struct{ StockLevel *int }
			UserErrors []struct{ Code string }
		}
	}
	gql(t, ts, "admin", adjust, map[string]any{"in": map[string]any{"variantId": p.Variants[0].ID, "delta": -3, "reason": "damaged"}}, &adj)
	if adj.AdjustStock.Variant == nil || *adj.AdjustStock.Variant.StockLevel != 1 {
		t.Fatalf("adjust = %+v", adj.AdjustStock)
	}
	gql(t, ts, "admin", adjust, map[string]any{"in": map[string]any{"variantId": p.Variants[0].ID, "delta": -3, "reason": ""}}, &adj)
	if len(adj.AdjustStock.UserErrors) != 1 || adj.AdjustStock.UserErrors[0].Code != "REQUIRED" {
		t.Fatalf("adjust without reason = %+v", adj.AdjustStock)
	}
	// Public reads never see inventory figures.
	var pub struct {
		Product struct {
			Variants []struct {
				StockLevel *int
				Inventory  *struct{ OnHand int }
			}
		}
	}
	gql(t, ts, "", `{ product(slug: "green-tea") { variants { stockLevel inventory { onHand } } } }`, nil, &pub)
	if v := pub.Product.Variants[0]; v.Inventory != nil || v.StockLevel == nil || *v.StockLevel != 1 {
		t.Fatalf("public variant = %+v", v)
	}
}

func ptr[T any](v T) *T { return &v }

// TestArgumentScalarErrorsAreBadInput: an argument the generated code
// cannot unmarshal (a Time that is not RFC 3339, a cursor that is not
// ours), written in the document or sent as a variable, is BAD_USER_INPUT
// on the argument's path; it was INTERNAL.
func TestArgumentScalarErrorsAreBadInput(t *testing.T) {
	ts, _, _ := catalogServer(t)
	slots := `query($from: Time!) { availableSlots(serviceId: "svc_01JD6Q7ZK3M4X9V2S8T5R1W0PC", from: $from, to: "2027-01-01T00:00:00Z", timeZone: "UTC") { start } }`
	for _, c := range []struct {
		name, query string
		vars        map[string]any
		path        string
	}{
		{"time literal", `{ availableSlots(serviceId: "svc_01JD6Q7ZK3M4X9V2S8T5R1W0PC", from: "2026-12-07", to: "2027-01-01T00:00:00Z", timeZone: "UTC") { start } }`, nil, "availableSlots.from"},
		{"time variable", slots, map[string]any{"from": "next tuesday"}, "availableSlots.from"},
		{"cursor literal", `{ products(first: 2, after: "not-a-cursor") { totalCount } }`, nil, "products.after"},
		{"cursor variable", `query($c: Cursor) { products(first: 2, after: $c) { totalCount } }`, map[string]any{"c": "%%%"}, "products.after"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"query": c.query, "variables": c.vars})
			resp, err := http.Post(ts.URL, "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r struct {
				Errors []struct {
					Message    string
					Path       []any
					Extensions map[string]any
				}
			}
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
				t.Fatal(err)
			}
			if len(r.Errors) != 1 {
				t.Fatalf("errors %+v; want one", r.Errors)
			}
			e := r.Errors[0]
			var path []string
			for _, p := range e.Path {
				path = append(path, fmt.Sprint(p))
			}
			if e.Extensions["code"] != "BAD_USER_INPUT" || strings.Join(path, ".") != c.path || strings.Contains(e.Message, "internal") {
				t.Fatalf("error %+v; want BAD_USER_INPUT on %s with the reason", e, c.path)
			}
		})
	}
}
