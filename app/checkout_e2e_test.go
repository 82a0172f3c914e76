package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stripe/stripe-go/v76/webhook"

	"frontdesk/config"
	"frontdesk/ent/inventory"
	"frontdesk/ent/product"
	"frontdesk/gid"
	"frontdesk/internal/testenv"
)

// shopFixture is the catalog and rules one checkout test needs, written
// straight to the database (the admin API for rules is tested elsewhere).
type shopFixture struct {
	variant gid.ID
	method  gid.ID
}

func (s *running) seedShop(t *testing.T, price int64, stock int) shopFixture {
	t.Helper()
	ctx := context.Background()
	c := s.app.DB.Client
	n := strings.ToLower(string(gid.New("tst"))[4:])
	p := c.Product.Create().SetStatus(product.StatusACTIVE).SetSlug("tea-" + n).SetTitle("Sencha " + n).
		SetSortTitle("sencha").SetDescription("").SetDescriptionHTML("").SetSearchText("sencha").SetCurrency("AUD").SaveX(ctx)
	v := c.Variant.Create().SetProductID(p.ID).SetSku("SEN-" + n).SetTitle("100 g").SetPrice(price).SetCurrency("AUD").SaveX(ctx)
	c.Inventory.Create().SetVariantID(v.ID).SetOnHand(stock).ExecX(ctx)
	m := c.ShippingMethod.Create().SetName("Standard post").SetKind("FLAT").SetCountry("AU").SetPrice(1000).SetCurrency("AUD").SaveX(ctx)
	if !c.TaxRate.Query().ExistX(ctx) {
		c.TaxRate.Create().SetName("GST").SetCountry("AU").SetRateBp(1000).SetInclusive(true).ExecX(ctx)
	}
	return shopFixture{variant: v.ID, method: m.ID}
}

func (s *running) onHand(t *testing.T, v gid.ID) (onHand, reserved int) {
	t.Helper()
	inv := s.app.DB.Client.Inventory.Query().Where(inventory.VariantID(v)).OnlyX(context.Background())
	return inv.OnHand, inv.Reserved
}

// ok posts an operation and fails on top-level errors or userErrors.
func (s *running) ok(t *testing.T, op string, vars map[string]any, headers ...string) gqlResponse {
	t.Helper()
	r := s.gqlAs(t, op, vars, headers...)
	if len(r.Errors) > 0 {
		t.Fatalf("%s: %+v", opName(op), r.Errors)
	}
	for _, v := range r.Data {
		if m, ok := v.(map[string]any); ok {
			if ue, ok := m["userErrors"].([]any); ok && len(ue) > 0 {
				t.Fatalf("%s: userErrors %v", opName(op), ue)
			}
		}
	}
	return r
}

func opName(op string) string {
	f := strings.Fields(op)
	if len(f) < 2 {
		return op
	}
	return f[1]
}

var home = map[string]any{"name": "Pat Lee", "line1": "1 George St", "city": "Sydney", "region": "nsw", "postalCode": "2000", "country": "au"}

// readyCart fills a cart up to the point of placing the order and
// returns its token (empty when signed in and tokenless is asked).
func (s *running) readyCart(t *testing.T, f shopFixture, qty int, headers ...string) string {
	t.Helper()
	r := s.ok(t, opCreateCart, map[string]any{"input": map[string]any{"currency": "AUD"}}, headers...)
	token := field(r, "createCart.cartToken").(string)
	s.ok(t, opAddCartLine, map[string]any{"input": map[string]any{"cartToken": token, "variantId": f.variant, "quantity": qty}}, headers...)
	r = s.ok(t, opSetCheckoutDetails, map[string]any{"input": map[string]any{"cartToken": token, "email": "pat@example.com", "shippingAddress": home}}, headers...)
	methods := field(r, "setCheckoutDetails.cart.shippingMethods").([]any)
	if len(methods) == 0 || methods[0].(map[string]any)["id"] != string(f.method) {
		t.Fatalf("shipping methods for the address, cheapest first: %v", methods)
	}
	s.ok(t, opSetCheckoutDetails, map[string]any{"input": map[string]any{"cartToken": token, "shippingMethodId": f.method}}, headers...)
	return token
}

