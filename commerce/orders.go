package commerce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/order"
	"frontdesk/ent/orderevent"
	"frontdesk/ent/predicate"
	"frontdesk/ent/refundrequest"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/payments"
	"frontdesk/text"
)

// canView reports whether the caller may see o: staff who manage orders,
// the customer who owns it, or whoever holds the token of the cart it was
// placed from.
func canView(ctx context.Context, o *ent.Order, token string) bool {
	v := identity.ViewerFrom(ctx)
	if v.Can(identity.ManageOrders) {
		return true
	}
	if v != nil && v.UserID != "" && o.UserID != nil && *o.UserID == v.UserID {
		return true
	}
	if token != "" && o.GuestTokenHash != nil && *o.GuestTokenHash == hashToken(token) {
		identity.Grant(ctx, o.ID) // its edges and payloads show it in this operation
		return true
	}
	return false
}

// Order returns an order the caller may see; any other id is not found,
// so order ids reveal nothing.
func (s *Service) Order(ctx context.Context, id gid.ID, token string) (*ent.Order, error) {
	o, err := s.client.Order.Get(ctx, id)
	if ent.IsNotFound(err) || (err == nil && !canView(ctx, o, token)) {
		return nil, ErrOrderNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read order: %w", err)
	}
	return o, nil
}

// OrderOfLine returns the order of a line: the one Order.lines attached,
// else read once more. The caller already shows the line.
func (s *Service) OrderOfLine(ctx context.Context, l *ent.OrderLine) (*ent.Order, error) {
	if o, err := l.Edges.OrderOrErr(); err == nil {
		return o, nil
	}
	o, err := s.client.Order.Get(ctx, l.OrderID)
	if err != nil {
		return nil, fmt.Errorf("load order of line: %w", err)
	}
	return o, nil
}

// Lines returns an order's line snapshots.
func (s *Service) Lines(ctx context.Context, o *ent.Order) ([]*ent.OrderLine, error) {
	return orderLines(ctx, s.client, o.ID)
}

// History returns an order's state changes, oldest first.
func (s *Service) History(ctx context.Context, o *ent.Order) ([]*ent.OrderEvent, error) {
	return s.client.OrderEvent.Query().Where(orderevent.OrderID(o.ID)).
		Order(ent.Asc(orderevent.FieldCreatedAt), ent.Asc(orderevent.FieldID)).All(ctx)
}

// MyOrders returns the signed-in customer's orders, for pagination.
func (s *Service) MyOrders(ctx context.Context) (*ent.OrderQuery, error) {
	v, err := identity.RequireViewer(ctx)
	if err != nil {
		return nil, err
	}
	if v.UserID == "" {
		return nil, identity.ErrForbidden
	}
	return s.client.Order.Query().Where(order.UserID(v.UserID)), nil
}

// OrderFilter narrows the staff order list. Zero fields do not filter.
type OrderFilter struct {
	States     []order.State
	From, To   time.Time
	CustomerID gid.ID
	MinTotal   *int64
	MaxTotal   *int64
	// Search matches the order number or the email (prefix).
	Search string
}

// Orders returns the orders matching f, for staff who manage orders.
func (s *Service) Orders(ctx context.Context, f OrderFilter) (*ent.OrderQuery, error) {
	if _, err := identity.Require(ctx, identity.ManageOrders); err != nil {
		return nil, err
	}
	var ps []predicate.Order
	if len(f.States) > 0 {
		ps = append(ps, order.StateIn(f.States...))
	}
	if !f.From.IsZero() {
		ps = append(ps, order.CreatedAtGTE(f.From.UTC()))
	}
	if !f.To.IsZero() {
		ps = append(ps, order.CreatedAtLT(f.To.UTC()))
	}
	if f.CustomerID != "" {
		ps = append(ps, order.UserID(f.CustomerID))
	}
	if f.MinTotal != nil {
		ps = append(ps, order.TotalGTE(*f.MinTotal))
	}
	if f.MaxTotal != nil {
		ps = append(ps, order.TotalLTE(*f.MaxTotal))
	}
	if q := strings.TrimSpace(f.Search); q != "" {
		ps = append(ps, order.Or(order.Number(strings.ToUpper(q)), order.EmailHasPrefix(strings.ToLower(q))))
	}
	return s.client.Order.Query().Where(ps...), nil
}

