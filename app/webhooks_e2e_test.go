package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"frontdesk/config"
	"frontdesk/webhooks"
)

// hook is one request a test receiver got.
type hook struct {
	header http.Header
	body   []byte
}

// hookReceiver is a loopback webhook endpoint (allowed by
// FRONTDESK_WEBHOOK_ALLOW_PRIVATE in tests) that hands each request to
// the test.
func hookReceiver(t *testing.T) (*httptest.Server, <-chan hook) {
	t.Helper()
	ch := make(chan hook, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- hook{header: r.Header.Clone(), body: b}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func nextHook(t *testing.T, ch <-chan hook) hook {
	t.Helper()
	select {
	case h := <-ch:
		return h
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook within 20s")
		return hook{}
	}
}

const createEndpointOp = `mutation($in: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $in) {
  secret endpoint { id url events createdWithApiKey } userErrors { field code message } } }`

// TestWebhooksShapedPayloadsSeeOnlyWhatTheOwnerMay drives the feature from
// the outside: an admin and a partner key with only the webhooks scope
// each save an endpoint whose document selects the new customer's email;
// a registration (the identity domain's customer.created) reaches both,
// signed, but only the admin's payload holds the email, the key's has
// null where its owner could not read. The delivery log shows the
// attempt. A document that is not valid is refused when saved.
func TestWebhooksShapedPayloadsSeeOnlyWhatTheOwnerMay(t *testing.T) {
	s := start(t, func(c *config.Config) {
		c.WebhookAllowPrivate = true
		c.WorkerPollInterval = 50 * time.Millisecond
	})
	admin := s.signUp(t, "admin@example.com", "ADMIN")
	r := s.ok(t, `mutation { createApiKey(input: {name: "Partner", scopes: [MANAGE_WEBHOOKS]}) { token userErrors { code } } }`, nil, bearer(admin.token)...)
	key := field(r, "createApiKey.token").(string)

	doc := `subscription { webhookEvent { type customer { id email } } }`
	adminSrv, adminHooks := hookReceiver(t)
	keySrv, keyHooks := hookReceiver(t)
	r = s.ok(t, createEndpointOp, map[string]any{"in": map[string]any{"url": adminSrv.URL, "events": []string{"CUSTOMER_CREATED"}, "document": doc}}, bearer(admin.token)...)
	adminSecret := field(r, "createWebhookEndpoint.secret").(string)
	adminEndpoint := field(r, "createWebhookEndpoint.endpoint.id").(string)
	r = s.ok(t, createEndpointOp, map[string]any{"in": map[string]any{"url": keySrv.URL, "events": []string{"CUSTOMER_CREATED"}, "document": doc}}, bearer(key)...)
	keySecret := field(r, "createWebhookEndpoint.secret").(string)
	if field(r, "createWebhookEndpoint.endpoint.createdWithApiKey") != true {
		t.Fatal("the key's endpoint is not marked as the key's")
	}

	// Documents are validated when saved.
	for _, bad := range []string{
		`subscription { webhookEvent { nope } }`,
		`query { me { id } }`,
		`subscription { serverTime }`,
		`subscription {`,
	} {
		r = s.gqlAs(t, createEndpointOp, map[string]any{"in": map[string]any{"url": keySrv.URL, "events": []string{"CUSTOMER_CREATED"}, "document": bad}}, bearer(key)...)
		ues, _ := field(r, "createWebhookEndpoint.userErrors").([]any)
		if len(ues) != 1 || ues[0].(map[string]any)["field"].([]any)[0] != "document" {
			t.Fatalf("document %q: %v %+v", bad, r.Data, r.Errors)
		}
	}
	// The key sees only its own endpoint.
	r = s.ok(t, `{ webhookEndpoints { id } }`, nil, bearer(key)...)
	if eps := field(r, "webhookEndpoints").([]any); len(eps) != 1 {
		t.Fatalf("key sees %v", eps)
	}

	s.signUp(t, "pat@example.com", "")
	for name, c := range map[string]struct {
		ch     <-chan hook
		secret string
		email  any
	}{"admin": {adminHooks, adminSecret, "pat@example.com"}, "key": {keyHooks, keySecret, nil}} {
		h := nextHook(t, c.ch)
		if err := webhooks.Verify(c.secret, h.header, h.body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("%s: signature: %v", name, err)
		}
		var p struct {
			Type string `json:"type"`
			Data struct {
				WebhookEvent struct {
					Type     string         `json:"type"`
					Customer map[string]any `json:"customer"`
				} `json:"webhookEvent"`
			} `json:"data"`
		}
		if err := json.Unmarshal(h.body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Type != "customer.created" || p.Data.WebhookEvent.Type != "CUSTOMER_CREATED" {
			t.Fatalf("%s: %s", name, h.body)
		}
		var email any
		if p.Data.WebhookEvent.Customer != nil {
			email = p.Data.WebhookEvent.Customer["email"]
		}
		if email != c.email {
			t.Fatalf("%s: customer %v, want email %v: %s", name, p.Data.WebhookEvent.Customer, c.email, h.body)
		}
		if c.email == nil && (p.Data.WebhookEvent.Customer != nil || strings.Contains(string(h.body), "pat@example.com")) {
			t.Fatalf("%s: the payload holds what its owner may not read: %s", name, h.body)
		}
	}

	// The delivery log, read like any node.
	q := `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { deliveries(first: 5, eventTypes: [CUSTOMER_CREATED]) {
	  totalCount edges { node { eventType state attempts attemptLog { number status } } } } } } }`
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = s.ok(t, q, map[string]any{"id": adminEndpoint}, bearer(admin.token)...)
		edges, _ := field(r, "node.deliveries.edges").([]any)
		if len(edges) == 1 && edges[0].(map[string]any)["node"].(map[string]any)["state"] == "SUCCEEDED" {
			break
		}
		// The attempt is recorded right after the response; the worker
		// may not have written it when the receiver returned.
		if time.Now().After(deadline) {
			t.Fatalf("delivery log: %v", r.Data)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The key cannot read the admin's endpoint by ID.
	r = s.gqlAs(t, q, map[string]any{"id": adminEndpoint}, bearer(key)...)
	if field(r, "node") != nil {
		t.Fatalf("key read the admin's endpoint: %v", r.Data)
	}
}
