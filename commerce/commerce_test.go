package commerce_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/catalog"
	"frontdesk/commerce"
	"frontdesk/commerce/address"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/inventory"
	"frontdesk/ent/job"
	"frontdesk/ent/order"
	"frontdesk/ent/product"
	"frontdesk/errcode"
	"frontdesk/events"
	"frontdesk/gid"
	"frontdesk/internal/testenv"
	"frontdesk/payments"
)

// shop is a commerce service over a fresh database, with the development
// gateway feeding the real webhook router.
type shop struct {
	t       *testing.T
	db      *database.DB
	client  *ent.Client
	svc     *commerce.Service
	wh      *payments.Webhooks
	dev     *payments.Development
	gateway *recordingGateway
	method  gid.ID
	clock   *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// recordingGateway remembers the amounts of the intents it created.
type recordingGateway struct {
	*payments.Development
	mu      sync.Mutex
	amounts map[string]int64
}

func (g *recordingGateway) CreateIntent(ctx context.Context, p payments.IntentParams) (payments.Intent, error) {
	in, err := g.Development.CreateIntent(ctx, p)
	if err == nil {
		g.mu.Lock()
		g.amounts[in.ID] = p.Amount
		g.mu.Unlock()
	}
	return in, err
}

func newShop(t *testing.T, tune ...func(*commerce.Options)) *shop {
	t.Helper()
	db := testenv.DB(t, database.Options{})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	wh := payments.NewWebhooks(db.Client, log)
	dev, err := payments.NewDevelopment(false, wh)
	if err != nil {
		t.Fatal(err)
	}
	gw := &recordingGateway{Development: dev, amounts: map[string]int64{}}
	cat := catalog.New(db.Client, db.Dialect, nil, log, catalog.Options{})
	clk := &clock{t: time.Now().UTC()}
	opts := commerce.Options{Now: clk.Now, ReservationTTL: 15 * time.Minute}
	for _, f := range tune {
		f(&opts)
	}
	svc := commerce.New(db.Client, cat, gw, events.NewMemory(), log, opts)
	svc.RegisterWebhooks(wh)
	ctx := context.Background()
	m := db.Client.ShippingMethod.Create().SetName("Standard").SetKind("FLAT").SetCountry("AU").
		SetPrice(1000).SetCurrency("AUD").SaveX(ctx)
	db.Client.TaxRate.Create().SetName("GST").SetCountry("AU").SetRateBp(1000).SetInclusive(true).ExecX(ctx)
	return &shop{t: t, db: db, client: db.Client, svc: svc, wh: wh, dev: dev, gateway: gw, method: m.ID, clock: clk}
}

// variant creates an active product with one variant and its stock.
func (s *shop) variant(price int64, stock int) gid.ID {
	ctx := context.Background()
	n := strings.ToLower(string(gid.New("tst"))[4:])
	p := s.client.Product.Create().SetStatus(product.StatusACTIVE).SetSlug("p-" + n).SetTitle("Tea " + n).
		SetSortTitle("tea").SetDescription("").SetDescriptionHTML("").SetSearchText("tea").SetCurrency("AUD").SaveX(ctx)
	v := s.client.Variant.Create().SetProductID(p.ID).SetSku("SKU-" + n).SetTitle("100 g").
		SetPrice(price).SetCurrency("AUD").SaveX(ctx)
	s.client.Inventory.Create().SetVariantID(v.ID).SetOnHand(stock).ExecX(ctx)
	return v.ID
}

func (s *shop) stock(v gid.ID) (onHand, reserved int) {
	inv := s.client.Inventory.Query().Where(inventory.VariantID(v)).OnlyX(context.Background())
	return inv.OnHand, inv.Reserved
}

var home = address.Address{Name: "Pat Lee", Line1: "1 George St", City: "Sydney", Region: "NSW", PostalCode: "2000", Country: "AU"}

// cart fills a ready-to-order cart and returns its token.
func (s *shop) cart(v gid.ID, qty int, code string) string {
	s.t.Helper()
	ctx := context.Background()
	_, token, err := s.svc.CreateCart(ctx, "AUD")
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.svc.AddLine(ctx, token, v, qty); err != nil {
		s.t.Fatal(err)
	}
	email := "pat@example.com"
	d := commerce.CheckoutDetails{Email: &email, ShippingAddress: &home, ShippingMethodID: &s.method}
	if code != "" {
		d.DiscountCode = &code
	}
	if _, err := s.svc.SetCheckoutDetails(ctx, token, d); err != nil {
		s.t.Fatal(err)
	}
	return token
}

func userCode(err error) errcode.UserErrorCode {
	if list, ok := errcode.AsUserErrors(err); ok {
		return list[0].Code
	}
	return ""
}

func TestPlaceOrderPricesOnTheServerAndIsIdempotent(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	v := s.variant(2500, 5)
	token := s.cart(v, 2, "")
	// The price changes after the line was added: the cart says so and the
	// order uses the current price.
	s.client.Variant.UpdateOneID(v).SetPrice(3000).ExecX(ctx)
	c, err := s.svc.Cart(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	view, err := s.svc.View(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if !view.Lines[0].PriceChanged || view.Lines[0].UnitPrice != 3000 {
		t.Fatalf("line = %+v", view.Lines[0])
	}
	a, err := s.svc.PlaceOrder(ctx, token, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.svc.PlaceOrder(ctx, token, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Order.ID != b.Order.ID || a.ClientSecret == "" || a.ClientSecret != b.ClientSecret {
		t.Fatalf("same key gave %s/%s and %s/%s", a.Order.ID, a.ClientSecret, b.Order.ID, b.ClientSecret)
	}
	o := a.Order
	// 2 × 3000 + 1000 shipping, GST included: 7000 total, 636 tax.
	if o.Subtotal != 6000 || o.ShippingTotal != 1000 || o.Total != 7000 || o.TaxTotal != 636 || !o.TaxInclusive {
		t.Fatalf("order totals = %d/%d/%d/%d", o.Subtotal, o.ShippingTotal, o.TaxTotal, o.Total)
	}
	if got := s.gateway.amounts[*b.Order.PaymentIntentID]; got != 7000 {
		t.Fatalf("intent amount = %d, want the server's total 7000", got)
	}
	if _, r := s.stock(v); r != 2 {
		t.Fatalf("reserved = %d after two identical placeOrder calls, want 2", r)
	}
	if _, err := s.svc.PlaceOrder(ctx, token, "key-2"); userCode(err) != errcode.Conflict {
		t.Fatalf("a second key on an ordered cart: %v", err)
	}
}

func TestOutOfStockWritesNothing(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	v := s.variant(1000, 3)
	token := s.cart(v, 3, "")
	s.client.Inventory.Update().Where(inventory.VariantID(v)).SetOnHand(2).ExecX(ctx)
	_, err := s.svc.PlaceOrder(ctx, token, "k")
	if userCode(err) != errcode.OutOfStock {
		t.Fatalf("err = %v, want OUT_OF_STOCK", err)
	}
	if n := s.client.Order.Query().CountX(ctx); n != 0 {
		t.Fatalf("%d orders written", n)
	}
	if _, r := s.stock(v); r != 0 {
		t.Fatalf("reserved = %d", r)
	}
}

// TestConcurrentCheckouts: 50 customers race for 10 units; exactly 10
// orders are paid, and stock ends at 0 without ever going negative.
func TestConcurrentCheckouts(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	v := s.variant(1500, 10)
	const buyers = 50
	tokens := make([]string, buyers)
	for i := range tokens {
		tokens[i] = s.cart(v, 1, "")
	}
	var paid, outOfStock atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, buyers)
	for i, token := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := s.svc.PlaceOrder(ctx, token, fmt.Sprint("k", i))
			if userCode(err) == errcode.OutOfStock {
				outOfStock.Add(1)
				return
			}
			if err != nil {
				errs <- err
				return
			}
			if err := s.dev.Complete(ctx, *p.Order.PaymentIntentID, true); err != nil {
				errs <- err
				return
			}
			paid.Add(1)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if paid.Load() != 10 || outOfStock.Load() != 40 {
		t.Fatalf("paid %d, out of stock %d; want 10 and 40", paid.Load(), outOfStock.Load())
	}
	if n := s.client.Order.Query().Where(order.StateEQ(order.StatePAID)).CountX(ctx); n != 10 {
		t.Fatalf("%d orders PAID, want 10", n)
	}
	if on, r := s.stock(v); on != 0 || r != 0 {
		t.Fatalf("stock on hand %d reserved %d, want 0 and 0", on, r)
	}
}

func (s *shop) event(id string, typ payments.EventType, o *ent.Order, refunded int64) payments.Event {
	return payments.Event{ID: id, Type: typ, IntentID: *o.PaymentIntentID, Amount: o.Total, AmountRefunded: refunded,
		Currency: o.Currency, Metadata: map[string]string{"order_id": string(o.ID)}}
}

func (s *shop) process(ev payments.Event) bool {
	s.t.Helper()
	dup, err := s.wh.Process(context.Background(), "stripe", ev)
	if err != nil {
		s.t.Fatal(err)
	}
	return dup
}

func (s *shop) order(id gid.ID) *ent.Order {
	return s.client.Order.GetX(context.Background(), id)
}

func TestWebhooksDuplicateLateAndOutOfOrder(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	v := s.variant(1000, 5)
	p, err := s.svc.PlaceOrder(ctx, s.cart(v, 2, ""), "k")
	if err != nil {
		t.Fatal(err)
	}
	o := p.Order
	// A refund report arriving before the success report settles the
	// payment first, then records the partial refund.
	if s.process(s.event("evt_1", payments.ChargeRefunded, o, 500)) {
		t.Fatal("first delivery reported as duplicate")
	}
	got := s.order(o.ID)
	if got.State != order.StatePARTIALLY_REFUNDED || got.AmountRefunded != 500 || got.PaidAt == nil {
		t.Fatalf("after early refund: %s refunded %d", got.State, got.AmountRefunded)
	}
	if on, r := s.stock(v); on != 3 || r != 0 {
		t.Fatalf("stock %d/%d, want 3/0", on, r)
	}
	// The same event again, the late success, a late failure and an older
	// refund figure change nothing.
	if !s.process(s.event("evt_1", payments.ChargeRefunded, o, 500)) {
		t.Fatal("redelivery not recognised")
	}
	s.process(s.event("evt_2", payments.IntentSucceeded, o, 0))
	s.process(s.event("evt_3", payments.IntentFailed, o, 0))
	s.process(s.event("evt_4", payments.ChargeRefunded, o, 200))
	again := s.order(o.ID)
	if again.State != order.StatePARTIALLY_REFUNDED || again.AmountRefunded != 500 {
		t.Fatalf("late events changed the order: %s %d", again.State, again.AmountRefunded)
	}
	if on, r := s.stock(v); on != 3 || r != 0 {
		t.Fatalf("stock %d/%d after late events, want 3/0", on, r)
	}
	s.process(s.event("evt_5", payments.ChargeRefunded, o, o.Total))
	if got := s.order(o.ID); got.State != order.StateREFUNDED {
		t.Fatalf("full refund: %s", got.State)
	}
	s.process(s.event("evt_6", payments.IntentSucceeded, o, 0))
	if got := s.order(o.ID); got.State != order.StateREFUNDED {
		t.Fatalf("success after refund moved the order back to %s", got.State)
	}
	hist, err := s.svc.History(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, h := range hist {
		states = append(states, h.FromState+">"+h.ToState)
	}
	want := "[>PENDING_PAYMENT PENDING_PAYMENT>PAID PAID>PARTIALLY_REFUNDED PARTIALLY_REFUNDED>REFUNDED]"
	if fmt.Sprint(states) != want {
		t.Fatalf("history %v, want %s", states, want)
	}
}

func TestFailedPaymentReleasesAndRetrySucceeds(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	v := s.variant(1000, 1)
	p, err := s.svc.PlaceOrder(ctx, s.cart(v, 1, ""), "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.dev.Complete(ctx, *p.Order.PaymentIntentID, false); err != nil {
		t.Fatal(err)
	}
	if got := s.order(p.Order.ID); got.State != order.StatePENDING_PAYMENT || got.Reservation != order.ReservationRELEASED || got.PaymentFailure == "" {
		t.Fatalf("after decline: %s %s %q", got.State, got.Reservation, got.PaymentFailure)
	}
	if _, r := s.stock(v); r != 0 {
		t.Fatalf("reserved %d after decline", r)
	}
	if err := s.dev.Complete(ctx, *p.Order.PaymentIntentID, true); err != nil {
		t.Fatal(err)
	}
	if got := s.order(p.Order.ID); got.State != order.StatePAID {
		t.Fatalf("after retry: %s", got.State)
	}
	if on, r := s.stock(v); on != 0 || r != 0 {
		t.Fatalf("stock %d/%d", on, r)
	}
}

func TestExpiryAndLatePayment(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	v := s.variant(1000, 1)
	late, err := s.svc.PlaceOrder(ctx, s.cart(v, 1, ""), "a")
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Add(16 * time.Minute)
	if n, err := s.svc.ExpireReservations(ctx, 100); err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	if got := s.order(late.Order.ID); got.State != order.StateCANCELLED {
		t.Fatalf("expired order is %s", got.State)
	}
	if _, r := s.stock(v); r != 0 {
		t.Fatalf("reserved %d after expiry", r)
	}
	// Someone else buys the last unit; then the first customer's payment
	// lands after all: it is refunded automatically.
	other, err := s.svc.PlaceOrder(ctx, s.cart(v, 1, ""), "b")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.dev.Complete(ctx, *other.Order.PaymentIntentID, true); err != nil {
		t.Fatal(err)
	}
	if err := s.dev.Complete(ctx, *late.Order.PaymentIntentID, true); err != nil {
		t.Fatal(err)
	}
	got := s.order(late.Order.ID)
	if got.State != order.StateCANCELLED || got.PaidAt == nil || got.RefundRequested != got.Total {
		t.Fatalf("late payment: %s paid %v refund requested %d", got.State, got.PaidAt, got.RefundRequested)
	}
	if n := s.client.Job.Query().Where(job.Kind("commerce.refund")).CountX(ctx); n != 1 {
		t.Fatalf("%d refund jobs, want 1", n)
	}
	if on, r := s.stock(v); on != 0 || r != 0 {
		t.Fatalf("stock %d/%d, want 0/0", on, r)
	}
	// The refund lands (the provider's report): the order is REFUNDED.
	s.process(s.event("evt_r", payments.ChargeRefunded, got, got.Total))
	if got := s.order(late.Order.ID); got.State != order.StateREFUNDED {
		t.Fatalf("after refund: %s", got.State)
	}
}

func TestDiscountLimits(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	v := s.variant(1000, 100)
	s.client.DiscountCode.Create().SetCode("TEN").SetKind("PERCENT").SetValue(1000).SetUsageLimit(3).ExecX(ctx)
	const buyers = 8
	tokens := make([]string, buyers)
	for i := range tokens {
		tokens[i] = s.cart(v, 1, "ten")
	}
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i, token := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := s.svc.PlaceOrder(ctx, token, fmt.Sprint("k", i))
			switch {
			case err == nil && p.Order.DiscountTotal == 100:
				ok.Add(1)
			case userCode(err) == errcode.NotEligible:
				refused.Add(1)
			default:
				t.Errorf("checkout %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 3 || refused.Load() != buyers-3 {
		t.Fatalf("%d used the code and %d were refused; want 3 and %d", ok.Load(), refused.Load(), buyers-3)
	}
	if _, r := s.stock(v); r != 3 {
		t.Fatalf("refused checkouts left stock reserved: %d", r)
	}
	// Per customer: once each.
	s.client.DiscountCode.Create().SetCode("ONCE").SetKind("FIXED").SetValue(300).SetCurrency("AUD").SetPerCustomerLimit(1).ExecX(ctx)
	if _, err := s.svc.PlaceOrder(ctx, s.cart(v, 1, "ONCE"), "x"); err != nil {
		t.Fatal(err)
	}
	_, token, _ := s.svc.CreateCart(ctx, "AUD")
	code := "ONCE"
	if _, err := s.svc.AddLine(ctx, token, v, 1); err != nil {
		t.Fatal(err)
	}
	_, err := s.svc.SetCheckoutDetails(ctx, token, commerce.CheckoutDetails{DiscountCode: &code, Email: ptr("PAT@example.com")})
	if userCode(err) != errcode.NotEligible {
		t.Fatalf("second use by the same customer: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestOrderVisibility(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	v := s.variant(1000, 5)
	token := s.cart(v, 1, "")
	p, err := s.svc.PlaceOrder(ctx, token, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.Order(ctx, p.Order.ID, token); err != nil {
		t.Fatalf("token holder: %v", err)
	}
	if _, err := s.svc.Order(ctx, p.Order.ID, ""); !errors.Is(err, commerce.ErrOrderNotFound) {
		t.Fatalf("anonymous: %v", err)
	}
	if _, err := s.svc.WatchOrder(ctx, p.Order.ID, "ct_wrong"); !errors.Is(err, commerce.ErrOrderNotFound) {
		t.Fatalf("watch with a wrong token: %v", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := s.svc.WatchOrder(wctx, p.Order.ID, token)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.dev.Complete(ctx, *p.Order.PaymentIntentID, true); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-ch:
		if ev.State != "PAID" || ev.From != "PENDING_PAYMENT" {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no status event")
	}
}
