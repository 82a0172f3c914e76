package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"frontdesk/cache"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/gid"
)

// The catalog has two versions in the shared cache. The catalog version
// changes on every admin write; the stock version on every committed
// reservation, release, sale and restock. Every cache key of a catalog read
// embeds the catalog version, and every key of a read that shows stock
// (stock levels, availability, an inStock filter) embeds the stock version
// too, so replacing either (on any replica) retires exactly the reads it
// affects at once; old entries simply expire. Stock changes far more often
// than the catalog, so a sale retires the rendered listings but not the
// decoded pages behind them: the next listing reads only the page's stock.
const (
	versionKey      = "catalog:version"
	stockVersionKey = "catalog:stock-version"
)

// versionTTL keeps the version keys around far longer than any entry.
const versionTTL = 30 * 24 * time.Hour

// version returns the current catalog version.
func (s *Service) version(ctx context.Context) (string, error) {
	cv, _ := s.versions(ctx)
	return cv, nil
}

// stockVersion returns the catalog version and the stock version joined:
// the version of every read that shows stock.
func (s *Service) stockVersion(ctx context.Context) (string, error) {
	cv, sv := s.versions(ctx)
	return cv + "/" + sv, nil
}

// versions returns the catalog version and the stock version, both read
// from the shared cache in one round trip once per request (the
// request's loaders remember them), whichever of the two the request
// needs first.
func (s *Service) versions(ctx context.Context) (catalogVersion, stockVersion string) {
	l := loadersFrom(ctx)
	if l == nil {
		return s.readVersions(ctx)
	}
	l.versionMu.Lock()
	defer l.versionMu.Unlock()
	if l.version == "" {
		l.version, l.stock = s.readVersions(ctx)
	}
	return l.version, l.stock
}

// versionKeys are read together by readVersions.
var versionKeys = []string{versionKey, stockVersionKey}

// getMany is a shared store that reads several keys in one round trip
// (cache.Redis).
type getMany interface {
	GetMany(ctx context.Context, keys ...string) ([][]byte, error)
}

// readVersions is the one place versions are read from the shared cache,
// creating any that is missing. Versions are unique IDs, never counters,
// so a version key that expired or was evicted cannot make old entries
// current again. While the shared cache fails it returns versions of
// this process instead (see localVersion), so reads still use the
// in-process cache.
func (s *Service) readVersions(ctx context.Context) (catalogVersion, stockVersion string) {
	var (
		vals [][]byte
		err  error
	)
	if m, ok := s.cache.(getMany); ok {
		vals, err = m.GetMany(ctx, versionKeys...)
	} else {
		vals = make([][]byte, len(versionKeys))
		for i, k := range versionKeys {
			var v []byte
			if v, _, err = s.cache.Get(ctx, k); err != nil {
				break
			}
			vals[i] = v
		}
	}
	for i := 0; err == nil && i < len(versionKeys); i++ {
		if vals[i] == nil {
			vals[i] = []byte(gid.New("ver"))
			err = s.cache.Set(ctx, versionKeys[i], vals[i], versionTTL)
		}
	}
	if err != nil {
		s.cacheFailed(ctx, "version read", err)
		v := s.degraded.version(time.Now())
		return v, v
	}
	return string(vals[0]), string(vals[1])
}

// degradedWindow bounds how stale a catalog read (stock included) may be
// while the shared cache is unavailable: this replica cannot hear of
// other replicas' writes then, so its in-process entries are retired this
// often.
const degradedWindow = 2 * time.Second

// localVersion stands in for a shared version while the shared cache
// fails: it names this process, counts the writes made here (each
// retires this replica's entries at once, as the shared version would)
// and moves on every degradedWindow (which retires them after at most
// that long, for the writes of other replicas). It never equals a shared
// version, so the first read after Redis is back starts afresh.
type localVersion struct {
	epoch  string
	writes atomic.Int64
}

func (l *localVersion) version(now time.Time) string {
	return localPrefix + l.epoch + ":" + strconv.FormatInt(l.writes.Load(), 10) + ":" +
		strconv.FormatInt(now.UnixNano()/int64(degradedWindow), 10)
}

const localPrefix = "local:"

