package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"frontdesk/app"
	"frontdesk/config"
	"frontdesk/internal/testenv"
)

// adversarial is one request of the adversarial set: documents and bodies
// made to cost the server as much CPU, memory or response bytes as the
// body limit admits. want is the error code it must draw ("" when it is
// answered).
type adversarial struct {
	name string
	// method is POST (JSON), GET (query string), MULTIPART (body is the
	// operations part, the map is {}) or UPLOAD (body is the whole
	// multipart body, boundary "adversarial"; see multipartSet).
	method string
	body   string // the JSON request (POST, MULTIPART), the query (GET) or the multipart body (UPLOAD)
	want   string
}

func gqlBody(query string, vars map[string]any) string {
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }

// nestedList is [[[…"x"…]]] n deep.
func nestedList(n int) any {
	var v any = "x"
	for range n {
		v = []any{v}
	}
	return v
}

// adversarialSet is the set issue 14 asks for: repeated fields, many
// inline fragments, nested fragment spreads, many aliases and directives,
// long strings, deep lists in variables, and what else validation or the
// error path does more than linear work for. Sizes stay under the default
// body (1 MiB) and token (15,000) limits, so each reaches the server's
// document pass.
func adversarialSet() []adversarial {
	var bomb strings.Builder
	bomb.WriteString("{ ...F0 } fragment F40 on Query { __typename }")
	for i := 39; i >= 0; i-- {
		fmt.Fprintf(&bomb, " fragment F%d on Query { ...F%d ...F%d }", i, i+1, i+1)
	}
	var wideFrags strings.Builder
	wideFrags.WriteString("{ " + repeat("...A ", 99) + "}")
	wideFrags.WriteString(" fragment A on Query { " + repeat("__typename ", 4) + "}")
	aliases := make([]string, 3000)
	for i := range aliases {
		aliases[i] = fmt.Sprintf("a%d: __typename", i)
	}
	sameAlias := repeat("a: __typename ", 3000)
	args := make([]string, 4000)
	for i := range args {
		args[i] = `id: "x"`
	}
	vars := make([]string, 3000)
	for i := range vars {
		vars[i] = fmt.Sprintf("$v%d: Int", i)
	}
	ops := make([]string, 2000)
	for i := range ops {
		ops[i] = fmt.Sprintf("query Q%d { __typename }", i)
	}
	return append([]adversarial{
		{"10,000 repeated __typename", "POST", gqlBody("{ "+repeat("__typename ", 10000)+"}", nil), "FIELD_LIMIT_EXCEEDED"},
		{"500 repeated __typename (at the field limit)", "POST", gqlBody("{ "+repeat("__typename ", 500)+"}", nil), ""},
		{"3,000 fields under one alias", "POST", gqlBody("{ "+sameAlias+"}", nil), "FIELD_LIMIT_EXCEEDED"},
		{"3,000 aliases", "POST", gqlBody("{ "+strings.Join(aliases, " ")+" }", nil), "FIELD_LIMIT_EXCEEDED"},
		{"2,000 inline fragments", "POST", gqlBody("{ "+repeat("... on Query { __typename } ", 2000)+"}", nil), "FIELD_LIMIT_EXCEEDED"},
		{"200 inline fragments, one field each", "POST", gqlBody("{ "+repeat("... { __typename } ", 200)+"}", nil), "INLINE_FRAGMENT_LIMIT_EXCEEDED"},
		{"fragment spreads nested 40 deep (2^40 fields)", "POST", gqlBody(bomb.String(), nil), "FIELD_LIMIT_EXCEEDED"},
		{"99 spreads of a 5-field fragment (at the limits)", "POST", gqlBody(wideFrags.String(), nil), ""},
		{"2,000 fragment definitions", "POST", gqlBody("{ ...F0 } "+func() string {
			var b strings.Builder
			for i := range 2000 {
				fmt.Fprintf(&b, "fragment F%d on Query { __typename } ", i)
			}
			return b.String()
		}(), nil), "FRAGMENT_LIMIT_EXCEEDED"},
		{"2,000 repeated directives", "POST", gqlBody("{ __typename "+repeat("@include(if: true) ", 2000)+"}", nil), "DIRECTIVE_LIMIT_EXCEEDED"},
		{"50 repeated directives (at the limit)", "POST", gqlBody("{ __typename "+repeat("@skip(if: false) ", 50)+"}", nil), "GRAPHQL_VALIDATION_FAILED"},
		{"4,000 repeated arguments", "POST", gqlBody("{ node("+strings.Join(args, ", ")+") { id } }", nil), "GRAPHQL_VALIDATION_FAILED"},
		{"3,000 unused variables", "POST", gqlBody("query("+strings.Join(vars, ", ")+") { __typename }", nil), "GRAPHQL_VALIDATION_FAILED"},
		{"2,000 operations", "POST", gqlBody(strings.Join(ops, " "), nil), "OPERATION_LIMIT_EXCEEDED"},
		{"selections nested 900 deep", "POST", gqlBody("{ "+repeat("a { ", 899)+"a"+repeat(" }", 900), nil), "DEPTH_LIMIT_EXCEEDED"},
		{"selections nested 5,000 deep (parser's nesting limit)", "POST", gqlBody("{ "+repeat("a { ", 4999)+"a"+repeat(" }", 5000), nil), "GRAPHQL_PARSE_FAILED"},
		{"900 KB string argument", "POST", gqlBody(`{ node(id: "`+repeat("x", 900<<10)+`") { id } }`, nil), "BAD_USER_INPUT"},
		{"900 KB unknown enum value", "POST", gqlBody(`{ products(first: 1, sort: `+repeat("X", 900<<10)+`) { totalCount } }`, nil), "GRAPHQL_VALIDATION_FAILED"},
		{"900 KB comment (defeats the query cache)", "POST", gqlBody("#"+repeat("x", 900<<10)+"\n{ __typename }", nil), ""},
		{"list literal nested 900 deep", "POST", gqlBody("{ nodes(ids: "+repeat("[", 900)+repeat("]", 900)+") { id } }", nil), "GRAPHQL_VALIDATION_FAILED"},
		{"variable list nested 9,000 deep", "POST", gqlBody("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", map[string]any{"ids": nestedList(9000)}), "GRAPHQL_VALIDATION_FAILED"},
		{"variable with 100,000 list items", "POST", gqlBody("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", map[string]any{"ids": strings.Split(repeat("x,", 100000), ",")}), "VARIABLE_LIMIT_EXCEEDED"},
		{"variable with 450,000 numbers", "POST", `{"query":"query($ids: [ID!]!) { nodes(ids: $ids) { id } }","variables":{"ids":[` + repeat("1,", 450000) + `1]}}`, "VARIABLE_LIMIT_EXCEEDED"},
		{"variable object with 60,000 keys", "POST", `{"query":"query($x: String) { __typename }","variables":{"x":{` + strings.TrimSuffix(func() string {
			var b strings.Builder
			for i := range 60000 {
				fmt.Fprintf(&b, `"k%d":1,`, i)
			}
			return b.String()
		}(), ",") + `}}}`, "VARIABLE_LIMIT_EXCEEDED"},
		{"20 × 24 fields under one alias, nested (at the field limit)", "POST", gqlBody("{ "+repeat(`a: node(id: "x") { `+repeat("id ", 24)+"} ", 20)+"}", nil), "BAD_USER_INPUT"},
		{"malformed batch of 4,000 operations", "POST", "[" + strings.TrimSuffix(repeat(`{"query":"{ __typename }"},`, 4000), ",") + "]", "BAD_USER_INPUT"},
		{"900 KB of invalid JSON", "POST", `{"query": "` + repeat("x", 900<<10), "BAD_USER_INPUT"},
		{"10,000 repeated __typename over GET", "GET", "{ " + repeat("__typename ", 5000) + "}", "FIELD_LIMIT_EXCEEDED"},
		{"10,000 repeated __typename over multipart", "MULTIPART", gqlBody("{ "+repeat("__typename ", 10000)+"}", nil), "FIELD_LIMIT_EXCEEDED"},
	}, multipartSet()...)
}

