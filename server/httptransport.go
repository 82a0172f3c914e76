package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	gqlerrcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"frontdesk/errcode"
)

// postTransport and getTransport serve GraphQL over HTTP in place of
// gqlgen's transport.POST and transport.GET. They decode a request as
// gqlgen's do and run gqlgen's executor exactly as they do, with two
// differences:
//
//   - The response is written by writeResponse, which copies `data` as
//     the executor wrote it. gqlgen writes the whole graphql.Response with
//     json.Marshal, and encoding/json validates and re-compacts a
//     json.RawMessage byte by byte: about 2 ms for the 300 KB of a 60-day
//     availableSlots answer.
//   - They set the status the GraphQL-over-HTTP specification asks for
//     themselves (see requestErrorStatus), where gqlgen writes 422 and
//     `"data": null` for every request error.
//
// Multipart uploads stay on gqlgen's MultipartForm transport, OPTIONS on
// its Options, WebSockets on wsTransport and gqlgen's Websocket.

// postTransport serves POST with a JSON body: {"query", "operationName",
// "variables", "extensions"}.
type postTransport struct {
	// maxVariableValues is FRONTDESK_MAX_VARIABLE_VALUES: a body holding
	// more JSON values than it allows (plus room for the request's own
	// members) is refused before it is decoded, since decoding 1 MiB of
	// `[1,1,1,…]` into Go values costs tens of milliseconds of CPU and
	// tens of megabytes, and graph.Limits can count the variables only
	// afterwards. The count is one pass over bytes the body limit has
	// bounded already.
	maxVariableValues int
}

// getTransport serves GET with query, operationName, variables and
// extensions as URL parameters. Only queries run over GET.
type getTransport struct{}

var (
	_ graphql.Transport = postTransport{}
	_ graphql.Transport = getTransport{}
)

// jsonValueHeadroom is how many JSON values the members of a request other
// than its variables (query, operationName, extensions) may add to the
// variables limit before a body is refused unread.
const jsonValueHeadroom = 64

// Supports implements graphql.Transport: a POST whose body is JSON.
func (postTransport) Supports(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" || r.Method != http.MethodPost {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// Do implements graphql.Transport.
func (t postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	mt := responseMediaType(r)
	w.Header().Set("Content-Type", mt)
	start := graphql.Now()

	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeRefusal(w, http.StatusRequestEntityTooLarge, errcode.RequestTooLarge,
				fmt.Sprintf("request body is over the limit of %d bytes", tooLarge.Limit))
			return
		}
		writeBadRequest(w, mt, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("could not read request body: %v", err)}))
		return
	}
	budget := t.maxVariableValues + jsonValueHeadroom
	if n := jsonValues(body, budget); n > budget {
		writeRefusal(w, requestErrorStatusFor(mt), errcode.VariableLimit,
			fmt.Sprintf("the request holds more than %d JSON values; the variables may hold at most %d", budget, t.maxVariableValues))
		return
	}
	params := &graphql.RawParams{}
	if err := jsonDecode(bytes.NewReader(body), params); err != nil {
		// graph.Errors recognises this message (a batch, an array, is
		// refused with its own explanation) and replaces it, so the
		// decoder's words never reach the client.
		writeBadRequest(w, mt, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("json request body could not be decoded: %v", err)}))
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, mt, exec, params)
}

// Supports implements graphql.Transport: a GET that is not a WebSocket
// upgrade.
func (getTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && r.Method == http.MethodGet
}

// Do implements graphql.Transport.
func (getTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	mt := responseMediaType(r)
	w.Header().Set("Content-Type", mt)
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeBadRequest(w, mt, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("the URL's query string does not parse: %v", err)}))
		return
	}
	params := &graphql.RawParams{
		Query:         query.Get("query"),
		OperationName: query.Get("operationName"),
		Headers:       r.Header,
	}
	params.ReadTime.Start = graphql.Now()
	for _, p := range []struct {
		name string
		into *map[string]any
	}{{"variables", &params.Variables}, {"extensions", &params.Extensions}} {
		if v := query.Get(p.name); v != "" {
			if err := jsonDecode(strings.NewReader(v), p.into); err != nil {
				writeBadRequest(w, mt, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("%s could not be decoded: the parameter must be a JSON object", p.name)}))
				return
			}
		}
	}
	params.ReadTime.End = graphql.Now()
	execute(w, r, mt, exec, params)
}

