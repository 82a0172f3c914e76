package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"frontdesk/config"
	"frontdesk/ent/user"
	"frontdesk/gid"
)

// gqlAs posts one operation with extra headers (name, value pairs).
func (s *running) gqlAs(t *testing.T, query string, vars map[string]any, headers ...string) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return s.post(t, string(body), headers...)
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// field walks a response's data along a dotted path.
func field(r gqlResponse, path string) any {
	var cur any = r.Data
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

const registerOp = `mutation($in: RegisterInput!) { register(input: $in) { token user { id email role } userErrors { code field message } } }`
const signInOp = `mutation($in: SignInInput!) { signIn(input: $in) { token user { id } userErrors { code message } } }`

type account struct {
	id    gid.ID
	token string
	email string
}

// signUp registers an account and optionally gives it a staff role.
func (s *running) signUp(t *testing.T, email, role string) account {
	t.Helper()
	r := s.gqlAs(t, registerOp, map[string]any{"in": map[string]any{"email": email, "password": "a long passphrase", "name": "Test " + email}})
	if len(r.Errors) > 0 || field(r, "register.token") == nil {
		t.Fatalf("register %s: %+v %v", email, r.Errors, r.Data)
	}
	a := account{id: gid.ID(field(r, "register.user.id").(string)), token: field(r, "register.token").(string), email: email}
	if role != "" {
		if err := s.app.DB.Client.User.UpdateOneID(a.id).SetRole(user.Role(role)).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Sign in again so the new role is not read from a cached session.
		r := s.gqlAs(t, signInOp, map[string]any{"in": map[string]any{"email": email, "password": "a long passphrase"}})
		a.token = field(r, "signIn.token").(string)
	}
	return a
}

func TestIdentityCookieBearerAndCSRF(t *testing.T) {
	s := start(t, nil)
	body, _ := json.Marshal(map[string]any{"query": registerOp, "variables": map[string]any{"in": map[string]any{"email": "Ann@Example.com", "password": "a long passphrase"}}})
	req, _ := http.NewRequest(http.MethodPost, s.base+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	r := do(t, req)
	token, _ := field(r, "register.token").(string)
	if !strings.HasPrefix(token, "fds_") || field(r, "register.user.email") != "ann@example.com" {
		t.Fatalf("register: %v %+v", r.Data, r.Errors)
	}
	setCookie := r.header.Get("Set-Cookie")
	for _, want := range []string{"frontdesk_session=" + token, "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(setCookie, want) {
			t.Fatalf("Set-Cookie %q lacks %q", setCookie, want)
		}
	}
	cookie := "frontdesk_session=" + token
	const viewerOp = `{ viewer { id email } me { id } }`

	tests := []struct {
		name    string
		headers []string
		status  int
		code    string
		signed  bool
	}{
		{"bearer", bearer(token), 200, "", true},
		{"cookie with CSRF header", []string{"Cookie", cookie, "X-Frontdesk-CSRF", "1"}, 200, "", true},
		{"cookie without CSRF header", []string{"Cookie", cookie}, 403, "FORBIDDEN", false},
		{"forged bearer", bearer("fds_" + strings.Repeat("A", 43)), 401, "UNAUTHENTICATED", false},
		{"malformed bearer", bearer("nonsense"), 401, "UNAUTHENTICATED", false},
		{"basic scheme", []string{"Authorization", "Basic YTpi"}, 401, "UNAUTHENTICATED", false},
		{"forged cookie is anonymous", []string{"Cookie", "frontdesk_session=fds_forged", "X-Frontdesk-CSRF", "1"}, 200, "", false},
		{"anonymous", nil, 200, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.gqlAs(t, viewerOp, nil, tt.headers...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d (%+v)", r.status, tt.status, r.Errors)
			}
			if tt.code != "" {
				wantCode(t, r, tt.code)
				return
			}
			if got := field(r, "viewer.email") != nil; got != tt.signed {
				t.Fatalf("signed in = %v, want %v: %v", got, tt.signed, r.Data)
			}
		})
	}
	// A GET (queries only) with the cookie needs no CSRF header.
	req, _ = http.NewRequest(http.MethodGet, s.base+"/graphql?query="+url.QueryEscape(viewerOp), nil)
	req.Header.Set("Cookie", cookie)
	if r := do(t, req); field(r, "viewer.email") != "ann@example.com" {
		t.Fatalf("GET with cookie: %v %+v", r.Data, r.Errors)
	}

	// Sign out through the cookie: the cookie is cleared and the token dies.
	r = s.gqlAs(t, `mutation { signOut { sessionsEnded } }`, nil, "Cookie", cookie, "X-Frontdesk-CSRF", "1")
	if field(r, "signOut.sessionsEnded") != float64(1) || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("signOut: %v %+v cookie %q", r.Data, r.Errors, r.header.Get("Set-Cookie"))
	}
	r = s.gqlAs(t, viewerOp, nil, bearer(token)...)
	if r.status != 401 {
		t.Fatalf("token reuse after sign-out: status %d", r.status)
	}
	wantCode(t, r, "UNAUTHENTICATED")
}

