package catalog

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/product"
	"frontdesk/fulltext"
	"frontdesk/gid"
)

// Text search is answered from an index of every product's search text
// kept in this process (fulltext), not by the database's full-text
// search: the database ranks every match of a term before it can return
// the best twenty (115-160 ms for a common word at 100,000 products), the
// index in a few milliseconds.
//
// The index is built from the products table on the first search and
// kept current the way every other in-process entry is: by the catalog
// version. A search that finds the version changed since the index last
// looked first reads the products written since then (catchUp), so it
// sees every write committed before the version it read, on any replica.
// Which products changed is told by updated_at: every product write sets
// it, through ent's UpdateDefault, from the writer's clock, before the
// transaction commits. The look-back below covers a transaction still
// open, or a clock behind, by that much; a full rebuild every
// rebuildEvery (and once replaced documents number half the live ones) is
// the backstop for anything slower, and for rows removed outside the API.

const (
	// lookBack is how far before its last read catchUp reads again.
	lookBack = time.Minute
	// rebuildEvery is the age at which the index is built again, in the
	// background, while the old one answers.
	rebuildEvery = 10 * time.Minute
	// indexBatch is how many products one statement of a build reads;
	// the index takes them ten batches at a time (each take merges its
	// new words into the sorted dictionary).
	indexBatch = 2000
)

// indexedProduct is what the index keeps of a product besides its words:
// what a search filters and pages on, and when it was written.
type indexedProduct struct {
	status   product.Status // one of the constants, not the row's copy
	category gid.ID
	tagKey   string
	price    int64
	updated  int64 // microseconds since 1970, as the column keeps it
}

// searchIndex is the Service's text index and how current it is.
type searchIndex struct {
	mu         sync.Mutex // one build or catch-up at a time
	state      atomic.Pointer[indexState]
	rebuilding atomic.Bool
}

// indexState is an index and the catalog version it holds every write
// of. A catch-up replaces the state; the index itself is shared and
// changes in place (a search sees a change whole or not at all).
type indexState struct {
	index   *fulltext.Index[indexedProduct]
	version string    // the catalog version read before the last read of products
	read    time.Time // when the last read of products started
	built   time.Time
}

// searchIndexAt returns the index holding every product write committed
// before the catalog version was replaced by version: it builds the index
// on the first search and catches up when the version has changed.
func (s *Service) searchIndexAt(ctx context.Context, version string) (*fulltext.Index[indexedProduct], error) {
	si := &s.search
	st := si.state.Load()
	if st == nil || st.version != version {
		si.mu.Lock()
		var err error
		st, err = s.indexAt(ctx, version)
		si.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	if time.Since(st.built) > rebuildEvery || (st.index != nil && st.index.Dead() > st.index.Len()/2) {
		s.rebuildIndex(ctx)
	}
	return st.index, nil // nil: too many products, see buildIndex
}

// indexAt builds or catches up the index to version; si.mu is held.
func (s *Service) indexAt(ctx context.Context, version string) (*indexState, error) {
	si := &s.search
	st := si.state.Load()
	switch {
	case st == nil:
		built, err := s.buildIndex(ctx, version)
		if err != nil {
			return nil, err
		}
		si.state.Store(built)
		return built, nil
	case st.version == version:
		return st, nil // caught up while this request waited
	case st.index == nil:
		// Too many products for an index: nothing to catch up; the next
		// rebuild counts them again.
		next := *st
		next.version = version
		si.state.Store(&next)
		return &next, nil
	}
	read := time.Now()
	if err := s.catchUp(ctx, st.index, st.read.Add(-lookBack)); err != nil {
		return nil, err
	}
	next := &indexState{index: st.index, version: version, read: read, built: st.built}
	si.state.Store(next)
	return next, nil
}

// buildIndex reads every product into a new index, in batches by id. A
// catalog of more than Options.SearchIndexMaxProducts products gets none
// (a state without an index): its searches go to the database, which is
// slower but keeps this process's memory bounded whatever the catalog's
// size.
func (s *Service) buildIndex(ctx context.Context, version string) (*indexState, error) {
	st := &indexState{version: version, read: time.Now()}
	st.built = st.read
	n, err := s.client.Product.Query().Count(ctx)
	if err != nil {
		return nil, fmt.Errorf("count products to index: %w", err)
	}
	if n > s.opts.SearchIndexMaxProducts {
		s.log.WarnContext(ctx, "too many products for the search index: text search uses the database",
			"products", n, "max", s.opts.SearchIndexMaxProducts)
		return st, nil
	}
	st.index = fulltext.New[indexedProduct]()
	after := gid.ID("")
	shared := map[string]string{}
	var docs []fulltext.Doc[indexedProduct]
	for {
		rows, err := s.client.Product.Query().Where(product.IDGT(after)).Order(product.ByID()).Limit(indexBatch).
			Select(indexedFields...).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("index products: %w", err)
		}
		docs = append(docs, indexDocs(rows, shared)...)
		last := len(rows) < indexBatch
		if last || len(docs) >= 10*indexBatch {
			st.index.Apply(docs, nil)
			docs = docs[:0]
		}
		if last {
			st.index.Compact()
			return st, nil
		}
		after = rows[len(rows)-1].ID
	}
}

