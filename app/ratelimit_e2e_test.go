package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stripe/stripe-go/v76/webhook"

	"frontdesk/app"
	"frontdesk/config"
	"frontdesk/ent"
	"frontdesk/ratelimit"
)

// behindProxy makes the server believe X-Forwarded-For from loopback, so
// one test process can speak for many client IPs.
func behindProxy(c *config.Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// postFrom posts an operation as client ip and decodes the answer; it
// returns errors instead of failing, so goroutines can call it.
func (s *running) postFrom(ip, query string, vars map[string]any, headers ...string) (gqlResponse, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return gqlResponse{}, err
	}
	req, err := http.NewRequest(http.MethodPost, s.base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return gqlResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return gqlResponse{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return gqlResponse{}, err
	}
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return gqlResponse{}, fmt.Errorf("status %d, not JSON: %s", resp.StatusCode, raw)
	}
	out.status, out.header = resp.StatusCode, resp.Header
	return out, nil
}

// clinic creates a practitioner working 09:00-17:00 in Sydney every day
// and a free 30-minute service, and returns them with the day after
// tomorrow's 09:00.
func (s *running) clinic(t *testing.T) (*ent.Practitioner, *ent.Service, time.Time) {
	t.Helper()
	ctx := context.Background()
	c := s.app.DB.Client
	prac := c.Practitioner.Create().SetName("Dr Ada").SetTimeZone("Australia/Sydney").SaveX(ctx)
	for d := 0; d < 7; d++ {
		c.WeeklyHours.Create().SetPractitionerID(prac.ID).SetWeekday(d).SetStartMinute(9 * 60).SetEndMinute(17 * 60).ExecX(ctx)
	}
	svc := c.Service.Create().SetName("Follow-up").SetSlug("follow-up").SetDurationMinutes(30).
		SetSlotIntervalMinutes(30).AddPractitioners(prac).SaveX(ctx)
	sydney, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(sydney).AddDate(0, 0, 2)
	return prac, svc, time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, sydney)
}

// TestAnonymousHoldCapPerClientIP: through the server, anonymous holds
// from one client IP racing for different slots get exactly the cap; the
// rest are refused with HOLD_LIMIT_REACHED, and another client IP behind
// the same proxy still holds.
func TestAnonymousHoldCapPerClientIP(t *testing.T) {
	const limit, n = 2, 8
	s := start(t, func(c *config.Config) {
		behindProxy(c)
		c.BookingMaxAnonymousHolds = limit
	})
	prac, svc, first := s.clinic(t)
	hold := func(ip string, i int) (string, error) {
		r, err := s.postFrom(ip, opHoldSlot, map[string]any{"in": map[string]any{"serviceId": svc.ID,
			"practitionerId": prac.ID, "start": first.Add(time.Duration(i) * 30 * time.Minute).Format(time.RFC3339)}})
		if err != nil {
			return "", err
		}
		if len(r.Errors) > 0 {
			return "", fmt.Errorf("top-level errors: %+v", r.Errors)
		}
		if ue, _ := field(r, "holdSlot.userErrors").([]any); len(ue) > 0 {
			return ue[0].(map[string]any)["code"].(string), nil
		}
		if field(r, "holdSlot.appointment.state") != "HELD" {
			return "", fmt.Errorf("hold %d: %v", i, r.Data)
		}
		return "HELD", nil
	}
	var wg sync.WaitGroup
	outcomes := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, err := hold("198.51.100.20", i)
			if err != nil {
				t.Error(err)
			}
			outcomes[i] = code
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, o := range outcomes {
		count[o]++
	}
	if count["HELD"] != limit || count["HOLD_LIMIT_REACHED"] != n-limit {
		t.Fatalf("outcomes %v; want %d HELD and %d HOLD_LIMIT_REACHED", count, limit, n-limit)
	}
	if code, err := hold("198.51.100.21", n); err != nil || code != "HELD" {
		t.Fatalf("another client IP: %s %v", code, err)
	}
}

