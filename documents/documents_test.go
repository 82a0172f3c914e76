package documents

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"

	"frontdesk/database"
	"frontdesk/errcode"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// The two manifest shapes, as relay-compiler (persistConfig with a local
// file) and @apollo/generate-persisted-query-manifest write them.
const (
	relayJSON  = `{"a1b2c3": "query ProductsQuery { products(first: 3) { totalCount } }", "d4e5f6": "mutation SignInMutation($in: SignInInput!) { signIn(input: $in) { token } }"}`
	apolloJSON = `{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
	  {"id": "5f1e…e9", "name": "Products", "type": "query", "body": "query Products { products(first: 3) { totalCount } }"}]}`
)

func TestParseManifest(t *testing.T) {
	docs, err := ParseManifest([]byte(relayJSON))
	if err != nil || len(docs) != 2 {
		t.Fatalf("relay: %v %v", docs, err)
	}
	for _, d := range docs {
		if (d.ID == "a1b2c3") != strings.HasPrefix(d.Body, "query ProductsQuery") {
			t.Fatalf("relay document %+v", d)
		}
	}
	docs, err = ParseManifest([]byte(apolloJSON))
	if err != nil || len(docs) != 1 || docs[0].ID != "5f1e…e9" || docs[0].Name != "Products" || !strings.HasPrefix(docs[0].Body, "query Products") {
		t.Fatalf("apollo: %+v %v", docs, err)
	}
	for name, bad := range map[string]string{
		"not JSON":          `query { x }`,
		"an array":          `["query { x }"]`,
		"empty":             `{}`,
		"apollo, no ops":    `{"format": "apollo-persisted-query-manifest", "version": 1, "operations": []}`,
		"apollo version 2":  `{"format": "apollo-persisted-query-manifest", "version": 2, "operations": [{"id": "x", "body": "{ a }"}]}`,
		"another format":    `{"format": "something-else", "version": 1, "operations": [{"id": "x", "body": "{ a }"}]}`,
		"a non-string body": `{"x": {"query": "{ a }"}}`,
		"an empty body":     `{"x": "  "}`,
		"an empty id":       `{"": "{ a }"}`,
		"a long id":         `{"` + strings.Repeat("i", 151) + `": "{ a }"}`,
		"a huge document":   `{"x": "` + strings.Repeat("a", 100001) + `"}`,
	} {
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func adminCtx() context.Context {
	return identity.WithViewer(context.Background(), &identity.Viewer{UserID: "usr_01JD6Q7ZK3M4X9V2S8T5R1W0PC", Role: identity.RoleAdmin})
}

// TestRegisterIsIdempotentAndRefusesConflicts runs on the store the test
// environment selects (SQLite, or MySQL with FRONTDESK_TEST_DATABASE_URL).
func TestRegisterIsIdempotentAndRefusesConflicts(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	s := NewStore(db.Client)
	ctx := adminCtx()
	added, total, err := s.RegisterManifest(ctx, "web-shop", []byte(relayJSON))
	if err != nil || added != 2 || total != 2 {
		t.Fatalf("register: %d/%d %v", added, total, err)
	}
	// Again: nothing new. Another client may register the same document.
	if added, _, err = s.RegisterManifest(ctx, "web-shop", []byte(relayJSON)); err != nil || added != 0 {
		t.Fatalf("again: %d %v", added, err)
	}
	if added, _, err = s.RegisterManifest(ctx, "ios", []byte(`{"a1b2c3": "query ProductsQuery { products(first: 3) { totalCount } }"}`)); err != nil || added != 1 {
		t.Fatalf("same document, other client: %d %v", added, err)
	}
	// Another body under a taken id is a conflict, and nothing of the
	// manifest is registered.
	_, _, err = s.RegisterManifest(ctx, "android", []byte(`{"new-1": "{ __typename }", "a1b2c3": "query Other { __typename }"}`))
	if ues, ok := errcode.AsUserErrors(err); !ok || len(ues) != 1 || ues[0].Code != errcode.Conflict {
		t.Fatalf("conflict: %v", err)
	}
	if _, found, err := s.Lookup(ctx, "new-1"); err != nil || found {
		t.Fatalf("a document of the refused manifest was registered: %v %v", found, err)
	}
	// A malformed manifest is a user error on manifest; a bad client name on client.
	if ues, ok := errcode.AsUserErrors(second(s.RegisterManifest(ctx, "web-shop", []byte(`[]`)))); !ok || ues[0].Field[0] != "manifest" {
		t.Fatalf("malformed manifest: %v", ues)
	}
	if ues, ok := errcode.AsUserErrors(second(s.RegisterManifest(ctx, " ", []byte(relayJSON)))); !ok || ues[0].Field[0] != "client" {
		t.Fatalf("empty client: %v", ues)
	}
	// Only admins (MANAGE_SETTINGS) and the system register; a malformed
	// manifest from anyone else is refused as forbidden, not parsed back.
	customer := identity.WithViewer(context.Background(), &identity.Viewer{UserID: "usr_01JD6Q7ZK3M4X9V2S8T5R1W0PD", Role: identity.RoleCustomer})
	for _, m := range []string{relayJSON, `[]`} {
		if _, _, err := s.RegisterManifest(customer, "x", []byte(m)); err == nil || errcode.Of(err) != errcode.Forbidden && errcode.Of(err) != errcode.Unauthenticated {
			t.Fatalf("customer registered %s: %v", m, err)
		}
	}
	if added, _, err := s.RegisterManifest(identity.SystemContext(context.Background()), "cli", []byte(apolloJSON)); err != nil || added != 1 {
		t.Fatalf("system (the CLI): %d %v", added, err)
	}

	body, found, err := s.Lookup(context.Background(), "5f1e…e9")
	if err != nil || !found || !strings.HasPrefix(body, "query Products") {
		t.Fatalf("lookup: %q %v %v", body, found, err)
	}
	if _, found, _ := s.Lookup(context.Background(), "unknown"); found {
		t.Fatal("an unknown id was found")
	}
	if _, found, _ := s.Lookup(context.Background(), strings.Repeat("x", 200)); found {
		t.Fatal("an overlong id was found")
	}
}

func second(_, _ int, err error) error { return err }

// TestHandlerMovesDocumentIDIntoExtensions: GET ?documentId= and a POST
// body's documentId reach gqlgen as extensions.documentId; other
// requests pass unchanged.
func TestHandlerMovesDocumentIDIntoExtensions(t *testing.T) {
	var gotQuery, gotBody string
	h := Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.Query().Get("extensions")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, `/graphql?documentId=abc&variables=%7B%7D&extensions=%7B%22tracing%22%3Atrue%7D`, nil))
	if gotQuery != `{"documentId":"abc","tracing":true}` {
		t.Fatalf("GET extensions %q", gotQuery)
	}
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"documentId":"abc","variables":{"n":1}}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if gotBody != `{"extensions":{"documentId":"abc"},"variables":{"n":1}}` {
		t.Fatalf("POST body %s", gotBody)
	}
	const plain = `{"query":"{ __typename }"}`
	req = httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(plain))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if gotBody != plain {
		t.Fatalf("a body without documentId changed: %s", gotBody)
	}
}

