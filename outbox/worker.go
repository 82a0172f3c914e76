package outbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"go.opentelemetry.io/otel/trace"

	"frontdesk/ent"
	"frontdesk/ent/job"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/secret"
	"frontdesk/telemetry"
)

// Options tune a worker. Zero values take the defaults in brackets.
type Options struct {
	// ID names the worker in leases and attempt records
	// [host-pid-random].
	ID string
	// Dialect is the store's dialect (dialect.MySQL or dialect.SQLite):
	// MySQL claims with SELECT … FOR UPDATE SKIP LOCKED; SQLite claims
	// inside a write transaction (the store begins every transaction
	// IMMEDIATE), so one claimer runs at a time.
	Dialect string
	// PollInterval is how often the worker looks for due jobs that were
	// not announced to it: jobs enqueued by other replicas, delayed jobs
	// coming due, expired leases [1s].
	PollInterval time.Duration
	// LeaseMargin is added to a kind's Timeout to make its lease [30s].
	LeaseMargin time.Duration
	// ShutdownGrace is how long Run waits, once its context ends, for
	// running jobs to finish before cancelling their contexts [10s].
	ShutdownGrace time.Duration
	Log           *slog.Logger
	// Metrics, when set, counts attempts by kind and outcome and times
	// handlers; Tracer, when set, runs each job under a root span.
	Metrics *telemetry.Metrics
	Tracer  trace.Tracer
	// Now is the clock [time.Now]; tests move it forward to expire leases.
	Now func() time.Time
}

// Worker claims and runs due jobs of the kinds in its registry.
type Worker struct {
	client *ent.Client
	reg    *Registry
	opts   Options
	log    *slog.Logger

	wakeCh chan struct{}

	mu       sync.Mutex
	running  map[string]int           // handlers running, by kind
	queued   map[string][]*ent.Job    // claimed ahead, waiting for a slot, by kind
	runTime  map[string]time.Duration // moving average of handler time, by kind
	backlog  map[string]bool          // kinds that may have more due jobs
	pending  []outcome                // finished attempts not yet recorded
	flushing bool                     // a flush goroutine is running
	stopping bool                     // Run's context ended: start nothing more
	wg       sync.WaitGroup           // claimed jobs whose outcome is not yet written
	jobCtx   context.Context          // parent of handler contexts; cancelled after the grace period

	polled func() // tests: called after each poll of Run's loop
}

