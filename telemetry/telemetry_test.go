package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clearOTel empties every OTEL_* variable Setup looks at.
func clearOTel(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED",
		"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SERVICE_NAME"} {
		t.Setenv(k, "")
	}
}

func TestNoEndpointInstallsNoTracerProvider(t *testing.T) {
	clearOTel(t)
	before := otel.GetTracerProvider()
	tel, err := Setup(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tel.Tracing() || tel.TracerProvider() != nil || tel.Tracer("x") != nil {
		t.Fatal("tracing is on without an endpoint")
	}
	if after := otel.GetTracerProvider(); after != before {
		t.Fatalf("global tracer provider replaced: %T", after)
	}
	if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); ok {
		t.Fatal("an SDK tracer provider is installed")
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// With an endpoint, spans reach an OTLP/HTTP collector (here a test
// server standing in for one) by Shutdown at the latest, with the service
// name from OTEL_SERVICE_NAME.
func TestEndpointExportsSpansOverOTLPHTTP(t *testing.T) {
	clearOTel(t)
	var (
		mu    sync.Mutex
		paths []string
		body  []byte
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths = append(paths, r.URL.Path)
		body = append(body, b...)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "frontdesk-test-svc")
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	tel, err := Setup(context.Background(), Options{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if !tel.Tracing() {
		t.Fatal("tracing off with an endpoint")
	}
	if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); !ok {
		t.Fatalf("global provider is %T", otel.GetTracerProvider())
	}
	_, span := tel.Tracer("test").Start(context.Background(), "exported-span")
	span.End()
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) == 0 || paths[0] != "/v1/traces" {
		t.Fatalf("collector got %v", paths)
	}
	if !bytes.Contains(body, []byte("exported-span")) || !bytes.Contains(body, []byte("frontdesk-test-svc")) {
		t.Fatalf("export lacks the span or service name: %q", body)
	}
}

func TestTracingFromEnv(t *testing.T) {
	for _, c := range []struct {
		env     map[string]string
		on      bool
		wantErr string
	}{
		{nil, false, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, true, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, true, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, false, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, false, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "zipkin"}, false, "OTEL_TRACES_EXPORTER"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, false, "http/protobuf"},
	} {
		on, err := tracingFromEnv(func(k string) string { return c.env[k] })
		if on != c.on || (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%v: on=%v err=%v, want on=%v err containing %q", c.env, on, err, c.on, c.wantErr)
		}
	}
}

// Outbound calls are timed by integration and status (or "error"), and
// with tracing on they carry the client span's traceparent.
func TestTransportCountsAndPropagates(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tel, err := Setup(context.Background(), Options{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))})
	if err != nil {
		t.Fatal(err)
	}
	var gotParent string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotParent = r.Header.Get("traceparent")
		if r.URL.Path == "/busy" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "{}")
	}))
	client := tel.HTTPClient("ehr", 5*time.Second)
	get := func(url string) {
		t.Helper()
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
		}
	}
	get(srv.URL + "/ok")
	get(srv.URL + "/ok")
	get(srv.URL + "/busy")
	spans := exp.GetSpans()
	if len(spans) != 3 || spans[2].SpanKind != trace.SpanKindClient {
		t.Fatalf("spans: %v", spans)
	}
	if want := "00-" + spans[2].SpanContext.TraceID().String() + "-" + spans[2].SpanContext.SpanID().String() + "-01"; gotParent != want {
		t.Errorf("traceparent sent %q, want %q", gotParent, want)
	}
	srv.Close()
	get(srv.URL + "/ok") // nothing answers
	got := collected(t, tel.Registry)
	for code, want := range map[string]float64{"200": 2, "503": 1, "error": 1} {
		name := `frontdesk_outbound_request_duration_seconds{code="` + code + `",integration="ehr"}`
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}

// collected gathers c into "name{label="value",…}" → value (the sample
// count for histograms).
func collected(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		// A registry is itself a gatherer; use it as is.
		g, ok := c.(prometheus.Gatherer)
		if !ok {
			t.Fatal(err)
		}
		return gathered(t, g)
	}
	return gathered(t, reg)
}

