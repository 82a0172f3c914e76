package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"

	"frontdesk/app"
	"frontdesk/config"
	"frontdesk/gid"
	"frontdesk/internal/testenv"
)

// running is one Frontdesk process started by a test.
type running struct {
	app  *app.App
	base string // http://127.0.0.1:port
	logs *syncBuffer
	stop func() error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logLines returns the last max lines of logs that contain substr.
func logLines(logs, substr string, max int) []string {
	var out []string
	for line := range strings.Lines(logs) {
		if strings.Contains(line, substr) {
			out = append(out, strings.TrimRight(line, "\n"))
		}
	}
	return out[len(out)-min(len(out), max):]
}

// start runs the real server on a random loopback port, on the storage the
// test environment selects (SQLite, or MySQL and Redis).
func start(t *testing.T, tweak func(*config.Config), exts ...graphql.HandlerExtension) *running {
	t.Helper()
	return startWith(t, tweak, app.Options{Extensions: exts})
}

// startWith is start with every app option (a test clock, a tracer
// provider, a driver).
func startWith(t *testing.T, tweak func(*config.Config), opts app.Options) *running {
	t.Helper()
	cfg := testenv.Config(t)
	if tweak != nil {
		tweak(cfg)
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.NewLogger(logs, "debug"), opts)
	if err != nil {
		cancel()
		t.Fatalf("app.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(20 * time.Second):
				stopErr = errors.New("server did not stop within 20s")
			}
			stopErr = errors.Join(stopErr, a.Close())
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		if t.Failed() {
			// An INTERNAL answer says nothing of its cause; the server's
			// log does, under the request's id.
			for _, line := range logLines(logs.String(), `"level":"ERROR"`, 40) {
				t.Logf("server log: %s", line)
			}
		}
	})
	return &running{app: a, base: "http://" + ln.Addr().String(), logs: logs, stop: stop}
}

type gqlResponse struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
	status int
	header http.Header
}

func (r gqlResponse) codes() []string {
	var out []string
	for _, e := range r.Errors {
		c, _ := e.Extensions["code"].(string)
		out = append(out, c)
	}
	return out
}

func (s *running) post(t *testing.T, body string, headers ...string) gqlResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.base+"/graphql", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return do(t, req)
}

func (s *running) query(t *testing.T, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return s.post(t, string(body))
}

func do(t *testing.T, req *http.Request) gqlResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response is not JSON (status %d): %s", resp.StatusCode, raw)
	}
	out.status = resp.StatusCode
	out.header = resp.Header
	return out
}

func wantCode(t *testing.T, r gqlResponse, code string) {
	t.Helper()
	for _, c := range r.codes() {
		if c == code {
			return
		}
	}
	t.Fatalf("want error code %s, got %v (%+v)", code, r.codes(), r.Errors)
}

func TestTypename(t *testing.T) {
	s := start(t, nil)
	r := s.query(t, `{ __typename }`, nil)
	if len(r.Errors) > 0 || r.Data["__typename"] != "Query" {
		t.Fatalf("got %+v", r)
	}
	if r.header.Get("X-Request-ID") == "" {
		t.Fatal("no X-Request-ID on the response")
	}
}

func TestRequestIDIsEchoedAndLogged(t *testing.T) {
	s := start(t, nil)
	r := s.post(t, `{"query":"query Hello { __typename }"}`, "X-Request-ID", "abc-123")
	if got := r.header.Get("X-Request-ID"); got != "abc-123" {
		t.Fatalf("X-Request-ID = %q", got)
	}
	// A hostile id is replaced, never echoed.
	r = s.post(t, `{"query":"{ __typename }"}`, "X-Request-ID", "<script>")
	if got := r.header.Get("X-Request-ID"); got == "<script>" || got == "" {
		t.Fatalf("hostile X-Request-ID echoed: %q", got)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, `"request_id":"abc-123"`) || !strings.Contains(logs, `"operation":"Hello"`) {
		t.Fatalf("log lacks request id or operation name:\n%s", logs)
	}
}

