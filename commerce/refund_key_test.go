package commerce_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"frontdesk/ent/order"
	"frontdesk/identity"
)

// TestRefundIdempotencyKey: a staff client that retries a refund with the
// same key (the first answer lost to a timeout) gets the same order back
// and refunds once; the key reused for another refund is refused and
// changes nothing.
func TestRefundIdempotencyKey(t *testing.T) {
	s := newShop(t)
	staff := staffCtx()
	v := s.variant(3000, 5)
	o := s.paidOrder(v, 2, "") // 7000
	other := s.paidOrder(v, 1, "")
	ctx := context.Background()
	state := func() string {
		got := s.order(o.ID)
		return fmt.Sprintf("requested %d, %d jobs, %d requests", got.RefundRequested,
			len(s.jobs("commerce.refund")), s.client.RefundRequest.Query().CountX(ctx))
	}

	first, err := s.svc.Refund(staff, o.ID, 2500, "one tin arrived dented", "key-1")
	if err != nil || first.RefundRequested != 2500 {
		t.Fatalf("first refund: %v %+v", err, first)
	}
	// The retry, with the reason's spacing changed by the client.
	again, err := s.svc.Refund(staff, o.ID, 2500, " one tin arrived dented ", "key-1")
	if err != nil || again.ID != o.ID || again.RefundRequested != 2500 {
		t.Fatalf("retried refund: %v %+v", err, again)
	}
	if got := state(); got != "requested 2500, 1 jobs, 1 requests" {
		t.Fatalf("after a retry: %s", got)
	}

	// The same key for another refund: another amount, reason or order.
	// Even arguments that would be invalid on their own are refused for
	// the key first, as Stripe does.
	for _, tt := range []struct {
		name   string
		call   func() error
		fields string
	}{
		{"amount", func() error { _, err := s.svc.Refund(staff, o.ID, 1000, "one tin arrived dented", "key-1"); return err }, "idempotencyKey:CONFLICT"},
		{"the rest", func() error { _, err := s.svc.Refund(staff, o.ID, 0, "one tin arrived dented", "key-1"); return err }, "idempotencyKey:CONFLICT"},
		{"reason", func() error { _, err := s.svc.Refund(staff, o.ID, 2500, "two tins", "key-1"); return err }, "idempotencyKey:CONFLICT"},
		{"order", func() error {
			_, err := s.svc.Refund(staff, other.ID, 2500, "one tin arrived dented", "key-1")
			return err
		}, "idempotencyKey:CONFLICT"},
		{"too long", func() error { _, err := s.svc.Refund(staff, o.ID, 100, "x", strings.Repeat("k", 101)); return err }, "idempotencyKey:TOO_LONG"},
	} {
		if got := fields(tt.call()); got != tt.fields {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.fields)
		}
	}
	// A key does not let anyone but staff see or repeat a refund.
	if _, err := s.svc.Refund(customerCtx(), o.ID, 2500, "one tin arrived dented", "key-1"); !errors.Is(err, identity.ErrForbidden) {
		t.Fatalf("customer with the key: %v", err)
	}
	if got := state(); got != "requested 2500, 1 jobs, 1 requests" {
		t.Fatalf("refused reuses of the key wrote: %s", got)
	}
	if got := s.order(other.ID); got.RefundRequested != 0 {
		t.Fatalf("the other order was refunded %d", got.RefundRequested)
	}

	// "The rest" with a key: retried after the order is fully requested,
	// it answers with the order instead of "nothing left to refund".
	if got, err := s.svc.Refund(staff, o.ID, 0, "customer returned the rest", "key-2"); err != nil || got.RefundRequested != 7000 {
		t.Fatalf("refund the rest: %v", err)
	}
	if got, err := s.svc.Refund(staff, o.ID, 0, "customer returned the rest", "key-2"); err != nil || got.RefundRequested != 7000 {
		t.Fatalf("retried refund of the rest: %v", err)
	}
	// A new key is a new refund, and there is nothing left.
	if _, err := s.svc.Refund(staff, o.ID, 0, "customer returned the rest", "key-3"); fields(err) != "amount:INVALID" {
		t.Fatalf("new key, nothing left: %v", err)
	}
	if got := state(); got != "requested 7000, 2 jobs, 2 requests" {
		t.Fatalf("after refunding the rest: %s", got)
	}
	// The money goes back once per request, however often the client asked.
	s.runJobs("commerce.refund")
	if got := s.order(o.ID); got.State != order.StateREFUNDED || got.AmountRefunded != 7000 {
		t.Fatalf("after the jobs: %s refunded %d", got.State, got.AmountRefunded)
	}
	if got, err := s.svc.Refund(staff, o.ID, 2500, "one tin arrived dented", "key-1"); err != nil || got.State != order.StateREFUNDED {
		t.Fatalf("retry once refunded: %v", err)
	}
}

// TestConcurrentRefundsWithOneKeyRefundOnce: ten copies of one request
// (a client retrying over several connections) race; every copy gets the
// order back without an error and exactly one refund is made.
func TestConcurrentRefundsWithOneKeyRefundOnce(t *testing.T) {
	s := newShop(t)
	staff := staffCtx()
	v := s.variant(3000, 5)
	o := s.paidOrder(v, 1, "") // 4000
	const copies = 10
	var wg sync.WaitGroup
	errs := make([]error, copies)
	start := make(chan struct{})
	for i := range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got, err := s.svc.Refund(staff, o.ID, 1500, "damaged in transit", "same-key")
			if err == nil && got.RefundRequested != 1500 {
				err = fmt.Errorf("order shows %d requested", got.RefundRequested)
			}
			errs[i] = err
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("copy %d: %v", i, err)
		}
	}
	got := s.order(o.ID)
	jobs := s.jobs("commerce.refund")
	if got.RefundRequested != 1500 || len(jobs) != 1 || jobs[0]["amount"] != 1500.0 {
		t.Fatalf("requested %d with jobs %v; want one refund of 1500", got.RefundRequested, jobs)
	}
	s.runJobs("commerce.refund")
	if got := s.order(o.ID); got.State != order.StatePARTIALLY_REFUNDED || got.AmountRefunded != 1500 {
		t.Fatalf("after the job: %s refunded %d", got.State, got.AmountRefunded)
	}
}
