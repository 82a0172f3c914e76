package cache

import (
	"sync"
	"time"
)

// Local is the in-process level of a versioned cache (the catalog's reads
// and responses, availability's calendars): values kept decoded in this
// process, so a hit costs a map lookup instead of a round trip and a
// decode. A nil Local is switched off: every lookup misses.
//
// It never decides freshness on its own. Every lookup names the version
// the request read from the shared store (see Version), and only entries
// stored under that same version are returned: a write on any replica
// replaces the version and retires this process's entries for the very
// next request. Entries also expire after their TTL, the bound when an
// invalidation itself failed. The cache is bounded in entries and in
// (estimated) bytes.
type Local struct {
	mu       sync.Mutex
	version  string
	items    map[string]localItem
	bytes    int
	maxBytes int
	maxItems int
	now      func() time.Time
}

type localItem struct {
	value   any
	size    int
	expires time.Time
}

// NewLocal returns an empty cache of at most maxItems entries and about
// maxBytes bytes.
func NewLocal(maxItems, maxBytes int) *Local {
	return &Local{items: map[string]localItem{}, maxItems: maxItems, maxBytes: maxBytes, now: time.Now}
}

// Get returns the value stored under key for version.
func (c *Local) Get(version, key string) (any, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if version != c.version {
		return nil, false
	}
	it, ok := c.items[key]
	if !ok {
		return nil, false
	}
	if !c.now().Before(it.expires) {
		c.drop(key, it)
		return nil, false
	}
	return it.value, true
}

// Lookup calls found with each of keys stored under version, holding the
// lock once for all of them (a catalog page looks up every product and
// variant it shows).
func (c *Local) Lookup(version string, keys []string, found func(i int, v any)) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if version != c.version {
		return
	}
	now := c.now()
	for i, k := range keys {
		it, ok := c.items[k]
		if !ok {
			continue
		}
		if !now.Before(it.expires) {
			c.drop(k, it)
			continue
		}
		found(i, it.value)
	}
}

// Put stores value (about size bytes) under key for version. Stored values
// are shared by every request that hits them and must not be modified. A
// version other than the current one empties the cache first: entries of
// a retired version can never be hit again. A value larger than an eighth
// of the cap is not kept, so one huge read cannot flush everything else.
func (c *Local) Put(version, key string, value any, size int, ttl time.Duration) {
	if c == nil || size > c.maxBytes/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(version, key, value, size, c.now().Add(ttl))
}

// PutMany stores values[i] (about sizes[i] bytes) under keys[i] for
// version, as Put does, holding the lock once.
func (c *Local) PutMany(version string, keys []string, values []any, sizes []int, ttl time.Duration) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	expires := c.now().Add(ttl)
	for i, k := range keys {
		if sizes[i] <= c.maxBytes/8 {
			c.putLocked(version, k, values[i], sizes[i], expires)
		}
	}
}

func (c *Local) putLocked(version, key string, value any, size int, expires time.Time) {
	if version != c.version {
		clear(c.items)
		c.bytes = 0
		c.version = version
	}
	if old, ok := c.items[key]; ok {
		c.drop(key, old)
	}
	// Make room by dropping arbitrary entries (map order is random).
	for k, it := range c.items {
		if len(c.items) < c.maxItems && c.bytes+size <= c.maxBytes {
			break
		}
		c.drop(k, it)
	}
	c.items[key] = localItem{value: value, size: size, expires: expires}
	c.bytes += size
}

// Bytes is the estimated size of what the cache holds.
func (c *Local) Bytes() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

func (c *Local) drop(key string, it localItem) {
	delete(c.items, key)
	c.bytes -= it.size
}
