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
// Responses with errors are never kept. Which queries qualify comes
// from the view rules (Schema.Cacheable); without a Schema nothing is
// kept.
func (c CatalogLoaders) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	op := graphql.GetOperationContext(ctx)
	var withStock bool
	if c.Schema == nil || op.Operation == nil || op.Operation.Operation != ast.Query || !c.Schema.catalogOnly(op.Operation.SelectionSet, true, &withStock) {
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
// field: each field belongs to a type whose view rule is cacheable
// (Schema.Cacheable: the catalog's types and the values and containers
// around them), and each root field returns such a type, so the answer
// depends only on the catalog version and staff-or-not. It sets
// *withStock when a field shows stock.
func (sc *Schema) catalogOnly(set ast.SelectionSet, root bool, withStock *bool) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if root && s.Name != "__typename" && (s.Definition == nil || !sc.Cacheable(s.Definition.Type.Name())) {
				return false
			}
			if s.ObjectDefinition == nil || !sc.Cacheable(s.ObjectDefinition.Name) {
				return false
			}
			if stockFields[s.Name] {
				*withStock = true
			}
			if !sc.catalogOnly(s.SelectionSet, false, withStock) {
				return false
			}
		case *ast.InlineFragment:
			if !sc.catalogOnly(s.SelectionSet, root, withStock) {
				return false
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || !sc.catalogOnly(s.Definition.SelectionSet, root, withStock) {
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
