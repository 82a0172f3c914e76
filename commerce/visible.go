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

// ViewRules are commerce's read rules, one per type it shows (see
// identity.ViewRule): an order, its lines and its history to its customer,
// to whoever holds its token in this operation and to staff who manage
// orders; pricing rules to those staff, and the shipping methods a cart
// offers to whoever holds the cart. (New makes order queries always load
// the owner the rule decides from.)
func ViewRules(client *ent.Client) []identity.ViewRule {
	return []identity.ViewRule{
		identity.Rule(func(ctx context.Context, o *ent.Order) bool {
			if o.UserID != nil && canView(ctx, o, "") {
				return true // the owner column came with the row: no second read
			}
			return CanViewOrder(ctx, client, o.ID)
		}),
		identity.Rule(func(ctx context.Context, l *ent.OrderLine) bool { return CanViewOrderLine(ctx, client, l.ID) }).Within("Order"),
		identity.Rule(func(ctx context.Context, e *ent.OrderEvent) bool { return CanViewOrderEvent(ctx, client, e.ID) }).Within("Order"),
		// A cart offers its methods to whoever holds it (its resolver checked
		// the cart's token).
		identity.Rule(func(ctx context.Context, m *ent.ShippingMethod) bool { return canViewPricing(ctx, m.ID) }).Within("Cart"),
		identity.Rule(func(ctx context.Context, t *ent.TaxRate) bool { return canViewPricing(ctx, t.ID) }),
		identity.Rule(func(ctx context.Context, d *ent.DiscountCode) bool { return canViewPricing(ctx, d.ID) }),
	}
}

func canViewPricing(ctx context.Context, id gid.ID) bool {
	return CanViewPricingRules(ctx) || identity.Granted(ctx, id)
}

// CanView reports whether the viewer may see o without a cart token: its
// customer or staff who manage orders. node(id:) uses it, so an order ID
// alone reveals nothing.
func CanView(ctx context.Context, o *ent.Order) bool { return canView(ctx, o, "") }

// CanViewOrder is CanView for an order known by ID, also true for an
// order granted in this operation (its token was checked). A query may
// read only some columns, so the rule reads the row's owner again.
func CanViewOrder(ctx context.Context, client *ent.Client, id gid.ID) bool {
	if identity.ViewerFrom(ctx).Can(identity.ManageOrders) || identity.Granted(ctx, id) {
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
