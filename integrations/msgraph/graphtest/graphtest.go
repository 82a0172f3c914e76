// Package graphtest is a Microsoft Graph double for tests: an HTTP server
// on 127.0.0.1 that speaks the wire formats Frontdesk uses — the token
// endpoint, subscriptions with the Outlook expiry rule and the validation
// handshake made against the subscriber's endpoint, change and lifecycle
// notifications posted to it, calendarView/delta with paging and @removed
// entries, events with transactionId dedupe — and injects 429s on demand.
package graphtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/integrations/msgraph"
)

// Credentials the double accepts.
const (
	Tenant       = "tenant-1"
	ClientID     = "client-1"
	ClientSecret = "secret-1"
)

// Server is the double. Lock-protected; safe from any goroutine.
type Server struct {
	srv *httptest.Server

	mu            sync.Mutex
	now           func() time.Time
	seq           int
	version       int                // bumped by every event change
	events        map[string]*stored // by event id
	subs          map[string]*msgraph.Subscription
	deltas        map[string]deltaState // by token
	failures      []failure
	tokens        map[string]bool
	TokenRequests int
	Creates       int // successful event creations (not dedupes)
	Requests      []string

	afterCreate atomic.Pointer[func(msgraph.Event)]
}

type stored struct {
	user    string
	cal     string
	ev      msgraph.Event
	version int
	deleted bool
}

type deltaState struct {
	user, cal  string
	start, end time.Time
	since      int      // changes after this version
	pending    []string // event ids left to page, for a nextLink
	upto       int
}

type failure struct {
	status     int
	retryAfter int
}

// New starts a double; it stops with the test.
func New(t testing.TB) *Server {
	s := &Server{now: time.Now, events: map[string]*stored{}, subs: map[string]*msgraph.Subscription{},
		deltas: map[string]deltaState{}, tokens: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// Config returns a client configuration pointing at the double.
func (s *Server) Config() msgraph.Config {
	return msgraph.Config{TenantID: Tenant, ClientID: ClientID, ClientSecret: ClientSecret,
		LoginURL: s.srv.URL, GraphURL: s.srv.URL + "/v1.0"}
}

// SetClock makes the double judge expiry with now.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// FailNext makes the next n Graph (not token) requests fail with status,
// with a Retry-After of retryAfter seconds when positive.
func (s *Server) FailNext(n, status, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status, retryAfter})
	}
}

func (s *Server) newID(prefix string) string {
	s.seq++
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s%d-%s", prefix, s.seq, hex.EncodeToString(b))
}

// PutEvent adds or replaces an event in user's calendar as Outlook would
// (a meeting accepted, moved, cancelled) and returns its id. Recurring
// series are given as their instances (type occurrence), which is what
// calendarView returns.
func (s *Server) PutEvent(user, calendar string, e msgraph.Event) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.ID == "" {
		e.ID = s.newID("AAMk")
	}
	s.version++
	s.events[e.ID] = &stored{user: user, cal: calendar, ev: e, version: s.version}
	return e.ID
}

// DeleteEvent removes an event as Outlook would.
func (s *Server) DeleteEvent(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.events[id]; ok {
		s.version++
		st.deleted = true
		st.version = s.version
	}
}

// Event returns a live event by id.
func (s *Server) Event(id string) (msgraph.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.events[id]
	if !ok || st.deleted {
		return msgraph.Event{}, false
	}
	return st.ev, true
}

