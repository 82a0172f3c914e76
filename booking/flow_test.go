package booking_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"frontdesk/booking"
	"frontdesk/booking/intake"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/appointmentstatechange"
	"frontdesk/ent/job"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// fixture is a clinic with one Sydney practitioner working 09:00-17:00
// every day, a free 30-minute and a paid 60-minute service.
type fixture struct {
	t      *testing.T
	db     *database.DB
	eng    *booking.Engine
	now    atomic.Pointer[time.Time]
	prac   *ent.Practitioner
	free   *ent.Service
	paid   *ent.Service
	pay    *recordingPayments
	staff  context.Context
	sydney *time.Location
}

type recordingPayments struct {
	booking.DevelopmentPayments
	mu      sync.Mutex
	refunds []string
}

func (p *recordingPayments) Refund(_ context.Context, intentID, _ string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refunds = append(p.refunds, intentID)
	return nil
}

func newFixture(t *testing.T, opts database.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, db: testenv.DB(t, opts), pay: &recordingPayments{}}
	f.sydney, _ = time.LoadLocation("Australia/Sydney")
	f.setNow("2026-05-01T00:00:00Z")
	f.eng = booking.New(f.db.Client, booking.Options{
		Payments: f.pay, ManageKey: []byte("test-key"), HoldTTL: 10 * time.Minute, MaxActiveHolds: 2, MaxAnonymousHolds: 3,
		Now: func() time.Time { return *f.now.Load() },
	})
	f.staff = identity.WithViewer(context.Background(), &identity.Viewer{UserID: "usr_01JD6Q7ZK3M4X9V2S8T5R1W0PC", Role: identity.RoleStaff})
	ctx := context.Background()
	c := f.db.Client
	f.prac = c.Practitioner.Create().SetName("Dr Ada").SetTimeZone("Australia/Sydney").SaveX(ctx)
	for d := 0; d < 7; d++ {
		c.WeeklyHours.Create().SetPractitionerID(f.prac.ID).SetWeekday(d).SetStartMinute(9 * 60).SetEndMinute(17 * 60).ExecX(ctx)
	}
	f.free = c.Service.Create().SetName("Follow-up").SetSlug("follow-up").SetDurationMinutes(30).
		SetSlotIntervalMinutes(30).SetMinNoticeMinutes(60).SetCancelCutoffMinutes(24 * 60).
		SetRescheduleCutoffMinutes(24 * 60).AddPractitioners(f.prac).SaveX(ctx)
	f.paid = c.Service.Create().SetName("Initial consultation").SetSlug("initial").SetDurationMinutes(60).
		SetSlotIntervalMinutes(30).SetBufferAfterMinutes(15).SetPriceAmount(15000).SetCurrency("AUD").
		AddPractitioners(f.prac).SaveX(ctx)
	return f
}

func (f *fixture) setNow(s string) {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		f.t.Fatal(err)
	}
	f.now.Store(&v)
}

