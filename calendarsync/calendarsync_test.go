package calendarsync

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"frontdesk/booking"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/calendarsubscription"
	"frontdesk/ent/externalbusyblock"
	"frontdesk/ent/job"
	"frontdesk/identity"
	"frontdesk/integrations/msgraph"
	"frontdesk/integrations/msgraph/graphtest"
	"frontdesk/internal/testenv"
	"frontdesk/outbox"
	"frontdesk/telemetry"
)

const mailbox = "dr.ada@clinic.test"

type fixture struct {
	t       *testing.T
	db      *database.DB
	g       *graphtest.Server
	sync    *Sync
	eng     *booking.Engine
	hook    *httptest.Server
	now     atomic.Pointer[time.Time]
	sydney  *time.Location
	prac    *ent.Practitioner
	svc     *ent.Service
	link    *ent.CalendarLink
	admin   context.Context
	handler map[string]outbox.Handler
	tel     *telemetry.Telemetry
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, db: testenv.DB(t, database.Options{}), g: graphtest.New(t)}
	f.sydney, _ = time.LoadLocation("Australia/Sydney")
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC) // 10:00 in Sydney
	f.now.Store(&start)
	clock := func() time.Time { return *f.now.Load() }
	f.g.SetClock(clock)
	cfg := f.g.Config()
	cfg.Now = clock
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.tel = tel
	cfg.HTTP = tel.HTTPClient("msgraph", 10*time.Second)
	mux := http.NewServeMux()
	f.hook = httptest.NewServer(mux)
	t.Cleanup(f.hook.Close)
	f.sync = New(f.db.Client, msgraph.New(cfg), Options{NotificationURL: f.hook.URL + "/webhooks/msgraph",
		Horizon: 30 * 24 * time.Hour, Now: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: tel.Metrics})
	mux.Handle("POST /webhooks/msgraph", f.sync.Handler())
	f.handler = map[string]outbox.Handler{KindDelta: f.sync.runDelta, KindLifecycle: f.sync.runLifecycle,
		KindEventUpsert: f.sync.runEventUpsert, KindEventDelete: f.sync.runEventDelete, KindSubscriptions: f.sync.runSubscriptions}
	f.eng = booking.New(f.db.Client, booking.Options{ManageKey: []byte("k"), Now: clock, Changes: booking.Sinks{f.sync}})
	f.admin = identity.WithViewer(context.Background(), &identity.Viewer{UserID: "usr_01JD6Q7ZK3M4X9V2S8T5R1W0PC", Role: identity.RoleAdmin})

	ctx := context.Background()
	c := f.db.Client
	f.prac = c.Practitioner.Create().SetName("Dr Ada").SetTimeZone("Australia/Sydney").SaveX(ctx)
	for d := 0; d < 7; d++ {
		c.WeeklyHours.Create().SetPractitionerID(f.prac.ID).SetWeekday(d).SetStartMinute(9 * 60).SetEndMinute(17 * 60).ExecX(ctx)
	}
	f.svc = c.Service.Create().SetName("Follow-up").SetSlug("follow-up").SetDurationMinutes(30).
		SetSlotIntervalMinutes(30).SetVideoURL("https://video.example/room").AddPractitioners(f.prac).SaveX(ctx)
	return f
}

func (f *fixture) at(local string) time.Time {
	v, err := time.ParseInLocation("2006-01-02 15:04", local, f.sydney)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f *fixture) advance(d time.Duration) {
	n := f.now.Load().Add(d)
	f.now.Store(&n)
}

func (f *fixture) linkCalendar() {
	f.t.Helper()
	l, err := f.sync.Link(f.admin, LinkInput{PractitionerID: f.prac.ID, Mailbox: mailbox})
	if err != nil {
		f.t.Fatal(err)
	}
	f.link = l
	f.runJobs()
}

