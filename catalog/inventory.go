package catalog

import (
	"context"
	"errors"
	"fmt"

	"entgo.io/ent/dialect/sql"

	"frontdesk/ent"
	"frontdesk/ent/inventory"
	"frontdesk/ent/predicate"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/text"
)

// Stock adjustment kinds.
const (
	KindSet     = "SET"
	KindAdjust  = "ADJUST"
	KindReserve = "RESERVE"
	KindRelease = "RELEASE"
	KindCommit  = "COMMIT"
	KindRestock = "RESTOCK"
)

// available is the SQL condition "this inventory can give up qty units":
// untracked or backorderable stock always can, tracked stock only when
// what is on hand and not yet reserved covers it. It runs inside the
// UPDATE, so the database decides, atomically, across replicas.
func available(qty int) predicate.Inventory {
	return inventory.Or(
		inventory.Tracked(false),
		inventory.AllowBackorder(true),
		predicate.Inventory(func(s *sql.Selector) {
			s.Where(sql.ExprP(s.C(inventory.FieldOnHand)+" - "+s.C(inventory.FieldReserved)+" >= ?", qty))
		}),
	)
}

// Reserve, Release, Commit and Restock are the only ways stock changes
// outside an admin edit; each replaces the stock version once the
// caller's transaction commits, so no cached listing shows the old stock.

// Reserve sets qty units of a variant aside for a checkout, inside the
// caller's transaction. It fails with an OUT_OF_STOCK user error when the
// stock cannot cover it; nothing changes then.
func (s *Service) Reserve(ctx context.Context, tx *ent.Tx, variantID gid.ID, qty int) error {
	if qty <= 0 {
		return errcode.Invalidf(errcode.Invalid, "quantity", "quantity must be positive")
	}
	n, err := tx.Inventory.Update().
		Where(inventory.VariantID(variantID), available(qty)).
		AddReserved(qty).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("reserve stock: %w", err)
	}
	if n == 0 {
		if err := s.inventoryExists(ctx, tx, variantID); err != nil {
			return err
		}
		return errcode.Invalidf(errcode.OutOfStock, "quantity", "not enough stock for this variant")
	}
	s.stockChangedOnCommit(tx)
	if err := s.record(ctx, tx, variantID, KindReserve, 0, "reserved for checkout"); err != nil {
		return err
	}
	return emitStock(ctx, tx, variantID, -qty)
}

// Release returns qty reserved units to sale, for an abandoned or expired
// checkout.
func (s *Service) Release(ctx context.Context, tx *ent.Tx, variantID gid.ID, qty int) error {
	if qty <= 0 {
		return errcode.Invalidf(errcode.Invalid, "quantity", "quantity must be positive")
	}
	n, err := tx.Inventory.Update().
		Where(inventory.VariantID(variantID), inventory.ReservedGTE(qty)).
		AddReserved(-qty).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("release stock: %w", err)
	}
	if n == 0 {
		if err := s.inventoryExists(ctx, tx, variantID); err != nil {
			return err
		}
		return errcode.Invalidf(errcode.Conflict, "quantity", "fewer units are reserved than released")
	}
	s.stockChangedOnCommit(tx)
	return s.record(ctx, tx, variantID, KindRelease, 0, "reservation released")
}

// Commit turns qty reserved units into a sale: they leave both the
// reservation and the stock on hand.
func (s *Service) Commit(ctx context.Context, tx *ent.Tx, variantID gid.ID, qty int) error {
	if qty <= 0 {
		return errcode.Invalidf(errcode.Invalid, "quantity", "quantity must be positive")
	}
	n, err := tx.Inventory.Update().
		Where(inventory.VariantID(variantID), inventory.ReservedGTE(qty)).
		AddReserved(-qty).
		AddOnHand(-qty).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("commit stock: %w", err)
	}
	if n == 0 {
		if err := s.inventoryExists(ctx, tx, variantID); err != nil {
			return err
		}
		return errcode.Invalidf(errcode.Conflict, "quantity", "fewer units are reserved than committed")
	}
	s.stockChangedOnCommit(tx)
	return s.record(ctx, tx, variantID, KindCommit, -qty, "sold")
}

// Restock puts qty sold units back on hand inside the caller's
// transaction, for a paid order cancelled before it shipped. It is one
// conditional UPDATE (the row must exist), so concurrent sales and
// restocks add up. A variant deleted since the sale reports
// ErrVariantNotFound: there is nothing to put the units back on.
func (s *Service) Restock(ctx context.Context, tx *ent.Tx, variantID gid.ID, qty int, reason string) error {
	if qty <= 0 {
		return errcode.Invalidf(errcode.Invalid, "quantity", "quantity must be positive")
	}
	n, err := tx.Inventory.Update().
		Where(inventory.VariantID(variantID)).
		AddOnHand(qty).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("restock: %w", err)
	}
	if n == 0 {
		return ErrVariantNotFound
	}
	if reason == "" {
		reason = "returned to stock"
	}
	s.stockChangedOnCommit(tx)
	return s.record(ctx, tx, variantID, KindRestock, qty, reason)
}

