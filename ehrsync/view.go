package ehrsync

import (
	"context"

	"frontdesk/ent"
	"frontdesk/identity"
)

// ViewRules are EHR sync's read rules (see identity.ViewRule): mappings to
// those who may list them.
func ViewRules() []identity.ViewRule {
	return []identity.ViewRule{
		identity.Rule(func(ctx context.Context, _ *ent.EHRMapping) bool { return CanView(ctx) }),
	}
}