// subscribeOrder opens orderStatusChanged for orderID and returns once
// the subscription is live. graphql-transport-ws does not acknowledge a
// subscription; it is live once its resolver has subscribed to the event
// bus, so a change made after this returns cannot be missed.
func subscribeOrder(t *testing.T, s *running, auth map[string]any, orderID, token string) *websocket.Conn {
	t.Helper()
	before := s.app.Events.Stats().Subscribers
	c := openOrderSubscription(t, s, auth, orderID, token)
	testenv.Eventually(t, 10*time.Second, "the order subscription reaches the event bus", func() bool {
		return s.app.Events.Stats().Subscribers > before
	})
	return c
}

// openOrderSubscription sends the subscription without waiting for it to
// be live: for subscriptions the server refuses.
func openOrderSubscription(t *testing.T, s *running, auth map[string]any, orderID, token string) *websocket.Conn {
	t.Helper()
	c := dialWS(t, s, "graphql-transport-ws", nil)
	must(t, c.WriteJSON(map[string]any{"type": "connection_init", "payload": auth}))
	readUntil(t, c, "connection_ack")
	vars := map[string]any{"orderId": orderID}
	if token != "" {
		vars["orderToken"] = token
	}
	must(t, c.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": opOrderStatusChanged, "variables": vars}}))
	return c
}

// nextChange reads the next orderStatusChanged payload.
func nextChange(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	for range 20 {
		m := readMsg(t, c)
		switch m["type"] {
		case "next":
			p := m["payload"].(map[string]any)
			if errs, ok := p["errors"]; ok {
				t.Fatalf("subscription error: %v", errs)
			}
			return p["data"].(map[string]any)["orderStatusChanged"].(map[string]any)
		case "error", "complete":
			t.Fatalf("subscription ended: %v", m)
		}
	}
	t.Fatal("no orderStatusChanged message")
	return nil
}

// The whole checkout through HTTP with the development gateway, as in the
// playground: cart, details, order (idempotent), live status, payment.
func TestCheckoutWithDevelopmentGateway(t *testing.T) {
	s := start(t, nil)
	f := s.seedShop(t, 2500, 5)

	r := s.ok(t, opCreateCart, map[string]any{"input": map[string]any{"currency": "AUD"}})
	token := field(r, "createCart.cartToken").(string)
	r = s.ok(t, opAddCartLine, map[string]any{"input": map[string]any{"cartToken": token, "variantId": f.variant, "quantity": 2}})
	if got := field(r, "addCartLine.cart.totals.subtotal.amount"); got != float64(5000) {
		t.Fatalf("subtotal %v", got)
	}
	// More than the stock is refused with a user error, and changes nothing.
	r = s.gqlAs(t, opAddCartLine, map[string]any{"input": map[string]any{"cartToken": token, "variantId": f.variant, "quantity": 4}})
	if ue := field(r, "addCartLine.userErrors").([]any); len(ue) != 1 || ue[0].(map[string]any)["code"] != "OUT_OF_STOCK" {
		t.Fatalf("over stock: %v %+v", r.Data, r.Errors)
	}
	// Invalid address fields are reported one by one.
	r = s.gqlAs(t, opSetCheckoutDetails, map[string]any{"input": map[string]any{"cartToken": token, "email": "not-an-email",
		"shippingAddress": map[string]any{"name": "", "line1": "1 George St", "city": "Sydney", "postalCode": "2000", "country": "Australia"}}})
	if ue := field(r, "setCheckoutDetails.userErrors").([]any); len(ue) != 3 {
		t.Fatalf("want email, name and country errors: %v", ue)
	}
	// An order cannot be placed before the details are there.
	r = s.gqlAs(t, opPlaceOrder, map[string]any{"input": map[string]any{"cartToken": token, "idempotencyKey": "early"}})
	if ue := field(r, "placeOrder.userErrors").([]any); len(ue) < 3 {
		t.Fatalf("want email, address and method required: %v %+v", r.Data, r.Errors)
	}
	r = s.ok(t, opSetCheckoutDetails, map[string]any{"input": map[string]any{"cartToken": token, "email": "pat@example.com", "shippingAddress": home}})
	if got := field(r, "setCheckoutDetails.cart.shippingAddress.region"); got != "NSW" {
		t.Fatalf("address not normalised: %v", got)
	}
	r = s.ok(t, opSetCheckoutDetails, map[string]any{"input": map[string]any{"cartToken": token, "shippingMethodId": f.method}})
	tot := field(r, "setCheckoutDetails.cart.totals").(map[string]any)
	// 2 × 25.00 + 10.00 shipping, GST included (1/11 of 60.00).
	if tot["total"].(map[string]any)["amount"] != float64(6000) || tot["tax"].(map[string]any)["amount"] != float64(545) || tot["taxInclusive"] != true {
		t.Fatalf("totals %v", tot)
	}
	// An unknown discount code is refused.
	r = s.gqlAs(t, opApplyDiscountCode, map[string]any{"input": map[string]any{"cartToken": token, "code": "nope"}})
	if ue := field(r, "applyDiscountCode.userErrors").([]any); len(ue) != 1 || ue[0].(map[string]any)["code"] != "NOT_FOUND" {
		t.Fatalf("unknown code: %v %+v", r.Data, r.Errors)
	}

	place := map[string]any{"input": map[string]any{"cartToken": token, "idempotencyKey": "5b0c1f7e-checkout-1"}}
	r = s.ok(t, opPlaceOrder, place)
	orderID := field(r, "placeOrder.order.id").(string)
	secret := field(r, "placeOrder.payment.clientSecret").(string)
	if field(r, "placeOrder.order.state") != "PENDING_PAYMENT" || field(r, "placeOrder.payment.gateway") != "development" ||
		secret == "" || field(r, "placeOrder.payment.amount.amount") != float64(6000) {
		t.Fatalf("placeOrder: %v", r.Data)
	}
	if on, res := s.onHand(t, f.variant); on != 5 || res != 2 {
		t.Fatalf("after placing: on hand %d reserved %d", on, res)
	}
	// The same key again: the same order and the same PaymentIntent.
	r = s.ok(t, opPlaceOrder, place)
	if field(r, "placeOrder.order.id") != orderID || field(r, "placeOrder.payment.clientSecret") != secret {
		t.Fatalf("retry made another order or intent: %v", r.Data)
	}
	// The cart is closed.
	r = s.gqlAs(t, opAddCartLine, map[string]any{"input": map[string]any{"cartToken": token, "variantId": f.variant, "quantity": 1}})
	if ue := field(r, "addCartLine.userErrors").([]any); len(ue) != 1 || ue[0].(map[string]any)["code"] != "CONFLICT" {
		t.Fatalf("ordered cart still editable: %v %+v", r.Data, r.Errors)
	}

	live := subscribeOrder(t, s, map[string]any{}, orderID, token)
	s.ok(t, opCompleteDevelopmentPayment, map[string]any{"input": map[string]any{"orderId": orderID, "orderToken": token, "succeed": true}})
	ch := nextChange(t, live)
	if ch["state"] != "PAID" || ch["fromState"] != "PENDING_PAYMENT" || ch["order"].(map[string]any)["state"] != "PAID" {
		t.Fatalf("live change: %v", ch)
	}

	r = s.ok(t, opOrder, map[string]any{"id": orderID, "orderToken": token})
	o := field(r, "order").(map[string]any)
	if o["state"] != "PAID" || o["paidAt"] == nil || len(o["history"].([]any)) != 2 || len(o["lines"].([]any)) != 1 {
		t.Fatalf("order: %v", o)
	}
	line := o["lines"].([]any)[0].(map[string]any)
	if line["quantity"] != float64(2) || line["unitPrice"].(map[string]any)["amount"] != float64(2500) {
		t.Fatalf("line snapshot: %v", line)
	}
	if on, res := s.onHand(t, f.variant); on != 3 || res != 0 {
		t.Fatalf("after payment: on hand %d reserved %d", on, res)
	}
	// Without the token a guest order is not found.
	r = s.gqlAs(t, opOrder, map[string]any{"id": orderID})
	wantCode(t, r, "NOT_FOUND")
}

// Stripe on stripe-mock: the PaymentIntent comes from the Stripe API, and
// a locally signed payment_intent.succeeded POSTed to /webhooks/stripe
// pays the order and reaches the live subscription. Forged and stale
// signatures are refused with 400.
func TestCheckoutWithStripe(t *testing.T) {
	const whsec = "whsec_checkout_e2e"
	s := start(t, func(c *config.Config) {
		c.StripeSecretKey = "sk_test_checkout"
		c.StripeAPIURL = testenv.StripeMock(t)
		c.StripeWebhookSecret = whsec
		c.StripeWebhookTolerance = 5 * time.Minute
	})
	f := s.seedShop(t, 2500, 5)
	token := s.readyCart(t, f, 1)
	r := s.ok(t, opPlaceOrder, map[string]any{"input": map[string]any{"cartToken": token, "idempotencyKey": "stripe-1"}})
	orderID := field(r, "placeOrder.order.id").(string)
	if field(r, "placeOrder.payment.gateway") != "stripe" || !strings.Contains(field(r, "placeOrder.payment.clientSecret").(string), "_secret_") {
		t.Fatalf("placeOrder: %v", r.Data)
	}
	intentID := *s.app.DB.Client.Order.GetX(context.Background(), gid.ID(orderID)).PaymentIntentID
	live := subscribeOrder(t, s, map[string]any{}, orderID, token)

	payload, _ := json.Marshal(map[string]any{
		"id": "evt_checkout_1", "object": "event", "type": "payment_intent.succeeded", "api_version": "2023-10-16",
		"created": time.Now().Unix(),
		"data": map[string]any{"object": map[string]any{
			"id": intentID, "object": "payment_intent", "amount": 3500, "currency": "aud", "status": "succeeded",
			"metadata": map[string]string{"order_id": orderID},
		}},
	})
	post := func(secret string, at time.Time) int {
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at})
		req, _ := http.NewRequest(http.MethodPost, s.base+"/webhooks/stripe", bytes.NewReader(payload))
		req.Header.Set("Stripe-Signature", signed.Header)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("whsec_forged", time.Now()); code != http.StatusBadRequest {
		t.Fatalf("forged signature: %d", code)
	}
	if code := post(whsec, time.Now().Add(-time.Hour)); code != http.StatusBadRequest {
		t.Fatalf("stale signature: %d", code)
	}
	if !strings.Contains(s.logs.String(), "stripe webhook rejected") {
		t.Fatal("rejected webhooks were not logged")
	}
	if st := s.app.DB.Client.Order.GetX(context.Background(), gid.ID(orderID)).State; st != "PENDING_PAYMENT" {
		t.Fatalf("a rejected webhook changed the order: %s", st)
	}
	if code := post(whsec, time.Now()); code != http.StatusOK {
		t.Fatalf("signed webhook: %d", code)
	}
	ch := nextChange(t, live)
	if ch["state"] != "PAID" || ch["order"].(map[string]any)["state"] != "PAID" {
		t.Fatalf("live change: %v", ch)
	}
	// Stripe redelivers: nothing happens twice.
	if code := post(whsec, time.Now()); code != http.StatusOK {
		t.Fatalf("redelivery: %d", code)
	}
	r = s.ok(t, opOrder, map[string]any{"id": orderID, "orderToken": token})
	if field(r, "order.state") != "PAID" || len(field(r, "order.history").([]any)) != 2 {
		t.Fatalf("order after webhooks: %v", r.Data)
	}
	if on, res := s.onHand(t, f.variant); on != 4 || res != 0 {
		t.Fatalf("stock after payment: on hand %d reserved %d", on, res)
	}
	// The development gateway's shortcut is refused with Stripe.
	r = s.gqlAs(t, opCompleteDevelopmentPayment, map[string]any{"input": map[string]any{"orderId": orderID, "orderToken": token}})
	wantCode(t, r, "FORBIDDEN")
}