// NewWorker returns a worker; Run starts it.
func NewWorker(client *ent.Client, reg *Registry, opts Options) *Worker {
	if opts.ID == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		opts.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
		if len(opts.ID) > 100 {
			opts.ID = opts.ID[len(opts.ID)-100:]
		}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.LeaseMargin <= 0 {
		opts.LeaseMargin = 30 * time.Second
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 10 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Worker{
		client:  client,
		reg:     reg,
		opts:    opts,
		log:     opts.Log.With("worker", opts.ID),
		wakeCh:  make(chan struct{}, 1),
		running: map[string]int{},
		queued:  map[string][]*ent.Job{},
		runTime: map[string]time.Duration{},
		backlog: map[string]bool{},
	}
}

// ID is the worker's name in leases.
func (w *Worker) ID() string { return w.opts.ID }

// wake notes that kind may have a due job and nudges the loop.
func (w *Worker) wake(kind string) {
	if _, ok := w.reg.kinds[kind]; !ok {
		return
	}
	w.mu.Lock()
	w.backlog[kind] = true
	w.mu.Unlock()
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

// Run claims and runs jobs until ctx ends. It then stops claiming, waits
// up to ShutdownGrace for running jobs, cancels the rest (their handlers
// see ctx.Done and the jobs are released back to PENDING without costing
// an attempt) and returns. A handler that ignores cancellation keeps its
// job until the lease expires, when another worker takes it over.
func (w *Worker) Run(ctx context.Context) error {
	if len(w.reg.kinds) == 0 {
		<-ctx.Done()
		return nil
	}
	jobCtx, cancelJobs := context.WithCancel(identity.SystemContext(context.WithoutCancel(ctx)))
	defer cancelJobs()
	w.mu.Lock()
	w.jobCtx = jobCtx
	w.mu.Unlock()

	wakersMu.Lock()
	wakers[w] = struct{}{}
	wakersMu.Unlock()
	defer func() {
		wakersMu.Lock()
		delete(wakers, w)
		wakersMu.Unlock()
	}()

	w.log.Info("worker started", "kinds", w.reg.Names())
	ticker := time.NewTicker(w.opts.PollInterval)
	defer ticker.Stop()
	probe := true
	var lastSchedule time.Time
	for ctx.Err() == nil {
		// Recurring tasks are checked at most every few seconds: periods
		// are whole minutes, and the enqueue is an upsert per task.
		if len(w.reg.tasks) > 0 && time.Since(lastSchedule) >= scheduleEvery {
			lastSchedule = time.Now()
			if err := w.schedule(ctx); err != nil && ctx.Err() == nil {
				w.log.Error("schedule recurring tasks", "error", err)
			}
		}
		w.poll(ctx, probe)
		if w.polled != nil {
			w.polled()
		}
		select {
		case <-ctx.Done():
		case <-ticker.C:
			probe = true
		case <-w.wakeCh:
			probe = false
		}
	}

	w.handBackQueued()
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(w.opts.ShutdownGrace):
	}
	w.mu.Lock()
	n := 0
	for _, c := range w.running {
		n += c
	}
	w.mu.Unlock()
	w.log.Warn("shutdown grace over: cancelling running jobs", "running", n)
	cancelJobs()
	// Cancelled handlers still record their release; give them the time a
	// few database writes need.
	select {
	case <-done:
		return nil
	case <-time.After(max(w.opts.ShutdownGrace, 5*time.Second)):
		return fmt.Errorf("outbox worker %s: %d jobs ignored cancellation; their leases will expire", w.opts.ID, n)
	}
}

// poll claims jobs for every kind that may have due work and has a free
// slot or a short queue: all kinds with due jobs when probe is set, else
// the kinds it was told about.
func (w *Worker) poll(ctx context.Context, probe bool) {
	if probe {
		kinds, err := w.dueKinds(ctx)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("look for due jobs", "error", err)
			}
			return
		}
		w.mu.Lock()
		for _, k := range kinds {
			w.backlog[k] = true
		}
		w.mu.Unlock()
	}
	for _, name := range w.reg.Names() {
		k := w.reg.kinds[name]
		w.mu.Lock()
		n := w.claimable(k)
		w.mu.Unlock()
		if n == 0 {
			continue
		}
		jobs, err := w.claim(ctx, k, n)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("claim jobs", "kind", name, "error", err)
			}
			continue
		}
		w.wg.Add(len(jobs))
		w.mu.Lock()
		// A full batch means there may be more; a short one means the
		// kind is drained until something new is announced or polled.
		w.backlog[name] = len(jobs) == n
		start := min(len(jobs), k.Concurrency-w.running[name])
		w.running[name] += start
		w.queued[name] = append(w.queued[name], jobs[start:]...)
		w.mu.Unlock()
		for _, j := range jobs[:start] {
			go w.runFrom(k, j)
		}
	}
}

// aheadWait is how long a job claimed ahead of a free slot is expected to
// wait for one, at most. Claiming ahead turns many small claim
// transactions into a few large ones when handlers are quick; keeping the
// expected wait this short means a replica never sits on work that an
// idle replica could be running.
const aheadWait = 100 * time.Millisecond

// maxAhead bounds the jobs of one kind a worker holds ahead of its slots.
const maxAhead = 64

// claimAhead is how many jobs of a kind to hold beyond its slots: as many
// as the slots are expected to start within aheadWait, at the handler's
// measured speed. A kind not yet measured (avg 0) gets none.
func claimAhead(concurrency int, avg time.Duration) int {
	if avg <= 0 {
		return 0
	}
	return int(min(int64(concurrency)*int64(aheadWait/avg), maxAhead))
}

// claimable is how many jobs of k the worker should claim now: its free
// slots plus what tops up its queue, once the queue has fallen to half of
// what it should hold (so one claim refills it while the slots keep
// working through the rest). Callers hold w.mu.
func (w *Worker) claimable(k *Kind) int {
	if !w.backlog[k.Name] || w.stopping {
		return 0
	}
	free := max(k.Concurrency-w.running[k.Name], 0)
	ahead := claimAhead(k.Concurrency, w.runTime[k.Name])
	short := max(ahead-len(w.queued[k.Name]), 0)
	if free == 0 && 2*short < ahead {
		return 0
	}
	return free + short
}

// dueKinds lists registered kinds with due jobs or expired leases.
func (w *Worker) dueKinds(ctx context.Context) ([]string, error) {
	now := dbTime(w.opts.Now())
	return w.client.Job.Query().
		Where(job.KindIn(w.reg.Names()...), dueAt(now)).
		Unique(true).
		Select(job.FieldKind).
		Strings(ctx)
}

