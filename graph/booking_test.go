package graph_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"frontdesk/booking"
	"frontdesk/cache"
	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/events"
	"frontdesk/gid"
	"frontdesk/graph"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// bookingServer serves the real schema with booking over HTTP; viewers
// "admin", "patient" or none.
func bookingServer(t *testing.T, now time.Time) *httptest.Server {
	t.Helper()
	db := testenv.DB(t, database.Options{})
	bus := events.NewMemory()
	t.Cleanup(func() { _ = bus.Close() })
	eng := booking.New(db.Client, booking.Options{ManageKey: []byte("k"), Changes: booking.EventSink{Bus: bus},
		Now: func() time.Time { return now }})
	schema := graph.MustSchema(t, &graph.Resolver{Client: db.Client, Events: bus, Booking: eng,
		Catalog: catalog.New(db.Client, db.Dialect, cache.NewMemory(), nil, catalog.Options{})})
	return serve(t, schema, map[string]*identity.Viewer{
		"admin":   {UserID: gid.ID("usr_01JD6Q7ZK3M4X9V2S8T5R1W0AD"), Role: identity.RoleAdmin},
		"patient": {UserID: gid.ID("usr_01JD6Q7ZK3M4X9V2S8T5R1W0PA"), Role: identity.RoleCustomer},
	})
}

