package graph

import (
	"context"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"frontdesk/catalog"
	"frontdesk/ent"
	"frontdesk/ent/schema"
	"frontdesk/gid"
	"frontdesk/graph/model"
	"frontdesk/money"
)

// A storefront listing page shows about a thousand fields. Through
// gqlgen's per-field execution each field cost a field context, a
// context, two closures and a boxed result, and each object a field set,
// a deferred group and a map of the keys written: some 19,000 allocations
// and most of the Go side of a listing that missed the caches.
// marshalProducts (which internal/gqlgenrun puts in place of the
// generated call in Query.products) writes the whole connection into one
// buffer instead. The selection is compiled once per request with
// gqlgen's own CollectFields (fragments, aliases, @skip and @include
// resolved as the generic executor resolves them); each object is then
// written field by field, calling the same resolvers the generated code
// calls, with the same nulls, scalars and escaping.
//
// View rules run as before. Every product goes through the field
// middleware of ProductEdge.node, which is where its view rule is asked,
// once per product; a variant's product and inventory, whose rules are
// asked per variant, are rendered by the generated code with the whole
// middleware. Any other field a view rule checks (the registry says so:
// views.fields) is left to the generic executor. The fields written here
// skip the field middleware, as the slot writer's do: of the server's
// field interceptors, authorization is a no-op for a field it does not
// check and Pagination for a field that is not a connection. Their
// resolvers get the listing's context (the field context of
// Query.products): the catalog's resolvers read the loaders and the
// viewer from it, never their own field context.
//
// Whatever the fast path cannot write exactly as the generic executor
// would, it leaves to the generic executor, which then answers as before
// (running the resolvers again): a field it does not know (options, a
// collection's products, a category's parent or children), a field with
// arguments other than urlAtWidth's, a duplicated response key, @defer,
// any error or panic, a refused view rule, a null where the schema says
// non-null (a zero time included: gqlgen's Time writes it as null), and
// a cancelled request.

// listingFastPath switches marshalProducts' fast path; tests turn it off
// to compare with the generic executor.
var listingFastPath atomic.Bool

func init() { listingFastPath.Store(true) }

// listingWrites counts the listings the fast path wrote, so tests can
// tell it from a fallback.
var listingWrites atomic.Int64

// marshalProducts marshals Query.products' connection.
func (ec *executionContext) marshalProducts(ctx context.Context, sel ast.SelectionSet, v *catalog.ProductPage) graphql.Marshaler {
	if listingFastPath.Load() && v != nil {
		if b, ok := ec.writeProducts(ctx, sel, v); ok {
			listingWrites.Add(1)
			return rawJSON(b)
		}
	}
	return ec.marshalNProductConnection2ᚖfrontdeskᚋcatalogᚐProductPage(ctx, sel, v)
}

// listingField is one field of one type the listing writer knows.
type listingField int

const (
	lTypename listingField = iota
	// ProductConnection
	lEdges
	lPageInfo
	lTotalCount
	// ProductEdge
	lCursor
	lNode
	// PageInfo
	lHasNextPage
	lHasPreviousPage
	lStartCursor
	lEndCursor
	// Product
	lProductID
	lProductStatus
	lProductSlug
	lProductTitle
	lProductDescription
	lProductDescriptionHTML
	lProductSEOTitle
	lProductSEODescription
	lProductTags
	lProductCategory
	lProductCollections
	lProductVariants
	lProductImages
	lProductFeaturedImage
	lProductPriceRange
	lProductInStock
	lProductCreatedAt
	lProductUpdatedAt
	// Variant
	lVariantID
	lVariantSKU
	lVariantTitle
	lVariantSelectedOptions
	lVariantPrice
	lVariantPriceWithTax
	lVariantCompareAtPrice
	lVariantWeightGrams
	lVariantBarcode
	lVariantPosition
	lVariantStockLevel
	lVariantAvailableForSale
	lVariantProduct   // rendered by the generated code
	lVariantInventory // rendered by the generated code
	// Money
	lMoneyAmount
	lMoneyCurrency
	lMoneyFormatted
	// PriceRange
	lRangeMin
	lRangeMax
	// SelectedOption
	lOptionName
	lOptionValue
	// ProductImage
	lImageID
	lImageURL
	lImageURLAtWidth
	lImageAlt
	lImageWidth
	lImageHeight
	lImageContentType
	lImagePosition
	lImageRenditions
	// ImageRendition
	lRenditionWidth
	lRenditionHeight
	lRenditionURL
	// Collection
	lCollectionID
	lCollectionTitle
	lCollectionSlug
	lCollectionDescription
	// Category
	lCategoryID
	lCategoryName
	lCategorySlug
	lCategoryDescription
	lCategoryPosition
)

