package payments_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/internal/testenv"
	"frontdesk/payments"
)

func TestDevelopmentRefusesProduction(t *testing.T) {
	if _, err := payments.NewDevelopment(true, nil); !errors.Is(err, payments.ErrDevelopmentInProduction) {
		t.Fatalf("err = %v", err)
	}
}

func TestDevelopmentGatewayFlow(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	wh := payments.NewWebhooks(db.Client, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var got []payments.Event
	record := func(_ context.Context, _ *ent.Tx, ev payments.Event) error { got = append(got, ev); return nil }
	wh.On(payments.IntentSucceeded, record)
	wh.On(payments.ChargeRefunded, record)
	dev, err := payments.NewDevelopment(false, wh)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	params := payments.IntentParams{Amount: 2500, Currency: "aud", IdempotencyKey: "k1", Metadata: map[string]string{"order_id": "ord_x"}}
	a, err := dev.CreateIntent(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	b, err := dev.CreateIntent(ctx, params)
	if err != nil || a.ID != b.ID || a.ClientSecret == "" {
		t.Fatalf("same key gave %v and %v (%v)", a, b, err)
	}
	if _, err := dev.CreateIntent(ctx, payments.IntentParams{Amount: 0, Currency: "AUD"}); !errors.Is(err, payments.ErrDeclined) {
		t.Fatalf("zero amount: %v", err)
	}
	if _, err := dev.Refund(ctx, payments.RefundParams{IntentID: a.ID}); err == nil {
		t.Fatal("refund before payment succeeded")
	}
	if err := dev.Complete(ctx, a.ID, true); err != nil {
		t.Fatal(err)
	}
	r, err := dev.Refund(ctx, payments.RefundParams{IntentID: a.ID, Amount: 1000})
	if err != nil || r.Amount != 1000 {
		t.Fatalf("refund = %+v, %v", r, err)
	}
	if len(got) != 2 || got[0].Type != payments.IntentSucceeded || got[0].Metadata["order_id"] != "ord_x" ||
		got[1].Type != payments.ChargeRefunded || got[1].AmountRefunded != 1000 {
		t.Fatalf("events = %+v", got)
	}
}

// TestDevelopmentRefundIsIdempotent: a refund retried with its idempotency
// key (an outbox job that ran twice) refunds once, as Stripe does, and
// its event reaches the handlers once.
func TestDevelopmentRefundIsIdempotent(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	wh := payments.NewWebhooks(db.Client, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var refunded []int64
	wh.On(payments.ChargeRefunded, func(_ context.Context, _ *ent.Tx, ev payments.Event) error {
		refunded = append(refunded, ev.AmountRefunded)
		return nil
	})
	dev, err := payments.NewDevelopment(false, wh)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in, err := dev.CreateIntent(ctx, payments.IntentParams{Amount: 4000, Currency: "AUD", IdempotencyKey: "ord_1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.Complete(ctx, in.ID, true); err != nil {
		t.Fatal(err)
	}
	first, err := dev.Refund(ctx, payments.RefundParams{IntentID: in.ID, Amount: 1000, IdempotencyKey: "refund-1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := dev.Refund(ctx, payments.RefundParams{IntentID: in.ID, Amount: 1000, IdempotencyKey: "refund-1"})
	if err != nil || again != first {
		t.Fatalf("retried refund = %+v (%v), first %+v", again, err, first)
	}
	second, err := dev.Refund(ctx, payments.RefundParams{IntentID: in.ID, Amount: 500, IdempotencyKey: "refund-2"})
	if err != nil || second.Amount != 500 || second.ID == first.ID {
		t.Fatalf("second refund = %+v (%v)", second, err)
	}
	if len(refunded) != 2 || refunded[0] != 1000 || refunded[1] != 1500 {
		t.Fatalf("charge.refunded amounts seen by handlers = %v, want [1000 1500]", refunded)
	}
}
