package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"frontdesk/config"
	"frontdesk/ent"
	"frontdesk/ent/job"
	"frontdesk/ent/user"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
	"frontdesk/outbox"
	"frontdesk/webhooks"
)

// raised returns every event the server has raised so far, oldest first:
// the payloads of the webhooks.fanout outbox jobs, which each change
// writes in its own transaction (the worker keeps the rows once run).
func raised(t *testing.T, s *running) []webhooks.Event {
	t.Helper()
	jobs, err := s.app.DB.Client.Job.Query().Where(job.Kind(webhooks.KindFanout)).
		Order(ent.Asc(job.FieldCreatedAt), ent.Asc(job.FieldID)).All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]webhooks.Event, len(jobs))
	for i, j := range jobs {
		if err := json.Unmarshal(j.Payload, &out[i]); err != nil {
			t.Fatalf("fan-out payload %s: %v", j.Payload, err)
		}
	}
	return out
}

// expect is one event a step must raise: its type, and what its default
// payload must say.
type expect struct {
	typ   webhooks.EventType
	match func(webhooks.Data) bool
}

func ev(typ webhooks.EventType, match func(webhooks.Data) bool) expect { return expect{typ, match} }

// exactly checks that the events raised after the first `from` are, in any
// order, exactly want (each matched once), waiting up to 15 s for the
// ones a worker raises after the request returned. It returns how many
// events there are now.
func exactly(t *testing.T, s *running, step string, from int, want ...expect) int {
	t.Helper()
	var got []webhooks.Event
	matches := func() bool {
		got = raised(t, s)[from:]
		if len(got) != len(want) {
			return false
		}
		left := slices.Clone(got)
		for _, w := range want {
			i := slices.IndexFunc(left, func(e webhooks.Event) bool { return e.Type == w.typ && (w.match == nil || w.match(e.Data)) })
			if i < 0 {
				return false
			}
			left = slices.Delete(left, i, i+1)
		}
		return true
	}
	deadline := time.Now().Add(15 * time.Second)
	for !matches() {
		if len(got) > len(want) || time.Now().After(deadline) {
			var types []string
			for _, w := range want {
				types = append(types, string(w.typ))
			}
			t.Fatalf("%s: raised %s, want exactly %v", step, describe(got), types)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return from + len(got)
}

func describe(evs []webhooks.Event) string {
	var b strings.Builder
	for _, e := range evs {
		d, _ := json.Marshal(e.Data)
		fmt.Fprintf(&b, "\n  %s %s", e.Type, d)
	}
	if b.Len() == 0 {
		return "nothing"
	}
	return b.String()
}

// TestEveryEventIsRaisedByItsChange drives each change of the event
// catalogue through the API (or, for sync failures, a job that goes
// DEAD in the real worker) and checks that it raises exactly its events,
// with the ids and states of the default payload, and that changes which
// are no news raise none: an edited intake form, a refund only requested,
// a bulk import of customers. The last check fails when an event type
// is added to the catalogue without a step here.
func TestEveryEventIsRaisedByItsChange(t *testing.T) {
	s := start(t, func(c *config.Config) { c.WorkerPollInterval = 50 * time.Millisecond })
	ctx := context.Background()
	c := s.app.DB.Client
	admin := s.signUp(t, "admin@example.com", "ADMIN")
	staff := bearer(admin.token)
	seen := map[webhooks.EventType]bool{}
	n := len(raised(t, s))
	step := func(name string, do func(), want ...expect) {
		t.Helper()
		do()
		n = exactly(t, s, name, n, want...)
		for _, w := range want {
			seen[w.typ] = true
		}
	}
	id := func(r gqlResponse, path string) gid.ID { return gid.ID(field(r, path).(string)) }

	// customer.created: a registration; a bulk import raises none per row.
	var customer account
	step("register", func() { customer = s.signUp(t, "pat@example.com", "") },
		ev(webhooks.CustomerCreated, func(d webhooks.Data) bool { return d.CustomerID == customer.id }))
	step("import customers", func() {
		rep, err := s.app.Identity.ImportCustomers(identity.SystemContext(ctx),
			strings.NewReader("email,name\nimported.one@example.com,Imported One\nimported.two@example.com,Imported Two\n"),
			identity.ImportOptions{Source: "legacy.csv"})
		if err != nil || rep.Created != 2 {
			t.Fatalf("import: %+v %v", rep, err)
		}
	})

	// Products and stock.
	var product, variant gid.ID
	step("createProduct", func() {
		r := s.ok(t, `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id variants { id } } userErrors { field code message } } }`,
			map[string]any{"in": map[string]any{"title": "Hook Mug", "status": "DRAFT",
				"variants": []any{map[string]any{"sku": "HOOK-1", "price": map[string]any{"amount": 2500, "currency": "AUD"}, "onHand": 6}}}}, staff...)
		product, variant = id(r, "createProduct.product.id"), gid.ID(field(r, "createProduct.product.variants").([]any)[0].(map[string]any)["id"].(string))
	}, ev(webhooks.ProductCreated, func(d webhooks.Data) bool { return d.ProductID == product && d.State == "DRAFT" }))
	step("updateProduct", func() {
		s.ok(t, `mutation($in: UpdateProductInput!) { updateProduct(input: $in) { product { id } userErrors { field code message } } }`,
			map[string]any{"in": map[string]any{"id": product, "status": "ACTIVE"}}, staff...)
	}, ev(webhooks.ProductUpdated, func(d webhooks.Data) bool { return d.ProductID == product && d.State == "ACTIVE" }))
	adjust := func(delta int) func() {
		return func() {
			s.ok(t, `mutation($in: AdjustStockInput!) { adjustStock(input: $in) { userErrors { field code message } } }`,
				map[string]any{"in": map[string]any{"variantId": variant, "delta": delta, "reason": "count"}}, staff...)
		}
	}
	stock := func(available int) func(webhooks.Data) bool {
		return func(d webhooks.Data) bool {
			return d.VariantID == variant && d.Available != nil && *d.Available == available
		}
	}
	step("stock 6 -> 5", adjust(-1), ev(webhooks.StockLow, stock(5)))
	step("stock 5 -> 4 (no crossing)", adjust(-1))
	step("stock 4 -> 0", adjust(-4), ev(webhooks.StockOut, stock(0)))
	step("archiveProduct", func() {
		s.ok(t, `mutation($in: ProductRefInput!) { archiveProduct(input: $in) { product { id } userErrors { field code message } } }`,
			map[string]any{"in": map[string]any{"id": product}}, staff...)
	}, ev(webhooks.ProductArchived, func(d webhooks.Data) bool { return d.ProductID == product && d.State == "ARCHIVED" }))

	// Orders, bought by the signed-in customer.
	shop := s.seedShop(t, 2000, 100)
	var order gid.ID
	orderIs := func(state, previous string) func(webhooks.Data) bool {
		return func(d webhooks.Data) bool {
			return d.OrderID == order && d.State == state && d.PreviousState == previous
		}
	}
	step("placeOrder", func() {
		token := s.readyCart(t, shop, 1, bearer(customer.token)...)
		r := s.ok(t, opPlaceOrder, map[string]any{"input": map[string]any{"cartToken": token, "idempotencyKey": "events-1"}}, bearer(customer.token)...)
		order = id(r, "placeOrder.order.id")
	}, ev(webhooks.OrderCreated, orderIs("PENDING_PAYMENT", "")))
	pay := func(succeed bool) func() {
		return func() {
			s.ok(t, opCompleteDevelopmentPayment, map[string]any{"input": map[string]any{"orderId": order, "succeed": succeed}}, bearer(customer.token)...)
		}
	}
	step("payment fails", pay(false), ev(webhooks.OrderPaymentFailed, orderIs("PENDING_PAYMENT", "")))
	step("payment succeeds", pay(true), ev(webhooks.OrderPaid, orderIs("PAID", "PENDING_PAYMENT")))
	step("fulfilOrder", func() {
		s.ok(t, opFulfilOrder, map[string]any{"input": map[string]any{"orderId": order, "carrier": "Australia Post"}}, staff...)
	}, ev(webhooks.OrderFulfilled, orderIs("FULFILLED", "PAID")))
	step("markOrderDelivered", func() {
		s.ok(t, `mutation($in: MarkOrderDeliveredInput!) { markOrderDelivered(input: $in) { order { id } userErrors { field code message } } }`,
			map[string]any{"in": map[string]any{"orderId": order}}, staff...)
	}, ev(webhooks.OrderDelivered, orderIs("DELIVERED", "FULFILLED")))
	total := c.Order.GetX(ctx, order).Total
	refunded := func(state, previous string, amount int64) func(webhooks.Data) bool {
		return func(d webhooks.Data) bool {
			return orderIs(state, previous)(d) && d.AmountRefunded != nil && *d.AmountRefunded == amount
		}
	}
	refund := func(amount int64, key string) func() {
		return func() {
			in := map[string]any{"orderId": order, "reason": "damaged", "idempotencyKey": key}
			if amount > 0 {
				in["amount"] = amount
			}
			s.ok(t, opRefundOrder, map[string]any{"input": in}, staff...)
		}
	}
	// Each refund the gateway confirms raises its own order.refunded
	// (the refund job runs in the worker), the second partial one too.
	step("first partial refund", refund(500, "r1"), ev(webhooks.OrderRefunded, refunded("PARTIALLY_REFUNDED", "DELIVERED", 500)))
	step("second partial refund", refund(300, "r2"), ev(webhooks.OrderRefunded, refunded("PARTIALLY_REFUNDED", "PARTIALLY_REFUNDED", 800)))
	step("the rest", refund(0, "r3"), ev(webhooks.OrderRefunded, refunded("REFUNDED", "PARTIALLY_REFUNDED", total)))
	step("cancelOrder", func() {
		token := s.readyCart(t, shop, 1, bearer(customer.token)...)
		r := s.ok(t, opPlaceOrder, map[string]any{"input": map[string]any{"cartToken": token, "idempotencyKey": "events-2"}}, bearer(customer.token)...)
		order = id(r, "placeOrder.order.id")
		s.ok(t, opCancelOrder, map[string]any{"input": map[string]any{"orderId": order, "reason": "changed their mind"}}, staff...)
	}, ev(webhooks.OrderCreated, orderIs("PENDING_PAYMENT", "")), ev(webhooks.OrderCancelled, orderIs("CANCELLED", "PENDING_PAYMENT")))

	// Appointments: a free service (booked is confirmed at once) with an
	// intake form.
	prac := c.Practitioner.Create().SetName("Dr Hook").SetTimeZone("Australia/Sydney").SaveX(ctx)
	for d := 0; d < 7; d++ {
		c.WeeklyHours.Create().SetPractitionerID(prac.ID).SetWeekday(d).SetStartMinute(9 * 60).SetEndMinute(17 * 60).ExecX(ctx)
	}
	c.IntakeForm.Create().SetKey("hook-intake").SetVersion(1).SetTitle("Before your visit").SetFields(nil).ExecX(ctx)
	svc := c.Service.Create().SetName("Check-up").SetSlug("check-up").SetDurationMinutes(30).SetSlotIntervalMinutes(30).
		SetPriceAmount(0).SetCurrency("AUD").SetIntakeFormKey("hook-intake").AddPractitioners(prac).SaveX(ctx)
	sydney, _ := time.LoadLocation("Australia/Sydney")
	day := time.Now().In(sydney).AddDate(0, 0, 3)
	at := func(days, hour int) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day()+days, hour, 0, 0, 0, sydney)
	}
	var apt gid.ID
	var manage string
	aptIs := func(state, previous string, start time.Time) func(webhooks.Data) bool {
		return func(d webhooks.Data) bool {
			return d.AppointmentID == apt && d.State == state && d.PreviousState == previous && d.StartAt != nil && d.StartAt.Equal(start)
		}
	}
	var hold string
	holdSlot := func(start time.Time) func() {
		return func() {
			r := s.ok(t, opHoldSlot, map[string]any{"in": map[string]any{"serviceId": svc.ID, "practitionerId": prac.ID, "start": start.Format(time.RFC3339)}})
			apt, hold = id(r, "holdSlot.appointment.id"), field(r, "holdSlot.holdToken").(string)
		}
	}
	book := func() {
		r := s.ok(t, opBook, map[string]any{"in": map[string]any{"appointmentId": apt, "holdToken": hold,
			"guest": map[string]any{"name": "Jo Citizen", "email": "jo@example.com", "phone": "+61412345678"}}})
		manage = field(r, "bookAppointment.manageToken").(string)
	}
	step("holdSlot", holdSlot(at(0, 10)), ev(webhooks.AppointmentHeld, aptIs("HELD", "", at(0, 10))))
	step("bookAppointment", book,
		ev(webhooks.AppointmentBooked, aptIs("CONFIRMED", "HELD", at(0, 10))),
		ev(webhooks.AppointmentConfirmed, aptIs("CONFIRMED", "HELD", at(0, 10))))
	intake := func() {
		s.ok(t, `mutation($in: SubmitIntakeFormInput!) { submitIntakeForm(input: $in) { userErrors { field code message } } }`,
			map[string]any{"in": map[string]any{"appointmentId": apt, "manageToken": manage, "answers": []any{}}})
	}
	step("submitIntakeForm", intake, ev(webhooks.IntakeSubmitted, func(d webhooks.Data) bool { return d.AppointmentID == apt && d.SubmissionID != "" }))
	step("submitIntakeForm again (an edit)", intake)
	step("rescheduleAppointment", func() {
		s.ok(t, `mutation($in: RescheduleAppointmentInput!) { rescheduleAppointment(input: $in) { userErrors { field code message } } }`,
			map[string]any{"in": map[string]any{"appointmentId": apt, "manageToken": manage, "start": at(1, 11).Format(time.RFC3339)}})
	}, ev(webhooks.AppointmentRescheduled, func(d webhooks.Data) bool {
		return aptIs("CONFIRMED", "CONFIRMED", at(1, 11))(d) && d.PreviousStartAt != nil && d.PreviousStartAt.Equal(at(0, 10))
	}))
	step("cancelAppointment", func() {
		s.ok(t, `mutation($in: CancelAppointmentInput!) { cancelAppointment(input: $in) { userErrors { field code message } } }`,
			map[string]any{"in": map[string]any{"appointmentId": apt, "manageToken": manage, "reason": "away"}})
	}, ev(webhooks.AppointmentCancelled, aptIs("CANCELLED", "CONFIRMED", at(1, 11))))
	step("another booking", func() { holdSlot(at(2, 10))(); book() },
		ev(webhooks.AppointmentHeld, aptIs("HELD", "", at(2, 10))),
		ev(webhooks.AppointmentBooked, aptIs("CONFIRMED", "HELD", at(2, 10))),
		ev(webhooks.AppointmentConfirmed, aptIs("CONFIRMED", "HELD", at(2, 10))))
	// It has started (moved into the past, as time passing would).
	started := time.Now().Add(-time.Hour).Truncate(time.Second)
	c.Appointment.UpdateOneID(apt).SetStartAt(started).SetEndAt(started.Add(30 * time.Minute)).ExecX(ctx)
	step("markAppointmentNoShow", func() {
		s.ok(t, `mutation($in: MarkAppointmentInput!) { markAppointmentNoShow(input: $in) { userErrors { field code message } } }`,
			map[string]any{"in": map[string]any{"appointmentId": apt}}, staff...)
	}, ev(webhooks.AppointmentNoShow, aptIs("NO_SHOW", "CONFIRMED", started)))

	// Sync failures: a calendar and an EHR job that go DEAD in the worker
	// (a payload that cannot decode fails for good at once).
	for kind, typ := range map[string]webhooks.EventType{"calendar.event.upsert": webhooks.SyncCalendarFail, "ehr.appointment": webhooks.SyncEHRFail} {
		var jobID gid.ID
		step(kind+" goes DEAD", func() {
			var err error
			jobID, err = outbox.EnqueueDirect(ctx, c, outbox.Job{Kind: kind, Payload: json.RawMessage(`[1]`), MaxAttempts: 1, IdempotencyKey: "dead:" + kind})
			if err != nil {
				t.Fatal(err)
			}
		}, ev(typ, func(d webhooks.Data) bool { return d.JobID == jobID && d.JobKind == kind }))
	}

	for _, typ := range webhooks.EventTypes {
		if !seen[typ] {
			t.Errorf("no step raises %s", typ)
		}
	}
}