func TestIdentityAccessRules(t *testing.T) {
	s := start(t, nil)
	ann := s.signUp(t, "ann@example.com", "")
	bob := s.signUp(t, "bob@example.com", "")
	staff := s.signUp(t, "staff@example.com", "STAFF")
	admin := s.signUp(t, "admin@example.com", "ADMIN")

	// Ann's sessions, for revokeSession.
	r := s.gqlAs(t, `{ sessions { id current } }`, nil, bearer(ann.token)...)
	sessions, _ := field(r, "sessions").([]any)
	if len(sessions) != 1 {
		t.Fatalf("ann's sessions: %v %+v", r.Data, r.Errors)
	}
	annSession := sessions[0].(map[string]any)["id"].(string)

	type op struct {
		name  string
		query string
		vars  map[string]any
	}
	ops := []op{
		{"sessions", `{ sessions { id } }`, nil},
		{"revokeSession", `mutation($id: ID!) { revokeSession(input: {sessionId: $id}) { session { id } } }`, map[string]any{"id": annSession}},
		{"updateProfile", `mutation { updateProfile(input: {name: "X"}) { user { id } } }`, nil},
		{"changePassword", `mutation { changePassword(input: {currentPassword: "a long passphrase", newPassword: "another long passphrase"}) { user { id } } }`, nil},
		{"requestEmailVerification", `mutation { requestEmailVerification { ok } }`, nil},
		{"signOutEverywhere", `mutation { signOutEverywhere { sessionsEnded } }`, nil},
		{"node of a user", `query($id: ID!) { node(id: $id) { id ... on User { email } } }`, map[string]any{"id": string(ann.id)}},
		{"users", `{ users(first: 5) { totalCount } }`, nil},
		{"setUserRole", `mutation($id: ID!) { setUserRole(input: {userId: $id, role: ADMIN}) { user { role } } }`, map[string]any{"id": string(ann.id)}},
		{"deactivateUser", `mutation($id: ID!) { deactivateUser(input: {userId: $id}) { user { id } } }`, map[string]any{"id": string(ann.id)}},
		{"createApiKey", `mutation { createApiKey(input: {name: "p", scopes: [MANAGE_CATALOG]}) { token } }`, nil},
		{"apiKeys", `{ apiKeys(first: 5) { totalCount } }`, nil},
		{"auditLog", `{ auditLog(first: 5) { totalCount } }`, nil},
	}
	// want[op] per caller: "" means allowed (checked elsewhere).
	type caller struct {
		name  string
		token string
		want  map[string]string
	}
	callers := []caller{
		{"anonymous", "", map[string]string{
			"sessions": "UNAUTHENTICATED", "revokeSession": "UNAUTHENTICATED", "updateProfile": "UNAUTHENTICATED",
			"changePassword": "UNAUTHENTICATED", "requestEmailVerification": "UNAUTHENTICATED", "signOutEverywhere": "UNAUTHENTICATED",
			"node of a user": "NOT_FOUND", "users": "UNAUTHENTICATED", "setUserRole": "UNAUTHENTICATED", "deactivateUser": "UNAUTHENTICATED",
			"createApiKey": "UNAUTHENTICATED", "apiKeys": "UNAUTHENTICATED", "auditLog": "UNAUTHENTICATED",
		}},
		{"another customer", bob.token, map[string]string{
			"revokeSession": "NOT_FOUND", "node of a user": "NOT_FOUND", "users": "FORBIDDEN", "setUserRole": "FORBIDDEN",
			"deactivateUser": "FORBIDDEN", "createApiKey": "FORBIDDEN", "apiKeys": "FORBIDDEN", "auditLog": "FORBIDDEN",
		}},
		{"staff without MANAGE_USERS", staff.token, map[string]string{
			"revokeSession": "NOT_FOUND", "node of a user": "NOT_FOUND", "users": "FORBIDDEN", "setUserRole": "FORBIDDEN",
			"deactivateUser": "FORBIDDEN", "createApiKey": "FORBIDDEN", "apiKeys": "FORBIDDEN", "auditLog": "FORBIDDEN",
		}},
	}
	for _, c := range callers {
		for _, o := range ops {
			want, ok := c.want[o.name]
			if !ok || want == "" {
				continue
			}
			t.Run(c.name+"/"+o.name, func(t *testing.T) {
				var h []string
				if c.token != "" {
					h = bearer(c.token)
				}
				wantCode(t, s.gqlAs(t, o.query, o.vars, h...), want)
			})
		}
	}
	// Ann's session survived all of that, and her contact details stayed hidden.
	if r := s.gqlAs(t, `{ viewer { email } }`, nil, bearer(ann.token)...); field(r, "viewer.email") != "ann@example.com" {
		t.Fatalf("ann after the attempts: %v %+v", r.Data, r.Errors)
	}
	// Staff with MANAGE_USERS see other users, email included.
	r = s.gqlAs(t, `query($id: ID!) { node(id: $id) { ... on User { email } } users(first: 10, search: "ANN") { totalCount edges { node { email } } } }`, map[string]any{"id": string(ann.id)}, bearer(admin.token)...)
	if field(r, "node.email") != "ann@example.com" || field(r, "users.totalCount") != float64(1) {
		t.Fatalf("admin view: %v %+v", r.Data, r.Errors)
	}
}