// dueAt matches jobs a worker may claim at now: pending and due, or
// running under an expired lease (their worker died or hung).
func dueAt(now time.Time) func(*entsql.Selector) {
	return job.Or(
		job.And(job.StateEQ(job.StatePENDING), job.RunAtLTE(now)),
		job.And(job.StateEQ(job.StateRUNNING), job.LeaseExpiresAtLTE(now)),
	)
}

const scheduleEvery = 10 * time.Second

const lostLeaseError = "lease expired: the worker running this attempt stopped or overran its deadline"

// claim leases up to n due jobs of kind k to this worker.
func (w *Worker) claim(ctx context.Context, k *Kind, n int) (_ []*ent.Job, err error) {
	now := dbTime(w.opts.Now())
	var tx *ent.Tx
	if w.opts.Dialect == dialect.MySQL {
		// READ COMMITTED keeps FOR UPDATE to the rows it returns, with no
		// gap locks that would block concurrent Enqueue inserts.
		tx, err = w.client.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	} else {
		tx, err = w.client.Tx(ctx)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback())
		}
	}()
	// Two index range scans in claim order, (kind, state, run_at) then
	// (state, lease_expires_at), rather than one OR: with the OR the
	// database sorts every due row and, on MySQL, locks them all, so
	// concurrent claimers would skip everything and find nothing.
	lock := func(q *ent.JobQuery) *ent.JobQuery {
		if w.opts.Dialect == dialect.MySQL {
			return q.ForUpdate(entsql.WithLockAction(entsql.SkipLocked))
		}
		return q
	}
	jobs, err := lock(tx.Job.Query().
		Where(job.Kind(k.Name), job.StateEQ(job.StatePENDING), job.RunAtLTE(now)).
		Order(job.ByRunAt()).
		Limit(n)).All(ctx)
	if err != nil {
		return nil, err
	}
	if len(jobs) < n {
		expired, err := lock(tx.Job.Query().
			Where(job.StateEQ(job.StateRUNNING), job.LeaseExpiresAtLTE(now), job.Kind(k.Name)).
			Order(job.ByLeaseExpiresAt()).
			Limit(n - len(jobs))).All(ctx)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, expired...)
	}
	if len(jobs) == 0 {
		return nil, tx.Rollback()
	}
	claimed := jobs[:0]
	var lost []*ent.JobAttemptCreate
	for _, j := range jobs {
		if j.State == job.StateRUNNING {
			// The previous attempt never reported back: record it as
			// failed, and give up if it was the last one.
			lost = append(lost, tx.JobAttempt.Create().
				SetJobID(j.ID).SetNumber(j.Attempts).SetWorker(j.LeaseOwner).
				SetStartedAt(j.UpdatedAt).SetFinishedAt(now).SetError(lostLeaseError))
			if j.Attempts >= j.MaxAttempts {
				if err := tx.Job.UpdateOneID(j.ID).SetState(job.StateDEAD).SetLeaseOwner("").
					ClearLeaseExpiresAt().SetFinishedAt(now).SetLastError(lostLeaseError).Exec(ctx); err != nil {
					return nil, err
				}
				if err := w.reg.dead(ctx, tx, j.Kind, j.ID); err != nil {
					return nil, err
				}
				w.log.Warn("job dead: last attempt lost its lease", "job", j.ID, "kind", j.Kind)
				continue
			}
		}
		claimed = append(claimed, j)
	}
	if len(lost) > 0 {
		if err := tx.JobAttempt.CreateBulk(lost...).Exec(ctx); err != nil {
			return nil, err
		}
	}
	if len(claimed) > 0 {
		ids := make([]gid.ID, len(claimed))
		for i, j := range claimed {
			ids[i] = j.ID
		}
		expires := now.Add(k.Timeout + w.opts.LeaseMargin)
		_, err := tx.Job.Update().
			Where(job.IDIn(ids...)).
			SetState(job.StateRUNNING).
			SetLeaseOwner(w.opts.ID).
			SetLeaseExpiresAt(expires).
			AddAttempts(1).
			SetUpdatedAt(now).
			Save(ctx)
		if err != nil {
			return nil, err
		}
		for _, j := range claimed {
			j.State = job.StateRUNNING
			j.LeaseOwner = w.opts.ID
			j.LeaseExpiresAt = &expires
			j.Attempts++
			j.UpdatedAt = now
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	for range lost {
		w.opts.Metrics.JobRan(k.Name, telemetry.JobLeaseExpired, 0)
	}
	return claimed, nil
}

// runFrom runs j and then, in the same slot, the kind's queued jobs until
// the queue is empty or the worker stops. The slot is free as soon as the
// last handler returns; each job counts as running for shutdown (w.wg)
// until its outcome is written.
func (w *Worker) runFrom(k *Kind, j *ent.Job) {
	for j != nil {
		o := w.run(k, j)
		w.mu.Lock()
		if o.ran > 0 {
			// Weighted so a few slow calls move the average quickly: the
			// queue shrinks as soon as handlers slow down.
			if avg := w.runTime[k.Name]; avg == 0 {
				w.runTime[k.Name] = o.ran
			} else {
				w.runTime[k.Name] = (3*avg + o.ran) / 4
			}
		}
		w.pending = append(w.pending, o)
		startFlusher := !w.flushing
		w.flushing = true
		j = nil
		if q := w.queued[k.Name]; len(q) > 0 && !w.stopping {
			j, w.queued[k.Name] = q[0], q[1:]
		} else {
			w.running[k.Name]--
		}
		refill := w.claimable(k) > 0
		w.mu.Unlock()
		if startFlusher {
			go w.flush()
		}
		if refill {
			select {
			case w.wakeCh <- struct{}{}:
			default:
			}
		}
	}
}

// errWaitedTooLong hands back a job that waited in the queue so long that
// its lease could run out before its handler's deadline.
var errWaitedTooLong = errors.New("outbox: claimed job waited too long for a free slot")

// run executes one claimed job and returns its outcome. A job whose lease
// no longer covers its handler's deadline plus half the lease margin is
// not started but handed back, so a running handler never outlives its
// lease.
func (w *Worker) run(k *Kind, j *ent.Job) outcome {
	w.mu.Lock()
	parent := w.jobCtx
	w.mu.Unlock()
	started := dbTime(w.opts.Now())
	if j.LeaseExpiresAt != nil && started.Add(k.Timeout+w.opts.LeaseMargin/2).After(*j.LeaseExpiresAt) {
		w.log.Warn("job handed back: it waited too long for a slot", "job", j.ID, "kind", j.Kind)
		return outcome{k: k, j: j, started: started, err: errWaitedTooLong, released: true}
	}
	ctx, cancel := context.WithTimeout(parent, k.Timeout)
	ctx, span := w.startSpan(ctx, j)
	t0 := time.Now()
	err := call(ctx, k.Handler, &Running{
		ID:             j.ID,
		Kind:           j.Kind,
		Payload:        j.Payload,
		IdempotencyKey: j.IdempotencyKey,
		Attempt:        j.Attempts,
		MaxAttempts:    j.MaxAttempts,
	})
	ran := max(time.Since(t0), time.Microsecond)
	cancel()
	released := err != nil && parent.Err() != nil && errors.Is(err, context.Canceled)
	o := outcome{k: k, j: j, started: started, err: err, released: released, ran: ran}
	w.observe(span, o)
	return o
}

// handBackQueued releases the jobs claimed ahead but not started, when Run
// stops: they go back to PENDING at once, without costing an attempt.
func (w *Worker) handBackQueued() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopping = true
	now := dbTime(w.opts.Now())
	for name, q := range w.queued {
		k := w.reg.kinds[name]
		for _, j := range q {
			w.pending = append(w.pending, outcome{k: k, j: j, started: now, err: context.Canceled, released: true})
		}
		delete(w.queued, name)
	}
	if len(w.pending) > 0 && !w.flushing {
		w.flushing = true
		go w.flush()
	}
}

