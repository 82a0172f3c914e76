package payments_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/webhookevent"
	"frontdesk/internal/testenv"
	"frontdesk/outbox"
	"frontdesk/payments"
)

// TestSweepWebhookEvents: records of events processed more than the
// retention ago are deleted in bounded batches; younger ones are kept, and
// never one younger than 30 days (Stripe can still resend those), whatever
// the caller asks.
func TestSweepWebhookEvents(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	wh := payments.NewWebhooks(db.Client, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	now := time.Now().UTC()
	for i, age := range []int{50, 46, 46, 44, 31, 29, 1} {
		err := db.Client.WebhookEvent.Create().SetProvider("stripe").SetEventID(fmt.Sprintf("evt_%d_days_%d", age, i)).
			SetType("payment_intent.succeeded").SetCreatedAt(now.Add(-time.Duration(age) * 24 * time.Hour)).Exec(ctx)
		if err != nil {
			t.Fatal(err)
		}
	}
	left := func() []string {
		var out []string
		for _, e := range db.Client.WebhookEvent.Query().Order(ent.Asc(webhookevent.FieldCreatedAt)).AllX(ctx) {
			out = append(out, e.EventID)
		}
		return out
	}
	before := now.Add(-45 * 24 * time.Hour)
	if n, err := wh.SweepWebhookEvents(ctx, before, 2); err != nil || n != 2 {
		t.Fatalf("one batch of 2: deleted %d, %v", n, err)
	}
	if n, err := outbox.Drain(ctx, wh.SweepWebhookEvents, before, 2); err != nil || n != 1 {
		t.Fatalf("drain: deleted %d, %v", n, err)
	}
	if got, want := left(), []string{"evt_44_days_3", "evt_31_days_4", "evt_29_days_5", "evt_1_days_6"}; !slices.Equal(got, want) {
		t.Fatalf("after a 45-day sweep: %q, want %q", got, want)
	}
	// Asked to forget everything, it still keeps the last 30 days.
	if _, err := outbox.Drain(ctx, wh.SweepWebhookEvents, now, 2); err != nil {
		t.Fatal(err)
	}
	if got, want := left(), []string{"evt_29_days_5", "evt_1_days_6"}; !slices.Equal(got, want) {
		t.Fatalf("after a sweep of everything: %q, want %q", got, want)
	}
	// A redelivery of a remembered event is still a duplicate.
	calls := 0
	wh.On("payment_intent.succeeded", func(context.Context, *ent.Tx, payments.Event) error { calls++; return nil })
	dup, err := wh.Process(ctx, "stripe", payments.Event{ID: "evt_29_days_5", Type: "payment_intent.succeeded"})
	if err != nil || !dup || calls != 0 {
		t.Fatalf("redelivered event: duplicate %v, %d handler calls, %v", dup, calls, err)
	}
}