func (s *Service) inventoryExists(ctx context.Context, tx *ent.Tx, variantID gid.ID) error {
	ok, err := tx.Inventory.Query().Where(inventory.VariantID(variantID)).Exist(ctx)
	if err != nil {
		return fmt.Errorf("find inventory: %w", err)
	}
	if !ok {
		return ErrVariantNotFound
	}
	return nil
}

// record writes a stock adjustment with the on-hand figure after the change.
func (s *Service) record(ctx context.Context, tx *ent.Tx, variantID gid.ID, kind string, delta int, reason string) error {
	inv, err := tx.Inventory.Query().Where(inventory.VariantID(variantID)).Only(ctx)
	if err != nil {
		return fmt.Errorf("read inventory: %w", err)
	}
	_, err = tx.StockAdjustment.Create().
		SetVariantID(variantID).
		SetKind(kind).
		SetDelta(delta).
		SetOnHandAfter(inv.OnHand).
		SetReason(reason).
		SetNillableActorID(actorID(ctx)).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("record stock adjustment: %w", err)
	}
	return nil
}

// StockChange is an admin's change of a variant's stock.
type StockChange struct {
	VariantID gid.ID
	// Set replaces the quantity on hand; otherwise Delta is added to it.
	Set            *int
	Delta          int
	Reason         string
	Tracked        *bool
	AllowBackorder *bool
}

// ChangeStock sets or adjusts a variant's stock and records why. A
// decrease can never take on-hand stock below what is reserved.
func (s *Service) ChangeStock(ctx context.Context, in StockChange) (*ent.Inventory, error) {
	if _, err := identity.Require(ctx, identity.ManageCatalog); err != nil {
		return nil, err
	}
	var errs errcode.UserErrors
	if len(in.Reason) == 0 {
		errs = append(errs, errcode.Invalidf(errcode.Required, "reason", "say why the stock changes"))
	}
	text.Check(&errs, text.MultiLine, "reason", in.Reason, 500)
	if in.Set != nil && *in.Set < 0 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "set", "stock on hand cannot be negative"))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	var out *ent.Inventory
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		if err := s.inventoryExists(ctx, tx, in.VariantID); err != nil {
			return errcode.Invalidf(errcode.Missing, "variantId", "no variant with this ID")
		}
		upd := tx.Inventory.Update().Where(inventory.VariantID(in.VariantID))
		kind, delta := KindAdjust, in.Delta
		if in.Set != nil {
			kind = KindSet
			cur, err := tx.Inventory.Query().Where(inventory.VariantID(in.VariantID)).Modify(s.lock).Only(ctx)
			if err != nil {
				return fmt.Errorf("lock inventory: %w", err)
			}
			delta = *in.Set - cur.OnHand
		}
		if delta < 0 {
			// The same guard as Reserve: the database refuses a decrease
			// that would leave reservations uncovered.
			upd = upd.Where(predicate.Inventory(func(s *sql.Selector) {
				s.Where(sql.ExprP(s.C(inventory.FieldOnHand)+" + ? >= "+s.C(inventory.FieldReserved), delta))
			}))
		}
		upd = upd.AddOnHand(delta).SetNillableTracked(in.Tracked).SetNillableAllowBackorder(in.AllowBackorder)
		n, err := upd.Save(ctx)
		if err != nil {
			return fmt.Errorf("change stock: %w", err)
		}
		if n == 0 {
			return errcode.Invalidf(errcode.Conflict, "delta", "stock on hand cannot go below what is reserved for checkouts")
		}
		if err := s.record(ctx, tx, in.VariantID, kind, delta, in.Reason); err != nil {
			return err
		}
		if err := emitStock(ctx, tx, in.VariantID, delta); err != nil {
			return err
		}
		out, err = tx.Inventory.Query().Where(inventory.VariantID(in.VariantID)).Only(ctx)
		return err
	})
	if err != nil {
		var ue *errcode.UserError
		if errors.As(err, &ue) {
			return nil, errcode.UserErrors{ue}
		}
		return nil, err
	}
	return out, nil
}

// Available is the number of units a variant can still sell; nil means
// unlimited (untracked or backorders allowed).
func Available(inv *ent.Inventory) *int {
	if inv == nil || !inv.Tracked || inv.AllowBackorder {
		return nil
	}
	n := max(inv.OnHand-inv.Reserved, 0)
	return &n
}

// InStock reports whether a variant can be bought now.
func InStock(inv *ent.Inventory) bool {
	if inv == nil {
		return false
	}
	a := Available(inv)
	return a == nil || *a > 0
}