// staffOrder locks and loads an order for a staff action.
func (s *Service) staffOrder(ctx context.Context, tx *ent.Tx, id gid.ID) (*ent.Order, error) {
	if err := s.lockOrder(ctx, tx, id); err != nil {
		return nil, err
	}
	o, err := tx.Order.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, ErrOrderNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read order: %w", err)
	}
	return o, nil
}

// Fulfilment is how an order was shipped.
type Fulfilment struct {
	Carrier        string
	TrackingNumber string
	TrackingURL    string
}

// Fulfil marks a paid order as shipped and emails the customer the
// tracking details.
func (s *Service) Fulfil(ctx context.Context, id gid.ID, f Fulfilment) (*ent.Order, error) {
	if _, err := identity.Require(ctx, identity.ManageOrders); err != nil {
		return nil, err
	}
	f.Carrier, f.TrackingNumber, f.TrackingURL = strings.TrimSpace(f.Carrier), strings.TrimSpace(f.TrackingNumber), strings.TrimSpace(f.TrackingURL)
	var errs errcode.UserErrors
	// Both are printed in the shipping email: one line of plain text.
	f.Carrier = text.Check(&errs, text.SingleLine, "carrier", f.Carrier, 100)
	f.TrackingNumber = text.Check(&errs, text.SingleLine, "trackingNumber", f.TrackingNumber, 100)
	if f.TrackingURL != "" && !strings.HasPrefix(f.TrackingURL, "https://") || len(f.TrackingURL) > 2048 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "trackingUrl", "use an https:// link"))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	var out *ent.Order
	err := database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		o, err := s.staffOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		reason := "shipped"
		if f.Carrier != "" {
			reason = "shipped with " + f.Carrier
		}
		out, err = s.transition(ctx, tx, o, order.StateFULFILLED, actor(ctx), reason, func(u *ent.OrderUpdate) {
			u.SetCarrier(f.Carrier).SetTrackingNumber(f.TrackingNumber).SetTrackingURL(f.TrackingURL)
		})
		if err != nil {
			return err
		}
		link := f.TrackingURL
		if link == "" {
			link = s.orderLink(out)
		}
		return s.email(ctx, tx, out, "order_shipped", "order_shipped:"+string(o.ID), map[string]any{
			"link": link, "carrier": f.Carrier, "trackingNumber": f.TrackingNumber,
		})
	})
	return out, userErrs(err)
}

// MarkDelivered records that a shipped order arrived.
func (s *Service) MarkDelivered(ctx context.Context, id gid.ID) (*ent.Order, error) {
	if _, err := identity.Require(ctx, identity.ManageOrders); err != nil {
		return nil, err
	}
	var out *ent.Order
	err := database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		o, err := s.staffOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		out, err = s.transition(ctx, tx, o, order.StateDELIVERED, actor(ctx), "delivered", nil)
		return err
	})
	return out, userErrs(err)
}

// Cancel cancels an order with a reason, recorded in its history.
//
//   - An unpaid order releases its reserved stock, gives back its discount
//     code use and has its PaymentIntent cancelled.
//   - A paid, unshipped order puts its units back on hand (catalog
//     restock), gives back its discount code use and is refunded in full
//     (what is not yet refunded) through the outbox; it becomes REFUNDED
//     when the provider confirms.
//
// Shipped orders cannot be cancelled; refund them instead.
func (s *Service) Cancel(ctx context.Context, id gid.ID, reason string) (*ent.Order, error) {
	if _, err := identity.Require(ctx, identity.ManageOrders); err != nil {
		return nil, err
	}
	if err := checkReason(reason); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	var out *ent.Order
	err := database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		o, err := s.staffOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		if !CanTransition(o.State, order.StateCANCELLED) {
			return errcode.Invalidf(errcode.Conflict, "", fmt.Sprintf("an order that is %s cannot be cancelled", o.State))
		}
		if o.State == order.StatePENDING_PAYMENT {
			out, err = s.cancelPending(ctx, tx, o, actor(ctx), reason)
			return err
		}
		remaining := o.Total - o.RefundRequested
		restock := o.Reservation == order.ReservationCOMMITTED
		// The order row is updated first, conditional on its state and on
		// the refund requested so far, so a concurrent cancel or refund
		// fails with CONFLICT before any stock moves.
		out, err = s.transition(ctx, tx, o, order.StateCANCELLED, actor(ctx), reason, func(u *ent.OrderUpdate) {
			u.Where(order.RefundRequested(o.RefundRequested)).SetRefundRequested(o.Total)
			if restock {
				u.SetReservation(order.ReservationRELEASED)
			}
		})
		if err != nil {
			return err
		}
		if restock {
			if err := s.restock(ctx, tx, o, "order "+o.Number+" cancelled: "+reason); err != nil {
				return err
			}
		}
		if err := releaseDiscount(ctx, tx, o); err != nil {
			return err
		}
		if remaining <= 0 {
			return nil
		}
		return enqueueRefund(ctx, tx, out, remaining, o.Total, "requested_by_customer", reason)
	})
	return out, userErrs(err)
}

