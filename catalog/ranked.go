package catalog

import (
	"context"
	"fmt"
	"strings"

	"frontdesk/ent"
	"frontdesk/ent/product"
	"frontdesk/gid"
)

// maxRankList is the most matches of one search term whose ranked list
// rankedPage keeps (about 50 bytes each, so at most a few MiB); a term
// matching more is listed by the database as before.
const maxRankList = 50_000

// rankList is a search term's matches in relevance order (best first, ties
// by id descending, as orderByRelevance sorts them) with each one's
// price_min, so a price range is applied in Go.
type rankList struct {
	ids    []gid.ID
	prices []int64
}

// rankable reports whether rankedPage can answer a listing: a relevance
// search, best first, filtered at most by status and price. Other filters
// (category, collection, tags, stock) go to the database as before.
func rankable(args ListArgs) bool {
	f := args.Filter
	return args.Sort == SortRelevance && !args.Reverse && searchTerms(f.Search) != nil &&
		f.CategoryID == nil && f.CollectionID == nil && f.InStock == nil && len(f.Tags) == 0
}

// rankedPage returns up to n products of a relevance search from position
// offset on, among those in the filter's price range, in the order the
// database would list them. The database ranks every match before it
// knows the page (about 23,000 rows and 110 ms for a prefix term at
// 100,000 products), and a storefront's price slider sends a new range
// with nearly every request; so the ranked matches of a term are read
// once per catalog version and kept in this process, and each page then
// reads only its own rows by id. ok is false when the list is not kept
// (no local cache, cache unavailable, too many matches): the caller lists
// as before.
func (s *Service) rankedPage(ctx context.Context, args ListArgs, offset, n int) (rows []*ent.Product, ok bool, err error) {
	if s.local == nil || !rankable(args) {
		return nil, false, nil
	}
	base := Filter{Search: strings.Join(searchTerms(args.Filter.Search), " "), Statuses: args.Filter.Statuses}
	version, err := s.version(ctx)
	if err != nil {
		return nil, false, nil // the database lists it; the cache layer reports the outage
	}
	key, err := cacheKey("product-ranks", version, base)
	if err != nil {
		return nil, false, nil
	}
	var list *rankList
	if v, hit := s.local.get(version, key); hit {
		list = v.(*rankList)
	} else {
		f := base
		if !s.mysql() {
			f.Search = "" // the join with the ranked matches keeps only matches
		}
		preds, err := s.predicates(ctx, f)
		if err != nil {
			return nil, false, err
		}
		q := s.client.Product.Query().Where(preds...)
		s.orderByRelevance(q, base.Search, false)
		all, err := q.Limit(maxRankList+1).Select(product.FieldID, product.FieldPriceMin).All(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("rank products: %w", err)
		}
		if len(all) > maxRankList {
			return nil, false, nil
		}
		list = &rankList{ids: make([]gid.ID, len(all)), prices: make([]int64, len(all))}
		size := 64
		for i, p := range all {
			list.ids[i], list.prices[i] = p.ID, p.PriceMin
			size += len(p.ID) + 24
		}
		s.local.put(version, key, list, size, s.opts.CacheTTL)
	}
	f := args.Filter
	var ids []gid.ID
	for i, skip := range list.ids {
		p := list.prices[i]
		if (f.PriceMin != nil && p < *f.PriceMin) || (f.PriceMax != nil && p > *f.PriceMax) {
			continue
		}
		if offset > 0 {
			offset--
			continue
		}
		if len(ids) == n {
			break
		}
		ids = append(ids, skip)
	}
	if len(ids) == 0 {
		return []*ent.Product{}, true, nil
	}
	found, err := s.client.Product.Query().Where(product.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("list products: %w", err)
	}
	byID := make(map[gid.ID]*ent.Product, len(found))
	for _, p := range found {
		byID[p.ID] = p
	}
	rows = make([]*ent.Product, 0, len(ids))
	for _, id := range ids {
		if p := byID[id]; p != nil {
			rows = append(rows, p)
		}
	}
	return rows, true, nil
}