// failingSink fails the transaction that creates a customer after the
// webhook event was written in it.
type failingSink struct{}

func (failingSink) CustomerCreated(context.Context, *ent.Tx, *ent.User) error {
	return errors.New("a later step of the change failed")
}

// TestRolledBackChangeRaisesNothing: a registration whose transaction
// rolls back after customer.created was written in it (a later sink
// fails) leaves no account, no event and sends nothing.
func TestRolledBackChangeRaisesNothing(t *testing.T) {
	s := start(t, func(c *config.Config) {
		c.WebhookAllowPrivate = true
		c.WorkerPollInterval = 50 * time.Millisecond
	})
	// Sinks run in the order they were added: the webhook one first.
	s.app.Identity.OnCustomerCreated(failingSink{})
	ctx := context.Background()
	adminUser := s.app.DB.Client.User.Create().SetEmail("admin@example.com").SetName("Admin").SetRole(user.RoleADMIN).SaveX(ctx)
	srv, hooks := hookReceiver(t)
	if _, err := s.app.Outgoing.Create(identity.WithViewer(ctx, &identity.Viewer{UserID: adminUser.ID, Role: identity.RoleAdmin}),
		webhooks.EndpointInput{URL: &srv.URL, Events: []webhooks.EventType{webhooks.CustomerCreated}}); err != nil {
		t.Fatal(err)
	}
	r := s.gqlAs(t, registerOp, map[string]any{"in": map[string]any{"email": "pat@example.com", "password": "a long passphrase", "name": "Pat"}})
	if len(r.Errors) == 0 {
		t.Fatalf("the registration succeeded: %v", r.Data)
	}
	if n := s.app.DB.Client.User.Query().Where(user.Email("pat@example.com")).CountX(ctx); n != 0 {
		t.Fatal("the account was created")
	}
	if evs := raised(t, s); len(evs) != 0 {
		t.Fatalf("a rolled-back change raised %s", describe(evs))
	}
	// A ping proves the endpoint and the worker work; nothing came before it.
	if _, err := s.app.Outgoing.Ping(identity.WithViewer(ctx, &identity.Viewer{UserID: adminUser.ID, Role: identity.RoleAdmin}),
		s.app.DB.Client.WebhookEndpoint.Query().OnlyIDX(ctx)); err != nil {
		t.Fatal(err)
	}
	if h := nextHook(t, hooks); !strings.Contains(string(h.body), `"webhook.ping"`) {
		t.Fatalf("the first delivery is %s", h.body)
	}
	testenv.Eventually(t, 5*time.Second, "the ping's delivery is recorded", func() bool {
		return s.app.DB.Client.WebhookDelivery.Query().CountX(ctx) == 1
	})
}
