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
	"frontdesk/identity"
	"frontdesk/outbox"
)

// Job kinds this package registers.
const (
	kindCancelIntent = "commerce.cancel_intent"
	kindExpire       = "commerce.expire_reservations"
)

// Register declares the commerce jobs: refunds, intent cancellation and
// the recurring release of reservations whose payment never came.
func (s *Service) Register(reg *outbox.Registry) {
	reg.Register(outbox.Kind{Name: kindRefund, Handler: s.runRefund, Timeout: time.Minute})
	reg.Register(outbox.Kind{Name: kindCancelIntent, Handler: s.runCancelIntent, Timeout: time.Minute})
	reg.Every("@every 1m", outbox.Kind{Name: kindExpire, Handler: func(ctx context.Context, _ *outbox.Running) error {
		_, err := s.ExpireReservations(ctx, 200)
		return err
	}, Timeout: 5 * time.Minute, Concurrency: 1})
}

// ExpireReservations cancels up to limit orders whose payment did not
// arrive before their reservation ran out, releasing their stock and
// cancelling their PaymentIntents so no late charge happens (a payment
// that slips through anyway is handled by settle). It returns how many
// orders it cancelled.
func (s *Service) ExpireReservations(ctx context.Context, limit int) (int, error) {
	ctx = identity.SystemContext(ctx)
	ids, err := s.client.Order.Query().
		Where(order.StateEQ(order.StatePENDING_PAYMENT), order.ReservedUntilLT(s.now())).
		Limit(limit).IDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("find expired orders: %w", err)
	}
	n := 0
	var errs []error
	for _, id := range ids {
		err := database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
			if err := s.lockOrder(ctx, tx, id); err != nil {
				return err
			}
			o, err := tx.Order.Get(ctx, id)
			if err != nil {
				return err
			}
			if o.State != order.StatePENDING_PAYMENT {
				return errcode.Invalidf(errcode.Conflict, "", "no longer pending")
			}
			_, err = s.cancelPending(ctx, tx, o, ActorSystem, "payment not received before the reservation expired")
			return err
		})
		var ue *errcode.UserError
		if errors.As(err, &ue) && ue.Code == errcode.Conflict {
			continue // paid or cancelled meanwhile; nothing to expire
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("expire %s: %w", id, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// cancelPending cancels an unpaid order: its stock is released, its
// discount code use given back and its PaymentIntent cancelled through
// the outbox. The order row is updated first (conditional on its state),
// so a payment being settled at the same moment either wins and this
// fails with CONFLICT, or waits and finds the order cancelled.
func (s *Service) cancelPending(ctx context.Context, tx *ent.Tx, o *ent.Order, actor, reason string) (*ent.Order, error) {
	held := o.Reservation == order.ReservationHELD
	out, err := s.transition(ctx, tx, o, order.StateCANCELLED, actor, reason, func(u *ent.OrderUpdate) {
		u.SetReservation(order.ReservationRELEASED)
	})
	if err != nil {
		return nil, err
	}
	if err := releaseDiscount(ctx, tx, o); err != nil {
		return nil, err
	}
	if held {
		lines, err := orderLines(ctx, tx.Client(), o.ID)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			if err := s.catalog.Release(ctx, tx, l.VariantID, l.Quantity); err != nil {
				return nil, fmt.Errorf("release stock of %s: %w", o.ID, err)
			}
		}
	}
	if o.PaymentIntentID != nil {
		if _, err := outbox.Enqueue(ctx, tx, outbox.Job{
			Kind:           kindCancelIntent,
			Payload:        cancelIntentJob{OrderID: o.ID, IntentID: *o.PaymentIntentID},
			IdempotencyKey: "cancel_intent:" + *o.PaymentIntentID,
		}); err != nil {
			return nil, fmt.Errorf("enqueue intent cancellation: %w", err)
		}
	}
	return out, nil
}

type cancelIntentJob struct {
	OrderID  gid.ID `json:"orderId"`
	IntentID string `json:"intentId"`
}

func (s *Service) runCancelIntent(ctx context.Context, j *outbox.Running) error {
	var p cancelIntentJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	if err := s.gateway.CancelIntent(ctx, p.IntentID, j.IdempotencyKey); err != nil {
		return fmt.Errorf("cancel intent of %s: %w", p.OrderID, err)
	}
	return nil
}