// testClock is the rate limiter's clock in these tests: it stands still
// until the test moves it, so a window ends exactly when the test says.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func budget(t *testing.T, s string) ratelimit.Budget {
	t.Helper()
	b, err := ratelimit.ParseBudget(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const typename = `{ __typename }`

// mustFrom posts as ip and fails the test on a transport error.
func (s *running) mustFrom(t *testing.T, ip, query string, headers ...string) gqlResponse {
	t.Helper()
	r, err := s.postFrom(ip, query, nil, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantAllowed checks a request within its budget and its RateLimit headers.
func wantAllowed(t *testing.T, r gqlResponse, limit, remaining int) {
	t.Helper()
	if r.status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("within the budget: status %d, errors %+v", r.status, r.Errors)
	}
	if got := r.header.Get("RateLimit-Limit"); got != strconv.Itoa(limit) {
		t.Fatalf("RateLimit-Limit = %q, want %d", got, limit)
	}
	if got := r.header.Get("RateLimit-Remaining"); got != strconv.Itoa(remaining) {
		t.Fatalf("RateLimit-Remaining = %q, want %d", got, remaining)
	}
	if reset, err := strconv.Atoi(r.header.Get("RateLimit-Reset")); err != nil || reset < 1 {
		t.Fatalf("RateLimit-Reset = %q", r.header.Get("RateLimit-Reset"))
	}
}

// wantLimited checks a refused request: 429, Retry-After, and the
// RATE_LIMITED error whose retryAfter matches the header. It returns the
// seconds to wait.
func wantLimited(t *testing.T, r gqlResponse, period time.Duration) int {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("over the budget: status %d, errors %+v", r.status, r.Errors)
	}
	wait, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || wait < 1 || wait > int(period/time.Second) {
		t.Fatalf("Retry-After = %q, want 1..%d", r.header.Get("Retry-After"), int(period/time.Second))
	}
	if r.header.Get("RateLimit-Remaining") != "0" || r.header.Get("RateLimit-Reset") != strconv.Itoa(wait) {
		t.Fatalf("RateLimit headers on a refusal: %v", r.header)
	}
	if len(r.Errors) != 1 || r.codes()[0] != "RATE_LIMITED" || r.Errors[0].Extensions["retryAfter"] != float64(wait) ||
		r.Errors[0].Message != fmt.Sprintf("too many requests; try again in %d seconds", wait) {
		t.Fatalf("errors %+v; want one RATE_LIMITED with retryAfter %d", r.Errors, wait)
	}
	return wait
}

// TestRateLimitAnonymousPerClientIP: an anonymous client IP that spends
// its budget gets 429 with Retry-After and RATE_LIMITED; another IP is
// unaffected; health, readiness, metrics and webhooks are never limited;
// once the window ends the budget is whole again.
func TestRateLimitAnonymousPerClientIP(t *testing.T) {
	const whsec = "whsec_ratelimit"
	clock := newTestClock()
	s := startWith(t, func(c *config.Config) {
		behindProxy(c)
		c.RateLimitAnonymous = budget(t, "3/1m")
		// A Stripe key mounts /webhooks/stripe; nothing calls Stripe here.
		c.StripeSecretKey, c.StripeWebhookSecret = "sk_test_ratelimit", whsec
	}, app.Options{Now: clock.Now})

	for i := range 3 {
		wantAllowed(t, s.mustFrom(t, "198.51.100.1", typename), 3, 2-i)
	}
	wait := wantLimited(t, s.mustFrom(t, "198.51.100.1", typename), time.Minute)
	// Retrying early does not help (refusals count too).
	wantLimited(t, s.mustFrom(t, "198.51.100.1", typename), time.Minute)
	// GET queries are the same budget.
	req, _ := http.NewRequest(http.MethodGet, s.base+"/graphql?query=%7B__typename%7D", nil)
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	wantLimited(t, do(t, req), time.Minute)

	// Another client behind the same proxy has its own budget, and a
	// browser page on an allowed origin may read the headers.
	r := s.mustFrom(t, "198.51.100.2", typename, "Origin", "http://localhost:3000")
	wantAllowed(t, r, 3, 2)
	if exp := r.header.Get("Access-Control-Expose-Headers"); !strings.Contains(exp, "RateLimit-Remaining") || !strings.Contains(exp, "Retry-After") {
		t.Fatalf("Access-Control-Expose-Headers = %q", exp)
	}

	// The limited client can still reach every route that is not /graphql.
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		for range 5 {
			req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
			req.Header.Set("X-Forwarded-For", "198.51.100.1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("RateLimit-Limit") != "" {
				t.Fatalf("%s while limited: %d %v", path, resp.StatusCode, resp.Header)
			}
			if path == "/metrics" && !strings.Contains(string(body), `frontdesk_rate_limited_total{class="anonymous"} 3`) {
				t.Fatalf("/metrics does not count the 3 refusals")
			}
		}
	}
	payload := []byte(`{"id":"evt_rl_1","object":"event","type":"customer.created","api_version":"2023-10-16","data":{"object":{"id":"cus_1","object":"customer"}}}`)
	for i := range 5 {
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: whsec, Timestamp: time.Now()})
		req, _ := http.NewRequest(http.MethodPost, s.base+"/webhooks/stripe", bytes.NewReader(payload))
		req.Header.Set("Stripe-Signature", signed.Header)
		req.Header.Set("X-Forwarded-For", "198.51.100.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("signed webhook %d from a limited address: %d", i, resp.StatusCode)
		}
	}

	// A second before the window ends the client is still refused; at
	// its end (the time Retry-After said) the budget is whole again.
	clock.Add(time.Duration(wait-1) * time.Second)
	wantLimited(t, s.mustFrom(t, "198.51.100.1", typename), time.Minute)
	clock.Add(time.Second)
	wantAllowed(t, s.mustFrom(t, "198.51.100.1", typename), 3, 2)
}