func gathered(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			name := f.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Gauge != nil:
				out[name] = m.Gauge.GetValue()
			case m.Counter != nil:
				out[name] = m.Counter.GetValue()
			case m.Histogram != nil:
				out[name] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

// Records logged inside a span carry its trace and span ids.
func TestLogHandlerAddsTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler{slog.NewJSONHandler(&buf, nil)}).With("component", "test")
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "op")
	log.InfoContext(ctx, "inside")
	span.End()
	log.InfoContext(context.Background(), "outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var in, out map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &in)
	_ = json.Unmarshal([]byte(lines[1]), &out)
	if in["trace_id"] != span.SpanContext().TraceID().String() || in["span_id"] != span.SpanContext().SpanID().String() {
		t.Errorf("inside a span: %s", lines[0])
	}
	if _, ok := out["trace_id"]; ok {
		t.Errorf("outside a span: %s", lines[1])
	}
}

// The store collector asks the owners at most once per TTL, reports
// subscription expiry, and turns a failure into frontdesk_store_stats_up 0
// rather than a failed scrape.
func TestStoreCollector(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	expiry := now.Add(48 * time.Hour)
	pending, asked := 1, 0
	var failure error
	src := StoreSources{
		Jobs: func(context.Context) (JobStats, error) {
			asked++
			return JobStats{Counts: map[JobKey]int{{"a", "PENDING"}: pending, {"a", "DEAD"}: 0},
				OldestDue: now.Add(-time.Minute)}, failure
		},
		Subscriptions: func(context.Context) (SubscriptionStats, error) {
			return SubscriptionStats{ByState: map[string]int{"ACTIVE": 1, "FAILING": 1, "PENDING": 1}, NextExpiry: expiry}, nil
		},
	}
	c := &storeCollector{src: src, ttl: time.Minute, log: quiet, now: func() time.Time { return now }}
	want := func(name string, v float64) {
		t.Helper()
		if got, ok := collected(t, c)[name]; !ok || got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	want(`frontdesk_outbox_jobs{kind="a",state="PENDING"}`, 1)
	want(`frontdesk_outbox_jobs{kind="a",state="DEAD"}`, 0)
	want(`frontdesk_outbox_oldest_due_job_age_seconds`, 60)
	want(`frontdesk_calendar_subscriptions{state="ACTIVE"}`, 1)
	want(`frontdesk_calendar_subscription_next_expiry_timestamp_seconds`, float64(expiry.Unix()))
	want(`frontdesk_store_stats_up`, 1)

	pending = 2
	want(`frontdesk_outbox_jobs{kind="a",state="PENDING"}`, 1) // cached
	now = now.Add(time.Minute)
	want(`frontdesk_outbox_jobs{kind="a",state="PENDING"}`, 2)
	if asked != 2 {
		t.Errorf("%d queries for two TTL periods", asked)
	}

	failure = errors.New("database gone")
	now = now.Add(time.Minute)
	want(`frontdesk_store_stats_up`, 0)
	if n := len(collected(t, c)); n != 1 {
		t.Errorf("after a database failure the collector reports %d series, want only frontdesk_store_stats_up", n)
	}
}

// An outbound span records the host, never the URL's query string, which
// carries personal data (an EHR patient search sends name and birth date).
func TestTransportSpanLeavesTheQueryOut(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tel, err := Setup(context.Background(), Options{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	resp, err := tel.HTTPClient("ehr", 5*time.Second).Get(srv.URL + "/Patient?family=Lovelace&birthdate=1815-12-10")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("spans: %v", spans)
	}
	attrs := map[string]string{}
	for _, a := range spans[0].Attributes {
		attrs[string(a.Key)] = a.Value.Emit()
		if strings.Contains(a.Value.Emit(), "Lovelace") || strings.Contains(a.Value.Emit(), "1815") {
			t.Errorf("attribute %s = %q carries the query string", a.Key, a.Value.Emit())
		}
	}
	if attrs["http.request.method"] != "GET" || attrs["server.address"] != "127.0.0.1" || attrs["http.response.status_code"] != "200" {
		t.Errorf("attributes = %v", attrs)
	}
}