// Who may see and change what: another customer's order is NOT_FOUND,
// anonymous callers are UNAUTHENTICATED where an account is needed, and
// customers are FORBIDDEN from staff operations.
func TestCheckoutAccess(t *testing.T) {
	s := start(t, nil)
	f := s.seedShop(t, 1200, 10)
	ann := s.signUp(t, "ann@example.com", "")
	bob := s.signUp(t, "bob@example.com", "")
	staff := s.signUp(t, "staff@example.com", "STAFF")

	// Ann shops as a guest, then signs in: the guest cart merges into her
	// account's cart, which she then uses without a token.
	guest := s.readyCart(t, f, 1)
	r := s.ok(t, opCreateCart, map[string]any{"input": map[string]any{"currency": "AUD"}}, bearer(ann.token)...)
	s.ok(t, opAddCartLine, map[string]any{"input": map[string]any{"variantId": f.variant, "quantity": 2}}, bearer(ann.token)...)
	r = s.ok(t, opMergeCart, map[string]any{"input": map[string]any{"cartToken": guest}}, bearer(ann.token)...)
	if q := field(r, "mergeCart.cart.quantity"); q != float64(3) {
		t.Fatalf("merged cart quantity %v: %v", q, r.Data)
	}
	r = s.ok(t, opCart, nil, bearer(ann.token)...)
	if q := field(r, "cart.quantity"); q != float64(3) {
		t.Fatalf("signed-in cart quantity %v", q)
	}
	s.ok(t, opSetCheckoutDetails, map[string]any{"input": map[string]any{"email": ann.email, "shippingAddress": home, "shippingMethodId": f.method}}, bearer(ann.token)...)
	r = s.ok(t, opPlaceOrder, map[string]any{"input": map[string]any{"idempotencyKey": "ann-1"}}, bearer(ann.token)...)
	orderID := field(r, "placeOrder.order.id").(string)
	number := field(r, "placeOrder.order.number").(string)
	// A retry without a token finds the same order although the cart is closed.
	r = s.ok(t, opPlaceOrder, map[string]any{"input": map[string]any{"idempotencyKey": "ann-1"}}, bearer(ann.token)...)
	if field(r, "placeOrder.order.id") != orderID {
		t.Fatalf("tokenless retry: %v", r.Data)
	}

	// Ann sees it, in her list too.
	s.ok(t, opOrder, map[string]any{"id": orderID}, bearer(ann.token)...)
	r = s.ok(t, opMyOrders, map[string]any{"first": 10}, bearer(ann.token)...)
	if field(r, "myOrders.totalCount") != float64(1) {
		t.Fatalf("myOrders: %v", r.Data)
	}
	// Bob does not, however he asks.
	wantCode(t, s.gqlAs(t, opOrder, map[string]any{"id": orderID}, bearer(bob.token)...), "NOT_FOUND")
	r = s.gqlAs(t, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": orderID}, bearer(bob.token)...)
	if field(r, "node") != nil {
		t.Fatalf("node(id:) showed another customer's order: %v", r.Data)
	}
	if r = s.ok(t, opMyOrders, nil, bearer(bob.token)...); field(r, "myOrders.totalCount") != float64(0) {
		t.Fatalf("bob's orders: %v", r.Data)
	}
	r = s.gqlAs(t, opCompleteDevelopmentPayment, map[string]any{"input": map[string]any{"orderId": orderID}}, bearer(bob.token)...)
	wantCode(t, r, "NOT_FOUND")
	live := openOrderSubscription(t, s, map[string]any{"authToken": bob.token}, orderID, "")
	if m := subscriptionError(t, live); !strings.Contains(m, "NOT_FOUND") {
		t.Fatalf("bob's subscription: %s", m)
	}
	// Anonymous callers.
	wantCode(t, s.gqlAs(t, opOrder, map[string]any{"id": orderID}), "NOT_FOUND")
	wantCode(t, s.gqlAs(t, opMyOrders, nil), "UNAUTHENTICATED")
	wantCode(t, s.gqlAs(t, opCart, nil), "UNAUTHENTICATED")
	wantCode(t, s.gqlAs(t, opOrders, nil), "UNAUTHENTICATED")
	// Customers on staff operations.
	wantCode(t, s.gqlAs(t, opOrders, nil, bearer(ann.token)...), "FORBIDDEN")
	for _, op := range []struct {
		q  string
		in map[string]any
	}{
		{opFulfilOrder, map[string]any{"orderId": orderID, "carrier": "Australia Post"}},
		{opCancelOrder, map[string]any{"orderId": orderID, "reason": "changed my mind"}},
		{opRefundOrder, map[string]any{"orderId": orderID, "reason": "please"}},
	} {
		wantCode(t, s.gqlAs(t, op.q, map[string]any{"input": op.in}, bearer(ann.token)...), "FORBIDDEN")
	}

	// Staff find it by number, by state and by customer, and run it to
	// the end: fulfil (only once paid), then a partial refund.
	for _, filter := range []map[string]any{
		{"search": strings.ToLower(number)},
		{"states": []string{"PENDING_PAYMENT"}, "customerId": string(ann.id)},
		{"minTotal": 1, "placedFrom": time.Now().Add(-time.Hour).Format(time.RFC3339)},
	} {
		r = s.ok(t, opOrders, map[string]any{"filter": filter}, bearer(staff.token)...)
		if field(r, "orders.totalCount") != float64(1) {
			t.Fatalf("orders(%v): %v", filter, r.Data)
		}
	}
	r = s.ok(t, opOrders, map[string]any{"filter": map[string]any{"states": []string{"PAID"}}}, bearer(staff.token)...)
	if field(r, "orders.totalCount") != float64(0) {
		t.Fatalf("state filter: %v", r.Data)
	}
	r = s.gqlAs(t, opFulfilOrder, map[string]any{"input": map[string]any{"orderId": orderID, "carrier": "Australia Post"}}, bearer(staff.token)...)
	if ue := field(r, "fulfilOrder.userErrors").([]any); len(ue) != 1 || ue[0].(map[string]any)["code"] != "CONFLICT" {
		t.Fatalf("fulfilling an unpaid order: %v %+v", r.Data, r.Errors)
	}
	staffLive := subscribeOrder(t, s, map[string]any{"authToken": staff.token}, orderID, "")
	s.ok(t, opCompleteDevelopmentPayment, map[string]any{"input": map[string]any{"orderId": orderID}}, bearer(ann.token)...)
	if ch := nextChange(t, staffLive); ch["state"] != "PAID" {
		t.Fatalf("staff live change: %v", ch)
	}
	r = s.ok(t, opFulfilOrder, map[string]any{"input": map[string]any{"orderId": orderID, "carrier": "Australia Post",
		"trackingNumber": "AP123", "trackingUrl": "https://auspost.example/AP123"}}, bearer(staff.token)...)
	if field(r, "fulfilOrder.order.state") != "FULFILLED" || field(r, "fulfilOrder.order.trackingNumber") != "AP123" {
		t.Fatalf("fulfil: %v", r.Data)
	}
	if ch := nextChange(t, staffLive); ch["state"] != "FULFILLED" {
		t.Fatalf("staff live change: %v", ch)
	}
	r = s.gqlAs(t, opRefundOrder, map[string]any{"input": map[string]any{"orderId": orderID, "amount": 0, "reason": "damaged"}}, bearer(staff.token)...)
	if ue := field(r, "refundOrder.userErrors").([]any); len(ue) != 1 {
		t.Fatalf("zero refund: %v %+v", r.Data, r.Errors)
	}
	// A refund retried with its idempotency key (the first answer lost)
	// refunds once; the key reused for another amount is refused.
	refund := map[string]any{"orderId": orderID, "amount": 500, "reason": "one box damaged", "idempotencyKey": "refund-1"}
	for range 2 {
		s.ok(t, opRefundOrder, map[string]any{"input": refund}, bearer(staff.token)...)
	}
	refund["amount"] = 600
	r = s.gqlAs(t, opRefundOrder, map[string]any{"input": refund}, bearer(staff.token)...)
	if ue := field(r, "refundOrder.userErrors").([]any); len(ue) != 1 || ue[0].(map[string]any)["code"] != "CONFLICT" ||
		fmt.Sprint(ue[0].(map[string]any)["field"]) != "[idempotencyKey]" {
		t.Fatalf("idempotency key reused for another refund: %v %+v", r.Data, r.Errors)
	}
	if got := s.app.DB.Client.Order.GetX(context.Background(), gid.ID(orderID)).RefundRequested; got != 500 {
		t.Fatalf("refund requested %d after a retried refund, want 500", got)
	}
	// A shipped order is refunded, not cancelled.
	r = s.gqlAs(t, opCancelOrder, map[string]any{"input": map[string]any{"orderId": orderID, "reason": "too late"}}, bearer(staff.token)...)
	if ue := field(r, "cancelOrder.userErrors").([]any); len(ue) != 1 || ue[0].(map[string]any)["code"] != "CONFLICT" {
		t.Fatalf("cancelling a shipped order: %v %+v", r.Data, r.Errors)
	}
	// Staff cancel an unpaid order: its stock is released.
	other := s.readyCart(t, f, 2)
	r = s.ok(t, opPlaceOrder, map[string]any{"input": map[string]any{"cartToken": other, "idempotencyKey": "guest-2"}})
	guestOrder := field(r, "placeOrder.order.id").(string)
	_, reserved := s.onHand(t, f.variant)
	r = s.ok(t, opCancelOrder, map[string]any{"input": map[string]any{"orderId": guestOrder, "reason": "customer phoned"}}, bearer(staff.token)...)
	if field(r, "cancelOrder.order.state") != "CANCELLED" {
		t.Fatalf("cancel: %v", r.Data)
	}
	if _, after := s.onHand(t, f.variant); after != reserved-2 {
		t.Fatalf("reserved %d before cancelling, %d after", reserved, after)
	}
	r = s.ok(t, opOrder, map[string]any{"id": guestOrder, "orderToken": other})
	h := field(r, "order.history").([]any)
	if last := h[len(h)-1].(map[string]any); last["toState"] != "CANCELLED" || last["actor"] != string(staff.id) || last["reason"] != "customer phoned" {
		t.Fatalf("history: %v", h)
	}
}

// subscriptionError reads until the server refuses a subscription and
// returns the refusal as JSON.
func subscriptionError(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	for range 20 {
		m := readMsg(t, c)
		switch m["type"] {
		case "error":
			return toJSON(t, m)
		case "next":
			if p, _ := m["payload"].(map[string]any); p != nil && p["errors"] != nil {
				return toJSON(t, m)
			}
			t.Fatalf("subscription was accepted: %v", m)
		}
	}
	t.Fatal("no refusal")
	return ""
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docs/checkout.md shows the operations the tests run, character for
// character.
func TestCheckoutDocsShowTheTestedOperations(t *testing.T) {
	doc, err := os.ReadFile("../docs/checkout.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, op := range checkoutOps {
		for _, part := range strings.SplitAfter(op, "}\n") {
			if part = strings.TrimSpace(part); part != "" && !strings.Contains(string(doc), part) {
				t.Errorf("docs/checkout.md does not show %s as tested:\n%s", name, part)
			}
		}
	}
}

// Staff set up shipping, tax and a discount code through the API; a
// customer's checkout is priced with them, and the code's overall limit
// holds.
func TestCheckoutPricingRulesAdmin(t *testing.T) {
	s := start(t, nil)
	f := s.seedShop(t, 3000, 10) // also a flat AU method and AU GST, written directly
	staff := s.signUp(t, "staff@example.com", "STAFF")
	ann := s.signUp(t, "ann@example.com", "")
	as := bearer(staff.token)

	// Customers may not touch the rules.
	r := s.gqlAs(t, opCreateTaxRate, map[string]any{"input": map[string]any{"name": "GST", "country": "NZ", "rateBp": 1500}}, bearer(ann.token)...)
	wantCode(t, r, "FORBIDDEN")
	wantCode(t, s.gqlAs(t, opDiscountCodes, nil, bearer(ann.token)...), "FORBIDDEN")
	wantCode(t, s.gqlAs(t, opDiscountCodes, nil), "UNAUTHENTICATED")

	// Invalid input: every field at once, nothing written.
	r = s.gqlAs(t, opCreateShippingMethod, map[string]any{"input": map[string]any{
		"name": "", "kind": "FREE_OVER", "country": "Australia", "currency": "AUD", "price": -1}}, as...)
	if ue := field(r, "createShippingMethod.userErrors").([]any); len(ue) < 4 {
		t.Fatalf("want name, country, price and freeOver errors: %v %+v", ue, r.Errors)
	}

	// Express to NSW, free over A$100; NSW tax added on top (a region's rate beats the country's).
	r = s.ok(t, opCreateShippingMethod, map[string]any{"input": map[string]any{
		"name": "Express NSW", "kind": "FREE_OVER", "country": "au", "region": "nsw", "price": 1500, "freeOver": 10000, "currency": "AUD"}}, as...)
	express := field(r, "createShippingMethod.shippingMethod.id").(string)
	if field(r, "createShippingMethod.shippingMethod.freeOver.amount") != float64(10000) {
		t.Fatalf("shipping method: %v", r.Data)
	}
	s.ok(t, opCreateTaxRate, map[string]any{"input": map[string]any{"name": "NSW test tax", "country": "AU", "region": "NSW", "rateBp": 500}}, as...)
	r = s.gqlAs(t, opCreateTaxRate, map[string]any{"input": map[string]any{"name": "Again", "country": "AU", "region": "NSW", "rateBp": 500}}, as...)
	if ue := field(r, "createTaxRate.userErrors").([]any); len(ue) != 1 || ue[0].(map[string]any)["code"] != "TAKEN" {
		t.Fatalf("duplicate tax rate: %v %+v", r.Data, r.Errors)
	}
	s.ok(t, opCreateDiscountCode, map[string]any{"input": map[string]any{
		"code": "launch10", "kind": "PERCENT", "value": 1000, "usageLimit": 1}}, as...)

	token := s.readyCart(t, f, 2) // 60.00 with the flat method
	s.ok(t, opSetCheckoutDetails, map[string]any{"input": map[string]any{"cartToken": token, "shippingMethodId": express}})
	r = s.ok(t, opApplyDiscountCode, map[string]any{"input": map[string]any{"cartToken": token, "code": "Launch10"}})
	tot := field(r, "applyDiscountCode.cart.totals").(map[string]any)
	amt := func(k string) any { return tot[k].(map[string]any)["amount"] }
	// 60.00 − 6.00 = 54.00 < 100.00, so 15.00 shipping; 5% of 69.00 on top.
	if amt("subtotal") != float64(6000) || amt("discount") != float64(600) || amt("shipping") != float64(1500) ||
		amt("tax") != float64(345) || amt("total") != float64(7245) || tot["taxInclusive"] != false {
		t.Fatalf("totals: %v", tot)
	}
	r = s.ok(t, opPlaceOrder, map[string]any{"input": map[string]any{"cartToken": token, "idempotencyKey": "rules-1"}})
	if field(r, "placeOrder.payment.amount.amount") != float64(7245) {
		t.Fatalf("charged: %v", r.Data)
	}
	// The code is used up: the next cart is refused.
	other := s.readyCart(t, f, 1)
	r = s.gqlAs(t, opApplyDiscountCode, map[string]any{"input": map[string]any{"cartToken": other, "code": "LAUNCH10"}})
	if ue := field(r, "applyDiscountCode.userErrors").([]any); len(ue) != 1 || ue[0].(map[string]any)["code"] != "NOT_ELIGIBLE" {
		t.Fatalf("used-up code: %v %+v", r.Data, r.Errors)
	}
	r = s.ok(t, opDiscountCodes, map[string]any{"filter": map[string]any{"search": "laun"}}, as...)
	node := field(r, "discountCodes.edges").([]any)[0].(map[string]any)["node"].(map[string]any)
	if node["usedCount"] != float64(1) || node["code"] != "LAUNCH10" {
		t.Fatalf("discount codes: %v", r.Data)
	}
}

// Two replicas on one database and one Redis: a customer subscribed on one
// sees the payment that the other settles (the event bus carries it).
func TestCheckoutLiveStatusAcrossReplicas(t *testing.T) {
	if os.Getenv("FRONTDESK_TEST_REDIS_URL") == "" {
		t.Skip("needs Redis (FRONTDESK_TEST_REDIS_URL): the in-process bus does not cross processes")
	}
	a := start(t, nil)
	b := start(t, func(c *config.Config) {
		c.DatabaseURL, c.DataDir = a.app.Config.DatabaseURL, a.app.Config.DataDir
		c.RedisURL, c.RedisPrefix = a.app.Config.RedisURL, a.app.Config.RedisPrefix
		c.MigrateOnStart = false
	})
	f := a.seedShop(t, 2000, 3)
	token := a.readyCart(t, f, 1)
	// The development gateway keeps intents in the process that made
	// them, so the order is placed and paid on a, and watched on b.
	r := a.ok(t, opPlaceOrder, map[string]any{"input": map[string]any{"cartToken": token, "idempotencyKey": "replicas-1"}})
	orderID := field(r, "placeOrder.order.id").(string)
	live := subscribeOrder(t, b, map[string]any{}, orderID, token)
	a.ok(t, opCompleteDevelopmentPayment, map[string]any{"input": map[string]any{"orderId": orderID, "orderToken": token}})
	if ch := nextChange(t, live); ch["state"] != "PAID" || ch["order"].(map[string]any)["state"] != "PAID" {
		t.Fatalf("change seen on the other replica: %v", ch)
	}
}
