package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"frontdesk/app"
	"frontdesk/config"
)

// TestDemoWorksEndToEnd seeds the demo and uses it through the server as
// the playground would: every demo account signs in with its printed
// password and has its role; the shop sells to an Australian address with
// GST, shipping and the discount code, and the order is paid with the
// development gateway; the Initial consultation has slots with both
// practitioners, an intake form, and a booking of it is paid and
// confirmed. A second seed changes nothing.
func TestDemoWorksEndToEnd(t *testing.T) {
	s := start(t, nil)
	ctx := context.Background()
	rep, err := s.app.SeedDemo(ctx, app.SeedOptions{Products: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Parts {
		if !p.Created {
			t.Errorf("first seed: %s not created", p.Name)
		}
	}

	for _, d := range app.DemoAccounts {
		r := s.ok(t, `mutation($e:String!,$p:String!){ signIn(input:{email:$e,password:$p}) { user { role } userErrors { message } } }`,
			map[string]any{"e": d.Email, "p": d.Password})
		if field(r, "signIn.user.role") != string(d.Role) {
			t.Errorf("%s: %v", d.Email, r.Data)
		}
	}

	// The shop.
	r := s.ok(t, `{ products(first: 1) { edges { node { title images { url } variants { id } } } } }`, nil)
	node := field(r, "products.edges").([]any)[0].(map[string]any)["node"].(map[string]any)
	if len(node["images"].([]any)) == 0 {
		t.Fatalf("demo product without pictures: %v", node)
	}
	variant := node["variants"].([]any)[0].(map[string]any)["id"]
	r = s.ok(t, opCreateCart, map[string]any{"input": map[string]any{"currency": "AUD"}})
	cart := field(r, "createCart.cartToken").(string)
	s.ok(t, opAddCartLine, map[string]any{"input": map[string]any{"cartToken": cart, "variantId": variant, "quantity": 1}})
	r = s.ok(t, opSetCheckoutDetails, map[string]any{"input": map[string]any{"cartToken": cart, "email": "pat@example.com", "shippingAddress": home}})
	methods := field(r, "setCheckoutDetails.cart.shippingMethods").([]any)
	if len(methods) < 3 {
		t.Fatalf("shipping methods for an Australian address: %v", methods)
	}
	s.ok(t, opSetCheckoutDetails, map[string]any{"input": map[string]any{"cartToken": cart, "shippingMethodId": methods[0].(map[string]any)["id"]}})
	r = s.ok(t, opApplyDiscountCode, map[string]any{"input": map[string]any{"cartToken": cart, "code": app.DemoDiscount}})
	if field(r, "applyDiscountCode.cart.totals.discount.amount") == float64(0) || field(r, "applyDiscountCode.cart.totals.tax.amount") == float64(0) ||
		field(r, "applyDiscountCode.cart.totals.taxInclusive") != true {
		t.Fatalf("totals with the demo discount and GST: %v", field(r, "applyDiscountCode.cart.totals"))
	}
	r = s.ok(t, opPlaceOrder, map[string]any{"input": map[string]any{"cartToken": cart, "idempotencyKey": "demo-1"}})
	r = s.ok(t, opSettleDevelopmentPayment, map[string]any{"in": map[string]any{"clientSecret": field(r, "placeOrder.payment.clientSecret")}})
	if field(r, "settleDevelopmentPayment.orderId") == nil {
		t.Fatalf("pay the demo order: %v", r.Data)
	}

	// The appointment book.
	r = s.ok(t, `{ serviceBySlug(slug: "initial") { id practitioners { id } intakeForm { key fields { key } } } followUp: serviceBySlug(slug: "follow-up") { id } }`, nil)
	if field(r, "followUp.id") == nil || len(field(r, "serviceBySlug.practitioners").([]any)) != 2 || field(r, "serviceBySlug.intakeForm.key") != "new-patient" {
		t.Fatalf("demo services: %v", r.Data)
	}
	svc := field(r, "serviceBySlug.id")
	from := time.Now().Add(48 * time.Hour)
	r = s.ok(t, `query($s:ID!,$f:Time!,$t:Time!){ availableSlots(serviceId:$s, from:$f, to:$t, timeZone:"Australia/Sydney") { start practitioner { id } } }`,
		map[string]any{"s": svc, "f": from.Format(time.RFC3339), "t": from.Add(7 * 24 * time.Hour).Format(time.RFC3339)})
	slots := field(r, "availableSlots").([]any)
	if len(slots) == 0 {
		t.Fatal("the Initial consultation has no slots in a week")
	}
	slot := slots[0].(map[string]any)
	r = s.ok(t, opHoldSlot, map[string]any{"in": map[string]any{"serviceId": svc, "practitionerId": slot["practitioner"].(map[string]any)["id"], "start": slot["start"]}})
	id := field(r, "holdSlot.appointment.id").(string)
	r = s.ok(t, opBook, map[string]any{"in": map[string]any{"appointmentId": id, "holdToken": field(r, "holdSlot.holdToken"),
		"guest": map[string]any{"name": "Jo Citizen", "email": "jo@example.com", "phone": "+61412345678"}}})
	manage := field(r, "bookAppointment.manageToken")
	s.ok(t, opSettleDevelopmentPayment, map[string]any{"in": map[string]any{"clientSecret": field(r, "bookAppointment.paymentClientSecret")}})
	if r = s.ok(t, opAppointmentState, map[string]any{"id": id, "token": manage}); field(r, "appointment.state") != "CONFIRMED" {
		t.Fatalf("demo booking after payment: %v", r.Data)
	}

	again, err := s.app.SeedDemo(ctx, app.SeedOptions{Products: 3})
	if err != nil {
		t.Fatalf("second seed: %v", err)
	}
	var out strings.Builder
	if err := again.Print(&out); err != nil {
		t.Fatal(err)
	}
	for _, p := range again.Parts {
		if p.Created {
			t.Errorf("second seed created %s again", p.Name)
		}
	}
	if n := strings.Count(out.String(), "already there"); n != len(again.Parts) {
		t.Errorf("second seed says 'already there' %d times for %d parts:\n%s", n, len(again.Parts), out.String())
	}
}

// TestSeedRefusedInProduction: the demo's published passwords never
// reach a production database, even when the caller skips config checks.
func TestSeedRefusedInProduction(t *testing.T) {
	s := start(t, nil)
	s.app.Config.Env = config.Production
	defer func() { s.app.Config.Env = config.Development }()
	if _, err := s.app.SeedDemo(context.Background(), app.SeedOptions{}); err != app.ErrSeedInProduction {
		t.Fatalf("seed in production: %v", err)
	}
	if n := s.app.DB.Client.User.Query().CountX(context.Background()); n != 0 {
		t.Fatalf("%d users written", n)
	}
}
