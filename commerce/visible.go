package commerce

import (
	"context"

	"frontdesk/ent"
)

// CanView reports whether the viewer may see o without a cart token: its
// customer or staff who manage orders. node(id:) uses it, so an order ID
// alone reveals nothing.
func CanView(ctx context.Context, o *ent.Order) bool { return canView(ctx, o, "") }