// runJobs runs due jobs of this package's kinds in the test goroutine
// until none is left, a deterministic stand-in for the worker; it returns
// the errors handlers returned (failed jobs are parked as DEAD).
func (f *fixture) runJobs() []error {
	f.t.Helper()
	ctx := identity.SystemContext(context.Background())
	var errs []error
	for range 100 {
		jobs, err := f.db.Client.Job.Query().Where(job.StateEQ(job.StatePENDING)).Order(ent.Asc(job.FieldCreatedAt), ent.Asc(job.FieldID)).All(ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		if len(jobs) == 0 {
			return errs
		}
		for _, j := range jobs {
			h := f.handler[j.Kind]
			if h == nil {
				f.t.Fatalf("no handler for %s", j.Kind)
			}
			err := h(ctx, &outbox.Running{ID: j.ID, Kind: j.Kind, Payload: j.Payload, IdempotencyKey: j.IdempotencyKey, Attempt: 1})
			state := job.StateSUCCEEDED
			if err != nil {
				errs = append(errs, err)
				state = job.StateDEAD
			}
			f.db.Client.Job.UpdateOne(j).SetState(state).ExecX(ctx)
		}
	}
	f.t.Fatal("jobs keep coming")
	return nil
}

func (f *fixture) pending(kind string) int {
	return f.db.Client.Job.Query().Where(job.StateEQ(job.StatePENDING), job.Kind(kind)).CountX(context.Background())
}

type block struct{ Start, End string }

func (f *fixture) blocks() []block {
	var out []block
	for _, b := range f.db.Client.ExternalBusyBlock.Query().Where(externalbusyblock.PractitionerID(f.prac.ID)).AllX(context.Background()) {
		out = append(out, block{b.StartAt.In(f.sydney).Format("01-02 15:04"), b.EndAt.In(f.sydney).Format("01-02 15:04")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

func (f *fixture) subscription() *ent.CalendarSubscription {
	return f.db.Client.CalendarSubscription.Query().Where(calendarsubscription.LinkID(f.link.ID)).OnlyX(context.Background())
}

func (f *fixture) outlook(e msgraph.Event) string { return f.g.PutEvent(mailbox, "", e) }

func (f *fixture) meeting(from, to, showAs string) msgraph.Event {
	return msgraph.Event{Subject: "Meeting", Start: msgraph.At(f.at(from)), End: msgraph.At(f.at(to)), ShowAs: showAs, Type: "singleInstance"}
}

func TestImportHonoursShowAsAllDayRecurrenceAndCancellation(t *testing.T) {
	f := newFixture(t)
	f.outlook(f.meeting("2026-05-02 09:00", "2026-05-02 10:00", "busy"))
	f.outlook(f.meeting("2026-05-02 11:00", "2026-05-02 12:00", "free"))
	f.outlook(f.meeting("2026-05-02 13:00", "2026-05-02 14:00", "workingElsewhere"))
	f.outlook(f.meeting("2026-05-02 15:00", "2026-05-02 16:00", "tentative"))
	cancelled := f.meeting("2026-05-03 09:00", "2026-05-03 10:00", "busy")
	cancelled.IsCancelled = true
	f.outlook(cancelled)
	ours := f.meeting("2026-05-03 11:00", "2026-05-03 12:00", "busy")
	ours.TransactionID = "apt_01JD6Q7ZK3M4X9V2S8T5R1W0PC"
	f.outlook(ours)
	// An all-day event written in UTC blocks the whole day in Sydney.
	f.outlook(msgraph.Event{Subject: "Leave", IsAllDay: true, ShowAs: "oof",
		Start: &msgraph.DateTimeTimeZone{DateTime: "2026-05-05T00:00:00.0000000", TimeZone: "UTC"},
		End:   &msgraph.DateTimeTimeZone{DateTime: "2026-05-06T00:00:00.0000000", TimeZone: "UTC"}})
	// Two instances of a weekly series, as calendarView expands them.
	for _, d := range []string{"2026-05-07", "2026-05-14"} {
		e := f.meeting(d+" 16:00", d+" 17:00", "busy")
		e.Type, e.SeriesMasterID = "occurrence", "AAMkSeries"
		f.outlook(e)
	}
	f.linkCalendar()

	want := []block{
		{"05-02 09:00", "05-02 10:00"},
		{"05-02 15:00", "05-02 16:00"},
		{"05-05 00:00", "05-06 00:00"},
		{"05-07 16:00", "05-07 17:00"},
		{"05-14 16:00", "05-14 17:00"},
	}
	if diff := cmp.Diff(want, f.blocks()); diff != "" {
		t.Fatalf("busy blocks (-want +got):\n%s", diff)
	}
	sub := f.subscription()
	live := f.g.Subscriptions()
	if sub.State != calendarsubscription.StateACTIVE || len(live) != 1 || live[0].ID != sub.GraphID || live[0].ClientState != sub.ClientState {
		t.Fatalf("subscription %+v, graph has %+v", sub, live)
	}
	if live[0].Resource != "/users/"+mailbox+"/events" || live[0].LifecycleNotificationURL == "" {
		t.Fatalf("subscription resource %q lifecycle %q", live[0].Resource, live[0].LifecycleNotificationURL)
	}
}

func (f *fixture) slots(day string) []string {
	from := f.at(day + " 00:00")
	got, err := f.eng.AvailableSlots(context.Background(), booking.SlotsInput{ServiceID: f.svc.ID, PractitionerID: &f.prac.ID,
		From: from, To: from.Add(24 * time.Hour), TimeZone: "Australia/Sydney"})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, s := range got {
		if h := s.Start.In(f.sydney).Format("15:04"); h < "12:00" {
			out = append(out, h)
		}
	}
	return out
}

func TestOutlookMeetingRemovesSlotEndToEnd(t *testing.T) {
	f := newFixture(t)
	f.linkCalendar()
	if diff := cmp.Diff([]string{"09:00", "09:30", "10:00", "10:30", "11:00", "11:30"}, f.slots("2026-05-04")); diff != "" {
		t.Fatalf("slots before (-want +got):\n%s", diff)
	}
	id := f.outlook(f.meeting("2026-05-04 10:00", "2026-05-04 11:00", "busy"))
	codes, err := f.g.Notify(context.Background(), id, "created")
	if err != nil || !cmp.Equal(codes, []int{http.StatusAccepted}) {
		t.Fatalf("notify: %v %v", codes, err)
	}
	if f.pending(KindDelta) != 1 {
		t.Fatalf("pending delta jobs = %d, want 1", f.pending(KindDelta))
	}
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if diff := cmp.Diff([]string{"09:00", "09:30", "11:00", "11:30"}, f.slots("2026-05-04")); diff != "" {
		t.Fatalf("slots after the meeting (-want +got):\n%s", diff)
	}
	if f.subscription().LastNotificationAt == nil {
		t.Fatal("last notification not recorded")
	}
	// Moved in Outlook, then deleted: the delta round's update and
	// @removed entry give the time back.
	f.outlook(msgraph.Event{ID: id, Subject: "Meeting", Start: msgraph.At(f.at("2026-05-04 11:00")), End: msgraph.At(f.at("2026-05-04 11:30")), ShowAs: "busy"})
	if _, err := f.g.Notify(context.Background(), id, "updated"); err != nil {
		t.Fatal(err)
	}
	f.runJobs()
	if diff := cmp.Diff([]string{"09:00", "09:30", "10:00", "10:30", "11:30"}, f.slots("2026-05-04")); diff != "" {
		t.Fatalf("slots after the move (-want +got):\n%s", diff)
	}
	if _, err := f.g.Notify(context.Background(), id, "deleted"); err != nil {
		t.Fatal(err)
	}
	f.g.DeleteEvent(id)
	f.runJobs()
	if len(f.blocks()) != 0 {
		t.Fatalf("blocks after delete: %v", f.blocks())
	}
}

func TestValidationHandshakeAndWrongClientState(t *testing.T) {
	f := newFixture(t)
	f.linkCalendar()
	before := scrape(t, f.tel) // linking made Graph run the handshake
	ctx := context.Background()
	code, body, err := graphtest.Do(ctx, http.MethodPost, f.hook.URL+"/webhooks/msgraph?validationToken=Validation%3A+Testing+client+%3C1%3E", "", nil)
	if err != nil || code != http.StatusOK || body != "Validation: Testing client <1>" {
		t.Fatalf("handshake: %d %q %v", code, body, err)
	}
	sub := f.subscription()
	forged, _ := json.Marshal(msgraph.NotificationBatch{Value: []msgraph.Notification{{SubscriptionID: sub.GraphID, ClientState: "guess", ChangeType: "created"}}})
	code, _, err = graphtest.Do(ctx, http.MethodPost, f.hook.URL+"/webhooks/msgraph", "application/json", forged)
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("forged notification: %d %v", code, err)
	}
	if f.pending(KindDelta) != 0 || f.subscription().LastNotificationAt != nil {
		t.Fatal("a notification with a wrong clientState was acted on")
	}
	code, _, _ = graphtest.Do(ctx, http.MethodPost, f.hook.URL+"/webhooks/msgraph", "application/json", []byte("{"))
	if code != http.StatusBadRequest {
		t.Fatalf("malformed body: %d, want 400", code)
	}
	real, _ := json.Marshal(msgraph.NotificationBatch{Value: []msgraph.Notification{{SubscriptionID: sub.GraphID, ClientState: sub.ClientState, ChangeType: "created"}}})
	if code, _, err = graphtest.Do(ctx, http.MethodPost, f.hook.URL+"/webhooks/msgraph", "application/json", real); err != nil || code != http.StatusAccepted {
		t.Fatalf("notification: %d %v", code, err)
	}
	// Every delivery is counted by outcome, and the calls to Graph that
	// linking made (token, subscription, delta) by status.
	m := scrape(t, f.tel)
	for _, outcome := range []string{"validation", "rejected", "invalid", "processed"} {
		name := `frontdesk_webhook_deliveries_total{outcome="` + outcome + `",source="msgraph"}`
		if got := m[name] - before[name]; got != 1 {
			t.Errorf("msgraph deliveries %s: %v more, want 1", outcome, got)
		}
	}
	if m[`frontdesk_outbound_request_duration_seconds_count{code="200",integration="msgraph"}`] == 0 ||
		m[`frontdesk_outbound_request_duration_seconds_count{code="201",integration="msgraph"}`] == 0 {
		t.Errorf("no msgraph calls counted: %v", m)
	}
}

// scrape serves tel's registry like /metrics and returns each series'
// value by its exposition name.
func scrape(t *testing.T, tel *telemetry.Telemetry) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(tel.Registry, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out := map[string]float64{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
			v, err := strconv.ParseFloat(line[i+1:], 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			out[line[:i]] = v
		}
	}
	return out
}

func TestRenewalAtHalfLifeWithAControllableClock(t *testing.T) {
	f := newFixture(t)
	f.linkCalendar()
	ctx := context.Background()
	first := f.subscription()
	if !first.ExpiresAt.Equal(f.now.Load().Add(f.sync.opts.Lifetime)) {
		t.Fatalf("expires %v, want now + %v", first.ExpiresAt, f.sync.opts.Lifetime)
	}
	f.advance(3 * 24 * time.Hour) // less than half of ~7 days
	if err := f.sync.Maintain(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if got := f.subscription(); !got.ExpiresAt.Equal(*first.ExpiresAt) {
		t.Fatalf("renewed too early: %v", got.ExpiresAt)
	}
	f.advance(12 * time.Hour) // past half-life
	if err := f.sync.Maintain(ctx, ""); err != nil {
		t.Fatal(err)
	}
	got := f.subscription()
	want := f.now.Load().Add(f.sync.opts.Lifetime)
	if got.GraphID != first.GraphID || !got.ExpiresAt.Equal(want) || got.LastRenewedAt == nil {
		t.Fatalf("after renewal: %+v, want same id expiring %v", got, want)
	}
	if live := f.g.Subscriptions(); len(live) != 1 || !live[0].ExpirationDateTime.Equal(want) {
		t.Fatalf("graph: %+v", live)
	}
	// Without renewal the subscription would have lapsed by now; it did not.
	f.advance(5 * 24 * time.Hour)
	if len(f.g.Subscriptions()) != 1 {
		t.Fatal("subscription lapsed despite renewal")
	}
}

func TestExpiredOrRemovedSubscriptionIsRecreatedAndResynced(t *testing.T) {
	f := newFixture(t)
	f.linkCalendar()
	ctx := context.Background()
	first := f.subscription()
	f.advance(8 * 24 * time.Hour) // expired: no worker ran for a week
	f.outlook(f.meeting("2026-05-12 10:00", "2026-05-12 11:00", "busy"))
	if err := f.sync.Maintain(ctx, ""); err != nil {
		t.Fatal(err)
	}
	second := f.subscription()
	if second.GraphID == first.GraphID || second.State != calendarsubscription.StateACTIVE || second.ClientState == first.ClientState {
		t.Fatalf("not recreated: %+v", second)
	}
	f.runJobs() // the full resync queued with the new subscription
	if diff := cmp.Diff([]block{{"05-12 10:00", "05-12 11:00"}}, f.blocks()); diff != "" {
		t.Fatalf("blocks after resync (-want +got):\n%s", diff)
	}

	// Graph drops the subscription and says so in a lifecycle notification.
	live := f.g.Subscriptions()[0]
	f.g.RemoveSubscription(live.ID)
	code, err := f.g.Lifecycle(ctx, live, "subscriptionRemoved")
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("lifecycle: %d %v", code, err)
	}
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	third := f.subscription()
	if third.GraphID == second.GraphID || len(f.g.Subscriptions()) != 1 || f.g.Subscriptions()[0].ID != third.GraphID {
		t.Fatalf("after subscriptionRemoved: %+v, graph %+v", third, f.g.Subscriptions())
	}
}

func TestMissedNotificationIsResynced(t *testing.T) {
	f := newFixture(t)
	f.linkCalendar()
	f.outlook(f.meeting("2026-05-04 10:00", "2026-05-04 11:00", "busy")) // its notification is lost
	sub := f.g.Subscriptions()[0]
	if code, err := f.g.Lifecycle(context.Background(), sub, "missed"); err != nil || code != http.StatusAccepted {
		t.Fatalf("lifecycle: %d %v", code, err)
	}
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if diff := cmp.Diff([]block{{"05-04 10:00", "05-04 11:00"}}, f.blocks()); diff != "" {
		t.Fatalf("blocks (-want +got):\n%s", diff)
	}
	// reauthorizationRequired reauthorizes and extends.
	f.advance(4 * 24 * time.Hour)
	if _, err := f.g.Lifecycle(context.Background(), sub, "reauthorizationRequired"); err != nil {
		t.Fatal(err)
	}
	f.runJobs()
	if got := f.subscription(); !got.ExpiresAt.Equal(f.now.Load().Add(f.sync.opts.Lifetime)) {
		t.Fatalf("not extended on reauthorization: %v", got.ExpiresAt)
	}
}

func TestUnrenewableSubscriptionRaisesAlert(t *testing.T) {
	f := newFixture(t)
	f.linkCalendar()
	f.sync.opts.NotificationURL = f.hook.URL + "/nowhere" // the handshake fails
	f.advance(8 * 24 * time.Hour)
	if err := f.sync.Maintain(context.Background(), ""); err == nil {
		t.Fatal("Maintain succeeded without a reachable endpoint")
	}
	st, err := f.sync.Status(f.admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || !st[0].Alerting(*f.now.Load()) || st[0].Subscription.State != calendarsubscription.StateFAILING ||
		st[0].Subscription.LastError == "" || st[0].Subscription.Failures != 1 {
		t.Fatalf("status: %+v", st[0].Subscription)
	}
	if _, err := f.sync.Status(context.Background()); err == nil {
		t.Fatal("anonymous viewer read sync status")
	}
	f.sync.opts.NotificationURL = f.hook.URL + "/webhooks/msgraph"
	if err := f.sync.Maintain(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.sync.Status(f.admin); st[0].Alerting(*f.now.Load()) {
		t.Fatal("alert not cleared by a successful round")
	}
}

func TestAppointmentEventsOutNeverDuplicated(t *testing.T) {
	f := newFixture(t)
	f.linkCalendar()
	ctx := context.Background()
	guest := &booking.Guest{Name: "Jo Patient", Email: "jo@example.com", Phone: "+61412345678"}
	h, err := f.eng.HoldSlot(ctx, booking.HoldInput{ServiceID: f.svc.ID, PractitionerID: f.prac.ID, Start: f.at("2026-05-04 10:00")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.eng.Book(ctx, booking.BookInput{AppointmentID: h.Appointment.ID, HoldToken: h.Token, Guest: guest})
	if err != nil {
		t.Fatal(err)
	}
	// Graph throttles the first attempt: a retryable error, nothing made.
	f.g.FailNext(1, http.StatusTooManyRequests, 2)
	errs := f.runJobs()
	if len(errs) != 1 || !msgraph.IsRetryable(errs[0]) || outbox.IsPermanent(errs[0]) || f.g.Creates != 0 {
		t.Fatalf("throttled attempt: %v, creates %d", errs, f.g.Creates)
	}
	// The handler's error carries Graph's Retry-After up to the outbox,
	// which schedules the retry no sooner (outbox.TestRetryAfterIsHonoured).
	var throttled interface{ RetryDelay() time.Duration }
	if !errors.As(errs[0], &throttled) || throttled.RetryDelay() != 2*time.Second {
		t.Fatalf("throttled attempt lost its Retry-After: %v", errs[0])
	}
	run := func() {
		t.Helper()
		err := f.sync.runEventUpsert(ctx, &outbox.Running{ID: "job_retry", Kind: KindEventUpsert, Payload: mustJSON(eventPayload{AppointmentID: b.Appointment.ID})})
		if err != nil {
			t.Fatal(err)
		}
	}
	run()
	// A worker that died after Graph created the event but before the row
	// was written: the retry's transactionId finds the same event.
	f.db.Client.CalendarEvent.Delete().ExecX(ctx)
	run()
	events := f.g.Events(mailbox)
	if f.g.Creates != 1 || len(events) != 1 || events[0].TransactionID != b.Appointment.ID.String() {
		t.Fatalf("creates %d, events %+v", f.g.Creates, events)
	}
	if e := events[0]; e.Subject != "Follow-up: Jo Patient" || e.Location == nil || e.Location.DisplayName != "https://video.example/room" || len(e.Attendees) != 0 {
		t.Fatalf("event %+v", e)
	}
	// The delta import skips Frontdesk's own event.
	if err := f.sync.SyncLink(ctx, f.link.ID, false); err != nil || len(f.blocks()) != 0 {
		t.Fatalf("own event imported as busy: %v %v", f.blocks(), err)
	}

	if _, err := f.eng.Reschedule(ctx, booking.RescheduleInput{ChangeInput: booking.ChangeInput{AppointmentID: b.Appointment.ID, Token: b.ManageToken}, Start: f.at("2026-05-04 14:00")}); err != nil {
		t.Fatal(err)
	}
	f.runJobs()
	events = f.g.Events(mailbox)
	if got, _ := events[0].Start.Time(); len(events) != 1 || !got.Equal(f.at("2026-05-04 14:00")) || f.g.Creates != 1 {
		t.Fatalf("after reschedule: %+v", events)
	}
	if _, err := f.eng.Cancel(ctx, booking.ChangeInput{AppointmentID: b.Appointment.ID, Token: b.ManageToken, Reason: "sick"}); err != nil {
		t.Fatal(err)
	}
	f.runJobs()
	if events := f.g.Events(mailbox); len(events) != 0 {
		t.Fatalf("after cancel: %+v", events)
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestCancelWhileEventIsCreatedLeavesNoOrphan: the appointment is
// cancelled, and its delete job runs, while Graph is still creating the
// event (so no event row exists yet for the delete job to find). The
// event must still end up deleted, not left in the practitioner's Outlook.
func TestCancelWhileEventIsCreatedLeavesNoOrphan(t *testing.T) {
	f := newFixture(t)
	f.linkCalendar()
	ctx := context.Background()
	guest := &booking.Guest{Name: "Jo Patient", Email: "jo@example.com", Phone: "+61412345678"}
	h, err := f.eng.HoldSlot(ctx, booking.HoldInput{ServiceID: f.svc.ID, PractitionerID: f.prac.ID, Start: f.at("2026-05-04 10:00")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.eng.Book(ctx, booking.BookInput{AppointmentID: h.Appointment.ID, HoldToken: h.Token, Guest: guest})
	if err != nil {
		t.Fatal(err)
	}
	payload := &outbox.Running{ID: "job_race", Kind: KindEventUpsert, Payload: mustJSON(eventPayload{AppointmentID: b.Appointment.ID})}
	var deleteErr error
	f.g.AfterCreate(func(msgraph.Event) {
		if _, err := f.eng.Cancel(f.admin, booking.ChangeInput{AppointmentID: b.Appointment.ID, Reason: "patient called"}); err != nil {
			t.Error(err)
		}
		deleteErr = f.sync.runEventDelete(ctx, &outbox.Running{ID: "job_del", Kind: KindEventDelete, Payload: payload.Payload})
	})
	if err := f.sync.runEventUpsert(ctx, payload); err != nil || deleteErr != nil {
		t.Fatalf("upsert: %v, delete during create: %v", err, deleteErr)
	}
	if f.g.Creates != 1 || len(f.g.Events(mailbox)) != 0 || f.db.Client.CalendarEvent.Query().CountX(ctx) != 0 {
		t.Fatalf("orphan: %d created, %d left in Outlook, %d rows", f.g.Creates, len(f.g.Events(mailbox)), f.db.Client.CalendarEvent.Query().CountX(ctx))
	}
}

// TestSubscriptionErrorIsStoredRedacted: Graph's error quotes the
// notification URL it could not validate; a credential in it is blanked
// before lastError is stored (admins read it), not only when read.
func TestSubscriptionErrorIsStoredRedacted(t *testing.T) {
	f := newFixture(t)
	f.linkCalendar()
	const planted = "planted-secret-0123456789"
	f.sync.opts.NotificationURL = f.hook.URL + "/nowhere?token=" + planted
	f.advance(8 * 24 * time.Hour)
	if err := f.sync.Maintain(context.Background(), ""); err == nil {
		t.Fatal("Maintain succeeded without a reachable endpoint")
	}
	sub, err := f.sync.client.CalendarSubscription.Query().Only(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sub.LastError == "" || strings.Contains(sub.LastError, planted) {
		t.Fatalf("stored lastError: %q", sub.LastError)
	}
	t.Logf("stored lastError: %q", sub.LastError)
}
