package server

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"

	"frontdesk/errcode"
)

// withJSONValueBudget refuses a JSON request body that holds more values
// than the server will ever accept, before gqlgen decodes it: decoding
// 1 MiB of `[1,1,1,…]` into Go values costs tens of milliseconds of CPU and
// tens of megabytes, and the variables limit (graph.DocumentLimits) can
// only count them afterwards. The scan is one pass over bytes already
// bounded by the body limit. The budget is the variables limit plus room
// for the request's own fields and extensions.
func withJSONValueBudget(maxValues int, next http.Handler) http.Handler {
	budget := maxValues + 64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if r.Method != http.MethodPost || mt != "application/json" || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			// Over the body limit (MaxBytesReader) or a broken
			// connection; the transport reports it as it would.
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
			next.ServeHTTP(w, r)
			return
		}
		if n := jsonValues(body, budget); n > budget {
			writeJSONError(w, http.StatusUnprocessableEntity, string(errcode.VariableLimit),
				fmt.Sprintf("the request holds more than %d JSON values; the variables may hold at most %d", budget, maxValues))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// jsonValues is an upper bound of the number of values in a JSON text:
// every value but the first of a container follows a comma, and every
// container opens with a bracket. Characters inside strings do not count.
// It stops counting past limit.
func jsonValues(b []byte, limit int) int {
	n := 1
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ',' || c == '[' || c == '{':
			n++
			if n > limit {
				return n
			}
		}
	}
	return n
}
