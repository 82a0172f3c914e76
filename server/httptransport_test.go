package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/google/go-cmp/cmp"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// tricky is data with what json.Marshal would rewrite: <, > and & (which it
// escapes as \u003c…), a raw U+2028 (escaped as \u2028), escapes already
// in strings, and non-ASCII text.
var tricky = json.RawMessage("{\"name\":\"<b>Tom & Jerry</b>\",\"line\":\"a\u2028b\",\"quote\":\"\\\"x\\\"\\n\",\"café\":[1,2.5e3,null,true,{\"ü\":\"日本\"}]}")

// TestWriteResponseCopiesData: whatever the combination of data, errors
// and extensions, the body is valid JSON, `data` holds exactly the bytes
// the executor wrote (or null when it wrote none, or is absent when
// withData is false), the other members decode to what json.Marshal
// writes for them, and Content-Length is the body's length.
func TestWriteResponseCopiesData(t *testing.T) {
	hasNext := false
	datas := []struct {
		name string
		data json.RawMessage
		want string // the bytes expected under "data"
	}{
		{"data nil", nil, "null"},
		{"data null", json.RawMessage("null"), "null"},
		{"data empty object", json.RawMessage("{}"), "{}"},
		{"data tricky", tricky, string(tricky)},
		{"data with whitespace", json.RawMessage("{ \"a\" : [ 1 , 2 ] }"), "{ \"a\" : [ 1 , 2 ] }"},
	}
	errorLists := []struct {
		name string
		errs gqlerror.List
	}{
		{"no errors", nil},
		{"one error", gqlerror.List{{Message: "not found", Path: ast.Path{ast.PathName("node"), ast.PathIndex(3)},
			Locations: []gqlerror.Location{{Line: 1, Column: 3}}, Extensions: map[string]any{"code": "NOT_FOUND"}}}},
		{"two errors with markup", gqlerror.List{{Message: "<script>&"}, {Message: "b", Extensions: map[string]any{"code": "INTERNAL", "requestId": "r-1"}}}},
	}
	extensions := []struct {
		name string
		ext  map[string]any
	}{
		{"no extensions", nil},
		{"extensions", map[string]any{"resync": true, "cost": map[string]any{"requested": 12, "note": "<&>"}}},
	}
	for _, d := range datas {
		for _, e := range errorLists {
			for _, x := range extensions {
				for _, withData := range []bool{true, false} {
					for _, incremental := range []bool{false, true} {
						resp := &graphql.Response{Data: d.data, Errors: e.errs, Extensions: x.ext}
						if incremental {
							resp.Label, resp.Path, resp.HasNext = "deferred", ast.Path{ast.PathName("a")}, &hasNext
						}
						name := fmt.Sprintf("%s/%s/%s/withData=%t/incremental=%t", d.name, e.name, x.name, withData, incremental)
						t.Run(name, func(t *testing.T) {
							checkWrittenResponse(t, resp, withData, d.want)
						})
					}
				}
			}
		}
	}
}

func checkWrittenResponse(t *testing.T, resp *graphql.Response, withData bool, wantData string) {
	t.Helper()
	w := httptest.NewRecorder()
	writeResponse(w, http.StatusTeapot, resp, withData)
	body := w.Body.Bytes()
	if w.Code != http.StatusTeapot {
		t.Fatalf("status %d", w.Code)
	}
	if got := w.Header().Get("Content-Length"); got != fmt.Sprint(len(body)) {
		t.Fatalf("Content-Length %s for %d bytes", got, len(body))
	}
	if !json.Valid(body) {
		t.Fatalf("not valid JSON: %s", body)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	raw, ok := got["data"]
	switch {
	case withData && !ok:
		t.Fatalf("no data member: %s", body)
	case !withData && ok:
		t.Fatalf("data member although withData is false: %s", body)
	case withData && string(raw) != wantData:
		t.Fatalf("data changed:\n got %s\nwant %s", raw, wantData)
	}
	// Every other member is what json.Marshal writes for the response.
	marshalled, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]json.RawMessage
	if err := json.Unmarshal(marshalled, &want); err != nil {
		t.Fatal(err)
	}
	delete(want, "data")
	delete(got, "data")
	if diff := cmp.Diff(stringValues(want), stringValues(got)); diff != "" {
		t.Fatalf("members other than data differ from json.Marshal (-want +got):\n%s", diff)
	}
}