func TestGET(t *testing.T) {
	s := start(t, nil)
	resp, err := http.Get(s.base + "/graphql?query=" + url.QueryEscape("{ __typename }"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET query status %d", resp.StatusCode)
	}
	mutation := `mutation { retryJob(input: {id: "` + string(gid.New("job")) + `"}) { userErrors { code } } }`
	req, _ := http.NewRequest(http.MethodGet, s.base+"/graphql?query="+url.QueryEscape(mutation), nil)
	r := do(t, req)
	wantCode(t, r, "METHOD_NOT_ALLOWED")
	// GraphQL over HTTP: a mutation over GET is 405 with Allow: POST.
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" || r.Data != nil {
		t.Fatalf("GET mutation: status %d, Allow %q, data %v", r.status, r.header.Get("Allow"), r.Data)
	}
}

// TestRequestErrorsFollowGraphQLOverHTTP: a request that fails before
// execution answers 200 under application/json (what clients without an
// Accept header get too), and 400 without a data entry under
// application/graphql-response+json, as the GraphQL-over-HTTP
// specification (and the graphql-http audit the e2e suite runs) asks.
func TestRequestErrorsFollowGraphQLOverHTTP(t *testing.T) {
	s := start(t, nil)
	tests := []struct {
		name, body, code string
		status           int // under application/json; 0 for 200
	}{
		// No query at all is not a GraphQL request: 400 under both.
		{"no query", `{"qeury":"{ __typename }"}`, "GRAPHQL_VALIDATION_FAILED", 400},
		{"parse", `{"query":"{"}`, "GRAPHQL_PARSE_FAILED", 0},
		{"validation", `{"query":"{ nope }"}`, "GRAPHQL_VALIDATION_FAILED", 0},
		{"variable coercion", `{"query":"query ($id: ID!) { node(id: $id) { id } }","variables":{"id":{"not":"an id"}}}`, "GRAPHQL_VALIDATION_FAILED", 0},
	}
	for _, tt := range tests {
		for accept, want := range map[string]int{"": 200, "application/json": 200, "application/graphql-response+json": 400} {
			if tt.status != 0 {
				want = tt.status
			}
			t.Run(tt.name+" "+accept, func(t *testing.T) {
				req, err := http.NewRequest(http.MethodPost, s.base+"/graphql", strings.NewReader(tt.body))
				must(t, err)
				req.Header.Set("Content-Type", "application/json")
				if accept != "" {
					req.Header.Set("Accept", accept)
				}
				resp, err := http.DefaultClient.Do(req)
				must(t, err)
				defer resp.Body.Close()
				var body map[string]json.RawMessage
				must(t, json.NewDecoder(resp.Body).Decode(&body))
				if resp.StatusCode != want {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, body["errors"])
				}
				if !strings.Contains(string(body["errors"]), `"code":"`+tt.code+`"`) {
					t.Fatalf("errors %s lack code %s", body["errors"], tt.code)
				}
				if _, ok := body["data"]; ok && want == 400 && accept == "application/graphql-response+json" {
					t.Fatalf("graphql-response+json request error has a data entry: %s", body["data"])
				}
			})
		}
	}
}

func TestPersistedQueries(t *testing.T) {
	s := start(t, nil)
	const query = "query Persisted { __typename }"
	sum := sha256.Sum256([]byte(query))
	ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + hex.EncodeToString(sum[:]) + `"}}`
	get := func() gqlResponse {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/graphql?extensions="+url.QueryEscape(ext), nil)
		return do(t, req)
	}
	wantCode(t, get(), "PERSISTED_QUERY_NOT_FOUND")
	r := s.post(t, `{"query":"`+query+`","extensions":`+ext+`}`)
	if len(r.Errors) > 0 {
		t.Fatalf("register: %+v", r.Errors)
	}
	if r := get(); len(r.Errors) > 0 || r.Data["__typename"] != "Query" {
		t.Fatalf("by hash: %+v", r)
	}
}

