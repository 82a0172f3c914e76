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

// rankable reports whether a filter's matches can be taken from its
// term's ranked list: a search filtered at most by status and price.
// Other filters (category, collection, tags, stock) go to the database.
func rankable(f Filter) bool {
	return searchTerms(f.Search) != nil &&
		f.CategoryID == nil && f.CollectionID == nil && f.InStock == nil && len(f.Tags) == 0
}

// inRange reports whether the i-th match is in f's price range.
func (l *rankList) inRange(i int, f Filter) bool {
	p := l.prices[i]
	return (f.PriceMin == nil || p >= *f.PriceMin) && (f.PriceMax == nil || p <= *f.PriceMax)
}

// rankFlight is a ranked list being read; requests for the same term and
// version wait for it rather than rank the term again (a listing that
// counts asks for it twice at once, from the page and from the count).
type rankFlight struct {
	done chan struct{}
	list *rankList
	err  error
}

// rankedList returns the ranked matches of f's term and statuses, read
// once per catalog version. ok is false when the list is not kept (no
// local cache, cache unavailable, a filter it cannot answer, too many
// matches): the caller asks the database as before.
func (s *Service) rankedList(ctx context.Context, f Filter) (list *rankList, ok bool, err error) {
	if s.local == nil || !rankable(f) {
		return nil, false, nil
	}
	base := Filter{Search: strings.Join(searchTerms(f.Search), " "), Statuses: f.Statuses}
	version, err := s.version(ctx)
	if err != nil {
		return nil, false, nil // the database answers; the cache layer reports the outage
	}
	key, err := cacheKey("product-ranks", version, base)
	if err != nil {
		return nil, false, nil
	}
	if v, hit := s.local.Get(version, key); hit {
		return v.(*rankList), true, nil
	}
	fl := &rankFlight{done: make(chan struct{})}
	if other, loaded := s.ranking.LoadOrStore(key, fl); loaded {
		o := other.(*rankFlight)
		select {
		case <-o.done:
			return o.list, o.list != nil, o.err
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	defer func() {
		s.ranking.Delete(key)
		close(fl.done)
	}()
	fl.list, fl.err = s.readRanks(ctx, base)
	if fl.list != nil {
		size := 64
		for _, id := range fl.list.ids {
			size += len(id) + 24
		}
		s.local.Put(version, key, fl.list, size, s.opts.CacheTTL)
	}
	return fl.list, fl.list != nil, fl.err
}

// readRanks reads every match of base's term in relevance order, with the
// same ORDER BY as a listing; nil when there are more than maxRankList.
func (s *Service) readRanks(ctx context.Context, base Filter) (*rankList, error) {
	f := base
	if !s.mysql() {
		f.Search = "" // the join with the ranked matches keeps only matches
	}
	preds, err := s.predicates(ctx, f)
	if err != nil {
		return nil, err
	}
	q := s.client.Product.Query().Where(preds...)
	s.orderByRelevance(q, base.Search, false)
	all, err := q.Limit(maxRankList+1).Select(product.FieldID, product.FieldPriceMin).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("rank products: %w", err)
	}
	if len(all) > maxRankList {
		return nil, nil
	}
	list := &rankList{ids: make([]gid.ID, len(all)), prices: make([]int64, len(all))}
	for i, p := range all {
		list.ids[i], list.prices[i] = p.ID, p.PriceMin
	}
	return list, nil
}

// rankedCount counts f's matches in its price range from the ranked list.
func (s *Service) rankedCount(ctx context.Context, f Filter) (int, bool, error) {
	list, ok, err := s.rankedList(ctx, f)
	if !ok || err != nil {
		return 0, false, err
	}
	n := 0
	for i := range list.ids {
		if list.inRange(i, f) {
			n++
		}
	}
	return n, true, nil
}

// rankedPage returns up to n products of a relevance search from position
// offset on, among those in the filter's price range, in the order the
// database would list them. The database ranks every match before it
// knows the page (about 23,000 rows and 110 ms for a prefix term at
// 100,000 products), and a storefront's price slider sends a new range
// with nearly every request; so the ranked matches of a term are kept
// (rankedList), and each page takes only its ids from it (rows holding
// only their ID: the listing reads or reuses the rows themselves, see
// assemble). ok is false when the list is not kept: the caller lists as
// before.
func (s *Service) rankedPage(ctx context.Context, args ListArgs, offset, n int) (rows []*ent.Product, ok bool, err error) {
	if args.Sort != SortRelevance || args.Reverse {
		return nil, false, nil
	}
	list, ok, err := s.rankedList(ctx, args.Filter)
	if !ok || err != nil {
		return nil, false, err
	}
	f := args.Filter
	var ids []gid.ID
	for i, id := range list.ids {
		if !list.inRange(i, f) {
			continue
		}
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
