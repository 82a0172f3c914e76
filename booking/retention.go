package booking

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"frontdesk/database"
	"frontdesk/ent/holderholds"
	"frontdesk/ent/practitionerday"
	"frontdesk/outbox"
)

// The counter rows of limits.go are made on demand: a row per holder (a
// user, or ip:<network> for anonymous holds) and a row per practitioner,
// service and local day. Without a sweep both tables would grow forever;
// the nightly booking.prune_counters task (RegisterJobs) deletes the rows
// that say nothing any more.

// SweepHoldCounts deletes at most limit hold counters that count nothing
// (holds = 0) and did not change since before. It is an outbox.Sweep.
//
// A hold racing the sweep is never lost nor wrongly refused: the DELETE
// checks holds = 0 again, against the row as it is when the DELETE locks
// it (InnoDB re-reads the latest version under the row lock; SQLite runs
// writers one at a time), so a counter that a hold incremented since the
// SELECT is kept. A hold whose counter was deleted first finds nothing to
// UPDATE and inserts the row with holds = 1 (bump), which is what the
// deleted row would have become; two such holds meet on the unique
// holder_key, and the loser's UPDATE then sees the winner's row.
func (e *Engine) SweepHoldCounts(ctx context.Context, before time.Time, limit int) (int, error) {
	ids, err := e.Client.HolderHolds.Query().
		Where(holderholds.Holds(0), holderholds.UpdatedAtLT(before)).Limit(limit).IDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("find idle hold counters: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	// On MySQL the DELETE can deadlock with a hold inserting or updating
	// a counter; the hold wins and the batch is tried again.
	var n int
	err = database.Retry(ctx, func() (err error) {
		n, err = e.Client.HolderHolds.Delete().
			Where(holderholds.IDIn(ids...), holderholds.Holds(0)).Exec(ctx)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("delete idle hold counters: %w", err)
	}
	return n, nil
}

// SweepPractitionerDays deletes at most limit daily-limit counters of
// local days before the UTC date of before. It is an outbox.Sweep; the
// task passes two days ago, so every deleted day is over in every time
// zone (UTC-12 is at most a day behind UTC): patients are offered slots
// from now on only, and cancelling an appointment of a deleted day finds
// no row to decrement, which is harmless. Staff, exempt from the minimum
// notice, can still hold a past time; on a deleted day its counter starts
// again at 1, so the daily limit of a day that is over no longer counts
// the day's earlier appointments (docs/operations.md, "Data retention").
func (e *Engine) SweepPractitionerDays(ctx context.Context, before time.Time, limit int) (int, error) {
	day := before.UTC().Format(time.DateOnly)
	ids, err := e.Client.PractitionerDay.Query().Where(practitionerday.DayLT(day)).Limit(limit).IDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("find past day counters: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := e.Client.PractitionerDay.Delete().Where(practitionerday.IDIn(ids...), practitionerday.DayLT(day)).Exec(ctx)
	if err != nil {
		return n, fmt.Errorf("delete past day counters: %w", err)
	}
	return n, nil
}

// Counter retention: an idle hold counter is deleted an hour after its
// last change (so the row ensureCounters creates just before a hold's
// transaction is normally still there; the sweep is safe either way), a
// day counter once its day is two UTC dates back.
const (
	idleHoldCounter = time.Hour
	pastDayCounter  = 48 * time.Hour
)

// PruneCounters runs both counter sweeps to the end, in batches of
// outbox.SweepBatch, and returns how many rows each deleted.
func (e *Engine) PruneCounters(ctx context.Context) (holds, days int, err error) {
	now := e.now()
	holds, err = outbox.Drain(ctx, e.SweepHoldCounts, now.Add(-idleHoldCounter), outbox.SweepBatch)
	if err != nil {
		return holds, 0, fmt.Errorf("prune hold counters: deleted %d, then: %w", holds, err)
	}
	days, err = outbox.Drain(ctx, e.SweepPractitionerDays, now.Add(-pastDayCounter), outbox.SweepBatch)
	if err != nil {
		return holds, days, fmt.Errorf("prune day counters: deleted %d, then: %w", days, err)
	}
	return holds, days, nil
}

func registerPruneCounters(reg *outbox.Registry, e *Engine) {
	reg.Every("39 3 * * *", outbox.Kind{Name: "booking.prune_counters", Concurrency: 1, Timeout: 10 * time.Minute,
		Handler: func(ctx context.Context, _ *outbox.Running) error {
			holds, days, err := e.PruneCounters(ctx)
			slog.InfoContext(ctx, "retention sweep", "task", "booking.prune_counters", "hold_counters", holds, "day_counters", days)
			return err
		}})
}