func TestErrorsCarryCodes(t *testing.T) {
	s := start(t, func(c *config.Config) {
		c.MaxComplexity = 30
		c.MaxDepth = 4
		c.MaxAliases = 5
		c.MaxTokens = 200
		c.MaxOperations = 2
		c.MaxPageSize = 10
	})
	manyIDs := make([]string, 30)
	for i := range manyIDs {
		manyIDs[i] = `"` + string(gid.New("usr")) + `"`
	}
	ids10 := strings.ReplaceAll(strings.Join(manyIDs[:10], ","), `"`, `\"`)
	aliases := make([]string, 6)
	for i := range aliases {
		aliases[i] = fmt.Sprintf("a%d: __typename", i)
	}
	tests := []struct {
		name   string
		body   string
		code   string
		status int
	}{
		{"malformed", `{"query":"{ __typename "}`, "GRAPHQL_PARSE_FAILED", 422},
		{"unknown field", `{"query":"{ nope }"}`, "GRAPHQL_VALIDATION_FAILED", 422},
		{"not json", `{"query":`, "BAD_USER_INPUT", 400},
		{"too deep", `{"query":"{ __schema { types { fields { type { name } } } } }"}`, "DEPTH_LIMIT_EXCEEDED", 422},
		{"too many aliases", `{"query":"{ ` + strings.Join(aliases, " ") + ` }"}`, "ALIAS_LIMIT_EXCEEDED", 422},
		{"too many tokens", `{"query":"{ ` + strings.Repeat("__typename ", 250) + ` }"}`, "TOKEN_LIMIT_EXCEEDED", 422},
		{"too many operations", `{"query":"query A { __typename } query B { __typename } query C { __typename }","operationName":"A"}`, "OPERATION_LIMIT_EXCEEDED", 422},
		{"page size", `{"query":"{ nodes(ids: [` + strings.ReplaceAll(strings.Join(manyIDs[:11], ","), `"`, `\"`) + `]) { id } }"}`, "PAGE_SIZE_LIMIT_EXCEEDED", 422},
		{"complexity", `{"query":"{ a: nodes(ids: [` + ids10 + `]) { id } b: nodes(ids: [` + ids10 + `]) { id } c: nodes(ids: [` + ids10 + `]) { id } }"}`, "COMPLEXITY_LIMIT_EXCEEDED", 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// 422 in the table stands for a request error found before
			// execution: GraphQL over HTTP answers it with 400 under
			// application/graphql-response+json and with 200 under
			// application/json (also what a client without Accept gets).
			for accept, requestError := range map[string]int{"application/graphql-response+json": 400, "application/json": 200, "": 200} {
				want := tt.status
				if want == http.StatusUnprocessableEntity {
					want = requestError
				}
				r := s.post(t, tt.body, "Accept", accept)
				wantCode(t, r, tt.code)
				if r.status != want {
					t.Fatalf("Accept %q: status %d, want %d", accept, r.status, want)
				}
				for _, e := range r.Errors {
					if e.Message == "" {
						t.Fatal("error without a message")
					}
				}
			}
		})
	}
}

func TestOversizedBody(t *testing.T) {
	s := start(t, func(c *config.Config) { c.MaxBodyBytes = 1024 })
	big := `{"query":"{ __typename }","variables":{"x":"` + strings.Repeat("a", 2048) + `"}}`
	r := s.post(t, big)
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", r.status)
	}
	wantCode(t, r, "REQUEST_TOO_LARGE")

	// The same body without a declared length (chunked) is refused too.
	req, _ := http.NewRequest(http.MethodPost, s.base+"/graphql", io.MultiReader(strings.NewReader(big)))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	r = do(t, req)
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked status %d", r.status)
	}
}

