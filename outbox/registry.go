package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"frontdesk/ent"
	"frontdesk/gid"
)

// Handler runs one job. It must respect ctx (its deadline is the kind's
// Timeout) and should pass Running.IdempotencyKey to outside services that
// accept one, because a job can run more than once: when a worker dies
// after the side effect but before recording success, another worker runs
// it again. A nil error marks the job SUCCEEDED; Permanent(err) makes it
// DEAD at once; any other error schedules a retry.
type Handler func(ctx context.Context, j *Running) error

// Running is the job a handler is running.
type Running struct {
	ID             gid.ID
	Kind           string
	Payload        json.RawMessage
	IdempotencyKey string
	// Attempt counts from 1.
	Attempt     int
	MaxAttempts int
}

// Decode unmarshals the job's payload into v.
func (r *Running) Decode(v any) error {
	if err := json.Unmarshal(r.Payload, v); err != nil {
		// Retrying cannot fix a payload that does not decode.
		return Permanent(fmt.Errorf("decode %s payload: %w", r.Kind, err))
	}
	return nil
}

// Kind declares how jobs of one kind run.
type Kind struct {
	Name    string
	Handler Handler
	// Concurrency is how many jobs of this kind one worker runs at once
	// (default 4).
	Concurrency int
	// Timeout is the handler's deadline (default 1 minute). The lease is
	// Timeout plus the worker's lease margin, so a live worker never loses
	// a job to another.
	Timeout time.Duration
	// Backoff returns the delay before attempt+1 after a failed attempt
	// (default ExponentialBackoff(10s, 1h)).
	Backoff func(attempt int) time.Duration
}

// Registry holds the handlers a worker runs, by kind.
type Registry struct {
	kinds  map[string]*Kind
	tasks  []Task
	onDead []DeadHook
}

// DeadHook hears of a job that just went DEAD, inside the transaction that
// records it, so what it owes (a webhook event) commits with it. An error
// rolls the outcome back; the job is then retried or taken over.
type DeadHook func(ctx context.Context, tx *ent.Tx, kind string, id gid.ID) error

// OnDead adds a hook. Call it at start-up, before the worker runs.
func (r *Registry) OnDead(h DeadHook) { r.onDead = append(r.onDead, h) }

func (r *Registry) dead(ctx context.Context, tx *ent.Tx, kind string, id gid.ID) error {
	for _, h := range r.onDead {
		if err := h(ctx, tx, kind, id); err != nil {
			return fmt.Errorf("dead-job hook of %s: %w", kind, err)
		}
	}
	return nil
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{kinds: map[string]*Kind{}} }

// Register adds a kind, filling in defaults. Registering a name twice
// panics: two handlers for one kind is a wiring bug.
func (r *Registry) Register(k Kind) {
	if k.Name == "" || k.Handler == nil {
		panic("outbox: Register needs a name and a handler")
	}
	if _, dup := r.kinds[k.Name]; dup {
		panic("outbox: kind registered twice: " + k.Name)
	}
	if k.Concurrency <= 0 {
		k.Concurrency = 4
	}
	if k.Timeout <= 0 {
		k.Timeout = time.Minute
	}
	if k.Backoff == nil {
		k.Backoff = ExponentialBackoff(10*time.Second, time.Hour)
	}
	r.kinds[k.Name] = &k
}

// SetConcurrency changes how many jobs of kind run at once, for operators
// tuning through configuration. Unknown kinds are an error.
func (r *Registry) SetConcurrency(kind string, n int) error {
	k, ok := r.kinds[kind]
	if !ok {
		return fmt.Errorf("outbox: no job kind %q (known: %v)", kind, r.Names())
	}
	if n <= 0 {
		return fmt.Errorf("outbox: concurrency of %s must be positive", kind)
	}
	k.Concurrency = n
	return nil
}

// Names lists the registered kinds, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ExponentialBackoff doubles the delay from base on every attempt up to
// max, and picks a random point in its upper half ("equal jitter") so
// jobs that failed together do not retry together.
func ExponentialBackoff(base, max time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < max; i++ {
			d *= 2
		}
		if d > max {
			d = max
		}
		half := d / 2
		return half + rand.N(half+1)
	}
}

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent wraps err so the job goes DEAD without further attempts, for
// failures such as a malformed payload or a recipient the provider
// rejects.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// retryDelayer is an error that knows when trying again may succeed, such
// as an HTTP 429 or 503 that came with Retry-After (msgraph.Error and
// ehr.Error implement it).
type retryDelayer interface{ RetryDelay() time.Duration }

// nextDelay is how long a failed job waits before its next attempt: the
// kind's backoff, or longer when the error carries a server's request to
// wait, which retrying sooner would only turn into another refusal.
func nextDelay(k *Kind, attempt int, err error) time.Duration {
	d := k.Backoff(attempt)
	var rd retryDelayer
	if errors.As(err, &rd) {
		d = max(d, rd.RetryDelay())
	}
	return d
}
