package commerce

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"frontdesk/ent"
	"frontdesk/ent/discountcode"
	"frontdesk/ent/discountredemption"
	"frontdesk/gid"
)

// A discount code's uses are counted twice: used_count on the code (for
// the overall limit) and one redemption row per order (for the
// per-customer limit). Both are taken when an order is placed (redeem),
// given back when an order is cancelled before it is paid or by staff
// (releaseDiscount), and taken again, without the limits, when a payment
// arrives for an order that had been cancelled (reclaimDiscount): the
// customer paid the discounted price, so the use stands.

// releaseDiscount gives back the use of the order's discount code, inside
// tx. It deletes the order's redemption and lowers the count only when
// that row existed, so it is safe to call twice.
func releaseDiscount(ctx context.Context, tx *ent.Tx, o *ent.Order) error {
	if o.DiscountCodeID == nil {
		return nil
	}
	n, err := tx.DiscountRedemption.Delete().Where(discountredemption.OrderID(o.ID)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("release discount use of %s: %w", o.ID, err)
	}
	if n == 0 {
		return nil
	}
	if err := tx.DiscountCode.Update().Where(discountcode.ID(*o.DiscountCodeID), discountcode.UsedCountGT(0)).
		AddUsedCount(-1).Exec(ctx); err != nil {
		return fmt.Errorf("release discount use of %s: %w", o.ID, err)
	}
	return nil
}

// reclaimDiscount records the use of a cancelled order's discount code
// again when a late payment revives it, whatever the limits say now. A
// cancelled order never holds a use (the cancellation gave it back in the
// same transaction), so there is nothing to check first; the unique index
// on the order id refuses a second row should that ever not hold. (A check
// here could not be trusted anyway: in the webhook's transaction on MySQL
// every table but the locked order row reads as of an earlier snapshot.)
func reclaimDiscount(ctx context.Context, tx *ent.Tx, o *ent.Order) error {
	if o.DiscountCodeID == nil {
		return nil
	}
	d, err := tx.DiscountCode.Get(ctx, *o.DiscountCodeID)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read discount code: %w", err)
	}
	if err := tx.DiscountCode.UpdateOneID(d.ID).AddUsedCount(1).Exec(ctx); err != nil {
		return fmt.Errorf("reclaim discount use of %s: %w", o.ID, err)
	}
	customer := orderCustomer(o)
	c := tx.DiscountRedemption.Create().SetDiscountCodeID(d.ID).SetOrderID(o.ID).SetCustomer(customer)
	if d.PerCustomerLimit != nil {
		seq, err := freeSeq(ctx, tx, d.ID, customer)
		if err != nil {
			return err
		}
		c.SetSeq(seq)
	}
	if err := c.Exec(ctx); err != nil {
		return fmt.Errorf("reclaim discount use of %s: %w", o.ID, err)
	}
	return nil
}

// orderCustomer is the customer key an order's discount use counts
// against (see customerKey): the account, else the guest's email.
func orderCustomer(o *ent.Order) string {
	if o.UserID != nil {
		return string(*o.UserID)
	}
	return strings.ToLower(strings.TrimSpace(o.Email))
}

// freeSeq returns the smallest sequence number the customer has no
// redemption of the code under. Uses given back leave gaps, which are
// filled first, so a released use can be taken again. Two checkouts that
// pick the same number collide on the unique index.
func freeSeq(ctx context.Context, tx *ent.Tx, codeID gid.ID, customer string) (int, error) {
	seqs, err := tx.DiscountRedemption.Query().
		Where(discountredemption.DiscountCodeID(codeID), discountredemption.Customer(customer), discountredemption.SeqNotNil()).
		Select(discountredemption.FieldSeq).Ints(ctx)
	if err != nil {
		return 0, fmt.Errorf("read redemptions: %w", err)
	}
	slices.Sort(seqs)
	next := 1
	for _, s := range seqs {
		if s == next {
			next++
		} else if s > next {
			break
		}
	}
	return next, nil
}
