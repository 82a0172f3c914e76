// Package ratelimit counts requests against budgets ("600 per minute")
// in the shared cache, so every replica draws on the same budget: Redis
// when one is configured, the in-process store otherwise.
//
// It is a fixed-window counter: one atomic INCR (with its expiry set on
// the first increment) per request, on a key named after the window. That
// is one round trip to Redis, exact under any concurrency (of N racing
// requests on a budget of M, exactly M pass), and costs one small key per
// active caller. Its known weakness is the boundary: a caller can spend a
// budget at the end of one window and again at the start of the next, so
// the worst burst is twice the budget in a short time. A sliding-window
// counter would halve that but needs the previous window's count too (a
// second read per request, or a script); a token bucket needs a script
// with read-modify-write state. For abuse protection, which is what this
// is, the fixed window's bound is acceptable and its cost is the lowest.
//
// When the shared cache fails (Redis stalled or down), requests are
// counted in this process instead: each replica then allows the whole
// budget on its own, so a caller spread over N replicas gets up to N times
// it for the length of the outage. That is weaker than the shared count
// but never unlimited, and it needs no Redis round trip.
//
// Windows are staggered: each key's windows start at an offset derived
// from the key, so callers do not all get their budgets back at the same
// instant and return together.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"frontdesk/cache"
)

// Budget is how many requests a caller may make per Period. The zero
// Budget is off: nothing is counted or refused.
type Budget struct {
	Limit  int64
	Period time.Duration
}

// Off reports whether the budget limits nothing.
func (b Budget) Off() bool { return b.Limit <= 0 || b.Period <= 0 }

// String writes the budget the way ParseBudget reads it.
func (b Budget) String() string {
	if b.Off() {
		return "off"
	}
	return strconv.FormatInt(b.Limit, 10) + "/" + b.Period.String()
}

// Periods shorter than a second cannot be told apart in the seconds of
// Retry-After; longer than a day would keep counters for too long.
const (
	minPeriod = time.Second
	maxPeriod = 24 * time.Hour
)

// ParseBudget reads "N/period" (such as 600/1m, 20/10s or 5000/1h, where
// period is a Go duration, or a unit alone: s, m, h) or "off".
func ParseBudget(s string) (Budget, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return Budget{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	limit, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
	if !ok || err != nil || limit <= 0 {
		return Budget{}, errors.New(`expected "N/period" with N a positive whole number, such as 600/1m, or "off"`)
	}
	per = strings.TrimSpace(per)
	switch per {
	case "s", "m", "h":
		per = "1" + per
	}
	d, err := time.ParseDuration(per)
	if err != nil || d < minPeriod || d > maxPeriod || d%time.Second != 0 {
		return Budget{}, errors.New("expected a period of whole seconds from 1s to 24h, such as 1m, 10s or 1h")
	}
	return Budget{Limit: limit, Period: d}, nil
}

// Decision is the outcome of one Take.
type Decision struct {
	Allowed bool
	Limit   int64
	Period  time.Duration
	// Remaining is how many more requests the window allows.
	Remaining int64
	// Reset is the time until the window ends and the budget is whole
	// again; a refused caller should wait this long.
	Reset time.Duration
	// Local is set when the shared cache failed and the request was
	// counted against this process's budget instead.
	Local bool
}

// Limiter takes requests from budgets kept in a cache.Store.
type Limiter struct {
	store cache.Store
	// local counts while store fails.
	local *cache.Memory
	now   func() time.Time
}

// New returns a Limiter on store. now is its clock (nil: time.Now); the
// window a request falls in is decided by it, so tests move to the next
// window by advancing it.
func New(store cache.Store, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	local := cache.NewMemory()
	local.SetClock(now)
	return &Limiter{store: store, local: local, now: now}
}

// Take counts one request by key against b and says whether it is within
// the budget. A refused request still counts, so a client that keeps
// retrying early does not get through sooner. An off budget allows
// everything and counts nothing.
func (l *Limiter) Take(ctx context.Context, key string, b Budget) (Decision, error) {
	if b.Off() {
		return Decision{Allowed: true}, nil
	}
	period := int64(b.Period)
	h := fnv.New64a()
	_, _ = h.Write([]byte(key)) // a hash never fails to write
	offset := int64(h.Sum64() % uint64(period))
	since := l.now().UnixNano() - offset
	window := since / period
	reset := time.Duration(period - since%period)
	// The key expires a period after its first request, which is never
	// before its window ends; after that it is never used again.
	name := "ratelimit:api:" + strconv.FormatInt(int64(b.Period/time.Second), 10) + ":" + key + ":" + strconv.FormatInt(window, 36)
	n, _, err := l.store.Incr(ctx, name, b.Period)
	if err != nil {
		// The budget holds per process until the cache is back.
		n, _, lerr := l.local.Incr(ctx, name, b.Period)
		if lerr != nil {
			return Decision{}, fmt.Errorf("rate limit: %w", errors.Join(err, lerr))
		}
		d := decide(n, b, reset)
		d.Local = true
		return d, nil
	}
	return decide(n, b, reset), nil
}

func decide(n int64, b Budget, reset time.Duration) Decision {
	return Decision{
		Allowed:   n <= b.Limit,
		Limit:     b.Limit,
		Period:    b.Period,
		Remaining: max(0, b.Limit-n),
		Reset:     reset,
	}
}

// Seconds rounds d up to whole seconds, at least 1, for Retry-After and
// the RateLimit headers: a client told 0 would retry at once.
func Seconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(1, s)
}
