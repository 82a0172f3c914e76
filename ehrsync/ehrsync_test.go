package ehrsync

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"frontdesk/booking"
	"frontdesk/booking/intake"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/ehrmapping"
	"frontdesk/ent/job"
	"frontdesk/identity"
	"frontdesk/integrations/ehr"
	"frontdesk/integrations/ehr/ehrtest"
	"frontdesk/internal/testenv"
	"frontdesk/outbox"
)

type fixture struct {
	t      *testing.T
	db     *database.DB
	sync   *Sync
	eng    *booking.Engine
	now    time.Time
	sydney *time.Location
	prac   *ent.Practitioner
	svc    *ent.Service
	admin  context.Context
}

func newFixture(t *testing.T, e ehr.EHR) *fixture {
	f := &fixture{t: t, db: testenv.DB(t, database.Options{}), now: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
	f.sydney, _ = time.LoadLocation("Australia/Sydney")
	f.sync = New(f.db.Client, e, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.sync.Now = func() time.Time { return f.now }
	f.eng = booking.New(f.db.Client, booking.Options{ManageKey: []byte("k"), Now: func() time.Time { return f.now }, Changes: booking.Sinks{f.sync}})
	f.admin = identity.WithViewer(context.Background(), &identity.Viewer{UserID: "usr_01JD6Q7ZK3M4X9V2S8T5R1W0PC", Role: identity.RoleAdmin})
	ctx := context.Background()
	c := f.db.Client
	f.prac = c.Practitioner.Create().SetName("Dr Ada").SetTimeZone("Australia/Sydney").SaveX(ctx)
	for d := 0; d < 7; d++ {
		c.WeeklyHours.Create().SetPractitionerID(f.prac.ID).SetWeekday(d).SetStartMinute(9 * 60).SetEndMinute(17 * 60).ExecX(ctx)
	}
	c.IntakeForm.Create().SetKey("intake").SetVersion(1).SetTitle("Health history").
		SetFields([]intake.Field{{Key: "dob", Label: "Date of birth", Type: intake.FieldType("DATE"), Required: true},
			{Key: "concern", Label: "Main concern", Type: intake.FieldType("LONG_TEXT")}}).ExecX(ctx)
	f.svc = c.Service.Create().SetName("Follow-up").SetSlug("follow-up").SetDurationMinutes(30).SetIntakeFormKey("intake").
		SetSlotIntervalMinutes(30).AddPractitioners(f.prac).SaveX(ctx)
	for _, m := range []MappingInput{{ehrmapping.KindPRACTITIONER, f.prac.ID, "prov-7"}, {ehrmapping.KindSERVICE, f.svc.ID, "type-follow"}} {
		if _, err := f.sync.SetMapping(f.admin, m); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) runJobs() []error {
	f.t.Helper()
	ctx := identity.SystemContext(context.Background())
	handlers := map[string]outbox.Handler{KindAppointment: f.sync.runAppointment, KindNote: f.sync.runNote, KindIntakeScan: f.sync.runIntakeScan, KindPatient: f.sync.runPatient}
	var errs []error
	for range 50 {
		// Only the EHR kinds: the same changes also enqueue jobs of other
		// domains (mail, webhooks), which this fixture does not run.
		jobs := f.db.Client.Job.Query().Where(job.StateEQ(job.StatePENDING), job.KindIn(slices.Collect(maps.Keys(handlers))...)).Order(ent.Asc(job.FieldCreatedAt), ent.Asc(job.FieldID)).AllX(ctx)
		if len(jobs) == 0 {
			return errs
		}
		for _, j := range jobs {
			err := handlers[j.Kind](ctx, &outbox.Running{ID: j.ID, Kind: j.Kind, Payload: j.Payload, IdempotencyKey: j.IdempotencyKey, Attempt: 1})
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

func (f *fixture) book(local string) *booking.Booking {
	f.t.Helper()
	ctx := context.Background()
	start, _ := time.ParseInLocation("2006-01-02 15:04", local, f.sydney)
	h, err := f.eng.HoldSlot(ctx, booking.HoldInput{ServiceID: f.svc.ID, PractitionerID: f.prac.ID, Start: start})
	if err != nil {
		f.t.Fatal(err)
	}
	b, err := f.eng.Book(ctx, booking.BookInput{AppointmentID: h.Appointment.ID, HoldToken: h.Token,
		Guest:   &booking.Guest{Name: "Jo Anne Patient", Email: "Jo@Example.com", Phone: "+61412345678"},
		Answers: []intake.Answer{{Key: "dob", Text: "1980-02-03"}, {Key: "concern", Text: "sore knee"}}})
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func TestMediRecordsPatientAndAppointmentNeverDuplicated(t *testing.T) {
	mr := ehrtest.NewMediRecords(t, "prac-1")
	f := newFixture(t, ehr.NewMediRecords(mr.URL, ehrtest.Token, "prac-1", mustZone(t, "Australia/Perth"), nil))
	ctx := context.Background()
	// The same person already exists in the EHR, entered by reception.
	mr.Patients["pat-0"] = ehr.MRPatient{ID: "pat-0", PracticeID: "prac-1", FirstName: "Jo Anne", LastName: "Patient", DateOfBirth: "1980-02-03", MobilePhone: "0412 345 678"}
	// A namesake with another birth date and contact is someone else.
	mr.Patients["pat-x"] = ehr.MRPatient{ID: "pat-x", PracticeID: "prac-1", FirstName: "Jo Anne", LastName: "Patient", DateOfBirth: "1990-01-01"}

	mr.FailNext = 1
	b := f.book("2026-05-04 10:00")
	if errs := f.runJobs(); len(errs) != 1 || !ehr.Retryable(errs[0]) {
		t.Fatalf("first attempt: %v, want one retryable error", errs)
	}
	run := func() {
		t.Helper()
		err := f.sync.runAppointment(ctx, &outbox.Running{Kind: KindAppointment, Payload: []byte(`{"appointmentId":"` + b.Appointment.ID.String() + `"}`)})
		if err != nil {
			t.Fatal(err)
		}
	}
	run()
	// A worker that died before recording what it created: the retry
	// finds the patient and the appointment instead of creating them again.
	f.db.Client.EHRRecord.Delete().ExecX(ctx)
	run()
	run()
	if p, a := mr.Counts(); p != 2 || a != 1 {
		t.Fatalf("patients %d appointments %d, want 2 (no new one) and 1", p, a)
	}
	var got ehr.MRAppointment
	for _, a := range mr.Appointments {
		got = a
	}
	// 10:00 in Sydney (AEST) is 08:00 in Perth, the practice's zone.
	if got.PatientID != "pat-0" || got.ProviderID != "prov-7" || got.AppointmentTypeID != "type-follow" || got.ScheduleTime != "2026-05-04T08:00:00" || got.Duration != 30 {
		t.Fatalf("appointment %+v", got)
	}

	if _, err := f.eng.Reschedule(ctx, booking.RescheduleInput{ChangeInput: booking.ChangeInput{AppointmentID: b.Appointment.ID, Token: b.ManageToken}, Start: b.Appointment.StartAt.Add(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.runJobs()
	if a := mr.Appointments[got.ID]; a.ScheduleTime != "2026-05-04T11:00:00" {
		t.Fatalf("after reschedule: %+v", a)
	}

	if err := f.sync.runIntakeScan(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.sync.runIntakeScan(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(mr.Notes) != 1 || mr.Notes[0].PatientID != "pat-0" || mr.Notes[0].Text != "Date of birth: 1980-02-03\nMain concern: sore knee\n" {
		t.Fatalf("notes %+v", mr.Notes)
	}

	if _, err := f.eng.Cancel(ctx, booking.ChangeInput{AppointmentID: b.Appointment.ID, Token: b.ManageToken, Reason: "better"}); err != nil {
		t.Fatal(err)
	}
	f.runJobs()
	if a := mr.Appointments[got.ID]; a.Status != ehr.MRStatusCancelled {
		t.Fatalf("after cancel: %+v", a)
	}
}

func TestFHIRConditionalCreatesNeverDuplicate(t *testing.T) {
	fh := ehrtest.NewFHIR(t)
	f := newFixture(t, ehr.NewFHIR(fh.URL, ehrtest.Token, nil))
	ctx := context.Background()
	b := f.book("2026-05-04 10:00")
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	f.db.Client.EHRRecord.Delete().ExecX(ctx)
	if err := f.sync.runAppointment(ctx, &outbox.Running{Payload: []byte(`{"appointmentId":"` + b.Appointment.ID.String() + `"}`)}); err != nil {
		t.Fatal(err)
	}
	if fh.Count("Patient") != 1 || fh.Count("Appointment") != 1 {
		t.Fatalf("patients %d appointments %d, want 1 and 1", fh.Count("Patient"), fh.Count("Appointment"))
	}
	var a ehr.FHIRAppointment
	if err := fh.Get("Appointment", "2", &a); err != nil {
		t.Fatal(err)
	}
	if a.Status != "booked" || a.Start != "2026-05-04T00:00:00Z" || len(a.Participant) != 2 || a.Participant[0].Actor.Reference != "Patient/1" || a.Participant[1].Actor.Reference != "Practitioner/prov-7" {
		t.Fatalf("appointment %+v", a)
	}
	if _, err := f.eng.Cancel(ctx, booking.ChangeInput{AppointmentID: b.Appointment.ID, Token: b.ManageToken, Reason: "better"}); err != nil {
		t.Fatal(err)
	}
	f.runJobs()
	if err := fh.Get("Appointment", "2", &a); err != nil || a.Status != "cancelled" || a.CancelationReason == nil {
		t.Fatalf("after cancel: %+v %v", a, err)
	}
}

func TestMappingsNeedAdmin(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.sync.SetMapping(context.Background(), MappingInput{ehrmapping.KindSERVICE, f.svc.ID, "x"}); err == nil {
		t.Fatal("anonymous viewer set a mapping")
	}
	if _, err := f.sync.SetMapping(f.admin, MappingInput{ehrmapping.KindSERVICE, "svc_nope", "x"}); err == nil {
		t.Fatal("mapping of an unknown service accepted")
	}
	ms, err := f.sync.Mappings(f.admin)
	if err != nil || len(ms) != 2 || ms[0].Kind != ehrmapping.KindSERVICE {
		t.Fatalf("mappings %+v %v", ms, err)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
