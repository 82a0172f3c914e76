package identity

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"frontdesk/cache"
	"frontdesk/errcode"
)

// The shared cache only accelerates identity: when it fails (Redis
// stalled or down, its circuit breaker open) credentials are verified
// against the database on every request, sign-in attempts are counted in
// this process, and a revocation that could not reach the cache is
// remembered here (uncached) so this replica never trusts a cached entry
// for it. The other replicas read the database while Redis is down; once
// it is back they may still hit an entry cached before the revocation, for
// at most CacheTTL after it was cached, unless this replica has replayed
// the invalidation first (Recovered, when its breaker closes). So a
// revocation takes effect at once on the replica that made it and on every
// replica that cannot reach Redis, and everywhere else within CacheTTL.
type degraded struct {
	mu sync.Mutex
	// uncached holds token hashes whose invalidation did not reach the
	// cache, until the time after which no entry cached before it can
	// be alive.
	uncached map[string]time.Time
	// local counts sign-in attempts while the cache fails.
	local *cache.Memory
}

// bypass reports whether hash must be read from the database.
func (d *degraded) bypass(hash string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	until, ok := d.uncached[hash]
	if ok && !now.Before(until) {
		delete(d.uncached, hash)
		return false
	}
	return ok
}

func (d *degraded) remember(hashes []string, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.uncached == nil {
		d.uncached = map[string]time.Time{}
	}
	for h, u := range d.uncached {
		if !until.Before(u.Add(time.Hour)) { // drop long-dead ones as we go
			delete(d.uncached, h)
		}
	}
	for _, h := range hashes {
		d.uncached[h] = until
	}
}

func (d *degraded) pending() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.uncached))
	for h := range d.uncached {
		out = append(out, h)
	}
	return out
}

func (d *degraded) forget(hashes []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, h := range hashes {
		delete(d.uncached, h)
	}
}

// cacheFailed logs a cache failure that the caller works around. An open
// circuit breaker is not logged again: the breaker logged once.
func (s *Service) cacheFailed(ctx context.Context, what string, err error) {
	if errors.Is(err, cache.ErrUnavailable) {
		return
	}
	s.log.WarnContext(ctx, "identity cache "+what+" failed; using the database", "error", err.Error())
}

// Recovered replays the invalidations that did not reach the cache while
// it failed, so the other replicas stop trusting entries cached before
// them as soon as Redis is back. The Redis circuit breaker calls it when
// it closes.
func (s *Service) Recovered(ctx context.Context) {
	hashes := s.degraded.pending()
	if len(hashes) == 0 {
		return
	}
	if err := s.invalidateShared(ctx, hashes...); err != nil {
		s.log.WarnContext(ctx, "replay credential invalidations", "count", len(hashes), "error", err.Error())
		return
	}
	s.degraded.forget(hashes)
	s.log.InfoContext(ctx, "replayed credential invalidations after the cache came back", "count", len(hashes))
}

// rateLimit counts one attempt under key and fails with RATE_LIMITED and
// the time until the window ends once more than limit were made. While
// the shared cache fails, attempts are counted in this process: each
// replica then allows limit on its own, which is weaker than the shared
// count but never unlimited.
func (s *Service) rateLimit(ctx context.Context, key string, limit int64) error {
	n, ttl, err := s.cache.Incr(ctx, "ratelimit:"+key, s.opts.Window)
	if err != nil {
		s.cacheFailed(ctx, "rate limit", err)
		if n, ttl, err = s.degraded.local.Incr(ctx, "ratelimit:"+key, s.opts.Window); err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
	}
	if n > limit {
		if ttl <= 0 {
			ttl = s.opts.Window
		}
		return &errcode.Error{Code: errcode.RateLimited, Message: "too many attempts; try again later", RetryAfter: ttl}
	}
	return nil
}

// resetRateLimit forgets the attempts counted under key (after a
// successful sign-in). A cache failure leaves the shared count to expire
// with its window.
func (s *Service) resetRateLimit(ctx context.Context, key string) {
	if err := s.cache.Delete(ctx, "ratelimit:"+key); err != nil {
		s.cacheFailed(ctx, "rate limit reset", err)
	}
	_ = s.degraded.local.Delete(ctx, "ratelimit:"+key) // in-process: never fails
}
