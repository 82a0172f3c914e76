package outbox

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"frontdesk/ent"
	"frontdesk/telemetry"
)

// startSpan starts a root span for one run of j when tracing is on: jobs
// run long after, and apart from, the request that enqueued them. When
// the enqueuing span was traced (j.TraceParent), the job's span links to
// it, as OpenTelemetry recommends for messages consumed asynchronously.
// The span is nil when tracing is off.
func (w *Worker) startSpan(ctx context.Context, j *ent.Job) (context.Context, trace.Span) {
	if w.opts.Tracer == nil {
		return ctx, nil
	}
	opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("frontdesk.job.kind", j.Kind),
			attribute.String("frontdesk.job.id", j.ID.String()),
			attribute.Int("frontdesk.job.attempt", j.Attempts),
		)}
	if j.TraceParent != nil {
		if l, ok := telemetry.LinkTo(*j.TraceParent); ok {
			opts = append(opts, trace.WithLinks(l))
		}
	}
	return w.opts.Tracer.Start(ctx, "job "+j.Kind, opts...)
}

// observe counts a finished run under its outcome and ends its span.
func (w *Worker) observe(span trace.Span, o outcome) {
	var result string
	switch {
	case o.released:
		result = telemetry.JobReleased
	case o.err == nil:
		result = telemetry.JobSucceeded
	case IsPermanent(o.err) || o.j.Attempts >= o.j.MaxAttempts:
		result = telemetry.JobDead
	default:
		result = telemetry.JobRetry
	}
	w.opts.Metrics.JobRan(o.j.Kind, result, o.ran)
	if span == nil {
		return
	}
	span.SetAttributes(attribute.String("frontdesk.job.outcome", result))
	if o.err != nil && !errors.Is(o.err, context.Canceled) {
		span.SetStatus(codes.Error, truncate(o.err.Error(), 500))
	}
	span.End()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