// sharedVersion reports whether version came from the shared cache; a
// local one means the shared cache just failed, and the request does not
// wait on it again.
func sharedVersion(version string) bool { return !strings.Contains(version, localPrefix) }

// cacheFailed logs a shared-cache failure the caller works around. An
// open Redis circuit breaker is not logged on every read: the breaker
// logs once.
func (s *Service) cacheFailed(ctx context.Context, what string, err error) {
	if errors.Is(err, cache.ErrUnavailable) {
		return
	}
	s.log.WarnContext(ctx, "catalog cache "+what+" failed; reading the database", "error", err.Error())
}

// Invalidate retires every cached catalog read. When the shared cache
// fails, this replica's reads are retired at once and the other
// replicas' within degradedWindow (they cannot reach the cache either) or
// CacheTTL (entries they cached before, should Redis come back first).
func (s *Service) Invalidate(ctx context.Context) error {
	s.degraded.writes.Add(1)
	if err := s.cache.Set(ctx, versionKey, []byte(gid.New("ver")), versionTTL); err != nil {
		return fmt.Errorf("invalidate catalog cache: %w", err)
	}
	return nil
}

// InvalidateStock retires every cached read that shows stock.
func (s *Service) InvalidateStock(ctx context.Context) error {
	s.degraded.writes.Add(1)
	if err := s.cache.Set(ctx, stockVersionKey, []byte(gid.New("ver")), versionTTL); err != nil {
		return fmt.Errorf("invalidate catalog stock: %w", err)
	}
	return nil
}

// invalidateOnCommit replaces the catalog version once tx commits (and
// not before, or a read between the bump and the commit would cache the
// old data under the new version).
func (s *Service) invalidateOnCommit(tx *ent.Tx) {
	s.afterCommit(&s.catalogTxs, tx, "catalog cache", s.Invalidate)
}

// stockChangedOnCommit replaces the stock version once tx commits. A
// checkout changes the stock of several variants in one transaction; the
// version is replaced once for all of them.
func (s *Service) stockChangedOnCommit(tx *ent.Tx) {
	s.afterCommit(&s.stockTxs, tx, "catalog stock cache", s.InvalidateStock)
}

// afterCommit runs invalidate once tx commits, once per transaction.
func (s *Service) afterCommit(once *database.CommitOnce, tx *ent.Tx, what string, invalidate func(context.Context) error) {
	once.After(tx, func(ctx context.Context) {
		if err := invalidate(ctx); err != nil {
			// The write is committed; stale reads last at most CacheTTL.
			s.log.ErrorContext(ctx, what+" invalidation failed; reads may be stale until the cache TTL", "error", err.Error())
		}
	})
}

// cacheKey builds the key of a cached read from its kind and arguments.
func cacheKey(kind, version string, args any) (string, error) {
	b, err := json.Marshal(args)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "catalog:" + version + ":" + kind + ":" + codecTag + ":" + hex.EncodeToString(sum[:12]), nil
}

// codecTag names the encoding of shared entries in their keys, so a
// deploy that changes it never reads the old entries (JSON before gob1);
// they expire unread. A value that fails to decode anyway is loaded again.
const codecTag = "gob1"

func init() {
	// Concrete types that sit in interface fields of cached values
	// (ent.Cursor.Value holds a string today; gob registers the basic
	// types itself).
	gob.Register(time.Time{})
}

