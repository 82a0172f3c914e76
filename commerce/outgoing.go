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
var orderEvents = map[order.State]webhooks.EventType{
	order.StatePENDING_PAYMENT:    webhooks.OrderCreated,
	order.StatePAID:               webhooks.OrderPaid,
	order.StateFULFILLED:          webhooks.OrderFulfilled,
	order.StateDELIVERED:          webhooks.OrderDelivered,
	order.StatePARTIALLY_REFUNDED: webhooks.OrderRefunded,
	order.StateREFUNDED:           webhooks.OrderRefunded,
	order.StateCANCELLED:          webhooks.OrderCancelled,
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
