package booking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/appointmentstatechange"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/outbox"
	"frontdesk/payments"
)

// Paid bookings are confirmed by the payment provider's webhook: the
// handlers below run inside the transaction in which payments.Webhooks
// records the event id, so an event's effects commit exactly once and a
// redelivered event changes nothing. The appointment is found by the
// appointment_id the PaymentIntent carries in its metadata (set by Book);
// events without it belong to someone else (orders) and are ignored.
//
// Every handler locks the appointment row and acts on the state it finds,
// so duplicate, late and out-of-order events are harmless: a success for a
// confirmed appointment, or a failure after a success, changes nothing.
// Money is only ever returned through the outbox (KindRefund), written in
// the same transaction, never by calling the gateway after the commit.

// KindRefund is the outbox job that returns a booking payment in full.
const KindRefund = "booking.refund"

// metadataKey is the PaymentIntent metadata key that names the appointment.
const metadataKey = "appointment_id"

// KindCancelIntent is the outbox job that cancels the PaymentIntent of a
// booking released before it was paid, so a late confirmation cannot
// charge the patient (one that slips through is refunded by settle).
const KindCancelIntent = "booking.cancel_intent"

// RegisterPayments subscribes booking to payment events, declares the
// refund and intent-cancellation jobs, and puts the sink that queues
// cancellations in front of the engine's change sinks.
func (e *Engine) RegisterPayments(w *payments.Webhooks, reg *outbox.Registry) {
	w.On(payments.IntentSucceeded, e.onPaymentSucceeded)
	w.On(payments.IntentFailed, e.onPaymentFailed)
	reg.Register(outbox.Kind{Name: KindRefund, Handler: e.runRefund, Timeout: time.Minute})
	reg.Register(outbox.Kind{Name: KindCancelIntent, Handler: e.runCancelIntent, Timeout: time.Minute})
	e.Changes = Sinks{unpaidSink{}, e.Changes}
}

// unpaidSink queues the cancellation of the PaymentIntent of a booking
// that is cancelled (or expires) while still waiting for payment.
type unpaidSink struct{}

func (unpaidSink) InTx(ctx context.Context, tx *ent.Tx, c Change) error {
	a := c.Appointment
	if c.From != appointment.StatePENDING_PAYMENT || c.To != appointment.StateCANCELLED || a.PaymentIntentID == nil {
		return nil
	}
	_, err := outbox.Enqueue(ctx, tx, outbox.Job{
		Kind:           KindCancelIntent,
		Payload:        refundJob{AppointmentID: a.ID, IntentID: *a.PaymentIntentID},
		IdempotencyKey: KindCancelIntent + ":" + *a.PaymentIntentID,
	})
	if err != nil {
		return fmt.Errorf("enqueue payment intent cancellation of %s: %w", a.ID, err)
	}
	return nil
}

func (unpaidSink) Committed(context.Context, Change) {}

// IntentCanceller is implemented by payment gateways that can cancel an
// unpaid PaymentIntent (GatewayPayments does).
type IntentCanceller interface {
	CancelIntent(ctx context.Context, intentID, idempotencyKey string) error
}

// CancelIntent implements IntentCanceller.
func (g GatewayPayments) CancelIntent(ctx context.Context, intentID, key string) error {
	return g.Gateway.CancelIntent(ctx, intentID, key)
}

func (e *Engine) runCancelIntent(ctx context.Context, j *outbox.Running) error {
	var p refundJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	c, ok := e.Payments.(IntentCanceller)
	if !ok {
		return nil
	}
	err := c.CancelIntent(ctx, p.IntentID, j.IdempotencyKey)
	if errors.Is(err, payments.ErrDeclined) {
		// Stripe refuses to cancel an intent that has already succeeded:
		// the money arrived after all, and its webhook refunds it.
		slog.InfoContext(ctx, "payment intent not cancelled; it was paid meanwhile", "appointment", p.AppointmentID, "intent", p.IntentID, "error", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("cancel payment intent %s of appointment %s: %w", p.IntentID, p.AppointmentID, err)
	}
	return nil
}

// lockForPayment reads the appointment an event is about, locked for the
// rest of the transaction (so the hold sweeper cannot cancel it between
// our read and our write), or nil when the event is not about one.
//
// SQLite has no SELECT … FOR UPDATE and needs none: its transactions hold
// the database write lock from BEGIN.
func (e *Engine) lockForPayment(ctx context.Context, tx *ent.Tx, ev payments.Event) (*ent.Appointment, error) {
	id := gid.ID(ev.Metadata[metadataKey])
	if id == "" {
		return nil, nil
	}
	q := tx.Appointment.Query().Where(appointment.ID(id))
	q.Modify(func(s *entsql.Selector) {
		if s.Dialect() == dialect.MySQL {
			s.ForUpdate()
		}
	})
	a, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		slog.WarnContext(ctx, "payment event names an unknown appointment", "event", ev.ID, "appointment", id, "intent", ev.IntentID)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock appointment %s for payment: %w", id, err)
	}
	return a, nil
}

