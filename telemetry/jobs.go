package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TraceParent returns the W3C traceparent of ctx's span when it is valid
// and sampled, and "" otherwise (always "" when tracing is off: no span
// is ever started then). The outbox stores it on the jobs a request
// enqueues, so the job's span can link back to the request's trace.
func TraceParent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		return ""
	}
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}

// LinkTo returns a span link to the span a stored traceparent names; ok
// is false when it is not a valid traceparent.
func LinkTo(traceparent string) (_ trace.Link, ok bool) {
	ctx := propagator.Extract(context.Background(), propagation.MapCarrier{"traceparent": traceparent})
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return trace.Link{}, false
	}
	return trace.Link{SpanContext: sc}, true
}
