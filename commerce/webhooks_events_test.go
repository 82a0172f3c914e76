package commerce_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"frontdesk/ent"
	"frontdesk/ent/job"
	"frontdesk/payments"
	"frontdesk/webhooks"
)

// refundEvents returns the order.refunded events raised so far, as
// "state<previous:amount".
func (s *shop) refundEvents() []string {
	s.t.Helper()
	jobs, err := s.client.Job.Query().Where(job.Kind(webhooks.KindFanout)).
		Order(ent.Asc(job.FieldCreatedAt), ent.Asc(job.FieldID)).All(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, j := range jobs {
		var ev webhooks.Event
		if err := json.Unmarshal(j.Payload, &ev); err != nil {
			s.t.Fatal(err)
		}
		if ev.Type == webhooks.OrderRefunded {
			amount := int64(-1)
			if ev.Data.AmountRefunded != nil {
				amount = *ev.Data.AmountRefunded
			}
			out = append(out, fmt.Sprintf("%s<%s:%d", ev.Data.State, ev.Data.PreviousState, amount))
		}
	}
	return out
}

// TestEachRefundRaisesItsOwnEvent: order.refunded follows money, not
// states. Each refund recorded raises one, with the cumulative amount,
// including a second partial refund that leaves the order
// PARTIALLY_REFUNDED; a provider report that records nothing new (the
// same event again, or an older, smaller figure) raises none.
func TestEachRefundRaisesItsOwnEvent(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	p, err := s.svc.PlaceOrder(ctx, s.cart(s.variant(1000, 5), 2, ""), "k")
	if err != nil {
		t.Fatal(err)
	}
	o := p.Order
	s.process(s.event("evt_paid", payments.IntentSucceeded, o, 0))
	s.process(s.event("evt_r1", payments.ChargeRefunded, o, 500))
	s.process(s.event("evt_r2", payments.ChargeRefunded, o, 800))
	// No news: a redelivery, and a late report of the first figure.
	s.process(s.event("evt_r2", payments.ChargeRefunded, o, 800))
	s.process(s.event("evt_r1_late", payments.ChargeRefunded, o, 500))
	want := fmt.Sprint([]string{"PARTIALLY_REFUNDED<PAID:500", "PARTIALLY_REFUNDED<PARTIALLY_REFUNDED:800"})
	if got := fmt.Sprint(s.refundEvents()); got != want {
		t.Fatalf("order.refunded events %s, want %s", got, want)
	}
	s.process(s.event("evt_r3", payments.ChargeRefunded, o, o.Total))
	s.process(s.event("evt_r4", payments.ChargeRefunded, o, o.Total))
	want = fmt.Sprint([]string{"PARTIALLY_REFUNDED<PAID:500", "PARTIALLY_REFUNDED<PARTIALLY_REFUNDED:800",
		fmt.Sprintf("REFUNDED<PARTIALLY_REFUNDED:%d", o.Total)})
	if got := fmt.Sprint(s.refundEvents()); got != want {
		t.Fatalf("order.refunded events %s, want %s", got, want)
	}
}
