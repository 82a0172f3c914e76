package commerce

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"frontdesk/commerce/address"
	"frontdesk/database"
	"frontdesk/ent/order"
	"frontdesk/internal/testenv"
	"frontdesk/outbox"
	"frontdesk/payments"
)

// refundsGateway records the refunds it is asked for.
type refundsGateway struct {
	mu      sync.Mutex
	amounts []int64
}

func (g *refundsGateway) Name() string { return "test" }
func (g *refundsGateway) CreateIntent(context.Context, payments.IntentParams) (payments.Intent, error) {
	return payments.Intent{ID: "pi_test"}, nil
}
func (g *refundsGateway) CancelIntent(context.Context, string, string) error { return nil }
func (g *refundsGateway) Refund(_ context.Context, p payments.RefundParams) (payments.Refund, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.amounts = append(g.amounts, p.Amount)
	return payments.Refund{ID: "re_test", Amount: p.Amount, Status: "succeeded"}, nil
}

// TestRefundJobsLandInOrder: a refund job that runs before an earlier one
// of the same order has landed moves no money and records nothing; it
// succeeds on a later attempt. A job whose refund is already recorded does
// not refund again.
func TestRefundJobsLandInOrder(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	gw := &refundsGateway{}
	s := New(db.Client, nil, gw, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	addr := address.Address{Name: "Pat Lee", Line1: "1 George St", City: "Sydney", PostalCode: "2000", Country: "AU"}
	o := db.Client.Order.Create().SetNumber("FD-TESTREF1").SetIdempotencyKey("k").SetEmail("pat@example.com").
		SetShippingAddress(addr).SetBillingAddress(addr).SetSubtotal(7000).SetDiscountTotal(0).SetShippingTotal(0).
		SetTaxTotal(0).SetTotal(7000).SetCurrency("AUD").SetState(order.StatePAID).SetReservation(order.ReservationCOMMITTED).
		SetReservedUntil(now).SetPaymentIntentID("pi_test").SetPaidAt(now).SetRefundRequested(7000).SaveX(ctx)
	job := func(amount, cumulative int64) *outbox.Running {
		b, err := json.Marshal(refundJob{OrderID: o.ID, Amount: amount, Cumulative: cumulative, Reason: "requested_by_customer"})
		if err != nil {
			t.Fatal(err)
		}
		return &outbox.Running{Kind: kindRefund, Payload: b, IdempotencyKey: fmt.Sprintf("refund:%s:%d", o.ID, cumulative)}
	}
	first, second := job(2500, 2500), job(4500, 7000)
	check := func(step string, refunds []int64, refunded int64, state order.State) {
		t.Helper()
		got := db.Client.Order.GetX(ctx, o.ID)
		if !slices.Equal(gw.amounts, refunds) || got.AmountRefunded != refunded || got.State != state {
			t.Fatalf("%s: gateway refunds %v, recorded %d, %s; want %v, %d, %s", step, gw.amounts, got.AmountRefunded, got.State, refunds, refunded, state)
		}
	}
	err := s.runRefund(ctx, second)
	if err == nil || outbox.IsPermanent(err) {
		t.Fatalf("second refund ahead of the first: %v, want a retryable error", err)
	}
	check("second first", nil, 0, order.StatePAID)
	if err := s.runRefund(ctx, first); err != nil {
		t.Fatal(err)
	}
	check("first", []int64{2500}, 2500, order.StatePARTIALLY_REFUNDED)
	if err := s.runRefund(ctx, second); err != nil {
		t.Fatal(err)
	}
	check("second", []int64{2500, 4500}, 7000, order.StateREFUNDED)
	if err := s.runRefund(ctx, first); err != nil {
		t.Fatal(err)
	}
	check("first again", []int64{2500, 4500}, 7000, order.StateREFUNDED)
}