// execute runs one operation as gqlgen's transports do and writes its
// response with the status GraphQL over HTTP asks for.
func execute(w http.ResponseWriter, r *http.Request, mt string, exec graphql.GraphExecutor, params *graphql.RawParams) {
	ctx := r.Context()
	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs)
		status, withData := requestErrorStatus(mt, errs)
		if status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		writeResponse(w, status, resp, withData)
		return
	}
	if r.Method == http.MethodGet && opCtx.Operation.Operation != ast.Query {
		// graph.QueriesOnlyOverGET refuses these first, with the same
		// code; this keeps the rule should that extension ever be left
		// out.
		refusal := &gqlerror.Error{
			Message:    "only queries may be sent over GET; send " + string(opCtx.Operation.Operation) + "s with POST",
			Extensions: map[string]any{"code": string(errcode.MethodNotAllowed)},
		}
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), gqlerror.List{refusal})
		w.Header().Set("Allow", http.MethodPost)
		writeResponse(w, http.StatusMethodNotAllowed, resp, mt == mediaTypeJSON)
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	resp := responses(ctx)
	if resp == nil {
		// The executor ends a stream with nil, and answers nil when the
		// request's context is already done: the client has gone.
		return
	}
	writeResponse(w, http.StatusOK, resp, true)
}

const (
	mediaTypeJSON            = "application/json"
	mediaTypeGraphQLResponse = "application/graphql-response+json"
)

// responseMediaType picks the response's media type from Accept as
// gqlgen's transports do: application/json without an Accept header or
// for */* and application/*, otherwise the first of the two GraphQL media
// types listed (parameters and q-values aside), and
// application/graphql-response+json when neither is.
func responseMediaType(r *http.Request) string {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return mediaTypeJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*", mediaTypeJSON:
			return mediaTypeJSON
		case mediaTypeGraphQLResponse:
			return mediaTypeGraphQLResponse
		}
	}
	return mediaTypeGraphQLResponse
}

