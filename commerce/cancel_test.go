package commerce_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/catalog"
	"frontdesk/commerce"
	"frontdesk/ent"
	"frontdesk/ent/discountcode"
	"frontdesk/ent/discountredemption"
	"frontdesk/ent/order"
	"frontdesk/ent/orderevent"
	"frontdesk/ent/stockadjustment"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/payments"
)

// limitedCode creates a 10% code usable overall times in all and once per
// customer.
func (s *shop) limitedCode(code string, overall int) *ent.DiscountCode {
	return s.client.DiscountCode.Create().SetCode(code).SetKind("PERCENT").SetValue(1000).
		SetUsageLimit(overall).SetPerCustomerLimit(1).SaveX(context.Background())
}

// uses reports a code's use count and its number of redemption rows.
func (s *shop) uses(d *ent.DiscountCode) (count, rows int) {
	ctx := context.Background()
	return s.client.DiscountCode.GetX(ctx, d.ID).UsedCount,
		s.client.DiscountRedemption.Query().Where(discountredemption.DiscountCodeID(d.ID)).CountX(ctx)
}

func TestCancelPendingReleasesStockAndDiscount(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	v := s.variant(1000, 3)
	d := s.limitedCode("ONCE", 1)
	p, err := s.svc.PlaceOrder(ctx, s.cart(v, 2, "once"), "k")
	if err != nil {
		t.Fatal(err)
	}
	if n, rows := s.uses(d); n != 1 || rows != 1 {
		t.Fatalf("after placing: %d uses, %d rows", n, rows)
	}
	// The code is used up for everyone while the order is pending.
	if _, err := s.svc.PlaceOrder(ctx, s.cart(v, 1, ""), "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.Cancel(staffCtx(), p.Order.ID, ""); fields(err) != "reason:REQUIRED" {
		t.Fatalf("cancel without a reason: %v", err)
	}
	got, err := s.svc.Cancel(staffCtx(), p.Order.ID, "  customer phoned: wrong size  ")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != order.StateCANCELLED || got.Reservation != order.ReservationRELEASED || got.CancelledAt == nil {
		t.Fatalf("cancelled order: %s %s", got.State, got.Reservation)
	}
	if r := s.lastReason(got.ID); !strings.HasPrefix(r, "PENDING_PAYMENT>CANCELLED usr_") || !strings.HasSuffix(r, ": customer phoned: wrong size") {
		t.Fatalf("history %q", r)
	}
	if on, r := s.stock(v); on != 3 || r != 1 {
		t.Fatalf("stock %d/%d, want 3 on hand and the other order's 1 reserved", on, r)
	}
	if n, rows := s.uses(d); n != 0 || rows != 0 {
		t.Fatalf("after cancelling: %d uses, %d rows", n, rows)
	}
	if n := len(s.jobs("commerce.cancel_intent")); n != 1 {
		t.Fatalf("%d intent cancellations", n)
	}
	// The same customer can use the code again, within both limits.
	again, err := s.svc.PlaceOrder(ctx, s.cart(v, 1, "ONCE"), "k2")
	if err != nil || again.Order.DiscountTotal != 100 {
		t.Fatalf("reuse after cancel: %v", err)
	}
	if n, rows := s.uses(d); n != 1 || rows != 1 {
		t.Fatalf("after reuse: %d uses, %d rows", n, rows)
	}
	// Cancelling twice is a conflict and gives nothing back twice.
	if _, err := s.svc.Cancel(staffCtx(), p.Order.ID, "again"); userCode(err) != errcode.Conflict {
		t.Fatalf("second cancel: %v", err)
	}
	if n, _ := s.uses(d); n != 1 {
		t.Fatalf("second cancel changed the uses to %d", n)
	}
}

