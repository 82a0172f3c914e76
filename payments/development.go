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

	"frontdesk/errcode"
)

// Development is the gateway used when no Stripe key is configured. It
// takes no money: intents are kept in memory and complete when the
// developer calls Complete (the playground's completeDevelopmentPayment
// mutation), which feeds the same webhook path a real payment takes. It
// refuses to exist in production.
type Development struct {
	webhooks *Webhooks
	finders  []IntentFinder

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
			ClientSecret: id + devSecretSuffix,
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

// IntentFinder finds the intent intentID among the rows of one domain
// (orders, appointments) and returns what the gateway was asked for when
// it was created. found is false when the domain has no such payment.
type IntentFinder func(ctx context.Context, intentID string) (p IntentParams, found bool, err error)

// AddFinder lets Settle recover intents this process does not hold in
// memory: ones created by another replica, or before a restart. Domains
// that take payments add theirs at start-up.
func (d *Development) AddFinder(f IntentFinder) { d.finders = append(d.finders, f) }

// Settled is what Settle did: the intent and the metadata that ties it
// to its order or appointment.
type Settled struct {
	IntentID  string
	Succeeded bool
	Metadata  map[string]string
}

// ErrUnknownIntent is returned by Settle for a client secret or intent id
// that no order or appointment carries.
var ErrUnknownIntent = errcode.Invalidf(errcode.Missing, "clientSecret", "no payment of the development gateway has this client secret")

// devSecretSuffix ends the client secret of every development intent.
const devSecretSuffix = "_secret_development"

// Settle pays (succeed) or declines any payment of this gateway, an
// order's or an appointment's alike, named by its client secret (what
// Stripe.js would confirm) or its intent id. It reaches the domain
// through the webhook handlers, as Stripe's payment_intent.succeeded
// does, so the order is paid or the appointment confirmed by the same
// code, in the same transaction with its messages.
func (d *Development) Settle(ctx context.Context, secretOrID string, succeed bool) (Settled, error) {
	id := strings.TrimSuffix(strings.TrimSpace(secretOrID), devSecretSuffix)
	if !strings.HasPrefix(id, "pi_dev_") || strings.ContainsAny(id, " /?#") || len(id) > 64 {
		return Settled{}, ErrUnknownIntent
	}
	d.mu.Lock()
	_, ok := d.intents[id]
	d.mu.Unlock()
	if !ok {
		if err := d.recover(ctx, id); err != nil {
			return Settled{}, err
		}
	}
	d.mu.Lock()
	in := d.intents[id]
	md := in.metadata
	canceled := in.Status == "canceled"
	d.mu.Unlock()
	if canceled && succeed {
		return Settled{}, errcode.Invalidf(errcode.Conflict, "clientSecret", "this payment was cancelled (its order or booking was released); it cannot be paid")
	}
	if err := d.Complete(ctx, id, succeed); err != nil {
		return Settled{}, err
	}
	return Settled{IntentID: id, Succeeded: succeed, Metadata: md}, nil
}

// recover asks the finders for an intent this process does not hold.
func (d *Development) recover(ctx context.Context, id string) error {
	for _, f := range d.finders {
		p, found, err := f(ctx, id)
		if err != nil {
			return fmt.Errorf("development gateway: find intent %s: %w", id, err)
		}
		if !found {
			continue
		}
		d.mu.Lock()
		if _, ok := d.intents[id]; !ok {
			d.intents[id] = &devIntent{
				Intent: Intent{ID: id, ClientSecret: id + devSecretSuffix, Status: "requires_payment_method",
					Amount: p.Amount, Currency: strings.ToUpper(p.Currency)},
				metadata: p.Metadata,
			}
		}
		d.mu.Unlock()
		return nil
	}
	return ErrUnknownIntent
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
