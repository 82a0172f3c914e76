package app_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"frontdesk/app"
	"frontdesk/config"
	"frontdesk/ent/appointment"
	"frontdesk/ent/order"
	"frontdesk/gid"
)

// opSettleDevelopmentPayment is the development payment exactly as
// docs/booking.md shows it (TestBookingDocsShowDevelopmentPayment).
const opSettleDevelopmentPayment = `mutation Pay($in: SettleDevelopmentPaymentInput!) {
  settleDevelopmentPayment(input: $in) {
    paymentIntentId succeeded orderId appointmentId
    userErrors { field message code }
  }
}`

const opAppointmentState = `query Appointment($id: ID!, $token: String) { appointment(id: $id, manageToken: $token) { id state history { fromState toState reason } } }`

// TestSettleDevelopmentPayment: with no Stripe key, a paid booking and an
// order are both paid through the server with settleDevelopmentPayment
// and their client secrets; the appointment is confirmed by the webhook
// handlers Stripe's payment_intent.succeeded reaches. A second replica
// on the same database (or the same server after a restart), which never
// saw the intent, settles it too. Unknown secrets are refused.
func TestSettleDevelopmentPayment(t *testing.T) {
	s := start(t, nil)
	ctx := context.Background()
	c := s.app.DB.Client

	// A paid booking, as a guest.
	prac := c.Practitioner.Create().SetName("Dr Ada").SetTimeZone("Australia/Sydney").SaveX(ctx)
	for d := 0; d < 7; d++ {
		c.WeeklyHours.Create().SetPractitionerID(prac.ID).SetWeekday(d).SetStartMinute(9 * 60).SetEndMinute(17 * 60).ExecX(ctx)
	}
	svc := c.Service.Create().SetName("Initial consultation").SetSlug("initial").SetDurationMinutes(60).
		SetSlotIntervalMinutes(30).SetPriceAmount(15000).SetCurrency("AUD").AddPractitioners(prac).SaveX(ctx)
	sydney, _ := time.LoadLocation("Australia/Sydney")
	day := time.Now().In(sydney).AddDate(0, 0, 2)
	book := func(hour int) (id, manage, secret string) {
		t.Helper()
		slot := time.Date(day.Year(), day.Month(), day.Day(), hour, 0, 0, 0, sydney)
		r := s.ok(t, opHoldSlot, map[string]any{"in": map[string]any{"serviceId": svc.ID, "practitionerId": prac.ID, "start": slot.Format(time.RFC3339)}})
		id = field(r, "holdSlot.appointment.id").(string)
		r = s.ok(t, opBook, map[string]any{"in": map[string]any{"appointmentId": id, "holdToken": field(r, "holdSlot.holdToken"),
			"guest": map[string]any{"name": "Jo Citizen", "email": "jo@example.com", "phone": "+61412345678"}}})
		if field(r, "bookAppointment.appointment.state") != "PENDING_PAYMENT" {
			t.Fatalf("book: %v", r.Data)
		}
		return id, field(r, "bookAppointment.manageToken").(string), field(r, "bookAppointment.paymentClientSecret").(string)
	}
	aptID, manage, secret := book(10)

	r := s.ok(t, opSettleDevelopmentPayment, map[string]any{"in": map[string]any{"clientSecret": secret}})
	if field(r, "settleDevelopmentPayment.appointmentId") != aptID || field(r, "settleDevelopmentPayment.succeeded") != true ||
		field(r, "settleDevelopmentPayment.orderId") != nil || !strings.HasPrefix(secret, field(r, "settleDevelopmentPayment.paymentIntentId").(string)) {
		t.Fatalf("settle the booking: %v", r.Data)
	}
	r = s.ok(t, opAppointmentState, map[string]any{"id": aptID, "token": manage})
	if field(r, "appointment.state") != "CONFIRMED" {
		t.Fatalf("after the development payment: %v", r.Data)
	}
	// Paying again is another report of the same payment: nothing changes.
	s.ok(t, opSettleDevelopmentPayment, map[string]any{"in": map[string]any{"clientSecret": secret}})
	if n := len(field(s.ok(t, opAppointmentState, map[string]any{"id": aptID, "token": manage}), "appointment.history").([]any)); n != len(field(r, "appointment.history").([]any)) {
		t.Fatalf("a second settle wrote history")
	}

	// An order, through the same mutation.
	f := s.seedShop(t, 2500, 5)
	cart := s.readyCart(t, f, 1)
	r = s.ok(t, opPlaceOrder, map[string]any{"input": map[string]any{"cartToken": cart, "idempotencyKey": "devpay-1"}})
	orderID := field(r, "placeOrder.order.id").(string)
	r = s.ok(t, opSettleDevelopmentPayment, map[string]any{"in": map[string]any{"clientSecret": field(r, "placeOrder.payment.clientSecret")}})
	if field(r, "settleDevelopmentPayment.orderId") != orderID || field(r, "settleDevelopmentPayment.appointmentId") != nil {
		t.Fatalf("settle the order: %v", r.Data)
	}
	if st := c.Order.GetX(ctx, gid.ID(orderID)).State; st != order.StatePAID {
		t.Fatalf("order after the development payment: %s", st)
	}

	// A booking made on this server, declined and then paid on a second
	// replica that never saw its intent.
	apt2, manage2, secret2 := book(14)
	other := replica(t, s.app.Config)
	r = other.ok(t, opSettleDevelopmentPayment, map[string]any{"in": map[string]any{"clientSecret": secret2, "succeed": false}})
	if field(r, "settleDevelopmentPayment.succeeded") != false {
		t.Fatalf("decline on the other replica: %v", r.Data)
	}
	if st := c.Appointment.GetX(ctx, gid.ID(apt2)).State; st != appointment.StatePENDING_PAYMENT {
		t.Fatalf("a declined card changed the booking to %s", st)
	}
	other.ok(t, opSettleDevelopmentPayment, map[string]any{"in": map[string]any{"clientSecret": secret2}})
	r = s.ok(t, opAppointmentState, map[string]any{"id": apt2, "token": manage2})
	if field(r, "appointment.state") != "CONFIRMED" {
		t.Fatalf("paid on another replica: %v", r.Data)
	}

	for _, bad := range []string{"pi_dev_000000000000000000000000_secret_development", "pi_3Nxyz_secret_abc", ""} {
		r = s.gqlAs(t, opSettleDevelopmentPayment, map[string]any{"in": map[string]any{"clientSecret": bad}})
		ue, _ := field(r, "settleDevelopmentPayment.userErrors").([]any)
		if len(r.Errors) > 0 || len(ue) != 1 || ue[0].(map[string]any)["code"] != "NOT_FOUND" {
			t.Errorf("secret %q: %+v %v", bad, r.Errors, r.Data)
		}
	}
}