// requestErrorStatusFor is the status of a request error (one found
// before execution) under the response's media type: 200 under
// application/json, whose clients read any other status as a transport
// failure and never look at `errors`, and 400 under
// application/graphql-response+json.
func requestErrorStatusFor(mt string) int {
	if mt == mediaTypeGraphQLResponse {
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// requestErrorStatus is the status of a response to a request the
// executor refused before running it (errs are the refusal's errors as
// the executor raised them), and whether the body has a `data` entry.
//
//   - Errors of the protocol kind (parse, validation, variable coercion,
//     the document and cost limits, trusted documents; see gqlgen's
//     errcode.RegisterErrorType) are request errors: 200 under
//     application/json, 400 under application/graphql-response+json.
//   - Of those, a mutation or subscription sent over GET is 405 (the
//     caller adds Allow: POST), and a request without any operation
//     (gqlgen: "no operation provided", such as a misspelt "query" key)
//     is 400 under either media type: it is not a GraphQL request at all.
//   - Anything else (a persisted query the server does not know) is 200
//     with `"data": null`, under either media type.
//
// Under application/graphql-response+json a request error has no `data`
// entry, since `data`, even null, tells the client that execution
// started; under application/json it keeps the `"data": null` gqlgen
// has always written.
func requestErrorStatus(mt string, errs gqlerror.List) (status int, withData bool) {
	if gqlerrcode.GetErrorKind(errs) != gqlerrcode.KindProtocol {
		return http.StatusOK, true
	}
	withData = mt == mediaTypeJSON
	for _, e := range errs {
		if code, _ := e.Extensions["code"].(string); code == string(errcode.MethodNotAllowed) {
			return http.StatusMethodNotAllowed, withData
		}
	}
	for _, e := range errs {
		if e.Message == "no operation provided" {
			return http.StatusBadRequest, withData
		}
	}
	return requestErrorStatusFor(mt), withData
}

// writeBadRequest answers a request that is not well-formed (a body or a
// parameter that is not JSON): 400 under either media type, with
// `"data": null` under application/json only.
func writeBadRequest(w http.ResponseWriter, mt string, resp *graphql.Response) {
	writeResponse(w, http.StatusBadRequest, resp, mt == mediaTypeJSON)
}

// writeRefusal answers a request refused before the executor saw it,
// with one error carrying code; the body has no `data` entry.
func writeRefusal(w http.ResponseWriter, status int, code errcode.Code, message string) {
	writeResponse(w, status, &graphql.Response{Errors: gqlerror.List{{
		Message:    message,
		Extensions: map[string]any{"code": string(code)},
	}}}, false)
}

// writeResponse writes resp with status. The body is what json.Marshal
// writes for a graphql.Response (the same members in the same order)
// except that `data` is copied as the executor wrote it rather than
// validated and compacted again, and is left out when withData is false.
// An empty Data is written as null.
//
// The executor's writers (gqlgen's marshalers and graph's) write compact,
// valid JSON; unlike json.Marshal this does not escape <, > and & inside
// data's strings, which JSON does not require (every response is served as
// JSON, never as HTML). errors and extensions are marshalled as before; a
// value that cannot be marshalled panics, as with gqlgen's transports,
// and gqlgen's handler answers 500 with INTERNAL.
func writeResponse(w http.ResponseWriter, status int, resp *graphql.Response, withData bool) {
	head, data, tail, err := encodeResponse(resp, withData)
	if err != nil {
		panic(fmt.Errorf("unable to marshal the GraphQL response: %w", err))
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(head)+len(data)+len(tail)))
	w.WriteHeader(status)
	// The client may be gone; there is nothing to do about a failed write.
	_, _ = w.Write(head)
	if len(data) > 0 {
		_, _ = w.Write(data)
	}
	if len(tail) > 0 {
		_, _ = w.Write(tail)
	}
}

var jsonNull = []byte("null")

// encodeResponse returns the body of resp in three parts, head, data and
// tail, written one after the other; data is resp.Data itself (or null),
// never copied.
func encodeResponse(resp *graphql.Response, withData bool) (head, data, tail []byte, err error) {
	head = append(make([]byte, 0, 64), '{')
	if len(resp.Errors) > 0 {
		b, err := json.Marshal(resp.Errors)
		if err != nil {
			return nil, nil, nil, err
		}
		head = append(append(head, `"errors":`...), b...)
	}
	// The members after data go to tail when data is written, so data
	// stays in place; without data they follow the errors in head.
	rest := &tail
	if withData {
		if len(head) > 1 {
			head = append(head, ',')
		}
		head = append(head, `"data":`...)
		data = resp.Data
		if len(data) == 0 {
			data = jsonNull
		}
	} else {
		rest = &head
	}
	member := func(name string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if withData || len(head) > 1 {
			*rest = append(*rest, ',')
		}
		*rest = append(append(append(append(*rest, '"'), name...), `":`...), b...)
		return nil
	}
	if resp.Label != "" {
		if err := member("label", resp.Label); err != nil {
			return nil, nil, nil, err
		}
	}
	if len(resp.Path) > 0 {
		if err := member("path", resp.Path); err != nil {
			return nil, nil, nil, err
		}
	}
	if resp.HasNext != nil {
		if err := member("hasNext", *resp.HasNext); err != nil {
			return nil, nil, nil, err
		}
	}
	if len(resp.Extensions) > 0 {
		if err := member("extensions", resp.Extensions); err != nil {
			return nil, nil, nil, err
		}
	}
	*rest = append(*rest, '}')
	return head, data, tail, nil
}

// jsonDecode decodes the first JSON value of r into val as gqlgen's
// transports do: numbers stay json.Number, so large IDs and prices keep
// their digits.
func jsonDecode(r io.Reader, val any) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return dec.Decode(val)
}
