package commerce_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/commerce"
	"frontdesk/ent"
	"frontdesk/ent/job"
	"frontdesk/ent/order"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
	"frontdesk/notify"
	"frontdesk/outbox"
)

// paidOrder places and pays an order of qty units of v.
func (s *shop) paidOrder(v gid.ID, qty int, code string) *ent.Order {
	s.t.Helper()
	p, err := s.svc.PlaceOrder(context.Background(), s.cart(v, qty, code), "k")
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.dev.Complete(context.Background(), *p.Order.PaymentIntentID, true); err != nil {
		s.t.Fatal(err)
	}
	o := s.order(p.Order.ID)
	if o.State != order.StatePAID {
		s.t.Fatalf("order is %s, want PAID", o.State)
	}
	return o
}

// lastReason is the reason of the order's latest history entry.
func (s *shop) lastReason(id gid.ID) string {
	hist, err := s.svc.History(context.Background(), s.order(id))
	if err != nil || len(hist) == 0 {
		s.t.Fatalf("history: %v", err)
	}
	h := hist[len(hist)-1]
	return h.FromState + ">" + h.ToState + " " + h.Actor + ": " + h.Reason
}

// jobs returns the payloads of the jobs of a kind, oldest first.
func (s *shop) jobs(kind string) []map[string]any {
	var out []map[string]any
	for _, j := range s.client.Job.Query().Where(job.Kind(kind)).Order(ent.Asc(job.FieldCreatedAt), ent.Asc(job.FieldID)).AllX(context.Background()) {
		var m map[string]any
		if err := json.Unmarshal(j.Payload, &m); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// runJobs runs an outbox worker with the commerce jobs until no job of
// the given kinds is pending or running.
func (s *shop) runJobs(kinds ...string) {
	s.t.Helper()
	reg := outbox.NewRegistry()
	s.svc.Register(reg)
	// One at a time, so each refund lands before the next is recorded and
	// the order's steps are predictable.
	for _, k := range kinds {
		if err := reg.SetConcurrency(k, 1); err != nil {
			s.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := outbox.NewWorker(s.client, reg, outbox.Options{Dialect: s.db.Dialect, PollInterval: 20 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			s.t.Error(err)
		}
	}()
	testenv.Eventually(s.t, 30*time.Second, fmt.Sprintf("jobs %v done", kinds), func() bool {
		return s.client.Job.Query().Where(job.KindIn(kinds...), job.StateIn(job.StatePENDING, job.StateRUNNING)).CountX(context.Background()) == 0
	})
}

func TestFulfilAndDeliver(t *testing.T) {
	s := newShop(t, func(o *commerce.Options) { o.OrderURL = "https://shop.example.com/orders/%s" })
	staff := staffCtx()
	v := s.variant(2000, 5)
	o := s.paidOrder(v, 1, "")
	// Invalid input is refused field by field and changes nothing.
	_, err := s.svc.Fulfil(staff, o.ID, commerce.Fulfilment{Carrier: strings.Repeat("c", 101), TrackingURL: "http://track.example/1"})
	if got := fields(err); got != "carrier:TOO_LONG trackingUrl:INVALID" {
		t.Fatalf("invalid fulfilment: %q", got)
	}
	if got := s.order(o.ID); got.State != order.StatePAID || got.Carrier != "" {
		t.Fatalf("refused fulfilment wrote %s %q", got.State, got.Carrier)
	}
	got, err := s.svc.Fulfil(staff, o.ID, commerce.Fulfilment{Carrier: " AusPost ", TrackingNumber: "AP123456", TrackingURL: "https://auspost.example/AP123456"})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != order.StateFULFILLED || got.Carrier != "AusPost" || got.TrackingNumber != "AP123456" || got.FulfilledAt == nil {
		t.Fatalf("fulfilled order: %s %q %q", got.State, got.Carrier, got.TrackingNumber)
	}
	if r := s.lastReason(o.ID); !strings.HasPrefix(r, "PAID>FULFILLED usr_") || !strings.HasSuffix(r, "shipped with AusPost") {
		t.Fatalf("history: %q", r)
	}
	var shipped map[string]any
	for _, m := range s.jobs(notify.KindEmail) {
		if m["kind"] == "order_shipped" {
			shipped = m
		}
	}
	if shipped == nil {
		t.Fatal("no shipped email enqueued")
	}
	data, _ := shipped["data"].(map[string]any)
	if shipped["to"] != "pat@example.com" || data["trackingNumber"] != "AP123456" || data["carrier"] != "AusPost" ||
		data["link"] != "https://auspost.example/AP123456" || data["orderNumber"] != o.Number {
		t.Fatalf("shipped email %v", shipped)
	}
	// The confirmation links to the order page built from OrderURL.
	for _, m := range s.jobs(notify.KindEmail) {
		if m["kind"] == "order_confirmation" {
			if d := m["data"].(map[string]any); d["link"] != "https://shop.example.com/orders/"+o.Number {
				t.Fatalf("confirmation link %v", d["link"])
			}
		}
	}
	// Fulfilling again corrects the tracking details without a second
	// email; fulfilling an unpaid order is a conflict.
	if got, err := s.svc.Fulfil(staff, o.ID, commerce.Fulfilment{Carrier: "AusPost", TrackingNumber: "AP999"}); err != nil || got.TrackingNumber != "AP999" {
		t.Fatalf("second fulfil: %v", err)
	}
	var mails int
	for _, m := range s.jobs(notify.KindEmail) {
		if m["kind"] == "order_shipped" {
			mails++
		}
	}
	if mails != 1 {
		t.Fatalf("%d shipped emails, want 1", mails)
	}
	p, err := s.svc.PlaceOrder(context.Background(), s.cart(v, 1, ""), "u")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.Fulfil(staff, p.Order.ID, commerce.Fulfilment{}); userCode(err) != errcode.Conflict {
		t.Fatalf("fulfil unpaid: %v", err)
	}
	if got, err := s.svc.MarkDelivered(staff, o.ID); err != nil || got.State != order.StateDELIVERED || got.DeliveredAt == nil {
		t.Fatalf("deliver: %v", err)
	}
	// A shipped order cannot be cancelled, only refunded.
	if _, err := s.svc.Cancel(staff, o.ID, "changed mind"); userCode(err) != errcode.Conflict {
		t.Fatalf("cancel delivered: %v", err)
	}
}

func TestRefundsFullAndPartial(t *testing.T) {
	s := newShop(t)
	staff := staffCtx()
	v := s.variant(3000, 5)
	o := s.paidOrder(v, 2, "") // 6000 + 1000 shipping
	if o.Total != 7000 {
		t.Fatalf("total %d", o.Total)
	}
	tests := []struct {
		amount int64
		reason string
		want   string
	}{
		{-1, "x", "amount:INVALID"},
		{7001, "x", "amount:INVALID"},
		{100, "", "reason:REQUIRED"},
		{100, strings.Repeat("r", 501), "reason:TOO_LONG"},
	}
	for _, tt := range tests {
		if _, err := s.svc.Refund(staff, o.ID, tt.amount, tt.reason, ""); fields(err) != tt.want {
			t.Errorf("refund %d %q: %q, want %q", tt.amount, tt.reason, fields(err), tt.want)
		}
	}
	if got := s.order(o.ID); got.RefundRequested != 0 || len(s.jobs("commerce.refund")) != 0 {
		t.Fatalf("refused refunds wrote: requested %d", got.RefundRequested)
	}
	got, err := s.svc.Refund(staff, o.ID, 2500, "one tin arrived dented", "")
	if err != nil || got.RefundRequested != 2500 || got.State != order.StatePAID {
		t.Fatalf("partial refund: %v %+v", err, got)
	}
	if r := s.lastReason(o.ID); !strings.Contains(r, "refund of 2500 AUD requested: one tin arrived dented") {
		t.Fatalf("history %q", r)
	}
	// More than what is left is refused; the rest (0 = all that is left)
	// is accepted.
	if _, err := s.svc.Refund(staff, o.ID, 4501, "x", ""); fields(err) != "amount:INVALID" {
		t.Fatalf("over-refund: %v", err)
	}
	if got, err = s.svc.Refund(staff, o.ID, 0, "customer returned the rest", ""); err != nil || got.RefundRequested != 7000 {
		t.Fatalf("refund the rest: %v", err)
	}
	if _, err := s.svc.Refund(staff, o.ID, 0, "again", ""); fields(err) != "amount:INVALID" {
		t.Fatalf("nothing left to refund: %v", err)
	}
	jobs := s.jobs("commerce.refund")
	if len(jobs) != 2 || jobs[0]["amount"] != 2500.0 || jobs[1]["amount"] != 4500.0 || jobs[1]["cumulative"] != 7000.0 {
		t.Fatalf("refund jobs %v", jobs)
	}
	// The worker returns the money through the gateway; the order follows.
	s.runJobs("commerce.refund")
	got = s.order(o.ID)
	if got.State != order.StateREFUNDED || got.AmountRefunded != 7000 {
		t.Fatalf("after the refund jobs: %s refunded %d", got.State, got.AmountRefunded)
	}
	if n := s.client.Job.Query().Where(job.Kind("commerce.refund"), job.StateNEQ(job.StateSUCCEEDED)).CountX(context.Background()); n != 0 {
		t.Fatalf("%d refund jobs did not succeed", n)
	}
	hist, err := s.svc.History(context.Background(), got)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, h := range hist {
		if h.FromState != h.ToState {
			states = append(states, h.ToState)
		}
	}
	if fmt.Sprint(states) != "[PENDING_PAYMENT PAID PARTIALLY_REFUNDED REFUNDED]" {
		t.Fatalf("states %v", states)
	}
	var refundMails int
	for _, m := range s.jobs(notify.KindEmail) {
		if m["kind"] == "refund" {
			refundMails++
		}
	}
	if refundMails != 2 {
		t.Fatalf("%d refund emails, want 2", refundMails)
	}
}

// TestConcurrentRefundsCannotOverRefund: staff double-click, two admins at
// once: however many refunds race, the total requested never exceeds what
// was paid, and every accepted refund has exactly one job.
func TestConcurrentRefundsCannotOverRefund(t *testing.T) {
	s := newShop(t)
	staff := staffCtx()
	v := s.variant(3000, 5)
	o := s.paidOrder(v, 1, "") // 4000
	const racers = 12
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 0; attempt < 50; attempt++ {
				_, err := s.svc.Refund(staff, o.ID, 1000, fmt.Sprint("racer ", i), "")
				switch {
				case err == nil:
					accepted.Add(1)
					return
				case userCode(err) == errcode.Conflict:
					continue // lost the race; reload and try again, as a client would
				case userCode(err) == errcode.Invalid:
					refused.Add(1)
					return
				default:
					t.Errorf("racer %d: %v", i, err)
					return
				}
			}
			t.Errorf("racer %d never got an answer", i)
		}()
	}
	wg.Wait()
	got := s.order(o.ID)
	if accepted.Load() != 4 || refused.Load() != racers-4 || got.RefundRequested != 4000 {
		t.Fatalf("accepted %d refused %d requested %d; want 4, %d, 4000", accepted.Load(), refused.Load(), got.RefundRequested, racers-4)
	}
	var sum float64
	for _, j := range s.jobs("commerce.refund") {
		sum += j["amount"].(float64)
	}
	if n := len(s.jobs("commerce.refund")); n != 4 || sum != 4000 {
		t.Fatalf("%d refund jobs for %v", n, sum)
	}
}

// TestCustomersCannotManageOrders: fulfil, deliver, cancel, refund and the
// staff list are refused to customers (FORBIDDEN) and to anonymous
// callers, even for their own order, and change nothing.
func TestCustomersCannotManageOrders(t *testing.T) {
	s := newShop(t)
	v := s.variant(1000, 5)
	o := s.paidOrder(v, 1, "")
	owner := identity.WithViewer(context.Background(), &identity.Viewer{UserID: gid.New("usr"), Role: identity.RoleCustomer})
	for name, ctx := range map[string]context.Context{"customer": owner, "anonymous": context.Background(),
		"practitioner": identity.WithViewer(context.Background(), &identity.Viewer{UserID: gid.New("usr"), Role: identity.RolePractitioner})} {
		want := identity.ErrForbidden
		if name == "anonymous" {
			want = identity.ErrUnauthenticated
		}
		calls := map[string]func() error{
			"fulfil": func() error {
				_, err := s.svc.Fulfil(ctx, o.ID, commerce.Fulfilment{Carrier: "x"})
				return err
			},
			"deliver": func() error { _, err := s.svc.MarkDelivered(ctx, o.ID); return err },
			"cancel":  func() error { _, err := s.svc.Cancel(ctx, o.ID, "mine"); return err },
			"refund":  func() error { _, err := s.svc.Refund(ctx, o.ID, 0, "mine", ""); return err },
			"orders":  func() error { _, err := s.svc.Orders(ctx, commerce.OrderFilter{}); return err },
		}
		for call, fn := range calls {
			if err := fn(); !errors.Is(err, want) {
				t.Errorf("%s %s: %v, want %v", name, call, err, want)
			}
		}
	}
	got := s.order(o.ID)
	if got.State != order.StatePAID || got.RefundRequested != 0 || len(s.jobs("commerce.refund")) != 0 {
		t.Fatalf("a refused call changed the order: %s requested %d", got.State, got.RefundRequested)
	}
}