// TestExtensionModes: what each FRONTDESK_TRUSTED_DOCUMENTS mode lets
// each caller send.
func TestExtensionModes(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	s := NewStore(db.Client)
	if _, _, err := s.RegisterManifest(adminCtx(), "web", []byte(relayJSON)); err != nil {
		t.Fatal(err)
	}
	anon := context.Background()
	customer := identity.WithViewer(anon, &identity.Viewer{UserID: "usr_01JD6Q7ZK3M4X9V2S8T5R1W0PD", Role: identity.RoleCustomer})
	staff := identity.WithViewer(anon, &identity.Viewer{UserID: "usr_01JD6Q7ZK3M4X9V2S8T5R1W0PE", Role: identity.RoleStaff})
	key := identity.WithViewer(anon, &identity.Viewer{UserID: "usr_01JD6Q7ZK3M4X9V2S8T5R1W0PC", Role: identity.RoleAdmin, APIKeyID: "key_01JD6Q7ZK3M4X9V2S8T5R1W0PC"})
	byID := func(id string) *graphql.RawParams {
		return &graphql.RawParams{Extensions: map[string]any{"documentId": id}}
	}
	adHoc := func() *graphql.RawParams { return &graphql.RawParams{Query: "{ __typename }"} }
	cases := []struct {
		name string
		ext  Extension
		ctx  context.Context
		p    *graphql.RawParams
		want string // error code, "" for none
	}{
		{"require: anonymous ad hoc", Extension{Store: s, Mode: Require}, anon, adHoc(), string(CodeRequired)},
		{"require: customer ad hoc", Extension{Store: s, Mode: Require}, customer, adHoc(), string(CodeRequired)},
		{"require: anonymous by id", Extension{Store: s, Mode: Require}, anon, byID("a1b2c3"), ""},
		{"require: unknown id", Extension{Store: s, Mode: Require}, anon, byID("nope"), string(CodeNotFound)},
		{"require: staff ad hoc", Extension{Store: s, Mode: Require}, staff, adHoc(), ""},
		{"require: API key ad hoc", Extension{Store: s, Mode: Require}, key, adHoc(), ""},
		{"require in development: anonymous ad hoc", Extension{Store: s, Mode: Require, Development: true}, anon, adHoc(), ""},
		{"allow: anonymous ad hoc", Extension{Store: s, Mode: Allow}, anon, adHoc(), ""},
		{"allow: by id", Extension{Store: s, Mode: Allow}, anon, byID("d4e5f6"), ""},
		{"off: by id", Extension{Store: s, Mode: Off}, anon, byID("a1b2c3"), string(CodeNotFound)},
		{"both id and query", Extension{Store: s, Mode: Allow}, anon, &graphql.RawParams{Query: "{ a }", Extensions: map[string]any{"documentId": "a1b2c3"}}, string(errcode.BadUserInput)},
	}
	for _, c := range cases {
		gerr := c.ext.MutateOperationParameters(c.ctx, c.p)
		got := ""
		if gerr != nil {
			got, _ = gerr.Extensions["code"].(string)
			if got == "" {
				got = gerr.Message
			}
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		if c.want == "" && c.p.Extensions["documentId"] != nil && !strings.HasPrefix(c.p.Query, "query ProductsQuery") && !strings.HasPrefix(c.p.Query, "mutation SignInMutation") {
			t.Errorf("%s: the id did not become its document: %q", c.name, c.p.Query)
		}
	}
}

// TestHandlerServesApolloPersistedQueryLink: Apollo Client's persisted
// query link sends a manifest id as extensions.persistedQuery.sha256Hash
// and no query; in Require mode, when that id is a trusted document it is
// served as its documentId (POST and GET). Unknown hashes, requests with
// a query, and servers in Allow or Off mode leave it to automatic
// persisted queries.
func TestHandlerServesApolloPersistedQueryLink(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	s := NewStore(db.Client)
	if _, _, err := s.RegisterManifest(adminCtx(), "ios", []byte(apolloJSON)); err != nil {
		t.Fatal(err)
	}
	var gotQuery, gotBody string
	next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.Query().Get("extensions")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
	})
	post := func(h http.Handler, body string) string {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), req)
		return gotBody
	}
	h := HandlerFor(s, Require, next)
	const link = `{"operationName":"Products","variables":{},"extensions":{"persistedQuery":{"version":1,"sha256Hash":"5f1e…e9"}}}`
	if got := post(h, link); got != `{"extensions":{"documentId":"5f1e…e9"},"operationName":"Products","variables":{}}` {
		t.Fatalf("POST from the link: %s", got)
	}
	for name, body := range map[string]string{
		"unknown hash (APQ)":   `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`,
		"APQ registration":     `{"query":"query Products { products(first: 3) { totalCount } }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"5f1e…e9"}}}`,
		"no extensions at all": `{"query":"{ __typename }"}`,
	} {
		if got := post(h, body); got != body {
			t.Errorf("%s: changed to %s", name, got)
		}
	}
	for _, mode := range []Mode{Off, Allow} {
		if got := post(HandlerFor(s, mode, next), link); got != link {
			t.Errorf("%s mode rewrote the link's request: %s", mode, got)
		}
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet,
		"/graphql?operationName=Products&extensions=%7B%22persistedQuery%22%3A%7B%22version%22%3A1%2C%22sha256Hash%22%3A%225f1e%E2%80%A6e9%22%7D%7D", nil))
	if gotQuery != `{"documentId":"5f1e…e9"}` {
		t.Fatalf("GET from the link: %q", gotQuery)
	}
}

