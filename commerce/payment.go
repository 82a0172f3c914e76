package commerce

import (
	"context"
	"errors"
	"fmt"
	"time"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/order"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/integrations/mail"
	"frontdesk/outbox"
	"frontdesk/payments"
	"frontdesk/webhooks"
)

// RegisterWebhooks subscribes the order handlers to payment events. Each
// runs inside the transaction that records the event id, so a redelivered
// event is ignored and a failed handler is retried by the provider. Every
// handler reads the order's current state and only moves it forward, so
// events may arrive in any order.
func (s *Service) RegisterWebhooks(w *payments.Webhooks) {
	w.On(payments.IntentSucceeded, s.onSucceeded)
	w.On(payments.IntentFailed, s.onFailed)
	w.On(payments.ChargeRefunded, s.onRefunded)
}

// orderForEvent locks and finds the order a payment event is about, or
// nil when it is not about an order (booking payments share the webhook).
// The order row reads current (this transaction has just updated it), but
// on MySQL other tables read as of the webhook transaction's first read,
// so every change is a conditional UPDATE or guarded by a unique index,
// and one that finds things changed fails and is retried by the provider.
func (s *Service) orderForEvent(ctx context.Context, tx *ent.Tx, ev payments.Event) (*ent.Order, error) {
	id := gid.ID(ev.Metadata["order_id"])
	if id == "" && ev.IntentID != "" {
		found, err := tx.Order.Query().Where(order.PaymentIntentID(ev.IntentID)).IDs(ctx)
		if err != nil {
			return nil, fmt.Errorf("find order for payment event: %w", err)
		}
		if len(found) == 1 {
			id = found[0]
		}
	}
	if id == "" {
		return nil, nil
	}
	if err := s.lockOrder(ctx, tx, id); err != nil {
		return nil, err
	}
	o, err := tx.Order.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find order for payment event: %w", err)
	}
	if o.PaymentIntentID != nil && ev.IntentID != "" && *o.PaymentIntentID != ev.IntentID {
		return nil, fmt.Errorf("payment event %s: intent %s does not belong to order %s", ev.ID, ev.IntentID, o.ID)
	}
	return o, nil
}

func (s *Service) onSucceeded(ctx context.Context, tx *ent.Tx, ev payments.Event) error {
	o, err := s.orderForEvent(ctx, tx, ev)
	if err != nil || o == nil {
		return err
	}
	if ev.Amount != 0 && (ev.Amount != o.Total) {
		s.log.ErrorContext(ctx, "payment amount differs from order total", "order", o.ID, "paid", ev.Amount, "total", o.Total)
	}
	_, err = s.settle(ctx, tx, o, ev.IntentID)
	return err
}

// settle applies a successful payment to o: it commits the reserved stock
// and marks the order paid. A payment that arrives after the reservation
// was released (expiry, an earlier failed attempt) reserves again; when
// the stock is gone the order is cancelled, the money refunded through the
// outbox and the customer told. Orders already paid are left alone.
func (s *Service) settle(ctx context.Context, tx *ent.Tx, o *ent.Order, intentID string) (*ent.Order, error) {
	if o.PaidAt != nil || (o.State != order.StatePENDING_PAYMENT && o.State != order.StateCANCELLED) {
		return o, nil // already settled: a duplicate or late event
	}
	if err := s.lockUnpaid(ctx, tx, o); err != nil {
		return nil, err
	}
	lines, err := orderLines(ctx, tx.Client(), o.ID)
	if err != nil {
		return nil, err
	}
	if o.Reservation != order.ReservationHELD {
		ok, err := s.reserveAll(ctx, tx, lines)
		if err != nil {
			return nil, err
		}
		if !ok {
			return s.refundLate(ctx, tx, o, intentID)
		}
	}
	for _, l := range lines {
		if err := s.catalog.Commit(ctx, tx, l.VariantID, l.Quantity); err != nil {
			return nil, fmt.Errorf("commit stock of %s: %w", o.ID, err)
		}
	}
	reason := "payment received"
	if o.State == order.StateCANCELLED {
		reason = "payment received after the order expired; stock was still available"
		// The cancellation gave the discount use back; the customer paid
		// the discounted price, so it counts again.
		if err := reclaimDiscount(ctx, tx, o); err != nil {
			return nil, err
		}
	}
	if o.PaymentIntentID == nil && intentID != "" {
		if err := tx.Order.UpdateOneID(o.ID).SetPaymentIntentID(intentID).Exec(ctx); err != nil {
			return nil, fmt.Errorf("record payment intent: %w", err)
		}
		o.PaymentIntentID = &intentID
	}
	return s.markPaidCommitted(ctx, tx, o, ActorPayment, reason)
}

