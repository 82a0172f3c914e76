package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"frontdesk/ent"
	"frontdesk/ent/collectionproduct"
	"frontdesk/fulltext"
	"frontdesk/gid"
)

// maxRankList is the most matches of one search whose ranked list
// rankedList keeps (about 100 bytes each, so at most a few MiB, and no
// more than an eighth of the cache's share); the ranked list of a search
// matching more is made again for each request.
const maxRankList = 50_000

// rankList is a search's matches in relevance order (best first, put in
// order as far as pages read them) with what the index holds of each,
// its price_min among it, so a price range is applied in Go.
type rankList = fulltext.Results[indexedProduct]

// rankable reports whether a filter's matches can be taken from the
// search index: a search filtered by status, category, collection, tags
// and price. A stock filter goes to the database: stock changes with
// every sale.
func rankable(f Filter) bool {
	return searchTerms(f.Search) != nil && f.InStock == nil
}

// inRange reports whether a match is in f's price range.
func inRange(p indexedProduct, f Filter) bool {
	return (f.PriceMin == nil || p.price >= *f.PriceMin) && (f.PriceMax == nil || p.price <= *f.PriceMax)
}

// rankedList returns the ranked matches of f's words, statuses, category
// and tags from the search index (searchindex.go), kept once per catalog
// version (while the shared cache is down, under this process's own
// versions, which move on every degradedWindow: the index then catches
// up from the database at each, TestSearchWhileSharedCacheDown). ok is
// false when there is no index (none configured, too many products, no
// local cache) or f has a filter the index cannot answer: the caller
// asks the database.
func (s *Service) rankedList(ctx context.Context, f Filter) (list *rankList, ok bool, err error) {
	if s.local == nil || s.opts.SearchIndexMaxProducts < 0 || !rankable(f) {
		return nil, false, nil
	}
	base := Filter{Search: strings.Join(searchTerms(f.Search), " "), Statuses: f.Statuses,
		CategoryID: f.CategoryID, CollectionID: f.CollectionID, Tags: f.Tags}
	version, _ := s.version(ctx) // never fails: see readVersions
	key, err := cacheKey("product-ranks", version, base)
	if err != nil {
		return nil, false, nil
	}
	if v, hit := s.local.Get(version, key); hit {
		return v.(*rankList), true, nil
	}
	// A listing that counts asks for the list twice at once, from the
	// page and from the count: one ranking serves both.
	list, err = loadOnce(ctx, s, s.local, version, key, func() (*rankList, error) {
		list, err := s.rank(ctx, version, base)
		if list != nil && list.Len() <= maxRankList {
			// A hit and its place in the order; its strings are the index's.
			size := 64 + list.Len()*int(unsafe.Sizeof(fulltext.Hit[indexedProduct]{})+8)
			s.local.Put(version, key, list, size, s.opts.CacheTTL)
		}
		return list, err
	})
	return list, list != nil, err
}

// rank lists base's matches from the search index caught up to version.
func (s *Service) rank(ctx context.Context, version string, base Filter) (*rankList, error) {
	index, err := s.searchIndexAt(ctx, version)
	if err != nil || index == nil {
		return nil, err
	}
	keep, err := s.indexFilter(ctx, base)
	if err != nil {
		return nil, err
	}
	return index.Search(searchTerms(base.Search), keep), nil
}

// indexFilter is base's statuses, category (with its descendants),
// collection and tags as a test of an indexed product, the same
// conditions predicates gives the database.
func (s *Service) indexFilter(ctx context.Context, base Filter) (func(string, indexedProduct) bool, error) {
	var categories map[gid.ID]bool
	if base.CategoryID != nil {
		ids, err := s.categoryAndBelow(ctx, *base.CategoryID)
		if err != nil {
			return nil, err
		}
		categories = make(map[gid.ID]bool, len(ids))
		for _, id := range ids {
			categories[id] = true
		}
	}
	var members map[string]bool
	if base.CollectionID != nil {
		ids, err := s.collectionMembers(ctx, *base.CollectionID)
		if err != nil {
			return nil, err
		}
		members = make(map[string]bool, len(ids))
		for _, id := range ids {
			members[string(id)] = true
		}
	}
	tags := make([]string, len(base.Tags))
	for i, tag := range base.Tags {
		tags[i] = "|" + tag + "|"
	}
	return func(id string, p indexedProduct) bool {
		if len(base.Statuses) > 0 && !slices.Contains(base.Statuses, p.status) {
			return false
		}
		if categories != nil && !categories[p.category] {
			return false
		}
		if members != nil && !members[id] {
			return false
		}
		for _, tag := range tags {
			if !strings.Contains(p.tagKey, tag) {
				return false
			}
		}
		return true
	}, nil
}

// collectionMembers is the ids of a collection's products, read once per
// catalog version (an unknown collection has none, as in the database).
func (s *Service) collectionMembers(ctx context.Context, id gid.ID) ([]gid.ID, error) {
	return cached(ctx, s, "collection-members", false, id, func() ([]gid.ID, error) {
		var ids []gid.ID
		err := s.client.CollectionProduct.Query().Where(collectionproduct.CollectionID(id)).
			Select(collectionproduct.FieldProductID).Scan(ctx, &ids)
		if err != nil {
			return nil, fmt.Errorf("list collection members: %w", err)
		}
		return ids, nil
	})
}

// rankedCount counts f's matches in its price range from the ranked list.
func (s *Service) rankedCount(ctx context.Context, f Filter) (int, bool, error) {
	list, ok, err := s.rankedList(ctx, f)
	if !ok || err != nil {
		return 0, false, err
	}
	n := 0
	for _, h := range list.Unordered() {
		if inRange(h.Data, f) {
			n++
		}
	}
	return n, true, nil
}

// rankedPage returns up to n products of a relevance search from position
// offset on, among those in the filter's price range, best first (least
// relevant first when reversed). A storefront's price slider sends a new
// range with nearly every request, so the ranked matches of a search are
// kept (rankedList), and each page takes only its ids from them (rows
// holding only their ID: the listing reads or reuses the rows
// themselves, see assemble). ok is false when there is no ranked list:
// the caller asks the database.
func (s *Service) rankedPage(ctx context.Context, args ListArgs, offset, n int) (rows []*ent.Product, ok bool, err error) {
	if args.Sort != SortRelevance {
		return nil, false, nil
	}
	list, ok, err := s.rankedList(ctx, args.Filter)
	if !ok || err != nil {
		return nil, false, err
	}
	f := args.Filter
	var ids []gid.ID
	for k := range list.Len() {
		i := k
		if args.Reverse { // the same list, least relevant first
			i = list.Len() - 1 - k
		}
		h := list.At(i)
		if !inRange(h.Data, f) {
			continue
		}
		id := gid.ID(h.ID)
		if offset > 0 {
			offset--
			continue
		}
		if len(ids) == n {
			break
		}
		ids = append(ids, id)
	}
	// Only the ids: the page's rows come from the kept products
	// (assemble), so a page of products seen before reads nothing.
	rows = make([]*ent.Product, len(ids))
	for i, id := range ids {
		rows[i] = &ent.Product{ID: id}
	}
	return rows, true, nil
}
