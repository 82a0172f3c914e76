package catalog_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"frontdesk/catalog"
	"frontdesk/ent"
	"frontdesk/ent/stockadjustment"
	"frontdesk/gid"
)

// TestRestockAddsUpUnderConcurrency: restocks from cancelled orders and
// sales of the same variant run at once; every unit is accounted for and
// each restock is recorded.
func TestRestockAddsUpUnderConcurrency(t *testing.T) {
	s, db := newService(t)
	ctx := context.Background()
	p := mustProduct(t, s, catalog.ProductInput{Title: ptr("Returned"), Variants: []catalog.VariantInput{variant("RT-1", 100, 5)}})
	vs, err := s.Variants(ctx, p.ID)
	if err != nil || len(vs) != 1 {
		t.Fatal(vs, err)
	}
	id := vs[0].ID
	inTx := func(fn func(tx *ent.Tx) error) error {
		tx, err := db.Client.Tx(ctx)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return errors.Join(err, tx.Rollback())
		}
		return tx.Commit()
	}
	const n = 10
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				err = inTx(func(tx *ent.Tx) error { return s.Restock(ctx, tx, id, 2, "order FD-TEST cancelled") })
			} else {
				err = inTx(func(tx *ent.Tx) error {
					if err := s.Reserve(ctx, tx, id, 1); err != nil {
						return err
					}
					return s.Commit(ctx, tx, id, 1)
				})
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	inv, err := s.Inventory(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// 5 on hand + 5 restocks of 2 − 5 sales of 1.
	if inv.OnHand != 10 || inv.Reserved != 0 {
		t.Fatalf("on hand %d reserved %d, want 10 and 0", inv.OnHand, inv.Reserved)
	}
	adj := db.Client.StockAdjustment.Query().Where(stockadjustment.VariantID(id), stockadjustment.Kind(catalog.KindRestock)).AllX(ctx)
	if len(adj) != n/2 || adj[0].Delta != 2 || adj[0].Reason != "order FD-TEST cancelled" {
		t.Fatalf("restock adjustments %+v", adj)
	}
	if err := inTx(func(tx *ent.Tx) error { return s.Restock(ctx, tx, gid.New("var"), 1, "") }); !errors.Is(err, catalog.ErrVariantNotFound) {
		t.Fatalf("restock of an unknown variant: %v", err)
	}
	if err := inTx(func(tx *ent.Tx) error { return s.Restock(ctx, tx, id, 0, "") }); codes(err)[0] != "INVALID [quantity]" {
		t.Fatalf("restock of 0: %v", err)
	}
}
