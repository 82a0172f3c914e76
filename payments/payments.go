// Package payments takes money: PaymentIntents created through a Gateway
// (Stripe in production, a clearly-named development gateway otherwise),
// refunds, and the provider's webhook events, verified, deduplicated and
// handed to the domain packages (checkout, booking) that registered for
// them.
package payments

import (
	"context"
	"errors"

	"frontdesk/errcode"
)

// Gateway is a payment provider.
type Gateway interface {
	// Name identifies the gateway in logs and in the API ("stripe",
	// "development").
	Name() string
	// CreateIntent creates a PaymentIntent for the amount. The same
	// idempotency key always yields the same intent.
	CreateIntent(ctx context.Context, p IntentParams) (Intent, error)
	// Refund returns money from a succeeded intent; Amount 0 refunds
	// what is left. The same idempotency key never refunds twice.
	Refund(ctx context.Context, p RefundParams) (Refund, error)
	// CancelIntent cancels an intent that has not succeeded, so a late
	// confirmation cannot charge the customer.
	CancelIntent(ctx context.Context, intentID, idempotencyKey string) error
}

// IntentParams describe a payment to collect.
type IntentParams struct {
	Amount         int64  // minor units
	Currency       string // ISO 4217, upper or lower case
	IdempotencyKey string
	Description    string
	ReceiptEmail   string
	// Metadata links the intent back to our objects, such as
	// {"order_id": "ord_…"}; webhooks carry it back.
	Metadata map[string]string
}

// Intent is a created PaymentIntent.
type Intent struct {
	ID           string
	ClientSecret string // handed to Stripe.js or the mobile SDK to confirm
	Status       string
	Amount       int64
	Currency     string
}

// RefundParams describe a refund.
type RefundParams struct {
	IntentID       string
	Amount         int64 // minor units; 0 refunds the remainder
	IdempotencyKey string
	Reason         string // duplicate, fraudulent or requested_by_customer
}

// Refund is a created refund.
type Refund struct {
	ID     string
	Amount int64
	Status string
}

// ErrDeclined is returned when the provider refuses the payment request
// itself (invalid amount, currency not supported). Card declines arrive
// later as payment_failed events.
var ErrDeclined = &errcode.UserError{Message: "the payment could not be set up", Code: errcode.PaymentFailed}

// ErrUnavailable wraps provider outages; callers may retry.
var ErrUnavailable = errors.New("payment provider unavailable")

// Event is a provider event in the shape domain code needs, whatever the
// provider.
type Event struct {
	ID   string // provider's event id, used for deduplication
	Type EventType
	// Created is the provider's event time (Unix seconds): handlers use it
	// to ignore events older than the state they already hold.
	Created        int64
	IntentID       string
	Amount         int64
	AmountRefunded int64
	Currency       string
	Metadata       map[string]string
	FailureMessage string
}

// EventType names the events domain code can subscribe to.
type EventType string

// Event types, named as Stripe names them.
const (
	IntentSucceeded     EventType = "payment_intent.succeeded"
	IntentFailed        EventType = "payment_intent.payment_failed"
	IntentCanceled      EventType = "payment_intent.canceled"
	IntentProcessing    EventType = "payment_intent.processing"
	ChargeRefunded      EventType = "charge.refunded"
	ChargeDisputeOpened EventType = "charge.dispute.created"
)
