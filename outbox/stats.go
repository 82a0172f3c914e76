package outbox

import (
	"context"
	"fmt"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/job"
	"frontdesk/telemetry"
)

// statsStates are the job states whose counts are exported. SUCCEEDED
// and CANCELLED only grow until pruned, and counting them is not cheap.
var statsStates = []job.State{job.StatePENDING, job.StateRUNNING, job.StateDEAD}

// Stats counts the jobs by kind and state (kinds are the registered
// ones, reported as 0 when they have none) and finds the oldest due job,
// for /metrics: one grouped COUNT and one row read through the
// (state, run_at) index.
func Stats(ctx context.Context, client *ent.Client, kinds []string, now time.Time) (telemetry.JobStats, error) {
	var rows []struct {
		Kind  string    `json:"kind"`
		State job.State `json:"state"`
		Count int       `json:"count"`
	}
	if err := client.Job.Query().Where(job.StateIn(statsStates...)).
		GroupBy(job.FieldKind, job.FieldState).Aggregate(ent.Count()).Scan(ctx, &rows); err != nil {
		return telemetry.JobStats{}, fmt.Errorf("count jobs: %w", err)
	}
	stats := telemetry.JobStats{Counts: map[telemetry.JobKey]int{}}
	for _, k := range kinds {
		for _, s := range statsStates {
			stats.Counts[telemetry.JobKey{Kind: k, State: string(s)}] = 0
		}
	}
	for _, r := range rows {
		stats.Counts[telemetry.JobKey{Kind: r.Kind, State: string(r.State)}] = r.Count
	}
	oldest, err := client.Job.Query().
		Where(job.StateEQ(job.StatePENDING), job.RunAtLTE(now.UTC().Truncate(time.Microsecond))).
		Order(job.ByRunAt()).Select(job.FieldRunAt).First(ctx)
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return telemetry.JobStats{}, fmt.Errorf("oldest due job: %w", err)
	default:
		stats.OldestDue = oldest.RunAt
	}
	return stats, nil
}