// TestBookingOverGraphQL walks the admin set-up and a guest's booking
// through the real schema: slots in the client's zone, hold, book,
// manage link, reschedule, a taken slot as a user error, and
// authorization as top-level errors.
func TestBookingOverGraphQL(t *testing.T) {
	ts := bookingServer(t, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))

	var created struct {
		CreatePractitioner struct {
			Practitioner struct{ ID string }
			UserErrors   []struct{ Code string }
		}
	}
	gql(t, ts, "admin", `mutation($in: CreatePractitionerInput!) { createPractitioner(input: $in) { practitioner { id } userErrors { code } } }`,
		map[string]any{"in": map[string]any{"practitioner": map[string]any{"name": "Dr Ada", "timeZone": "Australia/Sydney"}}}, &created)
	prac := created.CreatePractitioner.Practitioner.ID
	if prac == "" {
		t.Fatalf("createPractitioner: %+v", created)
	}
	res := gql(t, ts, "admin", `mutation($in: SetWeeklyHoursInput!) { setWeeklyHours(input: $in) { practitioner { weeklyHours { weekday startMinute endMinute } } userErrors { code } } }`,
		map[string]any{"in": map[string]any{"practitionerId": prac, "hours": []map[string]any{
			{"weekday": 1, "startMinute": 540, "endMinute": 660}, {"weekday": 2, "startMinute": 540, "endMinute": 600}}}}, nil)
	if len(res.Errors) > 0 {
		t.Fatalf("setWeeklyHours: %+v", res.Errors)
	}
	var svc struct {
		CreateService struct {
			Service    struct{ ID string }
			UserErrors []struct{ Code string }
		}
	}
	gql(t, ts, "admin", `mutation($in: CreateServiceInput!) { createService(input: $in) { service { id } userErrors { code } } }`,
		map[string]any{"in": map[string]any{"service": map[string]any{"name": "Initial", "slug": "initial", "durationMinutes": 60,
			"slotIntervalMinutes": 60, "practitionerIds": []string{prac}}}}, &svc)
	svcID := svc.CreateService.Service.ID
	if svcID == "" {
		t.Fatalf("createService: %+v", svc)
	}
	// Anonymous admin calls are refused at the top level.
	res = gql(t, ts, "", `mutation { createService(input: {service: {name: "x", slug: "x", durationMinutes: 30}}) { service { id } } }`, nil, nil)
	if len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != "UNAUTHENTICATED" {
		t.Errorf("anonymous createService: %+v", res.Errors)
	}

	// A New York client sees Monday 6 April 09:00 and 10:00 in Sydney
	// (AEST, +10) as Sunday evening EDT.
	var slots struct {
		AvailableSlots []struct {
			Start, End   string
			Practitioner struct{ ID string }
		}
	}
	gql(t, ts, "", `query($s: ID!) { availableSlots(serviceId: $s, from: "2026-04-05T00:00:00Z", to: "2026-04-07T00:00:00Z", timeZone: "America/New_York") { start end practitioner { id } } }`,
		map[string]any{"s": svcID}, &slots)
	var starts []string
	for _, s := range slots.AvailableSlots {
		starts = append(starts, s.Start)
	}
	want := []string{"2026-04-05T19:00:00-04:00", "2026-04-05T20:00:00-04:00", "2026-04-06T19:00:00-04:00"}
	if len(starts) != len(want) || starts[0] != want[0] || starts[1] != want[1] || starts[2] != want[2] {
		t.Fatalf("slots = %v, want %v", starts, want)
	}

	var hold struct {
		HoldSlot struct {
			Appointment struct{ ID, State string }
			HoldToken   string
			UserErrors  []struct{ Code string }
		}
	}
	holdQ := `mutation($in: HoldSlotInput!) { holdSlot(input: $in) { appointment { id state } holdToken userErrors { code } } }`
	holdIn := map[string]any{"in": map[string]any{"serviceId": svcID, "practitionerId": prac, "start": want[0]}}
	gql(t, ts, "", holdQ, holdIn, &hold)
	if hold.HoldSlot.Appointment.State != "HELD" {
		t.Fatalf("hold: %+v", hold)
	}
	var taken struct {
		HoldSlot struct{ UserErrors []struct{ Code string } }
	}
	gql(t, ts, "patient", holdQ, holdIn, &taken)
	if len(taken.HoldSlot.UserErrors) != 1 || taken.HoldSlot.UserErrors[0].Code != "SLOT_UNAVAILABLE" {
		t.Errorf("second hold: %+v", taken)
	}

	var booked struct {
		BookAppointment struct {
			Appointment struct{ ID, State, StartAt string }
			ManageToken string
			UserErrors  []struct{ Code string }
		}
	}
	gql(t, ts, "", `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { appointment { id state startAt } manageToken userErrors { code } } }`,
		map[string]any{"in": map[string]any{"appointmentId": hold.HoldSlot.Appointment.ID, "holdToken": hold.HoldSlot.HoldToken,
			"guest": map[string]any{"name": "Jo", "email": "jo@example.com", "phone": "+61412345678"}}}, &booked)
	b := booked.BookAppointment
	if b.Appointment.State != "CONFIRMED" || b.ManageToken == "" {
		t.Fatalf("book: %+v", booked)
	}
	// Without the manage token the appointment is invisible.
	var seen struct{ Appointment *struct{ State string } }
	gql(t, ts, "patient", `query($id: ID!) { appointment(id: $id) { state } }`, map[string]any{"id": b.Appointment.ID}, &seen)
	if seen.Appointment != nil {
		t.Error("another patient saw the appointment")
	}
	var moved struct {
		RescheduleAppointment struct {
			Appointment struct {
				StartAt string
				History []struct{ FromState, ToState *string }
			}
			UserErrors []struct{ Code string }
		}
	}
	gql(t, ts, "", `mutation($in: RescheduleAppointmentInput!) { rescheduleAppointment(input: $in) { appointment { startAt history { fromState toState } } userErrors { code } } }`,
		map[string]any{"in": map[string]any{"appointmentId": b.Appointment.ID, "manageToken": b.ManageToken, "start": "2026-04-06T00:00:00Z"}}, &moved)
	m := moved.RescheduleAppointment
	if m.Appointment.StartAt != "2026-04-06T00:00:00Z" || len(m.Appointment.History) != 3 || m.Appointment.History[0].FromState != nil {
		t.Fatalf("reschedule: %+v", moved)
	}
	var agenda struct {
		PractitionerAgendaConnection pageOf[struct{ ID string }]
	}
	agendaQ := `query($p: ID!) { practitionerAgendaConnection(practitionerId: $p, from: "2026-04-05T00:00:00Z", to: "2026-04-12T00:00:00Z") { totalCount edges { node { id } } } }`
	gql(t, ts, "admin", agendaQ, map[string]any{"p": prac}, &agenda)
	if a := agenda.PractitionerAgendaConnection; a.TotalCount != 1 || len(a.Edges) != 1 || a.Edges[0].Node.ID != b.Appointment.ID {
		t.Errorf("agenda: %+v", agenda)
	}
	// The deprecated plain list still answers.
	var old struct {
		PractitionerAgenda []struct{ ID string }
	}
	gql(t, ts, "admin", `query($p: ID!) { practitionerAgenda(practitionerId: $p, from: "2026-04-05T00:00:00Z", to: "2026-04-12T00:00:00Z") { id } }`,
		map[string]any{"p": prac}, &old)
	if len(old.PractitionerAgenda) != 1 {
		t.Errorf("deprecated agenda: %+v", old)
	}
	res = gql(t, ts, "patient", agendaQ, map[string]any{"p": prac}, nil)
	if len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != "FORBIDDEN" {
		t.Errorf("patient agenda: %+v", res.Errors)
	}
}