func TestIdentitySignInIsRateLimited(t *testing.T) {
	s := start(t, func(c *config.Config) { c.SignInAttempts = 3 })
	s.signUp(t, "ann@example.com", "")
	var r gqlResponse
	for i := range 4 {
		r = s.gqlAs(t, signInOp, map[string]any{"in": map[string]any{"email": "ann@example.com", "password": fmt.Sprintf("wrong guess %d", i)}})
		if i < 3 && field(r, "signIn.userErrors.0") == nil && len(r.Errors) == 0 {
			ues, _ := field(r, "signIn.userErrors").([]any)
			if len(ues) != 1 {
				t.Fatalf("attempt %d: %v %+v", i, r.Data, r.Errors)
			}
		}
	}
	wantCode(t, r, "RATE_LIMITED")
	if ra, _ := r.Errors[0].Extensions["retryAfter"].(float64); ra <= 0 {
		t.Fatalf("retryAfter = %v", r.Errors[0].Extensions)
	}
	// Unknown email and wrong password answer alike.
	unknown := s.gqlAs(t, signInOp, map[string]any{"in": map[string]any{"email": "nobody@example.com", "password": "wrong guess"}})
	bob := s.signUp(t, "bob@example.com", "")
	wrong := s.gqlAs(t, signInOp, map[string]any{"in": map[string]any{"email": bob.email, "password": "wrong guess"}})
	if fmt.Sprint(field(unknown, "signIn")) != fmt.Sprint(field(wrong, "signIn")) {
		t.Fatalf("unknown email %v, wrong password %v", unknown.Data, wrong.Data)
	}
}

var mailedLink = regexp.MustCompile(`(verify-email|reset-password)\?token=([A-Za-z0-9_%\-]+)`)

