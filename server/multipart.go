package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"frontdesk/errcode"
	"frontdesk/graph"
)

// multipartHeadroom is what the part headers and the multipart reader's
// read-ahead may add to the operations and map parts before the budget
// refuses the request.
const multipartHeadroom = 64 << 10

// maxUploadFiles is how many files one request may carry: the schema
// takes one per uploadProductImage, and each file part costs the
// transport a header parse and a buffer.
const maxUploadFiles = 100

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
//     (VARIABLE_LIMIT_EXCEEDED), as postTransport does for a JSON body;
//   - a document over the document limits (their own codes), with the
//     same linear pass graph.Limits runs, so the files that follow are
//     never read for a document that would be refused;
//   - more than maxUploadFiles files, or a map path that does not lead to
//     a null in the variables (BAD_USER_INPUT): gqlgen follows such a
//     path without checking it and panics (an INTERNAL answer).
//
// Whatever it read is put back in front of the rest of the body, so gqlgen
// sees the request as sent. Anything it cannot make sense of (no
// `operations` part first, a part that does not decode) passes through for
// gqlgen to refuse with its own message.
//
// known is gqlgen's parsed-query cache: a document in it has passed the
// limits already and is not measured again.
func withMultipartBudget(maxBody int64, maxValues int, limits graph.DocumentLimits, known graphql.Cache[*ast.QueryDocument], next http.Handler) http.Handler {
	budget := maxValues + jsonValueHeadroom
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
			Query     string         `json:"query"`
			Variables map[string]any `json:"variables"`
		}
		if json.Unmarshal(ops, &op) != nil {
			pass()
			return
		}
		if gerr := measure(r.Context(), limits, known, op.Query); gerr != nil {
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
		var files map[string][]string
		if json.Unmarshal(m, &files) != nil {
			pass()
			return
		}
		if len(files) > maxUploadFiles {
			writeJSONError(w, http.StatusUnprocessableEntity, string(errcode.VariableLimit),
				fmt.Sprintf("an upload may carry at most %d files; the map names %d", maxUploadFiles, len(files)))
			return
		}
		for _, paths := range files {
			for _, p := range paths {
				if !nullAt(op.Variables, p) {
					writeJSONError(w, http.StatusUnprocessableEntity, string(errcode.BadUserInput),
						fmt.Sprintf("the map path %.100q does not lead to a null in the variables", p))
					return
				}
			}
		}
		pass()
	})
}

var errPartTooLarge = errors.New("part over its budget")

// measure runs the document limits on query unless the parsed-query cache
// holds it: gqlgen caches only documents that passed them.
func measure(ctx context.Context, limits graph.DocumentLimits, known graphql.Cache[*ast.QueryDocument], query string) *gqlerror.Error {
	if _, ok := known.Get(ctx, query); ok {
		return nil
	}
	return limits.CheckQuery(query)
}

// nullAt reports whether path (variables.in.files.0) names a null inside
// vars: where the multipart request spec puts a file.
func nullAt(vars map[string]any, path string) bool {
	rest, ok := strings.CutPrefix(path, "variables.")
	if !ok {
		return false
	}
	var v any = vars
	for _, seg := range strings.Split(rest, ".") {
		switch c := v.(type) {
		case map[string]any:
			if v, ok = c[seg]; !ok {
				return false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return false
			}
			v = c[i]
		default:
			return false
		}
	}
	return v == nil
}

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
