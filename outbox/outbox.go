// Package outbox is Frontdesk's transactional outbox: side effects owed by a
// state change (mail, SMS, EHR and calendar calls, refunds) are written as
// job rows in the same database transaction as the change, so they exist if
// and only if the change committed. Workers in any replica claim due jobs,
// run their handler under a lease and a deadline, record every attempt,
// retry failures with exponential backoff and jitter, and park jobs that
// keep failing as DEAD for an admin to replay.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/job"
	"frontdesk/gid"
	"frontdesk/telemetry"
)

// DefaultMaxAttempts is how many times a job runs before it is DEAD when
// neither the job nor its kind says otherwise.
const DefaultMaxAttempts = 10

// Job is a job to enqueue.
type Job struct {
	// Kind selects the handler, such as "mail.send".
	Kind string
	// Payload is encoded as JSON (a json.RawMessage is stored as is).
	Payload any
	// IdempotencyKey makes Enqueue idempotent: a second job with the same
	// key is not created. Handlers pass it on to outside services. Empty
	// means a fresh key "<kind>:<job id>".
	IdempotencyKey string
	// RunAt delays the job (reminders); zero means now.
	RunAt time.Time
	// MaxAttempts defaults to DefaultMaxAttempts.
	MaxAttempts int
}

// Enqueue writes j inside the caller's transaction: when tx rolls back the
// job is gone too. Workers in this process are woken when tx commits;
// other replicas find the job on their next poll. It returns the job's ID,
// which is the existing job's ID when the idempotency key was used before.
// When ctx carries a sampled span (a traced request), the job keeps its
// W3C traceparent and the job's span links to it.
func Enqueue(ctx context.Context, tx *ent.Tx, j Job) (gid.ID, error) {
	id, err := insert(ctx, tx.Job, j)
	if err != nil {
		return "", err
	}
	kind := j.Kind
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil {
				wake(kind)
			}
			return err
		})
	})
	return id, nil
}

// EnqueueDirect writes j in its own statement, for callers that have no
// state change to tie it to (the scheduler, admin tools, tests).
func EnqueueDirect(ctx context.Context, client *ent.Client, j Job) (gid.ID, error) {
	id, err := insert(ctx, client.Job, j)
	if err == nil {
		wake(j.Kind)
	}
	return id, err
}

func insert(ctx context.Context, jobs *ent.JobClient, j Job) (gid.ID, error) {
	if strings.TrimSpace(j.Kind) == "" || len(j.Kind) > 100 {
		return "", errors.New("outbox: job kind must be 1 to 100 characters")
	}
	var payload json.RawMessage
	switch p := j.Payload.(type) {
	case nil:
	case json.RawMessage:
		payload = p
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return "", fmt.Errorf("outbox: encode %s payload: %w", j.Kind, err)
		}
		payload = b
	}
	id := gid.New("job")
	key := j.IdempotencyKey
	generated := key == ""
	if generated {
		key = j.Kind + ":" + id.String()
	}
	if len(key) > 191 {
		return "", fmt.Errorf("outbox: idempotency key longer than 191 bytes: %q", key)
	}
	runAt := j.RunAt
	if runAt.IsZero() {
		runAt = time.Now()
	}
	maxAttempts := j.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	create := jobs.Create().
		SetID(id).
		SetKind(j.Kind).
		SetPayload(payload).
		SetIdempotencyKey(key).
		SetRunAt(dbTime(runAt)).
		SetMaxAttempts(maxAttempts)
	if tp := telemetry.TraceParent(ctx); tp != "" {
		// Only a sampled span is worth linking to; without tracing there
		// is none and the column stays NULL.
		create.SetTraceParent(tp)
	}
	if generated {
		// A fresh key cannot collide, so skip the upsert and the look-up.
		if err := create.Exec(ctx); err != nil {
			return "", fmt.Errorf("outbox: enqueue %s: %w", j.Kind, err)
		}
		return id, nil
	}
	if err := create.OnConflictColumns(job.FieldIdempotencyKey).Ignore().Exec(ctx); err != nil {
		return "", fmt.Errorf("outbox: enqueue %s: %w", j.Kind, err)
	}
	existing, err := jobs.Query().Where(job.IdempotencyKey(key)).OnlyID(ctx)
	if err != nil {
		return "", fmt.Errorf("outbox: enqueue %s: %w", j.Kind, err)
	}
	return existing, nil
}

// dbTime is t in UTC at microsecond precision, what both databases keep,
// so comparisons in Go and SQL agree.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// wakers are the running workers of this process; a commit that enqueued
// a job wakes them so local jobs start without waiting for the next poll.
var (
	wakersMu sync.Mutex
	wakers   = map[*Worker]struct{}{}
)

func wake(kind string) {
	wakersMu.Lock()
	defer wakersMu.Unlock()
	for w := range wakers {
		w.wake(kind)
	}
}
