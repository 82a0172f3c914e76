package stripe

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"frontdesk/identity"
	"frontdesk/payments"
	"frontdesk/telemetry"
)

// maxWebhookBody bounds what we read from a webhook request; Stripe's
// events are a few kilobytes.
const maxWebhookBody = 256 << 10

// WebhookHandler serves /webhooks/stripe: it verifies the signature (with
// a tolerance on its timestamp), converts the event and hands it to the
// payments router, which processes each event id once.
//
// stripe-go v76 accepts only events of API version 2023-10-16, so the
// endpoint must be created with that version in the Stripe dashboard.
type WebhookHandler struct {
	Secret    string
	Tolerance time.Duration
	Webhooks  *payments.Webhooks
	Log       *slog.Logger
	// Metrics counts deliveries by outcome (nil: not counted).
	Metrics *telemetry.Metrics
}

func (h WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.Metrics.Webhook("stripe", h.serve(w, r))
}

// serve handles one delivery and returns its outcome for the metrics.
func (h WebhookHandler) serve(w http.ResponseWriter, r *http.Request) string {
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil || len(payload) > maxWebhookBody {
		http.Error(w, "unreadable or oversized body", http.StatusBadRequest)
		return telemetry.WebhookInvalid
	}
	ev, err := webhook.ConstructEventWithOptions(payload, r.Header.Get("Stripe-Signature"), h.Secret,
		webhook.ConstructEventOptions{Tolerance: h.Tolerance})
	if err != nil {
		// Logged for the operator: a forged or stale request, or a
		// misconfigured secret or API version.
		h.Log.WarnContext(r.Context(), "stripe webhook rejected", "error", err.Error(), "remote", r.RemoteAddr)
		http.Error(w, "invalid signature", http.StatusBadRequest)
		return telemetry.WebhookRejected
	}
	pev, ok, err := convert(ev)
	if err != nil {
		h.Log.ErrorContext(r.Context(), "stripe webhook unreadable", "event", ev.ID, "type", string(ev.Type), "error", err.Error())
		http.Error(w, "unreadable event", http.StatusBadRequest)
		return telemetry.WebhookInvalid
	}
	if !ok || !h.Webhooks.Handles(pev.Type) {
		w.WriteHeader(http.StatusOK) // nothing subscribes: acknowledge
		return telemetry.WebhookIgnored
	}
	ctx := identity.SystemContext(r.Context())
	dup, err := h.Webhooks.Process(ctx, "stripe", pev)
	if err != nil {
		// 500 makes Stripe retry with backoff; nothing was recorded.
		h.Log.ErrorContext(ctx, "stripe webhook failed", "event", ev.ID, "type", string(ev.Type), "error", err.Error())
		http.Error(w, "processing failed", http.StatusInternalServerError)
		return telemetry.WebhookFailed
	}
	w.WriteHeader(http.StatusOK)
	if dup {
		h.Log.InfoContext(ctx, "stripe webhook duplicate ignored", "event", ev.ID)
		return telemetry.WebhookDuplicate
	}
	return telemetry.WebhookProcessed
}

// convert maps the Stripe events Frontdesk uses; ok is false for others.
func convert(ev stripego.Event) (payments.Event, bool, error) {
	out := payments.Event{ID: ev.ID, Type: payments.EventType(ev.Type), Created: ev.Created}
	if ev.Data == nil {
		return out, false, errors.New("event without data")
	}
	switch {
	case strings.HasPrefix(string(ev.Type), "payment_intent."):
		var pi stripego.PaymentIntent
		if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil {
			return out, false, fmt.Errorf("payment intent: %w", err)
		}
		out.IntentID, out.Amount, out.Currency, out.Metadata = pi.ID, pi.Amount, strings.ToUpper(string(pi.Currency)), pi.Metadata
		if pi.LastPaymentError != nil {
			out.FailureMessage = pi.LastPaymentError.Msg
		}
		return out, true, nil
	case ev.Type == "charge.refunded":
		var ch stripego.Charge
		if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil {
			return out, false, fmt.Errorf("charge: %w", err)
		}
		if ch.PaymentIntent != nil {
			out.IntentID = ch.PaymentIntent.ID
		}
		out.Amount, out.AmountRefunded, out.Currency, out.Metadata = ch.Amount, ch.AmountRefunded, strings.ToUpper(string(ch.Currency)), ch.Metadata
		return out, true, nil
	case ev.Type == "charge.dispute.created":
		var d stripego.Dispute
		if err := json.Unmarshal(ev.Data.Raw, &d); err != nil {
			return out, false, fmt.Errorf("dispute: %w", err)
		}
		if d.PaymentIntent != nil {
			out.IntentID = d.PaymentIntent.ID
		}
		out.Amount, out.Currency, out.Metadata = d.Amount, strings.ToUpper(string(d.Currency)), d.Metadata
		return out, true, nil
	}
	return out, false, nil
}
