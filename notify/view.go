package notify

import (
	"context"

	"frontdesk/ent"
	"frontdesk/identity"
)

// ViewRules are notify's read rules (see identity.ViewRule): the sent
// messages to staff with VIEW_SENT_MESSAGES.
func ViewRules() []identity.ViewRule {
	return []identity.ViewRule{
		identity.Rule(func(ctx context.Context, _ *ent.SentMessage) bool { return CanView(ctx) }),
	}
}
