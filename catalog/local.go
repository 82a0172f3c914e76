package catalog

import (
	"sync"
	"time"
)

// localCache is the in-process level in front of the shared cache: hot
// catalog reads kept decoded (pages) or fully serialised (GraphQL
// responses), so a hit costs a map lookup instead of a network round trip
// and a JSON decode.
//
// It never decides freshness on its own. Every lookup names the catalog
// version the request read from the shared store (Redis on every request),
// and only entries stored under that same version are returned: a write on
// any replica replaces the version and retires this process's entries for
// the very next request, exactly as it retires the shared ones. Entries also
// expire after the cache TTL, the bound the shared cache gives when an
// invalidation itself failed.
type localCache struct {
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

func newLocalCache(maxItems, maxBytes int) *localCache {
	return &localCache{items: map[string]localItem{}, maxItems: maxItems, maxBytes: maxBytes, now: time.Now}
}

// get returns the value stored under key for version.
func (c *localCache) get(version, key string) (any, bool) {
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

// lookup calls found with each of keys stored under version, holding the
// lock once for all of them (a page looks up every product and variant).
func (c *localCache) lookup(version string, keys []string, found func(i int, v any)) {
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

// put stores value (about size bytes) under key for version. Stored values
// are shared by every request that hits them and must not be modified. A
// version other than the current one empties the cache first: keys embed
// nothing else that could tell versions apart, and entries of a retired
// version can never be hit again anyway.
func (c *localCache) put(version, key string, value any, size int, ttl time.Duration) {
	if c == nil || size > c.maxBytes/8 {
		return // one huge read must not flush everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(version, key, value, size, c.now().Add(ttl))
}

// putMany stores values[i] (about sizes[i] bytes) under keys[i] for
// version, as put does, holding the lock once.
func (c *localCache) putMany(version string, keys []string, values []any, sizes []int, ttl time.Duration) {
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

func (c *localCache) putLocked(version, key string, value any, size int, expires time.Time) {
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

func (c *localCache) drop(key string, it localItem) {
	delete(c.items, key)
	c.bytes -= it.size
}