// TestRateLimitPerCaller: signed-in users, staff and API keys each draw on
// their own budget of their own size, whatever address they call from,
// and one user spending theirs leaves another's alone.
func TestRateLimitPerCaller(t *testing.T) {
	clock := newTestClock()
	s := startWith(t, func(c *config.Config) {
		c.RateLimitUser = budget(t, "2/1m")
		c.RateLimitStaff = budget(t, "4/1m")
		c.RateLimitAPIKey = budget(t, "3/1h")
	}, app.Options{Now: clock.Now})
	ann := s.signUp(t, "ann@example.com", "")
	bob := s.signUp(t, "bob@example.com", "")
	admin := s.signUp(t, "admin@example.com", "ADMIN")
	r := s.gqlAs(t, `mutation { createApiKey(input: {name: "Partner", scopes: [VIEW_AUDIT_LOG]}) { token } }`, nil, bearer(admin.token)...)
	key, _ := field(r, "createApiKey.token").(string)
	if key == "" {
		t.Fatalf("createApiKey: %v %+v", r.Data, r.Errors)
	}
	// The admin has spent 2 of 4 (sign-in is anonymous; createApiKey and
	// this one are the admin's).
	wantAllowed(t, s.mustFrom(t, "", typename, bearer(admin.token)...), 4, 2)

	wantAllowed(t, s.mustFrom(t, "", typename, bearer(ann.token)...), 2, 1)
	wantAllowed(t, s.mustFrom(t, "", typename, bearer(ann.token)...), 2, 0)
	wantLimited(t, s.mustFrom(t, "", typename, bearer(ann.token)...), time.Minute)
	wantAllowed(t, s.mustFrom(t, "", typename, bearer(bob.token)...), 2, 1)
	// Anonymous callers from the same address are not limited (their
	// budget is off here).
	if r := s.mustFrom(t, "", typename); r.status != http.StatusOK || r.header.Get("RateLimit-Limit") != "" {
		t.Fatalf("anonymous with an off budget: %d %v", r.status, r.header)
	}

	wantAllowed(t, s.mustFrom(t, "", typename, bearer(admin.token)...), 4, 1)
	wantAllowed(t, s.mustFrom(t, "", typename, bearer(admin.token)...), 4, 0)
	wantLimited(t, s.mustFrom(t, "", typename, bearer(admin.token)...), time.Minute)
	// The admin's API key is its own budget, not the admin's.
	for i := range 3 {
		wantAllowed(t, s.mustFrom(t, "", typename, bearer(key)...), 3, 2-i)
	}
	wantLimited(t, s.mustFrom(t, "", typename, bearer(key)...), time.Hour)

	// A minute later the people's budgets are back; the key's hour is not over.
	clock.Add(time.Minute)
	wantAllowed(t, s.mustFrom(t, "", typename, bearer(ann.token)...), 2, 1)
	wantAllowed(t, s.mustFrom(t, "", typename, bearer(admin.token)...), 4, 3)
	clock.Add(time.Hour)
	wantAllowed(t, s.mustFrom(t, "", typename, bearer(key)...), 3, 2)
}

// TestRateLimitIsExactUnderConcurrency: 40 requests from one client race
// on a budget of 15; exactly 15 are served and 25 get 429.
func TestRateLimitIsExactUnderConcurrency(t *testing.T) {
	const budgetN, n = 15, 40
	s := startWith(t, func(c *config.Config) {
		behindProxy(c)
		c.RateLimitAnonymous = budget(t, fmt.Sprintf("%d/1h", budgetN))
	}, app.Options{Now: newTestClock().Now})
	var ok, limited atomic.Int32
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			r, err := s.postFrom("198.51.100.9", typename, nil)
			switch {
			case err != nil:
				t.Error(err)
			case r.status == http.StatusOK && len(r.Errors) == 0:
				ok.Add(1)
			case r.status == http.StatusTooManyRequests && len(r.codes()) == 1 && r.codes()[0] == "RATE_LIMITED":
				limited.Add(1)
			default:
				t.Errorf("unexpected answer: %d %+v", r.status, r.Errors)
			}
		}()
	}
	close(begin)
	wg.Wait()
	if ok.Load() != budgetN || limited.Load() != n-budgetN {
		t.Fatalf("%d served and %d refused; want %d and %d", ok.Load(), limited.Load(), budgetN, n-budgetN)
	}
}