// catchUp reads the products written since `since` and indexes those the
// index holds another write of: first only their ids and update times (a
// bulk import's products are read once), then the rows that changed.
func (s *Service) catchUp(ctx context.Context, index *fulltext.Index[indexedProduct], since time.Time) error {
	recent, err := s.client.Product.Query().Where(product.UpdatedAtGTE(since)).
		Select(product.FieldID, product.FieldUpdatedAt).All(ctx)
	if err != nil {
		return fmt.Errorf("read written products: %w", err)
	}
	var changed []gid.ID
	for _, p := range recent {
		if had, ok := index.Data(string(p.ID)); !ok || had.updated != p.UpdatedAt.UnixMicro() {
			changed = append(changed, p.ID)
		}
	}
	for len(changed) > 0 {
		n := min(len(changed), indexBatch)
		rows, err := s.client.Product.Query().Where(product.IDIn(changed[:n]...)).Select(indexedFields...).All(ctx)
		if err != nil {
			return fmt.Errorf("read written products: %w", err)
		}
		index.Apply(indexDocs(rows, map[string]string{}), nil)
		changed = changed[n:]
	}
	return nil
}

// rebuildIndex builds the index again in the background, once at a
// time; the old one answers meanwhile, and the new one catches up on
// the next search as any index does.
func (s *Service) rebuildIndex(ctx context.Context) {
	si := &s.search
	if !si.rebuilding.CompareAndSwap(false, true) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	go func() {
		defer cancel()
		defer si.rebuilding.Store(false)
		version, err := s.version(ctx)
		if err != nil {
			return // the next search tries again
		}
		built, err := s.buildIndex(ctx, version)
		if err != nil {
			s.log.ErrorContext(ctx, "rebuild the search index", "err", err)
			return
		}
		si.mu.Lock()
		si.state.Store(built)
		si.mu.Unlock()
	}()
}

var indexedFields = []string{
	product.FieldID, product.FieldStatus, product.FieldCategoryID, product.FieldTagKey,
	product.FieldPriceMin, product.FieldSearchText, product.FieldUpdatedAt,
}

// indexDocs turns rows into documents. Category ids and tag sets repeat
// across products, so each distinct one is kept once (shared), not once
// per row as the driver reads it.
func indexDocs(rows []*ent.Product, shared map[string]string) []fulltext.Doc[indexedProduct] {
	once := func(v string) string {
		if s, ok := shared[v]; ok {
			return s
		}
		shared[v] = v
		return v
	}
	docs := make([]fulltext.Doc[indexedProduct], len(rows))
	for i, p := range rows {
		d := indexedProduct{status: statusConstant(p.Status), tagKey: once(p.TagKey), price: p.PriceMin, updated: p.UpdatedAt.UnixMicro()}
		if p.CategoryID != nil {
			d.category = gid.ID(once(string(*p.CategoryID)))
		}
		docs[i] = fulltext.Doc[indexedProduct]{ID: string(p.ID), Text: p.SearchText, Data: d}
	}
	return docs
}

// statusConstant returns the constant equal to status: a status read
// from a row is a string of its own, and the index keeps 100,000.
func statusConstant(status product.Status) product.Status {
	for _, c := range []product.Status{product.StatusDRAFT, product.StatusACTIVE, product.StatusARCHIVED} {
		if c == status {
			return c
		}
	}
	return status
}
