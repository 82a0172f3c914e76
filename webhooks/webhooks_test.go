package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/job"
	"frontdesk/ent/user"
	"frontdesk/ent/webhookdelivery"
	"frontdesk/ent/webhookendpoint"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
	"frontdesk/notify"
	"frontdesk/outbox"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// env is one test's store, admin and service.
type env struct {
	t      *testing.T
	client *ent.Client
	svc    *Service
	admin  context.Context
	now    time.Time
	mu     sync.Mutex
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	db := testenv.DB(t, database.Options{})
	e := &env{t: t, client: db.Client, now: time.Now().UTC()}
	if opts.Now == nil {
		opts.Now = e.clock
	}
	if opts.Log == nil {
		opts.Log = quiet
	}
	e.svc = New(db.Client, opts)
	u := e.user(user.RoleADMIN, "admin@example.com")
	e.admin = identity.WithViewer(context.Background(), &identity.Viewer{UserID: u.ID, Role: identity.RoleAdmin})
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func (e *env) user(role user.Role, email string) *ent.User {
	e.t.Helper()
	u, err := e.client.User.Create().SetEmail(email).SetName("Test " + string(role)).SetRole(role).Save(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) endpoint(ctx context.Context, url string, events ...EventType) *Created {
	e.t.Helper()
	c, err := e.svc.Create(ctx, EndpointInput{URL: &url, Events: events})
	if err != nil {
		e.t.Fatalf("create endpoint %s: %v", url, err)
	}
	return c
}

// emit raises an event in a committed transaction.
func (e *env) emit(t EventType, d Data) {
	e.t.Helper()
	ctx := context.Background()
	tx, err := e.client.Tx(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := Emit(ctx, tx, t, d); err != nil {
		e.t.Fatal(errors.Join(err, tx.Rollback()))
	}
	if err := tx.Commit(); err != nil {
		e.t.Fatal(err)
	}
}

// run plays the outbox for one kind: every due PENDING job runs once
// through its handler, as a worker would, and its outcome is written back
// (SUCCEEDED, DEAD, or PENDING again, due in the future so one call runs
// each job once). It returns the handlers' errors in order.
func (e *env) run(kind string) []error {
	e.t.Helper()
	ctx := identity.SystemContext(context.Background())
	jobs, err := e.client.Job.Query().Where(job.Kind(kind), job.StateEQ(job.StatePENDING), job.RunAtLTE(time.Now())).Order(job.ByCreatedAt()).All(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	handler := map[string]outbox.Handler{KindFanout: e.svc.fanout, KindDeliver: e.svc.deliver}[kind]
	var errs []error
	for _, j := range jobs {
		r := &outbox.Running{ID: j.ID, Kind: j.Kind, Payload: j.Payload, IdempotencyKey: j.IdempotencyKey,
			Attempt: j.Attempts + 1, MaxAttempts: j.MaxAttempts}
		herr := handler(ctx, r)
		errs = append(errs, herr)
		u := j.Update().AddAttempts(1)
		switch {
		case herr == nil:
			u.SetState(job.StateSUCCEEDED)
		case outbox.IsPermanent(herr) || r.Attempt >= r.MaxAttempts:
			u.SetState(job.StateDEAD)
		default:
			u.SetRunAt(time.Now().Add(time.Hour)).SetLastError(herr.Error())
		}
		if err := u.Exec(ctx); err != nil {
			e.t.Fatal(err)
		}
	}
	return errs
}

// retryNow makes every pending job due again, as time passing would.
func (e *env) retryNow() {
	e.t.Helper()
	if err := e.client.Job.Update().Where(job.StateEQ(job.StatePENDING)).SetRunAt(time.Now()).Exec(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) delivery(epID gid.ID) *ent.WebhookDelivery {
	e.t.Helper()
	d, err := e.client.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(epID)).Only(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// receiver is a loopback endpoint that records what it gets and answers
// what the test tells it to.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	answer   func(w http.ResponseWriter, r *http.Request)
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{answer: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, received{header: r.Header.Clone(), body: b})
		answer := rc.answer
		rc.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.requests...)
}

func (rc *receiver) setAnswer(f func(w http.ResponseWriter, r *http.Request)) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

// TestSignMatchesStandardWebhooksVector: the reference vector of the
// Standard Webhooks libraries signs to the same value.
func TestSignMatchesStandardWebhooksVector(t *testing.T) {
	sig, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; sig != want {
		t.Fatalf("signature %s, want %s", sig, want)
	}
	h := http.Header{}
	if err := Headers(h, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`),
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	if err := Verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h, []byte(`{"test": 2432232314}`), time.Unix(1614265330, 0), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := Verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h, []byte(`{"test": 2432232315}`), time.Unix(1614265330, 0), 5*time.Minute); !errors.Is(err, ErrNoMatchingSignature) {
		t.Fatalf("tampered body: %v", err)
	}
	if err := Verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h, []byte(`{"test": 2432232314}`), time.Unix(1614265330, 0).Add(10*time.Minute), 5*time.Minute); !errors.Is(err, ErrTimestamp) {
		t.Fatalf("old timestamp: %v", err)
	}
}

// TestDeliveryIsSignedAndLogged: a committed event reaches a subscribed
// endpoint once, signed with its secret, with the default payload, and
// the attempt is in the log; an endpoint that did not ask for the type
// gets nothing.
func TestDeliveryIsSignedAndLogged(t *testing.T) {
	e := newEnv(t, Options{Guard: Guard{AllowPrivate: true}})
	rc := newReceiver(t)
	other := newReceiver(t)
	c := e.endpoint(e.admin, rc.URL+"/hooks", OrderPaid, OrderCreated)
	e.endpoint(e.admin, other.URL, AppointmentBooked)
	if !strings.HasPrefix(c.Secret, "whsec_") {
		t.Fatalf("secret %q", c.Secret)
	}
	e.emit(OrderPaid, Data{OrderID: "ord_01JD6Q7ZK3M4X9V2S8T5R1W0PC", State: "PAID", PreviousState: "PENDING_PAYMENT"})
	if errs := e.run(KindFanout); len(errs) != 1 || errs[0] != nil {
		t.Fatalf("fanout: %v", errs)
	}
	if errs := e.run(KindDeliver); len(errs) != 1 || errs[0] != nil {
		t.Fatalf("deliver: %v", errs)
	}
	got := rc.got()
	if len(got) != 1 || len(other.got()) != 0 {
		t.Fatalf("receiver got %d, other %d", len(got), len(other.got()))
	}
	if err := Verify(c.Secret, got[0].header, got[0].body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("signature: %v (%v)", err, got[0].header)
	}
	var body struct {
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      map[string]any  `json:"data"`
		Raw       json.RawMessage `json:"-"`
	}
	if err := json.Unmarshal(got[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "order.paid" || body.Data["orderId"] != "ord_01JD6Q7ZK3M4X9V2S8T5R1W0PC" || body.Data["state"] != "PAID" {
		t.Fatalf("body %s", got[0].body)
	}
	if id := got[0].header.Get("webhook-id"); !strings.HasPrefix(id, "evt_") {
		t.Fatalf("webhook-id %q", id)
	}
	d := e.delivery(c.Endpoint.ID)
	if d.State != webhookdelivery.StateSUCCEEDED || d.Attempts != 1 || d.LastStatus != 204 || d.Body != string(got[0].body) {
		t.Fatalf("delivery %+v", d)
	}
	atts, err := e.svc.Attempts(e.admin, d)
	if err != nil || len(atts) != 1 || atts[0].Status != 204 || atts[0].Number != 1 {
		t.Fatalf("attempts %v %v", atts, err)
	}
	// The fan-out job running again creates nothing twice.
	if err := e.client.Job.Update().Where(job.Kind(KindFanout)).SetState(job.StatePENDING).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.run(KindFanout)
	e.run(KindDeliver)
	if n := len(rc.got()); n != 1 {
		t.Fatalf("fan-out again: receiver got %d requests", n)
	}
}

// TestRolledBackChangeSendsNothing: an event raised in a transaction that
// rolls back leaves no job and no delivery.
func TestRolledBackChangeSendsNothing(t *testing.T) {
	e := newEnv(t, Options{Guard: Guard{AllowPrivate: true}})
	rc := newReceiver(t)
	e.endpoint(e.admin, rc.URL, OrderPaid)
	ctx := context.Background()
	tx, err := e.client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := Emit(ctx, tx, OrderPaid, Data{OrderID: "ord_01JD6Q7ZK3M4X9V2S8T5R1W0PC"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	e.run(KindFanout)
	e.run(KindDeliver)
	n, err := e.client.Job.Query().Count(ctx)
	if err != nil || n != 0 || len(rc.got()) != 0 {
		t.Fatalf("jobs %d (%v), requests %d", n, err, len(rc.got()))
	}
	if err := Emit(ctx, nil, "order.bogus", Data{}); err == nil {
		t.Fatal("unknown event type accepted")
	}
}

// TestFailuresRetryThenGonePauses: a 503 with Retry-After is retried no
// sooner than asked, under the same webhook-id and body; a timeout is an
// attempt with no status; 410 Gone fails the delivery, pauses the
// endpoint and emails the admins.
func TestFailuresRetryThenGonePauses(t *testing.T) {
	e := newEnv(t, Options{Guard: Guard{AllowPrivate: true}, Timeouts: Timeouts{Response: 300 * time.Millisecond}})
	rc := newReceiver(t)
	c := e.endpoint(e.admin, rc.URL, ProductCreated)
	e.emit(ProductCreated, Data{ProductID: "prd_01JD6Q7ZK3M4X9V2S8T5R1W0PC"})
	e.run(KindFanout)

	rc.setAnswer(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, strings.Repeat("x", 5000))
	})
	errs := e.run(KindDeliver)
	var rd interface{ RetryDelay() time.Duration }
	if len(errs) != 1 || !errors.As(errs[0], &rd) || rd.RetryDelay() != 120*time.Second || outbox.IsPermanent(errs[0]) {
		t.Fatalf("503: %v", errs)
	}

	// The receiver hangs past the response timeout.
	rc.setAnswer(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	e.retryNow()
	if errs := e.run(KindDeliver); len(errs) != 1 || errs[0] == nil {
		t.Fatalf("timeout: %v", errs)
	}

	rc.setAnswer(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	e.retryNow()
	if errs := e.run(KindDeliver); len(errs) != 1 || errs[0] != nil {
		t.Fatalf("410: %v", errs)
	}
	got := rc.got()
	if len(got) != 3 {
		t.Fatalf("receiver got %d requests", len(got))
	}
	for _, r := range got[1:] {
		if r.header.Get("webhook-id") != got[0].header.Get("webhook-id") || string(r.body) != string(got[0].body) {
			t.Fatal("a retry changed the webhook-id or the body")
		}
	}
	d := e.delivery(c.Endpoint.ID)
	atts, err := e.svc.Attempts(e.admin, d)
	if err != nil || len(atts) != 3 {
		t.Fatalf("attempts %v %v", atts, err)
	}
	if atts[0].Status != 503 || len(atts[0].Response) != ResponseBytes || atts[1].Status != 0 || atts[1].Error == "" || atts[2].Status != 410 {
		t.Fatalf("attempt log: %+v %+v %+v", atts[0], atts[1], atts[2])
	}
	ep, err := e.client.WebhookEndpoint.Get(context.Background(), c.Endpoint.ID)
	if err != nil || d.State != webhookdelivery.StateFAILED || ep.State != webhookendpoint.StatePAUSED || !strings.Contains(ep.PausedReason, "410") {
		t.Fatalf("after 410: delivery %s, endpoint %s %q (%v)", d.State, ep.State, ep.PausedReason, err)
	}
	mails, err := e.client.Job.Query().Where(job.Kind(notify.KindEmail)).All(context.Background())
	if err != nil || len(mails) != 1 || !strings.Contains(string(mails[0].Payload), "admin@example.com") {
		t.Fatalf("admin mail: %v %v", mails, err)
	}
	// A paused endpoint is sent nothing.
	e.emit(ProductCreated, Data{ProductID: "prd_01JD6Q7ZK3M4X9V2S8T5R1W0PC"})
	e.run(KindFanout)
	e.run(KindDeliver)
	if len(rc.got()) != 3 {
		t.Fatal("a paused endpoint got a delivery")
	}
}

// TestEndpointFailingForDaysIsPaused: an endpoint that has failed every
// attempt for PauseAfter is paused on its next failure and admins are
// emailed; success in between resets the streak.
func TestEndpointFailingForDaysIsPaused(t *testing.T) {
	e := newEnv(t, Options{Guard: Guard{AllowPrivate: true}, PauseAfter: 48 * time.Hour})
	rc := newReceiver(t)
	rc.setAnswer(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	c := e.endpoint(e.admin, rc.URL, StockOut)
	e.emit(StockOut, Data{VariantID: "var_01JD6Q7ZK3M4X9V2S8T5R1W0PC"})
	e.run(KindFanout)
	if errs := e.run(KindDeliver); errs[0] == nil {
		t.Fatal("500 counted as success")
	}
	ep, _ := e.client.WebhookEndpoint.Get(context.Background(), c.Endpoint.ID)
	if ep.FailingSince == nil || ep.State != webhookendpoint.StateACTIVE {
		t.Fatalf("after one failure: %+v", ep)
	}
	e.advance(49 * time.Hour)
	e.retryNow()
	if errs := e.run(KindDeliver); errs[0] != nil {
		t.Fatalf("the pausing attempt should end the job: %v", errs[0])
	}
	ep, _ = e.client.WebhookEndpoint.Get(context.Background(), c.Endpoint.ID)
	if ep.State != webhookendpoint.StatePAUSED || !strings.Contains(ep.PausedReason, "failed") {
		t.Fatalf("after days of failure: %s %q", ep.State, ep.PausedReason)
	}
	if n, _ := e.client.Job.Query().Where(job.Kind(notify.KindEmail)).Count(context.Background()); n != 1 {
		t.Fatalf("%d admin mails", n)
	}
	// Resuming clears the streak.
	paused := false
	ep2, err := e.svc.Update(e.admin, c.Endpoint.ID, EndpointInput{Paused: &paused})
	if err != nil || ep2.State != webhookendpoint.StateACTIVE || ep2.FailingSince != nil {
		t.Fatalf("resume: %+v %v", ep2, err)
	}
}

// TestRetryScheduleSpansThreeDays: the shortest possible schedule of
// DeliverAttempts attempts lasts more than three days, and delays grow.
func TestRetryScheduleSpansThreeDays(t *testing.T) {
	var least time.Duration
	for n := 1; n < DeliverAttempts; n++ {
		lo := time.Duration(1<<62 - 1)
		for range 200 {
			lo = min(lo, Backoff(n))
		}
		least += lo
	}
	if least < 72*time.Hour {
		t.Fatalf("the retries end after %s, before three days", least)
	}
	if Backoff(1) > 40*time.Second || Backoff(30) > 15*time.Hour {
		t.Fatalf("backoff 1: %s, 30: %s", Backoff(1), Backoff(30))
	}
}

// TestSecretRotationSignsWithBoth: during the overlap a delivery carries
// signatures that verify with the new and with the old secret; after it,
// only the new one.
func TestSecretRotationSignsWithBoth(t *testing.T) {
	e := newEnv(t, Options{Guard: Guard{AllowPrivate: true}})
	rc := newReceiver(t)
	c := e.endpoint(e.admin, rc.URL, CustomerCreated)
	rot, err := e.svc.RotateSecret(e.admin, c.Endpoint.ID, time.Hour)
	if err != nil || rot.Secret == c.Secret || !strings.HasPrefix(rot.Secret, SecretPrefix) {
		t.Fatalf("rotate: %v", err)
	}
	e.emit(CustomerCreated, Data{CustomerID: "usr_01JD6Q7ZK3M4X9V2S8T5R1W0PC"})
	e.run(KindFanout)
	e.run(KindDeliver)
	got := rc.got()
	if len(got) != 1 || len(strings.Fields(got[0].header.Get("webhook-signature"))) != 2 {
		t.Fatalf("signatures during overlap: %v", got)
	}
	for _, s := range []string{c.Secret, rot.Secret} {
		if err := Verify(s, got[0].header, got[0].body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("verify with %s…: %v", s[:10], err)
		}
	}
	e.advance(2 * time.Hour)
	e.emit(CustomerCreated, Data{CustomerID: "usr_01JD6Q7ZK3M4X9V2S8T5R1W0PC"})
	e.run(KindFanout)
	e.run(KindDeliver)
	got = rc.got()
	if len(got) != 2 {
		t.Fatalf("%d requests", len(got))
	}
	now := e.clock()
	if err := Verify(c.Secret, got[1].header, got[1].body, now, 5*time.Minute); !errors.Is(err, ErrNoMatchingSignature) {
		t.Fatalf("old secret after the overlap: %v", err)
	}
	if err := Verify(rot.Secret, got[1].header, got[1].body, now, 5*time.Minute); err != nil {
		t.Fatalf("new secret: %v", err)
	}
	if _, err := e.svc.RotateSecret(e.admin, c.Endpoint.ID, 30*24*time.Hour); errcode.Of(err) == "" && err == nil {
		t.Fatal("an overlap beyond the maximum was accepted")
	}
}

// fakeDNS answers fixed addresses, as an attacker's DNS would.
type fakeDNS struct {
	mu    sync.Mutex
	names map[string]string
}

func (f *fakeDNS) set(name, ip string) {
	f.mu.Lock()
	f.names[name] = ip
	f.mu.Unlock()
}

func (f *fakeDNS) lookup(_ context.Context, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ip, ok := f.names[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	return []netip.Addr{netip.MustParseAddr(ip)}, nil
}

// TestSSRFRefused: in production, URLs that are or resolve to internal
// addresses are refused when saved, and a name re-pointed to loopback
// after it was saved is refused at connect time, before any byte is sent.
func TestSSRFRefused(t *testing.T) {
	dns := &fakeDNS{names: map[string]string{"evil.example": "127.0.0.1", "hooks.example": "93.184.216.34"}}
	e := newEnv(t, Options{Guard: Guard{RequireHTTPS: true, Lookup: dns.lookup}})
	for _, u := range []string{
		"https://evil.example/hook",           // a name resolving to loopback
		"https://127.0.0.1/hook",              // loopback
		"https://[::1]/hook",                  // IPv6 loopback
		"https://10.0.0.8/hook",               // private
		"https://169.254.169.254/latest/meta", // cloud metadata (link-local)
		"https://[::ffff:192.168.1.1]/hook",   // IPv4-mapped private
		"https://100.64.0.1/hook",             // carrier-grade NAT
		"http://hooks.example/hook",           // not https in production
		"https://user:pw@hooks.example/hook",  // credentials in the URL
		"https://nowhere.example/hook",        // does not resolve
		"ftp://hooks.example/hook",            // not http
	} {
		_, err := e.svc.Create(e.admin, EndpointInput{URL: &u, Events: []EventType{OrderPaid}})
		ues, ok := errcode.AsUserErrors(err)
		if !ok || len(ues) == 0 || strings.Join(ues[0].Field, ".") != "url" {
			t.Errorf("%s: %v, want a url user error", u, err)
		}
	}
	n, _ := e.client.WebhookEndpoint.Query().Count(context.Background())
	if n != 0 {
		t.Fatalf("%d endpoints saved", n)
	}

	// DNS rebinding: saved while public, re-pointed to a loopback TLS
	// receiver before delivery.
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	c := e.endpoint(e.admin, "https://hooks.example"+port+"/hook", OrderPaid)
	dns.set("hooks.example", "127.0.0.1")
	e.emit(OrderPaid, Data{OrderID: "ord_01JD6Q7ZK3M4X9V2S8T5R1W0PC"})
	e.run(KindFanout)
	if errs := e.run(KindDeliver); len(errs) != 1 || errs[0] == nil {
		t.Fatalf("delivery to a rebound name: %v", errs)
	}
	if hits.Load() != 0 {
		t.Fatal("the loopback receiver was reached")
	}
	atts, _ := e.svc.Attempts(e.admin, e.delivery(c.Endpoint.ID))
	if len(atts) != 1 || !strings.Contains(atts[0].Error, "not public") {
		t.Fatalf("attempt %+v", atts)
	}
}

// TestAPIKeyManagesOnlyItsEndpoints: a key with the webhooks scope sees,
// changes and redelivers only the endpoints it created; a key without the
// scope and a customer are refused.
func TestAPIKeyManagesOnlyItsEndpoints(t *testing.T) {
	e := newEnv(t, Options{Guard: Guard{AllowPrivate: true}})
	rc := newReceiver(t)
	admin := identity.ViewerFrom(e.admin)
	k1, err := e.client.APIKey.Create().SetName("partner one").SetPrefix("fdk_aaaaaaaa").SetTokenHash(strings.Repeat("a", 64)).
		SetScopes([]string{string(identity.ManageWebhooks)}).SetCreatorID(admin.UserID).Save(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	key := identity.WithViewer(context.Background(), &identity.Viewer{UserID: admin.UserID, Role: identity.RoleAdmin,
		APIKeyID: k1.ID, Scopes: []identity.Permission{identity.ManageWebhooks}})
	mine := e.endpoint(key, rc.URL+"/mine", OrderPaid)
	theirs := e.endpoint(e.admin, rc.URL+"/admin", OrderPaid)
	if mine.Endpoint.APIKeyID == nil || *mine.Endpoint.APIKeyID != k1.ID {
		t.Fatal("the key's endpoint does not belong to it")
	}
	q, err := e.svc.Endpoints(key)
	if err != nil {
		t.Fatal(err)
	}
	if ids, _ := q.IDs(context.Background()); len(ids) != 1 || ids[0] != mine.Endpoint.ID {
		t.Fatalf("key sees %v", ids)
	}
	if all, _ := e.svc.Endpoints(e.admin); all == nil {
		t.Fatal("admin sees nothing")
	} else if n, _ := all.Count(context.Background()); n != 2 {
		t.Fatalf("admin sees %d", n)
	}
	desc := "hijack"
	if _, err := e.svc.Update(key, theirs.Endpoint.ID, EndpointInput{Description: &desc}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("key changed the admin's endpoint: %v", err)
	}
	if _, err := e.svc.RotateSecret(key, theirs.Endpoint.ID, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("key rotated the admin's secret: %v", err)
	}
	if CanView(key, e.client, theirs.Endpoint.ID) || !CanView(key, e.client, mine.Endpoint.ID) {
		t.Fatal("node visibility")
	}
	noScope := identity.WithViewer(context.Background(), &identity.Viewer{UserID: admin.UserID, Role: identity.RoleAdmin,
		APIKeyID: k1.ID, Scopes: []identity.Permission{identity.ManageOrders}})
	customer := identity.WithViewer(context.Background(), &identity.Viewer{UserID: "usr_01JD6Q7ZK3M4X9V2S8T5R1W0PC", Role: identity.RoleCustomer})
	for name, ctx := range map[string]context.Context{"no scope": noScope, "customer": customer, "anonymous": context.Background()} {
		if _, err := e.svc.Endpoints(ctx); err == nil {
			t.Errorf("%s listed endpoints", name)
		}
	}
}

// TestRedeliverAndPing: a failed delivery is sent again once with the same
// webhook-id; redelivering a time range picks only failed ones in it; a
// ping reaches an endpoint whatever it subscribed to.
func TestRedeliverAndPing(t *testing.T) {
	e := newEnv(t, Options{Guard: Guard{AllowPrivate: true}})
	rc := newReceiver(t)
	rc.setAnswer(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	c := e.endpoint(e.admin, rc.URL, OrderCancelled)
	start := time.Now().Add(-time.Minute)
	e.emit(OrderCancelled, Data{OrderID: "ord_01JD6Q7ZK3M4X9V2S8T5R1W0PC"})
	e.run(KindFanout)
	// Make the delivery's only attempt its last.
	if err := e.client.Job.Update().Where(job.Kind(KindDeliver)).SetMaxAttempts(1).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.run(KindDeliver)
	d := e.delivery(c.Endpoint.ID)
	if d.State != webhookdelivery.StateFAILED {
		t.Fatalf("state %s", d.State)
	}
	if ep, err := e.client.WebhookEndpoint.Get(context.Background(), c.Endpoint.ID); err != nil || ep.FailingSince == nil || ep.LastSuccessAt != nil {
		t.Fatalf("endpoint after a failure: %+v %v", ep, err)
	}
	rc.setAnswer(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	if _, err := e.svc.Redeliver(e.admin, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Redeliver(e.admin, d.ID); errcode.Of(err) == "" && err == nil {
		t.Fatal("a pending delivery was redelivered twice")
	}
	e.run(KindDeliver)
	got := rc.got()
	if len(got) != 2 || got[1].header.Get("webhook-id") != got[0].header.Get("webhook-id") {
		t.Fatalf("redelivery: %d requests", len(got))
	}
	if d = e.delivery(c.Endpoint.ID); d.State != webhookdelivery.StateSUCCEEDED || d.Attempts != 2 {
		t.Fatalf("after redelivery: %s %d", d.State, d.Attempts)
	}
	// The success ends the failing streak and is the endpoint's last one.
	if ep, err := e.client.WebhookEndpoint.Get(context.Background(), c.Endpoint.ID); err != nil || ep.FailingSince != nil || ep.LastSuccessAt == nil {
		t.Fatalf("endpoint after a success that followed a failure: %+v %v", ep, err)
	}
	// Nothing failed in the range any more.
	if n, err := e.svc.RedeliverFailed(e.admin, c.Endpoint.ID, start, time.Now().Add(time.Minute)); err != nil || n != 0 {
		t.Fatalf("redeliver range: %d %v", n, err)
	}
	if err := e.client.WebhookDelivery.UpdateOneID(d.ID).SetState(webhookdelivery.StateFAILED).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.RedeliverFailed(e.admin, c.Endpoint.ID, start.Add(-time.Hour), start); err != nil || n != 0 {
		t.Fatalf("range before the event: %d %v", n, err)
	}
	if n, err := e.svc.RedeliverFailed(e.admin, c.Endpoint.ID, start, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("range with the event: %d %v", n, err)
	}
	e.run(KindDeliver)
	if len(rc.got()) != 3 {
		t.Fatalf("%d requests", len(rc.got()))
	}

	p, err := e.svc.Ping(e.admin, c.Endpoint.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.run(KindDeliver)
	got = rc.got()
	if len(got) != 4 || !strings.Contains(string(got[3].body), `"type":"webhook.ping"`) {
		t.Fatalf("ping: %s", got[len(got)-1].body)
	}
	if err := Verify(c.Secret, got[3].header, got[3].body, time.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if p.EventType != string(Ping) {
		t.Fatal(p.EventType)
	}
}

// TestSweepDeliveries: the retention sweep deletes finished deliveries
// (and attempts) older than the cut-off and keeps pending ones.
func TestSweepDeliveries(t *testing.T) {
	e := newEnv(t, Options{Guard: Guard{AllowPrivate: true}})
	rc := newReceiver(t)
	c := e.endpoint(e.admin, rc.URL, OrderPaid)
	e.emit(OrderPaid, Data{OrderID: "ord_01JD6Q7ZK3M4X9V2S8T5R1W0PC"})
	e.emit(OrderPaid, Data{OrderID: "ord_01JD6Q7ZK3M4X9V2S8T5R1W0PD"})
	e.run(KindFanout)
	// Deliver only the first.
	jobs, _ := e.client.Job.Query().Where(job.Kind(KindDeliver)).Order(job.ByCreatedAt()).All(context.Background())
	if err := jobs[1].Update().SetRunAt(time.Now().Add(time.Hour)).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.run(KindDeliver)
	n, err := outbox.Drain(context.Background(), e.svc.SweepDeliveries, time.Now().Add(time.Minute), 1)
	if err != nil || n != 1 {
		t.Fatalf("swept %d (%v)", n, err)
	}
	left, _ := e.client.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(c.Endpoint.ID)).All(context.Background())
	if len(left) != 1 || left[0].State != webhookdelivery.StatePENDING {
		t.Fatalf("left %v", left)
	}
	if n, _ := e.client.WebhookAttempt.Query().Count(context.Background()); n != 0 {
		t.Fatalf("%d attempts left", n)
	}
}