// TestSettleDevelopmentPaymentRefusedWithStripe: a real gateway refuses.
func TestSettleDevelopmentPaymentRefusedWithStripe(t *testing.T) {
	s := start(t, func(c *config.Config) { c.StripeSecretKey, c.StripeWebhookSecret = "sk_test_x", "whsec_x" })
	r := s.gqlAs(t, opSettleDevelopmentPayment, map[string]any{"in": map[string]any{"clientSecret": "pi_dev_0_secret_development"}})
	if c := r.codes(); len(c) != 1 || c[0] != "FORBIDDEN" {
		t.Fatalf("with Stripe configured: %v %v", r.Errors, r.Data)
	}
}

// TestBookingDocsShowDevelopmentPayment keeps docs/booking.md showing the
// operation TestSettleDevelopmentPayment runs.
func TestBookingDocsShowDevelopmentPayment(t *testing.T) {
	doc, err := os.ReadFile("../docs/booking.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), opSettleDevelopmentPayment) {
		t.Errorf("docs/booking.md does not show the tested development payment:\n%s", opSettleDevelopmentPayment)
	}
}

// replica starts a second server on cfg's database, as another replica
// (or the first one after a restart) would be.
func replica(t *testing.T, cfg *config.Config) *running {
	t.Helper()
	c := *cfg
	c.Workers = false
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, &c, app.NewLogger(io.Discard, "error"), app.Options{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("replica: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("replica did not stop")
		}
		if err := a.Close(); err != nil {
			t.Errorf("close replica: %v", err)
		}
	})
	return &running{app: a, base: "http://" + ln.Addr().String(), logs: &syncBuffer{}}
}
