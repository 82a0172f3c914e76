package telemetry

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TraceParent writes the W3C form of a sampled span and LinkTo reads it
// back as a remote span context; unsampled or absent spans give "", and
// what is not a traceparent gives no link.
func TestTraceParentRoundTrip(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "request")
	defer span.End()
	sc := span.SpanContext()
	got := TraceParent(ctx)
	if want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"; got != want {
		t.Fatalf("TraceParent = %q, want %q", got, want)
	}
	l, ok := LinkTo(got)
	if !ok || l.SpanContext.TraceID() != sc.TraceID() || l.SpanContext.SpanID() != sc.SpanID() ||
		!l.SpanContext.IsSampled() || !l.SpanContext.IsRemote() {
		t.Fatalf("LinkTo(%q) = %+v, %v", got, l.SpanContext, ok)
	}

	unsampled := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: sc.TraceID(), SpanID: sc.SpanID()}))
	if s := TraceParent(unsampled); s != "" {
		t.Errorf("unsampled span: TraceParent = %q", s)
	}
	if s := TraceParent(context.Background()); s != "" {
		t.Errorf("no span: TraceParent = %q", s)
	}
	for _, bad := range []string{"", "00-zz-yy-01", "00-00000000000000000000000000000000-0000000000000000-01"} {
		if _, ok := LinkTo(bad); ok {
			t.Errorf("LinkTo(%q) made a link", bad)
		}
	}
}

// What Enqueue pays: with tracing off (no span in the context) and with a
// sampled span.
func BenchmarkTraceParent(b *testing.B) {
	b.Run("off", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_ = TraceParent(ctx)
		}
	})
	b.Run("sampled", func(b *testing.B) {
		ctx, span := sdktrace.NewTracerProvider().Tracer("t").Start(context.Background(), "request")
		defer span.End()
		b.ReportAllocs()
		for b.Loop() {
			_ = TraceParent(ctx)
		}
	})
}
