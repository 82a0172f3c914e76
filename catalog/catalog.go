// Package catalog is the shop's catalog: products with options and
// variants, the category tree, hand-picked collections, inventory and
// product images. It owns every catalog rule — who sees what, what a valid
// product is, how stock is reserved — so GraphQL resolvers, node(id:),
// seeding and checkout all go through the same functions.
//
// Reads for storefronts are cached in cache.Store under a catalog version
// that every write replaces, so a write on one replica is seen by the next
// read on any replica without deleting keys one by one.
package catalog

import (
	"context"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"golang.org/x/sync/singleflight"

	"frontdesk/cache"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/integrations/storage"
)

// Errors returned by catalog functions.
var (
	ErrProductNotFound    = errcode.New(errcode.NotFound, "no product with this ID or slug")
	ErrCategoryNotFound   = errcode.New(errcode.NotFound, "no category with this ID")
	ErrCollectionNotFound = errcode.New(errcode.NotFound, "no collection with this ID")
	ErrVariantNotFound    = errcode.New(errcode.NotFound, "no variant with this ID")
	ErrImageNotFound      = errcode.New(errcode.NotFound, "no image with this ID")
)

// Service is the catalog. Build it with New; it is safe for concurrent use.
type Service struct {
	client  *ent.Client
	dialect string
	cache   cache.Store
	log     *slog.Logger
	opts    Options
	// local keeps hot reads in this process under the catalog version,
	// localStock those that show stock under the stock version too; see
	// cache.Local and cache.go. edges keeps each product's variants,
	// images and collections under the catalog version, stock each
	// variant's inventory under the stock version (see entities.go).
	local, localStock, edges, stock *cache.Local
	// shared says whether cache is another process (Redis) worth a copy
	// of a cached read; an in-process store would only hold it twice.
	shared bool
	// catalogTxs and stockTxs hold the transactions whose commit will
	// replace the catalog or the stock version (invalidateOnCommit,
	// stockChangedOnCommit).
	catalogTxs, stockTxs database.CommitOnce
	// degraded versions reads while the shared cache fails.
	degraded localVersion
	// loads holds the reads of cache entries being made (loadOnce).
	loads singleflight.Group
	// search is the text index searches are answered from.
	search searchIndex
}

// Options configure a Service.
type Options struct {
	// TaxRateBPS is the tax added to prices for priceWithTax, in basis
	// points (1000 = 10%). Prices are stored without tax.
	TaxRateBPS int64
	// CacheTTL bounds how long a cached read lives; writes invalidate
	// earlier by changing the catalog version. Zero means five minutes.
	CacheTTL time.Duration
	// Storage holds product images; nil disables uploads.
	Storage storage.Store
	// Media configures image uploads and URLs.
	Media MediaOptions
	// LocalCacheBytes bounds the in-process caches together: 3/8 for
	// reads under the catalog version (listing pages, counts, ranked
	// search lists, responses without stock), 1/4 for those that show
	// stock (responses, inStock pages), 1/4 for each product's edges and
	// 1/8 for each variant's stock. Zero means 64 MiB; negative switches
	// them off.
	LocalCacheBytes int
	// SearchIndexMaxProducts is the most products the search index holds
	// (0: 250,000, about 110 MiB; negative: no index); with more, text
	// search goes to the database's full-text index.
	SearchIndexMaxProducts int
	// DisableResponseCache turns off the cache of serialised GraphQL
	// responses (FRONTDESK_RESPONSE_CACHE=off), so the path every new
	// filter, page or write takes can be measured on its own.
	DisableResponseCache bool
}

// New returns the catalog over client. dialectName is dialect.MySQL or
// dialect.SQLite and picks the text-search implementation.
func New(client *ent.Client, dialectName string, store cache.Store, log *slog.Logger, opts Options) *Service {
	if store == nil {
		store = cache.NewMemory()
	}
	if log == nil {
		log = slog.Default()
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = 5 * time.Minute
	}
	opts.Media.defaults()
	if opts.LocalCacheBytes == 0 {
		opts.LocalCacheBytes = 64 << 20
	}
	if opts.SearchIndexMaxProducts == 0 {
		opts.SearchIndexMaxProducts = 250_000
	}
	_, inProcess := store.(*cache.Memory)
	s := &Service{client: client, dialect: dialectName, cache: store, log: log, opts: opts, shared: !inProcess}
	s.degraded.epoch = string(gid.New("ver"))
	if b := opts.LocalCacheBytes; b > 0 {
		s.local = cache.NewLocal(2048, b/8*3)
		s.localStock = cache.NewLocal(2048, b/4)
		// Entries of a few hundred bytes each: bounded by their bytes.
		s.edges = cache.NewLocal(b/4/256, b/4)
		s.stock = cache.NewLocal(b/8/256, b/8)
	}
	return s
}

// Client returns the ent client, for callers that need a transaction
// (checkout calls Reserve inside its own).
func (s *Service) Client() *ent.Client { return s.client }

func (s *Service) mysql() bool { return s.dialect == dialect.MySQL }

// lock makes a SELECT lock its rows on MySQL (FOR UPDATE). SQLite needs
// nothing: its transactions take the database write lock at BEGIN.
func (s *Service) lock(sel *sql.Selector) {
	if s.mysql() {
		sel.ForUpdate()
	}
}

// staff reports whether the viewer may see every product, not only the
// active ones.
func staff(ctx context.Context) bool {
	return identity.ViewerFrom(ctx).Can(identity.ManageCatalog)
}

// actorID is the user behind a write, recorded on stock adjustments.
func actorID(ctx context.Context) *gid.ID {
	v := identity.ViewerFrom(ctx)
	if v == nil || v.UserID == "" {
		return nil
	}
	id := v.UserID
	return &id
}

// withTx runs fn in one transaction (database.WithTx) and invalidates the
// cache after a commit. Every admin write goes through it, so a failed
// validation writes nothing and a successful one is seen by the next read.
func (s *Service) withTx(ctx context.Context, fn func(tx *ent.Tx) error) error {
	return database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		s.invalidateOnCommit(tx)
		return fn(tx)
	})
}