// mailedToken waits for the outbox worker to deliver the newest email
// with a link of this kind and returns its token. With no SMTP server
// (development) delivery is the log line "mail not sent", which carries
// the text; the sent_messages record staff can list has the token
// redacted, so it is no way in.
func (s *running) mailedToken(t *testing.T, path string) string {
	t.Helper()
	tok, err := url.QueryUnescape(s.mailedTokenTo(t, path, ""))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestIdentityEmailFlows(t *testing.T) {
	s := start(t, nil)
	ann := s.signUp(t, "ann@example.com", "")
	tok := s.mailedToken(t, "verify-email")
	r := s.gqlAs(t, `mutation($t: String!) { verifyEmail(input: {token: $t}) { user { emailVerified } userErrors { code } } }`, map[string]any{"t": tok})
	if field(r, "verifyEmail.user.emailVerified") != true {
		t.Fatalf("verifyEmail: %v %+v", r.Data, r.Errors)
	}
	r = s.gqlAs(t, `mutation { requestPasswordReset(input: {email: "ANN@example.com"}) { ok } }`, nil)
	if field(r, "requestPasswordReset.ok") != true {
		t.Fatalf("requestPasswordReset: %v %+v", r.Data, r.Errors)
	}
	tok = s.mailedToken(t, "reset-password")
	const reset = `mutation($t: String!) { resetPassword(input: {token: $t, newPassword: "a fresh passphrase"}) { ok userErrors { code field } } }`
	if r := s.gqlAs(t, reset, map[string]any{"t": tok}); field(r, "resetPassword.ok") != true {
		t.Fatalf("resetPassword: %v %+v", r.Data, r.Errors)
	}
	if r := s.gqlAs(t, reset, map[string]any{"t": tok}); field(r, "resetPassword.ok") != false {
		t.Fatalf("reused reset token: %v", r.Data)
	}
	if r := s.gqlAs(t, `{ viewer { id } }`, nil, bearer(ann.token)...); r.status != 401 {
		t.Fatalf("session survived the reset: %d", r.status)
	}
	r = s.gqlAs(t, signInOp, map[string]any{"in": map[string]any{"email": "ann@example.com", "password": "a fresh passphrase"}})
	if field(r, "signIn.token") == nil {
		t.Fatalf("sign in with the new password: %v %+v", r.Data, r.Errors)
	}
}

func TestIdentityAPIKeys(t *testing.T) {
	s := start(t, nil)
	admin := s.signUp(t, "admin@example.com", "ADMIN")
	r := s.gqlAs(t, `mutation { createApiKey(input: {name: "Partner", scopes: [VIEW_AUDIT_LOG]}) { token apiKey { id prefix scopes createdBy { email } } userErrors { code } } }`, nil, bearer(admin.token)...)
	key, _ := field(r, "createApiKey.token").(string)
	if !strings.HasPrefix(key, "fdk_") || field(r, "createApiKey.apiKey.prefix") != key[:12] || field(r, "createApiKey.apiKey.createdBy.email") != "admin@example.com" {
		t.Fatalf("createApiKey: %v %+v", r.Data, r.Errors)
	}
	keyID := field(r, "createApiKey.apiKey.id").(string)
	if r := s.gqlAs(t, `{ auditLog(first: 5) { edges { node { action actorId } } } }`, nil, bearer(key)...); len(r.Errors) > 0 {
		t.Fatalf("key within its scope: %+v", r.Errors)
	}
	wantCode(t, s.gqlAs(t, `{ users(first: 1) { totalCount } }`, nil, bearer(key)...), "FORBIDDEN")
	wantCode(t, s.gqlAs(t, `mutation { createApiKey(input: {name: "x", scopes: [VIEW_AUDIT_LOG]}) { token } }`, nil, bearer(key)...), "FORBIDDEN")
	// Cookie-less bearer requests need no CSRF header, being unforgeable by other sites.
	r = s.gqlAs(t, `mutation($id: ID!) { revokeApiKey(input: {apiKeyId: $id}) { apiKey { revokedAt } } }`, map[string]any{"id": keyID}, bearer(admin.token)...)
	if field(r, "revokeApiKey.apiKey.revokedAt") == nil {
		t.Fatalf("revokeApiKey: %v %+v", r.Data, r.Errors)
	}
	if r := s.gqlAs(t, `{ auditLog(first: 1) { totalCount } }`, nil, bearer(key)...); r.status != 401 {
		t.Fatalf("revoked key: status %d", r.status)
	}
	r = s.gqlAs(t, `{ auditLog(first: 5) { edges { node { action targetId actorId after requestId } } } }`, nil, bearer(admin.token)...)
	edges, _ := field(r, "auditLog.edges").([]any)
	if len(edges) != 2 || edges[0].(map[string]any)["node"].(map[string]any)["action"] != "api_key.revoke" {
		t.Fatalf("audit log: %v %+v", r.Data, r.Errors)
	}
}

// wsSubscribe opens a graphql-transport-ws connection with payload as
// connection_init and starts a serverTime subscription.
func wsSubscribe(t *testing.T, s *running, payload map[string]any) *websocket.Conn {
	t.Helper()
	c := dialWS(t, s, "graphql-transport-ws", nil)
	must(t, c.WriteJSON(map[string]any{"type": "connection_init", "payload": payload}))
	readUntil(t, c, "connection_ack")
	must(t, c.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "subscription { serverTime(everySeconds: 1) }"}}))
	readUntil(t, c, "next")
	return c
}

