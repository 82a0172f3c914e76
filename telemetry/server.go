package telemetry

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// StartRequest starts the server span of an incoming request, as a child
// of the client's span when the request carries a valid W3C traceparent.
// The span is named after the method until Finish names the route.
// Only the path is recorded, never the query string (GET requests carry
// GraphQL variables there). The server middleware calls it rather than
// wrapping the mux in otelhttp.NewHandler, whose span would start before
// the request id exists and end before the matched route is known; the
// attribute names come from the semconv package.
func StartRequest(tracer trace.Tracer, r *http.Request, requestID string) (context.Context, trace.Span) {
	ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	return tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		semconv.HTTPRequestMethodKey.String(r.Method),
		semconv.URLPath(r.URL.Path),
		attribute.String("frontdesk.request_id", requestID),
	))
}

// FinishRequest names the span "<method> <route>" (route being the
// matched pattern, never the raw path), records the status and ends it.
func FinishRequest(span trace.Span, method, route string, status int) {
	if !span.IsRecording() {
		// Sampled out: naming and attributes would be thrown away.
		span.End()
		return
	}
	// A ServeMux pattern may start with its method ("GET /healthz").
	if i := strings.IndexByte(route, ' '); i >= 0 {
		route = route[i+1:]
	}
	if route != "" {
		span.SetName(method + " " + route)
		span.SetAttributes(semconv.HTTPRoute(route))
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}