func (e *Engine) onPaymentSucceeded(ctx context.Context, tx *ent.Tx, ev payments.Event) error {
	a, err := e.lockForPayment(ctx, tx, ev)
	if err != nil || a == nil {
		return err
	}
	var done []Change
	if _, _, err := e.settle(ctx, tx, &done, a, ev.IntentID, ev.Amount, ev.Currency); err != nil {
		return err
	}
	e.afterCommit(tx, done)
	return nil
}

// afterCommit hands done to the change sinks' Committed (the event bus)
// once tx commits, as inTx does for the engine's own transactions.
func (e *Engine) afterCommit(tx *ent.Tx, done []Change) {
	if len(done) == 0 {
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil {
				for _, c := range done {
					e.Changes.Committed(ctx, c)
				}
			}
			return err
		})
	})
}

// settle applies a succeeded payment of intentID to the locked appointment
// a inside tx. An appointment waiting for this payment is confirmed; one
// already confirmed by it is left alone. Any other payment — for an
// appointment whose time was released (the hold expired before the money
// arrived), or a second intent for one already paid — is refunded in full
// through the outbox and the patient told, with a link to other times.
func (e *Engine) settle(ctx context.Context, tx *ent.Tx, done *[]Change, a *ent.Appointment, intentID string, amount int64, currency string) (PaymentOutcome, *ent.Appointment, error) {
	ours := a.PaymentIntentID != nil && *a.PaymentIntentID == intentID
	if ours && amount != 0 && amount != a.PriceAmount {
		slog.ErrorContext(ctx, "payment amount differs from the appointment's price", "appointment", a.ID, "paid", amount, "price", a.PriceAmount)
	}
	switch {
	case ours && (a.State == appointment.StateCONFIRMED || a.State == appointment.StateCOMPLETED || a.State == appointment.StateNO_SHOW):
		return PaymentConfirmed, a, nil // a duplicate or late report
	case ours && a.State == appointment.StatePENDING_PAYMENT:
		// The row is locked, so this cannot lose against the sweeper. A
		// payment that lands after holdExpiresAt but before the sweep still
		// finds its time claimed, and confirms.
		out, err := e.transition(ctx, tx, done, a, appointment.StateCONFIRMED, "", "payment succeeded", nil)
		if err != nil {
			return "", nil, err
		}
		return PaymentConfirmed, out, nil
	}
	if amount == 0 {
		amount, currency = a.PriceAmount, a.Currency
	}
	reason := "payment " + intentID + " arrived after the time was released; refunding in full"
	if ours && a.State != appointment.StateCANCELLED {
		reason = "payment " + intentID + " arrived for an appointment that was not waiting for it; refunding in full"
	} else if !ours {
		reason = "payment " + intentID + " is not this appointment's current payment; refunding in full"
	}
	// A history row says why the money goes back; it is written once per
	// payment even if differently-numbered events report it again.
	seen, err := tx.AppointmentStateChange.Query().Where(appointmentstatechange.AppointmentID(a.ID),
		appointmentstatechange.Reason(reason)).Exist(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("read appointment history: %w", err)
	}
	if !seen {
		if err := tx.AppointmentStateChange.Create().SetAppointmentID(a.ID).SetFromState(string(a.State)).
			SetToState(string(a.State)).SetReason(reason).SetStartAt(a.StartAt).Exec(ctx); err != nil {
			return "", nil, fmt.Errorf("record late payment: %w", err)
		}
	}
	if err := e.enqueueRefund(ctx, tx, a, intentID, amount, currency, true); err != nil {
		return "", nil, err
	}
	return PaymentRefunded, a, nil
}