// listingShape is an object type the listing writer writes: its name,
// the types its fields are collected for (the generated implementors)
// and the fields it knows.
type listingShape struct {
	typename     []byte // quoted, for __typename
	implementors []string
	fields       map[string]listingSpec
}

// listingSpec is one known field and, for an object field, its type.
type listingSpec struct {
	kind  listingField
	child *listingShape
}

func shape(name string, implementors []string, fields map[string]listingSpec) *listingShape {
	return &listingShape{typename: appendString(nil, name), implementors: implementors, fields: fields}
}

var (
	moneyShape = shape("Money", moneyImplementors, map[string]listingSpec{
		"amount": {kind: lMoneyAmount}, "currency": {kind: lMoneyCurrency}, "formatted": {kind: lMoneyFormatted},
	})
	renditionShape = shape("ImageRendition", imageRenditionImplementors, map[string]listingSpec{
		"width": {kind: lRenditionWidth}, "height": {kind: lRenditionHeight}, "url": {kind: lRenditionURL},
	})
	imageShape = shape("ProductImage", productImageImplementors, map[string]listingSpec{
		"id": {kind: lImageID}, "url": {kind: lImageURL}, "urlAtWidth": {kind: lImageURLAtWidth}, "alt": {kind: lImageAlt},
		"width": {kind: lImageWidth}, "height": {kind: lImageHeight}, "contentType": {kind: lImageContentType},
		"position": {kind: lImagePosition}, "renditions": {kind: lImageRenditions, child: renditionShape},
	})
	optionShape = shape("SelectedOption", selectedOptionImplementors, map[string]listingSpec{
		"name": {kind: lOptionName}, "value": {kind: lOptionValue},
	})
	variantShape = shape("Variant", variantImplementors, map[string]listingSpec{
		"id": {kind: lVariantID}, "sku": {kind: lVariantSKU}, "title": {kind: lVariantTitle},
		"selectedOptions": {kind: lVariantSelectedOptions, child: optionShape},
		"price":           {kind: lVariantPrice, child: moneyShape}, "priceWithTax": {kind: lVariantPriceWithTax, child: moneyShape},
		"compareAtPrice": {kind: lVariantCompareAtPrice, child: moneyShape},
		"weightGrams":    {kind: lVariantWeightGrams}, "barcode": {kind: lVariantBarcode}, "position": {kind: lVariantPosition},
		"stockLevel": {kind: lVariantStockLevel}, "availableForSale": {kind: lVariantAvailableForSale},
		"product": {kind: lVariantProduct}, "inventory": {kind: lVariantInventory},
	})
	priceRangeShape = shape("PriceRange", priceRangeImplementors, map[string]listingSpec{
		"min": {kind: lRangeMin, child: moneyShape}, "max": {kind: lRangeMax, child: moneyShape},
	})
	collectionShape = shape("Collection", collectionImplementors, map[string]listingSpec{
		"id": {kind: lCollectionID}, "title": {kind: lCollectionTitle}, "slug": {kind: lCollectionSlug},
		"description": {kind: lCollectionDescription},
	})
	categoryShape = shape("Category", categoryImplementors, map[string]listingSpec{
		"id": {kind: lCategoryID}, "name": {kind: lCategoryName}, "slug": {kind: lCategorySlug},
		"description": {kind: lCategoryDescription}, "position": {kind: lCategoryPosition},
	})
	productShape = shape("Product", productImplementors, map[string]listingSpec{
		"id": {kind: lProductID}, "status": {kind: lProductStatus}, "slug": {kind: lProductSlug}, "title": {kind: lProductTitle},
		"description": {kind: lProductDescription}, "descriptionHtml": {kind: lProductDescriptionHTML},
		"seoTitle": {kind: lProductSEOTitle}, "seoDescription": {kind: lProductSEODescription}, "tags": {kind: lProductTags},
		"category":    {kind: lProductCategory, child: categoryShape},
		"collections": {kind: lProductCollections, child: collectionShape},
		"variants":    {kind: lProductVariants, child: variantShape},
		"images":      {kind: lProductImages, child: imageShape}, "featuredImage": {kind: lProductFeaturedImage, child: imageShape},
		"priceRange": {kind: lProductPriceRange, child: priceRangeShape}, "inStock": {kind: lProductInStock},
		"createdAt": {kind: lProductCreatedAt}, "updatedAt": {kind: lProductUpdatedAt},
	})
	edgeShape = shape("ProductEdge", productEdgeImplementors, map[string]listingSpec{
		"cursor": {kind: lCursor}, "node": {kind: lNode, child: productShape},
	})
	pageInfoShape = shape("PageInfo", pageInfoImplementors, map[string]listingSpec{
		"hasNextPage": {kind: lHasNextPage}, "hasPreviousPage": {kind: lHasPreviousPage},
		"startCursor": {kind: lStartCursor}, "endCursor": {kind: lEndCursor},
	})
	connectionShape = shape("ProductConnection", productConnectionImplementors, map[string]listingSpec{
		"edges": {kind: lEdges, child: edgeShape}, "pageInfo": {kind: lPageInfo, child: pageInfoShape},
		"totalCount": {kind: lTotalCount},
	})
)