// cpuNow is the CPU time (user + system) this process has used.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// adversarialResult is what one request cost.
type adversarialResult struct {
	cpu      time.Duration
	reqBytes int
	resBytes int
	status   int
	codes    []string
	raw      string
}

// sendAdversarial sends one request and measures the CPU time of the whole
// process meanwhile: the server's, plus the in-process client's share of
// encoding and reading, so the figure is an upper bound.
func sendAdversarial(tb testing.TB, base string, a adversarial) adversarialResult {
	tb.Helper()
	var req *http.Request
	var err error
	switch a.method {
	case "GET":
		req, err = http.NewRequest(http.MethodGet, base+"/graphql?query="+url.QueryEscape(a.body), nil)
	case "MULTIPART", "UPLOAD":
		body := a.body
		if a.method == "MULTIPART" {
			body = uploadBody(a.body, "{}")
		}
		req, err = http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "multipart/form-data; boundary=adversarial")
			req.Header.Set("GraphQL-Preflight", "1")
		}
	default:
		req, err = http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(a.body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		tb.Fatal(err)
	}
	reqBytes := len(a.body)
	start := cpuNow()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s: %v", a.name, err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	cpu := cpuNow() - start
	if err != nil {
		tb.Fatal(err)
	}
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatalf("%s: response is not JSON (status %d): %.300s", a.name, resp.StatusCode, raw)
	}
	return adversarialResult{cpu: cpu, reqBytes: reqBytes, resBytes: len(raw), status: resp.StatusCode, codes: out.codes(), raw: string(raw)}
}