func (e *Engine) onPaymentFailed(ctx context.Context, tx *ent.Tx, ev payments.Event) error {
	a, err := e.lockForPayment(ctx, tx, ev)
	if err != nil || a == nil {
		return err
	}
	// Only a booking still waiting for this payment cares; after a success
	// (events out of order) or once released, a failure changes nothing.
	// The slot stays held until holdExpiresAt so the patient can retry
	// with another card on the same intent; the sweeper releases it after.
	if a.State != appointment.StatePENDING_PAYMENT || a.PaymentIntentID == nil || *a.PaymentIntentID != ev.IntentID {
		return nil
	}
	msg := ev.FailureMessage
	if msg == "" {
		msg = "the payment failed"
	}
	reason := "payment failed: " + msg
	if len(reason) > 500 {
		reason = reason[:500]
	}
	if err := tx.AppointmentStateChange.Create().SetAppointmentID(a.ID).SetFromState(string(a.State)).
		SetToState(string(a.State)).SetReason(reason).SetStartAt(a.StartAt).Exec(ctx); err != nil {
		return fmt.Errorf("record payment failure of %s: %w", a.ID, err)
	}
	return nil
}

type refundJob struct {
	AppointmentID gid.ID `json:"appointmentId"`
	IntentID      string `json:"intentId"`
}

// enqueueRefund writes the job that returns payment intentID in full, and
// the patient's notice, inside tx. The job's idempotency key names the
// intent, so one payment is refunded at most once whatever asks for it;
// the gateway receives the same key.
func (e *Engine) enqueueRefund(ctx context.Context, tx *ent.Tx, a *ent.Appointment, intentID string, amount int64, currency string, late bool) error {
	_, err := outbox.Enqueue(ctx, tx, outbox.Job{
		Kind:           KindRefund,
		Payload:        refundJob{AppointmentID: a.ID, IntentID: intentID},
		IdempotencyKey: KindRefund + ":" + intentID,
	})
	if err != nil {
		return fmt.Errorf("enqueue refund of %s: %w", a.ID, err)
	}
	if e.notes != nil {
		return e.notes.refundNotice(ctx, tx, a, intentID, amount, currency, late)
	}
	return nil
}

func (e *Engine) runRefund(ctx context.Context, j *outbox.Running) error {
	var p refundJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	if p.IntentID == "" {
		return outbox.Permanent(errors.New("refund job without a payment intent"))
	}
	err := e.Payments.Refund(ctx, p.IntentID, j.IdempotencyKey)
	if errors.Is(err, payments.ErrDeclined) {
		// Refused, not failed (already refunded in the dashboard, disputed):
		// retrying cannot help; the DEAD job shows an admin.
		return outbox.Permanent(fmt.Errorf("refund %s of appointment %s: %w", p.IntentID, p.AppointmentID, err))
	}
	if err != nil {
		return fmt.Errorf("refund %s of appointment %s: %w", p.IntentID, p.AppointmentID, err)
	}
	return nil
}

// PaymentOutcome says what a succeeded payment did.
type PaymentOutcome string

// Payment outcomes.
const (
	// PaymentConfirmed: the appointment is confirmed (or already was).
	PaymentConfirmed PaymentOutcome = "CONFIRMED"
	// PaymentRefunded: the payment could not be applied — usually the hold
	// had expired and its time was released before the money arrived — so
	// a full refund was queued and the patient offered other times.
	PaymentRefunded PaymentOutcome = "REFUNDED"
)

// PaymentSucceeded applies a succeeded payment of intentID as the webhook
// does, in its own transaction, for callers that learn of a payment
// another way (staff tools, tests). Repeated calls are harmless.
func (e *Engine) PaymentSucceeded(ctx context.Context, intentID string) (PaymentOutcome, *ent.Appointment, error) {
	if _, err := identity.Require(ctx, identity.ManageBookings); err != nil {
		return "", nil, err
	}
	id, err := e.Client.Appointment.Query().Where(appointment.PaymentIntentID(intentID)).OnlyID(ctx)
	if ent.IsNotFound(err) {
		return "", nil, ErrAppointmentNotFound
	}
	if err != nil {
		return "", nil, fmt.Errorf("find appointment for payment: %w", err)
	}
	var outcome PaymentOutcome
	var out *ent.Appointment
	err = e.inTx(ctx, "", func(tx *ent.Tx, done *[]Change) error {
		a, err := e.lockForPayment(ctx, tx, payments.Event{IntentID: intentID, Metadata: map[string]string{metadataKey: string(id)}})
		if err != nil {
			return err
		}
		if a == nil {
			return ErrAppointmentNotFound
		}
		outcome, out, err = e.settle(ctx, tx, done, a, intentID, 0, "")
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return outcome, out.Unwrap(), nil
}