func TestExpiryGivesBackTheDiscount(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	v := s.variant(1000, 3)
	d := s.limitedCode("LATE", 1)
	p, err := s.svc.PlaceOrder(ctx, s.cart(v, 1, "late"), "k")
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Add(16 * time.Minute)
	if n, err := s.svc.ExpireReservations(ctx, 10); err != nil || n != 1 {
		t.Fatalf("expired %d: %v", n, err)
	}
	if n, err := s.svc.ExpireReservations(ctx, 10); err != nil || n != 0 {
		t.Fatalf("second run expired %d: %v", n, err)
	}
	if got := s.order(p.Order.ID); got.State != order.StateCANCELLED {
		t.Fatalf("expired order is %s", got.State)
	}
	if n, rows := s.uses(d); n != 0 || rows != 0 {
		t.Fatalf("after expiry: %d uses, %d rows", n, rows)
	}
	if _, r := s.stock(v); r != 0 {
		t.Fatalf("reserved %d after expiry", r)
	}
	if _, err := s.svc.PlaceOrder(ctx, s.cart(v, 1, "LATE"), "k2"); err != nil {
		t.Fatalf("reuse after expiry: %v", err)
	}
}

func TestCancelPaidRestocksRefundsAndGivesBackTheDiscount(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	v := s.variant(2000, 5)
	d := s.limitedCode("PAID10", 5)
	o := s.paidOrder(v, 2, "paid10") // 4000 − 400 + 1000 shipping
	if on, r := s.stock(v); on != 3 || r != 0 {
		t.Fatalf("stock after payment %d/%d", on, r)
	}
	// Part of it was refunded already; the cancellation refunds the rest.
	if _, err := s.svc.Refund(staffCtx(), o.ID, 600, "late delivery", ""); err != nil {
		t.Fatal(err)
	}
	// Staff racing each other to cancel: exactly one wins.
	const racers = 5
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.svc.Cancel(staffCtx(), o.ID, fmt.Sprint("out of stock at the warehouse ", i))
			switch {
			case err == nil:
				wins.Add(1)
			case userCode(err) != errcode.Conflict:
				t.Errorf("cancel %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d cancellations won", wins.Load())
	}
	got := s.order(o.ID)
	if got.State != order.StateCANCELLED || got.Reservation != order.ReservationRELEASED || got.RefundRequested != got.Total {
		t.Fatalf("cancelled paid order: %s %s requested %d of %d", got.State, got.Reservation, got.RefundRequested, got.Total)
	}
	if r := s.lastReason(o.ID); !strings.HasPrefix(r, "PAID>CANCELLED usr_") || !strings.Contains(r, "out of stock at the warehouse") {
		t.Fatalf("history %q", r)
	}
	if on, r := s.stock(v); on != 5 || r != 0 {
		t.Fatalf("stock after cancel %d/%d, want 5/0", on, r)
	}
	adj := s.client.StockAdjustment.Query().Where(stockadjustment.VariantID(v), stockadjustment.Kind(catalog.KindRestock)).AllX(ctx)
	if len(adj) != 1 || adj[0].Delta != 2 || !strings.Contains(adj[0].Reason, o.Number) {
		t.Fatalf("restock records %+v", adj)
	}
	jobs := s.jobs("commerce.refund")
	if len(jobs) != 2 || jobs[1]["amount"] != float64(got.Total-600) || jobs[1]["cumulative"] != float64(got.Total) {
		t.Fatalf("refund jobs %v", jobs)
	}
	if n, rows := s.uses(d); n != 0 || rows != 0 {
		t.Fatalf("discount uses after cancel: %d, %d rows", n, rows)
	}
	// The money goes back; the order ends REFUNDED, the stock stays put.
	s.runJobs("commerce.refund")
	if got := s.order(o.ID); got.State != order.StateREFUNDED || got.AmountRefunded != got.Total {
		t.Fatalf("after refunds: %s %d", got.State, got.AmountRefunded)
	}
	if on, r := s.stock(v); on != 5 || r != 0 {
		t.Fatalf("stock after refund %d/%d", on, r)
	}
	// A late duplicate success changes nothing.
	s.process(s.event("evt_dup", payments.IntentSucceeded, got, 0))
	if got := s.order(o.ID); got.State != order.StateREFUNDED {
		t.Fatalf("late success moved the order to %s", got.State)
	}
	if on, _ := s.stock(v); on != 5 {
		t.Fatalf("late success moved stock to %d", on)
	}
}