// outcome is a finished attempt waiting to be written.
type outcome struct {
	k        *Kind
	j        *ent.Job
	started  time.Time
	err      error
	released bool          // handed back: PENDING again, the attempt not counted
	ran      time.Duration // how long the handler took; 0 if it did not run
}

// maxBatch bounds how many outcomes one transaction records.
const maxBatch = 256

// flush writes pending outcomes, a batch per transaction, until none are
// left. Outcomes that finish while a batch commits form the next batch,
// so under load one commit (one fsync) records many jobs.
func (w *Worker) flush() {
	for {
		w.mu.Lock()
		if len(w.pending) == 0 {
			w.flushing = false
			w.mu.Unlock()
			return
		}
		n := min(len(w.pending), maxBatch)
		batch := append([]outcome(nil), w.pending[:n]...)
		w.pending = append(w.pending[:0], w.pending[n:]...)
		w.mu.Unlock()
		if err := w.record(batch); err != nil {
			// The leases stay; when they expire another worker runs these
			// jobs again, so nothing is lost, at worst repeated.
			w.log.Error("record job outcomes", "jobs", len(batch), "error", err)
		}
		for range batch {
			w.wg.Done()
		}
	}
}

// call runs h, turning a panic into an error so one bad job cannot stop
// the worker.
func call(ctx context.Context, h Handler, r *Running) (err error) {
	defer func() {
		if p := recover(); p != nil {
			slog.ErrorContext(ctx, "panic in job handler", "kind", r.Kind, "job", r.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return h(ctx, r)
}

const maxErrorLen = 4000

// record writes a batch of outcomes in one transaction: each attempt, and
// each job moved on. Only jobs still leased to this worker under the same
// attempt number change; a worker whose lease expired and was taken over
// changes nothing.
func (w *Worker) record(batch []outcome) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := dbTime(w.opts.Now())
	ids := make([]gid.ID, len(batch))
	for i, o := range batch {
		ids[i] = o.j.ID
	}
	tx, err := w.client.Tx(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback())
		}
	}()
	q := tx.Job.Query().
		Where(job.IDIn(ids...), job.StateEQ(job.StateRUNNING), job.LeaseOwner(w.opts.ID))
	if w.opts.Dialect == dialect.MySQL {
		q = q.ForUpdate()
	}
	held, err := q.Select(job.FieldID, job.FieldAttempts).All(ctx)
	if err != nil {
		return err
	}
	attemptOf := make(map[gid.ID]int, len(held))
	for _, h := range held {
		attemptOf[h.ID] = h.Attempts
	}
	var (
		succeeded []gid.ID
		attempts  []*ent.JobAttemptCreate
		logs      []func()
	)
	for _, o := range batch {
		j := o.j
		if a, ok := attemptOf[j.ID]; !ok || a != j.Attempts {
			w.log.Warn("job outcome dropped: lease lost to another worker", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts)
			continue
		}
		msg := ""
		if o.err != nil {
			// Stored redacted: an error may quote a link, a header or an
			// outside service's answer, and admins read it (jobs API).
			msg = secret.Redact(o.err.Error())
			if len(msg) > maxErrorLen {
				msg = msg[:maxErrorLen]
			}
		}
		if !o.released {
			attempts = append(attempts, tx.JobAttempt.Create().
				SetJobID(j.ID).SetNumber(j.Attempts).SetWorker(w.opts.ID).
				SetStartedAt(o.started).SetFinishedAt(now).SetError(msg))
		}
		if o.err == nil {
			succeeded = append(succeeded, j.ID)
			continue
		}
		upd := tx.Job.UpdateOneID(j.ID).SetLeaseOwner("").ClearLeaseExpiresAt().SetUpdatedAt(now)
		switch {
		case o.released:
			// Shutdown interrupted the handler: hand the job back at once
			// and do not count the attempt against it.
			upd.SetState(job.StatePENDING).SetRunAt(now).AddAttempts(-1)
		case IsPermanent(o.err) || j.Attempts >= j.MaxAttempts:
			upd.SetState(job.StateDEAD).SetFinishedAt(now).SetLastError(msg)
			if err := w.reg.dead(ctx, tx, j.Kind, j.ID); err != nil {
				return err
			}
			logs = append(logs, func() {
				w.log.Error("job dead", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts, "error", msg)
			})
		default:
			upd.SetState(job.StatePENDING).SetRunAt(now.Add(nextDelay(o.k, j.Attempts, o.err))).SetLastError(msg)
			logs = append(logs, func() {
				w.log.Warn("job failed, will retry", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "error", msg)
			})
		}
		if err := upd.Exec(ctx); err != nil {
			return err
		}
	}
	if len(succeeded) > 0 {
		if err := tx.Job.Update().Where(job.IDIn(succeeded...)).
			SetState(job.StateSUCCEEDED).SetLeaseOwner("").ClearLeaseExpiresAt().
			SetFinishedAt(now).SetLastError("").SetUpdatedAt(now).Exec(ctx); err != nil {
			return err
		}
	}
	if len(attempts) > 0 {
		if err := tx.JobAttempt.CreateBulk(attempts...).Exec(ctx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	for _, l := range logs {
		l()
	}
	return nil
}
