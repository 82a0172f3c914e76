package outbox

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/job"
	"frontdesk/internal/testenv"
)

// BenchmarkThroughput measures no-op jobs claimed, run and recorded per
// second by 4 workers (separate Worker instances, as 4 replicas would
// run) on the test database: SQLite by default, MariaDB with
// FRONTDESK_TEST_DATABASE_URL. Run with -benchtime=5000x.
func BenchmarkThroughput(b *testing.B) {
	for _, conc := range []int{4, 64} {
		b.Run(fmt.Sprintf("%s/workers=4/concurrency=%d", testenv.Name(), conc), func(b *testing.B) {
			benchThroughput(b, conc)
		})
	}
}

func benchThroughput(b *testing.B, concurrency int) {
	db := testenv.DB(b, database.Options{})
	ctx := context.Background()
	now := dbTime(time.Now())
	for i := 0; i < b.N; i += 500 {
		var batch []*ent.JobCreate
		for j := i; j < min(i+500, b.N); j++ {
			batch = append(batch, db.Client.Job.Create().SetKind("noop").SetIdempotencyKey(fmt.Sprintf("bench-%d", j)).SetRunAt(now))
		}
		if err := db.Client.Job.CreateBulk(batch...).Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	reg := NewRegistry()
	reg.Register(Kind{Name: "noop", Concurrency: concurrency, Handler: func(context.Context, *Running) error { return nil }})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range 4 {
		w := newWorker(db, reg, Options{ID: fmt.Sprintf("bench-%d", i), PollInterval: 50 * time.Millisecond})
		wg.Add(1)
		go func() { defer wg.Done(); _ = w.Run(runCtx) }()
	}
	for {
		n, err := db.Client.Job.Query().Where(job.StateEQ(job.StateSUCCEEDED)).Count(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == b.N {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	wg.Wait()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
}
