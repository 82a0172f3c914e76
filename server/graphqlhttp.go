package server

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"

	"frontdesk/errcode"
)

// withRequestErrorStatus makes gqlgen's answers to requests that fail before
// execution (parse, validation, variable coercion, the cost limits) follow
// the GraphQL-over-HTTP specification, which gqlgen's transports do not:
//
//   - Under application/json (also what a client without an Accept header
//     gets) the status is 200, not 422: clients of that media type read any
//     non-2xx answer as a transport failure and never look at `errors`.
//   - Under application/graphql-response+json the status stays 400 and the
//     body has no `data` entry (gqlgen writes `"data": null`): `data`, even
//     null, tells the client that execution started.
//   - A mutation or subscription sent over GET is 405 with `Allow: POST`,
//     as the specification requires, whatever the media type.
//   - A request without a query (gqlgen: "no operation provided") is 400
//     under either media type: it is not a GraphQL request at all.
//
// Only JSON POSTs and GETs are touched: a malformed multipart upload is not
// a well-formed GraphQL request and keeps its 422, and WebSocket upgrades
// pass straight through (they need the connection's Hijacker).
func withRequestErrorStatus(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" || !(r.Method == http.MethodGet || isJSONPost(r)) {
			next.ServeHTTP(w, r)
			return
		}
		rw := &requestErrorWriter{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		rw.finish()
	})
}

func isJSONPost(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return r.Method == http.MethodPost && err == nil && mt == "application/json"
}

// requestErrorWriter holds back the body of a 400 or 422 answer, which is a
// small error document written before any resolver ran, so that finish can
// choose its status and shape; every other answer streams through.
type requestErrorWriter struct {
	http.ResponseWriter
	wroteHeader bool
	held        bool
	code        int
	buf         bytes.Buffer
}

func (w *requestErrorWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if code == http.StatusBadRequest || code == http.StatusUnprocessableEntity {
		w.held, w.code = true, code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *requestErrorWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.held {
		return w.buf.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

// Flush lets streamed answers through; a held error body is written whole
// by finish.
func (w *requestErrorWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok && !w.held {
		f.Flush()
	}
}

func (w *requestErrorWriter) finish() {
	if !w.held {
		return
	}
	code, body := w.code, w.buf.Bytes()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		// Not a GraphQL response: pass it on as it was.
		w.ResponseWriter.WriteHeader(code)
		_, _ = w.ResponseWriter.Write(body) // the client may be gone; nothing to do
		return
	}
	mt, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type"))
	switch {
	case hasErrorCode(doc["errors"], string(errcode.MethodNotAllowed)):
		code = http.StatusMethodNotAllowed
		w.Header().Set("Allow", http.MethodPost)
	case hasErrorMessage(doc["errors"], "no operation provided"):
		// No query at all (a misspelt "query" key, say): not a GraphQL
		// request, so 400 under either media type.
		code = http.StatusBadRequest
	case mt == "application/json" && code == http.StatusUnprocessableEntity:
		code = http.StatusOK
	}
	if mt == "application/graphql-response+json" && string(doc["data"]) == "null" {
		delete(doc, "data")
		if b, err := json.Marshal(doc); err == nil {
			body = b
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.ResponseWriter.WriteHeader(code)
	_, _ = w.ResponseWriter.Write(body) // the client may be gone; nothing to do
}

type responseError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

func hasErrorCode(raw json.RawMessage, code string) bool {
	var errs []responseError
	if json.Unmarshal(raw, &errs) != nil {
		return false
	}
	for _, e := range errs {
		if e.Extensions.Code == code {
			return true
		}
	}
	return false
}

func hasErrorMessage(raw json.RawMessage, msg string) bool {
	var errs []responseError
	if json.Unmarshal(raw, &errs) != nil {
		return false
	}
	for _, e := range errs {
		if e.Message == msg {
			return true
		}
	}
	return false
}