// restock puts a paid order's units back on hand. A variant deleted since
// the sale has nowhere to take them; that is logged and skipped, so the
// customer's refund does not wait on it.
func (s *Service) restock(ctx context.Context, tx *ent.Tx, o *ent.Order, reason string) error {
	lines, err := orderLines(ctx, tx.Client(), o.ID)
	if err != nil {
		return err
	}
	for _, l := range lines {
		err := s.catalog.Restock(ctx, tx, l.VariantID, l.Quantity, reason)
		if errors.Is(err, catalog.ErrVariantNotFound) {
			s.log.WarnContext(ctx, "cancelled order's variant no longer exists; not restocked", "order", o.ID, "variant", l.VariantID, "quantity", l.Quantity)
			continue
		}
		if err != nil {
			return fmt.Errorf("restock %s for %s: %w", l.VariantID, o.ID, err)
		}
	}
	return nil
}

// Refund returns amount (0: everything not yet refunded) of a paid order
// through the outbox. The order becomes PARTIALLY_REFUNDED or REFUNDED
// when the provider confirms.
//
// key (optional, up to 100 characters) makes the request idempotent, as
// Stripe's idempotency keys do: a request with a key already used for the
// same order, amount and reason returns the order without refunding
// again, however many copies race; one used for a different refund is a
// CONFLICT on idempotencyKey and changes nothing.
func (s *Service) Refund(ctx context.Context, id gid.ID, amount int64, reason, key string) (*ent.Order, error) {
	if _, err := identity.Require(ctx, identity.ManageOrders); err != nil {
		return nil, err
	}
	key = strings.TrimSpace(key)
	if len(key) > 100 {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.TooLong, "idempotencyKey", "at most 100 characters, such as a UUID made once per refund")}
	}
	req := refundArgs{orderID: id, amount: amount, reason: strings.TrimSpace(reason)}
	if key != "" {
		// A retry of a refund already made: answer it without a
		// transaction or a lock.
		if o, err := s.refundByKey(ctx, s.client, key, req); o != nil || err != nil {
			return o, userErrs(err)
		}
	}
	if err := checkReason(reason); err != nil {
		return nil, err
	}
	if amount < 0 {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Invalid, "amount", "the amount cannot be negative")}
	}
	var out *ent.Order
	err := database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		o, err := s.staffOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		if key != "" {
			// Copies of one request queue on the order's row lock; the
			// ones behind the first find its refund here.
			if out, err = s.refundByKey(ctx, tx.Client(), key, req); out != nil || err != nil {
				return err
			}
		}
		switch o.State {
		case order.StatePAID, order.StateFULFILLED, order.StateDELIVERED, order.StatePARTIALLY_REFUNDED:
		default:
			return errcode.Invalidf(errcode.Conflict, "", fmt.Sprintf("an order that is %s cannot be refunded", o.State))
		}
		left := o.Total - o.RefundRequested
		if amount == 0 {
			amount = left
		}
		if amount <= 0 || amount > left {
			return errcode.Invalidf(errcode.Invalid, "amount", fmt.Sprintf("at most %d can still be refunded", max(left, 0)))
		}
		// The conditional UPDATE keeps concurrent refunds within the total.
		n, err := tx.Order.Update().Where(order.ID(o.ID), order.RefundRequested(o.RefundRequested)).
			AddRefundRequested(amount).Save(ctx)
		if err != nil {
			return fmt.Errorf("request refund: %w", err)
		}
		if n == 0 {
			return errcode.Invalidf(errcode.Conflict, "", "the order changed meanwhile; reload it and try again")
		}
		// The request row, unique by key, is what a retry finds.
		c := tx.RefundRequest.Create().SetOrderID(o.ID).SetAmountRequested(req.amount).SetAmount(amount).
			SetCumulative(o.RefundRequested + amount).SetReason(req.reason).SetActor(actor(ctx)).SetCreatedAt(s.now())
		if key != "" {
			c.SetIdempotencyKey(key)
		}
		if err := c.Exec(ctx); err != nil {
			return fmt.Errorf("record refund request: %w", err)
		}
		if err := s.history(ctx, tx, o.ID, string(o.State), string(o.State), actor(ctx),
			fmt.Sprintf("refund of %d %s requested: %s", amount, o.Currency, reason)); err != nil {
			return err
		}
		if err := enqueueRefund(ctx, tx, o, amount, o.RefundRequested+amount, "requested_by_customer", reason); err != nil {
			return err
		}
		out, err = tx.Order.Get(ctx, o.ID)
		return err
	})
	if key != "" && ent.IsConstraintError(err) {
		// The same key raced in for another order and won; what it did
		// decides the answer.
		if o, kerr := s.refundByKey(ctx, s.client, key, req); o != nil || kerr != nil {
			return o, userErrs(kerr)
		}
	}
	return out, userErrs(err)
}

