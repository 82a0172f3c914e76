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

// TestMemoryStaysUnderCap: a client sending ever new keys (persisted
// queries, credentials) writes ten times the cap; the store keeps at most
// its cap and the most recent keys.
func TestMemoryStaysUnderCap(t *testing.T) {
	ctx := context.Background()
	const maxBytes = 64 << 10
	m := NewMemoryBytes(maxBytes)
	value := make([]byte, 200)
	perEntry := int64(len("pq:00000")+len(value)) + memEntryOverhead
	n := int(10 * maxBytes / perEntry)
	for i := range n {
		if err := m.Set(ctx, fmt.Sprintf("pq:%05d", i), value, 0); err != nil {
			t.Fatal(err)
		}
		if got := m.Bytes(); got > maxBytes {
			t.Fatalf("after %d keys the store holds %d bytes; cap %d", i+1, got, maxBytes)
		}
	}
	m.mu.Lock()
	held := len(m.items)
	m.mu.Unlock()
	if want := int(maxBytes / perEntry); held != want {
		t.Errorf("holds %d keys; want %d (as many as fit)", held, want)
	}
	if got := m.Evictions(); got != int64(n-held) {
		t.Errorf("counted %d evictions; want %d", got, n-held)
	}
	for i := n - held; i < n; i++ {
		if _, ok, _ := m.Get(ctx, fmt.Sprintf("pq:%05d", i)); !ok {
			t.Fatalf("recent key pq:%05d was evicted", i)
		}
	}
	if _, ok, _ := m.Get(ctx, "pq:00000"); ok {
		t.Error("the oldest key survived ten times the cap")
	}
}

// TestMemoryEviction: which keys an over-full store keeps.
func TestMemoryEviction(t *testing.T) {
	size := func(key string, value int) int64 { return int64(len(key)+value) + memEntryOverhead }
	type op struct {
		do    string // set, setttl, get, incr, del, tick
		key   string
		value int // bytes written by set
	}
	tests := []struct {
		name     string
		maxBytes int64
		ops      []op
		want     []string // keys that Get finds afterwards, in any order
		gone     []string
	}{{
		name:     "least recently written goes first",
		maxBytes: 3 * size("a", 10),
		ops:      []op{{"set", "a", 10}, {"set", "b", 10}, {"set", "c", 10}, {"set", "d", 10}},
		want:     []string{"b", "c", "d"},
		gone:     []string{"a"},
	}, {
		name:     "a read makes a key recent",
		maxBytes: 3 * size("a", 10),
		ops:      []op{{"set", "a", 10}, {"set", "b", 10}, {"set", "c", 10}, {"get", "a", 0}, {"set", "d", 10}},
		want:     []string{"a", "c", "d"},
		gone:     []string{"b"},
	}, {
		name:     "an increment makes a counter recent",
		maxBytes: 3 * size("a", 10),
		ops:      []op{{"incr", "a", 0}, {"set", "b", 10}, {"set", "c", 10}, {"incr", "a", 0}, {"set", "d", 10}},
		want:     []string{"a", "c", "d"},
		gone:     []string{"b"},
	}, {
		name:     "expired keys go before live ones",
		maxBytes: 3 * size("a", 10),
		ops:      []op{{"set", "a", 10}, {"set", "b", 10}, {"setttl", "c", 10}, {"tick", "", 0}, {"set", "d", 10}},
		want:     []string{"a", "b", "d"},
		gone:     []string{"c"},
	}, {
		name:     "an entry larger than the cap is not stored and evicts nothing",
		maxBytes: 3 * size("a", 10),
		ops:      []op{{"set", "a", 10}, {"set", "b", 10}, {"set", "big", 1000}},
		want:     []string{"a", "b"},
		gone:     []string{"big"},
	}, {
		name:     "an oversized write replaces the old value rather than leaving it stale",
		maxBytes: 3 * size("a", 10),
		ops:      []op{{"set", "a", 10}, {"set", "a", 1000}},
		gone:     []string{"a"},
	}, {
		name:     "a larger value evicts as many keys as it needs",
		maxBytes: 3 * size("a", 10),
		ops:      []op{{"set", "a", 10}, {"set", "b", 10}, {"set", "c", 10}, {"set", "c", 10 + int(size("a", 10))}},
		want:     []string{"b", "c"},
		gone:     []string{"a"},
	}, {
		name:     "deleting frees room",
		maxBytes: 3 * size("a", 10),
		ops:      []op{{"set", "a", 10}, {"set", "b", 10}, {"set", "c", 10}, {"del", "b", 0}, {"set", "d", 10}},
		want:     []string{"a", "c", "d"},
		gone:     []string{"b"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			m := NewMemoryBytes(tt.maxBytes)
			now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
			m.SetClock(func() time.Time { return now })
			for _, o := range tt.ops {
				var err error
				switch o.do {
				case "set":
					err = m.Set(ctx, o.key, make([]byte, o.value), 0)
				case "setttl":
					err = m.Set(ctx, o.key, make([]byte, o.value), time.Minute)
				case "get":
					_, _, err = m.Get(ctx, o.key)
				case "incr":
					_, _, err = m.Incr(ctx, o.key, 0)
				case "del":
					err = m.Delete(ctx, o.key)
				case "tick":
					now = now.Add(2 * time.Minute)
				}
				if err != nil {
					t.Fatalf("%s %s: %v", o.do, o.key, err)
				}
				if b := m.Bytes(); b > tt.maxBytes {
					t.Fatalf("after %s %s: %d bytes held; cap %d", o.do, o.key, b, tt.maxBytes)
				}
			}
			// Check survivors before misses: a Get makes a key recent but
			// evicts nothing.
			for _, k := range tt.want {
				if _, ok, _ := m.Get(ctx, k); !ok {
					t.Errorf("%s was evicted", k)
				}
			}
			for _, k := range tt.gone {
				if _, ok, _ := m.Get(ctx, k); ok {
					t.Errorf("%s is still held", k)
				}
			}
			var want int64
			m.mu.Lock()
			for _, e := range m.items {
				want += e.Value.(*memItem).size()
			}
			m.mu.Unlock()
			if got := m.Bytes(); got != want {
				t.Errorf("accounted %d bytes; the items held are %d", got, want)
			}
		})
	}
}

// TestMemoryIncrCountsExactly: a counter that stays in the store counts
// every increment, and keeps the expiry of its first one.
func TestMemoryIncrCountsExactly(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryBytes(4 << 10)
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	m.SetClock(func() time.Time { return now })
	for i := 1; i <= 1000; i++ {
		n, ttl, err := m.Incr(ctx, "rl:caller", time.Minute)
		if err != nil || n != int64(i) || ttl != time.Minute {
			t.Fatalf("increment %d: %d %s %v", i, n, ttl, err)
		}
		// Other callers' counters come and go around it.
		if _, _, err := m.Incr(ctx, fmt.Sprint("rl:other:", i), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
}
