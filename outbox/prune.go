package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"entgo.io/ent/dialect/sql"

	"frontdesk/ent"
	"frontdesk/ent/job"
)

// RegisterPrune declares the nightly task that deletes SUCCEEDED and
// CANCELLED jobs (with their attempts) finished more than retention ago.
// DEAD jobs stay until an admin retries or cancels them. Recurring-task
// jobs are kept for at least 400 days, because their row is what stops a
// period from running twice.
func RegisterPrune(reg *Registry, client *ent.Client, retention time.Duration) {
	reg.Every("17 3 * * *", Kind{Name: "outbox.prune", Concurrency: 1, Timeout: 10 * time.Minute,
		Handler: func(ctx context.Context, _ *Running) error {
			n, err := Prune(ctx, client, time.Now().Add(-retention))
			if err != nil {
				return err
			}
			slog.InfoContext(ctx, "pruned finished jobs", "deleted", n, "retention", retention.String())
			return nil
		}})
}

// Prune deletes finished jobs as RegisterPrune describes and returns how
// many it deleted. It works in batches so no statement holds locks long.
func Prune(ctx context.Context, client *ent.Client, before time.Time) (int, error) {
	cronBefore := before.AddDate(0, 0, -400)
	total := 0
	for {
		ids, err := client.Job.Query().
			Where(
				job.StateIn(job.StateSUCCEEDED, job.StateCANCELLED),
				job.FinishedAtLT(dbTime(before)),
				job.Or(
					func(s *sql.Selector) { s.Where(sql.Not(sql.HasPrefix(s.C(job.FieldIdempotencyKey), "cron:"))) },
					job.FinishedAtLT(dbTime(cronBefore)),
				),
			).
			Limit(500).IDs(ctx)
		if err != nil {
			return total, fmt.Errorf("prune jobs: %w", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		n, err := client.Job.Delete().Where(job.IDIn(ids...)).Exec(ctx)
		if err != nil {
			return total, fmt.Errorf("prune jobs: %w", err)
		}
		total += n
		if len(ids) < 500 {
			return total, nil
		}
	}
}