// TestExpiryRacesLatePayment: the expiry job and a payment webhook for the
// same order run at once. Whichever wins, the order ends PAID with its
// stock sold once, nothing left reserved and its discount use counted
// once. A webhook that loses is retried, as Stripe retries a failed
// delivery.
func TestExpiryRacesLatePayment(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	d := s.client.DiscountCode.Create().SetCode("RACE").SetKind("PERCENT").SetValue(1000).SetPerCustomerLimit(20).SaveX(ctx)
	const rounds = 8
	for i := range rounds {
		v := s.variant(1000, 3)
		p, err := s.svc.PlaceOrder(ctx, s.cart(v, 2, "race"), fmt.Sprint("k", i))
		if err != nil {
			t.Fatal(err)
		}
		s.clock.Add(16 * time.Minute)
		o := p.Order
		ev := s.event(fmt.Sprint("evt_race_", i), payments.IntentSucceeded, o, 0)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := s.svc.ExpireReservations(ctx, 10); err != nil {
				t.Errorf("round %d: expire: %v", i, err)
			}
		}()
		go func() {
			defer wg.Done()
			for attempt := 0; ; attempt++ {
				_, err := s.wh.Process(ctx, "stripe", ev)
				if err == nil {
					return
				}
				if attempt == 20 {
					t.Errorf("round %d: webhook still failing: %v", i, err)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
		wg.Wait()
		got := s.order(o.ID)
		if got.State != order.StatePAID || got.Reservation != order.ReservationCOMMITTED || got.RefundRequested != 0 {
			t.Fatalf("round %d: %s %s refund %d", i, got.State, got.Reservation, got.RefundRequested)
		}
		if on, r := s.stock(v); on != 1 || r != 0 {
			t.Fatalf("round %d: stock %d/%d, want 1/0", i, on, r)
		}
		if n := s.client.DiscountRedemption.Query().Where(discountredemption.OrderID(o.ID)).CountX(ctx); n != 1 {
			var hist []string
			for _, h := range s.client.OrderEvent.Query().Where(orderevent.OrderID(o.ID)).Order(ent.Asc(orderevent.FieldCreatedAt)).AllX(ctx) {
				hist = append(hist, h.FromState+">"+h.ToState+" "+h.Actor+" "+h.Reason)
			}
			t.Fatalf("round %d: %d redemptions for the order; history %q", i, n, hist)
		}
		if n := s.client.DiscountCode.Query().Where(discountcode.ID(d.ID)).OnlyX(ctx).UsedCount; n != i+1 {
			t.Fatalf("round %d: code used %d times, want %d", i, n, i+1)
		}
	}
}

// TestLatePaymentHonoursTheDiscount: an order expires, its discount
// use goes to another customer's order, then the first payment lands with
// stock still there. The payment is honoured (the customer paid the
// discounted price) and the code counts both uses, even past its limit.
func TestLatePaymentHonoursTheDiscount(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	v := s.variant(1000, 5)
	d := s.limitedCode("SOLO", 1)
	late, err := s.svc.PlaceOrder(ctx, s.cart(v, 1, "solo"), "a")
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Add(16 * time.Minute)
	if _, err := s.svc.ExpireReservations(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.PlaceOrder(ctx, s.cartFor("sam@example.com", v, 1, "SOLO"), "b"); err != nil {
		t.Fatalf("second customer: %v", err)
	}
	if err := s.dev.Complete(ctx, *late.Order.PaymentIntentID, true); err != nil {
		t.Fatal(err)
	}
	if got := s.order(late.Order.ID); got.State != order.StatePAID || got.DiscountTotal != 100 {
		t.Fatalf("late payment: %s", got.State)
	}
	if n, rows := s.uses(d); n != 2 || rows != 2 {
		t.Fatalf("uses %d rows %d, want 2 and 2", n, rows)
	}
}

// cartFor is cart with another contact email.
func (s *shop) cartFor(email string, v gid.ID, qty int, code string) string {
	s.t.Helper()
	token := s.cart(v, qty, "")
	if _, err := s.svc.SetCheckoutDetails(context.Background(), token, commerce.CheckoutDetails{Email: &email, DiscountCode: &code}); err != nil {
		s.t.Fatal(err)
	}
	return token
}