// Events returns user's live events, sorted by id.
func (s *Server) Events(user string) []msgraph.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []msgraph.Event
	for _, st := range s.events {
		if st.user == user && !st.deleted {
			out = append(out, st.ev)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Subscriptions returns the live subscriptions.
func (s *Server) Subscriptions() []msgraph.Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	var out []msgraph.Subscription
	for _, v := range s.subs {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// RemoveSubscription drops a subscription as Graph does when it gives up
// on one (without telling anybody).
func (s *Server) RemoveSubscription(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subs, id)
}

// expire drops subscriptions past their expiry. Callers hold mu.
func (s *Server) expire() {
	now := s.now()
	for id, sub := range s.subs {
		if !sub.ExpirationDateTime.After(now) {
			delete(s.subs, id)
		}
	}
}

// Notify posts a change notification for event id to every subscription
// on its user's events, with the subscription's clientState, and returns
// the status codes the subscriber answered.
func (s *Server) Notify(ctx context.Context, eventID, changeType string) ([]int, error) {
	s.mu.Lock()
	st, ok := s.events[eventID]
	if !ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("graphtest: no event %s", eventID)
	}
	s.expire()
	var posts []struct{ url, body string }
	for _, sub := range s.subs {
		if !strings.EqualFold(sub.Resource, msgraph.EventsResource(st.user)) {
			continue
		}
		n := map[string]any{
			"subscriptionId":                 sub.ID,
			"subscriptionExpirationDateTime": sub.ExpirationDateTime.Format(time.RFC3339),
			"changeType":                     changeType,
			"resource":                       "Users/" + st.user + "/Events/" + eventID,
			"resourceData": map[string]string{
				"@odata.type": "#Microsoft.Graph.Event", "@odata.id": "Users/" + st.user + "/Events/" + eventID, "id": eventID,
			},
			"clientState": sub.ClientState,
			"tenantId":    Tenant,
		}
		b, _ := json.Marshal(map[string]any{"value": []any{n}}) // plain maps always encode
		posts = append(posts, struct{ url, body string }{sub.NotificationURL, string(b)})
	}
	s.mu.Unlock()
	var codes []int
	for _, p := range posts {
		code, err := post(ctx, p.url, p.body)
		if err != nil {
			return codes, err
		}
		codes = append(codes, code)
	}
	return codes, nil
}

// Lifecycle posts a lifecycle notification (reauthorizationRequired,
// subscriptionRemoved, missed) for subscription id to its lifecycle URL
// and returns the status code answered. The subscription need not be live
// (subscriptionRemoved is sent for one Graph dropped).
func (s *Server) Lifecycle(ctx context.Context, sub msgraph.Subscription, event string) (int, error) {
	n := map[string]any{
		"subscriptionId":                 sub.ID,
		"subscriptionExpirationDateTime": sub.ExpirationDateTime.Format(time.RFC3339),
		"tenantId":                       Tenant,
		"clientState":                    sub.ClientState,
		"lifecycleEvent":                 event,
	}
	b, _ := json.Marshal(map[string]any{"value": []any{n}}) // plain maps always encode
	u := sub.LifecycleNotificationURL
	if u == "" {
		u = sub.NotificationURL
	}
	return post(ctx, u, string(b))
}

func post(ctx context.Context, u, body string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body) // drain so the connection is reused
	return resp.StatusCode, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the test client may have gone
}

func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		s.serveToken(w, r)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/v1.0")
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.Requests = append(s.Requests, r.Method+" "+path)
	authorized := s.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	var fail *failure
	if authorized && len(s.failures) > 0 {
		fail = &s.failures[0]
		s.failures = s.failures[1:]
	}
	s.mu.Unlock()
	if !authorized {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.")
		return
	}
	if fail != nil {
		if fail.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(fail.retryAfter))
		}
		code := "TooManyRequests"
		if fail.status >= 500 {
			code = "ServiceUnavailable"
		}
		graphError(w, fail.status, code, "injected failure")
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case parts[0] == "subscriptions":
		s.serveSubscriptions(w, r, parts[1:])
	case parts[0] == "users" && len(parts) >= 3:
		s.serveUser(w, r, parts[1], parts[2:])
	default:
		graphError(w, http.StatusNotFound, "ResourceNotFound", "unknown segment")
	}
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.TokenRequests++
	if !strings.HasPrefix(r.URL.Path, "/"+Tenant+"/") || r.Form.Get("grant_type") != "client_credentials" ||
		r.Form.Get("client_id") != ClientID || r.Form.Get("client_secret") != ClientSecret ||
		r.Form.Get("scope") != msgraph.Scope {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client",
			"error_description": "AADSTS7000215: Invalid client secret provided."})
		return
	}
	tok := s.newID("eyJ0")
	s.tokens[tok] = true
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

// validate performs Graph's handshake against a notification URL: a POST
// with ?validationToken= that must echo the token as text/plain within
// 10 seconds.
func validate(ctx context.Context, target string) error {
	tok := "Validation: Testing client application reachability for subscription Request-Id: " + hex.EncodeToString([]byte(target))[:8]
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("validationToken", tok)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || string(body) != tok {
		return fmt.Errorf("validation request to %s answered %d %q", target, resp.StatusCode, body)
	}
	return nil
}

func (s *Server) checkExpiry(exp time.Time) string {
	now := s.now()
	if !exp.After(now) {
		return "Subscription expiration can only be in the future."
	}
	if exp.After(now.Add(msgraph.MaxEventSubscription)) {
		return "Subscription expiration can only be 10070 minutes in the future."
	}
	return ""
}

