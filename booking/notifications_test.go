package booking_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"frontdesk/booking"
	"frontdesk/booking/intake"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/appointmentstatechange"
	"frontdesk/ent/job"
	"frontdesk/ent/sentmessage"
	"frontdesk/ent/slotclaim"
	"frontdesk/events"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/integrations/mail"
	"frontdesk/notify"
	"frontdesk/outbox"
	"frontdesk/payments"
	"frontdesk/webhooks"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// refundingGateway is the development gateway with its refunds recorded.
type refundingGateway struct {
	*payments.Development
	mu      sync.Mutex
	refunds []payments.RefundParams
}

func (g *refundingGateway) Refund(ctx context.Context, p payments.RefundParams) (payments.Refund, error) {
	r, err := g.Development.Refund(ctx, p)
	if err == nil {
		g.mu.Lock()
		g.refunds = append(g.refunds, p)
		g.mu.Unlock()
	}
	return r, err
}

// notifying is the booking fixture with notifications, the payment
// webhooks on the development gateway, and an outbox registry whose
// worker the test starts when it wants the jobs run.
type notifying struct {
	*fixture
	wh  *payments.Webhooks
	gw  *refundingGateway
	reg *outbox.Registry
}

func newNotifying(t *testing.T) *notifying {
	t.Helper()
	f := newFixture(t, database.Options{})
	n := &notifying{fixture: f, wh: payments.NewWebhooks(f.db.Client, quiet), reg: outbox.NewRegistry()}
	dev, err := payments.NewDevelopment(false, n.wh)
	if err != nil {
		t.Fatal(err)
	}
	n.gw = &refundingGateway{Development: dev}
	f.eng.Payments = booking.GatewayPayments{Gateway: n.gw}
	f.eng.EnableNotifications(booking.NotifyOptions{AppURL: "https://clinic.example/", Organizer: "Clinic <bookings@clinic.example>",
		Reminders: []time.Duration{24 * time.Hour, 2 * time.Hour}, Log: quiet}).Register(n.reg)
	f.eng.RegisterPayments(n.wh, n.reg)
	tpl, err := mail.NewTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	(&notify.Service{Client: f.db.Client, Templates: tpl, From: "Clinic <bookings@clinic.example>", Log: quiet}).Register(n.reg)
	// Intake submissions raise webhook events; no endpoint listens here.
	n.reg.Register(outbox.Kind{Name: webhooks.KindFanout, Handler: func(context.Context, *outbox.Running) error { return nil }})
	return n
}

