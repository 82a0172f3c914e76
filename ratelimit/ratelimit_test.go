package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/cache"
	"frontdesk/internal/testenv"
	"frontdesk/ratelimit"
)

func TestParseBudget(t *testing.T) {
	for in, want := range map[string]ratelimit.Budget{
		"600/1m":     {Limit: 600, Period: time.Minute},
		" 20 / 10s ": {Limit: 20, Period: 10 * time.Second},
		"5000/h":     {Limit: 5000, Period: time.Hour},
		"1/s":        {Limit: 1, Period: time.Second},
		"off":        {},
		"OFF":        {},
	} {
		got, err := ratelimit.ParseBudget(in)
		if err != nil || got != want {
			t.Errorf("ParseBudget(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "600", "0/1m", "-5/1m", "x/1m", "10/0s", "10/500ms", "10/1.5s", "10/48h", "10/minute", "10/"} {
		if b, err := ratelimit.ParseBudget(in); err == nil {
			t.Errorf("ParseBudget(%q) = %+v, want an error", in, b)
		}
	}
	if s := (ratelimit.Budget{Limit: 600, Period: time.Minute}).String(); s != "600/1m0s" {
		t.Errorf("String = %q", s)
	}
}

// store is the cache the test environment selects: Redis when
// FRONTDESK_TEST_REDIS_URL is set, the in-process store otherwise.
func store(t testing.TB) cache.Store {
	t.Helper()
	url, prefix := testenv.Redis(t)
	s, _, err := cache.Open(context.Background(), url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// clock is a fake clock the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestTakeCountsAWindowAndResets: a budget of 3 allows 3 requests,
// refuses the 4th with the time to the window's end, and is whole again
// once the clock reaches it; another key has its own budget; an off
// budget allows everything.
func TestTakeCountsAWindowAndResets(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	l := ratelimit.New(store(t), c.Now)
	b := ratelimit.Budget{Limit: 3, Period: time.Minute}

	var last ratelimit.Decision
	for i := range 3 {
		d, err := l.Take(ctx, "ip:198.51.100.1", b)
		if err != nil || !d.Allowed || d.Limit != 3 || d.Remaining != int64(2-i) {
			t.Fatalf("request %d: %+v %v", i, d, err)
		}
		if d.Reset <= 0 || d.Reset > time.Minute {
			t.Fatalf("reset %s outside the window", d.Reset)
		}
		last = d
	}
	c.Add(time.Second)
	d, err := l.Take(ctx, "ip:198.51.100.1", b)
	if err != nil || d.Allowed || d.Remaining != 0 {
		t.Fatalf("4th request: %+v %v", d, err)
	}
	if d.Reset != last.Reset-time.Second {
		t.Fatalf("reset %s, want %s (the same window's end)", d.Reset, last.Reset-time.Second)
	}
	if other, err := l.Take(ctx, "ip:198.51.100.2", b); err != nil || !other.Allowed || other.Remaining != 2 {
		t.Fatalf("another key: %+v %v", other, err)
	}

	// Just before the window ends the budget is still spent; at its end
	// it is whole again.
	c.Add(d.Reset - time.Nanosecond)
	if d, err := l.Take(ctx, "ip:198.51.100.1", b); err != nil || d.Allowed {
		t.Fatalf("a nanosecond before the reset: %+v %v", d, err)
	}
	c.Add(time.Nanosecond)
	d, err = l.Take(ctx, "ip:198.51.100.1", b)
	if err != nil || !d.Allowed || d.Remaining != 2 || d.Reset != time.Minute {
		t.Fatalf("after the reset: %+v %v", d, err)
	}

	for range 10 {
		if d, err := l.Take(ctx, "ip:198.51.100.1", ratelimit.Budget{}); err != nil || !d.Allowed {
			t.Fatalf("off budget: %+v %v", d, err)
		}
	}
}

// TestTakeIsExactUnderConcurrency: 64 goroutines race on a budget of 10;
// exactly 10 are allowed.
func TestTakeIsExactUnderConcurrency(t *testing.T) {
	c := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	l := ratelimit.New(store(t), c.Now)
	b := ratelimit.Budget{Limit: 10, Period: time.Hour}
	const n = 64
	var allowed atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			d, err := l.Take(context.Background(), "user:usr_race", b)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				allowed.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != 10 {
		t.Fatalf("%d of %d allowed on a budget of 10", got, n)
	}
}

// TestWindowsAreStaggered: keys do not all reset at the same instant.
func TestWindowsAreStaggered(t *testing.T) {
	c := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	l := ratelimit.New(cache.NewMemory(), c.Now)
	resets := map[time.Duration]bool{}
	for _, k := range []string{"ip:a", "ip:b", "ip:c", "ip:d", "ip:e"} {
		d, err := l.Take(context.Background(), k, ratelimit.Budget{Limit: 1, Period: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		resets[d.Reset] = true
	}
	if len(resets) < 4 {
		t.Fatalf("5 keys share %d reset times", len(resets))
	}
}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int64{0: 1, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, time.Minute: 60} {
		if got := ratelimit.Seconds(d); got != want {
			t.Errorf("Seconds(%s) = %d, want %d", d, got, want)
		}
	}
}

// BenchmarkTake is the limiter's cost per request: one counter increment
// in the selected store (in-process, or Redis on loopback).
func BenchmarkTake(b *testing.B) {
	l := ratelimit.New(store(b), nil)
	budget := ratelimit.Budget{Limit: 1 << 40, Period: time.Minute}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := l.Take(ctx, "ip:198.51.100.1", budget); err != nil {
			b.Fatal(err)
		}
	}
}