// startCost runs the real server for tb (a test or a benchmark) with the
// production settings that matter here: no introspection, no suggestions.
func startCost(tb testing.TB, tweak func(*config.Config)) (base string) {
	tb.Helper()
	cfg := testenv.Config(tb)
	cfg.Introspection, cfg.FieldSuggestions = false, false
	if tweak != nil {
		tweak(cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.NewLogger(io.Discard, "info"), app.Options{})
	if err != nil {
		cancel()
		tb.Fatalf("app.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		<-done
		_ = a.Close()
	})
	return "http://" + ln.Addr().String()
}

// TestAdversarialDocuments: every request of the adversarial set is
// refused with its own code (or answered), and its answer stays within a
// small multiple of the request: no error amplification, no echo.
func TestAdversarialDocuments(t *testing.T) {
	base := startCost(t, nil)
	for _, a := range adversarialSet() {
		t.Run(a.name, func(t *testing.T) {
			r := sendAdversarial(t, base, a)
			if a.want == "" && len(r.codes) > 0 {
				t.Fatalf("want an answer, got %v", r.codes)
			}
			if a.want != "" && (len(r.codes) == 0 || r.codes[0] != a.want) {
				t.Fatalf("want %s first, got %v (status %d)", a.want, r.codes, r.status)
			}
			if len(r.codes) > 21 {
				t.Fatalf("%d errors in one response", len(r.codes))
			}
			if limit := max(2*r.reqBytes, 16<<10); r.resBytes > limit {
				t.Fatalf("response of %d bytes to a request of %d", r.resBytes, r.reqBytes)
			}
			// 21 errors of at most 300 bytes each fit; an echoed body
			// does not.
			if len(r.codes) > 0 && r.resBytes > 16<<10 {
				t.Fatalf("an error response of %d bytes: %.300s", r.resBytes, r.raw)
			}
			t.Logf("%s: %v CPU, %d → %d bytes, %v", a.name, r.cpu, r.reqBytes, r.resBytes, r.codes)
		})
	}
}

// closeCode reads until the server closes c and returns the close frame.
func closeCode(t *testing.T, c *websocket.Conn) *websocket.CloseError {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("want a close frame, got %v", err)
			}
			return ce
		}
	}
}

