package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the counters and histograms that domain packages and
// integrations report into. Every method is safe on a nil *Metrics, so
// code built without telemetry (unit tests, tools) needs no checks.
//
// Labels are bounded sets only: job kinds, webhook sources and outcomes,
// integration names, status codes. Never ids or raw paths.
type Metrics struct {
	jobAttempts *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	webhooks    *prometheus.CounterVec
	outbound    *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		jobAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "frontdesk_outbox_job_attempts_total",
			Help: "Outbox job attempts run by this process, by kind and outcome (succeeded, retry, dead, released, lease_expired).",
		}, []string{"kind", "outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "frontdesk_outbox_job_duration_seconds",
			Help:    "Time outbox job handlers took, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"kind"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "frontdesk_webhook_deliveries_total",
			Help: "Webhook deliveries received, by source (stripe, msgraph) and outcome.",
		}, []string{"source", "outcome"}),
		outbound: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "frontdesk_outbound_request_duration_seconds",
			Help:    "Calls to outside services, by integration and status code (HTTP status, SMTP reply code, or error when no answer came).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"integration", "code"}),
	}
	reg.MustRegister(m.jobAttempts, m.jobDuration, m.webhooks, m.outbound)
	return m
}

// Job outcomes, as counted by JobRan.
const (
	JobSucceeded    = "succeeded"
	JobRetry        = "retry"
	JobDead         = "dead"
	JobReleased     = "released"
	JobLeaseExpired = "lease_expired"
)

// JobRan counts one attempt of a job of kind and, when its handler ran,
// how long it took.
func (m *Metrics) JobRan(kind, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.jobAttempts.WithLabelValues(kind, outcome).Inc()
	if d > 0 {
		m.jobDuration.WithLabelValues(kind).Observe(d.Seconds())
	}
}

// Webhook delivery outcomes, as counted by Webhook.
const (
	// WebhookProcessed: recorded and handled.
	WebhookProcessed = "processed"
	// WebhookDuplicate: an event id seen before; nothing changed.
	WebhookDuplicate = "duplicate"
	// WebhookIgnored: valid, but nothing subscribes to it.
	WebhookIgnored = "ignored"
	// WebhookRejected: failed verification (signature, client state).
	WebhookRejected = "rejected"
	// WebhookInvalid: a body that could not be read.
	WebhookInvalid = "invalid"
	// WebhookFailed: processing failed; the sender will retry.
	WebhookFailed = "failed"
	// WebhookValidation: Microsoft Graph's subscription handshake.
	WebhookValidation = "validation"
)

// Webhook counts one delivery from source with its outcome.
func (m *Metrics) Webhook(source, outcome string) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(source, outcome).Add(1)
}

// Outbound records one call to integration that took d and ended with
// code ("200", "250", or "error").
func (m *Metrics) Outbound(integration, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.outbound.WithLabelValues(integration, code).Observe(d.Seconds())
}
