package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"frontdesk/app"
	"frontdesk/config"
	"frontdesk/ent/job"
	"frontdesk/internal/testenv"
	"frontdesk/notify"
	"frontdesk/payments"
)

// scrape GETs url with an optional Authorization header.
func scrape(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// series returns the value of one exposition line ("name{labels}"), or
// "" when the series is absent.
func series(body, name string) string {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v
		}
	}
	return ""
}

func TestMetricsRefuseRequestsWithoutTheToken(t *testing.T) {
	const token = "metrics-token-0123456789"
	s := start(t, func(c *config.Config) { c.MetricsToken = token })
	for _, auth := range []string{"", "Bearer wrong-token-0123456789", token} {
		if code, body := scrape(t, s.base+"/metrics", auth); code != http.StatusUnauthorized || strings.Contains(body, "frontdesk_") {
			t.Fatalf("/metrics with Authorization %q: %d %.80s", auth, code, body)
		}
	}
	code, body := scrape(t, s.base+"/metrics", "Bearer "+token)
	if code != http.StatusOK || !strings.Contains(body, "frontdesk_http_request_duration_seconds") {
		t.Fatalf("/metrics with the token: %d %.200s", code, body)
	}
}

func TestMetricsOnTheirOwnListener(t *testing.T) {
	s := start(t, func(c *config.Config) { c.MetricsAddr = "127.0.0.1:0" })
	addr := waitForLog(t, s, "serving metrics", "addr")
	if code, _ := scrape(t, s.base+"/metrics", ""); code != http.StatusNotFound {
		t.Fatalf("/metrics on the main listener: %d, want 404", code)
	}
	s.query(t, `{ __typename }`, nil)
	code, body := scrape(t, "http://"+addr+"/metrics", "")
	if code != http.StatusOK || series(body, `frontdesk_graphql_operation_duration_seconds_count{outcome="ok",type="query"}`) != "1" {
		t.Fatalf("metrics listener: %d %.300s", code, body)
	}
	if code, _ := scrape(t, "http://"+addr+"/healthz", ""); code != http.StatusNotFound {
		t.Fatalf("the metrics listener serves more than /metrics: %d", code)
	}
}

// waitForLog waits for a JSON log line with msg and returns its key
// attribute.
func waitForLog(t *testing.T, s *running, msg, key string) string {
	t.Helper()
	var v string
	testenv.Eventually(t, 10*time.Second, fmt.Sprintf("a %q log line", msg), func() bool {
		for _, line := range strings.Split(s.logs.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
				v, _ = rec[key].(string)
				return true
			}
		}
		return false
	})
	return v
}

// Deliveries are counted by outcome, and calls to Stripe (stripe-mock)
// by status, through the wiring the binary uses.
func TestMetricsCountWebhooksAndStripeCalls(t *testing.T) {
	const whsec = "whsec_metrics_e2e"
	s := start(t, func(c *config.Config) {
		c.StripeSecretKey = "sk_test_metrics"
		c.StripeAPIURL = testenv.StripeMock(t)
		c.StripeWebhookSecret = whsec
		c.StripeWebhookTolerance = 5 * time.Minute
	})
	if _, err := s.app.Payments.CreateIntent(context.Background(), payments.IntentParams{Amount: 1500, Currency: "AUD", IdempotencyKey: "metrics-e2e"}); err != nil {
		t.Fatal(err)
	}
	post := func(secret, id, typ string) int {
		t.Helper()
		payload, _ := json.Marshal(map[string]any{
			"id": id, "object": "event", "type": typ, "api_version": "2023-10-16", "created": time.Now().Unix(),
			"data": map[string]any{"object": map[string]any{
				"id": "pi_metrics_unknown", "object": "payment_intent", "amount": 1500, "currency": "aud", "status": "succeeded",
			}},
		})
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: time.Now()})
		req, _ := http.NewRequest(http.MethodPost, s.base+"/webhooks/stripe", bytes.NewReader(payload))
		req.Header.Set("Stripe-Signature", signed.Header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, d := range []struct {
		secret, id, typ string
		want            int
	}{
		{"whsec_forged", "evt_m1", "payment_intent.succeeded", 400},
		{whsec, "evt_m1", "payment_intent.succeeded", 200},
		{whsec, "evt_m1", "payment_intent.succeeded", 200}, // redelivery
		{whsec, "evt_m2", "customer.created", 200},         // nobody subscribes
	} {
		if code := post(d.secret, d.id, d.typ); code != d.want {
			t.Fatalf("%s %s: %d, want %d", d.id, d.secret, code, d.want)
		}
	}
	_, body := scrape(t, s.base+"/metrics", "")
	for name, want := range map[string]string{
		`frontdesk_webhook_deliveries_total{outcome="rejected",source="stripe"}`:             "1",
		`frontdesk_webhook_deliveries_total{outcome="processed",source="stripe"}`:            "1",
		`frontdesk_webhook_deliveries_total{outcome="duplicate",source="stripe"}`:            "1",
		`frontdesk_webhook_deliveries_total{outcome="ignored",source="stripe"}`:              "1",
		`frontdesk_outbound_request_duration_seconds_count{code="200",integration="stripe"}`: "1",
		`frontdesk_store_stats_up`: "1",
	} {
		if got := series(body, name); got != want {
			t.Errorf("%s = %q, want %s", name, got, want)
		}
	}
}

