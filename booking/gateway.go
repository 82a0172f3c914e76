package booking

import (
	"context"

	"frontdesk/payments"
)

// GatewayPayments gives booking the payments integration's gateway (Stripe,
// or its development gateway).
type GatewayPayments struct {
	Gateway payments.Gateway
}

// CreateIntent implements Payments.
func (g GatewayPayments) CreateIntent(ctx context.Context, amount int64, currency, key string, md map[string]string) (Intent, error) {
	in, err := g.Gateway.CreateIntent(ctx, payments.IntentParams{Amount: amount, Currency: currency,
		IdempotencyKey: key, Description: "Appointment", Metadata: md})
	if err != nil {
		return Intent{}, err
	}
	return Intent{ID: in.ID, ClientSecret: in.ClientSecret}, nil
}

// Refund implements Payments: the whole payment is returned.
func (g GatewayPayments) Refund(ctx context.Context, intentID, key string) error {
	_, err := g.Gateway.Refund(ctx, payments.RefundParams{IntentID: intentID, IdempotencyKey: key, Reason: "requested_by_customer"})
	return err
}
