// Package cache is Frontdesk's shared key-value store: Redis (one server
// or a Redis Cluster) when one is configured, so every replica sees the
// same data, and an in-process map otherwise. Values are bytes; callers
// encode their own.
//
// Every command touches one key, so it works unchanged on a cluster, where
// keys spread over hash slots; Delete of several keys sends one DEL per
// key. A future command that needs several keys at once (a Lua script, a
// MULTI) must give them one hash tag, such as "{order:123}:a" and
// "{order:123}:b", so the cluster keeps them in one slot.
package cache

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
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

// Open returns a Redis store for redisURL (see ParseURL) with the default
// deadlines and breaker, or an in-process store when the URL is empty.
// prefix is put before every key. The client is returned for the event
// bus to share.
func Open(ctx context.Context, redisURL, prefix string) (Store, redis.UniversalClient, error) {
	if redisURL == "" {
		return NewMemory(), nil, nil
	}
	r, err := OpenRedis(ctx, redisURL, Options{Prefix: prefix})
	if err != nil {
		return nil, nil, err
	}
	return r, r.client, nil
}

// Default deadlines of every Redis call: Redis answers a healthy request
// in well under a millisecond, so a call that takes longer than this is
// waiting on a stalled or unreachable server, and the request is better
// served from the database.
const (
	DefaultDialTimeout  = 200 * time.Millisecond
	DefaultReadTimeout  = 200 * time.Millisecond
	DefaultWriteTimeout = 200 * time.Millisecond
	DefaultPoolTimeout  = 200 * time.Millisecond
)

// Options configure a Redis store. Zero durations take the defaults.
type Options struct {
	// Prefix is put before every key.
	Prefix string
	// DialTimeout, ReadTimeout, WriteTimeout and PoolTimeout bound each
	// Redis call: opening a connection, reading a reply, writing a
	// command, and waiting for a free pooled connection. They replace any
	// timeout given in the URL.
	DialTimeout, ReadTimeout, WriteTimeout, PoolTimeout time.Duration
	// Breaker tunes the circuit breaker every call goes through.
	Breaker BreakerOptions
}

// OpenRedis connects to redisURL with tight deadlines and a circuit
// breaker (see Breaker). A Redis that does not answer at start-up is not
// an error: the store starts with its breaker open, the process serves
// from the database, and the breaker's probe connects once Redis answers.
func OpenRedis(ctx context.Context, redisURL string, o Options) (*Redis, error) {
	opts, err := ParseURL(redisURL)
	if err != nil {
		return nil, err
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.DialTimeout, DefaultDialTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.PoolTimeout, DefaultPoolTimeout)
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout, opts.PoolTimeout = o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout
	// No retries: a retried call could take several deadlines, and every
	// caller has a fallback for a failed one. The breaker bounds each call
	// as a whole by the longest deadline, through its context.
	opts.MaxRetries = -1
	opts.ContextTimeoutEnabled = true
	if o.Breaker.CallTimeout <= 0 {
		o.Breaker.CallTimeout = max(o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout)
	}
	logOnce.Do(func() { redis.SetLogger(goRedisLog{log: o.Breaker.Log}) })
	if opts.Dialer != nil {
		// The unix-socket dialer captured the URL's timeout.
		timeout := o.DialTimeout
		opts.Dialer = func(ctx context.Context, _, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: timeout}
			return d.DialContext(ctx, "unix", addr)
		}
	}
	client := redis.NewUniversalClient(opts)
	b := NewBreaker(o.Breaker)
	b.probe = func(ctx context.Context) error { return client.Ping(ctx).Err() }
	client.AddHook(b)
	r := &Redis{client: client, prefix: o.Prefix, breaker: b}
	pingCtx, cancel := context.WithTimeout(ctx, o.DialTimeout+o.ReadTimeout+o.WriteTimeout)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		b.trip(fmt.Errorf("connect to redis at start-up: %w", err))
	}
	return r, nil
}

var logOnce sync.Once

// goRedisLog sends go-redis's own messages (such as each failed dial of
// its pool while Redis is down) to the process log at debug level: the
// breaker reports outages once, at warning level and above.
type goRedisLog struct{ log *slog.Logger }