func stringValues(m map[string]json.RawMessage) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

// TestEncodeResponseIsJSONMarshalForCompactData: for data json.Marshal
// leaves as it is (compact, no <, >, & or U+2028), the body is byte for
// byte what gqlgen's transports write, members in the same order.
func TestEncodeResponseIsJSONMarshalForCompactData(t *testing.T) {
	hasNext := true
	for _, resp := range []*graphql.Response{
		{Data: json.RawMessage(`{"a":1}`)},
		{},
		{Errors: gqlerror.List{{Message: "x", Extensions: map[string]any{"code": "BAD_USER_INPUT"}}}},
		{Data: json.RawMessage(`{"a":[1,{"b":"c"}]}`), Errors: gqlerror.List{{Message: "x", Path: ast.Path{ast.PathName("a")}}}, Extensions: map[string]any{"z": 1, "a": "<"}},
		{Data: json.RawMessage(`null`), Label: "l", Path: ast.Path{ast.PathIndex(0)}, HasNext: &hasNext, Extensions: map[string]any{"k": []int{1}}},
	} {
		want, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		head, data, tail, err := encodeResponse(resp, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(head) + string(data) + string(tail); got != string(want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	}
}

// TestWriteResponseUnmarshallableExtensionPanics: an extension encoding/json
// cannot write panics before anything is written, as with gqlgen's
// transports, so gqlgen's handler can still answer 500.
func TestWriteResponseUnmarshallableExtensionPanics(t *testing.T) {
	w := httptest.NewRecorder()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
		if w.Body.Len() != 0 || w.Code != http.StatusOK || w.Header().Get("Content-Length") != "" {
			t.Fatalf("wrote before panicking: %d %q", w.Code, w.Body)
		}
	}()
	writeResponse(w, http.StatusOK, &graphql.Response{Extensions: map[string]any{"c": make(chan int)}}, true)
}

// fakeExec is a graphql.GraphExecutor that refuses every operation with
// refuse, or answers resp for an operation of kind op.
type fakeExec struct {
	refuse gqlerror.List
	op     ast.Operation
	resp   *graphql.Response

	params *graphql.RawParams // as the transport decoded them
	ran    bool
}

func (f *fakeExec) CreateOperationContext(_ context.Context, p *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	f.params = p
	if f.refuse != nil {
		return &graphql.OperationContext{}, f.refuse
	}
	return &graphql.OperationContext{RawQuery: p.Query, Operation: &ast.OperationDefinition{Operation: f.op}}, nil
}

func (f *fakeExec) DispatchOperation(ctx context.Context, _ *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	f.ran = true
	return graphql.OneShot(f.resp), ctx
}

func (f *fakeExec) DispatchError(_ context.Context, list gqlerror.List) *graphql.Response {
	return &graphql.Response{Errors: list}
}

type transportResult struct {
	status      int
	contentType string
	allow       string
	hasData     bool
	data        string
	codes       []string
	messages    []string
}

func serveTransport(t *testing.T, tr graphql.Transport, exec graphql.GraphExecutor, r *http.Request) transportResult {
	t.Helper()
	if !tr.Supports(r) {
		t.Fatalf("%T does not support %s %s", tr, r.Method, r.URL)
	}
	w := httptest.NewRecorder()
	tr.Do(w, r, exec)
	var body struct {
		Data   *json.RawMessage `json:"data"`
		Errors []struct {
			Message    string `json:"message"`
			Extensions struct {
				Code string `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, w.Body)
	}
	res := transportResult{status: w.Code, contentType: w.Header().Get("Content-Type"), allow: w.Header().Get("Allow")}
	var doc map[string]json.RawMessage
	_ = json.Unmarshal(w.Body.Bytes(), &doc)
	if d, ok := doc["data"]; ok {
		res.hasData, res.data = true, string(d)
	}
	for _, e := range body.Errors {
		res.codes = append(res.codes, e.Extensions.Code)
		res.messages = append(res.messages, e.Message)
	}
	return res
}

func postRequest(body, accept string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	return r
}

func getRequest(rawQuery, accept string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/graphql", nil)
	r.URL.RawQuery = rawQuery
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	return r
}

func codedError(msg, code string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": code}}
}

// TestHTTPTransportStatuses: the status, media type and shape of each kind
// of answer, under each media type a client may ask for (GraphQL over
// HTTP, and docs/api-conventions.md).
func TestHTTPTransportStatuses(t *testing.T) {
	const (
		jsonType = "application/json"
		gqlType  = "application/graphql-response+json"
	)
	post := postTransport{maxVariableValues: 10}
	for _, tc := range []struct {
		name    string
		exec    *fakeExec
		req     func(accept string) *http.Request
		tr      graphql.Transport
		accepts map[string]transportResult // by Accept; codes only where errors are expected
	}{
		{
			name: "answer", exec: &fakeExec{op: ast.Query, resp: &graphql.Response{Data: tricky}},
			req: func(a string) *http.Request { return postRequest(`{"query":"{ a }"}`, a) }, tr: post,
			accepts: map[string]transportResult{
				"":      {status: 200, contentType: jsonType, hasData: true, data: string(tricky)},
				gqlType: {status: 200, contentType: gqlType, hasData: true, data: string(tricky)},
			},
		},
		{
			name: "validation error", exec: &fakeExec{refuse: gqlerror.List{codedError("Cannot query field", "GRAPHQL_VALIDATION_FAILED")}},
			req: func(a string) *http.Request { return postRequest(`{"query":"{ nope }"}`, a) }, tr: post,
			accepts: map[string]transportResult{
				"":       {status: 200, contentType: jsonType, hasData: true, data: "null", codes: []string{"GRAPHQL_VALIDATION_FAILED"}},
				jsonType: {status: 200, contentType: jsonType, hasData: true, data: "null", codes: []string{"GRAPHQL_VALIDATION_FAILED"}},
				gqlType:  {status: 400, contentType: gqlType, codes: []string{"GRAPHQL_VALIDATION_FAILED"}},
			},
		},
		{
			name: "no operation", exec: &fakeExec{refuse: gqlerror.List{codedError("no operation provided", "GRAPHQL_VALIDATION_FAILED")}},
			req: func(a string) *http.Request { return postRequest(`{"qeury":"{ a }"}`, a) }, tr: post,
			accepts: map[string]transportResult{
				"":      {status: 400, contentType: jsonType, hasData: true, data: "null", codes: []string{"GRAPHQL_VALIDATION_FAILED"}},
				gqlType: {status: 400, contentType: gqlType, codes: []string{"GRAPHQL_VALIDATION_FAILED"}},
			},
		},
		{
			name: "refused over GET by an extension", exec: &fakeExec{refuse: gqlerror.List{codedError("only queries", "METHOD_NOT_ALLOWED")}},
			req: func(a string) *http.Request { return getRequest("query="+url.QueryEscape("mutation { a }"), a) }, tr: getTransport{},
			accepts: map[string]transportResult{
				"":      {status: 405, contentType: jsonType, allow: "POST", hasData: true, data: "null", codes: []string{"METHOD_NOT_ALLOWED"}},
				gqlType: {status: 405, contentType: gqlType, allow: "POST", codes: []string{"METHOD_NOT_ALLOWED"}},
			},
		},
		{
			name: "mutation over GET", exec: &fakeExec{op: ast.Mutation, resp: &graphql.Response{Data: json.RawMessage(`{"a":1}`)}},
			req: func(a string) *http.Request { return getRequest("query="+url.QueryEscape("mutation { a }"), a) }, tr: getTransport{},
			accepts: map[string]transportResult{
				"":      {status: 405, contentType: jsonType, allow: "POST", hasData: true, data: "null", codes: []string{"METHOD_NOT_ALLOWED"}},
				gqlType: {status: 405, contentType: gqlType, allow: "POST", codes: []string{"METHOD_NOT_ALLOWED"}},
			},
		},
		{
			name: "query over GET", exec: &fakeExec{op: ast.Query, resp: &graphql.Response{Data: json.RawMessage(`{"a":1}`)}},
			req: func(a string) *http.Request {
				return getRequest("query="+url.QueryEscape("{ a }")+"&variables=%7B%7D", a)
			}, tr: getTransport{},
			accepts: map[string]transportResult{
				"":      {status: 200, contentType: jsonType, hasData: true, data: `{"a":1}`},
				gqlType: {status: 200, contentType: gqlType, hasData: true, data: `{"a":1}`},
			},
		},
		{
			// Not a protocol error: gqlgen's APQ extension does not
			// register its code.
			name: "persisted query not found", exec: &fakeExec{refuse: gqlerror.List{codedError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")}},
			req: func(a string) *http.Request {
				return postRequest(`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"ab"}}}`, a)
			}, tr: post,
			accepts: map[string]transportResult{
				"":      {status: 200, contentType: jsonType, hasData: true, data: "null", codes: []string{"PERSISTED_QUERY_NOT_FOUND"}},
				gqlType: {status: 200, contentType: gqlType, hasData: true, data: "null", codes: []string{"PERSISTED_QUERY_NOT_FOUND"}},
			},
		},
		{
			name: "body not JSON", exec: &fakeExec{},
			req: func(a string) *http.Request { return postRequest(`{"query":`, a) }, tr: post,
			accepts: map[string]transportResult{
				"":      {status: 400, contentType: jsonType, hasData: true, data: "null", codes: []string{""}},
				gqlType: {status: 400, contentType: gqlType, codes: []string{""}},
			},
		},
		{
			name: "variables not JSON over GET", exec: &fakeExec{},
			req: func(a string) *http.Request { return getRequest("query=%7Ba%7D&variables=%7Bx", a) }, tr: getTransport{},
			accepts: map[string]transportResult{
				"":      {status: 400, contentType: jsonType, hasData: true, data: "null", codes: []string{""}},
				gqlType: {status: 400, contentType: gqlType, codes: []string{""}},
			},
		},
		{
			name: "URL query string does not parse", exec: &fakeExec{},
			req: func(a string) *http.Request { return getRequest("query=%zz", a) }, tr: getTransport{},
			accepts: map[string]transportResult{
				"":      {status: 400, contentType: jsonType, hasData: true, data: "null", codes: []string{""}},
				gqlType: {status: 400, contentType: gqlType, codes: []string{""}},
			},
		},
		{
			// 10 values allowed plus 64 for the request's own members.
			name: "more JSON values than the variables may hold", exec: &fakeExec{},
			req: func(a string) *http.Request {
				return postRequest(`{"query":"{ a }","variables":{"x":[`+strings.Repeat("1,", 80)+`1]}}`, a)
			}, tr: post,
			accepts: map[string]transportResult{
				"":      {status: 200, contentType: jsonType, codes: []string{"VARIABLE_LIMIT_EXCEEDED"}},
				gqlType: {status: 400, contentType: gqlType, codes: []string{"VARIABLE_LIMIT_EXCEEDED"}},
			},
		},
	} {
		for accept, want := range tc.accepts {
			t.Run(tc.name+"/Accept="+accept, func(t *testing.T) {
				exec := *tc.exec
				got := serveTransport(t, tc.tr, &exec, tc.req(accept))
				if wantRun := want.status == 200 && want.codes == nil; exec.ran != wantRun {
					t.Fatalf("executor ran: %t, want %t", exec.ran, wantRun)
				}
				if want.codes == nil {
					want.codes, want.messages = got.codes, got.messages
				} else {
					want.messages = got.messages
					if len(got.codes) != len(want.codes) {
						t.Fatalf("errors %v %v, want codes %v", got.codes, got.messages, want.codes)
					}
				}
				if diff := cmp.Diff(want, got, cmp.AllowUnexported(transportResult{})); diff != "" {
					t.Fatalf("(-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestPostTransportDecodesAsGQLGen: a JSON array (a batch) and a body that
// is not JSON are refused with the messages graph.Errors recognises; the
// members are decoded with numbers kept as json.Number; a body the limit
// cut short is REQUEST_TOO_LARGE.
func TestPostTransportDecodesAsGQLGen(t *testing.T) {
	post := postTransport{maxVariableValues: 100}
	for body, prefix := range map[string]string{
		`[{"query":"{ a }"}]`: "json request body could not be decoded: json: cannot unmarshal array",
		`{"query":`:           "json request body could not be decoded: ",
		`{"query":1}`:         "json request body could not be decoded: json: cannot unmarshal number",
	} {
		got := serveTransport(t, post, &fakeExec{}, postRequest(body, ""))
		if got.status != http.StatusBadRequest || len(got.messages) != 1 || !strings.HasPrefix(got.messages[0], prefix) {
			t.Fatalf("%s: %d %q, want 400 and a message starting %q", body, got.status, got.messages, prefix)
		}
	}

	exec := &fakeExec{op: ast.Query, resp: &graphql.Response{Data: json.RawMessage(`{}`)}}
	serveTransport(t, post, exec, postRequest(`{"query":"{ a }","operationName":"A","variables":{"n":12345678901234567890},"extensions":{"e":true}}`, ""))
	want := &graphql.RawParams{Query: "{ a }", OperationName: "A", Variables: map[string]any{"n": json.Number("12345678901234567890")}, Extensions: map[string]any{"e": true}}
	if diff := cmp.Diff(want, exec.params, cmp.FilterPath(func(p cmp.Path) bool {
		name := p.Last().String()
		return name == ".Headers" || name == ".ReadTime"
	}, cmp.Ignore())); diff != "" {
		t.Fatalf("params (-want +got):\n%s", diff)
	}
	if exec.params.Headers.Get("Content-Type") != "application/json" || exec.params.ReadTime.End.Before(exec.params.ReadTime.Start) || exec.params.ReadTime.Start.IsZero() {
		t.Fatalf("headers %v, read time %+v", exec.params.Headers, exec.params.ReadTime)
	}

	r := postRequest(`{"query":"{ __typename }"}`, "")
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 5)
	got := serveTransport(t, post, &fakeExec{}, r)
	if got.status != http.StatusRequestEntityTooLarge || len(got.codes) != 1 || got.codes[0] != "REQUEST_TOO_LARGE" {
		t.Fatalf("cut short: %+v", got)
	}
}

// TestHTTPTransportsSupportWhatGQLGensDid: each transport takes the
// requests gqlgen's took, so nothing moves to another transport.
func TestHTTPTransportsSupportWhatGQLGensDid(t *testing.T) {
	for _, tc := range []struct {
		method, contentType, upgrade string
	}{
		{"POST", "application/json", ""},
		{"POST", "application/json; charset=utf-8", ""},
		{"POST", "Application/JSON", ""},
		{"POST", "application/json", "websocket"},
		{"POST", "text/plain", ""},
		{"POST", "multipart/form-data; boundary=x", ""},
		{"POST", "application/graphql-response+json", ""},
		{"POST", "", ""},
		{"POST", "application/json;;", ""},
		{"GET", "", ""},
		{"GET", "", "websocket"},
		{"PUT", "application/json", ""},
		{"HEAD", "", ""},
	} {
		r := httptest.NewRequest(tc.method, "/graphql", nil)
		if tc.contentType != "" {
			r.Header.Set("Content-Type", tc.contentType)
		}
		if tc.upgrade != "" {
			r.Header.Set("Upgrade", tc.upgrade)
		}
		if got, want := (postTransport{}).Supports(r), (transport.POST{}).Supports(r); got != want {
			t.Errorf("POST transport, %+v: supports %t, gqlgen's %t", tc, got, want)
		}
		if got, want := (getTransport{}).Supports(r), (transport.GET{}).Supports(r); got != want {
			t.Errorf("GET transport, %+v: supports %t, gqlgen's %t", tc, got, want)
		}
	}
}

// TestResponseMediaTypeAsGQLGen: Accept picks the media type as gqlgen's
// transports did; compared with gqlgen's own choice (the Content-Type its
// POST transport writes) for each Accept.
func TestResponseMediaTypeAsGQLGen(t *testing.T) {
	for _, accept := range []string{
		"", "*/*", "application/*", "application/json", "application/graphql-response+json",
		"application/graphql-response+json, application/json;q=0.9", "application/json;q=0.9, application/graphql-response+json",
		"text/html", "text/html, */*", "text/html, application/graphql-response+json", "garbage;;", ";, application/json",
		"application/json; charset=utf-8", "APPLICATION/JSON",
	} {
		r := postRequest(`{"query":"{ a }"}`, accept)
		w := httptest.NewRecorder()
		transport.POST{}.Do(w, r, &fakeExec{op: ast.Query, resp: &graphql.Response{}})
		if got, want := responseMediaType(r), w.Header().Get("Content-Type"); got != want {
			t.Errorf("Accept %q: %s, gqlgen %s", accept, got, want)
		}
	}
}

// slotsData is about size bytes of data shaped like availableSlots' (60
// days of 20 practitioners' slots).
func slotsData(size int) json.RawMessage {
	var b bytes.Buffer
	b.WriteString(`{"availableSlots":[`)
	start := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		s := start.Add(time.Duration(i) * 30 * time.Minute)
		fmt.Fprintf(&b, `{"start":%q,"end":%q,"practitioner":{"id":"prc_01JE%022d","name":"Practitioner %d"}}`,
			s.Format(time.RFC3339), s.Add(30*time.Minute).Format(time.RFC3339), i%20, i%20+1)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// discardWriter is an http.ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkHTTPTransportWrite serves one POST whose answer has 300 KB of
// data (the size of a 60-day availableSlots answer) through gqlgen's POST
// transport and through postTransport, with an executor that hands back
// the same prepared response: what is measured is the transports' own
// work, reading the request and writing the answer. The second row
// reports how many times faster it is than the first (gqlgen-÷-ours).
func BenchmarkHTTPTransportWrite(b *testing.B) {
	data := slotsData(300 << 10)
	resp := &graphql.Response{Data: data, Extensions: map[string]any{"cost": 12}}
	body := `{"query":"query Slots($s: ID!) { availableSlots(service: $s) { start end practitioner { id name } } }","variables":{"s":"svc_1"}}`
	var gqlgenNs float64
	for _, tc := range []struct {
		name string
		tr   graphql.Transport
	}{
		{"gqlgen", transport.POST{}},
		{"frontdesk", postTransport{maxVariableValues: 10000}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			exec := &fakeExec{op: ast.Query, resp: resp}
			w := &discardWriter{h: http.Header{}}
			r := postRequest(body, "")
			reader := strings.NewReader(body)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				reader.Reset(body)
				r.Body = io.NopCloser(reader)
				clear(w.h)
				tc.tr.Do(w, r, exec)
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if tc.name == "gqlgen" {
				gqlgenNs = ns
			} else if gqlgenNs > 0 {
				b.ReportMetric(gqlgenNs/ns, "x-faster")
			}
		})
	}
}
