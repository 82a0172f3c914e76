package outbox

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/database"
	"frontdesk/ent/job"
	"frontdesk/ent/jobattempt"
	"frontdesk/internal/testenv"
)

func TestClaimAhead(t *testing.T) {
	for _, tc := range []struct {
		concurrency int
		avg         time.Duration
		want        int
	}{
		{4, 0, 0},                        // not measured yet: claim only free slots
		{4, 2 * time.Second, 0},          // slow handler (SMTP, Graph): never hoard
		{4, aheadWait, 4},                // each slot starts one more within the wait
		{4, 10 * time.Millisecond, 40},   // 10 per slot
		{4, 50 * time.Microsecond, 64},   // no-op handlers: capped
		{1, 30 * time.Millisecond, 3},    // rounds down
		{64, time.Millisecond, maxAhead}, // capped whatever the concurrency
	} {
		if got := claimAhead(tc.concurrency, tc.avg); got != tc.want {
			t.Errorf("claimAhead(%d, %v) = %d, want %d", tc.concurrency, tc.avg, got, tc.want)
		}
	}
}

func TestShutdownHandsBackQueuedJobs(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	ctx := context.Background()
	var calls atomic.Int32
	reg := NewRegistry()
	reg.Register(Kind{Name: "slow", Concurrency: 1, Handler: func(ctx context.Context, r *Running) error {
		calls.Add(1)
		<-ctx.Done()
		return ctx.Err()
	}})
	for range 5 {
		enqueue(t, db.Client, Job{Kind: "slow"})
	}
	w := newWorker(db, reg, Options{ID: "w", ShutdownGrace: time.Millisecond})
	w.runTime["slow"] = time.Millisecond // as if handlers had been quick so far
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	// One job runs and four wait in the worker's queue, all leased to it.
	waitFor(t, func() bool {
		return db.Client.Job.Query().Where(job.StateEQ(job.StateRUNNING), job.LeaseOwner("w")).CountX(ctx) == 5
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, j := range db.Client.Job.Query().AllX(ctx) {
		if j.State != job.StatePENDING || j.Attempts != 0 || j.LeaseOwner != "" {
			t.Errorf("job after shutdown = %+v, want PENDING with no attempt spent", j)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("handler started %d times, want 1: queued jobs are handed back, not started", calls.Load())
	}
	if n := db.Client.JobAttempt.Query().CountX(ctx); n != 0 {
		t.Errorf("%d attempts recorded for jobs that were handed back", n)
	}
}

// A job that waited in the queue until its lease no longer covers its
// handler's deadline is handed back and claimed afresh, not run on a lease
// that could expire under it.
func TestQueuedJobNeverStartsWithAShortLease(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	ctx := context.Background()
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	var calls, shortLeases atomic.Int32
	reg := NewRegistry()
	reg.Register(Kind{Name: "k", Concurrency: 1, Timeout: time.Minute, Handler: func(ctx context.Context, r *Running) error {
		j, err := db.Client.Job.Get(ctx, r.ID)
		if err != nil {
			return err
		}
		if j.LeaseExpiresAt.Sub(clock()) < time.Minute {
			shortLeases.Add(1)
		}
		if calls.Add(1) == 1 {
			// The first job is slow enough that the queued ones' leases
			// (claim + 1m30s) have 45 s left, less than the handler's
			// 1 minute deadline.
			offset.Add(int64(45 * time.Second))
		}
		return nil
	}})
	for range 5 {
		enqueue(t, db.Client, Job{Kind: "k"})
	}
	w := newWorker(db, reg, Options{LeaseMargin: 30 * time.Second, Now: clock})
	w.runTime["k"] = time.Millisecond
	drain(t, w)

	if calls.Load() != 5 || shortLeases.Load() != 0 {
		t.Fatalf("handler ran %d times (want 5), %d on a lease shorter than its deadline", calls.Load(), shortLeases.Load())
	}
	for _, j := range db.Client.Job.Query().AllX(ctx) {
		n := db.Client.JobAttempt.Query().Where(jobattempt.JobID(j.ID)).CountX(ctx)
		if j.State != job.StateSUCCEEDED || j.Attempts != 1 || n != 1 {
			t.Errorf("job = %+v with %d attempt rows, want SUCCEEDED on its first attempt", j, n)
		}
	}
}

// A worker whose handlers are slow claims no more than its free slots, so
// the rest stay PENDING for other replicas.
func TestSlowKindIsNotClaimedAhead(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	ctx := context.Background()
	reg := NewRegistry()
	reg.Register(Kind{Name: "slow", Concurrency: 2, Handler: func(ctx context.Context, r *Running) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	for range 10 {
		enqueue(t, db.Client, Job{Kind: "slow"})
	}
	w := newWorker(db, reg, Options{ID: "w", ShutdownGrace: time.Millisecond, PollInterval: 10 * time.Millisecond})
	w.runTime["slow"] = 2 * time.Second
	polls := make(chan struct{}, 1)
	w.polled = func() {
		select {
		case polls <- struct{}{}:
		default:
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	waitFor(t, func() bool {
		return db.Client.Job.Query().Where(job.StateEQ(job.StateRUNNING)).CountX(ctx) >= 2
	})
	// Several more polls, each of which could claim ahead if it were going to.
	for range 5 {
		<-polls
	}
	running := db.Client.Job.Query().Where(job.StateEQ(job.StateRUNNING)).CountX(ctx)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if running != 2 {
		t.Fatalf("%d jobs leased to a worker with 2 slots for a slow kind, want 2", running)
	}
}
