package catalog

import (
	"context"
	"fmt"

	"frontdesk/ent"
	"frontdesk/ent/product"
	"frontdesk/ent/variant"
	"frontdesk/gid"
)

// SaleVariant is a variant as a cart or an order sees it now: what it is
// called, what it costs and whether it can be sold.
type SaleVariant struct {
	ID           gid.ID
	ProductID    gid.ID
	Title        string // the product's title
	VariantTitle string
	SKU          string
	Price        int64
	Currency     string
	// Available is how many units can still be sold; nil means unlimited.
	Available *int
	// Purchasable is false for draft or archived products.
	Purchasable bool
}

// SaleVariants returns the variants with the given ids that exist, read
// through client: the caller's transaction client, so that a checkout
// prices its lines from the same snapshot it reserves stock in. It is the
// catalog read commerce makes for carts and orders, in one query.
func (s *Service) SaleVariants(ctx context.Context, client *ent.Client, ids []gid.ID) (map[gid.ID]SaleVariant, error) {
	out := make(map[gid.ID]SaleVariant, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	vs, err := client.Variant.Query().Where(variant.IDIn(ids...)).WithProduct().WithInventory().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read variants: %w", err)
	}
	for _, v := range vs {
		p := v.Edges.Product
		inv := v.Edges.Inventory
		out[v.ID] = SaleVariant{
			ID: v.ID, ProductID: v.ProductID, Title: p.Title, VariantTitle: v.Title, SKU: v.Sku,
			Price: v.Price, Currency: v.Currency,
			Available:   Available(inv),
			Purchasable: p.Status == product.StatusACTIVE && inv != nil,
		}
	}
	return out, nil
}
