package app_test

import (
	"context"
	"testing"
	"time"

	"frontdesk/ent/appointment"
	"frontdesk/gid"
)

// TestPractitionerStaffPowersOwnCalendarOnly: through the assembled
// server, a signed-in PRACTITIONER may hold inside the minimum notice and
// book for a patient on their own calendar; on another practitioner's the
// notice applies (SLOT_UNAVAILABLE) and booking for a patient is
// FORBIDDEN, leaving the hold as it was. Staff keep both on every
// calendar.
func TestPractitionerStaffPowersOwnCalendarOnly(t *testing.T) {
	s := start(t, nil)
	ctx := context.Background()
	c := s.app.DB.Client
	a := s.signUp(t, "alpha@clinic.example", "PRACTITIONER")
	b := s.signUp(t, "beta@clinic.example", "PRACTITIONER")
	staff := s.signUp(t, "desk@clinic.example", "STAFF")
	pat := s.signUp(t, "pat@example.com", "")
	pracA := c.Practitioner.Create().SetName("Dr Alpha").SetTimeZone("Australia/Sydney").SetStaffUserID(a.id).SaveX(ctx)
	pracB := c.Practitioner.Create().SetName("Dr Beta").SetTimeZone("Australia/Sydney").SetStaffUserID(b.id).SaveX(ctx)
	for _, p := range []gid.ID{pracA.ID, pracB.ID} {
		for d := range 7 {
			c.WeeklyHours.Create().SetPractitionerID(p).SetWeekday(d).SetStartMinute(9 * 60).SetEndMinute(17 * 60).ExecX(ctx)
		}
	}
	// A week's notice: tomorrow is inside it, in ten days outside.
	svc := c.Service.Create().SetName("Follow-up").SetSlug("follow-up").SetDurationMinutes(30).SetSlotIntervalMinutes(30).
		SetMinNoticeMinutes(7*24*60).AddPractitioners(pracA, pracB).SaveX(ctx)
	sydney, _ := time.LoadLocation("Australia/Sydney")
	day := func(days, hour int) string {
		d := time.Now().In(sydney).AddDate(0, 0, days)
		return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, sydney).Format(time.RFC3339)
	}
	const hold = `mutation($in: HoldSlotInput!) { holdSlot(input: $in) { appointment { id state } userErrors { code } } }`
	const book = `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { appointment { id state } userErrors { code } } }`
	holdAs := func(token string, prac gid.ID, start string) gqlResponse {
		return s.gqlAs(t, hold, map[string]any{"in": map[string]any{"serviceId": svc.ID, "practitionerId": prac, "start": start}}, bearer(token)...)
	}

	// Inside the notice: Dr Alpha on Dr Beta's calendar is refused,
	// nothing is held; on her own and for staff it is allowed.
	r := holdAs(a.token, pracB.ID, day(1, 10))
	if codes := field(r, "holdSlot.userErrors").([]any); len(codes) != 1 || codes[0].(map[string]any)["code"] != "SLOT_UNAVAILABLE" {
		t.Fatalf("Alpha inside the notice on Beta's calendar: %v %+v", r.Data, r.Errors)
	}
	if n := c.Appointment.Query().CountX(ctx); n != 0 {
		t.Fatalf("%d appointments after the refusal", n)
	}
	own := field(s.ok(t, hold, map[string]any{"in": map[string]any{"serviceId": svc.ID, "practitionerId": pracA.ID, "start": day(1, 10)}},
		bearer(a.token)...), "holdSlot.appointment.id")
	if own == nil {
		t.Fatal("Alpha inside the notice on her own calendar: no hold")
	}
	if field(s.ok(t, hold, map[string]any{"in": map[string]any{"serviceId": svc.ID, "practitionerId": pracB.ID, "start": day(1, 11)}},
		bearer(staff.token)...), "holdSlot.appointment.id") == nil {
		t.Fatal("staff inside the notice on Beta's calendar: no hold")
	}

	// Booking for a patient: FORBIDDEN on Beta's calendar (the hold,
	// made outside the notice, stays HELD without a patient), allowed on
	// her own.
	theirs := field(s.ok(t, hold, map[string]any{"in": map[string]any{"serviceId": svc.ID, "practitionerId": pracB.ID, "start": day(10, 10)}},
		bearer(a.token)...), "holdSlot.appointment.id")
	if theirs == nil {
		t.Fatal("Alpha outside the notice on Beta's calendar: no hold")
	}
	wantCode(t, s.gqlAs(t, book, map[string]any{"in": map[string]any{"appointmentId": theirs, "patientId": pat.id}}, bearer(a.token)...), "FORBIDDEN")
	if got := c.Appointment.GetX(ctx, gid.ID(theirs.(string))); got.State != appointment.StateHELD || got.PatientID != nil {
		t.Fatalf("after FORBIDDEN: %s, patient %v", got.State, got.PatientID)
	}
	r = s.ok(t, book, map[string]any{"in": map[string]any{"appointmentId": own, "patientId": pat.id}}, bearer(a.token)...)
	if field(r, "bookAppointment.appointment.state") != "CONFIRMED" {
		t.Fatalf("Alpha books her own hold for a patient: %v", r.Data)
	}
	if got := c.Appointment.GetX(ctx, gid.ID(own.(string))); got.PatientID == nil || *got.PatientID != pat.id {
		t.Fatalf("booked for %v, want %s", got.PatientID, pat.id)
	}
}