// TestDocumentIDsMatchExactly: an id names one document on either
// database, byte for byte. MariaDB's utf8mb4_bin ignores trailing spaces
// ("a1b2c3 " found "a1b2c3" there and not on SQLite, and registering both
// broke its unique index), so ids with white space are refused.
func TestDocumentIDsMatchExactly(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	s := NewStore(db.Client)
	if _, _, err := s.RegisterManifest(adminCtx(), "web-shop", []byte(relayJSON)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"A1B2C3", "a1b2c3 ", "a1b2c3\t", " a1b2c3", "a1b2c3\u0000", "á1b2c3"} {
		if _, found, err := s.Lookup(context.Background(), id); err != nil || found {
			t.Errorf("Lookup(%q): found %v, err %v; want not found", id, found, err)
		}
	}
	// Ids that differ only in case are two documents.
	added, _, err := s.RegisterManifest(adminCtx(), "web-shop", []byte(`{"A1B2C3": "{ __typename }"}`))
	if err != nil || added != 1 {
		t.Fatalf("register A1B2C3 beside a1b2c3: added %d, %v", added, err)
	}
	for id, want := range map[string]string{"A1B2C3": "{ __typename }", "a1b2c3": "query ProductsQuery"} {
		if body, found, err := s.Lookup(context.Background(), id); err != nil || !found || !strings.HasPrefix(body, want) {
			t.Errorf("Lookup(%q) = %q, %v, %v; want %q", id, body, found, err, want)
		}
	}
	// An id with white space is a manifest error, and nothing is registered.
	for _, m := range []string{`{"a1b2c3 ": "{ __typename }"}`, `{"new id": "{ __typename }"}`, `{"new\nid": "{ __typename }"}`} {
		if added, _, err := s.RegisterManifest(adminCtx(), "web-shop", []byte(m)); err == nil || added != 0 {
			t.Errorf("manifest %s: added %d, err %v; want refused", m, added, err)
		} else if ues, ok := errcode.AsUserErrors(err); !ok || ues[0].Field[0] != "manifest" {
			t.Errorf("manifest %s: %v; want a user error on manifest", m, err)
		}
	}
}
