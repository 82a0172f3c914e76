package outbox

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/job"
	"frontdesk/internal/testenv"
	"frontdesk/telemetry"
)

// gauge finds the value of a series in the registry; ok is false when it
// is absent.
func value(t *testing.T, tel *telemetry.Telemetry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	fams, err := tel.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			return metricValue(m), true
		}
	}
	return 0, false
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

// Jobs enqueued, run, and one failed: the database collector reports them
// by kind and state (one DEAD), the worker counts attempts and times
// handlers, and each run is a root span named after its kind.
func TestJobMetricsAndSpans(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{TracerProvider: tp, StoreTTL: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	reg.Register(Kind{Name: "t.ok", Handler: func(context.Context, *Running) error { return nil }, Backoff: noBackoff})
	reg.Register(Kind{Name: "t.fail", Handler: func(context.Context, *Running) error {
		return Permanent(errors.New("recipient refused"))
	}, Backoff: noBackoff})
	reg.Register(Kind{Name: "t.later", Handler: func(context.Context, *Running) error { return nil }})
	tel.CollectStore(telemetry.StoreSources{
		Jobs: func(ctx context.Context) (telemetry.JobStats, error) {
			return Stats(ctx, db.Client, reg.Names(), time.Now())
		},
		Subscriptions: func(context.Context) (telemetry.SubscriptionStats, error) { return telemetry.SubscriptionStats{}, nil },
	}, quiet)

	for range 3 {
		enqueue(t, db.Client, Job{Kind: "t.ok"})
	}
	enqueue(t, db.Client, Job{Kind: "t.fail"})
	enqueue(t, db.Client, Job{Kind: "t.later", RunAt: time.Now().Add(time.Hour)})

	jobs := func(kind, state string) float64 {
		t.Helper()
		v, ok := value(t, tel, "frontdesk_outbox_jobs", map[string]string{"kind": kind, "state": state})
		if !ok {
			t.Fatalf("no frontdesk_outbox_jobs{kind=%q,state=%q}", kind, state)
		}
		return v
	}
	if p, f, l := jobs("t.ok", "PENDING"), jobs("t.fail", "PENDING"), jobs("t.later", "PENDING"); p != 3 || f != 1 || l != 1 {
		t.Fatalf("before the worker: PENDING t.ok=%v t.fail=%v t.later=%v", p, f, l)
	}
	if age, _ := value(t, tel, "frontdesk_outbox_oldest_due_job_age_seconds", nil); age <= 0 {
		t.Fatalf("oldest due job age %v with due jobs waiting", age)
	}

	w := newWorker(db, reg, Options{Metrics: tel.Metrics, Tracer: tp.Tracer("test")})
	drain(t, w)

	for _, c := range []struct {
		kind, state string
		want        float64
	}{
		{"t.ok", "PENDING", 0}, {"t.ok", "RUNNING", 0}, {"t.ok", "DEAD", 0},
		{"t.fail", "PENDING", 0}, {"t.fail", "DEAD", 1},
		{"t.later", "PENDING", 1},
	} {
		if got := jobs(c.kind, c.state); got != c.want {
			t.Errorf("frontdesk_outbox_jobs{kind=%q,state=%q} = %v, want %v", c.kind, c.state, got, c.want)
		}
	}
	if age, _ := value(t, tel, "frontdesk_outbox_oldest_due_job_age_seconds", nil); age != 0 {
		t.Errorf("oldest due job age %v with nothing due", age)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"frontdesk_outbox_job_attempts_total", map[string]string{"kind": "t.ok", "outcome": "succeeded"}, 3},
		{"frontdesk_outbox_job_attempts_total", map[string]string{"kind": "t.fail", "outcome": "dead"}, 1},
		{"frontdesk_outbox_job_duration_seconds", map[string]string{"kind": "t.ok"}, 3},
		{"frontdesk_outbox_job_duration_seconds", map[string]string{"kind": "t.fail"}, 1},
	} {
		if got, _ := value(t, tel, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	spans := exp.GetSpans()
	byName := map[string]int{}
	for _, sp := range spans {
		byName[sp.Name]++
		if sp.Parent.IsValid() || sp.SpanKind != trace.SpanKindConsumer {
			t.Errorf("span %q: parent %v, kind %v; want a root consumer span", sp.Name, sp.Parent, sp.SpanKind)
		}
		attrs := map[string]string{}
		for _, a := range sp.Attributes {
			attrs[string(a.Key)] = a.Value.Emit()
		}
		kind := strings.TrimPrefix(sp.Name, "job ")
		if attrs["frontdesk.job.kind"] != kind || !strings.HasPrefix(attrs["frontdesk.job.id"], "job_") {
			t.Errorf("span %q attributes %v", sp.Name, attrs)
		}
		if want := map[bool]codes.Code{true: codes.Error, false: codes.Unset}[kind == "t.fail"]; sp.Status.Code != want {
			t.Errorf("span %q status %v, want %v", sp.Name, sp.Status.Code, want)
		}
	}
	if byName["job t.ok"] != 3 || byName["job t.fail"] != 1 || len(spans) != 4 {
		t.Errorf("job spans: %v", byName)
	}
}

// A worker without telemetry counts nothing and starts no span (the
// options are optional): its jobs still run to success, the handler sees
// no span, and nothing is sent to the global tracer provider either.
func TestWorkerWithoutTelemetry(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	exp := tracetest.NewInMemoryExporter()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	reg := NewRegistry()
	ran, hadSpan := 0, false
	reg.Register(Kind{Name: "t.ok", Handler: func(ctx context.Context, _ *Running) error {
		ran++
		hadSpan = hadSpan || trace.SpanFromContext(ctx).SpanContext().IsValid()
		return nil
	}})
	j := enqueue(t, db.Client, Job{Kind: "t.ok"})
	drain(t, newWorker(db, reg, Options{}))
	if ran != 1 {
		t.Fatalf("handler ran %d times, want 1", ran)
	}
	if state := db.Client.Job.GetX(context.Background(), j.ID).State; state != job.StateSUCCEEDED {
		t.Fatalf("job state %s, want SUCCEEDED", state)
	}
	if hadSpan || len(exp.GetSpans()) != 0 {
		t.Fatalf("a worker without a tracer started spans: in handler %v, global %d", hadSpan, len(exp.GetSpans()))
	}
}

// A job enqueued under a sampled span keeps its traceparent and its run's
// root span links to that span; one enqueued under an unsampled span, or
// with no span, keeps nothing and its span has no link.
func TestJobSpanLinksToTheEnqueuingSpan(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	reg := NewRegistry()
	reg.Register(Kind{Name: "t.ok", Handler: func(context.Context, *Running) error { return nil }})

	ctx, req := tp.Tracer("test").Start(context.Background(), "request")
	sampled := enqueueCtx(t, ctx, db.Client, Job{Kind: "t.ok", IdempotencyKey: "sampled"})
	req.End()
	unsampled := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}}))
	notSampled := enqueueCtx(t, unsampled, db.Client, Job{Kind: "t.ok", IdempotencyKey: "unsampled"})
	plain := enqueueCtx(t, context.Background(), db.Client, Job{Kind: "t.ok", IdempotencyKey: "plain"})

	want := "00-" + req.SpanContext().TraceID().String() + "-" + req.SpanContext().SpanID().String() + "-01"
	if sampled.TraceParent == nil || *sampled.TraceParent != want {
		t.Errorf("trace_parent %v, want %s", sampled.TraceParent, want)
	}
	if notSampled.TraceParent != nil || plain.TraceParent != nil {
		t.Errorf("trace_parent %v (unsampled), %v (no span): want none", notSampled.TraceParent, plain.TraceParent)
	}

	exp.Reset()
	drain(t, newWorker(db, reg, Options{Tracer: tp.Tracer("test")}))
	links := map[string][]sdktrace.Link{}
	for _, sp := range exp.GetSpans() {
		for _, a := range sp.Attributes {
			if a.Key == "frontdesk.job.id" {
				links[a.Value.AsString()] = sp.Links
			}
		}
		if sp.Parent.IsValid() {
			t.Errorf("job span %q has parent %v; want a root span", sp.Name, sp.Parent)
		}
	}
	if l := links[sampled.ID.String()]; len(l) != 1 || l[0].SpanContext.TraceID() != req.SpanContext().TraceID() ||
		l[0].SpanContext.SpanID() != req.SpanContext().SpanID() || !l[0].SpanContext.IsRemote() {
		t.Errorf("sampled job's span links %+v, want one to the request span %v", l, req.SpanContext())
	}
	for _, id := range []string{notSampled.ID.String(), plain.ID.String()} {
		if l, ok := links[id]; !ok || len(l) != 0 {
			t.Errorf("job %s: span found %v, links %+v; want a span without links", id, ok, l)
		}
	}
}

func enqueueCtx(t *testing.T, ctx context.Context, client *ent.Client, j Job) *ent.Job {
	t.Helper()
	tx, err := client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := Enqueue(ctx, tx, j)
	if err != nil {
		t.Fatal(errors.Join(err, tx.Rollback()))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return client.Job.GetX(context.Background(), id)
}
