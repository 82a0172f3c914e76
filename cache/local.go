package cache

import (
	"sync"
	"time"
)

// Local is the in-process level of a versioned cache: values kept decoded
// in this process, so a hit costs a map lookup instead of a round trip and
// a decode.
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
	c.items[key] = localItem{value: value, size: size, expires: c.now().Add(ttl)}
	c.bytes += size
}

// Bytes is the estimated size of what the cache holds.
func (c *Local) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

func (c *Local) drop(key string, it localItem) {
	delete(c.items, key)
	c.bytes -= it.size
}