func (f *fixture) at(local string) time.Time {
	v, err := time.ParseInLocation("2006-01-02 15:04", local, f.sydney)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

func patient(n int) context.Context {
	return identity.WithViewer(context.Background(), &identity.Viewer{UserID: gid.ID(fmt.Sprintf("usr_01JD6Q7ZK3M4X9V2S8T5R1W%03d", n)), Role: identity.RoleCustomer})
}

func userCode(t *testing.T, err error) errcode.UserErrorCode {
	t.Helper()
	l, ok := errcode.AsUserErrors(err)
	if !ok {
		t.Fatalf("expected a user error, got %v", err)
	}
	return l[0].Code
}

func (f *fixture) hold(ctx context.Context, svc *ent.Service, start time.Time) (*booking.Hold, error) {
	return f.eng.HoldSlot(ctx, booking.HoldInput{ServiceID: svc.ID, PractitionerID: f.prac.ID, Start: start})
}

func (f *fixture) bookFree(ctx context.Context, start time.Time) *ent.Appointment {
	f.t.Helper()
	h, err := f.hold(ctx, f.free, start)
	if err != nil {
		f.t.Fatalf("hold: %v", err)
	}
	b, err := f.eng.Book(ctx, booking.BookInput{AppointmentID: h.Appointment.ID, HoldToken: h.Token})
	if err != nil {
		f.t.Fatalf("book: %v", err)
	}
	return b.Appointment
}

// TestNoDoubleBooking is the database guarantee: 50 concurrent attempts on
// one slot give exactly one confirmed appointment; the others get
// SLOT_UNAVAILABLE. An overlapping slot of another service is refused the
// same way.
func TestNoDoubleBooking(t *testing.T) {
	f := newFixture(t, database.Options{})
	start := f.at("2026-05-04 10:00")
	const n = 50
	var wg sync.WaitGroup
	var ok, taken atomic.Int32
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := patient(i)
			h, err := f.hold(ctx, f.free, start)
			if err == nil {
				_, err = f.eng.Book(ctx, booking.BookInput{AppointmentID: h.Appointment.ID})
			}
			switch l, isUser := errcode.AsUserErrors(err); {
			case err == nil:
				ok.Add(1)
			case isUser && l[0].Code == errcode.SlotUnavailable:
				taken.Add(1)
			default:
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	if ok.Load() != 1 || taken.Load() != n-1 {
		t.Fatalf("%d succeeded and %d got SLOT_UNAVAILABLE; want 1 and %d", ok.Load(), taken.Load(), n-1)
	}
	confirmed := f.db.Client.Appointment.Query().Where(appointment.StateEQ(appointment.StateCONFIRMED)).CountX(context.Background())
	if confirmed != 1 {
		t.Errorf("%d confirmed appointments, want 1", confirmed)
	}

	// The paid service is 60 minutes plus a 15-minute buffer: 09:30 would
	// run into the 10:00 appointment. The engine does not offer it and the
	// database refuses it even when the engine is bypassed.
	_, err := f.hold(patient(99), f.paid, f.at("2026-05-04 09:30"))
	if code := userCode(t, err); code != errcode.SlotUnavailable {
		t.Errorf("overlapping service: got %s, want SLOT_UNAVAILABLE", code)
	}
	// Concurrent overlapping holds of two services on one practitioner.
	var wins atomic.Int32
	var wg2 sync.WaitGroup
	for i := range 20 {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			svc, start := f.free, f.at("2026-05-04 14:30")
			if i%2 == 1 {
				svc, start = f.paid, f.at("2026-05-04 14:00")
			}
			_, err := f.hold(patient(100+i), svc, start)
			if err == nil {
				wins.Add(1)
			} else if code := userCode(t, err); code != errcode.SlotUnavailable {
				t.Errorf("got %s, want SLOT_UNAVAILABLE", code)
			}
		}()
	}
	wg2.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d overlapping holds across services succeeded, want 1", wins.Load())
	}
}