// listingColumn is one collected field of an object: its kind, its key
// as written (the alias, quoted, and a colon) and, for an object field,
// the collected fields of its type.
type listingColumn struct {
	kind     listingField
	key      []byte
	typename []byte // for __typename
	field    graphql.CollectedField
	sub      []listingColumn
	// width is urlAtWidth's argument.
	width int
	// check is, for node, the context the product's view rule is asked
	// in: the field context of ProductEdge.node.
	check context.Context
}

// listingWriter writes one listing.
type listingWriter struct {
	ec    *executionContext
	ctx   context.Context
	views *views
	buf   []byte

	connection ProductConnectionResolver
	product    ProductResolver
	variant    VariantResolver
	image      ProductImageResolver

	// node is the product the ProductEdge.node middleware is asked
	// about; nodeResult hands it to the chain.
	node       *ent.Product
	nodeResult graphql.Resolver
}

// listingBytesPerProduct sizes the next listing's buffer: the bytes per
// product of the last listing written, at least 256.
var listingBytesPerProduct atomic.Int64

func init() { listingBytesPerProduct.Store(1024) }

// writeProducts writes the connection as the generic executor would, or
// reports false when it cannot be sure to.
func (ec *executionContext) writeProducts(ctx context.Context, sel ast.SelectionSet, page *catalog.ProductPage) (out []byte, ok bool) {
	if hasDefer(sel) || ctx.Err() != nil {
		return nil, false
	}
	defer func() {
		// The generic executor runs the same resolvers again and reports
		// the panic as it always has.
		if r := recover(); r != nil {
			out, ok = nil, false
		}
	}()
	w := &listingWriter{
		ec:    ec,
		views: viewsFrom(ctx),
		// Errors (a refused rule, a failing resolver in what the
		// generated code renders) are collected apart: any sends the
		// listing to the generic executor, which reports them itself.
		ctx:        graphql.WithFreshResponseContext(ctx),
		connection: ec.Resolvers.ProductConnection(),
		product:    ec.Resolvers.Product(),
		variant:    ec.Resolvers.Variant(),
		image:      ec.Resolvers.ProductImage(),
	}
	w.nodeResult = w.currentNode
	cols, ok := w.compile(sel, connectionShape)
	if !ok {
		return nil, false
	}
	w.buf = make([]byte, 0, 256+int64(len(page.Products))*listingBytesPerProduct.Load())
	if !w.writeConnection(cols, page) || ctx.Err() != nil || len(graphql.GetErrors(w.ctx)) > 0 {
		return nil, false
	}
	if n := len(page.Products); n > 0 {
		listingBytesPerProduct.Store(max(int64(len(w.buf)/n)*9/8, 256))
	}
	return w.buf, true
}

