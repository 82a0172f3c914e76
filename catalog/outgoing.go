package catalog

import (
	"context"
	"fmt"

	"frontdesk/ent"
	"frontdesk/ent/inventory"
	"frontdesk/ent/product"
	"frontdesk/gid"
	"frontdesk/webhooks"
)

// LowStock is the sellable quantity at or below which stock.low is raised.
const LowStock = 5

// emitStock raises stock.low or stock.out when a change of change units
// (negative: fewer sellable) takes a variant's sellable stock across
// LowStock or to zero, in the change's transaction. Only crossings raise
// an event, so selling the last few units one by one does not repeat it.
func emitStock(ctx context.Context, tx *ent.Tx, variantID gid.ID, change int) error {
	if change >= 0 {
		return nil
	}
	inv, err := tx.Inventory.Query().Where(inventory.VariantID(variantID)).Only(ctx)
	if err != nil {
		return fmt.Errorf("read inventory: %w", err)
	}
	after := Available(inv)
	if after == nil {
		return nil // unlimited
	}
	before := *after - change
	data := webhooks.Data{VariantID: variantID, Available: after}
	switch {
	case *after == 0 && before > 0:
		return webhooks.Emit(ctx, tx, webhooks.StockOut, data)
	case *after <= LowStock && before > LowStock:
		return webhooks.Emit(ctx, tx, webhooks.StockLow, data)
	}
	return nil
}

// emitProduct raises product.created, .updated or .archived.
func emitProduct(ctx context.Context, tx *ent.Tx, p *ent.Product, t webhooks.EventType) error {
	return webhooks.Emit(ctx, tx, t, webhooks.Data{ProductID: p.ID, State: string(p.Status)})
}

// productChange names the event of an update from status was to p.
func productChange(was product.Status, p *ent.Product) webhooks.EventType {
	if p.Status == product.StatusARCHIVED && was != product.StatusARCHIVED {
		return webhooks.ProductArchived
	}
	return webhooks.ProductUpdated
}