// refundArgs are what a refund request asked for, compared when its
// idempotency key comes again.
type refundArgs struct {
	orderID gid.ID
	amount  int64 // 0: the rest
	reason  string
}

// refundByKey returns the order of the refund made with key, or nil when
// there is none; a refund made with key for different arguments is a
// CONFLICT.
func (s *Service) refundByKey(ctx context.Context, c *ent.Client, key string, want refundArgs) (*ent.Order, error) {
	r, err := c.RefundRequest.Query().Where(refundrequest.IdempotencyKey(key)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find refund by idempotency key: %w", err)
	}
	if r.OrderID != want.orderID || r.AmountRequested != want.amount || r.Reason != want.reason {
		return nil, errcode.Invalidf(errcode.Conflict, "idempotencyKey", "this idempotency key was used for a different refund; make a new key for a new refund")
	}
	o, err := c.Order.Get(ctx, r.OrderID)
	if err != nil {
		return nil, fmt.Errorf("read refunded order: %w", err)
	}
	return o, nil
}

func checkReason(reason string) error {
	r, ue := text.HumanMultiLine("reason", reason, 500)
	switch {
	case ue != nil:
		return errcode.UserErrors{ue}
	case r == "":
		return errcode.UserErrors{errcode.Invalidf(errcode.Required, "reason", "say why")}
	}
	return nil
}

// userErrs turns a lone user error into a list for the payload.
func userErrs(err error) error {
	if ue, ok := err.(*errcode.UserError); ok {
		return errcode.UserErrors{ue}
	}
	return err
}

// WatchOrder streams an order's state changes until ctx ends. Only those
// who may see the order may watch it.
func (s *Service) WatchOrder(ctx context.Context, id gid.ID, token string) (<-chan StatusChanged, error) {
	o, err := s.Order(ctx, id, token)
	if err != nil {
		return nil, err
	}
	if s.bus == nil {
		return nil, fmt.Errorf("watch order: no event bus")
	}
	sub := s.bus.Subscribe(ctx, statusTopic(o.ID).Name, 16)
	out := make(chan StatusChanged)
	go func() {
		defer close(out)
		defer sub.Close()
		for ev := range sub.C {
			var c StatusChanged
			if ev.Resync {
				// Changes may have been missed while Redis was away:
				// send the order's state as it is now (the payload
				// carries extensions.resync).
				cur, err := s.Order(ctx, id, token)
				if err != nil {
					return
				}
				c = StatusChanged{OrderID: cur.ID, State: string(cur.State), At: s.now()}
			} else if err := json.Unmarshal(ev.Data, &c); err != nil {
				slog.WarnContext(ctx, "undecodable order status event skipped", "order", id, "error", err)
				continue
			}
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// CompleteDevelopmentPayment settles an order's payment (succeed) or
// declines it, through the development gateway's webhook path. Any other
// gateway refuses.
func (s *Service) CompleteDevelopmentPayment(ctx context.Context, id gid.ID, token string, succeed bool) (*ent.Order, error) {
	dev, ok := s.gateway.(*payments.Development)
	if !ok {
		return nil, ErrNotDevelopment
	}
	o, err := s.Order(ctx, id, token)
	if err != nil {
		return nil, err
	}
	if o.PaymentIntentID == nil {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Conflict, "orderId", "this order has no payment to complete")}
	}
	// Settle, not Complete: it also finds an intent this process did not
	// create (another replica, or before a restart).
	if _, err := dev.Settle(ctx, *o.PaymentIntentID, succeed); err != nil {
		return nil, fmt.Errorf("complete development payment: %w", err)
	}
	return s.client.Order.Get(ctx, id)
}
