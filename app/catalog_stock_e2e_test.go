package app_test

import (
	"fmt"
	"os"
	"testing"

	"frontdesk/config"
)

// The storefront reads that show stock, under two operation names (the
// response cache keys on the document), a product page and the inStock
// filter.
const (
	stockListing = `query Listing { products(first: 20) { totalCount edges { node {
  id slug variants { id sku stockLevel availableForSale } } } } }`
	stockListingAgain = `query StorefrontGrid { products(first: 20) { totalCount edges { node {
  id slug variants { id sku stockLevel availableForSale } } } } }`
	stockInStock = `query InStock { products(first: 20, filter: {inStock: true}) { totalCount edges { node { id inStock } } } }`
	stockProduct = `query ProductPage($slug: String!) { product(slug: $slug) { id inStock variants { id stockLevel availableForSale } } }`
)

// storefrontStock reads the stock of the shop's one variant through every
// cached storefront read on s (each twice, so the second is served from
// the response cache when one is kept) and fails unless all of them agree
// with want.
func storefrontStock(t *testing.T, s *running, name string, want int) {
	t.Helper()
	var slug string
	for _, op := range []string{stockListing, stockListingAgain} {
		for range 2 {
			r := s.query(t, op, nil)
			edges, _ := field(r, "products.edges").([]any)
			if len(r.Errors) > 0 || len(edges) != 1 {
				t.Fatalf("%s: %s: %+v %v", name, opName(op), r.Errors, r.Data)
			}
			node := edges[0].(map[string]any)["node"].(map[string]any)
			slug = node["slug"].(string)
			v := node["variants"].([]any)[0].(map[string]any)
			if v["stockLevel"] != float64(want) || v["availableForSale"] != (want > 0) {
				t.Fatalf("%s: %s shows stockLevel %v availableForSale %v, want %d", name, opName(op), v["stockLevel"], v["availableForSale"], want)
			}
		}
	}
	for range 2 {
		r := s.query(t, stockProduct, map[string]any{"slug": slug})
		v, _ := field(r, "product.variants").([]any)
		if len(r.Errors) > 0 || len(v) != 1 {
			t.Fatalf("%s: product page: %+v %v", name, r.Errors, r.Data)
		}
		got := v[0].(map[string]any)
		if got["stockLevel"] != float64(want) || got["availableForSale"] != (want > 0) || field(r, "product.inStock") != (want > 0) {
			t.Fatalf("%s: product page shows %v (inStock %v), want %d", name, got, field(r, "product.inStock"), want)
		}
		r = s.query(t, stockInStock, nil)
		wantCount := 0
		if want > 0 {
			wantCount = 1
		}
		if len(r.Errors) > 0 || field(r, "products.totalCount") != float64(wantCount) {
			t.Fatalf("%s: inStock filter counts %v, want %d (%+v)", name, field(r, "products.totalCount"), wantCount, r.Errors)
		}
	}
}

// A reservation, a release, a sale and a restock show at once in every
// cached storefront read, on the replica that made the change and on the
// other (with Redis; without it one process is the whole deployment).
func TestCatalogStockIsNeverStale(t *testing.T) {
	a := start(t, nil)
	replicas := []*running{a}
	if os.Getenv("FRONTDESK_TEST_REDIS_URL") != "" {
		b := start(t, func(c *config.Config) {
			c.DatabaseURL, c.DataDir = a.app.Config.DatabaseURL, a.app.Config.DataDir
			c.RedisURL, c.RedisPrefix = a.app.Config.RedisURL, a.app.Config.RedisPrefix
			c.MigrateOnStart = false
		})
		replicas = append(replicas, b)
	}
	other := replicas[len(replicas)-1]
	everywhere := func(step string, want int) {
		t.Helper()
		for i, s := range replicas {
			storefrontStock(t, s, fmt.Sprintf("%s, replica %d", step, i), want)
		}
	}
	f := a.seedShop(t, 2500, 1)
	staff := other.signUp(t, "stock@example.com", "STAFF")
	everywhere("before any sale", 1)

	// The last unit is reserved by an order.
	token := a.readyCart(t, f, 1)
	r := a.ok(t, opPlaceOrder, map[string]any{"input": map[string]any{"cartToken": token, "idempotencyKey": "stock-1"}})
	first := field(r, "placeOrder.order.id").(string)
	everywhere("reserved", 0)

	// Staff cancel the unpaid order on the other replica: released.
	other.ok(t, opCancelOrder, map[string]any{"input": map[string]any{"orderId": first, "reason": "customer phoned"}}, bearer(staff.token)...)
	everywhere("released", 1)

	// Sold: reserved, then paid.
	token = a.readyCart(t, f, 1)
	r = a.ok(t, opPlaceOrder, map[string]any{"input": map[string]any{"cartToken": token, "idempotencyKey": "stock-2"}})
	second := field(r, "placeOrder.order.id").(string)
	a.ok(t, opCompleteDevelopmentPayment, map[string]any{"input": map[string]any{"orderId": second, "orderToken": token, "succeed": true}})
	if on, res := a.onHand(t, f.variant); on != 0 || res != 0 {
		t.Fatalf("after the sale: on hand %d, reserved %d", on, res)
	}
	everywhere("sold", 0)

	// The paid order is cancelled before it ships: restocked.
	other.ok(t, opCancelOrder, map[string]any{"input": map[string]any{"orderId": second, "reason": "out of the area"}}, bearer(staff.token)...)
	everywhere("restocked", 1)
}
