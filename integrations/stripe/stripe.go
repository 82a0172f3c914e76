// Package stripe is the Stripe payment gateway (stripe-go v76) and the
// /webhooks/stripe endpoint. It turns Stripe's types into package payments'
// types, so domain code never sees a Stripe struct.
package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"frontdesk/payments"
)

// Gateway creates PaymentIntents and refunds through the Stripe API.
type Gateway struct {
	api *client.API
}

var _ payments.Gateway = (*Gateway)(nil)

// New returns a gateway for secretKey. apiURL overrides Stripe's API base
// URL, for stripe-mock in tests; leave it empty in production.
func New(secretKey, apiURL string) *Gateway { return NewWithClient(secretKey, apiURL, nil) }

// NewWithClient is New with the HTTP client calls go through (nil:
// stripe-go's own), so they can be timed and traced.
func NewWithClient(secretKey, apiURL string, h *http.Client) *Gateway {
	var backends *stripego.Backends
	if apiURL != "" || h != nil {
		cfg := func(def string) *stripego.BackendConfig {
			c := &stripego.BackendConfig{URL: stripego.String(def), HTTPClient: h}
			if apiURL != "" {
				c.URL, c.MaxNetworkRetries = stripego.String(apiURL), stripego.Int64(2)
			}
			return c
		}
		backends = &stripego.Backends{
			API:     stripego.GetBackendWithConfig(stripego.APIBackend, cfg(stripego.APIURL)),
			Connect: stripego.GetBackendWithConfig(stripego.ConnectBackend, cfg(stripego.ConnectURL)),
			Uploads: stripego.GetBackendWithConfig(stripego.UploadsBackend, cfg(stripego.UploadsURL)),
		}
	}
	api := &client.API{}
	api.Init(secretKey, backends)
	return &Gateway{api: api}
}

// Name implements payments.Gateway.
func (g *Gateway) Name() string { return "stripe" }

// CreateIntent implements payments.Gateway.
func (g *Gateway) CreateIntent(ctx context.Context, p payments.IntentParams) (payments.Intent, error) {
	params := &stripego.PaymentIntentParams{
		Amount:   stripego.Int64(p.Amount),
		Currency: stripego.String(strings.ToLower(p.Currency)),
		AutomaticPaymentMethods: &stripego.PaymentIntentAutomaticPaymentMethodsParams{
			Enabled: stripego.Bool(true),
		},
	}
	if p.Description != "" {
		params.Description = stripego.String(p.Description)
	}
	if p.ReceiptEmail != "" {
		params.ReceiptEmail = stripego.String(p.ReceiptEmail)
	}
	for k, v := range p.Metadata {
		params.AddMetadata(k, v)
	}
	params.Context = ctx
	if p.IdempotencyKey != "" {
		params.SetIdempotencyKey(p.IdempotencyKey)
	}
	pi, err := g.api.PaymentIntents.New(params)
	if err != nil {
		return payments.Intent{}, classify("create payment intent", err)
	}
	return payments.Intent{
		ID:           pi.ID,
		ClientSecret: pi.ClientSecret,
		Status:       string(pi.Status),
		Amount:       pi.Amount,
		Currency:     strings.ToUpper(string(pi.Currency)),
	}, nil
}

// Refund implements payments.Gateway.
func (g *Gateway) Refund(ctx context.Context, p payments.RefundParams) (payments.Refund, error) {
	params := &stripego.RefundParams{PaymentIntent: stripego.String(p.IntentID)}
	if p.Amount > 0 {
		params.Amount = stripego.Int64(p.Amount)
	}
	if p.Reason != "" {
		params.Reason = stripego.String(p.Reason)
	}
	params.Context = ctx
	if p.IdempotencyKey != "" {
		params.SetIdempotencyKey(p.IdempotencyKey)
	}
	r, err := g.api.Refunds.New(params)
	if err != nil {
		return payments.Refund{}, classify("refund", err)
	}
	return payments.Refund{ID: r.ID, Amount: r.Amount, Status: string(r.Status)}, nil
}

// CancelIntent implements payments.Gateway.
func (g *Gateway) CancelIntent(ctx context.Context, intentID, idempotencyKey string) error {
	params := &stripego.PaymentIntentCancelParams{}
	params.Context = ctx
	if idempotencyKey != "" {
		params.SetIdempotencyKey(idempotencyKey)
	}
	if _, err := g.api.PaymentIntents.Cancel(intentID, params); err != nil {
		return classify("cancel payment intent", err)
	}
	return nil
}

// classify separates requests Stripe refuses (the caller's problem, shown
// as a PAYMENT_FAILED user error) from outages (retryable).
func classify(op string, err error) error {
	var se *stripego.Error
	if errors.As(err, &se) {
		switch se.Type {
		case stripego.ErrorTypeCard, stripego.ErrorTypeInvalidRequest:
			if se.HTTPStatusCode < 500 {
				return fmt.Errorf("%s: %w (stripe: %s)", op, payments.ErrDeclined, se.Msg)
			}
		}
	}
	return fmt.Errorf("%s: %w: %v", op, payments.ErrUnavailable, err)
}