// compile collects the fields of sel for s, as the generated code for s
// does, and the fields below them.
func (w *listingWriter) compile(sel ast.SelectionSet, s *listingShape) ([]listingColumn, bool) {
	fields := graphql.CollectFields(w.ec.OperationContext, sel, s.implementors)
	cols := make([]listingColumn, len(fields))
	for i, f := range fields {
		for _, g := range fields[:i] {
			if g.Alias == f.Alias {
				return nil, false // one key twice: the generic executor decides
			}
		}
		c := &cols[i]
		c.field = f
		c.key = append(appendString(nil, f.Alias), ':')
		if f.Name == "__typename" {
			c.kind, c.typename = lTypename, s.typename
			continue
		}
		spec, known := s.fields[f.Name]
		if !known || f.Definition == nil {
			return nil, false
		}
		c.kind = spec.kind
		switch spec.kind {
		case lNode:
			// The product's rule is asked in this field's context.
			fc, err := w.ec.fieldContext_ProductEdge_node(w.ctx, f)
			if err != nil {
				return nil, false
			}
			c.check = graphql.WithFieldContext(w.ctx, fc)
		case lVariantProduct, lVariantInventory:
			// Rendered by the generated code, middleware and rules included.
			continue
		case lImageURLAtWidth:
			args, err := w.ec.field_ProductImage_urlAtWidth_args(w.ctx, f.ArgumentMap(w.ec.Variables))
			if err != nil {
				return nil, false
			}
			width, isInt := args["width"].(int)
			if !isInt {
				return nil, false
			}
			c.width = width
		default:
			if len(f.Definition.Arguments) > 0 {
				return nil, false
			}
			if w.views != nil {
				if _, checked := w.views.fields[f.Definition]; checked {
					return nil, false
				}
			}
		}
		if spec.child != nil {
			sub, ok := w.compile(f.Selections, spec.child)
			if !ok {
				return nil, false
			}
			c.sub = sub
		}
	}
	return cols, true
}

// currentNode is ProductEdge.node's resolver for the product at hand.
func (w *listingWriter) currentNode(context.Context) (any, error) { return w.node, nil }

// visible asks the field middleware of one node column about p: the
// view rule of Product, as the generic executor asks it for every edge.
func (w *listingWriter) visible(c *listingColumn, p *ent.Product) (*ent.Product, bool) {
	w.node = p
	res, err := w.ec.ResolverMiddleware(c.check, w.nodeResult)
	w.node = nil
	if err != nil {
		return nil, false
	}
	q, ok := res.(*ent.Product)
	return q, ok && q != nil
}