// encodeValue encodes a cached value for the shared store (gob: about
// half the bytes of JSON and faster to decode into ent rows, see
// BenchmarkPageCodec). Like JSON, it keeps exported fields only, so ent
// edges lose their "loaded" flags: cached rows are read through the
// page's maps, never through Edges. Unlike JSON, gob does not keep a
// pointer to a zero value (it decodes as nil) nor an empty slice or map
// (nil): the cached types hold none that matters (CompareAtPrice is
// above the price, IDs are never empty), and TestCachedRoundTrip compares
// a page before and after.
func encodeValue(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeValue(b []byte, out any) error {
	return gob.NewDecoder(bytes.NewReader(b)).Decode(out)
}

// cached returns the value cached under kind and args, or calls load and
// caches what it returns: first in this process (decoded, shared read-only
// by the requests that hit it), then in the shared store (gob) when that
// is another process (Redis); an in-process shared store would only hold
// a second copy. withStock says the value shows stock, so it is kept under
// the stock version too. A cache that fails is logged and bypassed: the
// database stays the source of truth.
func cached[T any](ctx context.Context, s *Service, kind string, withStock bool, args any, load func() (T, error)) (T, error) {
	return keep(ctx, s, kind, withStock, true, args, load)
}

// kept is cached without the shared store: for reads most of which are
// asked for once (listing pages), where a shared copy would cost an
// encoding and two round trips each and would rarely be read.
func kept[T any](ctx context.Context, s *Service, kind string, withStock bool, args any, load func() (T, error)) (T, error) {
	return keep(ctx, s, kind, withStock, false, args, load)
}

func keep[T any](ctx context.Context, s *Service, kind string, withStock, share bool, args any, load func() (T, error)) (T, error) {
	local, versionOf := s.versioned(withStock)
	version, err := versionOf(ctx)
	var key string
	if err == nil {
		key, err = cacheKey(kind, version, args)
	}
	if err != nil {
		s.log.WarnContext(ctx, "catalog cache unavailable", "error", err.Error())
		return load()
	}
	if v, ok := local.Get(version, key); ok {
		if out, ok := v.(T); ok {
			return out, nil
		}
	}
	shared := share && s.shared && sharedVersion(version)
	if shared {
		if b, ok, err := s.cache.Get(ctx, key); err != nil {
			s.cacheFailed(ctx, "read", err)
		} else if ok {
			var out T
			if err := decodeValue(b, &out); err == nil {
				local.Put(version, key, out, sizeOf(out), s.opts.CacheTTL)
				return out, nil
			}
		}
	}
	return loadOnce(ctx, s, local, version, key, func() (T, error) {
		out, err := load()
		if err != nil {
			return out, err
		}
		if shared {
			if b, err := encodeValue(out); err != nil {
				s.log.WarnContext(ctx, "catalog cache encode failed", "kind", kind, "error", err.Error())
			} else if err := s.cache.Set(ctx, key, b, s.opts.CacheTTL); err != nil {
				s.cacheFailed(ctx, "write", err)
			}
		}
		local.Put(version, key, out, sizeOf(out), s.opts.CacheTTL)
		return out, nil
	})
}

// loadOnce runs load for a cache key once at a time in this process:
// requests that miss the same entry together wait for one read and share
// it. After a catalog write every request misses at once; at 16 clients
// and 100,000 products each of them read the 100,000 prices a count of a
// price range is made from (0.8 % of the ceiling, p99 481 ms, in one run).
// load must keep what it read in local under version and key: a request
// that missed the entry just before a read of it ended finds it there
// rather than reading again. A request that gives up waiting leaves the
// read to the others; one whose shared read failed because the request
// that started it went away reads for itself.
func loadOnce[T any](ctx context.Context, s *Service, local *cache.Local, version, key string, load func() (T, error)) (T, error) {
	ch := s.loads.DoChan(key, func() (any, error) {
		if v, ok := local.Get(version, key); ok {
			return v, nil
		}
		return load()
	})
	select {
	case r := <-ch:
		if r.Err != nil && r.Shared && ctx.Err() == nil &&
			(errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)) {
			return load()
		}
		out, _ := r.Val.(T)
		return out, r.Err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// responseKey is the in-process key of a serialised read for this viewer
// (what a public viewer and staff see differ) and the version it is kept
// under.
func (s *Service) responseKey(ctx context.Context, key string, withStock bool) (k, version string, err error) {
	if withStock {
		version, err = s.stockVersion(ctx)
	} else {
		version, err = s.version(ctx)
	}
	if err != nil {
		return "", "", err
	}
	who := "public"
	if staff(ctx) {
		who = "staff"
	}
	return "response:" + who + ":" + key, version, nil
}

// versioned returns the in-process cache and the version a value is kept
// under: the catalog's, or, for a value that shows stock, the stock
// version (which a sale or restock replaces as well as any catalog write).
func (s *Service) versioned(withStock bool) (*cache.Local, func(context.Context) (string, error)) {
	if withStock {
		return s.localStock, s.stockVersion
	}
	return s.local, s.version
}

func (s *Service) responseCache(withStock bool) *cache.Local {
	if withStock {
		return s.localStock
	}
	return s.local
}

// CachedResponse returns a serialised read (a GraphQL response made only
// of catalog data) that CacheResponse stored in this process under the
// current catalog version (and stock version, withStock) and the viewer's
// visibility. key must identify everything else the bytes depend on
// (query, variables).
func (s *Service) CachedResponse(ctx context.Context, key string, withStock bool) ([]byte, bool) {
	if s.opts.DisableResponseCache {
		return nil, false
	}
	k, v, err := s.responseKey(ctx, key, withStock)
	if err != nil {
		return nil, false
	}
	b, ok := s.responseCache(withStock).Get(v, k)
	if !ok {
		return nil, false
	}
	out, ok := b.([]byte)
	return out, ok
}

// CacheResponse keeps b for CachedResponse. b must have been built from
// reads made under the versions this request read first (the request's
// loaders remember them), so a write in between retires it at once. The
// caller must not modify b afterwards.
func (s *Service) CacheResponse(ctx context.Context, key string, withStock bool, b []byte) {
	if s.opts.DisableResponseCache || loadersFrom(ctx) == nil {
		return // no remembered version: the current one may be newer than b
	}
	k, v, err := s.responseKey(ctx, key, withStock)
	if err != nil {
		return
	}
	s.responseCache(withStock).Put(v, k, b, len(b), s.opts.CacheTTL)
}

// sizeOf estimates the heap a cached value holds, for the in-process
// cache's byte cap, without encoding it: a fixed cost per ent row (every
// column, times, map and slice headers) plus its long strings. It used to
// JSON-encode every loaded value just to measure it.
func sizeOf(v any) int {
	const row = 320 // an ent row's fixed columns, pointers and headers
	n := 0
	products := func(ps []*ent.Product) {
		for _, p := range ps {
			n += row + len(p.Title) + len(p.SortTitle) + len(p.Slug) + len(p.Description) +
				len(p.DescriptionHTML) + len(p.SeoTitle) + len(p.SeoDescription) +
				len(p.SearchText) + len(p.TagKey)
			for _, t := range p.Tags {
				n += 16 + len(t)
			}
		}
	}
	collections := func(cs []*ent.Collection) {
		for _, c := range cs {
			n += row + len(c.Title) + len(c.Slug) + len(c.Description)
		}
	}
	variants := func(vs []*ent.Variant) {
		for _, x := range vs {
			n += row + len(x.Title) + len(x.Sku) + len(x.Barcode)
			for _, o := range x.OptionValues {
				n += 32 + len(o.Name) + len(o.Value)
			}
		}
	}
	images := func(is []*ent.ProductImage) {
		for _, im := range is {
			n += row + len(im.Key) + len(im.Alt)
			for _, r := range im.Renditions {
				n += 40 + len(r.Key)
			}
		}
	}
	switch v := v.(type) {
	case *ProductPage:
		if v == nil {
			return 0
		}
		products(v.Products)
		for _, c := range v.Cursors {
			n += 64
			if s, ok := c.Value.(string); ok {
				n += len(s)
			}
		}
		for _, vs := range v.Variants {
			n += 48
			variants(vs)
		}
		n += len(v.Inventory) * (48 + row)
		for _, is := range v.Images {
			n += 48
			images(is)
		}
		for _, cs := range v.Collections {
			n += 48
			collections(cs)
		}
	case *productEntry:
		if v == nil {
			return 0
		}
		products([]*ent.Product{v.row})
		n += 3 * 24 // slice headers
		variants(v.variants)
		images(v.images)
		n += 16 * len(v.collections) // shared with the list of all collections
	case *ent.Inventory:
		n = row + 48 // with its key
	case *categoryTree:
		if v == nil {
			return 0
		}
		for _, c := range v.All {
			n += 3*row + len(c.Name) + len(c.Slug) + len(c.Description) // with the indexes
		}
	case []*ent.Collection:
		collections(v)
	case []*ent.Product:
		products(v)
	default:
		n = row
	}
	// Doubled for map buckets, allocator size classes and what the counts
	// above miss: the cap must not undercount (a page of 20 products comes
	// to about 160 KB, the old three-times-its-JSON estimate 211 KB).
	return 2 * n
}