// TestRateLimitSharedAcrossReplicas: two servers on one database and one
// Redis draw on one budget per client.
func TestRateLimitSharedAcrossReplicas(t *testing.T) {
	if os.Getenv("FRONTDESK_TEST_REDIS_URL") == "" {
		t.Skip("needs Redis (FRONTDESK_TEST_REDIS_URL): the in-process store is per process")
	}
	clock := newTestClock()
	limits := func(c *config.Config) {
		behindProxy(c)
		c.RateLimitAnonymous = budget(t, "4/1m")
	}
	a := startWith(t, limits, app.Options{Now: clock.Now})
	b := startWith(t, func(c *config.Config) {
		limits(c)
		c.DatabaseURL, c.DataDir = a.app.Config.DatabaseURL, a.app.Config.DataDir
		c.RedisURL, c.RedisPrefix = a.app.Config.RedisURL, a.app.Config.RedisPrefix
		c.MigrateOnStart = false
	}, app.Options{Now: clock.Now})
	wantAllowed(t, a.mustFrom(t, "198.51.100.3", typename), 4, 3)
	wantAllowed(t, b.mustFrom(t, "198.51.100.3", typename), 4, 2)
	wantAllowed(t, a.mustFrom(t, "198.51.100.3", typename), 4, 1)
	wantAllowed(t, b.mustFrom(t, "198.51.100.3", typename), 4, 0)
	wantLimited(t, a.mustFrom(t, "198.51.100.3", typename), time.Minute)
	wantLimited(t, b.mustFrom(t, "198.51.100.3", typename), time.Minute)
	wantAllowed(t, b.mustFrom(t, "198.51.100.4", typename), 4, 3)
}

