package msgraph_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"frontdesk/integrations/msgraph"
	"frontdesk/integrations/msgraph/graphtest"
)

func newClient(t *testing.T) (*graphtest.Server, *msgraph.Client, *time.Time) {
	g := graphtest.New(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	cfg := g.Config()
	cfg.Now = func() time.Time { return now }
	g.SetClock(func() time.Time { return now })
	return g, msgraph.New(cfg), &now
}

func TestTokenIsCachedUntilShortlyBeforeExpiry(t *testing.T) {
	g, c, now := newClient(t)
	ctx := context.Background()
	for range 3 {
		if _, err := c.Token(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if g.TokenRequests != 1 {
		t.Fatalf("token requests = %d, want 1", g.TokenRequests)
	}
	*now = now.Add(50 * time.Minute) // expires_in 3599s, renewed 5 min early
	if _, err := c.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if g.TokenRequests != 1 {
		t.Fatalf("token requests after 50 min = %d, want 1", g.TokenRequests)
	}
	*now = now.Add(6 * time.Minute)
	if _, err := c.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if g.TokenRequests != 2 {
		t.Fatalf("token requests after 56 min = %d, want 2", g.TokenRequests)
	}
}

func TestBadSecretIsNotRetryable(t *testing.T) {
	g := graphtest.New(t)
	cfg := g.Config()
	cfg.ClientSecret = "wrong"
	_, err := msgraph.New(cfg).Token(context.Background())
	if msgraph.StatusOf(err) != http.StatusUnauthorized || msgraph.IsRetryable(err) {
		t.Fatalf("err = %v, want non-retryable 401", err)
	}
	if g.TokenRequests != 1 {
		t.Fatalf("token requests = %d, want 1 (no retry of a bad secret)", g.TokenRequests)
	}
}

func ids(evs []msgraph.Event) []string {
	var out []string
	for _, e := range evs {
		s := e.ID
		if e.Removed != nil {
			s += " removed"
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func TestDeltaPagesAndReportsChangesAndRemovals(t *testing.T) {
	g, c, now := newClient(t)
	ctx := context.Background()
	at := func(h int) *msgraph.DateTimeTimeZone { return msgraph.At(now.Add(time.Duration(h) * time.Hour)) }
	var want []string
	for i := range 7 {
		want = append(want, g.PutEvent("dr@clinic.test", "", msgraph.Event{Subject: "x", Start: at(i), End: at(i + 1), ShowAs: "busy"}))
	}
	g.PutEvent("dr@clinic.test", "", msgraph.Event{Subject: "outside", Start: at(24 * 30), End: at(24*30 + 1)})
	g.PutEvent("other@clinic.test", "", msgraph.Event{Subject: "other", Start: at(1), End: at(2)})
	sort.Strings(want)

	res, err := c.CalendarViewDelta(ctx, msgraph.DeltaRequest{User: "dr@clinic.test", Start: *now, End: now.Add(14 * 24 * time.Hour), PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, ids(res.Events)); diff != "" {
		t.Fatalf("first round (-want +got):\n%s", diff)
	}
	pages := 0
	for _, r := range g.Requests {
		if r == "GET /users/dr@clinic.test/calendarView/delta" {
			pages++
		}
	}
	if pages != 3 {
		t.Fatalf("pages = %d, want 3 (7 events, 3 a page)", pages)
	}

	g.DeleteEvent(want[0])
	moved := g.PutEvent("dr@clinic.test", "", msgraph.Event{ID: want[1], Subject: "moved", Start: at(30), End: at(31)})
	res2, err := c.CalendarViewDelta(ctx, msgraph.DeltaRequest{DeltaLink: res.DeltaLink})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{want[0] + " removed", moved}, ids(res2.Events)); diff != "" {
		t.Fatalf("second round (-want +got):\n%s", diff)
	}
	if _, err := c.CalendarViewDelta(ctx, msgraph.DeltaRequest{DeltaLink: res.DeltaLink + "x"}); !msgraph.IsGone(err) {
		t.Fatalf("unknown delta token: err = %v, want gone", err)
	}
}

func TestCreateEventDedupesByTransactionID(t *testing.T) {
	g, c, now := newClient(t)
	ctx := context.Background()
	e := msgraph.Event{Subject: "Consultation", Start: msgraph.At(*now), End: msgraph.At(now.Add(time.Hour)), TransactionID: "apt_1"}
	a, err := c.CreateEvent(ctx, "dr@clinic.test", "", e)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateEvent(ctx, "dr@clinic.test", "", e)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || g.Creates != 1 {
		t.Fatalf("ids %s/%s, creates %d: want one event", a.ID, b.ID, g.Creates)
	}
	if _, err := c.UpdateEvent(ctx, "dr@clinic.test", a.ID, msgraph.Event{Subject: "Moved"}); err != nil {
		t.Fatal(err)
	}
	if ev, _ := g.Event(a.ID); ev.Subject != "Moved" || ev.Start == nil {
		t.Fatalf("after patch: %+v", ev)
	}
	if err := c.DeleteEvent(ctx, "dr@clinic.test", a.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteEvent(ctx, "dr@clinic.test", a.ID); err != nil {
		t.Fatalf("second delete: %v, want nil", err)
	}
}

func TestThrottlingIsARetryableError(t *testing.T) {
	g, c, now := newClient(t)
	g.FailNext(1, http.StatusTooManyRequests, 7)
	g.FailNext(1, http.StatusServiceUnavailable, 0)
	e := msgraph.Event{Start: msgraph.At(*now), End: msgraph.At(now.Add(time.Hour))}
	_, err := c.CreateEvent(context.Background(), "u", "", e)
	var ge *msgraph.Error
	if !msgraph.IsRetryable(err) || !asError(err, &ge) || ge.RetryAfter != 7*time.Second {
		t.Fatalf("429: err = %v, want retryable with Retry-After 7s", err)
	}
	if _, err = c.CreateEvent(context.Background(), "u", "", e); !msgraph.IsRetryable(err) {
		t.Fatalf("503: err = %v, want retryable", err)
	}
	if _, err := c.CreateEvent(context.Background(), "u", "", e); err != nil {
		t.Fatal(err)
	}
}

func asError(err error, target **msgraph.Error) bool {
	e, ok := err.(*msgraph.Error)
	*target = e
	return ok
}

func TestSubscriptionValidationAndExpiryRule(t *testing.T) {
	_, c, now := newClient(t)
	ctx := context.Background()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(tok))
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer echo.Close()
	mute := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	defer mute.Close()
	sub := msgraph.Subscription{Resource: msgraph.EventsResource("dr@clinic.test"), ChangeType: "created,updated,deleted",
		NotificationURL: echo.URL + "/webhooks/msgraph", ClientState: "s3cret", ExpirationDateTime: now.Add(msgraph.MaxEventSubscription)}

	tooLong := sub
	tooLong.ExpirationDateTime = now.Add(msgraph.MaxEventSubscription + time.Minute)
	if _, err := c.CreateSubscription(ctx, tooLong); msgraph.StatusOf(err) != http.StatusBadRequest {
		t.Fatalf("expiry beyond 10080 min: err = %v, want 400", err)
	}
	unvalidated := sub
	unvalidated.NotificationURL = mute.URL
	if _, err := c.CreateSubscription(ctx, unvalidated); msgraph.StatusOf(err) != http.StatusBadRequest {
		t.Fatalf("endpoint without handshake: err = %v, want 400", err)
	}
	got, err := c.CreateSubscription(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := c.RenewSubscription(ctx, got.ID, now.Add(2*24*time.Hour))
	if err != nil || !renewed.ExpirationDateTime.Equal(now.Add(2*24*time.Hour)) {
		t.Fatalf("renew: %v %v", renewed, err)
	}
	*now = now.Add(3 * 24 * time.Hour)
	if _, err := c.RenewSubscription(ctx, got.ID, now.Add(time.Hour)); !msgraph.IsNotFound(err) {
		t.Fatalf("renew after expiry: err = %v, want 404", err)
	}
}

func TestAllDayAndShowAs(t *testing.T) {
	for _, tc := range []struct {
		e    msgraph.Event
		want bool
	}{
		{msgraph.Event{ShowAs: "busy"}, true},
		{msgraph.Event{ShowAs: "oof"}, true},
		{msgraph.Event{ShowAs: "tentative"}, true},
		{msgraph.Event{ShowAs: "free"}, false},
		{msgraph.Event{ShowAs: "workingElsewhere"}, false},
		{msgraph.Event{ShowAs: "busy", IsCancelled: true}, false},
		{msgraph.Event{ShowAs: "busy", Removed: &msgraph.Removed{Reason: "deleted"}}, false},
	} {
		if got := tc.e.Blocks(); got != tc.want {
			t.Errorf("%+v: Blocks = %v, want %v", tc.e, got, tc.want)
		}
	}
	d := msgraph.DateTimeTimeZone{DateTime: "2026-03-02T10:30:00.0000000", TimeZone: "UTC"}
	got, err := d.Time()
	if err != nil || !got.Equal(time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)) {
		t.Fatalf("Time = %v, %v", got, err)
	}
}
