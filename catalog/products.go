package catalog

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"entgo.io/ent/dialect/sql"

	"frontdesk/ent"
	"frontdesk/ent/collectionproduct"
	"frontdesk/ent/inventory"
	"frontdesk/ent/predicate"
	"frontdesk/ent/product"
	"frontdesk/ent/variant"
	"frontdesk/errcode"
	"frontdesk/fulltext"
	"frontdesk/gid"
	"frontdesk/identity"
)

// Sort orders a product listing.
type Sort string

// Sorts. RELEVANCE needs a search; without one it falls back to NEWEST.
const (
	SortPrice     Sort = "PRICE"
	SortTitle     Sort = "TITLE"
	SortNewest    Sort = "NEWEST"
	SortRelevance Sort = "RELEVANCE"
)

// Filter narrows a product listing. Zero values mean "no filter".
type Filter struct {
	CategoryID   *gid.ID          `json:"cat,omitempty"`
	CollectionID *gid.ID          `json:"col,omitempty"`
	PriceMin     *int64           `json:"pmin,omitempty"`
	PriceMax     *int64           `json:"pmax,omitempty"`
	InStock      *bool            `json:"stock,omitempty"`
	Tags         []string         `json:"tags,omitempty"`
	Search       string           `json:"q,omitempty"`
	Statuses     []product.Status `json:"st,omitempty"`
}

// ListArgs are the arguments of a product listing.
type ListArgs struct {
	First   *int        `json:"f,omitempty"`
	Last    *int        `json:"l,omitempty"`
	After   *ent.Cursor `json:"a,omitempty"`
	Before  *ent.Cursor `json:"b,omitempty"`
	Filter  Filter      `json:"w"`
	Sort    Sort        `json:"s"`
	Reverse bool        `json:"r,omitempty"`
	// Count says the caller will ask for TotalCount: on a page not yet
	// cached the count then runs beside the page's queries rather than
	// after them. It is not part of the cache key.
	Count bool `json:"-"`
}

// ProductPage is one page of a listing together with every edge a
// storefront listing shows. Which products it holds (ids, cursors,
// whether more follow) is kept in this process per listing; the rows and
// edges are kept per product and the stock per variant (see entities.go)
// and put together for each request.
type ProductPage struct {
	Products    []*ent.Product            `json:"products"`
	Cursors     []ent.Cursor              `json:"cursors"`
	HasNext     bool                      `json:"next"`
	HasPrevious bool                      `json:"prev"`
	Variants    map[gid.ID][]*ent.Variant `json:"variants"`
	// Inventory is the stock of the page's variants, read under the
	// stock version.
	Inventory   map[gid.ID]*ent.Inventory      `json:"inventory,omitempty"`
	Images      map[gid.ID][]*ent.ProductImage `json:"images"`
	Collections map[gid.ID][]*ent.Collection   `json:"collections"`
	// filter is what TotalCount counts (the request's, with the public's
	// status restriction applied).
	filter Filter
	// counting is the count started beside the page's queries (Count).
	counting *pendingCount
}

// pendingCount is a TotalCount running in its own goroutine.
type pendingCount struct {
	done chan struct{}
	n    int
	err  error
}

// visible reports whether the viewer may see p: the public sees active
// products only; staff with ManageCatalog see all.
func visible(ctx context.Context, p *ent.Product) bool {
	return p.Status == product.StatusACTIVE || staff(ctx)
}

// ViewRules are the catalog's read rules, one per type it shows (see
// identity.ViewRule): the storefront is public, except products that are
// not active (and what hangs off them), which only staff who manage the
// catalog see, as they alone see stock records. Every rule depends on the
// object and on staff-or-not only, so catalog responses may be cached.
func (s *Service) ViewRules() []identity.ViewRule {
	return []identity.ViewRule{
		identity.Public[ent.Category]().Cached(), identity.Public[ent.Collection]().Cached(),
		identity.Rule(func(ctx context.Context, p *ent.Product) bool {
			if p.Status == "" { // a query may read only some columns: judge the whole row
				return s.productVisible(ctx, p.ID)
			}
			return visible(ctx, p)
		}).Cached(),
		identity.Rule(func(ctx context.Context, v *ent.Variant) bool {
			if v.ProductID == "" {
				_, err := s.Variant(ctx, v.ID) // not found when its product is hidden
				return err == nil
			}
			return s.productVisible(ctx, v.ProductID)
		}).Within("Product").Cached(),
		identity.Rule(func(ctx context.Context, i *ent.ProductImage) bool {
			if i.ProductID == "" {
				row, err := s.client.ProductImage.Get(ctx, i.ID)
				return err == nil && s.productVisible(ctx, row.ProductID)
			}
			return s.productVisible(ctx, i.ProductID)
		}).Within("Product").Cached(),
		identity.Rule(func(ctx context.Context, o *ent.ProductOption) bool {
			if o.ProductID == "" {
				row, err := s.client.ProductOption.Get(ctx, o.ID)
				return err == nil && s.productVisible(ctx, row.ProductID)
			}
			return s.productVisible(ctx, o.ProductID)
		}).Within("Product").Cached(),
		identity.Rule(func(ctx context.Context, _ *ent.Inventory) bool { return staff(ctx) }).Cached(),
	}
}

