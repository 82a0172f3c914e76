package cache

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestMemoryIncrSweepsExpiredCounters: counters made only by Incr (one
// per caller and window for rate limits) are swept once they expire, so
// a long-running process does not keep them all.
func TestMemoryIncrSweepsExpiredCounters(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	for i := range 12_000 {
		if _, _, err := m.Incr(ctx, fmt.Sprint("old:", i), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Minute)
	for i := range 1_000 {
		n, ttl, err := m.Incr(ctx, fmt.Sprint("new:", i), time.Minute)
		if err != nil || n != 1 || ttl != time.Minute {
			t.Fatalf("Incr: %d %s %v", n, ttl, err)
		}
	}
	m.mu.Lock()
	left := len(m.items)
	m.mu.Unlock()
	if left > 1_000 {
		t.Fatalf("%d items left after the old counters expired; want at most the 1000 live ones", left)
	}
}
