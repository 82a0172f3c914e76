package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"frontdesk/ent"
	"frontdesk/gid"
)

// versionKey holds the current catalog version. Every cache key of a
// catalog read embeds it, so replacing it (on any replica) retires every
// cached read at once; old entries simply expire.
const versionKey = "catalog:version"

// versionTTL keeps the version key around far longer than any entry.
const versionTTL = 30 * 24 * time.Hour

// version returns the current catalog version, creating one if none.
// Versions are unique IDs, never counters, so a version key that expired
// or was evicted cannot make old entries current again.
func (s *Service) version(ctx context.Context) (string, error) {
	if l := loadersFrom(ctx); l != nil && l.version != "" {
		return l.version, nil
	}
	v, ok, err := s.cache.Get(ctx, versionKey)
	if err != nil {
		return "", err
	}
	if !ok {
		v = []byte(gid.New("ver"))
		if err := s.cache.Set(ctx, versionKey, v, versionTTL); err != nil {
			return "", err
		}
	}
	if l := loadersFrom(ctx); l != nil {
		l.version = string(v)
	}
	return string(v), nil
}

// Invalidate retires every cached catalog read.
func (s *Service) Invalidate(ctx context.Context) error {
	if err := s.cache.Set(ctx, versionKey, []byte(gid.New("ver")), versionTTL); err != nil {
		return fmt.Errorf("invalidate catalog cache: %w", err)
	}
	return nil
}

// invalidateOnCommit replaces the catalog version once tx commits (and
// not before, or a read between the bump and the commit would cache the
// old data under the new version).
func (s *Service) invalidateOnCommit(tx *ent.Tx) {
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			if err := next.Commit(ctx, tx); err != nil {
				return err
			}
			if err := s.Invalidate(context.WithoutCancel(ctx)); err != nil {
				// The write is committed; stale reads last at most CacheTTL.
				s.log.ErrorContext(ctx, "catalog cache invalidation failed; reads may be stale until the cache TTL", "error", err.Error())
			}
			return nil
		})
	})
}

// cacheKey builds the key of a cached read from its kind and arguments,
// and returns the catalog version it embeds.
func (s *Service) cacheKey(ctx context.Context, kind string, args any) (key, version string, err error) {
	v, err := s.version(ctx)
	if err != nil {
		return "", "", err
	}
	b, err := json.Marshal(args)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(b)
	return "catalog:" + v + ":" + kind + ":" + hex.EncodeToString(sum[:12]), v, nil
}

// cached returns the value cached under key, or calls load and caches
// what it returns: first in this process (decoded, shared read-only by
// the requests that hit it), then in the shared store (JSON). A cache
// that fails is logged and bypassed: the database stays the source of
// truth.
func cached[T any](ctx context.Context, s *Service, kind string, args any, load func() (T, error)) (T, error) {
	key, version, err := s.cacheKey(ctx, kind, args)
	if err != nil {
		s.log.WarnContext(ctx, "catalog cache unavailable", "error", err.Error())
		return load()
	}
	if v, ok := s.local.get(version, key); ok {
		if out, ok := v.(T); ok {
			return out, nil
		}
	}
	if b, ok, err := s.cache.Get(ctx, key); err != nil {
		s.log.WarnContext(ctx, "catalog cache read failed", "error", err.Error())
	} else if ok {
		var out T
		if err := json.Unmarshal(b, &out); err == nil {
			s.local.put(version, key, out, len(b), s.opts.CacheTTL)
			return out, nil
		}
	}
	out, err := load()
	if err != nil {
		return out, err
	}
	if b, err := json.Marshal(out); err == nil {
		if err := s.cache.Set(ctx, key, b, s.opts.CacheTTL); err != nil {
			s.log.WarnContext(ctx, "catalog cache write failed", "error", err.Error())
		}
		s.local.put(version, key, out, len(b), s.opts.CacheTTL)
	}
	return out, nil
}

// responseKey is the in-process key of a serialised read for this viewer:
// what a public viewer and staff see differ.
func (s *Service) responseKey(ctx context.Context, key string) (string, string, error) {
	v, err := s.version(ctx)
	if err != nil {
		return "", "", err
	}
	who := "public"
	if staff(ctx) {
		who = "staff"
	}
	return "response:" + who + ":" + key, v, nil
}

// CachedResponse returns a serialised read (a GraphQL response made only
// of catalog data) that CacheResponse stored in this process under the
// current catalog version and the viewer's visibility. key must identify
// everything else the bytes depend on (query, variables).
func (s *Service) CachedResponse(ctx context.Context, key string) ([]byte, bool) {
	k, v, err := s.responseKey(ctx, key)
	if err != nil {
		return nil, false
	}
	b, ok := s.local.get(v, k)
	if !ok {
		return nil, false
	}
	out, ok := b.([]byte)
	return out, ok
}

// CacheResponse keeps b for CachedResponse. b must have been built from
// reads made under the version this request read first (the request's
// loaders remember it), so a write in between retires it at once. The
// caller must not modify b afterwards.
func (s *Service) CacheResponse(ctx context.Context, key string, b []byte) {
	if loadersFrom(ctx) == nil {
		return // no remembered version: the current one may be newer than b
	}
	k, v, err := s.responseKey(ctx, key)
	if err != nil {
		return
	}
	s.local.put(v, k, b, len(b), s.opts.CacheTTL)
}