// drain runs a worker until no job is pending or running. The fixture's
// clock is in May 2026, before the real one, so every job is already due
// for the worker; reminder due times are asserted on the job rows.
func (n *notifying) drain() {
	n.t.Helper()
	w := outbox.NewWorker(n.db.Client, n.reg, outbox.Options{Dialect: n.db.Dialect, Log: quiet, PollInterval: 10 * time.Millisecond})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer stop() // also when the wait below fails
	deadline := time.Now().Add(20 * time.Second)
	for n.db.Client.Job.Query().Where(job.StateIn(job.StatePENDING, job.StateRUNNING)).CountX(ctx) != 0 {
		if time.Now().After(deadline) {
			// Say which jobs and why: a job that failed once waits for its
			// retry (run_at) on the real clock.
			for _, j := range n.db.Client.Job.Query().Where(job.StateIn(job.StatePENDING, job.StateRUNNING)).AllX(ctx) {
				n.t.Errorf("job %s (%s) still %s after %d attempts, run at %s: %s", j.Kind, j.IdempotencyKey, j.State, j.Attempts, j.RunAt.Format(time.RFC3339), j.LastError)
			}
			n.t.FailNow()
		}
		// A job that failed once (a deadlock under CI's load, say) waits
		// for its retry on the real clock: bring it forward, as an
		// operator's runJobNow would, and say so.
		for _, j := range n.db.Client.Job.Query().Where(job.StateEQ(job.StatePENDING), job.AttemptsGT(0), job.RunAtGT(time.Now())).AllX(ctx) {
			n.t.Logf("job %s (%s) retried now after %d attempts: %s", j.Kind, j.IdempotencyKey, j.Attempts, j.LastError)
			n.db.Client.Job.UpdateOne(j).SetRunAt(time.Now()).ExecX(ctx)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		n.t.Fatal(err)
	}
	dead := n.db.Client.Job.Query().Where(job.StateEQ(job.StateDEAD)).AllX(context.Background())
	for _, j := range dead {
		n.t.Errorf("job %s (%s) is dead: %s", j.Kind, j.IdempotencyKey, j.LastError)
	}
}

// sent lists "channel kind" of the messages to recipient, sorted.
func (n *notifying) sent(recipient string) []string {
	var out []string
	for _, m := range n.db.Client.SentMessage.Query().Where(sentmessage.Recipient(recipient)).AllX(context.Background()) {
		out = append(out, string(m.Channel)+" "+m.Kind)
	}
	sort.Strings(out)
	return out
}

func (n *notifying) bodies(recipient, kind string) []string {
	var out []string
	for _, m := range n.db.Client.SentMessage.Query().Where(sentmessage.Recipient(recipient), sentmessage.Kind(kind)).AllX(context.Background()) {
		out = append(out, m.BodyText)
	}
	return out
}

// reminderDue lists the due times of an appointment's reminder jobs.
func (n *notifying) reminderDue(id gid.ID) []time.Time {
	var out []time.Time
	jobs := n.db.Client.Job.Query().Where(job.Kind(booking.KindReminder), job.IdempotencyKeyHasPrefix(booking.KindReminder+":"+string(id)+":")).
		Order(ent.Asc(job.FieldRunAt)).AllX(context.Background())
	for _, j := range jobs {
		out = append(out, j.RunAt.UTC())
	}
	return out
}

func (n *notifying) guestBook(svc *ent.Service, start time.Time, g booking.Guest) *booking.Booking {
	n.t.Helper()
	ctx := context.Background()
	h, err := n.hold(ctx, svc, start)
	if err != nil {
		n.t.Fatal(err)
	}
	b, err := n.eng.Book(ctx, booking.BookInput{AppointmentID: h.Appointment.ID, HoldToken: h.Token, Guest: &g})
	if err != nil {
		n.t.Fatal(err)
	}
	return b
}

var jo = booking.Guest{Name: "Jo Citizen", Email: "jo@example.com", Phone: "+61412345678"}

// TestNotificationsFollowTheAppointment: a guest's confirmation (email with
// an .ics, SMS), reminders due 24 h and 2 h before, a reschedule that moves
// them, and a cancellation that stops them.
func TestNotificationsFollowTheAppointment(t *testing.T) {
	n := newNotifying(t)
	ctx := context.Background()
	moved := n.guestBook(n.free, n.at("2026-05-04 10:00"), jo)
	start := moved.Appointment.StartAt.UTC()
	if diff := cmp.Diff([]time.Time{start.Add(-24 * time.Hour), start.Add(-2 * time.Hour)}, n.reminderDue(moved.Appointment.ID)); diff != "" {
		t.Fatalf("reminder due times (-want +got):\n%s", diff)
	}
	newStart := n.at("2026-05-05 11:00")
	if _, err := n.eng.Reschedule(ctx, booking.RescheduleInput{ChangeInput: booking.ChangeInput{AppointmentID: moved.Appointment.ID,
		Token: moved.ManageToken}, Start: newStart}); err != nil {
		t.Fatal(err)
	}
	ns := newStart.UTC()
	want := []time.Time{start.Add(-24 * time.Hour), start.Add(-2 * time.Hour), ns.Add(-24 * time.Hour), ns.Add(-2 * time.Hour)}
	slices.SortFunc(want, func(a, b time.Time) int { return a.Compare(b) })
	if diff := cmp.Diff(want, n.reminderDue(moved.Appointment.ID)); diff != "" {
		t.Fatalf("reminders after reschedule (-want +got):\n%s", diff)
	}

	kim := booking.Guest{Name: "Kim", Email: "kim@example.com", Phone: "+61400000001"}
	cancelled := n.guestBook(n.free, n.at("2026-05-06 10:00"), kim)
	if _, err := n.eng.Cancel(ctx, booking.ChangeInput{AppointmentID: cancelled.Appointment.ID, Token: cancelled.ManageToken}); err != nil {
		t.Fatal(err)
	}
	// Too close for the 24 h reminder: only the 2 h one is scheduled.
	n.setNow("2026-05-06T20:00:00Z") // 2026-05-07 06:00 in Sydney
	late := n.guestBook(n.free, n.at("2026-05-07 10:00"), booking.Guest{Name: "Lee", Email: "lee@example.com", Phone: "+61400000002"})
	if got := n.reminderDue(late.Appointment.ID); len(got) != 1 || !got[0].Equal(late.Appointment.StartAt.Add(-2*time.Hour)) {
		t.Fatalf("late booking reminders %v", got)
	}
	n.setNow("2026-05-01T00:00:00Z")

	n.drain()
	wantMoved := []string{"EMAIL booking_confirmation", "EMAIL booking_reminder", "EMAIL booking_reminder", "EMAIL booking_rescheduled"}
	if diff := cmp.Diff(wantMoved, n.sent("jo@example.com")); diff != "" {
		t.Errorf("rescheduled guest's mail (-want +got):\n%s", diff)
	}
	wantSMS := []string{"SMS booking_confirmation", "SMS booking_reminder", "SMS booking_reminder", "SMS booking_rescheduled"}
	if diff := cmp.Diff(wantSMS, n.sent("+61412345678")); diff != "" {
		t.Errorf("rescheduled guest's SMS (-want +got):\n%s", diff)
	}
	// Reminders speak of the new time only (Tue 5 May 11:00 AEST), and
	// carry the guest's manage link.
	for _, body := range append(n.bodies("+61412345678", "booking_reminder"), n.bodies("jo@example.com", "booking_reminder")...) {
		if !strings.Contains(body, "5 May") || !strings.Contains(body, "11:00") || strings.Contains(body, "4 May") {
			t.Errorf("reminder about the old time: %q", body)
		}
		// The recorded copy has the token redacted (notify records no
		// usable link); the worker sent the real one.
		if !strings.Contains(body, "https://clinic.example/manage?appointment="+string(moved.Appointment.ID)+"&token=[redacted]") || strings.Contains(body, moved.ManageToken) {
			t.Errorf("reminder without the manage link: %q", body)
		}
	}
	wantCancelled := []string{"EMAIL booking_cancelled", "EMAIL booking_confirmation"}
	if diff := cmp.Diff(wantCancelled, n.sent("kim@example.com")); diff != "" {
		t.Errorf("cancelled guest's mail (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"SMS booking_cancelled", "SMS booking_confirmation"}, n.sent("+61400000001")); diff != "" {
		t.Errorf("cancelled guest's SMS (-want +got):\n%s", diff)
	}

	// The invitation: one UID for the appointment, SEQUENCE growing with
	// each change, METHOD:CANCEL for the cancellation.
	type cal struct {
		Calendar mail.CalendarEvent `json:"calendar"`
	}
	var seqs []int
	for _, key := range []string{"email:booking_confirmation:" + string(moved.Appointment.ID), "email:booking_rescheduled:" + string(moved.Appointment.ID) + ":3"} {
		j := n.db.Client.Job.Query().Where(job.IdempotencyKey(key)).OnlyX(ctx)
		var p cal
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p.Calendar.UID != string(moved.Appointment.ID)+"@frontdesk" || p.Calendar.Attendee != "jo@example.com" || p.Calendar.Organizer != "bookings@clinic.example" {
			t.Errorf("invitation %+v", p.Calendar)
		}
		seqs = append(seqs, p.Calendar.Sequence)
	}
	if seqs[0] >= seqs[1] {
		t.Errorf("sequence did not grow: %v", seqs)
	}
	j := n.db.Client.Job.Query().Where(job.IdempotencyKey("email:booking_cancelled:" + string(cancelled.Appointment.ID))).OnlyX(ctx)
	var p cal
	if err := json.Unmarshal(j.Payload, &p); err != nil || !p.Calendar.Cancelled {
		t.Errorf("cancellation invitation %+v %v", p.Calendar, err)
	}
}

// TestNoSMSWithoutPhoneAndIntakeLink: an account holder without a phone
// gets email only; the intake link goes out while the form is unanswered
// and not when answers came with the booking; reminders carry it too.
func TestNoSMSWithoutPhoneAndIntakeLink(t *testing.T) {
	n := newNotifying(t)
	ctx := context.Background()
	yes := true
	if _, err := n.eng.CreateFormVersion(n.staff, booking.FormInput{Key: "new-patient", Title: "New patient", Fields: []intake.Field{
		{Key: "reason", Label: "Reason for visit", Type: intake.ShortText, Required: true},
		{Key: "consent", Label: "Consent", Type: intake.Consent, Required: true, ConsentText: "I agree."},
	}}); err != nil {
		t.Fatal(err)
	}
	n.db.Client.Service.UpdateOne(n.free).SetIntakeFormKey("new-patient").ExecX(ctx)
	n.free = n.db.Client.Service.GetX(ctx, n.free.ID)

	u := n.db.Client.User.Create().SetEmail("ann@example.com").SetName("Ann").SaveX(ctx)
	ann := viewer(u.ID)
	a := n.bookFree(ann, n.at("2026-05-04 10:00"))

	answered := n.guestBook(n.free, n.at("2026-05-04 11:00"), jo) // answers below, before the worker runs
	if _, err := n.eng.SubmitIntake(ctx, booking.SubmitInput{ChangeInput: booking.ChangeInput{AppointmentID: answered.Appointment.ID, Token: answered.ManageToken},
		Answers: []intake.Answer{{Key: "reason", Text: "back"}, {Key: "consent", Bool: &yes}}}); err != nil {
		t.Fatal(err)
	}
	n.drain()
	want := []string{"EMAIL booking_confirmation", "EMAIL booking_reminder", "EMAIL booking_reminder", "EMAIL intake_form"}
	if diff := cmp.Diff(want, n.sent("ann@example.com")); diff != "" {
		t.Errorf("account holder's messages (-want +got):\n%s", diff)
	}
	if n.db.Client.SentMessage.Query().Where(sentmessage.ChannelEQ(sentmessage.ChannelSMS), sentmessage.BodyTextContains(string(a.ID))).ExistX(ctx) {
		t.Error("an SMS went out for an account without a phone number")
	}
	// Account holders' links carry no token: they sign in.
	for _, body := range n.bodies("ann@example.com", "booking_reminder") {
		if !strings.Contains(body, "https://clinic.example/intake?appointment="+string(a.ID)) || strings.Contains(body, "token=") {
			t.Errorf("reminder body %q", body)
		}
	}
	if diff := cmp.Diff([]string{"EMAIL booking_confirmation", "EMAIL booking_reminder", "EMAIL booking_reminder"}, n.sent("jo@example.com")); diff != "" {
		t.Errorf("guest who answered (-want +got):\n%s", diff)
	}
}

// TestPaymentWebhooks: a paid booking is confirmed by
// payment_intent.succeeded inside the webhook's transaction, once however
// often and in whatever order events arrive; a failure leaves the slot held;
// a payment after the slot was released and taken is refunded through the
// outbox and the patient offered other times; a cancellation refunds
// through the outbox with the intent's idempotency key.
func TestPaymentWebhooks(t *testing.T) {
	n := newNotifying(t)
	ctx := context.Background()
	b := n.guestBook(n.paid, n.at("2026-05-05 09:00"), jo)
	a := b.Appointment
	ev := func(id string, typ payments.EventType, a *ent.Appointment) payments.Event {
		return payments.Event{ID: id, Type: typ, IntentID: *a.PaymentIntentID, Amount: a.PriceAmount, Currency: a.Currency,
			Metadata: map[string]string{"appointment_id": string(a.ID)}, FailureMessage: "Your card was declined."}
	}
	process := func(e payments.Event) bool {
		t.Helper()
		dup, err := n.wh.Process(ctx, "stripe", e)
		if err != nil {
			t.Fatalf("process %s: %v", e.ID, err)
		}
		return dup
	}
	history := func(id gid.ID) int {
		return n.db.Client.AppointmentStateChange.Query().Where(appointmentstatechange.AppointmentID(id)).CountX(ctx)
	}
	// A declined card: still waiting for payment, slot still held.
	process(ev("evt_fail", payments.IntentFailed, a))
	if got := n.db.Client.Appointment.GetX(ctx, a.ID); got.State != appointment.StatePENDING_PAYMENT {
		t.Fatalf("after decline: %s", got.State)
	}
	if !n.db.Client.AppointmentStateChange.Query().Where(appointmentstatechange.AppointmentID(a.ID),
		appointmentstatechange.ReasonHasPrefix("payment failed: Your card")).ExistX(ctx) {
		t.Error("decline not in the history")
	}
	if process(ev("evt_ok", payments.IntentSucceeded, a)) {
		t.Fatal("first delivery reported as duplicate")
	}
	if got := n.db.Client.Appointment.GetX(ctx, a.ID); got.State != appointment.StateCONFIRMED {
		t.Fatalf("after payment: %s", got.State)
	}
	rows := history(a.ID)
	if !process(ev("evt_ok", payments.IntentSucceeded, a)) {
		t.Fatal("redelivery not recognised")
	}
	// The gateway reports the same payment again under another event id.
	if err := n.gw.Complete(ctx, *a.PaymentIntentID, true); err != nil {
		t.Fatal(err)
	}
	process(ev("evt_fail_late", payments.IntentFailed, a)) // out of order
	if got := n.db.Client.Appointment.GetX(ctx, a.ID); got.State != appointment.StateCONFIRMED || history(a.ID) != rows {
		t.Fatalf("late events changed the appointment: %s, %d history rows (want %d)", got.State, history(a.ID), rows)
	}
	// An event for an order (no appointment id) is not ours.
	process(payments.Event{ID: "evt_order", Type: payments.IntentSucceeded, IntentID: "pi_order", Metadata: map[string]string{"order_id": "ord_1"}})

	// Late payment: the hold expires, someone else takes the time, then
	// the money arrives.
	slot := n.at("2026-05-06 09:00")
	lateB := n.guestBook(n.paid, slot, booking.Guest{Name: "Kim", Email: "kim@example.com", Phone: "+61400000001"})
	n.setNow("2026-05-01T00:30:00Z")
	if _, err := n.eng.ExpireHolds(n.staff); err != nil {
		t.Fatal(err)
	}
	// Released unpaid: its PaymentIntent is cancelled through the outbox.
	if c := n.db.Client.Job.Query().Where(job.IdempotencyKey(booking.KindCancelIntent + ":" + *lateB.Appointment.PaymentIntentID)).CountX(ctx); c != 1 {
		t.Fatalf("%d intent cancellations queued for the expired booking, want 1", c)
	}
	other := n.guestBook(n.paid, slot, booking.Guest{Name: "Lee", Email: "lee@example.com", Phone: "+61400000002"})
	if err := n.gw.Complete(ctx, *other.Appointment.PaymentIntentID, true); err != nil {
		t.Fatal(err)
	}
	if err := n.gw.Complete(ctx, *lateB.Appointment.PaymentIntentID, true); err != nil {
		t.Fatal(err)
	}
	process(ev("evt_late_again", payments.IntentSucceeded, lateB.Appointment)) // a second report of it
	if got := n.db.Client.Appointment.GetX(ctx, lateB.Appointment.ID); got.State != appointment.StateCANCELLED {
		t.Fatalf("late payment revived the appointment: %s", got.State)
	}

	// Staff cancel the first (confirmed, paid) appointment: refunded.
	if _, err := n.eng.Cancel(n.staff, booking.ChangeInput{AppointmentID: a.ID}); err != nil {
		t.Fatal(err)
	}
	n.drain()
	n.gw.mu.Lock()
	var refunded []string
	for _, r := range n.gw.refunds {
		refunded = append(refunded, r.IntentID+" "+r.IdempotencyKey)
	}
	n.gw.mu.Unlock()
	sort.Strings(refunded)
	want := []string{
		*a.PaymentIntentID + " " + booking.KindRefund + ":" + *a.PaymentIntentID,
		*lateB.Appointment.PaymentIntentID + " " + booking.KindRefund + ":" + *lateB.Appointment.PaymentIntentID,
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, refunded); diff != "" {
		t.Errorf("refunds (-want +got):\n%s", diff)
	}
	// Kim is told, and offered other times; Lee is confirmed.
	if diff := cmp.Diff([]string{"EMAIL booking_refund"}, n.sent("kim@example.com")); diff != "" {
		t.Errorf("late payer's mail (-want +got):\n%s", diff)
	}
	if body := n.bodies("kim@example.com", "booking_refund"); len(body) != 1 ||
		!strings.Contains(body[0], "https://clinic.example/book?practitioner="+string(n.prac.ID)+"&service=initial") ||
		!strings.Contains(body[0], "AUD 150.00") {
		t.Errorf("late payer's refund mail: %q", body)
	}
	if got := n.sent("lee@example.com"); !slices.Contains(got, "EMAIL booking_confirmation") {
		t.Errorf("second payer's mail: %v", got)
	}
	// Jo: confirmation once (despite three success reports), cancellation,
	// refund notice; no reminders for the cancelled appointment.
	want = []string{"EMAIL booking_cancelled", "EMAIL booking_confirmation", "EMAIL booking_refund"}
	if diff := cmp.Diff(want, n.sent("jo@example.com")); diff != "" {
		t.Errorf("paid guest's mail (-want +got):\n%s", diff)
	}
}

func viewer(id gid.ID) context.Context {
	return identity.WithViewer(context.Background(), &identity.Viewer{UserID: id, Role: identity.RoleCustomer})
}

// TestPaymentRacesTheSweeper: payments landing while the sweeper releases
// the same expired bookings. Each appointment ends either confirmed with
// no refund, or cancelled with exactly one refund job — never both, never
// a confirmed appointment whose time was released.
func TestPaymentRacesTheSweeper(t *testing.T) {
	n := newNotifying(t)
	ctx := context.Background()
	const k = 8
	var booked []*ent.Appointment
	for i := range k {
		b := n.guestBook(n.paid, n.at("2026-05-05 09:00").AddDate(0, 0, i), jo)
		booked = append(booked, b.Appointment)
	}
	n.setNow("2026-05-01T00:30:00Z") // every hold has expired
	var wg sync.WaitGroup
	errs := make(chan error, k+1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := n.eng.ExpireHolds(n.staff); err != nil {
			errs <- err
		}
	}()
	for i, a := range booked {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := payments.Event{ID: "evt_race_" + string(rune('a'+i)), Type: payments.IntentSucceeded, IntentID: *a.PaymentIntentID,
				Amount: a.PriceAmount, Currency: a.Currency, Metadata: map[string]string{"appointment_id": string(a.ID)}}
			var err error
			for range 3 { // the provider retries a delivery that failed (a deadlock on MariaDB)
				if _, err = n.wh.Process(ctx, "stripe", ev); err == nil {
					return
				}
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	confirmed := 0
	for _, a := range booked {
		got := n.db.Client.Appointment.GetX(ctx, a.ID)
		refunds := n.db.Client.Job.Query().Where(job.IdempotencyKey(booking.KindRefund + ":" + *a.PaymentIntentID)).CountX(ctx)
		cancels := n.db.Client.Job.Query().Where(job.IdempotencyKey(booking.KindCancelIntent + ":" + *a.PaymentIntentID)).CountX(ctx)
		claimed := n.db.Client.SlotClaim.Query().Where(slotclaim.AppointmentID(a.ID)).ExistX(ctx)
		switch {
		case got.State == appointment.StateCONFIRMED && refunds == 0 && cancels == 0 && claimed:
			confirmed++
		case got.State == appointment.StateCANCELLED && refunds == 1 && cancels == 1 && !claimed:
		default:
			t.Errorf("%s: %s with %d refund and %d intent-cancel jobs, time claimed %v", a.ID, got.State, refunds, cancels, claimed)
		}
	}
	t.Logf("%d of %d confirmed, the rest refunded", confirmed, k)
}

// TestWebhookConfirmationIsPublished: the confirmation made inside the
// webhook's transaction reaches appointmentStatusChanged watchers after
// the commit, as the engine's own changes do.
func TestWebhookConfirmationIsPublished(t *testing.T) {
	n := newNotifying(t)
	bus := events.NewMemory()
	t.Cleanup(func() { _ = bus.Close() })
	n.eng.Changes = booking.Sinks{n.eng.Changes, booking.EventSink{Bus: bus}}
	b := n.guestBook(n.paid, n.at("2026-05-05 09:00"), jo)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	watch, err := n.eng.WatchAppointment(ctx, bus, b.Appointment.ID, b.ManageToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.gw.Complete(ctx, *b.Appointment.PaymentIntentID, true); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-watch:
		if a == nil || a.State != appointment.StateCONFIRMED {
			t.Fatalf("watched %+v", a)
		}
	case <-ctx.Done():
		t.Fatal("no status change published for the webhook's confirmation")
	}
}