func TestNodeIDs(t *testing.T) {
	s := start(t, nil)
	tests := []struct {
		name string
		id   string
		code string
	}{
		{"malformed", "not-an-id", "BAD_USER_INPUT"},
		{"forged prefix", "zzz_" + strings.TrimPrefix(string(gid.New("usr")), "usr_"), "BAD_USER_INPUT"},
		{"injection", "usr_' OR '1'='1", "BAD_USER_INPUT"},
		{"well formed, absent", string(gid.New("usr")), "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.query(t, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": tt.id})
			wantCode(t, r, tt.code)
			if strings.Contains(fmt.Sprint(r.Errors), "SELECT") {
				t.Fatalf("SQL leaked: %+v", r.Errors)
			}
		})
	}
}

// faults injects failures into chosen operations, so the tests exercise the
// real server without test-only fields in the public schema.
type faults struct {
	slowFor time.Duration
	started chan struct{}
}

func (faults) ExtensionName() string                   { return "TestFaults" }
func (faults) Validate(graphql.ExecutableSchema) error { return nil }

func (f faults) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	switch graphql.GetOperationContext(ctx).Operation.Name {
	case "Boom":
		panic("secret internal detail: db password is hunter2")
	case "Stuck":
		<-ctx.Done() // an operation that only ends at its deadline
		return nil, ctx.Err()
	case "Slow":
		if f.started != nil {
			close(f.started)
		}
		time.Sleep(f.slowFor) // ignores ctx on purpose: in flight at shutdown
	}
	return next(ctx)
}

func TestPanicBecomesInternal(t *testing.T) {
	s := start(t, nil, faults{})
	r := s.post(t, `{"query":"query Boom { node(id: \"`+string(gid.New("usr"))+`\") { id } }"}`)
	wantCode(t, r, "INTERNAL")
	id := r.header.Get("X-Request-ID")
	msg := r.Errors[0].Message
	if !strings.Contains(msg, id) || strings.Contains(msg, "hunter2") || strings.Contains(msg, "goroutine") {
		t.Fatalf("client saw %q (request id %s)", msg, id)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "hunter2") || !strings.Contains(logs, "goroutine") || !strings.Contains(logs, id) {
		t.Fatalf("the panic and its stack were not logged with the request id %s:\n%s", id, logs)
	}
	// The process survived.
	if r := s.query(t, `{ __typename }`, nil); len(r.Errors) > 0 {
		t.Fatalf("after panic: %+v", r.Errors)
	}
}

func TestOperationTimeout(t *testing.T) {
	s := start(t, func(c *config.Config) { c.OperationTimeout = 200 * time.Millisecond }, faults{})
	r := s.post(t, `{"query":"query Stuck { node(id: \"`+string(gid.New("usr"))+`\") { id } }"}`)
	wantCode(t, r, "TIMEOUT")
}

func TestHealthAndReadiness(t *testing.T) {
	s := start(t, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		if path == "/readyz" {
			if !strings.Contains(string(body), `"database":"ok"`) {
				t.Fatalf("readyz: %s", body)
			}
			if s.app.Config.RedisURL != "" && !strings.Contains(string(body), `"redis":"ok"`) {
				t.Fatalf("readyz without redis check: %s", body)
			}
		}
	}
}