// waitClosed reads until the server closes the connection.
func waitClosed(t *testing.T, c *websocket.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the connection stayed open")
			}
			return
		}
	}
}

func TestIdentityWebSocket(t *testing.T) {
	s := start(t, func(c *config.Config) { c.WSAuthRecheck = 50 * time.Millisecond })
	ann := s.signUp(t, "ann@example.com", "")
	admin := s.signUp(t, "admin@example.com", "ADMIN")

	// Invalid credentials are refused at connection_init.
	c := dialWS(t, s, "graphql-transport-ws", nil)
	must(t, c.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": "fds_forged"}}))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			// The reason is what a browser client gets to see.
			if !errors.As(err, &ce) || ce.Code != 4403 || ce.Text != "invalid, expired or revoked credentials" {
				t.Fatalf("forged token: want close 4403 saying why, got %v", err)
			}
			break
		}
		if strings.Contains(string(msg), "connection_ack") {
			t.Fatal("forged token was acknowledged")
		}
	}

	// A revoked session closes its live subscription.
	live := wsSubscribe(t, s, map[string]any{"Authorization": "Bearer " + ann.token})
	r := s.gqlAs(t, `mutation { signOutEverywhere { sessionsEnded } }`, nil, bearer(ann.token)...)
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	waitClosed(t, live)

	// A deactivated user's live subscription is closed.
	bob := s.signUp(t, "bob@example.com", "")
	live = wsSubscribe(t, s, map[string]any{"authToken": bob.token})
	r = s.gqlAs(t, `mutation($id: ID!) { deactivateUser(input: {userId: $id}) { user { deactivated } } }`, map[string]any{"id": string(bob.id)}, bearer(admin.token)...)
	if field(r, "deactivateUser.user.deactivated") != true {
		t.Fatalf("deactivateUser: %v %+v", r.Data, r.Errors)
	}
	waitClosed(t, live)
	if r := s.gqlAs(t, `{ viewer { id } }`, nil, bearer(bob.token)...); r.status != 401 {
		t.Fatalf("deactivated user's token: status %d", r.status)
	}

	// An anonymous connection still works for public subscriptions.
	wsSubscribe(t, s, map[string]any{})
}

// TestIdentitySignInIsRateLimitedPerIP: the per-IP limit counts attempts
// on different accounts from one client, reads the client from
// X-Forwarded-For only when the peer is a trusted proxy, and cannot be
// dodged by a client forging X-Forwarded-For itself.
func TestIdentitySignInIsRateLimitedPerIP(t *testing.T) {
	attempt := func(s *running, i int, forwardedFor string) gqlResponse {
		email := fmt.Sprintf("guess%d@example.com", i)
		return s.gqlAs(t, signInOp, map[string]any{"in": map[string]any{"email": email, "password": "wrong guess"}},
			"X-Forwarded-For", forwardedFor)
	}
	const limit = 3
	behindProxy := start(t, func(c *config.Config) {
		c.SignInAttempts = 100
		c.SignInIPAttempts = limit
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	for i := range limit {
		if r := attempt(behindProxy, i, "198.51.100.1"); len(r.Errors) > 0 {
			t.Fatalf("attempt %d within the limit: %+v", i, r.Errors)
		}
	}
	wantCode(t, attempt(behindProxy, limit, "198.51.100.1"), "RATE_LIMITED")
	// Another client behind the same balancer is not affected.
	if r := attempt(behindProxy, limit+1, "198.51.100.2"); len(r.Errors) > 0 {
		t.Fatalf("second client limited with the first: %+v", r.Errors)
	}

	// Without trusted proxies a forged header changes nothing: every
	// attempt counts against the TCP peer.
	direct := start(t, func(c *config.Config) {
		c.SignInAttempts = 100
		c.SignInIPAttempts = limit
	})
	for i := range limit {
		if r := attempt(direct, i, fmt.Sprintf("203.0.113.%d", i)); len(r.Errors) > 0 {
			t.Fatalf("attempt %d within the limit: %+v", i, r.Errors)
		}
	}
	wantCode(t, attempt(direct, limit, "203.0.113.99"), "RATE_LIMITED")
}
