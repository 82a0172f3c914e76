package commerce

import (
	"context"
	"fmt"
	"time"

	"frontdesk/ent/cart"
	"frontdesk/ent/cartline"
	"frontdesk/ent/predicate"
)

// SweepCarts deletes at most limit abandoned guest carts, with their
// lines: carts without an account that were never ordered and that
// neither the cart nor any of its lines changed since the given time.
// Customers' carts are kept (they are the customer's, on every device),
// and so are ordered carts (a retried placeOrder finds its order through
// the cart). It is an outbox.Sweep.
func (s *Service) SweepCarts(ctx context.Context, before time.Time, limit int) (int, error) {
	before = before.UTC()
	abandoned := []predicate.Cart{
		cart.UserIDIsNil(), cart.OrderIDIsNil(), cart.UpdatedAtLT(before),
		cart.Not(cart.HasLinesWith(cartline.UpdatedAtGTE(before))),
	}
	ids, err := s.client.Cart.Query().Where(abandoned...).Limit(limit).IDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("find abandoned carts: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	// The DELETE checks again, so a cart the guest came back to since the
	// query above is kept; the foreign key's ON DELETE CASCADE takes the
	// lines with the cart.
	n, err := s.client.Cart.Delete().Where(append(abandoned, cart.IDIn(ids...))...).Exec(ctx)
	if err != nil {
		return n, fmt.Errorf("delete abandoned carts: %w", err)
	}
	return n, nil
}