// A GraphQL request makes a server span that continues the client's
// trace, with the operation's span inside it; the request id and trace id
// are logged together; variables appear nowhere in the spans.
func TestTracesFollowAGraphQLRequest(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	s := startWith(t, nil, app.Options{TracerProvider: tp})

	const (
		clientTrace = "0af7651916cd43dd8448eb211c80319c"
		clientSpan  = "b7ad6b7169203331"
		secret      = "pw-7f3c-never-in-a-span"
		email       = "traced.person@example.com"
	)
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation SignIn($in: SignInInput!) { signIn(input: $in) { userErrors { code } } }`,
		"variables": map[string]any{"in": map[string]any{"email": email, "password": secret}},
	})
	r := s.post(t, string(body), "traceparent", "00-"+clientTrace+"-"+clientSpan+"-01", "X-Request-ID", "trace-test-1")
	if r.status != http.StatusOK {
		t.Fatalf("signIn: %d %v", r.status, r.Errors)
	}
	spans := waitForSpans(t, exp, "POST /graphql", "mutation SignIn")
	httpSpan, opSpan := spans["POST /graphql"], spans["mutation SignIn"]
	if got := httpSpan.SpanContext.TraceID().String(); got != clientTrace {
		t.Errorf("server span trace %s, want the client's %s", got, clientTrace)
	}
	if got := httpSpan.Parent.SpanID().String(); got != clientSpan || !httpSpan.Parent.IsRemote() {
		t.Errorf("server span parent %s (remote %v), want the client's %s", got, httpSpan.Parent.IsRemote(), clientSpan)
	}
	if httpSpan.SpanKind != trace.SpanKindServer {
		t.Errorf("server span kind %v", httpSpan.SpanKind)
	}
	wantAttrs(t, httpSpan, map[string]string{"http.route": "/graphql", "http.request.method": "POST",
		"http.response.status_code": "200", "frontdesk.request_id": "trace-test-1"})
	if opSpan.Parent.SpanID() != httpSpan.SpanContext.SpanID() {
		t.Errorf("operation span's parent is %s, want the server span %s", opSpan.Parent.SpanID(), httpSpan.SpanContext.SpanID())
	}
	wantAttrs(t, opSpan, map[string]string{"graphql.operation.type": "mutation", "graphql.operation.name": "SignIn"})
	for _, sp := range exp.GetSpans() {
		dump, _ := json.Marshal(sp)
		if strings.Contains(string(dump), secret) || strings.Contains(string(dump), email) {
			t.Errorf("span %q carries a variable: %s", sp.Name, dump)
		}
	}
	// The operation's log line names the request and the trace.
	found := false
	for _, line := range strings.Split(s.logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "graphql operation" && rec["operation"] == "SignIn" {
			found = true
			if rec["trace_id"] != clientTrace || rec["request_id"] != "trace-test-1" || rec["span_id"] != opSpan.SpanContext.SpanID().String() {
				t.Errorf("log line lacks the trace or request id: %s", line)
			}
		}
	}
	if !found {
		t.Error("no graphql operation log line")
	}

	// Errors mark the operation span with their codes; probes make no
	// spans.
	exp.Reset()
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, _ := scrape(t, s.base+path, ""); code != http.StatusOK {
			t.Fatalf("%s: %d", path, code)
		}
	}
	r = s.post(t, `{"query":"query Counts { jobCounts { pending } }"}`)
	wantCode(t, r, "UNAUTHENTICATED")
	got := waitForSpans(t, exp, "query Counts", "POST /graphql")
	for name := range got {
		if strings.HasPrefix(name, "GET ") {
			t.Errorf("a probe made a span: %q", name)
		}
	}
	op := got["query Counts"]
	wantAttrs(t, op, map[string]string{"graphql.error.codes": `["UNAUTHENTICATED"]`})
	if op.Status.Code.String() != "Error" {
		t.Errorf("failed operation's span status %v", op.Status)
	}
}

// waitForSpans waits until the exporter holds spans with every name (the
// server span ends just after the response is written).
func waitForSpans(t *testing.T, exp *tracetest.InMemoryExporter, names ...string) map[string]tracetest.SpanStub {
	t.Helper()
	var got map[string]tracetest.SpanStub
	testenv.Eventually(t, 10*time.Second, fmt.Sprintf("spans %v recorded", names), func() bool {
		got = map[string]tracetest.SpanStub{}
		for _, sp := range exp.GetSpans() {
			got[sp.Name] = sp
		}
		for _, n := range names {
			if _, ok := got[n]; !ok {
				return false
			}
		}
		return true
	})
	return got
}

func wantAttrs(t *testing.T, sp tracetest.SpanStub, want map[string]string) {
	t.Helper()
	have := map[string]string{}
	for _, a := range sp.Attributes {
		have[string(a.Key)] = a.Value.Emit()
	}
	for k, v := range want {
		if have[k] != v {
			t.Errorf("span %q: %s = %q, want %q (all: %v)", sp.Name, k, have[k], v, have)
		}
	}
}

// FRONTDESK_METRICS_ADDR=off (the production default without a token)
// serves /metrics nowhere and says so at start.
func TestMetricsOff(t *testing.T) {
	s := start(t, func(c *config.Config) { c.MetricsAddr = config.MetricsOff })
	if code, _ := scrape(t, s.base+"/metrics", ""); code != http.StatusNotFound {
		t.Fatalf("/metrics with metrics off: %d, want 404", code)
	}
	waitForLog(t, s, "/metrics is not served: set FRONTDESK_METRICS_ADDR (a listener of its own) or FRONTDESK_METRICS_TOKEN (bearer token on the main listener)", "level")
}

// `frontdesk worker` has no API listener; it serves its metrics (the jobs
// it ran, the job table) on FRONTDESK_METRICS_ADDR.
func TestWorkerServesMetricsOnItsOwnListener(t *testing.T) {
	cfg := testenv.Config(t)
	cfg.MetricsAddr = "127.0.0.1:0"
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.NewLogger(logs, "debug"), app.Options{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Work(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := errors.Join(<-done, a.Close()); err != nil {
			t.Errorf("worker stop: %v", err)
		}
	})
	addr := waitForLog(t, &running{logs: logs}, "serving metrics", "addr")
	code, body := scrape(t, "http://"+addr+"/metrics", "")
	if code != http.StatusOK || series(body, `frontdesk_outbox_jobs{kind="notify.email",state="DEAD"}`) != "0" {
		t.Fatalf("worker metrics: %d %.300s", code, body)
	}
}

// A WebSocket connection gets no server span (it lasts hours); a query
// sent over it is traced as an operation of its own.
func TestWebSocketIsNotOneLongSpan(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	s := startWith(t, nil, app.Options{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))})
	c := dialWS(t, s, "graphql-transport-ws", nil)
	must(t, c.WriteJSON(map[string]any{"type": "connection_init"}))
	readUntil(t, c, "connection_ack")
	must(t, c.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "query OverWS { __typename }"}}))
	if m := readUntil(t, c, "next"); m["payload"] == nil {
		t.Fatalf("query over the WebSocket: %v", m)
	}
	c.Close()
	testenv.Eventually(t, 10*time.Second, "the WebSocket closed", func() bool { return s.app.Server.OpenWebSockets() == 0 })
	got := waitForSpans(t, exp, "query OverWS")
	for name := range got {
		if strings.HasPrefix(name, "GET") {
			t.Errorf("the WebSocket upgrade made a span: %q", name)
		}
	}
	if got["query OverWS"].Parent.IsValid() {
		t.Errorf("an operation over a WebSocket has a parent span: %v", got["query OverWS"].Parent)
	}
}

// An email a traced request enqueues is sent by a job whose span starts a
// trace of its own but links to the request's span, so the request's
// trace leads to the job. A request whose trace is not sampled (flags 00)
// stores nothing to link to.
func TestJobSpanLinksToTheRequestThatEnqueuedIt(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	s := startWith(t, nil, app.Options{TracerProvider: tp})

	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	register := func(email, flags string) {
		t.Helper()
		r := s.gqlAs(t, registerOp, map[string]any{"in": map[string]any{"email": email, "password": "a long passphrase"}},
			"traceparent", "00-"+clientTrace+"-00f067aa0ba902b7-"+flags)
		if len(r.Errors) > 0 || field(r, "register.token") == nil {
			t.Fatalf("register %s: %+v %v", email, r.Errors, r.Data)
		}
	}
	register("linked@example.com", "01")
	spans := waitForSpans(t, exp, "job "+notify.KindEmail)
	jobSpan := spans["job "+notify.KindEmail]
	if jobSpan.Parent.IsValid() || jobSpan.SpanContext.TraceID().String() == clientTrace {
		t.Errorf("job span parent %v, trace %s: want a root span in a trace of its own", jobSpan.Parent, jobSpan.SpanContext.TraceID())
	}
	if len(jobSpan.Links) != 1 {
		t.Fatalf("job span links %+v, want one to the request", jobSpan.Links)
	}
	link := jobSpan.Links[0].SpanContext
	if link.TraceID().String() != clientTrace || !link.IsSampled() {
		t.Errorf("job span links to trace %s (sampled %v), want the request's %s", link.TraceID(), link.IsSampled(), clientTrace)
	}
	var linked string
	for _, sp := range exp.GetSpans() {
		if sp.SpanContext.SpanID() == link.SpanID() && sp.SpanContext.TraceID() == link.TraceID() {
			linked = sp.Name
		}
	}
	if linked == "" {
		t.Errorf("the link names span %s, which the request did not record", link.SpanID())
	}

	ctx := context.Background()
	row := s.app.DB.Client.Job.Query().Where(job.Kind(notify.KindEmail)).OnlyX(ctx)
	if row.TraceParent == nil || !strings.HasPrefix(*row.TraceParent, "00-"+clientTrace+"-") {
		t.Errorf("job trace_parent %v, want the request's trace", row.TraceParent)
	}

	register("unsampled@example.com", "00")
	if n := s.app.DB.Client.Job.Query().Where(job.Kind(notify.KindEmail), job.TraceParentIsNil()).CountX(ctx); n != 1 {
		t.Errorf("%d jobs without a trace_parent after an unsampled request, want 1", n)
	}
}

// Without tracing, jobs keep no trace context at all.
func TestJobsKeepNoTraceWithoutTracing(t *testing.T) {
	s := start(t, nil)
	s.signUp(t, "untraced@example.com", "")
	ctx := context.Background()
	all := s.app.DB.Client.Job.Query().Where(job.Kind(notify.KindEmail)).CountX(ctx)
	if n := s.app.DB.Client.Job.Query().Where(job.TraceParentNotNil()).CountX(ctx); all == 0 || n != 0 {
		t.Errorf("%d of %d jobs have a trace_parent with tracing off, want 0 of at least 1", n, all)
	}
}
