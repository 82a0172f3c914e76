package commerce_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/cart"
	"frontdesk/gid"
	"frontdesk/outbox"
)

// TestSweepCarts: guest carts never ordered and unchanged (cart and lines)
// for longer than the retention are deleted with their lines, in bounded
// batches; customers' carts, ordered carts and carts still in use are
// kept.
func TestSweepCarts(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	v := s.variant(1000, 5)
	now := time.Now().UTC()
	ago := func(days int) time.Time { return now.Add(-time.Duration(days) * 24 * time.Hour) }
	for _, c := range []struct {
		label   string
		changed time.Time
		lineAt  time.Time // zero: no line
		user    bool
		ordered bool
	}{
		{"guest, abandoned 40 days", ago(40), ago(40), false, false},
		{"guest, abandoned 31 days, empty", ago(31), time.Time{}, false, false},
		{"guest, abandoned 35 days", ago(35), ago(36), false, false},
		{"guest, line changed yesterday", ago(40), ago(1), false, false},
		{"guest, changed yesterday", ago(1), ago(40), false, false},
		{"customer, untouched 40 days", ago(40), ago(40), true, false},
		{"guest, ordered 40 days ago", ago(40), ago(40), false, true},
	} {
		cr := s.client.Cart.Create().SetCurrency("AUD").SetEmail(c.label).SetCreatedAt(c.changed).SetUpdatedAt(c.changed)
		if c.user {
			cr.SetUserID(gid.New("usr"))
		} else {
			cr.SetTokenHash(c.label)
		}
		if c.ordered {
			cr.SetOrderID(gid.New("ord"))
		}
		saved := cr.SaveX(ctx)
		if !c.lineAt.IsZero() {
			s.client.CartLine.Create().SetCartID(saved.ID).SetVariantID(v).SetQuantity(1).SetUnitPriceSeen(1000).
				SetCreatedAt(c.lineAt).SetUpdatedAt(c.lineAt).ExecX(ctx)
		}
	}
	left := func() []string {
		var out []string
		for _, c := range s.client.Cart.Query().Order(ent.Asc(cart.FieldEmail)).AllX(ctx) {
			out = append(out, c.Email)
		}
		return out
	}
	before := now.Add(-30 * 24 * time.Hour)
	if n, err := s.svc.SweepCarts(ctx, before, 2); err != nil || n != 2 {
		t.Fatalf("one batch of 2: deleted %d, %v", n, err)
	}
	if got := len(left()); got != 5 {
		t.Fatalf("%d carts after one batch of 2, want 5", got)
	}
	if n, err := outbox.Drain(ctx, s.svc.SweepCarts, before, 2); err != nil || n != 1 {
		t.Fatalf("drain: deleted %d, %v", n, err)
	}
	want := []string{"customer, untouched 40 days", "guest, changed yesterday", "guest, line changed yesterday", "guest, ordered 40 days ago"}
	if got := left(); !slices.Equal(got, want) {
		t.Fatalf("carts left %q, want %q", got, want)
	}
	// The deleted carts' lines went with them.
	if n := s.client.CartLine.Query().CountX(ctx); n != 4 {
		t.Fatalf("%d cart lines left, want the 4 of the kept carts", n)
	}
}
