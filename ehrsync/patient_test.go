package ehrsync

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"frontdesk/booking"
	"frontdesk/booking/intake"
	"frontdesk/cache"
	"frontdesk/ent"
	"frontdesk/ent/ehrmapping"
	"frontdesk/ent/job"
	"frontdesk/identity"
	"frontdesk/integrations/ehr"
	"frontdesk/integrations/ehr/ehrtest"
	"frontdesk/outbox"
)

type nopMailer struct{}

func (nopMailer) Send(context.Context, identity.Message) error { return nil }

// patientFixture is a fixture with accounts that can change their profile.
type patientFixture struct {
	*fixture
	ids *identity.Service
}

func newPatientFixture(t *testing.T, e ehr.EHR) *patientFixture {
	f := newFixture(t, e)
	ids, err := identity.New(f.db.Client, cache.NewMemory(), nopMailer{}, slog.New(slog.NewTextHandler(io.Discard, nil)), identity.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids.OnProfileChange(f.sync)
	return &patientFixture{fixture: f, ids: ids}
}

// account creates a customer and returns it signed in.
func (f *patientFixture) account(email string) (*ent.User, context.Context) {
	u := f.db.Client.User.Create().SetEmail(email).SetName("Jo Anne Patient").SetPhone("+61412345678").SaveX(context.Background())
	return u, identity.WithViewer(context.Background(), &identity.Viewer{UserID: u.ID, Role: identity.RoleCustomer})
}

// bookAs books a slot as the signed-in viewer with a date of birth.
func (f *patientFixture) bookAs(ctx context.Context, local, dob string) *booking.Booking {
	f.t.Helper()
	start, _ := time.ParseInLocation("2006-01-02 15:04", local, f.sydney)
	h, err := f.eng.HoldSlot(ctx, booking.HoldInput{ServiceID: f.svc.ID, PractitionerID: f.prac.ID, Start: start})
	if err != nil {
		f.t.Fatal(err)
	}
	b, err := f.eng.Book(ctx, booking.BookInput{AppointmentID: h.Appointment.ID, Answers: []intake.Answer{{Key: "dob", Text: dob}}})
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *patientFixture) update(ctx context.Context, name, email, phone string) {
	f.t.Helper()
	if _, err := f.ids.UpdateProfile(ctx, identity.ProfileInput{Name: &name, Email: &email, Phone: &phone}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *patientFixture) pendingPatientJobs() int {
	return f.db.Client.Job.Query().Where(job.Kind(KindPatient), job.StateEQ(job.StatePENDING)).CountX(context.Background())
}

func TestProfileChangeUpdatesMediRecordsPatient(t *testing.T) {
	mr := ehrtest.NewMediRecords(t, "prac-1")
	f := newPatientFixture(t, ehr.NewMediRecords(mr.URL, ehrtest.Token, "prac-1", mustZone(t, "Australia/Sydney"), nil))
	_, me := f.account("jo@example.com")
	f.bookAs(me, "2026-05-04 10:00", "1980-02-03")
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if p, _ := mr.Counts(); p != 1 || len(mr.Updates()) != 0 {
		t.Fatalf("after booking: %d patients, updates %+v; want 1 created and no update", p, mr.Updates())
	}

	f.update(me, "Joanne Smith", "joanne@example.com", "+61400000001")
	if n := f.pendingPatientJobs(); n != 1 {
		t.Fatalf("%d patient jobs queued by the profile change, want 1", n)
	}
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	want := []ehr.MRPatient{{ID: "pat-1", FirstName: "Joanne", LastName: "Smith", DateOfBirth: "1980-02-03", Email: "joanne@example.com", MobilePhone: "+61400000001"}}
	if d := cmp.Diff(want, mr.Updates()); d != "" {
		t.Fatalf("PATCH bodies (-want +got):\n%s", d)
	}
	if p := mr.Patients["pat-1"]; p.FirstName != "Joanne" || p.Email != "joanne@example.com" || p.PracticeID != "prac-1" {
		t.Fatalf("patient in the EHR %+v", p)
	}

	// A burst of changes: one job each, one write of the last profile.
	for _, name := range []string{"Joanne A Smith", "Joanne B Smith", "Joanne C Smith"} {
		f.update(me, name, "joanne@example.com", "+61400000002")
	}
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	got := mr.Updates()
	if len(got) != 2 || got[1].FirstName != "Joanne C" || got[1].MobilePhone != "+61400000002" {
		t.Fatalf("after the burst: %+v, want one more PATCH with the last profile", got)
	}

	// Saving the same profile again queues nothing and sends nothing.
	f.update(me, "Joanne C Smith", "joanne@example.com", "+61400000002")
	if n := f.pendingPatientJobs(); n != 0 {
		t.Fatalf("unchanged profile queued %d jobs", n)
	}

	// A failure is retried, waiting as long as Retry-After asks.
	mr.FailNext, mr.RetryAfter = 1, "120"
	f.update(me, "Joanne Smith", "joanne@example.com", "+61400000002")
	errs := f.runJobs()
	var ee *ehr.Error
	if len(errs) != 1 || outbox.IsPermanent(errs[0]) || !errors.As(errs[0], &ee) || ee.RetryDelay() != 2*time.Minute {
		t.Fatalf("failed attempt: %v, want one retryable error asking for 2m", errs)
	}
	f.db.Client.Job.Update().Where(job.Kind(KindPatient), job.StateEQ(job.StateDEAD)).SetState(job.StatePENDING).ExecX(context.Background())
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := mr.Updates(); len(got) != 3 || got[2].FirstName != "Joanne" {
		t.Fatalf("after the retry: %+v", got)
	}
}

func TestProfileChangeUpdatesFHIRPatientKeepingWhatTheEHRHolds(t *testing.T) {
	fh := ehrtest.NewFHIR(t)
	f := newPatientFixture(t, ehr.NewFHIR(fh.URL, ehrtest.Token, nil))
	_, me := f.account("jo@example.com")
	f.bookAs(me, "2026-05-04 10:00", "1980-02-03")
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	// Reception adds what Frontdesk does not know, and a second phone.
	var p map[string]any
	if err := fh.Get("Patient", "1", &p); err != nil {
		t.Fatal(err)
	}
	p["gender"] = "female"
	p["telecom"] = append(p["telecom"].([]any), map[string]any{"system": "phone", "use": "home", "value": "+61298765432"})
	if err := fh.Put("Patient", "1", p); err != nil {
		t.Fatal(err)
	}

	f.update(me, "Joanne Smith", "joanne@example.com", "+61400000001")
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if d := cmp.Diff([]string{"Patient/1"}, fh.Updated()); d != "" {
		t.Fatalf("updates (-want +got):\n%s", d)
	}
	var got map[string]any
	if err := fh.Get("Patient", "1", &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"resourceType": "Patient", "id": "1", "meta": map[string]any{"versionId": "3"}, "gender": "female", "birthDate": "1980-02-03",
		"identifier": []any{map[string]any{"system": ehr.PatientSystem, "value": string(identity.ViewerFrom(me).UserID)}},
		"name":       []any{map[string]any{"family": "Smith", "given": []any{"Joanne"}}},
		"telecom": []any{
			map[string]any{"system": "email", "value": "joanne@example.com"},
			map[string]any{"system": "phone", "value": "+61400000001"},
			map[string]any{"system": "phone", "use": "home", "value": "+61298765432"},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("patient (-want +got):\n%s", d)
	}
}

// A version conflict (the EHR's copy edited between the read and the
// write) is read again and written over the newer version.
func TestFHIRUpdatePatientRereadsOnVersionConflict(t *testing.T) {
	fh := ehrtest.NewFHIR(t)
	c := ehr.NewFHIR(fh.URL, ehrtest.Token, nil)
	id, err := c.FindOrCreatePatient(context.Background(), ehr.Patient{Identifier: "usr_1", GivenName: "Jo", FamilyName: "Doe"})
	if err != nil {
		t.Fatal(err)
	}
	edits := 0
	c = ehr.NewFHIR(fh.URL, ehrtest.Token, &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPut && edits == 0 {
			edits++
			var p map[string]any
			if err := fh.Get("Patient", id, &p); err != nil {
				return nil, err
			}
			p["gender"] = "other"
			if err := fh.Put("Patient", id, p); err != nil {
				return nil, err
			}
		}
		return http.DefaultTransport.RoundTrip(r)
	})})
	if err := c.UpdatePatient(context.Background(), id, ehr.Patient{Identifier: "usr_1", GivenName: "Joe", FamilyName: "Doe"}); err != nil {
		t.Fatal(err)
	}
	var p struct {
		Gender string          `json:"gender"`
		Name   []ehr.HumanName `json:"name"`
	}
	if err := fh.Get("Patient", id, &p); err != nil {
		t.Fatal(err)
	}
	if p.Gender != "other" || p.Name[0].Given[0] != "Joe" || len(fh.Updated()) != 1 || edits != 1 {
		t.Fatalf("patient %+v after %v, want the EHR's edit kept and the new name", p, fh.Updated())
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestUnlinkedPatientSendsNothing(t *testing.T) {
	mr := ehrtest.NewMediRecords(t, "prac-1")
	f := newPatientFixture(t, ehr.NewMediRecords(mr.URL, ehrtest.Token, "prac-1", mustZone(t, "Australia/Sydney"), nil))

	// A shop customer who never booked: nothing is queued.
	_, shopper := f.account("shopper@example.com")
	f.update(shopper, "Sam Shopper", "sam@example.com", "+61400000009")
	if n := f.pendingPatientJobs(); n != 0 {
		t.Fatalf("%d patient jobs for an account that never booked", n)
	}

	// A patient whose appointment could not reach the EHR yet (no
	// provider mapped): the job runs and sends nothing.
	ms, err := f.sync.Mappings(f.admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Kind == ehrmapping.KindPRACTITIONER {
			if err := f.sync.DeleteMapping(f.admin, m.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, me := f.account("jo@example.com")
	f.bookAs(me, "2026-05-04 10:00", "1980-02-03")
	f.update(me, "Joanne Smith", "joanne@example.com", "+61400000001")
	errs := f.runJobs()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "no EHR provider") {
		t.Fatalf("errors %v, want only the appointment's missing mapping", errs)
	}
	if p, _ := mr.Counts(); p != 0 || len(mr.Updates()) != 0 {
		t.Fatalf("EHR got %d patients and updates %+v, want nothing", p, mr.Updates())
	}
}

// A returning guest's booking carries their new name and phone.
func TestReturningGuestDetailsReachTheEHR(t *testing.T) {
	mr := ehrtest.NewMediRecords(t, "prac-1")
	f := newPatientFixture(t, ehr.NewMediRecords(mr.URL, ehrtest.Token, "prac-1", mustZone(t, "Australia/Sydney"), nil))
	f.book("2026-05-04 10:00")
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	start, _ := time.ParseInLocation("2006-01-02 15:04", "2026-05-05 10:00", f.sydney)
	h, err := f.eng.HoldSlot(context.Background(), booking.HoldInput{ServiceID: f.svc.ID, PractitionerID: f.prac.ID, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Book(context.Background(), booking.BookInput{AppointmentID: h.Appointment.ID, HoldToken: h.Token,
		Guest:   &booking.Guest{Name: "Jo Smith", Email: "jo@example.com", Phone: "+61499999999"},
		Answers: []intake.Answer{{Key: "dob", Text: "1980-02-04"}}}); err != nil {
		t.Fatal(err)
	}
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	want := []ehr.MRPatient{{ID: "pat-1", FirstName: "Jo", LastName: "Smith", DateOfBirth: "1980-02-04", Email: "jo@example.com", MobilePhone: "+61499999999"}}
	if d := cmp.Diff(want, mr.Updates()); d != "" {
		t.Fatalf("PATCH bodies (-want +got):\n%s", d)
	}
	if p, a := mr.Counts(); p != 1 || a != 2 {
		t.Fatalf("%d patients %d appointments, want 1 and 2", p, a)
	}
}

// racingEHR runs another job's whole update inside the first one's
// write, the way two workers interleave.
type racingEHR struct {
	ehr.EHR
	during func()
}

func (r *racingEHR) UpdatePatient(ctx context.Context, id string, p ehr.Patient) error {
	if d := r.during; d != nil {
		r.during = nil
		d()
	}
	return r.EHR.UpdatePatient(ctx, id, p)
}

// Two jobs race: the first reads profile A, the second (profile B)
// finishes while the first's write is in flight, and the first's write of
// A lands last. The first job must notice the digest moved and send the
// latest profile again, so the EHR ends on B.
func TestRacingPatientJobsEndOnTheLatestProfile(t *testing.T) {
	mr := ehrtest.NewMediRecords(t, "prac-1")
	race := &racingEHR{EHR: ehr.NewMediRecords(mr.URL, ehrtest.Token, "prac-1", mustZone(t, "Australia/Sydney"), nil)}
	f := newPatientFixture(t, race)
	_, me := f.account("jo@example.com")
	f.bookAs(me, "2026-05-04 10:00", "1980-02-03")
	if errs := f.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	f.update(me, "Profile A", "jo@example.com", "+61412345678")
	key := string(identity.ViewerFrom(me).UserID)
	race.during = func() {
		f.update(me, "Profile B", "jo@example.com", "+61412345678")
		if err := f.sync.pushPatient(context.Background(), key, false); err != nil {
			t.Error(err)
		}
	}
	// The second job's write of B reaches the EHR before the first's A.
	if err := f.sync.pushPatient(context.Background(), key, false); err != nil {
		t.Fatal(err)
	}
	if got := mr.Patients["pat-1"]; got.FirstName != "Profile" || got.LastName != "B" {
		t.Fatalf("EHR ends on %+v, want profile B", got)
	}
}
