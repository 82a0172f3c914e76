package identity_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/cache"
	"frontdesk/errcode"
	"frontdesk/identity"
)

// outage is a cache.Store that fails every call with cache.ErrUnavailable
// while down is set, as the Redis store does with its breaker open.
type outage struct {
	cache.Store
	down atomic.Bool
}

func (o *outage) err() error {
	if o.down.Load() {
		return cache.ErrUnavailable
	}
	return nil
}

func (o *outage) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if err := o.err(); err != nil {
		return nil, false, err
	}
	return o.Store.Get(ctx, k)
}

func (o *outage) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	if err := o.err(); err != nil {
		return err
	}
	return o.Store.Set(ctx, k, v, ttl)
}

func (o *outage) Delete(ctx context.Context, keys ...string) error {
	if err := o.err(); err != nil {
		return err
	}
	return o.Store.Delete(ctx, keys...)
}

func (o *outage) Incr(ctx context.Context, k string, ttl time.Duration) (int64, time.Duration, error) {
	if err := o.err(); err != nil {
		return 0, 0, err
	}
	return o.Store.Incr(ctx, k, ttl)
}

// TestCacheOutage: with the shared cache down nobody is locked out —
// sessions are verified against the database, sign-in works and is still
// rate limited (per process) — and a revocation is immediate on the
// replica that made it; another replica that still finds an entry cached
// before the revocation stops accepting it once the revoking replica
// replays its invalidation (Recovered, when Redis is back).
func TestCacheOutage(t *testing.T) {
	e := newEnv(t)
	store := &outage{Store: e.store}
	mk := func() *identity.Service {
		s, err := identity.New(e.client, store, e.mail, slog.New(slog.NewTextHandler(io.Discard, nil)), identity.Options{
			Hash: fastHash, AccountAttempts: 5, IPAttempts: 50, Now: func() time.Time { return *e.now }})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := mk(), mk()
	in := e.register(t, "ann@example.com")
	for _, s := range []*identity.Service{a, b} {
		if _, err := s.Authenticate(context.Background(), in.Token); err != nil { // cached while up
			t.Fatal(err)
		}
	}

	store.down.Store(true)
	v, err := a.Authenticate(context.Background(), in.Token)
	if err != nil || v.UserID != in.User.ID {
		t.Fatalf("authenticate with the cache down = %+v, %v", v, err)
	}
	signedIn, err := a.SignIn(client("10.0.0.9"), "ann@example.com", "a long passphrase")
	if err != nil {
		t.Fatalf("sign in with the cache down: %v", err)
	}
	for range 5 {
		_, err = a.SignIn(client("10.0.0.9"), "ann@example.com", "a wrong guess")
	}
	if _, err = a.SignIn(client("10.0.0.9"), "ann@example.com", "a wrong guess"); errcode.Of(err) != errcode.RateLimited {
		t.Fatalf("sixth wrong attempt with the cache down = %v, want RATE_LIMITED (per process)", err)
	}
	ctx := identity.WithViewer(client("10.0.0.9"), v)
	if _, err := a.RevokeSession(ctx, in.Session.ID); err != nil {
		t.Fatalf("revoke with the cache down: %v", err)
	}
	for name, s := range map[string]*identity.Service{"a": a, "b": b} {
		if _, err := s.Authenticate(context.Background(), in.Token); !errors.Is(err, identity.ErrCredentialsExpired) {
			t.Fatalf("revoked session on %s with the cache down = %v", name, err)
		}
	}

	// Redis is back with the entries cached before the revocation.
	store.down.Store(false)
	if _, err := a.Authenticate(context.Background(), in.Token); !errors.Is(err, identity.ErrCredentialsExpired) {
		t.Fatalf("revoked session on the revoking replica after recovery = %v", err)
	}
	if _, err := b.Authenticate(context.Background(), in.Token); err != nil {
		t.Logf("b already refuses: %v", err) // within CacheTTL it may still accept
	}
	a.Recovered(context.Background())
	if _, err := b.Authenticate(context.Background(), in.Token); !errors.Is(err, identity.ErrCredentialsExpired) {
		t.Fatalf("revoked session on another replica after the replay = %v", err)
	}
	if _, err := b.Authenticate(context.Background(), signedIn.Token); err != nil {
		t.Fatalf("the other session: %v", err)
	}
}