// TestAvailabilityQueries pins the loader to a constant number of queries
// whatever the range (six: the service and its practitioners, then four
// for the calendars; four once the service is cached, none for a repeated
// question, six again after a write), and checks that appointments,
// holds, busy blocks and overrides all show.
func TestAvailabilityQueries(t *testing.T) {
	counter, wrap := testenv.CountQueries()
	f := newFixture(t, database.Options{Driver: wrap})
	ctx := context.Background()
	f.bookFree(patient(1), f.at("2026-05-04 09:00"))
	if _, err := f.hold(patient(2), f.free, f.at("2026-05-04 10:00")); err != nil {
		t.Fatal(err)
	}
	f.db.Client.ExternalBusyBlock.Create().SetPractitionerID(f.prac.ID).SetSource("msgraph").SetExternalID("evt1").
		SetStartAt(f.at("2026-05-04 11:00")).SetEndAt(f.at("2026-05-04 16:00")).ExecX(ctx)
	f.db.Client.DateOverride.Create().SetPractitionerID(f.prac.ID).SetDate("2026-05-04").SetKind("CLOSED").
		SetStartMinute(16 * 60).SetEndMinute(16*60 + 30).ExecX(ctx)

	for _, days := range []int{1, 7, 60} {
		counter.Reset()
		slots, err := f.eng.AvailableSlots(ctx, booking.SlotsInput{ServiceID: f.free.ID, From: f.at("2026-05-04 00:00"),
			To: f.at("2026-05-04 00:00").AddDate(0, 0, days), TimeZone: "Australia/Sydney"})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int]int64{1: 6, 7: 4, 60: 4}[days]; counter.Count() != want {
			t.Errorf("%d days: %d queries, want %d", days, counter.Count(), want)
		}
		if days == 1 {
			var got []string
			for _, s := range slots {
				got = append(got, s.Start.Format("15:04Z07:00"))
			}
			want := []string{"09:30+10:00", "10:30+10:00", "16:30+10:00"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("slots (-want +got):\n%s", diff)
			}
		}
	}
	day := booking.SlotsInput{ServiceID: f.free.ID, From: f.at("2026-05-04 00:00"), To: f.at("2026-05-05 00:00"), TimeZone: "Australia/Sydney"}
	counter.Reset()
	if _, err := f.eng.AvailableSlots(ctx, day); err != nil {
		t.Fatal(err)
	}
	if q := counter.Count(); q != 0 {
		t.Errorf("repeated question: %d queries, want 0", q)
	}
	if _, err := f.hold(patient(3), f.free, f.at("2026-05-04 16:30")); err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	if _, err := f.eng.AvailableSlots(ctx, day); err != nil {
		t.Fatal(err)
	}
	if q := counter.Count(); q != 6 {
		t.Errorf("question after a hold: %d queries, want 6", q)
	}
	day.TimeZone = "Mars/Olympus"
	if _, err := f.eng.AvailableSlots(ctx, day); !errors.Is(err, booking.ErrBadTimeZone) {
		t.Errorf("bad zone: got %v", err)
	}
}

