package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/job"
	"frontdesk/ent/jobattempt"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newWorker(db *database.DB, reg *Registry, opts Options) *Worker {
	opts.Dialect = db.Dialect
	if opts.Log == nil {
		opts.Log = quiet
	}
	return NewWorker(db.Client, reg, opts)
}

// drain runs w's claim loop in the test's goroutine until a poll finds
// nothing, waiting for each batch: a deterministic stand-in for Run.
func drain(t *testing.T, w *Worker) {
	t.Helper()
	ctx := context.Background()
	w.mu.Lock()
	if w.jobCtx == nil {
		w.jobCtx = identity.SystemContext(ctx)
	}
	w.mu.Unlock()
	for range 1000 {
		w.poll(ctx, true)
		w.wg.Wait()
		w.mu.Lock()
		more := false
		for _, b := range w.backlog {
			more = more || b
		}
		w.mu.Unlock()
		if !more {
			kinds, err := w.dueKinds(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(kinds) == 0 {
				return
			}
		}
	}
	t.Fatal("drain: jobs keep coming")
}

func noBackoff(int) time.Duration { return 0 }

func enqueue(t *testing.T, client *ent.Client, j Job) *ent.Job {
	t.Helper()
	ctx := context.Background()
	tx, err := client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := Enqueue(ctx, tx, j)
	if err != nil {
		t.Fatal(errors.Join(err, tx.Rollback()))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return client.Job.GetX(ctx, id)
}

func attemptErrors(t *testing.T, client *ent.Client, j *ent.Job) []string {
	t.Helper()
	atts, err := client.JobAttempt.Query().Where(jobattempt.JobID(j.ID)).Order(jobattempt.ByNumber()).All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range atts {
		out = append(out, fmt.Sprintf("%d:%s", a.Number, a.Error))
	}
	return out
}

func TestFailsTwiceThenSucceeds(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	var calls atomic.Int32
	var keys []string
	reg := NewRegistry()
	reg.Register(Kind{Name: "flaky", Backoff: noBackoff, Handler: func(ctx context.Context, r *Running) error {
		keys = append(keys, r.IdempotencyKey)
		if n := calls.Add(1); n <= 2 {
			return fmt.Errorf("boom %d", n)
		}
		return nil
	}})
	j := enqueue(t, db.Client, Job{Kind: "flaky", Payload: map[string]int{"n": 1}, IdempotencyKey: "flaky-1"})
	drain(t, newWorker(db, reg, Options{}))

	got := db.Client.Job.GetX(context.Background(), j.ID)
	if got.State != job.StateSUCCEEDED || got.Attempts != 3 || got.LastError != "" || got.FinishedAt == nil || got.LeaseExpiresAt != nil {
		t.Fatalf("job = %+v", got)
	}
	if diff := cmp.Diff([]string{"1:boom 1", "2:boom 2", "3:"}, attemptErrors(t, db.Client, j)); diff != "" {
		t.Fatalf("attempts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"flaky-1", "flaky-1", "flaky-1"}, keys); diff != "" {
		t.Fatalf("idempotency keys seen by the handler (-want +got):\n%s", diff)
	}
}

func TestAlwaysFailsEndsDeadAndAdminRetryWorks(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	var fail atomic.Bool
	fail.Store(true)
	reg := NewRegistry()
	reg.Register(Kind{Name: "doomed", Backoff: noBackoff, Handler: func(ctx context.Context, r *Running) error {
		if fail.Load() {
			return errors.New("provider says no")
		}
		return nil
	}})
	j := enqueue(t, db.Client, Job{Kind: "doomed", MaxAttempts: 3})
	w := newWorker(db, reg, Options{})
	drain(t, w)

	ctx := context.Background()
	got := db.Client.Job.GetX(ctx, j.ID)
	if got.State != job.StateDEAD || got.Attempts != 3 || got.LastError != "provider says no" {
		t.Fatalf("job = %+v", got)
	}

	// Staff may not retry; admins may.
	staff := identity.WithViewer(ctx, &identity.Viewer{UserID: "usr_x", Role: identity.RoleStaff})
	if _, err := Retry(staff, db.Client, j.ID); !errors.Is(err, identity.ErrForbidden) {
		t.Fatalf("staff retry: %v", err)
	}
	admin := identity.WithViewer(ctx, &identity.Viewer{UserID: "usr_a", Role: identity.RoleAdmin})
	counts, err := Counts(admin, db.Client)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[job.State]int{job.StatePENDING: 0, job.StateRUNNING: 0, job.StateSUCCEEDED: 0, job.StateDEAD: 1, job.StateCANCELLED: 0}, counts); diff != "" {
		t.Fatalf("counts (-want +got):\n%s", diff)
	}
	if _, err := Cancel(admin, db.Client, j.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := RunNow(admin, db.Client, j.ID); err == nil {
		t.Fatal("run now of a cancelled job succeeded")
	}
	retried, err := Retry(admin, db.Client, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if retried.State != job.StatePENDING || retried.MaxAttempts != 3+RetryBudget {
		t.Fatalf("retried = %+v", retried)
	}
	fail.Store(false)
	drain(t, w)
	got = db.Client.Job.GetX(ctx, j.ID)
	if got.State != job.StateSUCCEEDED || got.Attempts != 4 {
		t.Fatalf("after retry job = %+v", got)
	}
	if diff := cmp.Diff([]string{"1:provider says no", "2:provider says no", "3:provider says no", "4:"}, attemptErrors(t, db.Client, j)); diff != "" {
		t.Fatalf("attempts (-want +got):\n%s", diff)
	}
	if _, err := Retry(admin, db.Client, j.ID); err == nil {
		t.Fatal("retry of a succeeded job succeeded")
	}
}

func TestPermanentErrorDiesAtOnce(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	reg := NewRegistry()
	reg.Register(Kind{Name: "bad", Handler: func(ctx context.Context, r *Running) error {
		var v struct{ N int }
		return r.Decode(&v) // the payload is a string: cannot decode
	}})
	j := enqueue(t, db.Client, Job{Kind: "bad", Payload: "not an object"})
	drain(t, newWorker(db, reg, Options{}))
	got := db.Client.Job.GetX(context.Background(), j.ID)
	if got.State != job.StateDEAD || got.Attempts != 1 {
		t.Fatalf("job = %+v", got)
	}
}

func TestTwoWorkersRaceOnAThousandJobs(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	ctx := context.Background()
	const n = 1000
	var builders []*ent.JobCreate
	for i := range n {
		builders = append(builders, db.Client.Job.Create().SetKind("race").SetIdempotencyKey(fmt.Sprintf("race-%d", i)).SetRunAt(dbTime(time.Now())))
	}
	for i := 0; i < n; i += 200 {
		if err := db.Client.Job.CreateBulk(builders[i : i+200]...).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu    sync.Mutex
		runs  = map[string]int{}
		total atomic.Int32
		done  = make(chan struct{})
	)
	reg := NewRegistry()
	reg.Register(Kind{Name: "race", Concurrency: 8, Handler: func(ctx context.Context, r *Running) error {
		mu.Lock()
		runs[r.IdempotencyKey]++
		mu.Unlock()
		if total.Add(1) == n {
			close(done)
		}
		return nil
	}})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i := range 2 {
		w := newWorker(db, reg, Options{ID: fmt.Sprintf("w%d", i), PollInterval: 20 * time.Millisecond})
		wg.Add(1)
		go func() { defer wg.Done(); errs <- w.Run(runCtx) }()
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Errorf("only %d of %d jobs ran", total.Load(), n)
	}
	// Let the workers record the last outcomes, then stop them.
	waitFor(t, func() bool {
		c, err := db.Client.Job.Query().Where(job.StateEQ(job.StateSUCCEEDED)).Count(ctx)
		return err == nil && c == n
	})
	stop()
	wg.Wait()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if len(runs) != n {
		t.Fatalf("%d distinct jobs ran, want %d", len(runs), n)
	}
	for k, c := range runs {
		if c != 1 {
			t.Fatalf("job %s ran %d times", k, c)
		}
	}
	atts, err := db.Client.JobAttempt.Query().Count(ctx)
	if err != nil || atts != n {
		t.Fatalf("attempt rows = %d, %v; want %d", atts, err, n)
	}
}

// waitFor polls cond until it holds; it fails the test after a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, time.Minute, "condition", cond)
}

func TestKilledWorkerJobIsFinishedByAnother(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	started := make(chan struct{})
	release := make(chan struct{})
	var bRuns atomic.Int32
	hung := NewRegistry()
	hung.Register(Kind{Name: "mail", Timeout: time.Minute, Handler: func(ctx context.Context, r *Running) error {
		close(started)
		<-release // a stuck process: ignores its context
		return nil
	}})
	healthy := NewRegistry()
	healthy.Register(Kind{Name: "mail", Handler: func(ctx context.Context, r *Running) error {
		bRuns.Add(1)
		return nil
	}})
	j := enqueue(t, db.Client, Job{Kind: "mail"})

	a := newWorker(db, hung, Options{ID: "a", ShutdownGrace: time.Millisecond})
	ctx, kill := context.WithCancel(context.Background())
	aDone := make(chan error, 1)
	go func() { aDone <- a.Run(ctx) }()
	<-started
	kill() // a stops claiming; its stuck handler keeps the lease
	// Worker b's clock is past a's lease.
	b := newWorker(db, healthy, Options{ID: "b", Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	drain(t, b)
	close(release)
	if err := <-aDone; err != nil { // a's late outcome must change nothing
		t.Fatal(err)
	}

	got := db.Client.Job.GetX(context.Background(), j.ID)
	if got.State != job.StateSUCCEEDED || got.Attempts != 2 || bRuns.Load() != 1 {
		t.Fatalf("job = %+v, b ran %d", got, bRuns.Load())
	}
	if diff := cmp.Diff([]string{"1:" + lostLeaseError, "2:"}, attemptErrors(t, db.Client, j)); diff != "" {
		t.Fatalf("attempts (-want +got):\n%s", diff)
	}
}

func TestShutdownReleasesRunningJobs(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	started := make(chan struct{})
	reg := NewRegistry()
	reg.Register(Kind{Name: "slow", Handler: func(ctx context.Context, r *Running) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}})
	j := enqueue(t, db.Client, Job{Kind: "slow"})
	w := newWorker(db, reg, Options{ShutdownGrace: time.Millisecond})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-started
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := db.Client.Job.GetX(context.Background(), j.ID)
	if got.State != job.StatePENDING || got.Attempts != 0 || got.LeaseOwner != "" {
		t.Fatalf("job = %+v", got)
	}
}

func TestRolledBackTransactionLeavesNoJob(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	ctx := context.Background()
	tx, err := db.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.User.Create().SetEmail("a@example.com").Save(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := Enqueue(ctx, tx, Job{Kind: "mail", Payload: map[string]string{"to": "a@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := db.Client.Job.Query().CountX(ctx); n != 0 {
		t.Fatalf("%d jobs after rollback", n)
	}
}

func TestEnqueueIsIdempotentByKey(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	first := enqueue(t, db.Client, Job{Kind: "mail", IdempotencyKey: "order-1-confirmation"})
	second := enqueue(t, db.Client, Job{Kind: "mail", IdempotencyKey: "order-1-confirmation"})
	if first.ID != second.ID {
		t.Fatalf("two jobs for one key: %s, %s", first.ID, second.ID)
	}
	if n := db.Client.Job.Query().CountX(context.Background()); n != 1 {
		t.Fatalf("%d jobs", n)
	}
}

func TestDelayedJobWaitsForRunAt(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	var runs atomic.Int32
	reg := NewRegistry()
	reg.Register(Kind{Name: "reminder", Handler: func(ctx context.Context, r *Running) error { runs.Add(1); return nil }})
	j := enqueue(t, db.Client, Job{Kind: "reminder", RunAt: time.Now().Add(24 * time.Hour)})
	drain(t, newWorker(db, reg, Options{}))
	if runs.Load() != 0 {
		t.Fatal("a job due tomorrow ran today")
	}
	drain(t, newWorker(db, reg, Options{Now: func() time.Time { return time.Now().Add(25 * time.Hour) }}))
	if got := db.Client.Job.GetX(context.Background(), j.ID); runs.Load() != 1 || got.State != job.StateSUCCEEDED {
		t.Fatalf("runs=%d job=%+v", runs.Load(), got)
	}
}

// throttled is an integration error carrying a server's Retry-After.
type throttled struct{ after time.Duration }

func (e throttled) Error() string             { return "HTTP 429" }
func (e throttled) RetryDelay() time.Duration { return e.after }

// TestRetryAfterIsHonoured: a failure that says when to come back (a 429
// with Retry-After) is retried no sooner than that, even when the kind's
// backoff is shorter; a shorter Retry-After never shortens the backoff.
func TestRetryAfterIsHonoured(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		backoff time.Duration
		after   time.Duration
		want    time.Duration
	}{
		{"server asks for longer than the backoff", time.Second, 10 * time.Minute, 10 * time.Minute},
		{"backoff longer than the server asks", time.Hour, 5 * time.Second, time.Hour},
		{"wrapped by the handler", time.Second, 90 * time.Second, 90 * time.Second},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry()
			kind := fmt.Sprintf("throttled-%d", i)
			reg.Register(Kind{Name: kind, Backoff: func(int) time.Duration { return tt.backoff },
				Handler: func(ctx context.Context, r *Running) error {
					var err error = throttled{tt.after}
					if i == 2 {
						err = fmt.Errorf("create event: %w", err)
					}
					return err
				}})
			j := enqueue(t, db.Client, Job{Kind: kind, Payload: map[string]int{}, RunAt: now})
			w := newWorker(db, reg, Options{Now: func() time.Time { return now }})
			w.jobCtx = identity.SystemContext(context.Background())
			w.poll(context.Background(), true)
			w.wg.Wait()
			got := db.Client.Job.GetX(context.Background(), j.ID)
			if got.State != job.StatePENDING || !got.RunAt.Equal(now.Add(tt.want)) {
				t.Fatalf("state %s, next run %s after the failure, want %s", got.State, got.RunAt.Sub(now), tt.want)
			}
		})
	}
}

// TestErrorsAreStoredRedacted: a handler's error that quotes a link with
// a token or an outside service's bearer header is stored (lastError and
// the attempt log) with the credential blanked, since admins read both.
func TestErrorsAreStoredRedacted(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	reg := NewRegistry()
	const tok = "fdt_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd"
	reg.Register(Kind{Name: "leaky", Handler: func(ctx context.Context, r *Running) error {
		return Permanent(fmt.Errorf("550 rejected https://app.example/reset-password?token=%s (Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln)", tok))
	}})
	j := enqueue(t, db.Client, Job{Kind: "leaky", Payload: map[string]any{}})
	drain(t, newWorker(db, reg, Options{}))
	got := db.Client.Job.GetX(context.Background(), j.ID)
	want := "550 rejected https://app.example/reset-password?token=[redacted] (Authorization: Bearer [redacted])"
	if got.LastError != want {
		t.Errorf("lastError = %q, want %q", got.LastError, want)
	}
	if diff := cmp.Diff([]string{"1:" + want}, attemptErrors(t, db.Client, j)); diff != "" {
		t.Errorf("attempt errors (-want +got):\n%s", diff)
	}
}
