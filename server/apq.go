package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"frontdesk/cache"
	"frontdesk/graph"
)

// persistedQueries stores automatic persisted queries (APQ) in the shared
// cache, so a client registers a query once and then sends only its
// SHA-256 hash, over GET where CDNs can cache it, on any replica. When the
// cache fails, a lookup is a miss: the client is answered
// PersistedQueryNotFound and sends the full query, which is served.
//
// Only documents within the document limits and maxBytes are stored: the
// APQ extension stores a document before gqlgen parses it, and without
// this check anyone could fill the store (in-process without Redis) with
// documents that would be refused anyway.
type persistedQueries struct {
	store    cache.Store
	log      *slog.Logger
	limits   graph.DocumentLimits
	maxBytes int
}

// maxPersistedQueryBytes is the largest document stored as a persisted
// query; real operations are a few kilobytes.
const maxPersistedQueryBytes = 64 << 10

var _ graphql.Cache[string] = persistedQueries{}

const persistedQueryTTL = 7 * 24 * time.Hour

func (p persistedQueries) Get(ctx context.Context, hash string) (string, bool) {
	v, ok, err := p.store.Get(ctx, "apq:"+hash)
	if err != nil {
		// The client falls back to sending the full query. An open
		// breaker was logged once by the breaker.
		if !errors.Is(err, cache.ErrUnavailable) {
			p.log.WarnContext(ctx, "persisted query lookup failed", "error", err.Error())
		}
		return "", false
	}
	return string(v), ok
}

func (p persistedQueries) Add(ctx context.Context, hash, query string) {
	if len(query) > p.maxBytes || !p.limits.Admits(query) {
		// The request goes on and is refused by the limits or
		// answered, but the document is not kept.
		return
	}
	if err := p.store.Set(ctx, "apq:"+hash, []byte(query), persistedQueryTTL); err != nil && !errors.Is(err, cache.ErrUnavailable) {
		p.log.WarnContext(ctx, "persisted query store failed", "error", err.Error())
	}
}
