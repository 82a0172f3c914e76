package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"frontdesk/config"
	"frontdesk/ent/user"
	"frontdesk/gid"
	"frontdesk/identity"
)

// TestTrustedDocumentsOnly: a production server that requires trusted
// documents refuses an ad-hoc document (and APQ) from an anonymous client
// with TRUSTED_DOCUMENT_REQUIRED, serves a registered one by id over GET
// (cacheable) and POST, answers an unknown id with
// PERSISTED_DOCUMENT_NOT_FOUND, and still runs any document for staff.
func TestTrustedDocumentsOnly(t *testing.T) {
	s := start(t, func(c *config.Config) {
		c.Env = config.Production
		c.TrustedDocuments = "require"
		// Production refuses the development gateway; nothing here pays.
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_unused", "whsec_unused", "http://127.0.0.1:9"
	})
	const doc = `query ServerKind { __typename }`
	ops := []map[string]string{
		{"id": "sha256:0b1f", "name": "ServerKind", "type": "query", "body": doc},
		{"id": "register", "name": "Register", "type": "mutation", "body": registerOp},
		{"id": "signIn", "name": "SignIn", "type": "mutation", "body": signInOp},
	}
	apollo, err := json.Marshal(map[string]any{"format": "apollo-persisted-query-manifest", "version": 1, "operations": ops})
	if err != nil {
		t.Fatal(err)
	}
	// What `frontdesk documents register --client web-shop FILE` does.
	added, total, err := s.app.Documents.RegisterManifest(identity.SystemContext(context.Background()), "web-shop", apollo)
	if err != nil || added != 3 || total != 3 {
		t.Fatalf("register apollo manifest: %d/%d %v", added, total, err)
	}
	// The shop's own sign-up and sign-in run as trusted documents.
	r := s.post(t, toJSON(t, map[string]any{"documentId": "register", "variables": map[string]any{"in": map[string]any{"email": "admin@example.com", "password": "a long passphrase", "name": "Admin"}}}))
	id, _ := field(r, "register.user.id").(string)
	if id == "" {
		t.Fatalf("register by id: %v %+v", r.Data, r.Errors)
	}
	if err := s.app.DB.Client.User.UpdateOneID(gid.ID(id)).SetRole(user.RoleADMIN).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	r = s.post(t, toJSON(t, map[string]any{"documentId": "signIn", "variables": map[string]any{"in": map[string]any{"email": "admin@example.com", "password": "a long passphrase"}}}))
	admin := account{token: fmt.Sprint(field(r, "signIn.token"))}
	relay := `{"relay-1": "query RelayKind { kind: __typename }"}`
	register := `mutation($in: RegisterTrustedDocumentsInput!) { registerTrustedDocuments(input: $in) { added total userErrors { field code message } } }`
	r = s.ok(t, register, map[string]any{"in": map[string]any{"client": "ios", "manifest": relay}}, bearer(admin.token)...)
	if field(r, "registerTrustedDocuments.added") != float64(1) {
		t.Fatalf("register relay: %v", r.Data)
	}
	// Registering again adds nothing; another document under a taken id is refused.
	r = s.ok(t, register, map[string]any{"in": map[string]any{"client": "web-shop", "manifest": string(apollo)}}, bearer(admin.token)...)
	if field(r, "registerTrustedDocuments.added") != float64(0) {
		t.Fatalf("register again: %v", r.Data)
	}
	r = s.gqlAs(t, register, map[string]any{"in": map[string]any{"client": "x", "manifest": `{"relay-1": "query Other { __typename }"}`}}, bearer(admin.token)...)
	if ues, _ := field(r, "registerTrustedDocuments.userErrors").([]any); len(ues) != 1 {
		t.Fatalf("conflicting id: %v", r.Data)
	}
	// A public client cannot even send the registering mutation.
	wantCode(t, s.gqlAs(t, register, map[string]any{"in": map[string]any{"client": "x", "manifest": relay}}), "TRUSTED_DOCUMENT_REQUIRED")

	// Anonymous ad-hoc documents and APQ are refused.
	wantCode(t, s.gqlAs(t, doc, nil), "TRUSTED_DOCUMENT_REQUIRED")
	hash := sha256.Sum256([]byte("{ __typename }"))
	wantCode(t, s.post(t, `{"query":"{ __typename }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"`+hex.EncodeToString(hash[:])+`"}}}`), "TRUSTED_DOCUMENT_REQUIRED")

	// A registered document by id: GET (a CDN can cache it) and POST.
	req, err := http.NewRequest(http.MethodGet, s.base+"/graphql?documentId="+url.QueryEscape("sha256:0b1f"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, req); len(r.Errors) > 0 || field(r, "__typename") != "Query" {
		t.Fatalf("GET by id: %d %v %+v", r.status, r.Data, r.Errors)
	}
	if r := s.post(t, `{"documentId":"relay-1"}`); len(r.Errors) > 0 || field(r, "kind") != "Query" {
		t.Fatalf("POST by id: %v %+v", r.Data, r.Errors)
	}
	// Unknown ids get their own code.
	wantCode(t, s.post(t, `{"documentId":"sha256:nope"}`), "PERSISTED_DOCUMENT_NOT_FOUND")
	req, _ = http.NewRequest(http.MethodGet, s.base+"/graphql?documentId=nope", nil)
	wantCode(t, do(t, req), "PERSISTED_DOCUMENT_NOT_FOUND")

	// Staff keep sending any document.
	if r := s.gqlAs(t, doc, nil, bearer(admin.token)...); len(r.Errors) > 0 {
		t.Fatalf("staff ad-hoc: %+v", r.Errors)
	}
}

// TestTrustedDocumentsAllowKeepsAdHocAndAPQ: in the default mode any
// document runs and an id works too.
func TestTrustedDocumentsAllowKeepsAdHoc(t *testing.T) {
	s := start(t, nil)
	if r := s.gqlAs(t, `{ __typename }`, nil); len(r.Errors) > 0 {
		t.Fatalf("ad-hoc: %+v", r.Errors)
	}
	wantCode(t, s.post(t, `{"documentId":"unknown"}`), "PERSISTED_DOCUMENT_NOT_FOUND")
}
