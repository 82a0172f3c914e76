package app_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"frontdesk/ent/appointment"
)

// opStaffAppointments is the staff search exactly as docs/booking.md shows
// it, with staffSearchVars as its variables.
const opStaffAppointments = `query StaffAppointments($filter: AppointmentFilter, $after: Cursor) {
  appointments(filter: $filter, orderBy: {field: START_AT, direction: ASC}, first: 20, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id state startAt patientName guestEmail
      service { name } practitioner { name } } }
  }
}`

const staffSearchVars = `{"filter": {"patient": "citizen", "states": ["CONFIRMED", "PENDING_PAYMENT"], "startFrom": "2027-04-01T00:00:00+11:00", "startTo": "2027-05-01T00:00:00+10:00", "intakeStatus": "UNANSWERED"}}`

// Staff find a guest's appointment with the search as the guide shows it,
// through the assembled server (so the booking loaders are wired), and
// fetch it with node(id:). A customer and the anonymous caller are
// refused; node(id:) tells the customer it does not exist.
func TestStaffAppointmentSearchEndToEnd(t *testing.T) {
	s := start(t, nil)
	ctx := context.Background()
	c := s.app.DB.Client
	staff := s.signUp(t, "desk@example.com", "STAFF")
	pat := s.signUp(t, "pat@example.com", "")
	prac := c.Practitioner.Create().SetName("Dr Ada").SetTimeZone("Australia/Sydney").SaveX(ctx)
	c.IntakeForm.Create().SetKey("initial").SetVersion(1).SetTitle("Before your visit").SetFields(nil).ExecX(ctx)
	svc := c.Service.Create().SetName("Initial consultation").SetSlug("initial").SetDurationMinutes(60).
		SetSlotIntervalMinutes(30).SetIntakeFormKey("initial").AddPractitioners(prac).SaveX(ctx)
	// Jo's confirmed appointment (intake not answered yet), the same
	// guest's cancelled one and another patient's: only the first matches.
	sydney, _ := time.LoadLocation("Australia/Sydney")
	slot := time.Date(2027, 4, 12, 10, 0, 0, 0, sydney)
	add := func(start time.Time, state appointment.State, name, email string) string {
		return string(c.Appointment.Create().SetServiceID(svc.ID).SetPractitionerID(prac.ID).SetStartAt(start).SetEndAt(start.Add(time.Hour)).
			SetBlockedStart(start).SetBlockedEnd(start.Add(time.Hour)).SetState(state).
			SetGuestName(name).SetGuestEmail(email).SetGuestPhone("+61412345678").SaveX(ctx).ID)
	}
	id := add(slot, appointment.StateCONFIRMED, "Jo Citizen", "jo@example.com")
	add(slot.AddDate(0, 0, 1), appointment.StateCANCELLED, "Jo Citizen", "jo@example.com")
	add(slot.AddDate(0, 0, 2), appointment.StateCONFIRMED, "Kim Lee", "kim@example.com")

	vars := map[string]any{}
	if err := json.Unmarshal([]byte(staffSearchVars), &vars); err != nil {
		t.Fatal(err)
	}
	r := s.ok(t, opStaffAppointments, vars, bearer(staff.token)...)
	edges := field(r, "appointments.edges").([]any)
	if field(r, "appointments.totalCount") != float64(1) || len(edges) != 1 {
		t.Fatalf("search: %v", r.Data)
	}
	node := edges[0].(map[string]any)["node"].(map[string]any)
	if node["id"] != id || node["state"] != "CONFIRMED" || node["patientName"] != "Jo Citizen" ||
		node["service"].(map[string]any)["name"] != "Initial consultation" || node["practitioner"].(map[string]any)["name"] != "Dr Ada" {
		t.Fatalf("found: %v", node)
	}
	r = s.ok(t, `query($id: ID!) { node(id: $id) { ... on Appointment { id patientName } } }`, map[string]any{"id": id}, bearer(staff.token)...)
	if field(r, "node.patientName") != "Jo Citizen" {
		t.Fatalf("node: %v", r.Data)
	}
	wantCode(t, s.gqlAs(t, opStaffAppointments, vars, bearer(pat.token)...), "FORBIDDEN")
	wantCode(t, s.gqlAs(t, opStaffAppointments, vars), "UNAUTHENTICATED")
	wantCode(t, s.gqlAs(t, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}, bearer(pat.token)...), "NOT_FOUND")
}

// TestBookingDocsShowTheStaffSearch keeps the staff search in
// docs/booking.md the one TestStaffAppointmentSearchEndToEnd runs.
func TestBookingDocsShowTheStaffSearch(t *testing.T) {
	doc, err := os.ReadFile("../docs/booking.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"operation": opStaffAppointments, "variables": staffSearchVars} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/booking.md does not show the tested staff search %s:\n%s", name, want)
		}
	}
}
