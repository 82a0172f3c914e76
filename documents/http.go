package documents

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	gqlerrcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"frontdesk/errcode"
	"frontdesk/identity"
)

func init() {
	// Both are refusals before execution, answered like validation errors.
	gqlerrcode.RegisterErrorType(string(CodeNotFound), gqlerrcode.KindProtocol)
	gqlerrcode.RegisterErrorType(string(CodeRequired), gqlerrcode.KindProtocol)
}

// Handler lets HTTP requests name a trusted document the standard way:
// it moves `documentId` (a GET parameter, or a member of a JSON POST
// body) into extensions.documentId, which gqlgen's transports hand to
// the Extension. Everything else passes through unchanged.
func Handler(next http.Handler) http.Handler { return HandlerFor(nil, Off, next) }

// HandlerFor is Handler that also understands Apollo Client's persisted
// query link (@apollo/persisted-query-lists), which sends a manifest id
// as `extensions.persistedQuery.sha256Hash` without a query: in Require
// mode, when the hash is a registered trusted document's id, the request
// is served as that documentId. Any other persistedQuery request is left
// to automatic persisted queries, as before; in Allow mode all of them
// are (the link falls back to registering the query through APQ, which
// Allow permits), so APQ requests cost no trusted-document lookup there.
func HandlerFor(store *Store, mode Mode, next http.Handler) http.Handler {
	lookup := func(ctx context.Context, id string) bool {
		if store == nil || mode != Require || id == "" {
			return false
		}
		_, found, err := store.Lookup(ctx, id)
		return err == nil && found
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			if r.Header.Get("Upgrade") != "" {
				break
			}
			q := r.URL.Query()
			id := q.Get("documentId")
			ext := map[string]any{}
			if e := q.Get("extensions"); e != "" {
				if err := json.Unmarshal([]byte(e), &ext); err != nil {
					break // gqlgen reports the malformed parameter
				}
			}
			if id == "" && q.Get("query") == "" {
				if h := persistedHash(ext); lookup(r.Context(), h) {
					id = h
					delete(ext, "persistedQuery")
				}
			}
			if id == "" {
				break
			}
			ext["documentId"] = id
			b, err := json.Marshal(ext)
			if err != nil {
				break
			}
			q.Del("documentId")
			q.Set("extensions", string(b))
			r = r.Clone(r.Context())
			r.URL.RawQuery = q.Encode()
		case http.MethodPost:
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" && mt != "application/graphql-response+json" {
				break
			}
			// The body is already capped (FRONTDESK_MAX_BODY_BYTES); a read
			// error is handed on for gqlgen to report as before.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
				break
			}
			if body, err = rewrite(body, func(id string) bool { return lookup(r.Context(), id) }); err != nil {
				http.Error(w, "malformed request", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		next.ServeHTTP(w, r)
	})
}

// persistedHash returns extensions.persistedQuery.sha256Hash, or "".
func persistedHash(ext map[string]any) string {
	pq, _ := ext["persistedQuery"].(map[string]any)
	h, _ := pq["sha256Hash"].(string)
	return h
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Extension resolves extensions.documentId to its registered document on
// every transport (POST, GET, WebSocket) and, in Require mode, refuses
// ad-hoc documents (and APQ, which is ad hoc too) from public clients.
type Extension struct {
	Store *Store
	Mode  Mode
	// Development lets everyone send any document whatever the mode.
	Development bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = Extension{}

// ExtensionName implements graphql.HandlerExtension.
func (Extension) ExtensionName() string { return "TrustedDocuments" }

// Validate implements graphql.HandlerExtension.
func (Extension) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters implements graphql.OperationParameterMutator.
func (e Extension) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if raw, ok := p.Extensions["documentId"]; ok {
		id, _ := raw.(string)
		if e.Mode == Off {
			return refusal(CodeNotFound, "this server does not serve trusted documents (FRONTDESK_TRUSTED_DOCUMENTS=off); send the query")
		}
		if p.Query != "" {
			return refusal(errcode.BadUserInput, "send either documentId or query, not both")
		}
		body, found, err := e.Store.Lookup(ctx, id)
		if err != nil {
			return gqlerror.WrapIfUnwrapped(err)
		}
		if !found {
			return refusal(CodeNotFound, fmt.Sprintf("no trusted document has the id %q; register the client's manifest (docs/authentication.md, \"Trusted documents\")", truncate(id, 160)))
		}
		p.Query = body
		return nil
	}
	if e.Mode == Require && !e.Development && !privileged(ctx) {
		return refusal(CodeRequired, "this server runs only trusted documents for public clients: send the document's documentId instead of the query (docs/authentication.md, \"Trusted documents\")")
	}
	return nil
}

// privileged callers may send any document: staff and partners' API
// keys, who write their own queries.
func privileged(ctx context.Context) bool {
	v := identity.ViewerFrom(ctx)
	return v.IsStaff() || (v != nil && v.APIKeyID != "")
}

func refusal(code errcode.Code, msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": string(code)}}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
