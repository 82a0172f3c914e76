package stripe

import (
	"context"
	"errors"
	"strings"
	"testing"

	stripego "github.com/stripe/stripe-go/v76"

	"frontdesk/internal/testenv"
	"frontdesk/payments"
)

func TestGatewayAgainstStripeMock(t *testing.T) {
	g := New("sk_test_123", testenv.StripeMock(t))
	ctx := context.Background()
	in, err := g.CreateIntent(ctx, payments.IntentParams{
		Amount: 4599, Currency: "AUD", IdempotencyKey: "order-ord_1-attempt-1",
		Metadata: map[string]string{"order_id": "ord_1"}, ReceiptEmail: "pat@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(in.ID, "pi_") || in.ClientSecret == "" {
		t.Fatalf("intent = %+v", in)
	}
	if _, err := g.Refund(ctx, payments.RefundParams{IntentID: in.ID, Amount: 100, IdempotencyKey: "refund-1", Reason: "requested_by_customer"}); err != nil {
		t.Fatal(err)
	}
	if err := g.CancelIntent(ctx, in.ID, "cancel-1"); err != nil {
		t.Fatal(err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		declined bool
	}{
		{"card error", &stripego.Error{Type: stripego.ErrorTypeCard, HTTPStatusCode: 402}, true},
		{"invalid request", &stripego.Error{Type: stripego.ErrorTypeInvalidRequest, HTTPStatusCode: 400}, true},
		{"api error", &stripego.Error{Type: stripego.ErrorTypeAPI, HTTPStatusCode: 500}, false},
		{"network", errors.New("dial tcp: connection refused"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify("op", tt.err)
			if got := errors.Is(err, payments.ErrDeclined); got != tt.declined {
				t.Fatalf("declined = %v, want %v (%v)", got, tt.declined, err)
			}
			if !tt.declined && !errors.Is(err, payments.ErrUnavailable) {
				t.Fatalf("outage not marked unavailable: %v", err)
			}
		})
	}
}
