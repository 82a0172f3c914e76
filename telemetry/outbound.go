package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Transport is an http.RoundTripper for calls to an outside service: it
// times each call into frontdesk_outbound_request_duration_seconds under
// its integration and status code and, when tracing is on, wraps it in a
// client span and sends the W3C traceparent along. Every attempt counts,
// retries included.
//
// It is ours rather than otelhttp.NewTransport on purpose: otelhttp
// records url.full, the whole URL with its query string, and our calls put
// personal data there (the EHR patient searches send name and date of
// birth, Graph delta links carry their tokens). The span records the host
// only; attribute names come from the semconv package, not typed by hand.
type Transport struct {
	// Integration names the service: stripe, msgraph, ehr, sms.
	Integration string
	// Base makes the call (http.DefaultTransport when nil).
	Base    http.RoundTripper
	Metrics *Metrics
	// Tracer is nil when tracing is off.
	Tracer trace.Tracer
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	var span trace.Span
	if t.Tracer != nil {
		ctx, s := t.Tracer.Start(req.Context(), req.Method, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(
				semconv.HTTPRequestMethodKey.String(req.Method),
				semconv.ServerAddress(req.URL.Hostname()),
				attribute.String("frontdesk.integration", t.Integration),
			))
		span = s
		// A RoundTripper must not change the caller's request.
		req = req.Clone(ctx)
		propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	start := time.Now()
	resp, err := base.RoundTrip(req)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.Metrics.Outbound(t.Integration, code, time.Since(start))
	if span != nil {
		switch {
		case err != nil:
			span.SetStatus(codes.Error, err.Error())
		default:
			span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
			if resp.StatusCode >= 400 {
				span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
			}
		}
		span.End()
	}
	return resp, err
}

// HTTPClient returns a client for integration whose calls go through a
// Transport, with the given overall timeout.
func (t *Telemetry) HTTPClient(integration string, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &Transport{
		Integration: integration,
		Metrics:     t.metrics(),
		Tracer:      t.Tracer("frontdesk/outbound"),
	}}
}

func (t *Telemetry) metrics() *Metrics {
	if t == nil {
		return nil
	}
	return t.Metrics
}