func TestHoldLimitAndExpiry(t *testing.T) {
	f := newFixture(t, database.Options{})
	p := patient(1)
	for _, at := range []string{"2026-05-04 09:00", "2026-05-04 11:00"} {
		if _, err := f.hold(p, f.free, f.at(at)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.hold(p, f.free, f.at("2026-05-04 13:00"))
	if code := userCode(t, err); code != errcode.HoldLimit {
		t.Errorf("third hold: got %s, want HOLD_LIMIT_REACHED", code)
	}
	// Someone else cannot take a held slot…
	_, err = f.hold(patient(2), f.free, f.at("2026-05-04 09:00"))
	if code := userCode(t, err); code != errcode.SlotUnavailable {
		t.Errorf("held slot: got %s", code)
	}
	// …until the hold expires; then it is free without waiting for the sweeper.
	f.setNow("2026-05-01T00:11:00Z")
	if _, err := f.hold(patient(2), f.free, f.at("2026-05-04 09:00")); err != nil {
		t.Fatalf("hold after expiry: %v", err)
	}
	n, err := f.eng.ExpireHolds(identity.SystemContext(context.Background()))
	if err != nil || n != 1 {
		t.Errorf("ExpireHolds = %d, %v; want the 11:00 hold", n, err)
	}
	if _, err := f.eng.ExpireHolds(p); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("patient ran ExpireHolds: %v", err)
	}
	claims := f.db.Client.SlotClaim.Query().CountX(context.Background())
	if claims != 6 { // one live 30-minute hold = 6 units of 5 minutes
		t.Errorf("%d claims left, want 6", claims)
	}
}

func TestPaidBooking(t *testing.T) {
	f := newFixture(t, database.Options{})
	p := patient(1)
	h, err := f.hold(p, f.paid, f.at("2026-05-05 09:00"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.eng.Book(p, booking.BookInput{AppointmentID: h.Appointment.ID})
	if err != nil {
		t.Fatal(err)
	}
	if b.Appointment.State != appointment.StatePENDING_PAYMENT || b.PaymentClientSecret == "" || b.Appointment.PaymentIntentID == nil {
		t.Fatalf("paid booking: state %s, secret %q", b.Appointment.State, b.PaymentClientSecret)
	}
	// A retry returns the same intent.
	again, err := f.eng.Book(p, booking.BookInput{AppointmentID: h.Appointment.ID})
	if err != nil || again.PaymentClientSecret != b.PaymentClientSecret {
		t.Fatalf("retry: %v, %q", err, again.PaymentClientSecret)
	}
	sys := identity.SystemContext(context.Background())
	outcome, a, err := f.eng.PaymentSucceeded(sys, *b.Appointment.PaymentIntentID)
	if err != nil || outcome != booking.PaymentConfirmed || a.State != appointment.StateCONFIRMED {
		t.Fatalf("payment: %s %v", outcome, err)
	}

	// A payment that arrives after the hold expired and was released is refunded.
	h2, err := f.hold(p, f.paid, f.at("2026-05-06 09:00"))
	if err != nil {
		t.Fatal(err)
	}
	b2, err := f.eng.Book(p, booking.BookInput{AppointmentID: h2.Appointment.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.setNow("2026-05-01T00:30:00Z")
	if n, err := f.eng.ExpireHolds(sys); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	outcome, _, err = f.eng.PaymentSucceeded(sys, *b2.Appointment.PaymentIntentID)
	if err != nil || outcome != booking.PaymentRefunded {
		t.Fatalf("late payment: %s %v", outcome, err)
	}
	// The refund is an outbox job (run in notifications_test.go), not a
	// call made after the commit.
	if n := f.db.Client.Job.Query().Where(job.IdempotencyKey(booking.KindRefund + ":" + *b2.Appointment.PaymentIntentID)).CountX(sys); n != 1 {
		t.Errorf("%d refund jobs, want 1", n)
	}
}

func TestGuestCancelRescheduleAndHistory(t *testing.T) {
	f := newFixture(t, database.Options{})
	anon := context.Background()
	h, err := f.hold(anon, f.free, f.at("2026-05-10 09:00"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.eng.Book(anon, booking.BookInput{AppointmentID: h.Appointment.ID, HoldToken: h.Token, Guest: &booking.Guest{Name: "Jo", Email: "bad", Phone: "123"}})
	if l, _ := errcode.AsUserErrors(err); len(l) != 2 {
		t.Fatalf("bad guest details: %v", err)
	}
	if _, err := f.eng.Book(anon, booking.BookInput{AppointmentID: h.Appointment.ID, HoldToken: "forged",
		Guest: &booking.Guest{Name: "Jo", Email: "jo@example.com", Phone: "+61412345678"}}); err == nil {
		t.Fatal("booked with a forged hold token")
	}
	b, err := f.eng.Book(anon, booking.BookInput{AppointmentID: h.Appointment.ID, HoldToken: h.Token,
		Guest: &booking.Guest{Name: "Jo", Email: "Jo@Example.com", Phone: "+61 412 345 678"}})
	if err != nil {
		t.Fatal(err)
	}
	if b.ManageToken == "" || b.Appointment.GuestEmail != "jo@example.com" || b.Appointment.State != appointment.StateCONFIRMED {
		t.Fatalf("guest booking: %+v", b)
	}
	id := b.Appointment.ID
	// Without the manage token the appointment does not exist.
	if _, err := f.eng.Cancel(anon, booking.ChangeInput{AppointmentID: id}); !errors.Is(err, booking.ErrAppointmentNotFound) {
		t.Errorf("cancel without token: %v", err)
	}
	moved, err := f.eng.Reschedule(anon, booking.RescheduleInput{ChangeInput: booking.ChangeInput{AppointmentID: id, Token: b.ManageToken},
		Start: f.at("2026-05-10 09:30")})
	if err != nil {
		t.Fatalf("reschedule into an overlapping later time: %v", err)
	}
	if !moved.StartAt.Equal(f.at("2026-05-10 09:30")) {
		t.Errorf("moved to %s", moved.StartAt)
	}
	// The old time is free again, the new one taken.
	if _, err := f.hold(patient(3), f.free, f.at("2026-05-10 09:00")); err != nil {
		t.Errorf("old time: %v", err)
	}
	// Inside the 24 h cut-off a guest can neither reschedule nor cancel; staff can.
	f.setNow("2026-05-09T12:00:00Z")
	_, err = f.eng.Cancel(anon, booking.ChangeInput{AppointmentID: id, Token: b.ManageToken})
	if code := userCode(t, err); code != errcode.TooLate {
		t.Errorf("late cancel: %s", code)
	}
	if _, err := f.eng.Cancel(f.staff, booking.ChangeInput{AppointmentID: id, Reason: "clinic closed"}); err != nil {
		t.Fatalf("staff cancel: %v", err)
	}
	var hist []string
	for _, h := range f.db.Client.AppointmentStateChange.Query().Where(appointmentstatechange.AppointmentID(id)).
		Order(ent.Asc(appointmentstatechange.FieldCreatedAt), ent.Asc(appointmentstatechange.FieldID)).AllX(context.Background()) {
		hist = append(hist, h.FromState+"→"+h.ToState+" "+h.Reason)
	}
	want := []string{"→HELD held", "HELD→CONFIRMED booked", "CONFIRMED→CONFIRMED rescheduled from 2026-05-09T23:00:00Z", "CONFIRMED→CANCELLED clinic closed"}
	if diff := cmp.Diff(want, hist); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if n := f.db.Client.SlotClaim.Query().CountX(context.Background()); n != 6 {
		t.Errorf("%d claims, want only patient 3's hold", n)
	}
}

func TestStaffMarksAndEligibility(t *testing.T) {
	f := newFixture(t, database.Options{})
	ctx := context.Background()
	f.db.Client.Service.UpdateOne(f.free).SetRequiresServiceID(f.paid.ID).SetEligibilityScope("SAME_PRACTITIONER").ExecX(ctx)
	p := patient(1)
	_, err := f.hold(p, f.free, f.at("2026-05-04 09:00"))
	if code := userCode(t, err); code != errcode.NotEligible {
		t.Fatalf("follow-up without initial: %s", code)
	}
	// Staff may book inside the one-hour minimum notice, for the patient.
	f.setNow("2026-05-03T23:30:00Z") // 09:30 in Sydney
	h, err := f.eng.HoldSlot(f.staff, booking.HoldInput{ServiceID: f.paid.ID, PractitionerID: f.prac.ID, Start: f.at("2026-05-04 10:00")})
	if err != nil {
		t.Fatalf("staff hold inside notice: %v", err)
	}
	pid := gid.ID("usr_01JD6Q7ZK3M4X9V2S8T5R1W001")
	b, err := f.eng.Book(f.staff, booking.BookInput{AppointmentID: h.Appointment.ID, PatientID: &pid})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.eng.PaymentSucceeded(identity.SystemContext(ctx), *b.Appointment.PaymentIntentID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Mark(f.staff, b.Appointment.ID, appointment.StateCOMPLETED); userCode(t, err) != errcode.Conflict {
		t.Error("marked completed before the start")
	}
	f.setNow("2026-05-04T01:00:00Z")
	if _, err := f.eng.Mark(p, b.Appointment.ID, appointment.StateCOMPLETED); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("patient marked: %v", err)
	}
	a, err := f.eng.Mark(f.staff, b.Appointment.ID, appointment.StateCOMPLETED)
	if err != nil || a.State != appointment.StateCOMPLETED {
		t.Fatalf("mark: %v", err)
	}
	if _, err := f.eng.Mark(f.staff, b.Appointment.ID, appointment.StateNO_SHOW); userCode(t, err) != errcode.Conflict {
		t.Error("COMPLETED became NO_SHOW")
	}
	// Now the follow-up is allowed.
	if _, err := f.hold(p, f.free, f.at("2026-05-05 09:00")); err != nil {
		t.Errorf("follow-up after initial: %v", err)
	}
}

func TestIntakeVersions(t *testing.T) {
	f := newFixture(t, database.Options{})
	ctx := context.Background()
	yes := true
	v1, err := f.eng.CreateFormVersion(f.staff, booking.FormInput{Key: "new-patient", Title: "New patient", Fields: []intake.Field{
		{Key: "reason", Label: "Reason for visit", Type: intake.ShortText, Required: true},
		{Key: "consent", Label: "Consent", Type: intake.Consent, Required: true, ConsentText: "I agree to treatment."},
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.db.Client.Service.UpdateOne(f.free).SetIntakeFormKey("new-patient").SetIntakeRequired(true).ExecX(ctx)
	f.free = f.db.Client.Service.GetX(ctx, f.free.ID)
	p := patient(1)
	a := f.bookFree(p, f.at("2026-05-04 09:00"))
	_, err = f.eng.SubmitIntake(p, booking.SubmitInput{ChangeInput: booking.ChangeInput{AppointmentID: a.ID},
		Answers: []intake.Answer{{Key: "consent", Bool: &yes}}})
	if code := userCode(t, err); code != errcode.Required {
		t.Errorf("missing reason: %s", code)
	}
	sub, err := f.eng.SubmitIntake(p, booking.SubmitInput{ChangeInput: booking.ChangeInput{AppointmentID: a.ID},
		Answers: []intake.Answer{{Key: "reason", Text: "back pain"}, {Key: "consent", Bool: &yes}}})
	if err != nil {
		t.Fatal(err)
	}
	if sub.FormID != v1.ID || sub.Answers[1].ConsentText != "I agree to treatment." {
		t.Errorf("submission: %+v", sub)
	}
	v2, err := f.eng.CreateFormVersion(f.staff, booking.FormInput{Key: "new-patient", Title: "New patient", Fields: []intake.Field{
		{Key: "reason", Label: "Reason", Type: intake.LongText, Required: true},
		{Key: "dob", Label: "Date of birth", Type: intake.Date, Required: true},
	}})
	if err != nil || v2.Version != 2 {
		t.Fatalf("v2: %v", err)
	}
	// An edit keeps version 1 (no date of birth asked).
	sub, err = f.eng.SubmitIntake(p, booking.SubmitInput{ChangeInput: booking.ChangeInput{AppointmentID: a.ID},
		Answers: []intake.Answer{{Key: "reason", Text: "neck pain"}, {Key: "consent", Bool: &yes}}})
	if err != nil || sub.FormID != v1.ID {
		t.Fatalf("edit: %v", err)
	}
	// Readers: the patient and staff with ViewIntake; not another patient.
	if got, err := f.eng.Intake(p, a.ID, ""); err != nil || got.Answers[0].Text != "neck pain" {
		t.Errorf("patient read: %v", err)
	}
	if _, err := f.eng.Intake(f.staff, a.ID, ""); err != nil {
		t.Errorf("staff read: %v", err)
	}
	if _, err := f.eng.Intake(patient(2), a.ID, ""); !errors.Is(err, booking.ErrAppointmentNotFound) {
		t.Errorf("other patient read: %v", err)
	}
	// After the start, the patient can no longer edit.
	f.setNow("2026-05-03T23:05:00Z")
	_, err = f.eng.SubmitIntake(p, booking.SubmitInput{ChangeInput: booking.ChangeInput{AppointmentID: a.ID},
		Answers: []intake.Answer{{Key: "reason", Text: "x"}, {Key: "consent", Bool: &yes}}})
	if code := userCode(t, err); code != errcode.TooLate {
		t.Errorf("edit after start: %s", code)
	}
}

// TestHoldIdempotencyKeyIsTrimmed: a retry whose key differs only by
// surrounding spaces returns the same hold on both databases (MariaDB
// compares "k " and "k" as equal, SQLite does not; the key is trimmed).
func TestHoldIdempotencyKeyIsTrimmed(t *testing.T) {
	f := newFixture(t, database.Options{})
	p := patient(7)
	in := booking.HoldInput{ServiceID: f.free.ID, PractitionerID: f.prac.ID, Start: f.at("2026-05-04 10:00"), IdempotencyKey: "hold-k"}
	first, err := f.eng.HoldSlot(p, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"hold-k ", " hold-k", "hold-k\t"} {
		in.IdempotencyKey = key
		again, err := f.eng.HoldSlot(p, in)
		if err != nil || again.Appointment.ID != first.Appointment.ID {
			t.Fatalf("retry with %q: %v, %v; want the hold %s", key, again, err, first.Appointment.ID)
		}
	}
	if n := f.db.Client.Appointment.Query().CountX(context.Background()); n != 1 {
		t.Fatalf("%d appointments; want 1", n)
	}
}
