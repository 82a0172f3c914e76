package commerce

import (
	"context"
	"fmt"

	"frontdesk/catalog"
	"frontdesk/ent"
	"frontdesk/ent/product"
	"frontdesk/ent/variant"
	"frontdesk/gid"
)

// CatalogAdapter gives commerce the catalog's variants and its stock
// moves (conditional UPDATEs in the caller's transaction).
type CatalogAdapter struct{ *catalog.Service }

// Variants implements Catalog.
func (a CatalogAdapter) Variants(ctx context.Context, client *ent.Client, ids []gid.ID) (map[gid.ID]Variant, error) {
	out := make(map[gid.ID]Variant, len(ids))
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
		out[v.ID] = Variant{
			ID: v.ID, ProductID: v.ProductID, Title: p.Title, VariantTitle: v.Title, SKU: v.Sku,
			Price: v.Price, Currency: v.Currency,
			Available:   catalog.Available(inv),
			Purchasable: p.Status == product.StatusACTIVE && inv != nil,
		}
	}
	return out, nil
}