func (l goRedisLog) Printf(ctx context.Context, format string, v ...any) {
	log := l.log
	if log == nil {
		log = slog.Default()
	}
	log.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

// ParseURL reads FRONTDESK_REDIS_URL:
//
//	redis://[user:password@]host:6379[/db]     one server (rediss:// for TLS, unix:///path.sock)
//	redis-cluster://[user:password@]host1:7000,host2:7000[?options]
//	rediss-cluster://…                           a cluster over TLS
//
// A cluster URL lists one or more seed nodes, comma-separated (the rest of
// the cluster is discovered from them), has no database number (a cluster
// has only database 0), and takes go-redis's cluster options as query
// parameters (dial_timeout=3s, read_timeout=2s, pool_size=20,
// route_randomly=true, …); a single-server URL takes go-redis's ParseURL
// options. Both become the UniversalOptions of one client type.
func ParseURL(raw string) (*redis.UniversalOptions, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, errors.New("redis URL: expected redis://host:port/db or redis-cluster://host1:port,host2:port")
	}
	base, cluster := strings.CutSuffix(scheme, "-cluster")
	if !cluster {
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redis URL: %w", err)
		}
		u := universal(o)
		u.Addrs = []string{o.Addr}
		if o.Network == "unix" {
			// UniversalOptions has no network: dial the socket path.
			timeout := o.DialTimeout
			u.Dialer = func(ctx context.Context, _, addr string) (net.Conn, error) {
				d := net.Dialer{Timeout: timeout}
				return d.DialContext(ctx, "unix", addr)
			}
		}
		return u, nil
	}
	if base != "redis" && base != "rediss" {
		return nil, fmt.Errorf("redis URL: unknown scheme %q; use redis-cluster:// or rediss-cluster://", scheme)
	}
	// go-redis takes one host and the others as addr= parameters.
	hostEnd := strings.IndexAny(rest, "/?")
	if hostEnd < 0 {
		hostEnd = len(rest)
	}
	authority, tail := rest[:hostEnd], rest[hostEnd:]
	userinfo, hosts := "", authority
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	path, query, _ := strings.Cut(tail, "?")
	if path != "" && path != "/" && path != "/0" {
		return nil, fmt.Errorf("redis URL: a cluster has only database 0, not %q", strings.TrimPrefix(path, "/"))
	}
	list := strings.Split(hosts, ",")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	for _, h := range list[1:] {
		if h == "" {
			return nil, errors.New("redis URL: empty host in the cluster's host list")
		}
		q.Add("addr", h)
	}
	if list[0] == "" {
		return nil, errors.New("redis URL: a cluster URL needs at least one host:port")
	}
	co, err := redis.ParseClusterURL(base + "://" + userinfo + list[0] + "?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	u := universal(co)
	u.IsClusterMode = true
	return u, nil
}

// universal copies the fields of go-redis's Options or ClusterOptions that
// UniversalOptions shares by name and type, which is how go-redis maps them
// back (UniversalOptions.Simple and .Cluster); copying by reflection keeps
// options added in later go-redis versions.
func universal(src any) *redis.UniversalOptions {
	u := &redis.UniversalOptions{}
	dst := reflect.ValueOf(u).Elem()
	from := reflect.ValueOf(src).Elem()
	for i := 0; i < from.NumField(); i++ {
		f := from.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if d := dst.FieldByName(f.Name); d.IsValid() && d.Type() == f.Type && d.CanSet() {
			d.Set(from.Field(i))
		}
	}
	return u
}

// Redis is a Store on a Redis server or cluster.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	breaker *Breaker
}

// Client is the Redis client, shared with the event bus so its publishes
// go through the same deadlines and breaker.
func (r *Redis) Client() redis.UniversalClient { return r.client }

// Breaker is the client's circuit breaker.
func (r *Redis) Breaker() *Breaker { return r.breaker }

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

// GetMany returns the values of keys in one round trip (nil for an
// absent key). It pipelines one GET per key rather than sending an MGET,
// which a cluster refuses (CROSSSLOT) for keys in different hash slots.
func (r *Redis) GetMany(ctx context.Context, keys ...string) ([][]byte, error) {
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, r.prefix+k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("cache get: %w", err)
	}
	out := make([][]byte, len(keys))
	for i, c := range cmds {
		b, err := c.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cache get: %w", err)
		}
		out[i] = b
	}
	return out, nil
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
	if len(keys) == 1 {
		if err := r.client.Del(ctx, r.prefix+keys[0]).Err(); err != nil {
			return fmt.Errorf("cache delete: %w", err)
		}
		return nil
	}
	// One DEL per key in a pipeline: the keys may live in different hash
	// slots of a cluster, where a multi-key DEL fails with CROSSSLOT.
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, r.prefix+k)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache delete: %w", err)
	}
	return nil
}

// incrScript increments and sets the expiry on first use atomically, so a
// crash between the two can never leave a counter that never expires. It
// touches only KEYS[1], so a cluster runs it on that key's node.
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

func (r *Redis) Close() error {
	r.breaker.Close()
	return r.client.Close()
}

// DefaultMemoryBytes is the byte cap of a Memory store made by NewMemory:
// enough for hundreds of thousands of sessions, persisted queries and
// counters, small next to the process's other memory.
const DefaultMemoryBytes = 64 << 20

// memEntryOverhead is what each entry is charged beyond its key and value:
// roughly its map slot, list element, entry struct and slice and string
// headers on a 64-bit machine. It keeps many tiny entries (rate-limit
// counters of one or two bytes) from escaping the cap.
const memEntryOverhead = 128

