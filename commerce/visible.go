package commerce

import (
	"context"

	"frontdesk/ent"
	"frontdesk/ent/order"
	"frontdesk/ent/orderevent"
	"frontdesk/ent/orderline"
	"frontdesk/gid"
	"frontdesk/identity"
)

// CanView reports whether the viewer may see o without a cart token: its
// customer or staff who manage orders. node(id:) uses it, so an order ID
// alone reveals nothing.
func CanView(ctx context.Context, o *ent.Order) bool { return canView(ctx, o, "") }

// CanViewOrder is CanView for an order known by ID. node(id:) reads only
// the columns a query selects, so the rule reads the row's owner again.
func CanViewOrder(ctx context.Context, client *ent.Client, id gid.ID) bool {
	if identity.ViewerFrom(ctx).Can(identity.ManageOrders) {
		return true
	}
	o, err := client.Order.Query().Where(order.ID(id)).Select(order.FieldUserID).Only(ctx)
	return err == nil && canView(ctx, o, "")
}

// CanViewOrderLine reports whether the viewer may see an order line by
// its ID alone: whoever may see its order.
func CanViewOrderLine(ctx context.Context, client *ent.Client, id gid.ID) bool {
	l, err := client.OrderLine.Query().Where(orderline.ID(id)).Select(orderline.FieldOrderID).Only(ctx)
	return err == nil && CanViewOrder(ctx, client, l.OrderID)
}

// CanViewOrderEvent reports whether the viewer may see an order's
// history entry by its ID alone: whoever may see its order.
func CanViewOrderEvent(ctx context.Context, client *ent.Client, id gid.ID) bool {
	e, err := client.OrderEvent.Query().Where(orderevent.ID(id)).Select(orderevent.FieldOrderID).Only(ctx)
	return err == nil && CanViewOrder(ctx, client, e.OrderID)
}

// CanViewPricingRules reports whether the viewer may see shipping methods,
// tax rates and discount codes by ID: staff who manage orders, as for
// their admin lists. (Customers see the shipping methods that ship their
// cart through the cart, not by ID.)
func CanViewPricingRules(ctx context.Context) bool {
	return identity.ViewerFrom(ctx).Can(identity.ManageOrders)
}
