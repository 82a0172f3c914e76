package booking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Payments is what booking needs from a payment gateway. The payments
// integration (Stripe PaymentIntents) implements it; DevelopmentPayments
// stands in until then and in development.
type Payments interface {
	// CreateIntent starts a payment of amount minor units and returns the
	// intent's id and the client secret a frontend confirms it with. The
	// idempotency key makes a retried call return the same intent.
	CreateIntent(ctx context.Context, amount int64, currency, idempotencyKey string, metadata map[string]string) (Intent, error)
	// Refund returns a payment in full. The idempotency key makes a
	// retried refund harmless.
	Refund(ctx context.Context, intentID, idempotencyKey string) error
}

// Intent is a payment started with CreateIntent.
type Intent struct {
	ID           string
	ClientSecret string
}

// DevelopmentPayments is the development payment gateway: it takes no
// money, derives the intent from the idempotency key and never fails.
// Production configuration refuses it.
type DevelopmentPayments struct{}

// CreateIntent implements Payments without any payment service.
func (DevelopmentPayments) CreateIntent(_ context.Context, amount int64, currency, key string, _ map[string]string) (Intent, error) {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%d|%s", key, amount, currency)))
	id := "pi_dev_" + hex.EncodeToString(sum[:12])
	return Intent{ID: id, ClientSecret: id + "_secret_dev"}, nil
}

// Refund implements Payments; nothing was charged, so nothing is returned.
func (DevelopmentPayments) Refund(context.Context, string, string) error { return nil }
