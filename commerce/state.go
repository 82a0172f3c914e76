package commerce

import (
	"context"
	"fmt"
	"slices"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/order"
	"frontdesk/errcode"
	"frontdesk/events"
	"frontdesk/gid"
)

// transitions is the one list of allowed order state changes.
//
//	PENDING_PAYMENT ─▶ PAID ─▶ FULFILLED ─▶ DELIVERED
//	      │             │  ╲        │            │
//	      ▼             ▼   ╲───────┴────────────┴──▶ PARTIALLY_REFUNDED ─▶ REFUNDED
//	  CANCELLED ◀───────┘
//	      │
//	      └─▶ PAID (a late payment whose stock could still be reserved)
//	      └─▶ REFUNDED (a late payment returned, or a paid order cancelled and refunded)
//
// Nothing leads back to PENDING_PAYMENT, and REFUNDED is final, so late
// or repeated provider events can never move an order backwards.
var transitions = map[order.State][]order.State{
	order.StatePENDING_PAYMENT:    {order.StatePAID, order.StateCANCELLED},
	order.StatePAID:               {order.StateFULFILLED, order.StateCANCELLED, order.StatePARTIALLY_REFUNDED, order.StateREFUNDED},
	order.StateFULFILLED:          {order.StateDELIVERED, order.StatePARTIALLY_REFUNDED, order.StateREFUNDED},
	order.StateDELIVERED:          {order.StatePARTIALLY_REFUNDED, order.StateREFUNDED},
	order.StatePARTIALLY_REFUNDED: {order.StateFULFILLED, order.StateDELIVERED, order.StateREFUNDED},
	order.StateCANCELLED:          {order.StatePAID, order.StateREFUNDED},
	order.StateREFUNDED:           nil,
}

// CanTransition reports whether an order may go from one state to another.
func CanTransition(from, to order.State) bool {
	return slices.Contains(transitions[from], to)
}

// Actors recorded in the order history besides user ids.
const (
	ActorCustomer = "customer"
	ActorPayment  = "payment"
	ActorSystem   = "system"
)

// StatusChanged is published on the order's topic after every committed
// change of state (and after payment failures, which keep the state).
type StatusChanged struct {
	OrderID gid.ID    `json:"orderId"`
	From    string    `json:"from"`
	State   string    `json:"state"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

// statusTopic is the event-bus topic of one order's changes.
func statusTopic(orderID gid.ID) events.Topic[StatusChanged] {
	return events.Topic[StatusChanged]{Name: "commerce.order." + string(orderID)}
}

// transition moves o to state to inside tx, conditional on the state it
// was read in, writes the history row and publishes the change after
// commit. A concurrent change makes it fail with a CONFLICT user error.
// set applies other field changes in the same UPDATE.
func (s *Service) transition(ctx context.Context, tx *ent.Tx, o *ent.Order, to order.State, actor, reason string,
	set func(*ent.OrderUpdate),
) (*ent.Order, error) {
	if o.State != to && !CanTransition(o.State, to) {
		return nil, errcode.Invalidf(errcode.Conflict, "", fmt.Sprintf("an order that is %s cannot become %s", o.State, to))
	}
	now := s.now()
	u := tx.Order.Update().Where(order.ID(o.ID), order.StateEQ(o.State)).SetState(to).SetUpdatedAt(s.touch(o))
	switch to {
	case order.StatePAID:
		if o.PaidAt == nil {
			u.SetPaidAt(now)
		}
	case order.StateFULFILLED:
		u.SetFulfilledAt(now)
	case order.StateDELIVERED:
		u.SetDeliveredAt(now)
	case order.StateCANCELLED:
		u.SetCancelledAt(now)
	}
	if set != nil {
		set(u)
	}
	n, err := u.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("update order: %w", err)
	}
	if n == 0 {
		return nil, errcode.Invalidf(errcode.Conflict, "", "the order changed meanwhile; reload it and try again")
	}
	if err := s.history(ctx, tx, o.ID, string(o.State), string(to), actor, reason); err != nil {
		return nil, err
	}
	updated, err := tx.Order.Get(ctx, o.ID)
	if err != nil {
		return nil, fmt.Errorf("reload order: %w", err)
	}
	return updated, nil
}

// lockOrder takes the order row's lock before anything else in tx: an
// UPDATE by primary key alone. Every transaction that changes an order
// starts with it (staff actions, payment events, expiry, refunds), so
// they queue on the order's row instead of each locking a secondary index
// entry (MySQL may scan "id = ? AND state = ?" through the state index)
// and then waiting for the row another holds: that was a deadlock between
// the expiry job and a late payment. Stock rows are locked after it, in
// the same order everywhere.
func (s *Service) lockOrder(ctx context.Context, tx *ent.Tx, id gid.ID) error {
	if err := tx.Order.Update().Where(order.ID(id)).SetUpdatedAt(s.now()).Exec(ctx); err != nil {
		return fmt.Errorf("lock order %s: %w", id, err)
	}
	return nil
}

// history records a change and publishes it once tx commits.
func (s *Service) history(ctx context.Context, tx *ent.Tx, orderID gid.ID, from, to, actor, reason string) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	now := s.now()
	if err := tx.OrderEvent.Create().SetOrderID(orderID).SetFromState(from).SetToState(to).
		SetActor(actor).SetReason(reason).SetCreatedAt(now).Exec(ctx); err != nil {
		return fmt.Errorf("record order history: %w", err)
	}
	if err := emitOrderChange(ctx, tx, orderID, from, to); err != nil {
		return err
	}
	if s.bus != nil {
		statusTopic(orderID).AfterCommit(tx, s.bus, StatusChanged{OrderID: orderID, From: from, State: to, Reason: reason, At: now})
	}
	return nil
}