// productVisible reports whether the viewer may see product id.
func (s *Service) productVisible(ctx context.Context, id gid.ID) bool {
	_, err := s.ProductOf(ctx, id)
	return err == nil
}

// Product returns a product by ID or slug, if the viewer may see it.
func (s *Service) Product(ctx context.Context, id *gid.ID, slug *string) (*ent.Product, error) {
	var (
		p   *ent.Product
		err error
	)
	switch {
	case id != nil:
		p, err = load(ctx, s.loaders(ctx).products, *id)
	case slug != nil:
		p, err = s.client.Product.Query().Where(product.Slug(*slug)).Only(ctx)
		if ent.IsNotFound(err) {
			return nil, ErrProductNotFound
		}
	default:
		return nil, errcode.New(errcode.BadUserInput, "pass id or slug")
	}
	if err != nil {
		return nil, fmt.Errorf("load product: %w", err)
	}
	if p == nil || !visible(ctx, p) {
		return nil, ErrProductNotFound
	}
	return p, nil
}

// Products returns one page of a product listing. The page's rows are
// kept in this process under the catalog version (and the stock version
// with the inStock filter, whose rows depend on stock), not in the shared
// cache: most pages are asked for once (a new price range, search or
// cursor), and a listing asked for again is answered from the response
// cache. Its rows and edges come from the per-product cache and its stock
// from the per-variant one (assemble), so a page of products seen before
// costs one statement. The page also fills the request's loaders, so resolving its
// variants, stock, images and collections costs nothing more.
func (s *Service) Products(ctx context.Context, args ListArgs) (*ProductPage, error) {
	if err := s.checkArgs(&args); err != nil {
		return nil, err
	}
	if !staff(ctx) {
		// The public sees active products only, whatever it asks for.
		args.Filter.Statuses = []product.Status{product.StatusACTIVE}
	}
	withStock := args.Filter.InStock != nil
	var counting *pendingCount
	page, err := kept(ctx, s, "products", withStock, args, func() (*ProductPage, error) {
		if args.Count {
			// A page not kept is usually a filter not counted yet: both
			// statements run at once.
			counting = &pendingCount{done: make(chan struct{})}
			go func() {
				defer close(counting.done)
				counting.n, counting.err = s.TotalCount(ctx, &ProductPage{filter: args.Filter})
			}()
		}
		return s.listProducts(ctx, args)
	})
	if err != nil {
		return nil, err
	}
	// The kept page is shared by every request that hits it.
	own := &ProductPage{
		Products: page.Products, Cursors: page.Cursors, HasNext: page.HasNext, HasPrevious: page.HasPrevious,
		filter: args.Filter, counting: counting,
	}
	if err := s.assemble(ctx, own); err != nil {
		return nil, err
	}
	s.prime(ctx, own)
	return own, nil
}

