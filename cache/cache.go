// Package cache is Frontdesk's shared key-value store: Redis when one is
// configured, so every replica sees the same data, and an in-process map
// otherwise. Values are bytes; callers encode their own.
package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store is what callers need of a cache.
type Store interface {
	// Get returns the value of key, or ok=false when it is absent.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Set stores value under key for ttl (0 means no expiry).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes keys; absent keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// Incr adds one to the counter at key, creating it with the given
	// expiry, and returns the new value and its remaining time to live.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, time.Duration, error)
	// Ping checks that the store answers; /readyz uses it.
	Ping(ctx context.Context) error
	Close() error
}

// Open returns a Redis store for redisURL, or an in-process store when the
// URL is empty. prefix is put before every key.
func Open(ctx context.Context, redisURL, prefix string) (Store, *redis.Client, error) {
	if redisURL == "" {
		return NewMemory(), nil, nil
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("parse redis URL: %w", err)
	}
	client := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("connect to redis: %w", err)
	}
	return &Redis{client: client, prefix: prefix}, client, nil
}

// Redis is a Store on a Redis server.
type Redis struct {
	client *redis.Client
	prefix string
}

func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := r.client.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache get: %w", err)
	}
	return v, true, nil
}

func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := r.client.Set(ctx, r.prefix+key, value, ttl).Err(); err != nil {
		return fmt.Errorf("cache set: %w", err)
	}
	return nil
}

func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.prefix + k
	}
	if err := r.client.Del(ctx, full...).Err(); err != nil {
		return fmt.Errorf("cache delete: %w", err)
	}
	return nil
}

// incrScript increments and sets the expiry on first use atomically, so a
// crash between the two can never leave a counter that never expires.
var incrScript = redis.NewScript(`
local n = redis.call("INCR", KEYS[1])
if n == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
return {n, redis.call("PTTL", KEYS[1])}`)

func (r *Redis) Incr(ctx context.Context, key string, ttl time.Duration) (int64, time.Duration, error) {
	res, err := incrScript.Run(ctx, r.client, []string{r.prefix + key}, ttl.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("cache incr: %w", err)
	}
	return res[0], time.Duration(res[1]) * time.Millisecond, nil
}

func (r *Redis) Ping(ctx context.Context) error { return r.client.Ping(ctx).Err() }

func (r *Redis) Close() error { return r.client.Close() }

// Memory is an in-process Store for a single replica.
type Memory struct {
	mu    sync.Mutex
	items map[string]memItem
	now   func() time.Time
}

type memItem struct {
	value   []byte
	expires time.Time // zero: never
}

// NewMemory returns an empty in-process store.
func NewMemory() *Memory {
	return &Memory{items: map[string]memItem{}, now: time.Now}
}

func (m *Memory) live(key string) (memItem, bool) {
	it, ok := m.items[key]
	if ok && !it.expires.IsZero() && !m.now().Before(it.expires) {
		delete(m.items, key)
		return memItem{}, false
	}
	return it, ok
}

func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.live(key)
	if !ok {
		return nil, false, nil
	}
	return append([]byte(nil), it.value...), true, nil
}

func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := memItem{value: append([]byte(nil), value...)}
	if ttl > 0 {
		it.expires = m.now().Add(ttl)
	}
	m.items[key] = it
	m.sweepLocked()
	return nil
}

func (m *Memory) Delete(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.items, k)
	}
	return nil
}

func (m *Memory) Incr(_ context.Context, key string, ttl time.Duration) (int64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.live(key)
	var n int64
	if ok {
		_, _ = fmt.Sscan(string(it.value), &n)
	} else if ttl > 0 {
		it.expires = m.now().Add(ttl)
	}
	n++
	it.value = []byte(fmt.Sprint(n))
	m.items[key] = it
	var left time.Duration
	if !it.expires.IsZero() {
		left = it.expires.Sub(m.now())
	}
	return n, left, nil
}

func (m *Memory) Ping(context.Context) error { return nil }

func (m *Memory) Close() error { return nil }

// sweepLocked drops expired items once the map grows, so a long-running
// process does not keep dead keys forever.
func (m *Memory) sweepLocked() {
	if len(m.items) < 10_000 || len(m.items)%1000 != 0 {
		return
	}
	now := m.now()
	for k, it := range m.items {
		if !it.expires.IsZero() && !now.Before(it.expires) {
			delete(m.items, k)
		}
	}
}