func (s *Server) serveSubscriptions(w http.ResponseWriter, r *http.Request, rest []string) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodPost:
		var in msgraph.Subscription
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			graphError(w, http.StatusBadRequest, "InvalidRequest", "bad JSON")
			return
		}
		s.mu.Lock()
		msg := s.checkExpiry(in.ExpirationDateTime)
		s.mu.Unlock()
		if msg != "" {
			graphError(w, http.StatusBadRequest, "ExtensionError", msg)
			return
		}
		if in.ClientState == "" || len(in.ClientState) > 128 || !strings.HasPrefix(strings.ToLower(in.Resource), "/users/") || !strings.HasSuffix(strings.ToLower(in.Resource), "/events") {
			graphError(w, http.StatusBadRequest, "InvalidRequest", "bad resource or clientState")
			return
		}
		for _, u := range []string{in.NotificationURL, in.LifecycleNotificationURL} {
			if u == "" {
				continue
			}
			if err := validate(r.Context(), u); err != nil {
				graphError(w, http.StatusBadRequest, "ValidationError", "Subscription validation request failed: "+err.Error())
				return
			}
		}
		s.mu.Lock()
		in.ID = s.newID("sub-")
		s.subs[in.ID] = &in
		out := in
		s.mu.Unlock()
		writeJSON(w, http.StatusCreated, out)
	case len(rest) == 1 && r.Method == http.MethodPatch:
		var in struct {
			ExpirationDateTime time.Time `json:"expirationDateTime"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			graphError(w, http.StatusBadRequest, "InvalidRequest", "bad JSON")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.expire()
		sub, ok := s.subs[rest[0]]
		if !ok {
			graphError(w, http.StatusNotFound, "ResourceNotFound", "The object was not found.")
			return
		}
		if msg := s.checkExpiry(in.ExpirationDateTime); msg != "" {
			graphError(w, http.StatusBadRequest, "ExtensionError", msg)
			return
		}
		sub.ExpirationDateTime = in.ExpirationDateTime
		writeJSON(w, http.StatusOK, *sub)
	case len(rest) == 2 && rest[1] == "reauthorize" && r.Method == http.MethodPost:
		s.mu.Lock()
		defer s.mu.Unlock()
		s.expire()
		if _, ok := s.subs[rest[0]]; !ok {
			graphError(w, http.StatusNotFound, "ResourceNotFound", "The object was not found.")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case len(rest) == 1 && r.Method == http.MethodDelete:
		s.mu.Lock()
		defer s.mu.Unlock()
		s.expire()
		if _, ok := s.subs[rest[0]]; !ok {
			graphError(w, http.StatusNotFound, "ResourceNotFound", "The object was not found.")
			return
		}
		delete(s.subs, rest[0])
		w.WriteHeader(http.StatusNoContent)
	default:
		graphError(w, http.StatusMethodNotAllowed, "BadRequest", "unsupported")
	}
}

func (s *Server) serveUser(w http.ResponseWriter, r *http.Request, user string, rest []string) {
	cal := ""
	if rest[0] == "calendars" && len(rest) >= 3 {
		cal, rest = rest[1], rest[2:]
	}
	switch {
	case len(rest) == 2 && rest[0] == "calendarView" && rest[1] == "delta" && r.Method == http.MethodGet:
		s.serveDelta(w, r, user, cal)
	case len(rest) == 1 && rest[0] == "events" && r.Method == http.MethodPost:
		s.createEvent(w, r, user, cal)
	case len(rest) == 2 && rest[0] == "events" && (r.Method == http.MethodPatch || r.Method == http.MethodDelete):
		s.changeEvent(w, r, user, rest[1])
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", "unsupported segment")
	}
}

func (s *Server) createEvent(w http.ResponseWriter, r *http.Request, user, cal string) {
	var in msgraph.Event
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Start == nil || in.End == nil {
		graphError(w, http.StatusBadRequest, "InvalidRequest", "bad event")
		return
	}
	ev, created := s.storeEvent(user, cal, in)
	if hook := s.afterCreate.Load(); created && hook != nil {
		(*hook)(ev)
	}
	writeJSON(w, http.StatusCreated, ev)
}

// storeEvent creates in, or finds the event an earlier create with the
// same transactionId made (Graph's dedupe).
func (s *Server) storeEvent(user, cal string, in msgraph.Event) (msgraph.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.TransactionID != "" {
		for _, st := range s.events {
			if st.user == user && st.ev.TransactionID == in.TransactionID && !st.deleted {
				return st.ev, false
			}
		}
	}
	in.ID = s.newID("AAMk")
	if in.ShowAs == "" {
		in.ShowAs = "busy"
	}
	in.Type = "singleInstance"
	s.version++
	s.events[in.ID] = &stored{user: user, cal: cal, ev: in, version: s.version}
	s.Creates++
	return in, true
}

// AfterCreate runs f after each new event is stored and before Graph's
// answer reaches the caller: the window in which a test can make things
// happen while the caller does not yet know the event's id.
func (s *Server) AfterCreate(f func(msgraph.Event)) { s.afterCreate.Store(&f) }

func (s *Server) changeEvent(w http.ResponseWriter, r *http.Request, user, id string) {
	var patch map[string]json.RawMessage
	if r.Method == http.MethodPatch {
		if err := json.NewDecoder(r.Body).Decode(&patch); err != nil {
			graphError(w, http.StatusBadRequest, "InvalidRequest", "bad JSON")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.events[id]
	if !ok || st.deleted || st.user != user {
		graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	}
	s.version++
	st.version = s.version
	if r.Method == http.MethodDelete {
		st.deleted = true
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// Apply the patch by merging JSON objects, as Graph merges properties.
	cur, _ := json.Marshal(st.ev) // an Event always encodes
	var merged map[string]json.RawMessage
	_ = json.Unmarshal(cur, &merged) // and decodes back
	for k, v := range patch {
		merged[k] = v
	}
	b, _ := json.Marshal(merged)
	var ev msgraph.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		graphError(w, http.StatusBadRequest, "InvalidRequest", "bad patch")
		return
	}
	ev.ID = id
	st.ev = ev
	writeJSON(w, http.StatusOK, ev)
}

func pageSize(r *http.Request) int {
	for _, p := range r.Header.Values("Prefer") {
		if v, ok := strings.CutPrefix(p, "odata.maxpagesize="); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return n
			}
		}
	}
	return 10
}

func (s *Server) serveDelta(w http.ResponseWriter, r *http.Request, user, cal string) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var st deltaState
	switch {
	case q.Get("$skiptoken") != "":
		var ok bool
		if st, ok = s.deltas[q.Get("$skiptoken")]; !ok {
			graphError(w, http.StatusGone, "syncStateNotFound", "The sync state is not found.")
			return
		}
		delete(s.deltas, q.Get("$skiptoken"))
	case q.Get("$deltatoken") != "":
		prev, ok := s.deltas[q.Get("$deltatoken")]
		if !ok {
			graphError(w, http.StatusGone, "syncStateNotFound", "The sync state is not found.")
			return
		}
		st = s.collect(prev.user, prev.cal, prev.start, prev.end, prev.upto)
	default:
		start, err1 := time.Parse(time.RFC3339, q.Get("startDateTime"))
		end, err2 := time.Parse(time.RFC3339, q.Get("endDateTime"))
		if err1 != nil || err2 != nil || !start.Before(end) {
			graphError(w, http.StatusBadRequest, "ErrorInvalidParameter", "startDateTime and endDateTime are required.")
			return
		}
		st = s.collect(user, cal, start, end, -1)
	}
	n := pageSize(r)
	page := st.pending
	if len(page) > n {
		page = page[:n]
	}
	st.pending = st.pending[len(page):]
	value := make([]any, 0, len(page))
	for _, id := range page {
		e := s.events[id]
		if e.deleted || !s.inView(e, st.start, st.end) {
			value = append(value, map[string]any{"@odata.type": "#microsoft.graph.event", "id": id, "@removed": map[string]string{"reason": "deleted"}})
			continue
		}
		value = append(value, e.ev)
	}
	base := s.srv.URL + "/v1.0/users/" + user
	if st.cal != "" {
		base += "/calendars/" + st.cal
	}
	base += "/calendarView/delta"
	out := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)", "value": value}
	tok := s.newID("tok")
	s.deltas[tok] = st
	if len(st.pending) > 0 {
		out["@odata.nextLink"] = base + "?$skiptoken=" + tok
	} else {
		out["@odata.deltaLink"] = base + "?$deltatoken=" + tok
	}
	writeJSON(w, http.StatusOK, out)
}

// collect lists the events of a round: every live event in the window for
// a first round (since < 0), else every event changed after since.
func (s *Server) collect(user, cal string, start, end time.Time, since int) deltaState {
	st := deltaState{user: user, cal: cal, start: start, end: end, since: since, upto: s.version}
	for id, e := range s.events {
		if e.user != user || (cal != "" && e.cal != cal) {
			continue
		}
		if since < 0 {
			if !e.deleted && s.inView(e, start, end) {
				st.pending = append(st.pending, id)
			}
		} else if e.version > since {
			st.pending = append(st.pending, id)
		}
	}
	sort.Strings(st.pending)
	return st
}

func (s *Server) inView(e *stored, start, end time.Time) bool {
	a, err1 := e.ev.Start.Time()
	b, err2 := e.ev.End.Time()
	return err1 == nil && err2 == nil && a.Before(end) && b.After(start)
}

// Do sends a raw request to any URL, for tests that post notifications by
// hand (a forged clientState, say).
func Do(ctx context.Context, method, u, contentType string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
