package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

var _ graphql.ResponseInterceptor = CatalogLoaders{}

// catalogRoots are the Query fields whose answers depend only on the
// catalog (its version) and on whether the viewer is staff.
var catalogRoots = map[string]bool{
	"products": true, "product": true, "categories": true, "collections": true, "collection": true, "__typename": true,
}

// catalogTypes are the object types such a query may reach. A field added
// to one of them must stay a function of catalog data and staff-or-not
// (no per-user, per-request or time-dependent values), or its type must
// leave this list.
var catalogTypes = map[string]bool{
	"Query": true, "ProductConnection": true, "ProductEdge": true, "PageInfo": true,
	"Product": true, "Variant": true, "Inventory": true, "ProductOption": true, "SelectedOption": true,
	"ProductImage": true, "ImageRendition": true, "PriceRange": true, "Money": true,
	"Category": true, "Collection": true,
}

// stockFields are the catalog fields whose values change with every sale
// (or, for products, whose rows can: the inStock filter). A response with
// any of them is kept under the stock version too, so a reservation, sale,
// release or restock retires it at once.
var stockFields = map[string]bool{
	"stockLevel": true, "availableForSale": true, "inventory": true, "inStock": true, "products": true,
}

// InterceptResponse answers queries made only of catalog reads (the
// storefront listing, product pages, the category tree) with the bytes
// an identical earlier query produced, kept in this process under the
// catalog version (and the stock version when it shows stock) and the
// viewer's visibility, so a hot listing skips resolving and serialising
// hundreds of fields. The versions are still read from the shared cache on
// every request: a write or sale on any replica is seen by the next read.
// Responses with errors are never kept.
func (c CatalogLoaders) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	op := graphql.GetOperationContext(ctx)
	var withStock bool
	if op.Operation == nil || op.Operation.Operation != ast.Query || !catalogOnly(op.Operation.SelectionSet, true, &withStock) {
		return next(ctx)
	}
	key, ok := responseKey(op)
	if !ok {
		return next(ctx)
	}
	if b, ok := c.Catalog.CachedResponse(ctx, key, withStock); ok {
		return &graphql.Response{Data: b}
	}
	resp := next(ctx)
	if resp != nil && len(resp.Errors) == 0 && len(resp.Extensions) == 0 && resp.HasNext == nil && len(resp.Data) > 0 {
		c.Catalog.CacheResponse(ctx, key, withStock, resp.Data)
	}
	return resp
}

// catalogOnly reports whether every field of set (and below) is a catalog
// field: a catalog root at the top, catalog object types all the way down.
// It sets *withStock when a field shows stock.
func catalogOnly(set ast.SelectionSet, root bool, withStock *bool) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if root && !catalogRoots[s.Name] {
				return false
			}
			if s.ObjectDefinition == nil || !catalogTypes[s.ObjectDefinition.Name] {
				return false
			}
			if stockFields[s.Name] {
				*withStock = true
			}
			if !catalogOnly(s.SelectionSet, false, withStock) {
				return false
			}
		case *ast.InlineFragment:
			if !catalogOnly(s.SelectionSet, root, withStock) {
				return false
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || !catalogOnly(s.Definition.SelectionSet, root, withStock) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// responseKey identifies the response of op apart from the catalog
// version and viewer: the document, the operation chosen and the
// variables.
func responseKey(op *graphql.OperationContext) (string, bool) {
	vars, err := json.Marshal(op.Variables) // map keys come out sorted
	if err != nil {
		return "", false
	}
	h := sha256.New()
	h.Write([]byte(op.RawQuery))
	h.Write([]byte{0})
	h.Write([]byte(op.OperationName))
	h.Write([]byte{0})
	h.Write(vars)
	return hex.EncodeToString(h.Sum(nil)[:16]), true
}