// Memory is an in-process Store for a single replica. It holds at most
// its byte cap, charging each entry its key and value length plus a fixed
// overhead, so clients sending ever new keys (persisted queries,
// credentials, rate-limit callers) cannot grow the process without bound.
// Over the cap it drops expired entries first, then the least recently
// used (read or written) ones. Evicting a rate-limit counter starts that
// caller's window again, which a cache may do; a counter that stays
// counts exactly.
type Memory struct {
	mu       sync.Mutex
	items    map[string]*list.Element // of *memItem
	lru      *list.List               // front: most recently used
	bytes    int64                    // charged for the items held
	maxBytes int64
	swept    time.Time // last full sweep of expired items on eviction
	evicted  int64     // live items dropped to stay under the cap
	now      func() time.Time
}

type memItem struct {
	key     string
	value   []byte
	expires time.Time // zero: never
}

func (it *memItem) size() int64 {
	return int64(len(it.key)+len(it.value)) + memEntryOverhead
}

// NewMemory returns an empty in-process store capped at
// DefaultMemoryBytes.
func NewMemory() *Memory { return NewMemoryBytes(DefaultMemoryBytes) }

// NewMemoryBytes returns an empty in-process store that holds at most
// maxBytes (DefaultMemoryBytes when maxBytes is not positive). A value
// too large for the cap on its own is not stored: Get then misses, as it
// would after an eviction.
func NewMemoryBytes(maxBytes int64) *Memory {
	if maxBytes <= 0 {
		maxBytes = DefaultMemoryBytes
	}
	return &Memory{items: map[string]*list.Element{}, lru: list.New(), maxBytes: maxBytes, now: time.Now}
}

// Bytes returns what the items held are charged, never more than the cap.
func (m *Memory) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}

// Evictions returns how many items were dropped to stay under the cap
// (expired items swept on the way are not counted).
func (m *Memory) Evictions() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.evicted
}

// SetClock makes the store expire items by now instead of time.Now
// (tests move time forward); nil keeps time.Now.
func (m *Memory) SetClock(now func() time.Time) {
	if now == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = now
}

// live returns the unexpired item at key and marks it most recently used.
func (m *Memory) live(key string) (*memItem, bool) {
	e, ok := m.items[key]
	if !ok {
		return nil, false
	}
	it := e.Value.(*memItem)
	if !it.expires.IsZero() && !m.now().Before(it.expires) {
		m.removeLocked(e)
		return nil, false
	}
	m.lru.MoveToFront(e)
	return it, true
}

func (m *Memory) removeLocked(e *list.Element) {
	it := m.lru.Remove(e).(*memItem)
	delete(m.items, it.key)
	m.bytes -= it.size()
}

// putLocked stores it in place of any item at its key, as the most
// recently used, and evicts others until the store fits its cap. An item
// larger than the whole cap is dropped instead of emptying the store.
func (m *Memory) putLocked(it *memItem) {
	if e, ok := m.items[it.key]; ok {
		m.removeLocked(e)
	}
	if it.size() > m.maxBytes {
		return
	}
	m.items[it.key] = m.lru.PushFront(it)
	m.bytes += it.size()
	if m.bytes <= m.maxBytes {
		return
	}
	// Expired items go first. A full pass costs a walk of the map, so it
	// runs at most once a second; between passes the least recently used
	// items go, expired or not.
	if now := m.now(); now.Sub(m.swept) >= time.Second {
		m.swept = now
		m.dropExpiredLocked(now)
	}
	for m.bytes > m.maxBytes {
		m.removeLocked(m.lru.Back())
		m.evicted++
	}
}

func (m *Memory) dropExpiredLocked(now time.Time) {
	for _, e := range m.items {
		if it := e.Value.(*memItem); !it.expires.IsZero() && !now.Before(it.expires) {
			m.removeLocked(e)
		}
	}
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
	it := &memItem{key: key, value: append([]byte(nil), value...)}
	if ttl > 0 {
		it.expires = m.now().Add(ttl)
	}
	m.putLocked(it)
	m.sweepLocked()
	return nil
}

func (m *Memory) Delete(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		if e, ok := m.items[k]; ok {
			m.removeLocked(e)
		}
	}
	return nil
}

func (m *Memory) Incr(_ context.Context, key string, ttl time.Duration) (int64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.live(key)
	it := &memItem{key: key}
	var n int64
	if ok {
		// A value Set by hand that is not a number counts from zero.
		n, _ = strconv.ParseInt(string(old.value), 10, 64)
		it.expires = old.expires
	} else if ttl > 0 {
		it.expires = m.now().Add(ttl)
	}
	n++
	it.value = strconv.AppendInt(nil, n, 10)
	m.putLocked(it)
	if !ok {
		// Rate-limit counters are made by Incr alone, one per caller and
		// window; without this sweep they would pile up.
		m.sweepLocked()
	}
	var left time.Duration
	if !it.expires.IsZero() {
		left = it.expires.Sub(m.now())
	}
	return n, left, nil
}

func (m *Memory) Ping(context.Context) error { return nil }

func (m *Memory) Close() error { return nil }

// sweepLocked drops expired items once the map grows, so a long-running
// process does not keep dead keys forever even below the byte cap.
func (m *Memory) sweepLocked() {
	if len(m.items) < 10_000 || len(m.items)%1000 != 0 {
		return
	}
	m.dropExpiredLocked(m.now())
}
