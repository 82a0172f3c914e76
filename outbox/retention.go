package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Sweep deletes at most limit rows that were last useful before the
// given time and returns how many it deleted. The domain package that owns
// the rows writes it (identity.Service.SweepSessions and the like), so the
// rule of what is safe to delete lives beside the rules that make the rows.
type Sweep func(ctx context.Context, before time.Time, limit int) (int, error)

// SweepBatch is the most rows one statement of a retention task deletes.
// Each batch commits on its own, so a backlog of millions of rows is
// worked off in short statements that never hold locks for long.
const SweepBatch = 500

// Drain runs sweep in batches of at most batch rows until a batch comes
// back short, and returns how many rows it deleted in all. It stops early,
// with what it deleted so far, when ctx ends.
func Drain(ctx context.Context, sweep Sweep, before time.Time, batch int) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := sweep(ctx, before, batch)
		total += n
		if err != nil {
			return total, err
		}
		if n < batch {
			return total, nil
		}
	}
}

// RegisterRetention declares a recurring task, name, that deletes with
// sweep the rows last useful more than retention ago, in batches of
// SweepBatch. A retention of 0 or less declares nothing: the rows are kept.
func RegisterRetention(reg *Registry, name, spec string, retention time.Duration, sweep Sweep) {
	if retention <= 0 {
		return
	}
	reg.Every(spec, Kind{Name: name, Concurrency: 1, Timeout: 10 * time.Minute,
		Handler: func(ctx context.Context, _ *Running) error {
			n, err := Drain(ctx, sweep, dbTime(time.Now().Add(-retention)), SweepBatch)
			if err != nil {
				return fmt.Errorf("%s: deleted %d rows, then: %w", name, n, err)
			}
			slog.InfoContext(ctx, "retention sweep", "task", name, "deleted", n, "retention", retention.String())
			return nil
		}})
}