func TestMetrics(t *testing.T) {
	s := start(t, nil)
	s.query(t, `{ __typename }`, nil)
	s.query(t, `{ nope }`, nil)
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`frontdesk_http_request_duration_seconds_count{code="200",route="/graphql"}`,
		`frontdesk_graphql_operation_duration_seconds_count{outcome="ok",type="query"} 1`,
		`frontdesk_graphql_operation_duration_seconds_count{outcome="GRAPHQL_VALIDATION_FAILED",type="unknown"} 1`,
		`frontdesk_websocket_connections 0`,
		`go_sql_open_connections{db_name="frontdesk"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestReadinessFailsWhenDatabaseIsDown(t *testing.T) {
	s := start(t, nil)
	if err := s.app.DB.SQL.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database closed: %d", resp.StatusCode)
	}
}

func TestPlaygroundAndProductionDefaults(t *testing.T) {
	dev := start(t, nil)
	resp, err := http.Get(dev.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `src="/playground/main.js"`) {
		t.Fatalf("playground: %d", resp.StatusCode)
	}
	// The playground is served from the binary, favicon included.
	for _, p := range []string{"/playground/main.js", "/favicon.ico"} {
		resp, err := http.Get(dev.base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}

	prod := start(t, func(c *config.Config) {
		c.Env = config.Production
		c.Playground, c.Introspection, c.FieldSuggestions = false, false, false
		c.StripeSecretKey, c.StripeWebhookSecret = "sk_test_unused", "whsec_unused"
	})
	resp, err = http.Get(prod.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("production playground: %d", resp.StatusCode)
	}
	r := prod.query(t, `{ __schema { queryType { name } } }`, nil)
	if len(r.Errors) == 0 {
		t.Fatal("introspection answered in production")
	}
	r = prod.query(t, `{ nodez }`, nil)
	if strings.Contains(r.Errors[0].Message, "Did you mean") {
		t.Fatalf("suggestion leaked in production: %s", r.Errors[0].Message)
	}
}

func TestProductionRefusesDevelopmentPayments(t *testing.T) {
	cfg := testenv.Config(t)
	cfg.Env = config.Production
	_, err := app.New(context.Background(), cfg, app.NewLogger(io.Discard, "error"), app.Options{})
	if err == nil || !strings.Contains(err.Error(), "FRONTDESK_STRIPE_SECRET_KEY") {
		t.Fatalf("production start-up without a Stripe key: %v", err)
	}
}

func TestCORS(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AllowedOrigins = []string{"https://shop.example.com"} })
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, s.base+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	ok := preflight("https://shop.example.com")
	if ok.Header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" || ok.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed origin not granted: %v", ok.Header)
	}
	bad := preflight("https://evil.example")
	if bad.Header.Get("Access-Control-Allow-Origin") != "" || bad.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin granted: %d %v", bad.StatusCode, bad.Header)
	}
}

func TestGracefulShutdownDrainsInFlightRequest(t *testing.T) {
	f := faults{slowFor: 700 * time.Millisecond, started: make(chan struct{})}
	s := start(t, nil, f)
	result := make(chan gqlResponse, 1)
	go func() {
		result <- s.post(t, `{"query":"query Slow { node(id: \"`+string(gid.New("usr"))+`\") { id } }"}`)
	}()
	<-f.started
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()

	r := <-result
	if r.status != http.StatusOK {
		t.Fatalf("in-flight request got status %d", r.status)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := http.Get(s.base + "/healthz"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}

func wsURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/graphql" }

func dialWS(t *testing.T, s *running, protocol string, header http.Header) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial(wsURL(s.base), header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", protocol, err, status)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func readMsg(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m map[string]any
	if err := c.ReadJSON(&m); err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

// readUntil skips keep-alives until a message of the wanted type arrives.
func readUntil(t *testing.T, c *websocket.Conn, typ string) map[string]any {
	t.Helper()
	for range 20 {
		m := readMsg(t, c)
		if m["type"] == typ {
			return m
		}
	}
	t.Fatalf("no %s message", typ)
	return nil
}

func TestWebSocketProtocolsAndShutdownCloseFrame(t *testing.T) {
	s := start(t, nil)
	modern := dialWS(t, s, "graphql-transport-ws", nil)
	if modern.Subprotocol() != "graphql-transport-ws" {
		t.Fatalf("subprotocol %q", modern.Subprotocol())
	}
	must(t, modern.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{}}))
	readUntil(t, modern, "connection_ack")
	must(t, modern.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "subscription { serverTime(everySeconds: 1) }"}}))
	next := readUntil(t, modern, "next")
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(next["payload"].(map[string]any)["data"].(map[string]any)["serverTime"])); err != nil {
		t.Fatalf("serverTime payload: %v", next)
	}

	legacy := dialWS(t, s, "graphql-ws", nil)
	must(t, legacy.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{}}))
	readUntil(t, legacy, "connection_ack")
	must(t, legacy.WriteJSON(map[string]any{"id": "1", "type": "start", "payload": map[string]any{"query": "subscription { serverTime(everySeconds: 1) }"}}))
	readUntil(t, legacy, "data")

	if n := s.app.Server.OpenWebSockets(); n != 2 {
		t.Fatalf("open websockets = %d", n)
	}
	go func() { _ = s.stop() }()
	for _, c := range []*websocket.Conn{modern, legacy} {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, _, err := c.ReadMessage()
			if err == nil {
				continue
			}
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Fatalf("want close frame 1001, got %v", err)
			}
			break
		}
	}
}

func TestWebSocketLimits(t *testing.T) {
	s := start(t, func(c *config.Config) {
		c.WSInitTimeout = 300 * time.Millisecond
		c.WSReadLimit = 512
		c.WSKeepAlive = 200 * time.Millisecond
		c.AllowedOrigins = []string{"https://shop.example.com"}
	})

	// graphql-transport-ws closes a connection that never initialised with
	// 4408; the legacy protocol has no code for it and keeps 1002.
	for proto, want := range map[string]int{"graphql-transport-ws": 4408, "graphql-ws": websocket.CloseProtocolError} {
		t.Run("init timeout "+proto, func(t *testing.T) {
			c := dialWS(t, s, proto, nil)
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					var ce *websocket.CloseError
					if !errors.As(err, &ce) || ce.Code != want {
						t.Fatalf("want close %d, got %v", want, err)
					}
					return
				}
			}
		})
	}

	t.Run("read limit", func(t *testing.T) {
		c := dialWS(t, s, "graphql-transport-ws", nil)
		must(t, c.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{}}))
		readUntil(t, c, "connection_ack")
		must(t, c.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "subscription { serverTime }", "variables": map[string]any{"pad": strings.Repeat("x", 2048)}}}))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
					t.Fatalf("want close 1009 message too big, got %v", err)
				}
				return
			}
		}
	})

	t.Run("client that stops answering pings is dropped", func(t *testing.T) {
		c := dialWS(t, s, "graphql-transport-ws", nil)
		must(t, c.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{}}))
		readUntil(t, c, "connection_ack")
		// Never answer the server's pings: the read deadline the adapter
		// applies must end the connection after two intervals.
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			var m map[string]any
			if err := c.ReadJSON(&m); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatal("server kept a silent client past its pong deadline")
				}
				return
			}
		}
	})

	t.Run("origin", func(t *testing.T) {
		d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
		_, resp, err := d.Dial(wsURL(s.base), http.Header{"Origin": {"https://evil.example"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("foreign origin upgraded: %v", err)
		}
		c := dialWS(t, s, "graphql-transport-ws", http.Header{"Origin": {"https://shop.example.com"}})
		must(t, c.WriteJSON(map[string]any{"type": "connection_init"}))
		readUntil(t, c, "connection_ack")
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var _ = slog.Default

// TestShutdownIsNotHeldByAnIdleFreshConnection: a client's spare
// connection that never sent a request must not hold a shutdown (net/http
// counts such a connection as busy for its first 5 seconds).
func TestShutdownIsNotHeldByAnIdleFreshConnection(t *testing.T) {
	s := start(t, func(c *config.Config) { c.ShutdownTimeout = 2 * time.Second })
	spare, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	must(t, err)
	defer spare.Close()
	// Let the server accept it before shutting down.
	if r := s.query(t, `{ __typename }`, nil); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("shutdown held by a connection without a request: %v", err)
	}
}