// TotalCount is the number of products a listing's filter matches, over
// all its pages. It is counted only when asked for (the field is
// selected), with one COUNT on the filter's index, and cached per filter,
// so every page and page size of one listing shares it. A search that
// rankedList can answer is counted from its term's ranked matches.
func (s *Service) TotalCount(ctx context.Context, page *ProductPage) (int, error) {
	if c := page.counting; c != nil {
		select {
		case <-c.done:
			return c.n, c.err
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	f := page.filter
	if n, ok, err := s.rankedCount(ctx, f); ok || err != nil {
		return n, err
	}
	if f.PriceMin != nil || f.PriceMax != nil {
		return s.countPriceRange(ctx, f)
	}
	return s.count(ctx, f)
}

// maxPriceList is the most products whose prices countPriceRange keeps
// for one filter (8 bytes each).
const maxPriceList = 200_000

// countPriceRange counts a filter with a price range from the sorted
// prices of the same filter without the range, kept in this process under
// the same version as the count: a storefront's price slider sends a new
// range with nearly every request, and each would otherwise count the
// whole range again (at 100,000 products 15-40 ms per request on
// MariaDB). The prices are read once per filter and version, with one
// statement on the same indexes as the count; a filter matching more than
// maxPriceList products is counted as before.
func (s *Service) countPriceRange(ctx context.Context, f Filter) (int, error) {
	base := f
	base.PriceMin, base.PriceMax = nil, nil
	total, err := s.count(ctx, base)
	if err != nil || total > maxPriceList {
		return s.count(ctx, f)
	}
	withStock := base.InStock != nil
	local, versionOf := s.versioned(withStock)
	version, err := versionOf(ctx)
	var key string
	if err == nil {
		key, err = cacheKey("product-prices", version, base)
	}
	if err != nil {
		return s.count(ctx, f)
	}
	var list []int
	if prices, ok := local.Get(version, key); ok {
		list = prices.([]int)
	} else if list, err = loadOnce(ctx, s, local, version, key, func() ([]int, error) {
		preds, err := s.predicates(ctx, base)
		if err != nil {
			return nil, err
		}
		list, err := s.client.Product.Query().Where(preds...).Unique(false).
			Order(product.ByPriceMin()).Select(product.FieldPriceMin).Ints(ctx)
		if err != nil {
			return nil, fmt.Errorf("list product prices: %w", err)
		}
		local.Put(version, key, list, 8*len(list)+64, s.opts.CacheTTL)
		return list, nil
	}); err != nil {
		return 0, err
	}
	lo, hi := 0, len(list)
	if f.PriceMin != nil {
		lo = sort.Search(len(list), func(i int) bool { return int64(list[i]) >= *f.PriceMin })
	}
	if f.PriceMax != nil {
		hi = sort.Search(len(list), func(i int) bool { return int64(list[i]) > *f.PriceMax })
	}
	return max(hi-lo, 0), nil
}

// count is one COUNT of a filter, cached per filter.
func (s *Service) count(ctx context.Context, f Filter) (int, error) {
	return cached(ctx, s, "product-count", f.InStock != nil, f, func() (int, error) {
		g := f
		var pricePreds []predicate.Product
		if (g.CategoryID != nil || g.CollectionID != nil) && (g.PriceMin != nil || g.PriceMax != nil) {
			// With a category or collection both databases counted through
			// the (status, price_min) index and read every product in the
			// range for its category (40 ms on SQLite, 60 ms on MariaDB at
			// 10,000 products); the category's or collection's index reads
			// only its products.
			pricePreds = append(pricePreds, s.priceRangeUnindexed(g.PriceMin, g.PriceMax))
			g.PriceMin, g.PriceMax = nil, nil
		}
		preds, err := s.predicates(ctx, g)
		if err != nil {
			return 0, err
		}
		preds = append(preds, pricePreds...)
		// COUNT(*), not ent's COUNT(id): on SQLite the id is not in the
		// (status, price_min) index, so COUNT(id) read every matching row
		// of the table (40 ms at 10,000 products against 0.5 ms).
		n, err := s.client.Product.Query().Where(preds...).Unique(false).Aggregate(ent.Count()).Int(ctx)
		if err != nil {
			return 0, fmt.Errorf("count products: %w", err)
		}
		return n, nil
	})
}

func (s *Service) checkArgs(args *ListArgs) error {
	if args.First != nil && args.Last != nil {
		return errcode.New(errcode.BadUserInput, "pass first or last, not both")
	}
	if (args.First != nil && *args.First < 0) || (args.Last != nil && *args.Last < 0) {
		return errcode.New(errcode.BadUserInput, "first and last cannot be negative")
	}
	if args.First == nil && args.Last == nil {
		n := 20
		args.First = &n
	}
	args.Filter.Search = strings.TrimSpace(args.Filter.Search)
	if args.Sort == "" {
		args.Sort = SortNewest
		if args.Filter.Search != "" {
			args.Sort = SortRelevance
		}
	}
	if args.Sort == SortRelevance && searchTerms(args.Filter.Search) == nil {
		args.Sort = SortNewest
	}
	for i, t := range args.Filter.Tags {
		args.Filter.Tags[i] = normalizeTag(t)
	}
	return nil
}

func (s *Service) prime(ctx context.Context, page *ProductPage) {
	l := loadersFrom(ctx)
	if l == nil {
		return
	}
	for _, p := range page.Products {
		l.products.Prime(p.ID, p)
		l.variants.Prime(p.ID, page.Variants[p.ID])
		l.images.Prime(p.ID, page.Images[p.ID])
		l.collections.Prime(p.ID, page.Collections[p.ID])
		for _, v := range page.Variants[p.ID] {
			l.variant.Prime(v.ID, v)
			if inv := page.Inventory[v.ID]; inv != nil {
				l.inventory.Prime(v.ID, inv)
			}
		}
	}
}

// sortKey is the column a sort orders by, and whether it descends by
// default.
func sortKey(sort Sort) (string, bool) {
	switch sort {
	case SortPrice:
		return product.FieldPriceMin, false
	case SortTitle:
		return product.FieldSortTitle, false
	default:
		return product.FieldCreatedAt, true
	}
}

// keyOf renders p's sort key as a cursor value. Cursors carry strings so
// that they survive the msgpack round trip unchanged on every type.
func keyOf(sort Sort, p *ent.Product) string {
	switch sort {
	case SortPrice:
		return strconv.FormatInt(p.PriceMin, 10)
	case SortTitle:
		return p.SortTitle
	default:
		return p.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
}

func parseKey(sort Sort, v string) (any, error) {
	switch sort {
	case SortPrice:
		return strconv.ParseInt(v, 10, 64)
	case SortTitle:
		return v, nil
	default:
		return time.Parse(time.RFC3339Nano, v)
	}
}

// listProducts reads which products a page holds: one query for their
// ids and sort keys (the index of the sort column walks to the page and
// stops after it), or none for a search paged from its ranked matches;
// assemble adds the rows and their edges. The total is not counted here (see TotalCount): a COUNT(*)
// OVER () window column made the database read and sort every matching
// row for every page.
func (s *Service) listProducts(ctx context.Context, args ListArgs) (*ProductPage, error) {
	f := args.Filter
	var pricePreds []predicate.Product
	if !s.mysql() && args.Sort != SortPrice && (f.PriceMin != nil || f.PriceMax != nil) {
		// SQLite would read the (status, price_min) index for a price
		// range and sort every product in it (a temporary B-tree: 38 ms
		// for 10,000 products); a unary + keeps the range off that index,
		// so it walks the sort column's index and stops after the page,
		// as MariaDB does.
		pricePreds = append(pricePreds, s.priceRangeUnindexed(f.PriceMin, f.PriceMax))
		f.PriceMin, f.PriceMax = nil, nil
	}
	if !s.mysql() && args.Sort == SortRelevance {
		// The join with the ranked matches (orderByRelevance) keeps only
		// matching products; the search predicate would run the full-text
		// query a second time.
		f.Search = ""
	}
	preds, err := s.predicates(ctx, f)
	if err != nil {
		return nil, err
	}
	preds = append(preds, pricePreds...)
	backward := args.Last != nil
	limit := 0
	if backward {
		limit = *args.Last
	} else {
		limit = *args.First
	}
	cursor := args.After
	if backward {
		cursor = args.Before
	}
	page := &ProductPage{}
	q := s.client.Product.Query().Where(preds...)

	// desc is the direction rows are read in (reversed for `last`).
	offset := 0
	if args.Sort == SortRelevance {
		// Relevance scores are floats that the database recomputes; the
		// cursor is the position in the ranked list instead.
		if cursor != nil {
			o, err := strconv.Atoi(fmt.Sprint(cursor.Value))
			if err != nil || o < 0 {
				return nil, errcode.New(errcode.BadUserInput, "invalid cursor")
			}
			offset = o + 1
			if backward {
				offset = max(o-limit, 0)
				limit = min(limit, o)
			}
		} else if backward {
			return nil, errcode.New(errcode.BadUserInput, "last without before is not supported for RELEVANCE")
		}
		s.orderByRelevance(q, args.Filter.Search, args.Reverse)
	} else {
		col, desc := sortKey(args.Sort)
		if args.Reverse {
			desc = !desc
		}
		if backward {
			desc = !desc
		}
		if cursor != nil {
			key, err := parseKey(args.Sort, fmt.Sprint(cursor.Value))
			if err != nil {
				return nil, errcode.New(errcode.BadUserInput, "invalid cursor")
			}
			q.Where(afterKey(col, key, cursor.ID, desc, !s.mysql()))
			if s.mysql() && len(f.Statuses) == 1 && f.CollectionID == nil && f.Search == "" {
				forceSortIndex(q, col)
			}
		}
		if desc {
			q.Order(product.OrderOption(sql.OrderByField(col, sql.OrderDesc()).ToFunc()), product.ByID(sql.OrderDesc()))
		} else {
			q.Order(product.OrderOption(sql.OrderByField(col).ToFunc()), product.ByID())
		}
	}
	rows, ranked, err := s.rankedPage(ctx, args, offset, limit+1)
	if err != nil {
		return nil, err
	}
	if !ranked {
		// Only the id and the sort key: the rows themselves are kept per
		// product (assemble).
		fields := []string{product.FieldID}
		if args.Sort != SortRelevance {
			col, _ := sortKey(args.Sort)
			fields = append(fields, col)
		}
		q.Limit(limit + 1).Offset(offset)
		if rows, err = q.Select(fields...).All(ctx); err != nil {
			return nil, fmt.Errorf("list products: %w", err)
		}
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	if backward && args.Sort != SortRelevance {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	page.Products = rows
	for i, p := range rows {
		c := ent.Cursor{ID: p.ID, Value: keyOf(args.Sort, p)}
		if args.Sort == SortRelevance {
			c.Value = strconv.Itoa(offset + i)
		}
		page.Cursors = append(page.Cursors, c)
	}
	if backward {
		page.HasPrevious, page.HasNext = more || (args.Sort == SortRelevance && offset > 0), cursor != nil
	} else {
		page.HasNext, page.HasPrevious = more, cursor != nil
	}
	return page, nil
}

// priceRangeUnindexed is the price filter as the database cannot answer
// it from an index: SQLite's unary +, MySQL's "+ 0".
func (s *Service) priceRangeUnindexed(lo, hi *int64) predicate.Product {
	mysql := s.mysql()
	return func(s *sql.Selector) {
		c := "+" + s.C(product.FieldPriceMin)
		if mysql {
			c = "(" + s.C(product.FieldPriceMin) + " + 0)"
		}
		if lo != nil {
			s.Where(sql.P(func(b *sql.Builder) { b.WriteString(c + " >= ").Arg(*lo) }))
		}
		if hi != nil {
			s.Where(sql.P(func(b *sql.Builder) { b.WriteString(c + " <= ").Arg(*hi) }))
		}
	}
}

// sortIndex is the (status, column) index each sort column walks.
var sortIndex = map[string]string{
	product.FieldCreatedAt: "product_status_created_at",
	product.FieldPriceMin:  "product_status_price_min",
	product.FieldSortTitle: "product_status_sort_title",
}

// forceSortIndex makes MariaDB read a keyset page from the (status, col)
// index as a range that starts at the cursor. Left to itself, it costs
// "ref on status" and "range from the cursor" on that index the same (the
// range's rows look up the price, so it costs more than a table scan and
// range analysis keeps no plan), and when ref wins the tie it walks from
// the first product in the sort order to the cursor: 55-250 ms instead of
// 1.5 ms half-way through 100,000 products, in 4 of 8 runs, as the
// sampled index statistics fell. Neither a row comparison "(col, id) <
// (key, id)" (MariaDB makes no range of it) nor a redundant "col <= key"
// changes that; with the index forced the range analysis keeps the range,
// which reads more key parts than ref, so MariaDB uses it. Only for the
// single status the storefront lists (staff listing every status have no
// equality to start the index with) and without a collection or a search,
// whose own indexes may drive the query.
func forceSortIndex(q *ent.ProductQuery, col string) {
	q.Modify(func(sel *sql.Selector) {
		// Unquoted, the table name carries the hint; the alias keeps
		// every column qualified as `products`.`col`.
		sel.From(sql.Table("`" + product.Table + "` FORCE INDEX (`" + sortIndex[col] + "`)").Unquote().As(product.Table))
	})
}

// afterKey is the keyset condition "sorts after (key, id)".
func afterKey(col string, key any, id gid.ID, desc, bounded bool) predicate.Product {
	op := ">"
	if desc {
		op = "<"
	}
	// On SQLite (bounded) "col op= key AND (col op key OR id op id)": the
	// first term is a range the sort column's index starts from; with only
	// the OR, SQLite walked the index from its start to the cursor (11 ms
	// half-way through 10,000 products).
	if !bounded {
		return func(s *sql.Selector) {
			c, i := s.C(col), s.C(product.FieldID)
			s.Where(sql.Or(
				sql.P(func(b *sql.Builder) { b.WriteString(c + " " + op + " ").Arg(key) }),
				sql.And(sql.EQ(c, key), sql.P(func(b *sql.Builder) { b.WriteString(i + " " + op + " ").Arg(id) })),
			))
		}
	}
	return func(s *sql.Selector) {
		c, i := s.C(col), s.C(product.FieldID)
		s.Where(sql.And(
			sql.P(func(b *sql.Builder) { b.WriteString(c + " " + op + "= ").Arg(key) }),
			sql.Or(
				sql.P(func(b *sql.Builder) { b.WriteString(c + " " + op + " ").Arg(key) }),
				sql.P(func(b *sql.Builder) { b.WriteString(i + " " + op + " ").Arg(id) }),
			),
		))
	}
}

// categoryAndBelow is a category filter's categories: the category and
// every one below it.
func (s *Service) categoryAndBelow(ctx context.Context, id gid.ID) ([]gid.ID, error) {
	t, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	ids := t.descendants(id)
	if len(ids) == 0 {
		return nil, ErrCategoryNotFound
	}
	return ids, nil
}

// predicates turns a filter into SQL conditions.
func (s *Service) predicates(ctx context.Context, f Filter) ([]predicate.Product, error) {
	var preds []predicate.Product
	if len(f.Statuses) > 0 {
		preds = append(preds, product.StatusIn(f.Statuses...))
	}
	if f.CategoryID != nil {
		ids, err := s.categoryAndBelow(ctx, *f.CategoryID)
		if err != nil {
			return nil, err
		}
		preds = append(preds, product.CategoryIDIn(ids...))
	}
	if f.CollectionID != nil {
		id := *f.CollectionID
		preds = append(preds, func(s *sql.Selector) {
			t := sql.Table(collectionproduct.Table)
			s.Where(sql.In(s.C(product.FieldID),
				sql.Select(t.C(collectionproduct.FieldProductID)).From(t).Where(sql.EQ(t.C(collectionproduct.FieldCollectionID), id))))
		})
	}
	if f.PriceMin != nil {
		preds = append(preds, product.PriceMinGTE(*f.PriceMin))
	}
	if f.PriceMax != nil {
		preds = append(preds, product.PriceMinLTE(*f.PriceMax))
	}
	if f.InStock != nil {
		in := inStockPredicate()
		if *f.InStock {
			preds = append(preds, in)
		} else {
			preds = append(preds, product.Not(in))
		}
	}
	for _, tag := range f.Tags {
		preds = append(preds, product.TagKeyContains("|"+tag+"|"))
	}
	if terms := searchTerms(f.Search); terms != nil {
		preds = append(preds, s.searchPredicate(terms))
	} else if f.Search != "" {
		// Nothing searchable (only punctuation or one-letter words).
		preds = append(preds, func(s *sql.Selector) { s.Where(sql.False()) })
	}
	return preds, nil
}

// inStockPredicate is "some variant can be bought now".
func inStockPredicate() predicate.Product {
	return func(s *sql.Selector) {
		v := sql.Table(variant.Table).As("sv")
		i := sql.Table(inventory.Table).As("si")
		sub := sql.Select(v.C(variant.FieldID)).From(v).
			Join(i).On(i.C(inventory.FieldVariantID), v.C(variant.FieldID)).
			Where(sql.And(
				sql.ColumnsEQ(v.C(variant.FieldProductID), s.C(product.FieldID)),
				sql.Or(
					sql.EQ(i.C(inventory.FieldTracked), false),
					sql.EQ(i.C(inventory.FieldAllowBackorder), true),
					sql.ColumnsGT(i.C(inventory.FieldOnHand), i.C(inventory.FieldReserved)),
				),
			))
		s.Where(sql.Exists(sub))
	}
}

// searchTerms splits a query into the words the search index and the
// databases' full-text indexes match (fulltext.Words: lower-case runs of
// letters and digits), so user input is never syntax; one-letter words
// are dropped and ten words kept.
func searchTerms(q string) []string {
	var out []string
	for _, w := range fulltext.Words(q) {
		if len([]rune(w)) >= 2 && len(out) < 10 {
			out = append(out, w)
		}
	}
	return out
}

// searchPredicate matches every term as a word prefix: FULLTEXT in
// boolean mode on MySQL ("+term*"), FTS5 on SQLite ("term"*).
func (s *Service) searchPredicate(terms []string) predicate.Product {
	if s.mysql() {
		expr := mysqlSearchExpr(terms)
		return func(sel *sql.Selector) {
			sel.Where(sql.P(func(b *sql.Builder) {
				b.WriteString("MATCH(" + sel.C(product.FieldSearchText) + ") AGAINST (").Arg(expr).WriteString(" IN BOOLEAN MODE)")
			}))
		}
	}
	expr := ftsExpr(terms)
	return func(sel *sql.Selector) {
		sel.Where(sql.P(func(b *sql.Builder) {
			b.WriteString(sel.C("rowid") + " IN (SELECT rowid FROM product_search WHERE product_search MATCH ").Arg(expr).WriteString(")")
		}))
	}
}

func mysqlSearchExpr(terms []string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = "+" + t + "*"
	}
	return strings.Join(parts, " ")
}

func ftsExpr(terms []string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = `"` + t + `"*`
	}
	return strings.Join(parts, " ")
}

// orderByRelevance ranks matches best first: MATCH … AGAINST's score on
// MySQL, FTS5's bm25 rank on SQLite.
func (s *Service) orderByRelevance(q *ent.ProductQuery, search string, reverse bool) {
	terms := searchTerms(search)
	dir := "DESC"
	if reverse {
		dir = "ASC"
	}
	if s.mysql() {
		expr := mysqlSearchExpr(terms)
		q.Order(func(sel *sql.Selector) {
			sel.OrderExpr(sql.ExprFunc(func(b *sql.Builder) {
				b.WriteString("MATCH(" + sel.C(product.FieldSearchText) + ") AGAINST (").Arg(expr).WriteString(" IN BOOLEAN MODE) " + dir)
			}))
			sel.OrderBy(sql.Desc(sel.C(product.FieldID)))
		})
		return
	}
	// FTS5 rank is lower for better matches. Joining the FTS table on
	// its rowid with the MATCH in the join ranks every match in one index
	// scan; a correlated subquery in ORDER BY (the first version) ran
	// the full-text query once per matching row.
	rankDir := "ASC"
	if reverse {
		rankDir = "DESC"
	}
	//
	// The matches and their ranks are a subquery that SQLite may not
	// flatten into the join (its LIMIT -1 says so): flattened, the planner
	// drove the join from the products side and the search took 4 s at
	// 10,000 products; kept apart, FTS5 ranks its matches once (15 ms).
	expr := ftsExpr(terms)
	t := sql.Table(ftsTable)
	fts := sql.Select(sql.As(t.C("rowid"), "r"), sql.As(t.C("rank"), "k")).From(t).
		Where(sql.P(func(b *sql.Builder) { b.WriteString(t.C(ftsTable) + " MATCH ").Arg(expr) })).
		Limit(-1).As("fts")
	q.Modify(func(sel *sql.Selector) {
		// "= +fts.r": no automatic index on the matches, so the join is
		// driven from them, each product read by its rowid, rather than
		// from every product (15 -> 9 ms at 10,000 products).
		sel.Join(fts).OnP(sql.ExprP(sel.C("rowid") + " = +" + fts.C("r")))
	})
	q.Order(func(sel *sql.Selector) {
		sel.OrderExpr(sql.Expr(fts.C("k") + " " + rankDir))
		sel.OrderBy(sql.Desc(sel.C(product.FieldID)))
	})
}

// ftsTable is SQLite's full-text index of products (see the
// catalog_search migration).
const ftsTable = "product_search"

// normalizeTag lower-cases a tag and keeps letters, digits and single
// dashes, so tags compare predictably and never contain the "|" that
// separates them in tag_key.
func normalizeTag(t string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(t)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
