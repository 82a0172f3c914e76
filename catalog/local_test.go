package catalog

import (
	"testing"
	"time"
)

func TestLocalCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newLocalCache(3, 800)
	c.now = func() time.Time { return now }

	c.put("v1", "a", "A", 10, time.Minute)
	if v, ok := c.get("v1", "a"); !ok || v != "A" {
		t.Fatalf("get = %v %v", v, ok)
	}
	// Another version never sees v1's entries, and storing under it
	// retires them.
	if _, ok := c.get("v2", "a"); ok {
		t.Fatal("entry of v1 returned for v2")
	}
	c.put("v2", "b", "B", 10, time.Minute)
	if _, ok := c.get("v1", "a"); ok {
		t.Fatal("v1 entry survived a v2 put")
	}
	// Entries expire after their TTL.
	now = now.Add(2 * time.Minute)
	if _, ok := c.get("v2", "b"); ok {
		t.Fatal("expired entry returned")
	}
	// Bounds: at most maxItems entries and maxBytes bytes; an entry
	// larger than an eighth of the budget is not kept.
	for i, k := range []string{"c", "d", "e", "f"} {
		c.put("v2", k, i, 50, time.Minute)
	}
	if len(c.items) != 3 || c.bytes != 150 {
		t.Fatalf("items %d, bytes %d; want 3 and 150", len(c.items), c.bytes)
	}
	c.put("v2", "big", "x", 101, time.Minute)
	if _, ok := c.get("v2", "big"); ok {
		t.Fatal("oversized entry kept")
	}
	c.put("v2", "g", "G", 100, time.Minute)
	if c.bytes > 800 || len(c.items) > 3 {
		t.Fatalf("over budget: %d items, %d bytes", len(c.items), c.bytes)
	}
	// A nil cache (switched off) is a permanent miss.
	var off *localCache
	off.put("v", "k", 1, 1, time.Minute)
	if _, ok := off.get("v", "k"); ok {
		t.Fatal("nil cache returned a value")
	}
}
