// Package telemetry owns what an operator watches Frontdesk through: the
// Prometheus registry and the metrics the domain packages report into, and
// OpenTelemetry tracing (set up from the standard OTEL_* environment
// variables, off when no OTLP endpoint is configured). It also carries the
// small pieces that put traces on requests, GraphQL operations, jobs and
// outbound calls, and trace ids on log records.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Options configure Setup.
type Options struct {
	// TracerProvider, when set, is used instead of one built from the
	// environment, and is not installed globally (tests pass one with an
	// in-memory exporter).
	TracerProvider trace.TracerProvider
	// Log receives errors from the trace exporter.
	Log *slog.Logger
	// StoreTTL is how long database statistics are reused between
	// scrapes [10s].
	StoreTTL time.Duration
}

// Telemetry is one process's registry, metrics and tracing.
type Telemetry struct {
	// Registry holds every Prometheus series the process exports.
	Registry *prometheus.Registry
	// Metrics are the series domain packages report into.
	Metrics *Metrics

	tp       trace.TracerProvider // nil: tracing is off
	shutdown func(context.Context) error
	storeTTL time.Duration
}

// Setup creates the registry and metrics and, when the environment names
// an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), a tracer provider that exports
// spans over OTLP/HTTP in batches; it is then installed as the global
// provider with the W3C trace-context propagator. Without an endpoint no
// provider is created, nothing is installed and no span is ever started.
// The exporter, sampler, batching and resource read their own OTEL_*
// variables (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_EXPORTER_OTLP_HEADERS,
// OTEL_BSP_*…).
func Setup(ctx context.Context, opts Options) (*Telemetry, error) {
	t := &Telemetry{Registry: prometheus.NewRegistry(), shutdown: func(context.Context) error { return nil }, storeTTL: opts.StoreTTL}
	if t.storeTTL <= 0 {
		t.storeTTL = 10 * time.Second
	}
	t.Metrics = newMetrics(t.Registry)
	if opts.TracerProvider != nil {
		t.tp = opts.TracerProvider
		return t, nil
	}
	on, err := tracingFromEnv(os.Getenv)
	if err != nil || !on {
		return t, err
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.Merge(
		resource.NewSchemaless(attribute.String("service.name", "frontdesk")),
		resource.Environment(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return nil, fmt.Errorf("trace resource (OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	// The sampler comes from OTEL_TRACES_SAMPLER, by default
	// parentbased_always_on.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	if opts.Log != nil {
		log := opts.Log
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("opentelemetry", "error", err.Error())
		}))
	}
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.tp = tp
	t.shutdown = tp.Shutdown
	return t, nil
}

// tracingFromEnv reports whether the environment asks for traces.
func tracingFromEnv(getenv func(string) string) (bool, error) {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false, nil
	}
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return false, nil
	}
	if e := getenv("OTEL_TRACES_EXPORTER"); e != "" && e != "otlp" {
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only otlp (or none) is supported", e)
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := getenv(name); p != "" && p != "http/protobuf" {
			return false, fmt.Errorf("%s=%q: only http/protobuf is supported (the collector's OTLP/HTTP port, usually 4318)", name, p)
		}
	}
	return true, nil
}

// Tracing reports whether spans are recorded.
func (t *Telemetry) Tracing() bool { return t != nil && t.tp != nil }

// TracerProvider is the provider in use, or nil when tracing is off.
func (t *Telemetry) TracerProvider() trace.TracerProvider {
	if t == nil {
		return nil
	}
	return t.tp
}

// Tracer returns a named tracer, or nil when tracing is off: callers skip
// span work entirely rather than pay for no-op spans.
func (t *Telemetry) Tracer(name string) trace.Tracer {
	if !t.Tracing() {
		return nil
	}
	return t.tp.Tracer(name)
}

// Shutdown flushes spans still in the batch and stops the exporter.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("telemetry shutdown: %w", err)
	}
	return nil
}

// propagator reads and writes W3C traceparent/tracestate headers. It is
// used directly, not through the global, so a test's provider works
// without touching process-wide state.
var propagator = propagation.TraceContext{}