// TestRateLimitWebSocket: opening a socket costs one request of the
// client's budget and every operation started on it one more; an
// operation over budget gets RATE_LIMITED (the socket stays open), and a
// socket opened over budget is refused with 429.
func TestRateLimitWebSocket(t *testing.T) {
	clock := newTestClock()
	s := startWith(t, func(c *config.Config) {
		behindProxy(c)
		c.RateLimitAnonymous = budget(t, "3/1m")
		c.RateLimitUser = budget(t, "1/1m")
	}, app.Options{Now: clock.Now})
	ann := s.signUp(t, "ann@example.com", "")
	from := http.Header{"X-Forwarded-For": {"198.51.100.5"}}
	c := dialWS(t, s, "graphql-transport-ws", from) // 1
	must(t, c.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{}}))
	readUntil(t, c, "connection_ack")
	subscribe := func(id string) map[string]any {
		must(t, c.WriteJSON(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": "subscription { serverTime(everySeconds: 1) }"}}))
		for range 20 {
			m := readMsg(t, c)
			if m["id"] == id && (m["type"] == "next" || m["type"] == "error") {
				return m
			}
		}
		t.Fatalf("no answer to subscription %s", id)
		return nil
	}
	if m := subscribe("a"); m["type"] != "next" || m["payload"].(map[string]any)["errors"] != nil { // 2
		t.Fatalf("first subscription: %v", m)
	}
	if m := subscribe("b"); m["type"] != "next" || m["payload"].(map[string]any)["errors"] != nil { // 3
		t.Fatalf("second subscription: %v", m)
	}
	m := subscribe("c") // 4: over
	errs, _ := m["payload"].(map[string]any)["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("third subscription over budget: %v", m)
	}
	ext := errs[0].(map[string]any)["extensions"].(map[string]any)
	if ext["code"] != "RATE_LIMITED" || ext["retryAfter"].(float64) < 1 {
		t.Fatalf("third subscription: %v", m)
	}
	// The socket is still open: the first subscription keeps ticking.
	for range 20 {
		if m := readMsg(t, c); m["id"] == "a" && m["type"] == "next" {
			break
		}
	}

	// A new socket from the spent client is refused at the upgrade.
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	_, resp, err := d.Dial(wsURL(s.base), from)
	if err == nil || !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("upgrade over budget: %v (status %d)", err, status)
	}
	resp.Body.Close()
	// Another client is not affected. Its operations are counted against
	// the credentials of connection_init (Ann's budget of 1 here), not
	// its address's.
	c = dialWS(t, s, "graphql-transport-ws", http.Header{"X-Forwarded-For": {"198.51.100.6"}})
	must(t, c.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": ann.token}}))
	readUntil(t, c, "connection_ack")
	if m := subscribe("d"); m["type"] != "next" || m["payload"].(map[string]any)["errors"] != nil {
		t.Fatalf("Ann's first subscription: %v", m)
	}
	m = subscribe("e")
	if errs, _ := m["payload"].(map[string]any)["errors"].([]any); len(errs) != 1 ||
		errs[0].(map[string]any)["extensions"].(map[string]any)["code"] != "RATE_LIMITED" {
		t.Fatalf("Ann's second subscription on a budget of 1: %v", m)
	}
	wantAllowed(t, s.mustFrom(t, "198.51.100.6", typename), 3, 1)
}

// TestRateLimitFailedAuthentication: requests whose bearer credentials are
// refused (well-formed but unknown, malformed, another scheme, an unknown
// API key) draw on their client IP's anonymous budget: 401 with the
// RateLimit headers while it lasts, then 429 RATE_LIMITED with
// Retry-After, sharing the budget with the IP's anonymous requests.
// Another IP, and valid credentials from the limited IP, are unaffected;
// valid requests do not spend the failure budget; the next window
// restores it.
func TestRateLimitFailedAuthentication(t *testing.T) {
	clock := newTestClock()
	s := startWith(t, func(c *config.Config) {
		behindProxy(c)
		c.RateLimitAnonymous = budget(t, "3/1m")
	}, app.Options{Now: clock.Now})
	ann := s.signUp(t, "ann@example.com", "")
	const ip = "198.51.100.7"
	unknown := "Bearer fds_" + strings.Repeat("A", 43)
	if len(ann.token) != len(unknown)-len("Bearer ") {
		t.Fatalf("test token %q is not shaped like a real one %q", unknown, ann.token)
	}
	wantRefused := func(r gqlResponse, remaining int) {
		t.Helper()
		if r.status != http.StatusUnauthorized || len(r.Errors) != 1 || r.codes()[0] != "UNAUTHENTICATED" {
			t.Fatalf("bad credentials within the budget: %d %+v", r.status, r.Errors)
		}
		if r.header.Get("RateLimit-Limit") != "3" || r.header.Get("RateLimit-Remaining") != strconv.Itoa(remaining) {
			t.Fatalf("RateLimit headers on a 401: %v", r.header)
		}
	}
	wantRefused(s.mustFrom(t, ip, typename, "Authorization", unknown), 2)
	// A valid token from the same address neither spends nor is refused.
	if r := s.mustFrom(t, ip, typename, bearer(ann.token)...); r.status != http.StatusOK || r.header.Get("RateLimit-Limit") != "" {
		t.Fatalf("valid token: %d %v", r.status, r.header)
	}
	wantRefused(s.mustFrom(t, ip, typename, "Authorization", "Bearer not-a-token"), 1)
	wantRefused(s.mustFrom(t, ip, typename, "Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"), 0)
	wait := wantLimited(t, s.mustFrom(t, ip, typename, "Authorization", unknown), time.Minute)
	wantLimited(t, s.mustFrom(t, ip, typename, "Authorization", "Bearer fdk_"+strings.Repeat("B", 43)), time.Minute)
	// Off /graphql too: every route behind authentication counts.
	req, _ := http.NewRequest(http.MethodGet, s.base+"/readyz", nil)
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("Authorization", unknown)
	wantLimited(t, do(t, req), time.Minute)
	// The anonymous budget is the same one.
	wantLimited(t, s.mustFrom(t, ip, typename), time.Minute)
	// Valid credentials from the address still pass; another address has
	// its own budget.
	if r := s.mustFrom(t, ip, typename, bearer(ann.token)...); r.status != http.StatusOK {
		t.Fatalf("valid token from a limited address: %d %+v", r.status, r.Errors)
	}
	wantRefused(s.mustFrom(t, "198.51.100.8", typename, "Authorization", unknown), 2)

	clock.Add(time.Duration(wait) * time.Second)
	for range 5 {
		if r := s.mustFrom(t, ip, typename, bearer(ann.token)...); r.status != http.StatusOK {
			t.Fatalf("valid token: %d", r.status)
		}
	}
	wantRefused(s.mustFrom(t, ip, typename, "Authorization", unknown), 2)
}