// lockUnpaid checks, with an UPDATE conditional on the state o was read
// in, that the order is still unpaid before any stock moves; a payment
// racing a cancellation fails here and is retried by the provider, then
// finding the order cancelled. (The row is already locked by
// orderForEvent.)
//
// The UPDATE always changes updated_at: MySQL counts only rows whose
// values change, so an unchanged row would read as "changed meanwhile".
func (s *Service) lockUnpaid(ctx context.Context, tx *ent.Tx, o *ent.Order) error {
	n, err := tx.Order.Update().Where(order.ID(o.ID), order.StateEQ(o.State), order.PaidAtIsNil(),
		order.ReservationEQ(o.Reservation)).SetUpdatedAt(s.touch(o)).Save(ctx)
	if err != nil {
		return fmt.Errorf("lock order %s: %w", o.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("settle payment of %s: the order changed meanwhile; retry", o.ID)
	}
	return nil
}

// touch is a new updated_at for o that differs from the stored one, so a
// conditional UPDATE that matches always counts as a change.
func (s *Service) touch(o *ent.Order) time.Time {
	if at := s.now(); at.After(o.UpdatedAt) {
		return at
	}
	return o.UpdatedAt.Add(time.Microsecond)
}

// markPaid marks an order with nothing to pay as paid, committing its
// reserved stock.
func (s *Service) markPaid(ctx context.Context, tx *ent.Tx, o *ent.Order, actor, reason string) (*ent.Order, error) {
	lines, err := orderLines(ctx, tx.Client(), o.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		if err := s.catalog.Commit(ctx, tx, l.VariantID, l.Quantity); err != nil {
			return nil, fmt.Errorf("commit stock of %s: %w", o.ID, err)
		}
	}
	return s.markPaidCommitted(ctx, tx, o, actor, reason)
}

func (s *Service) markPaidCommitted(ctx context.Context, tx *ent.Tx, o *ent.Order, actor, reason string) (*ent.Order, error) {
	o, err := s.transition(ctx, tx, o, order.StatePAID, actor, reason, func(u *ent.OrderUpdate) {
		u.SetReservation(order.ReservationCOMMITTED).SetPaymentFailure("")
	})
	if err != nil {
		return nil, err
	}
	if err := s.email(ctx, tx, o, mail.OrderConfirmation, "order_confirmation:"+string(o.ID), nil); err != nil {
		return nil, err
	}
	if o.Total > 0 {
		if err := s.email(ctx, tx, o, mail.PaymentReceipt, "payment_receipt:"+string(o.ID), map[string]any{"amount": o.Total}); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// reserveAll reserves every line or none: when one is out of stock the
// ones already reserved are released and ok is false.
func (s *Service) reserveAll(ctx context.Context, tx *ent.Tx, lines []*ent.OrderLine) (ok bool, err error) {
	for i, l := range lines {
		err := s.catalog.Reserve(ctx, tx, l.VariantID, l.Quantity)
		var ue *errcode.UserError
		if errors.As(err, &ue) && ue.Code == errcode.OutOfStock {
			for _, done := range lines[:i] {
				if err := s.catalog.Release(ctx, tx, done.VariantID, done.Quantity); err != nil {
					return false, fmt.Errorf("release stock: %w", err)
				}
			}
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reserve stock: %w", err)
		}
	}
	return true, nil
}

// refundLate handles money received for an order whose stock is gone: the
// order is cancelled (if it was not yet) and the payment refunded in full
// through the outbox; the refund email goes out when the refund lands.
func (s *Service) refundLate(ctx context.Context, tx *ent.Tx, o *ent.Order, intentID string) (*ent.Order, error) {
	const reason = "payment received after the reservation expired and the stock was sold; refunding in full"
	now := s.now()
	set := func(u *ent.OrderUpdate) {
		u.SetPaidAt(now).SetRefundRequested(o.Total)
		if o.PaymentIntentID == nil && intentID != "" {
			u.SetPaymentIntentID(intentID)
		}
	}
	var err error
	if o.State == order.StateCANCELLED {
		u := tx.Order.Update().Where(order.ID(o.ID), order.StateEQ(o.State), order.PaidAtIsNil())
		set(u)
		n, err := u.Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("record late payment: %w", err)
		}
		if n == 0 {
			return nil, errors.New("record late payment: the order changed meanwhile")
		}
		if err := s.history(ctx, tx, o.ID, string(o.State), string(o.State), ActorPayment, reason); err != nil {
			return nil, err
		}
	} else if _, err = s.transition(ctx, tx, o, order.StateCANCELLED, ActorPayment, reason, set); err != nil {
		return nil, err
	}
	if o, err = tx.Order.Get(ctx, o.ID); err != nil {
		return nil, fmt.Errorf("reload order: %w", err)
	}
	if err := enqueueRefund(ctx, tx, o, o.Total, o.Total, "requested_by_customer", "out of stock after late payment"); err != nil {
		return nil, err
	}
	return o, nil
}

func (s *Service) onFailed(ctx context.Context, tx *ent.Tx, ev payments.Event) error {
	o, err := s.orderForEvent(ctx, tx, ev)
	if err != nil || o == nil {
		return err
	}
	if o.State != order.StatePENDING_PAYMENT || o.PaidAt != nil {
		return nil // paid meanwhile (events out of order) or already closed
	}
	msg := ev.FailureMessage
	if msg == "" {
		msg = "the payment failed"
	}
	if len(msg) > 500 {
		msg = msg[:500]
	}
	// The order row first (as everywhere), then the stock.
	held := o.Reservation == order.ReservationHELD
	u := tx.Order.Update().Where(order.ID(o.ID), order.StateEQ(order.StatePENDING_PAYMENT), order.PaidAtIsNil(),
		order.ReservationEQ(o.Reservation)).SetPaymentFailure(msg).SetUpdatedAt(s.touch(o))
	if held {
		u.SetReservation(order.ReservationRELEASED)
	}
	if n, err := u.Save(ctx); err != nil || n == 0 {
		return errors.Join(fmt.Errorf("record payment failure of %s (updated %d)", o.ID, n), err)
	}
	if held {
		lines, err := orderLines(ctx, tx.Client(), o.ID)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if err := s.catalog.Release(ctx, tx, l.VariantID, l.Quantity); err != nil {
				return fmt.Errorf("release stock of %s: %w", o.ID, err)
			}
		}
	}
	if err := webhooks.Emit(ctx, tx, webhooks.OrderPaymentFailed, webhooks.Data{OrderID: o.ID, State: string(o.State)}); err != nil {
		return err
	}
	return s.history(ctx, tx, o.ID, string(o.State), string(o.State), ActorPayment, "payment failed: "+msg)
}

func (s *Service) onRefunded(ctx context.Context, tx *ent.Tx, ev payments.Event) error {
	o, err := s.orderForEvent(ctx, tx, ev)
	if err != nil || o == nil {
		return err
	}
	// A refund proves the payment succeeded, even when that event has not
	// arrived yet.
	if o, err = s.settle(ctx, tx, o, ev.IntentID); err != nil {
		return err
	}
	return s.applyRefund(ctx, tx, o, ev.AmountRefunded)
}

// applyRefund records that refunded (the cumulative amount, as the
// provider reports it) has been returned, moving the order to REFUNDED or
// PARTIALLY_REFUNDED. A figure at or below what is recorded changes
// nothing, so duplicate, late and reordered reports are harmless.
func (s *Service) applyRefund(ctx context.Context, tx *ent.Tx, o *ent.Order, refunded int64) error {
	if refunded <= o.AmountRefunded {
		return nil
	}
	refunded = min(refunded, o.Total)
	to := order.StatePARTIALLY_REFUNDED
	if refunded >= o.Total {
		to = order.StateREFUNDED
	}
	set := func(u *ent.OrderUpdate) {
		u.Where(order.AmountRefundedLT(refunded)).SetAmountRefunded(refunded)
		if o.RefundRequested < refunded {
			u.SetRefundRequested(refunded)
		}
	}
	reason := fmt.Sprintf("refunded %d of %d %s", refunded, o.Total, o.Currency)
	var err error
	if o.State != to && CanTransition(o.State, to) {
		_, err = s.transition(ctx, tx, o, to, ActorPayment, reason, set)
	} else {
		u := tx.Order.Update().Where(order.ID(o.ID), order.StateEQ(o.State))
		set(u)
		var n int
		if n, err = u.Save(ctx); err == nil && n == 0 {
			err = errors.New("the order changed meanwhile")
		}
		if err == nil {
			err = s.history(ctx, tx, o.ID, string(o.State), string(o.State), ActorPayment, reason)
		}
	}
	if err != nil {
		return fmt.Errorf("apply refund to %s: %w", o.ID, err)
	}
	now := o.State
	if o.State != to && CanTransition(o.State, to) {
		now = to
	}
	if err := emitRefund(ctx, tx, o.ID, o.State, now, refunded); err != nil {
		return err
	}
	return s.email(ctx, tx, o, mail.Refund, fmt.Sprintf("refund:%s:%d", o.ID, refunded), map[string]any{"amount": refunded - o.AmountRefunded})
}

// Refund job: returns money through the gateway with an idempotency key,
// then records it (the provider's charge.refunded webhook records the same
// figure; whichever comes second changes nothing).
const kindRefund = "commerce.refund"

type refundJob struct {
	OrderID gid.ID `json:"orderId"`
	Amount  int64  `json:"amount"`
	// Cumulative is the total refunded once this refund lands.
	Cumulative int64  `json:"cumulative"`
	Reason     string `json:"reason"`
	Note       string `json:"note"`
}

func enqueueRefund(ctx context.Context, tx *ent.Tx, o *ent.Order, amount, cumulative int64, reason, note string) error {
	_, err := outbox.Enqueue(ctx, tx, outbox.Job{
		Kind:           kindRefund,
		Payload:        refundJob{OrderID: o.ID, Amount: amount, Cumulative: cumulative, Reason: reason, Note: note},
		IdempotencyKey: fmt.Sprintf("refund:%s:%d", o.ID, cumulative),
	})
	if err != nil {
		return fmt.Errorf("enqueue refund: %w", err)
	}
	return nil
}

func (s *Service) runRefund(ctx context.Context, j *outbox.Running) error {
	var p refundJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	o, err := s.client.Order.Get(ctx, p.OrderID)
	if err != nil {
		return fmt.Errorf("read order: %w", err)
	}
	if o.PaymentIntentID == nil {
		return outbox.Permanent(fmt.Errorf("order %s has no payment to refund", o.ID))
	}
	// Refunds of one order land in the order they were requested: each job
	// records the cumulative figure, so one that ran ahead of an earlier,
	// unfinished (or failing) refund would mark money as returned that is
	// not. It waits, through the outbox's retries, until the refunds before
	// it are recorded (by their jobs or the provider's webhook).
	if before := p.Cumulative - p.Amount; o.AmountRefunded < before {
		return fmt.Errorf("refund %s: waiting for the earlier refunds of this order to land (%d of %d %s recorded)",
			o.ID, o.AmountRefunded, before, o.Currency)
	}
	// The provider dedupes by idempotency key, so a retried job that already
	// refunded does not refund twice; a refund already recorded (by the
	// webhook) is not sent again at all.
	if o.AmountRefunded < p.Cumulative && o.AmountRefunded < o.Total {
		if _, err := s.gateway.Refund(ctx, payments.RefundParams{
			IntentID: *o.PaymentIntentID, Amount: p.Amount, IdempotencyKey: j.IdempotencyKey, Reason: p.Reason,
		}); err != nil {
			return fmt.Errorf("refund %s: %w", o.ID, err)
		}
	}
	return database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		if err := s.lockOrder(ctx, tx, p.OrderID); err != nil {
			return err
		}
		o, err := tx.Order.Get(ctx, p.OrderID)
		if err != nil {
			return fmt.Errorf("read order: %w", err)
		}
		return s.applyRefund(ctx, tx, o, p.Cumulative)
	})
}

// DevelopmentIntent is a payments.IntentFinder over orders: it gives the
// development gateway back an order's intent after a restart or from
// another replica, with the metadata placeOrder created it with.
func (s *Service) DevelopmentIntent(ctx context.Context, intentID string) (payments.IntentParams, bool, error) {
	o, err := s.client.Order.Query().Where(order.PaymentIntentID(intentID)).Only(ctx)
	if ent.IsNotFound(err) {
		return payments.IntentParams{}, false, nil
	}
	if err != nil {
		return payments.IntentParams{}, false, fmt.Errorf("find order by intent: %w", err)
	}
	return payments.IntentParams{Amount: o.Total, Currency: o.Currency,
		Metadata: map[string]string{"order_id": string(o.ID), "order_number": o.Number}}, true, nil
}

// SettleDevelopmentPayment pays or declines any payment of the
// development gateway, named by its client secret; see
// payments.Development.Settle. Any other gateway refuses.
func (s *Service) SettleDevelopmentPayment(ctx context.Context, clientSecret string, succeed bool) (payments.Settled, error) {
	dev, ok := s.gateway.(*payments.Development)
	if !ok {
		return payments.Settled{}, ErrNotDevelopment
	}
	return dev.Settle(ctx, clientSecret, succeed)
}
