package booking_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"frontdesk/booking"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/gid"
	"frontdesk/internal/testenv"
)

// BenchmarkPruneCounters measures the nightly booking.prune_counters task
// working off a backlog: 20,000 idle hold counters (of 24,000) and 20,000
// past day counters (of 24,000) per run, in batches of outbox.SweepBatch.
// It reports rows deleted per second; run it on MariaDB with
// FRONTDESK_TEST_DATABASE_URL set.
func BenchmarkPruneCounters(b *testing.B) {
	db := testenv.DB(b, database.Options{})
	ctx := context.Background()
	c := db.Client
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	eng := booking.New(c, booking.Options{ManageKey: []byte("bench"), Now: func() time.Time { return now }})
	old := now.Add(-48 * time.Hour)
	const idle, live = 20000, 4000
	var elapsed time.Duration
	for i := range b.N {
		b.StopTimer()
		var holds []*ent.HolderHoldsCreate
		var days []*ent.PractitionerDayCreate
		for j := range idle + live {
			h := c.HolderHolds.Create().SetHolderKey(fmt.Sprintf("ip:%d.%d", i, j)).SetUpdatedAt(old)
			day := old.AddDate(0, 0, -1-j%300).Format(time.DateOnly)
			if j >= idle {
				h.SetHolds(1)
				day = now.AddDate(0, 0, j%30).Format(time.DateOnly)
			}
			holds = append(holds, h)
			days = append(days, c.PractitionerDay.Create().SetPractitionerID("prac_bench").
				SetServiceID(gid.ID(fmt.Sprintf("svc_%d_%d", i, j))).SetDay(day).SetAppointments(1))
			if len(holds) == 500 {
				c.HolderHolds.CreateBulk(holds...).ExecX(ctx)
				c.PractitionerDay.CreateBulk(days...).ExecX(ctx)
				holds, days = holds[:0], days[:0]
			}
		}
		b.StartTimer()
		t0 := time.Now()
		h, d, err := eng.PruneCounters(ctx)
		elapsed += time.Since(t0)
		if err != nil || h != idle || d != idle {
			b.Fatalf("pruned %d hold and %d day counters, %v; want %d each", h, d, err, idle)
		}
		b.StopTimer()
		c.HolderHolds.Delete().ExecX(ctx)
		c.PractitionerDay.Delete().ExecX(ctx)
		b.StartTimer()
	}
	b.ReportMetric(float64(2*idle*b.N)/elapsed.Seconds(), "rows/s")
}