// subscribeResult subscribes under id and returns the first next or
// error message for it.
func subscribeResult(t *testing.T, c *websocket.Conn, id string) map[string]any {
	t.Helper()
	must(t, c.WriteJSON(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": "subscription { serverTime(everySeconds: 1) }"}}))
	for range 50 {
		m := readMsg(t, c)
		if m["id"] == id && (m["type"] == "next" || m["type"] == "error") {
			return m
		}
	}
	t.Fatalf("no answer to subscription %s", id)
	return nil
}

func firstCode(m map[string]any) string {
	p, _ := m["payload"].(map[string]any)
	errs, _ := p["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
	c, _ := ext["code"].(string)
	return c
}

// TestWebSocketCaps: subscriptions per connection, connections per user
// and connections per client IP are capped, with real sockets held open
// at once, and each slot comes back when its holder ends.
func TestWebSocketCaps(t *testing.T) {
	s := start(t, func(c *config.Config) {
		c.WSMaxSubscriptions = 3
		c.WSMaxConnectionsPerUser = 2
		c.WSMaxConnectionsPerIP = 4
	})

	t.Run("subscriptions per connection", func(t *testing.T) {
		c := dialWS(t, s, "graphql-transport-ws", nil)
		must(t, c.WriteJSON(map[string]any{"type": "connection_init"}))
		readUntil(t, c, "connection_ack")
		for _, id := range []string{"1", "2", "3"} {
			if m := subscribeResult(t, c, id); firstCode(m) != "" {
				t.Fatalf("subscription %s refused: %v", id, m)
			}
		}
		if m := subscribeResult(t, c, "4"); firstCode(m) != "SUBSCRIPTION_LIMIT_EXCEEDED" {
			t.Fatalf("fourth subscription: %v", m)
		}
		// Completing one gives its slot back (the server frees it when
		// the subscription's context ends, so retry a few times).
		must(t, c.WriteJSON(map[string]any{"id": "1", "type": "complete"}))
		attempt := 0
		testenv.Eventually(t, 10*time.Second, "a completed subscription's slot comes back", func() bool {
			attempt++
			return firstCode(subscribeResult(t, c, fmt.Sprintf("again-%d", attempt))) == ""
		})
		c.Close()
	})

	t.Run("connections per user", func(t *testing.T) {
		ann := s.signUp(t, "ann-ws@example.com", "")
		init := map[string]any{"authToken": ann.token}
		first := wsSubscribe(t, s, init)
		wsSubscribe(t, s, init)
		third := dialWS(t, s, "graphql-transport-ws", nil)
		must(t, third.WriteJSON(map[string]any{"type": "connection_init", "payload": init}))
		if ce := closeCode(t, third); ce.Code != 4429 || !strings.Contains(ce.Text, "too many connections") {
			t.Fatalf("third connection of one user: close %d %q", ce.Code, ce.Text)
		}
		// Another user is not affected.
		bob := s.signUp(t, "bob-ws@example.com", "")
		bobConn := wsSubscribe(t, s, map[string]any{"authToken": bob.token})
		bobConn.Close()
		// When one of ann's connections closes, she may open another.
		first.Close()
		for range 50 {
			c := dialWS(t, s, "graphql-transport-ws", nil)
			must(t, c.WriteJSON(map[string]any{"type": "connection_init", "payload": init}))
			m := readMsg(t, c)
			c.Close()
			if m["type"] == "connection_ack" {
				return
			}
		}
		t.Fatal("a closed connection's slot never came back")
	})

	t.Run("connections per IP", func(t *testing.T) {
		// Wait until the sockets of the subtests above are gone.
		var held []*websocket.Conn
		for range 200 {
			d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
			c, resp, err := d.Dial(wsURL(s.base), nil)
			if err != nil {
				if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("dial: %v", err)
				}
				if len(held) == 4 {
					var body struct {
						Errors []struct {
							Extensions map[string]any `json:"extensions"`
						} `json:"errors"`
					}
					if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Errors) == 0 || body.Errors[0].Extensions["code"] != "CONNECTION_LIMIT_EXCEEDED" {
						t.Fatalf("refusal body: %v %+v", err, body)
					}
					for _, h := range held {
						h.Close()
					}
					return
				}
				continue
			}
			t.Cleanup(func() { c.Close() })
			held = append(held, c)
		}
		t.Fatalf("%d sockets from one address were all accepted", len(held))
	})
}

// TestProductionSaysNothingThatHelps: with suggestions off no error names
// what the client did not ask for, on any validation or coercion path, and
// refused introspection is a client error with its own code, not INTERNAL
// and not an ERROR log line.
func TestProductionSaysNothingThatHelps(t *testing.T) {
	s := start(t, func(c *config.Config) { c.Introspection, c.FieldSuggestions = false, false })
	for _, q := range []struct {
		name, query string
		vars        map[string]any
	}{
		{"field", `{ nodez }`, nil},
		{"argument", `{ products(fist: 1) { totalCount } }`, nil},
		{"enum value", `{ products(first: 1, sort: TITEL) { totalCount } }`, nil},
		{"enum value in a variable", `query($s: ProductSort) { products(first: 1, sort: $s) { totalCount } }`, map[string]any{"s": "TITEL"}},
		{"input field", `{ products(first: 1, filter: {serch: "x"}) { totalCount } }`, nil},
		{"input field in a variable", `query($f: ProductFilter) { products(first: 1, filter: $f) { totalCount } }`, map[string]any{"f": map[string]any{"serch": "x"}}},
		{"type", `query($f: ProductFiltre) { __typename }`, nil},
		{"fragment type", `{ ... on Quer { __typename } }`, nil},
	} {
		t.Run(q.name, func(t *testing.T) {
			r := s.query(t, q.query, q.vars)
			if len(r.Errors) == 0 {
				t.Fatal("no error")
			}
			for _, e := range r.Errors {
				if strings.Contains(e.Message, "Did you mean") || strings.Contains(e.Message, "did you mean") {
					t.Fatalf("suggestion in production: %s", e.Message)
				}
			}
		})
	}

	for _, q := range []string{`{ __schema { queryType { name } } }`, `{ __type(name: "Query") { name } }`, `{ ...F } fragment F on Query { __schema { types { name } } }`} {
		r := s.query(t, q, nil)
		if len(r.Errors) != 1 || r.codes()[0] != "INTROSPECTION_DISABLED" || r.status >= 500 {
			t.Fatalf("%s: status %d, %+v", q, r.status, r.Errors)
		}
	}
	if strings.Contains(s.logs.String(), `"level":"ERROR"`) {
		t.Fatalf("an ERROR was logged:\n%s", s.logs.String())
	}
}

// BenchmarkAdversarial sends every request of the adversarial set b.N
// times to the real server and reports, per request, the CPU time of the
// process (server plus the in-process client's share: an upper bound of
// the server's) at the worst of the b.N runs, in ms/op-worst. `make bench`
// runs it; docs/benchmarks.md has the figures.
func BenchmarkAdversarial(b *testing.B) {
	base := startCost(b, nil)
	for _, a := range adversarialSet() {
		b.Run(a.name, func(b *testing.B) {
			var worst time.Duration
			for range b.N {
				if r := sendAdversarial(b, base, a); r.cpu > worst {
					worst = r.cpu
				}
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "ms-cpu-worst")
		})
	}
}
