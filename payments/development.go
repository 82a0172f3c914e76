package payments

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Development is the gateway used when no Stripe key is configured. It
// takes no money: intents are kept in memory and complete when the
// developer calls Complete (the playground's completeDevelopmentPayment
// mutation), which feeds the same webhook path a real payment takes. It
// refuses to exist in production.
type Development struct {
	webhooks *Webhooks

	mu      sync.Mutex
	intents map[string]*devIntent
	refunds map[string]devRefund // by idempotency key
}

// devRefund is a refund made under an idempotency key and the event that
// reported it, replayed when the key comes again.
type devRefund struct {
	refund Refund
	event  Event
}

type devIntent struct {
	Intent
	metadata map[string]string
	refunded int64
}

// ErrDevelopmentInProduction stops a production process that has no real
// payment gateway configured.
var ErrDevelopmentInProduction = errors.New("the development payment gateway cannot run with FRONTDESK_ENV=production: set FRONTDESK_STRIPE_SECRET_KEY")

// NewDevelopment returns the development gateway, or an error in production.
func NewDevelopment(production bool, webhooks *Webhooks) (*Development, error) {
	if production {
		return nil, ErrDevelopmentInProduction
	}
	return &Development{webhooks: webhooks, intents: map[string]*devIntent{}, refunds: map[string]devRefund{}}, nil
}

// Name implements Gateway.
func (d *Development) Name() string { return "development" }

// CreateIntent implements Gateway. The intent id is derived from the
// idempotency key, so a retried request gets the same intent.
func (d *Development) CreateIntent(_ context.Context, p IntentParams) (Intent, error) {
	if p.Amount <= 0 || len(p.Currency) != 3 {
		return Intent{}, ErrDeclined
	}
	key := p.IdempotencyKey
	if key == "" {
		key = randomHex(16)
	}
	sum := sha256.Sum256([]byte(key))
	id := "pi_dev_" + hex.EncodeToString(sum[:12])
	d.mu.Lock()
	defer d.mu.Unlock()
	if in, ok := d.intents[id]; ok {
		return in.Intent, nil
	}
	in := &devIntent{
		Intent: Intent{
			ID:           id,
			ClientSecret: id + "_secret_development",
			Status:       "requires_payment_method",
			Amount:       p.Amount,
			Currency:     strings.ToUpper(p.Currency),
		},
		metadata: p.Metadata,
	}
	d.intents[id] = in
	return in.Intent, nil
}

// Refund implements Gateway and reports the refund as a charge.refunded
// event, as Stripe would. Like Stripe, a repeated idempotency key returns
// the first refund instead of refunding again; its event is delivered
// again too (the webhook handlers drop an event id they have seen), so a
// retry after a failed delivery still reaches them.
func (d *Development) Refund(ctx context.Context, p RefundParams) (Refund, error) {
	d.mu.Lock()
	if done, ok := d.refunds[p.IdempotencyKey]; ok && p.IdempotencyKey != "" {
		d.mu.Unlock()
		if _, err := d.webhooks.Process(ctx, d.Name(), done.event); err != nil {
			return Refund{}, err
		}
		return done.refund, nil
	}
	in, ok := d.intents[p.IntentID]
	if !ok || in.Status != "succeeded" {
		d.mu.Unlock()
		return Refund{}, fmt.Errorf("development gateway: intent %s has not succeeded", p.IntentID)
	}
	amount := p.Amount
	if amount == 0 || amount > in.Amount-in.refunded {
		amount = in.Amount - in.refunded
	}
	in.refunded += amount
	ev := d.event(in, ChargeRefunded)
	refund := Refund{ID: "re_dev_" + randomHex(8), Amount: amount, Status: "succeeded"}
	if p.IdempotencyKey != "" {
		d.refunds[p.IdempotencyKey] = devRefund{refund: refund, event: ev}
	}
	d.mu.Unlock()
	if _, err := d.webhooks.Process(ctx, d.Name(), ev); err != nil {
		return Refund{}, err
	}
	return refund, nil
}

// CancelIntent implements Gateway.
func (d *Development) CancelIntent(_ context.Context, intentID, _ string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if in, ok := d.intents[intentID]; ok && in.Status != "succeeded" {
		in.Status = "canceled"
	}
	return nil
}

// Complete settles an intent as if the customer had paid (succeed true) or
// the card had been declined, through the webhook handlers.
func (d *Development) Complete(ctx context.Context, intentID string, succeed bool) error {
	d.mu.Lock()
	in, ok := d.intents[intentID]
	if !ok {
		d.mu.Unlock()
		return fmt.Errorf("development gateway: no intent %s in this process", intentID)
	}
	typ := IntentFailed
	if succeed {
		typ = IntentSucceeded
		in.Status = "succeeded"
	}
	ev := d.event(in, typ)
	d.mu.Unlock()
	_, err := d.webhooks.Process(ctx, d.Name(), ev)
	return err
}

func (d *Development) event(in *devIntent, typ EventType) Event {
	ev := Event{
		ID:             "evt_dev_" + randomHex(12),
		Type:           typ,
		Created:        time.Now().Unix(),
		IntentID:       in.ID,
		Amount:         in.Amount,
		AmountRefunded: in.refunded,
		Currency:       in.Currency,
		Metadata:       in.metadata,
	}
	if typ == IntentFailed {
		ev.FailureMessage = "Your card was declined (development gateway)."
	}
	return ev
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// ErrNoGateway is returned by the NoGateway gateway.
var ErrNoGateway = errors.New("this command takes no payments")

// NoGateway is the gateway of commands that take no payments (migrate,
// users, import, backup, restore, seed): they need no Stripe settings,
// so they start in production before those are in place, and any call
// that would touch money fails instead of reaching a gateway.
type NoGateway struct{}

// Name implements Gateway.
func (NoGateway) Name() string { return "none" }

// CreateIntent implements Gateway.
func (NoGateway) CreateIntent(context.Context, IntentParams) (Intent, error) {
	return Intent{}, ErrNoGateway
}

// Refund implements Gateway.
func (NoGateway) Refund(context.Context, RefundParams) (Refund, error) {
	return Refund{}, ErrNoGateway
}

// CancelIntent implements Gateway.
func (NoGateway) CancelIntent(context.Context, string, string) error { return ErrNoGateway }
