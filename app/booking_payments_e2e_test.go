package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"frontdesk/config"
	"frontdesk/ent/appointment"
	"frontdesk/ent/appointmentstatechange"
	"frontdesk/ent/sentmessage"
	"frontdesk/gid"
	"frontdesk/internal/testenv"
)

const (
	opHoldSlot = `mutation Hold($in: HoldSlotInput!) { holdSlot(input: $in) { appointment { id state } holdToken userErrors { field message code } } }`
	opBook     = `mutation Book($in: BookAppointmentInput!) { bookAppointment(input: $in) { appointment { id state } manageToken paymentClientSecret userErrors { field message code } } }`
)

// A paid booking on stripe-mock: the PaymentIntent comes from the Stripe
// API with the appointment id in its metadata, and a signed
// payment_intent.succeeded POSTed to /webhooks/stripe confirms the
// appointment inside the webhook's transaction; the confirmation email and
// SMS go out through the outbox; Stripe's redelivery changes nothing.
func TestPaidBookingConfirmedByStripeWebhook(t *testing.T) {
	const whsec = "whsec_booking_e2e"
	s := start(t, func(c *config.Config) {
		c.StripeSecretKey = "sk_test_booking"
		c.StripeAPIURL = testenv.StripeMock(t)
		c.StripeWebhookSecret = whsec
		c.StripeWebhookTolerance = 5 * time.Minute
		c.WorkerPollInterval = 50 * time.Millisecond
	})
	ctx := context.Background()
	c := s.app.DB.Client
	prac := c.Practitioner.Create().SetName("Dr Ada").SetTimeZone("Australia/Sydney").SaveX(ctx)
	for d := 0; d < 7; d++ {
		c.WeeklyHours.Create().SetPractitionerID(prac.ID).SetWeekday(d).SetStartMinute(9 * 60).SetEndMinute(17 * 60).ExecX(ctx)
	}
	svc := c.Service.Create().SetName("Initial consultation").SetSlug("initial").SetDurationMinutes(60).
		SetSlotIntervalMinutes(30).SetPriceAmount(15000).SetCurrency("AUD").AddPractitioners(prac).SaveX(ctx)
	sydney, _ := time.LoadLocation("Australia/Sydney")
	day := time.Now().In(sydney).AddDate(0, 0, 2)
	slot := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, sydney)

	r := s.ok(t, opHoldSlot, map[string]any{"in": map[string]any{"serviceId": svc.ID, "practitionerId": prac.ID, "start": slot.Format(time.RFC3339)}})
	id := field(r, "holdSlot.appointment.id").(string)
	r = s.ok(t, opBook, map[string]any{"in": map[string]any{"appointmentId": id, "holdToken": field(r, "holdSlot.holdToken"),
		"guest": map[string]any{"name": "Jo Citizen", "email": "jo@example.com", "phone": "+61412345678"}}})
	if field(r, "bookAppointment.appointment.state") != "PENDING_PAYMENT" || field(r, "bookAppointment.paymentClientSecret") == "" {
		t.Fatalf("book: %v", r.Data)
	}
	intentID := *c.Appointment.GetX(ctx, gid.ID(id)).PaymentIntentID

	payload, _ := json.Marshal(map[string]any{
		"id": "evt_booking_1", "object": "event", "type": "payment_intent.succeeded", "api_version": "2023-10-16",
		"created": time.Now().Unix(),
		"data": map[string]any{"object": map[string]any{
			"id": intentID, "object": "payment_intent", "amount": 15000, "currency": "aud", "status": "succeeded",
			"metadata": map[string]string{"appointment_id": id, "service_id": string(svc.ID)},
		}},
	})
	post := func(secret string) int {
		t.Helper()
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: time.Now()})
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
	if code := post("whsec_forged"); code != http.StatusBadRequest {
		t.Fatalf("forged signature: %d", code)
	}
	if st := c.Appointment.GetX(ctx, gid.ID(id)).State; st != appointment.StatePENDING_PAYMENT {
		t.Fatalf("a forged webhook changed the appointment: %s", st)
	}
	if code := post(whsec); code != http.StatusOK {
		t.Fatalf("signed webhook: %d", code)
	}
	if st := c.Appointment.GetX(ctx, gid.ID(id)).State; st != appointment.StateCONFIRMED {
		t.Fatalf("after payment: %s", st)
	}
	rows := c.AppointmentStateChange.Query().Where(appointmentstatechange.AppointmentID(gid.ID(id))).CountX(ctx)
	if code := post(whsec); code != http.StatusOK {
		t.Fatalf("redelivery: %d", code)
	}
	if n := c.AppointmentStateChange.Query().Where(appointmentstatechange.AppointmentID(gid.ID(id))).CountX(ctx); n != rows {
		t.Fatalf("redelivery wrote history: %d rows, want %d", n, rows)
	}
	// The worker in the server sends the confirmation by email and SMS.
	sent := func(to string) int {
		return c.SentMessage.Query().Where(sentmessage.Recipient(to), sentmessage.Kind("booking_confirmation")).CountX(ctx)
	}
	testenv.Eventually(t, 15*time.Second, "the confirmation email and SMS", func() bool {
		return sent("jo@example.com") >= 1 && sent("+61412345678") >= 1
	})
	if email, text := sent("jo@example.com"), sent("+61412345678"); email != 1 || text != 1 {
		t.Fatalf("confirmation sent %d emails and %d SMS, want 1 and 1", email, text)
	}
}
