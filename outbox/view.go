package outbox

import (
	"context"

	"frontdesk/ent"
	"frontdesk/identity"
)

// ViewRules are the job queue's read rules (see identity.ViewRule): jobs
// and their attempts to admins with MANAGE_JOBS.
func ViewRules() []identity.ViewRule {
	return []identity.ViewRule{
		identity.Rule(func(ctx context.Context, _ *ent.Job) bool { return CanView(ctx) }),
		identity.Rule(func(ctx context.Context, _ *ent.JobAttempt) bool { return CanView(ctx) }).Within("Job"),
	}
}
