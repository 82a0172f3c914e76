package calendarsync

import (
	"context"

	"frontdesk/ent"
	"frontdesk/identity"
)

// ViewRules are calendar sync's read rules (see identity.ViewRule): links
// and subscriptions to those who may read the sync status.
func ViewRules() []identity.ViewRule {
	return []identity.ViewRule{
		identity.Rule(func(ctx context.Context, _ *ent.CalendarLink) bool { return CanView(ctx) }),
		identity.Rule(func(ctx context.Context, _ *ent.CalendarSubscription) bool { return CanView(ctx) }),
	}
}
