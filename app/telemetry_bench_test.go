package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"frontdesk/app"
	"frontdesk/internal/testenv"
)

// BenchmarkGraphQLTracing measures what tracing adds to a small GraphQL
// query through the whole handler (request id, tracing, access log,
// identity, CORS, gqlgen): "off" is the default without an OTLP endpoint;
// "on" samples every request and batches spans to an exporter that drops
// them, so the figure is the SDK's cost without network time;
// "unsampled" is tracing on with the request sampled out (what most
// requests cost under OTEL_TRACES_SAMPLER=parentbased_traceidratio).
//
//	go test ./app -run '^$' -bench BenchmarkGraphQLTracing -benchmem -count 5
func BenchmarkGraphQLTracing(b *testing.B) {
	for _, mode := range []string{"off", "on", "unsampled"} {
		b.Run(mode, func(b *testing.B) {
			var opts app.Options
			if mode != "off" {
				sampler := sdktrace.AlwaysSample()
				if mode == "unsampled" {
					sampler = sdktrace.NeverSample()
				}
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), sdktrace.WithSampler(sampler))
				b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
				opts.TracerProvider = tp
			}
			cfg := testenv.Config(b)
			cfg.Workers = false
			a, err := app.New(context.Background(), cfg, app.NewLogger(io.Discard, "info"), opts)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = a.Close() })
			h := a.Server.Handler()
			const body = `{"query":"query Probe { __typename }"}`
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU(b)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			// CPU time of the whole process (the batch exporter's goroutine
			// and GC included) is steadier than wall time on a shared
			// machine.
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the process's user plus system CPU time in nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