// Write appends to the buffer, for the scalars and renderings that write
// to an io.Writer.
func (w *listingWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

var _ io.Writer = (*listingWriter)(nil)

// object writes a JSON object of cols: each column's key, then its
// __typename or, through field, its value. field reports false to give
// the listing up to the generic executor (a resolver error, a null where
// none may be, a selection the writer cannot reproduce).
func (w *listingWriter) object(cols []listingColumn, field func(c *listingColumn) bool) bool {
	w.buf = append(w.buf, '{')
	for i := range cols {
		c := &cols[i]
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = append(w.buf, c.key...)
		if c.kind == lTypename {
			w.buf = append(w.buf, c.typename...)
		} else if !field(c) {
			return false
		}
	}
	w.buf = append(w.buf, '}')
	return true
}

func (w *listingWriter) writeConnection(cols []listingColumn, page *catalog.ProductPage) bool {
	return w.object(cols, func(c *listingColumn) bool {
		switch c.kind {
		case lEdges:
			edges, err := w.connection.Edges(w.ctx, page)
			if !writeList(w, edges, err, func(e *ent.ProductEdge) bool { return w.writeEdge(c.sub, e) }) {
				return false
			}
		case lPageInfo:
			info, err := w.connection.PageInfo(w.ctx, page)
			if err != nil || info == nil {
				return false
			}
			w.writePageInfo(c.sub, info.HasNextPage, info.HasPreviousPage, info.StartCursor, info.EndCursor)
		case lTotalCount:
			n, err := w.connection.TotalCount(w.ctx, page)
			if err != nil {
				return false
			}
			w.buf = strconv.AppendInt(w.buf, int64(n), 10)
		default:
			return false
		}
		return true
	})
}

func (w *listingWriter) writePageInfo(cols []listingColumn, hasNext, hasPrevious bool, start, end *ent.Cursor) {
	w.object(cols, func(c *listingColumn) bool {
		switch c.kind {
		case lHasNextPage:
			w.buf = strconv.AppendBool(w.buf, hasNext)
		case lHasPreviousPage:
			w.buf = strconv.AppendBool(w.buf, hasPrevious)
		case lStartCursor:
			w.cursor(start)
		case lEndCursor:
			w.cursor(end)
		}
		return true
	})
}

func (w *listingWriter) cursor(c *ent.Cursor) {
	if c == nil {
		w.buf = append(w.buf, "null"...)
		return
	}
	c.MarshalGQL(w)
}

// writeList writes a resolver's list as a JSON array, each element with
// write. A resolver error, a nil element (null in a non-null list) or an
// element write gives up on sends the listing to the generic executor, as
// every other case the writer cannot reproduce does.
func writeList[T any](w *listingWriter, list []*T, err error, write func(*T) bool) bool {
	if err != nil {
		return false
	}
	w.buf = append(w.buf, '[')
	for i, e := range list {
		if e == nil {
			return false
		}
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		if !write(e) {
			return false
		}
	}
	w.buf = append(w.buf, ']')
	return true
}

func (w *listingWriter) writeEdge(cols []listingColumn, e *ent.ProductEdge) bool {
	return w.object(cols, func(c *listingColumn) bool {
		switch c.kind {
		case lCursor:
			e.Cursor.MarshalGQL(w)
		case lNode:
			if e.Node == nil {
				return false
			}
			p, ok := w.visible(c, e.Node)
			if !ok || !w.writeProduct(c.sub, p) {
				return false
			}
		default:
			return false
		}
		return true
	})
}

func (w *listingWriter) writeProduct(cols []listingColumn, p *ent.Product) bool {
	return w.object(cols, func(c *listingColumn) bool {
		switch c.kind {
		case lProductID:
			w.id(p.ID)
		case lProductStatus:
			w.buf = strconv.AppendQuote(w.buf, p.Status.String())
		case lProductSlug:
			w.buf = appendString(w.buf, p.Slug)
		case lProductTitle:
			w.buf = appendString(w.buf, p.Title)
		case lProductDescription:
			w.buf = appendString(w.buf, p.Description)
		case lProductDescriptionHTML:
			w.buf = appendString(w.buf, p.DescriptionHTML)
		case lProductSEOTitle:
			w.buf = appendString(w.buf, p.SeoTitle)
		case lProductSEODescription:
			w.buf = appendString(w.buf, p.SeoDescription)
		case lProductTags:
			w.buf = append(w.buf, '[')
			for j, t := range p.Tags {
				if j > 0 {
					w.buf = append(w.buf, ',')
				}
				w.buf = appendString(w.buf, t)
			}
			w.buf = append(w.buf, ']')
		case lProductCreatedAt:
			if !w.time(p.CreatedAt) {
				return false
			}
		case lProductUpdatedAt:
			if !w.time(p.UpdatedAt) {
				return false
			}
		case lProductCategory:
			cat, err := w.product.Category(w.ctx, p)
			if err != nil {
				return false
			}
			if cat == nil {
				w.buf = append(w.buf, "null"...)
			} else {
				w.writeCategory(c.sub, cat)
			}
		case lProductCollections:
			list, err := w.product.Collections(w.ctx, p)
			if !writeList(w, list, err, func(col *ent.Collection) bool { w.writeCollection(c.sub, col); return true }) {
				return false
			}
		case lProductVariants:
			list, err := w.product.Variants(w.ctx, p)
			if !writeList(w, list, err, func(v *ent.Variant) bool { return w.writeVariant(c.sub, v) }) {
				return false
			}
		case lProductImages:
			list, err := w.product.Images(w.ctx, p)
			if !writeList(w, list, err, func(img *ent.ProductImage) bool { return w.writeImage(c.sub, img) }) {
				return false
			}
		case lProductFeaturedImage:
			img, err := w.product.FeaturedImage(w.ctx, p)
			if err != nil {
				return false
			}
			if img == nil {
				w.buf = append(w.buf, "null"...)
			} else if !w.writeImage(c.sub, img) {
				return false
			}
		case lProductPriceRange:
			r, err := w.product.PriceRange(w.ctx, p)
			if err != nil {
				return false
			}
			if r == nil {
				w.buf = append(w.buf, "null"...)
				return true
			}
			if !w.writePriceRange(c.sub, r.Min, r.Max) {
				return false
			}
		case lProductInStock:
			in, err := w.product.InStock(w.ctx, p)
			if err != nil {
				return false
			}
			w.buf = strconv.AppendBool(w.buf, in)
		default:
			return false
		}
		return true
	})
}

func (w *listingWriter) writeVariant(cols []listingColumn, v *ent.Variant) bool {
	return w.object(cols, func(c *listingColumn) bool {
		switch c.kind {
		case lVariantID:
			w.id(v.ID)
		case lVariantSKU:
			w.buf = appendString(w.buf, v.Sku)
		case lVariantTitle:
			w.buf = appendString(w.buf, v.Title)
		case lVariantBarcode:
			w.buf = appendString(w.buf, v.Barcode)
		case lVariantWeightGrams:
			w.buf = strconv.AppendInt(w.buf, int64(v.WeightGrams), 10)
		case lVariantPosition:
			w.buf = strconv.AppendInt(w.buf, int64(v.Position), 10)
		case lVariantSelectedOptions:
			list, err := w.variant.SelectedOptions(w.ctx, v)
			if !writeList(w, list, err, func(o *schema.OptionValue) bool { w.writeOption(c.sub, o.Name, o.Value); return true }) {
				return false
			}
		case lVariantPrice:
			m, err := w.variant.Price(w.ctx, v)
			if err != nil || m == nil {
				return false
			}
			w.writeMoney(c.sub, m)
		case lVariantPriceWithTax:
			m, err := w.variant.PriceWithTax(w.ctx, v)
			if err != nil || m == nil {
				return false
			}
			w.writeMoney(c.sub, m)
		case lVariantCompareAtPrice:
			m, err := w.variant.CompareAtPrice(w.ctx, v)
			if err != nil {
				return false
			}
			if m == nil {
				w.buf = append(w.buf, "null"...)
			} else {
				w.writeMoney(c.sub, m)
			}
		case lVariantStockLevel:
			n, err := w.variant.StockLevel(w.ctx, v)
			if err != nil {
				return false
			}
			if n == nil {
				w.buf = append(w.buf, "null"...)
			} else {
				w.buf = strconv.AppendInt(w.buf, int64(*n), 10)
			}
		case lVariantAvailableForSale:
			ok, err := w.variant.AvailableForSale(w.ctx, v)
			if err != nil {
				return false
			}
			w.buf = strconv.AppendBool(w.buf, ok)
		case lVariantProduct:
			m := w.ec._Variant_product(w.ctx, c.field, v)
			if m == nil || m == graphql.Null {
				return false // non-null: an error, which the generic executor reports
			}
			m.MarshalGQL(w)
		case lVariantInventory:
			m := w.ec._Variant_inventory(w.ctx, c.field, v)
			if m == nil {
				return false
			}
			m.MarshalGQL(w) // null for everyone but staff; errors are checked at the end
		default:
			return false
		}
		return true
	})
}

func (w *listingWriter) writeMoney(cols []listingColumn, m *money.Money) {
	w.object(cols, func(c *listingColumn) bool {
		switch c.kind {
		case lMoneyAmount:
			w.buf = strconv.AppendInt(w.buf, m.Amount, 10)
		case lMoneyCurrency:
			w.buf = appendString(w.buf, m.Currency)
		case lMoneyFormatted:
			w.buf = appendString(w.buf, m.Formatted())
		}
		return true
	})
}

func (w *listingWriter) writePriceRange(cols []listingColumn, lo, hi *money.Money) bool {
	return w.object(cols, func(c *listingColumn) bool {
		switch c.kind {
		case lRangeMin, lRangeMax:
			m := lo
			if c.kind == lRangeMax {
				m = hi
			}
			if m == nil {
				return false
			}
			w.writeMoney(c.sub, m)
		}
		return true
	})
}

func (w *listingWriter) writeOption(cols []listingColumn, name, value string) {
	w.object(cols, func(c *listingColumn) bool {
		switch c.kind {
		case lOptionName:
			w.buf = appendString(w.buf, name)
		case lOptionValue:
			w.buf = appendString(w.buf, value)
		}
		return true
	})
}

func (w *listingWriter) writeImage(cols []listingColumn, img *ent.ProductImage) bool {
	return w.object(cols, func(c *listingColumn) bool {
		switch c.kind {
		case lImageID:
			w.id(img.ID)
		case lImageURL:
			u, err := w.image.URL(w.ctx, img)
			if err != nil {
				return false
			}
			w.buf = appendString(w.buf, u)
		case lImageURLAtWidth:
			u, err := w.image.URLAtWidth(w.ctx, img, c.width)
			if err != nil {
				return false
			}
			w.buf = appendString(w.buf, u)
		case lImageAlt:
			w.buf = appendString(w.buf, img.Alt)
		case lImageWidth:
			w.buf = strconv.AppendInt(w.buf, int64(img.Width), 10)
		case lImageHeight:
			w.buf = strconv.AppendInt(w.buf, int64(img.Height), 10)
		case lImageContentType:
			w.buf = appendString(w.buf, img.ContentType)
		case lImagePosition:
			w.buf = strconv.AppendInt(w.buf, int64(img.Position), 10)
		case lImageRenditions:
			list, err := w.image.Renditions(w.ctx, img)
			if !writeList(w, list, err, func(r *model.ImageRendition) bool { w.writeRendition(c.sub, r.Width, r.Height, r.URL); return true }) {
				return false
			}
		default:
			return false
		}
		return true
	})
}

func (w *listingWriter) writeRendition(cols []listingColumn, width, height int, url string) {
	w.object(cols, func(c *listingColumn) bool {
		switch c.kind {
		case lRenditionWidth:
			w.buf = strconv.AppendInt(w.buf, int64(width), 10)
		case lRenditionHeight:
			w.buf = strconv.AppendInt(w.buf, int64(height), 10)
		case lRenditionURL:
			w.buf = appendString(w.buf, url)
		}
		return true
	})
}

func (w *listingWriter) writeCollection(cols []listingColumn, col *ent.Collection) {
	w.object(cols, func(c *listingColumn) bool {
		switch c.kind {
		case lCollectionID:
			w.id(col.ID)
		case lCollectionTitle:
			w.buf = appendString(w.buf, col.Title)
		case lCollectionSlug:
			w.buf = appendString(w.buf, col.Slug)
		case lCollectionDescription:
			w.buf = appendString(w.buf, col.Description)
		}
		return true
	})
}

func (w *listingWriter) writeCategory(cols []listingColumn, cat *ent.Category) {
	w.object(cols, func(c *listingColumn) bool {
		switch c.kind {
		case lCategoryID:
			w.id(cat.ID)
		case lCategoryName:
			w.buf = appendString(w.buf, cat.Name)
		case lCategorySlug:
			w.buf = appendString(w.buf, cat.Slug)
		case lCategoryDescription:
			w.buf = appendString(w.buf, cat.Description)
		case lCategoryPosition:
			w.buf = strconv.AppendInt(w.buf, int64(cat.Position), 10)
		}
		return true
	})
}

// id writes an ID as gid.ID.MarshalGQL does: printable ASCII without
// quotes or backslashes (every ID New makes) is copied between quotes
// here, without the string concatenation MarshalGQL allocates; anything
// else is left to MarshalGQL.
func (w *listingWriter) id(id gid.ID) {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			id.MarshalGQL(w)
			return
		}
	}
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, id...)
	w.buf = append(w.buf, '"')
}

// time writes a non-null Time as gqlgen's scalar does (RFC 3339 with
// nanoseconds, quoted; the format has nothing strconv.Quote escapes). A
// zero time is null to gqlgen, an error in a non-null field.
func (w *listingWriter) time(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	w.buf = append(w.buf, '"')
	w.buf = t.AppendFormat(w.buf, time.RFC3339Nano)
	w.buf = append(w.buf, '"')
	return true
}

// appendString appends s quoted and escaped exactly as gqlgen's
// MarshalString writes it: control characters, '"' and '\' escaped,
// everything else (invalid UTF-8 included) copied as it is.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		case '\n':
			b = append(b, '\\', 'n')
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// viewsKey carries the schema's view rules in an operation's context
// (Schema.Exec), so the listing writer knows which fields they check.
type viewsKey struct{}

func withViews(ctx context.Context, v *views) context.Context {
	return context.WithValue(ctx, viewsKey{}, v)
}

// viewsFrom returns the operation's view rules; nil when the schema
// runs without them (then no field is checked, on either path).
func viewsFrom(ctx context.Context) *views {
	v, _ := ctx.Value(viewsKey{}).(*views)
	return v
}
