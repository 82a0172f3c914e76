package commerce

import (
	"context"

	"frontdesk/ent"
	"frontdesk/ent/order"
	"frontdesk/gid"
	"frontdesk/webhooks"
)

// orderEvents maps an order's change of state to the webhook event it
// raises (docs/webhooks.md); changes that keep the state raise none.
// order.refunded is not here: it follows money, not states (emitRefund).
var orderEvents = map[order.State]webhooks.EventType{
	order.StatePENDING_PAYMENT: webhooks.OrderCreated,
	order.StatePAID:            webhooks.OrderPaid,
	order.StateFULFILLED:       webhooks.OrderFulfilled,
	order.StateDELIVERED:       webhooks.OrderDelivered,
	order.StateCANCELLED:       webhooks.OrderCancelled,
}

// emitOrderChange raises the webhook event of a change of state in its
// transaction. history calls it, so every recorded change is covered.
func emitOrderChange(ctx context.Context, tx *ent.Tx, id gid.ID, from, to string) error {
	t, ok := orderEvents[order.State(to)]
	if !ok || from == to {
		return nil
	}
	return webhooks.Emit(ctx, tx, t, webhooks.Data{OrderID: id, State: to, PreviousState: from})
}

// emitRefund raises order.refunded for money recorded as returned: once
// per refund that raises the order's refunded figure, so a second partial
// refund (PARTIALLY_REFUNDED to PARTIALLY_REFUNDED) has its own event, and
// a refund of a cancelled order too, while a report that changes nothing
// (a duplicate or late provider webhook) raises none. A refund only
// requested raises none until the provider confirms it.
func emitRefund(ctx context.Context, tx *ent.Tx, id gid.ID, from, to order.State, refunded int64) error {
	return webhooks.Emit(ctx, tx, webhooks.OrderRefunded, webhooks.Data{OrderID: id, State: string(to),
		PreviousState: string(from), AmountRefunded: &refunded})
}
