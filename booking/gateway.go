package booking

import (
	"context"
	"fmt"

	"frontdesk/ent"
	"frontdesk/ent/appointment"
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

// DevelopmentIntent is a payments.IntentFinder over appointments: it
// gives the development gateway back a booking's intent after a restart
// or from another replica, with the metadata booking created it with.
func (e *Engine) DevelopmentIntent(ctx context.Context, intentID string) (payments.IntentParams, bool, error) {
	a, err := e.Client.Appointment.Query().Where(appointment.PaymentIntentID(intentID)).
		Order(ent.Desc(appointment.FieldCreatedAt)).First(ctx)
	if ent.IsNotFound(err) {
		return payments.IntentParams{}, false, nil
	}
	if err != nil {
		return payments.IntentParams{}, false, fmt.Errorf("find appointment by intent: %w", err)
	}
	return payments.IntentParams{Amount: a.PriceAmount, Currency: a.Currency,
		Metadata: map[string]string{metadataKey: string(a.ID), "service_id": string(a.ServiceID)}}, true, nil
}
