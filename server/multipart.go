package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"frontdesk/errcode"
	"frontdesk/graph"
)

// multipartHeadroom is what the part headers and the multipart reader's
// read-ahead may add to the operations and map parts before the budget
// refuses the request.
const multipartHeadroom = 64 << 10

// withMultipartBudget gives the text of an upload (the GraphQL multipart
// request spec's `operations` and `map` parts) the budget of a JSON
// request, although the whole request may be as large as
// FRONTDESK_MAX_UPLOAD_BYTES: without it, gqlgen decodes an `operations`
// part of 20 MB before any limit can look at it, and reads every file
// before the document is measured.
//
// It reads the first two parts itself, before gqlgen does, and refuses
//   - `operations` and `map` together over maxBody bytes
//     (REQUEST_TOO_LARGE, 413), as withBodyLimit refuses a JSON body;
//   - more JSON values in them than the variables may hold
//     (VARIABLE_LIMIT_EXCEEDED), as withJSONValueBudget does;
//   - a document over the document limits (their own codes), with the
//     same linear pass graph.Limits runs, so the files that follow are
//     never read for a document that would be refused.
//
// Whatever it read is put back in front of the rest of the body, so gqlgen
// sees the request as sent. Anything it cannot make sense of (no
// `operations` part first, a part that does not decode) passes through for
// gqlgen to refuse with its own message.
func withMultipartBudget(maxBody int64, maxValues int, limits graph.DocumentLimits, next http.Handler) http.Handler {
	budget := maxValues + 64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if r.Method != http.MethodPost || err != nil || mt != "multipart/form-data" || params["boundary"] == "" ||
			r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		// Everything the multipart reader takes from the body is kept, so
		// it can be given back; the limit bounds it whatever the parts'
		// headers claim.
		var seen bytes.Buffer
		prefixLimit := maxBody + multipartHeadroom
		body := r.Body
		mr := multipart.NewReader(io.TeeReader(io.LimitReader(body, prefixLimit+1), &seen), params["boundary"])
		pass := func() {
			r.Body = readCloser{io.MultiReader(bytes.NewReader(seen.Bytes()), body), body}
			next.ServeHTTP(w, r)
		}
		tooLarge := func() {
			writeJSONError(w, http.StatusRequestEntityTooLarge, string(errcode.RequestTooLarge),
				fmt.Sprintf("the operations and map parts of an upload may hold at most %d bytes together", maxBody))
		}
		overPrefix := func() bool { return int64(seen.Len()) > prefixLimit }

		ops, err := readPart(mr, "operations", maxBody)
		switch {
		case errors.Is(err, errPartTooLarge) || (err != nil && overPrefix()):
			tooLarge()
			return
		case err != nil:
			pass()
			return
		}
		n := jsonValues(ops, budget)
		if n > budget {
			writeJSONError(w, http.StatusUnprocessableEntity, string(errcode.VariableLimit),
				fmt.Sprintf("the operations part holds more than %d JSON values; the variables may hold at most %d", budget, maxValues))
			return
		}
		var op struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(ops, &op) != nil {
			pass()
			return
		}
		if gerr := limits.CheckQuery(op.Query); gerr != nil {
			code, _ := gerr.Extensions["code"].(string)
			writeJSONError(w, http.StatusUnprocessableEntity, code, gerr.Message)
			return
		}

		m, err := readPart(mr, "map", maxBody-int64(len(ops)))
		switch {
		case errors.Is(err, errPartTooLarge) || (err != nil && overPrefix()):
			tooLarge()
			return
		case err != nil:
			pass()
			return
		}
		if jsonValues(m, budget-n) > budget-n {
			writeJSONError(w, http.StatusUnprocessableEntity, string(errcode.VariableLimit),
				fmt.Sprintf("the operations and map parts hold more than %d JSON values", budget))
			return
		}
		pass()
	})
}

var errPartTooLarge = errors.New("part over its budget")

// readPart reads the next part, which must be called name, up to max
// bytes.
func readPart(mr *multipart.Reader, name string, max int64) ([]byte, error) {
	part, err := mr.NextPart()
	if err != nil {
		return nil, err
	}
	if part.FormName() != name {
		return nil, fmt.Errorf("part %q where %q was expected", part.FormName(), name)
	}
	b, err := io.ReadAll(io.LimitReader(part, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errPartTooLarge
	}
	return b, nil
}

// readCloser reads from one reader and closes another: the body with its
// already-read start put back, closing the original.
type readCloser struct {
	io.Reader
	io.Closer
}
