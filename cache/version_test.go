package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// failing is a store whose calls fail while down is set.
type failing struct {
	*Memory
	down bool
}

func (f *failing) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if f.down {
		return nil, false, ErrUnavailable
	}
	return f.Memory.Get(ctx, key)
}

func (f *failing) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if f.down {
		return ErrUnavailable
	}
	return f.Memory.Set(ctx, key, value, ttl)
}

// TestVersion: a version is stable until bumped; while the store fails
// Current reports the error (callers must not trust what they keep); a
// bump that failed is made by the first read that reaches the store
// again, so what was kept before the outage is retired.
func TestVersion(t *testing.T) {
	ctx := context.Background()
	store := &failing{Memory: NewMemory()}
	v := NewVersion(store, "v")
	first, err := v.Current(ctx)
	if err != nil || first == "" {
		t.Fatalf("first read: %q, %v", first, err)
	}
	if again, _ := v.Current(ctx); again != first {
		t.Fatalf("version moved without a bump: %q then %q", first, again)
	}
	if err := v.Bump(ctx); err != nil {
		t.Fatal(err)
	}
	bumped, _ := v.Current(ctx)
	if bumped == first {
		t.Fatal("bump kept the version")
	}
	// Another process's handle on the same key sees the same version.
	if other, _ := NewVersion(store, "v").Current(ctx); other != bumped {
		t.Fatalf("another handle reads %q, want %q", other, bumped)
	}

	store.down = true
	if _, err := v.Current(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("read while down: %v", err)
	}
	if err := v.Bump(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("bump while down: %v", err)
	}
	store.down = false
	after, err := v.Current(ctx)
	if err != nil || after == bumped {
		t.Fatalf("first read after the outage: %q, %v; want a version other than %q", after, err, bumped)
	}
	if again, _ := v.Current(ctx); again != after {
		t.Fatalf("version moved again after recovery: %q then %q", after, again)
	}
}

// TestLocal: entries are returned only under the version they were put
// under, expire, and stay within the byte cap.
func TestLocal(t *testing.T) {
	now := time.Unix(1000, 0)
	c := NewLocal(3, 800)
	c.now = func() time.Time { return now }
	c.Put("v1", "a", 1, 10, time.Minute)
	if got, ok := c.Get("v1", "a"); !ok || got != 1 {
		t.Fatalf("get a: %v %v", got, ok)
	}
	if _, ok := c.Get("v2", "a"); ok {
		t.Fatal("an entry of v1 returned under v2")
	}
	c.Put("v2", "b", 2, 10, time.Minute)
	if _, ok := c.Get("v1", "a"); ok {
		t.Fatal("v1 entries kept after a put under v2")
	}
	c.Put("v2", "huge", 3, 101, time.Minute) // over an eighth of the cap
	if _, ok := c.Get("v2", "huge"); ok {
		t.Fatal("an entry over an eighth of the cap was kept")
	}
	for _, k := range []string{"c", "d", "e"} {
		c.Put("v2", k, k, 100, time.Minute)
	}
	if n := len(c.items); n > 3 || c.Bytes() > 800 {
		t.Fatalf("%d entries, %d bytes: over the caps", n, c.Bytes())
	}
	now = now.Add(time.Minute)
	if _, ok := c.Get("v2", "e"); ok {
		t.Fatal("an expired entry returned")
	}
	// PutMany and Lookup: one lock for many keys, the same rules.
	c.PutMany("v3", []string{"p", "q", "big"}, []any{"P", "Q", "B"}, []int{10, 10, 101}, time.Minute)
	var found []string
	c.Lookup("v3", []string{"q", "missing", "p", "big"}, func(i int, v any) { found = append(found, fmt.Sprint(i, v)) })
	if strings.Join(found, " ") != "0Q 2P" {
		t.Fatalf("Lookup found %v; want [0Q 2P]", found)
	}
	c.Lookup("v2", []string{"p"}, func(int, any) { t.Fatal("an entry of v3 found under v2") })
	now = now.Add(time.Minute)
	c.Lookup("v3", []string{"p", "q"}, func(int, any) { t.Fatal("an expired entry found") })
	// A nil cache (switched off) is a permanent miss.
	var off *Local
	off.Put("v", "k", 1, 1, time.Minute)
	off.PutMany("v", []string{"k"}, []any{1}, []int{1}, time.Minute)
	off.Lookup("v", []string{"k"}, func(int, any) { t.Fatal("a nil cache found a value") })
	if _, ok := off.Get("v", "k"); ok || off.Bytes() != 0 {
		t.Fatal("a nil cache returned a value")
	}
}
