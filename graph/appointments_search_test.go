package graph_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"frontdesk/booking"
	"frontdesk/cache"
	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/user"
	"frontdesk/gid"
	"frontdesk/graph"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// Viewers of the staff tests, by the X-Test-Viewer header.
var (
	adminID   = gid.ID("usr_01JD6Q7ZK3M4X9V2S8T5R1W0AD")
	staffID   = gid.ID("usr_01JD6Q7ZK3M4X9V2S8T5R1W0ST")
	pracAUser = gid.ID("usr_01JD6Q7ZK3M4X9V2S8T5R1W0PR")
	pracBUser = gid.ID("usr_01JD6Q7ZK3M4X9V2S8T5R1W0PB")
	patientID = gid.ID("usr_01JD6Q7ZK3M4X9V2S8T5R1W0PA")
	otherID   = gid.ID("usr_01JD6Q7ZK3M4X9V2S8T5R1W0CU")
)

var staffViewers = map[string]*identity.Viewer{
	"admin":         {UserID: adminID, Role: identity.RoleAdmin},
	"staff":         {UserID: staffID, Role: identity.RoleStaff},
	"practitioner":  {UserID: pracAUser, Role: identity.RolePractitioner},
	"practitionerB": {UserID: pracBUser, Role: identity.RolePractitioner},
	"patient":       {UserID: patientID, Role: identity.RoleCustomer},
	"customer":      {UserID: otherID, Role: identity.RoleCustomer},
}

// staffServer serves the real schema with the booking and catalog
// domains, the request limits and the booking loaders, counting SQL
// statements; the viewers are staffViewers.
func staffServer(t *testing.T, loaders bool) (*httptest.Server, *ent.Client, *testenv.QueryCounter) {
	t.Helper()
	counter, wrap := testenv.CountQueries()
	db := testenv.DB(t, database.Options{Driver: wrap})
	eng := booking.New(db.Client, booking.Options{ManageKey: []byte("k")})
	cat := catalog.New(db.Client, db.Dialect, cache.NewMemory(), nil, catalog.Options{})
	use := []graphql.HandlerExtension{graph.Limits{Document: graph.DocumentLimits{MaxFields: 1000, MaxFragments: 100, MaxInlineFragments: 100, MaxDirectives: 50, MaxVariableValues: 10000, MaxDepth: 12, MaxAliases: 30, MaxOperations: 1, Introspection: true}, MaxPageSize: 100, OperationTimeout: 30 * time.Second}}
	if loaders {
		use = append(use, graph.BookingLoaders{Booking: eng})
	}
	ts := serve(t, graph.MustSchema(t, &graph.Resolver{Client: db.Client, Booking: eng, Catalog: cat}), staffViewers, use...)
	return ts, db.Client, counter
}

// clinic is a small clinic: two practitioners (A linked to the
// "practitioner" viewer, B to "practitionerB"), two services (one with an
// intake form), two patient accounts and appointments made directly in
// the database.
type clinic struct {
	client          *ent.Client
	pracA, pracB    *ent.Practitioner
	initial, follow *ent.Service
	patient, other  *ent.User
	base            time.Time
	created         time.Time
}

func newClinic(t *testing.T, client *ent.Client) *clinic {
	t.Helper()
	ctx := context.Background()
	c := &clinic{client: client, base: time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC), created: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	for id, u := range map[gid.ID][3]string{
		adminID: {"admin@clinic.example", "Ada Admin", "ADMIN"}, staffID: {"staff@clinic.example", "Sam Staff", "STAFF"},
		pracAUser: {"a@clinic.example", "Dr Alpha", "PRACTITIONER"}, pracBUser: {"b@clinic.example", "Dr Beta", "PRACTITIONER"},
		patientID: {"pat.kowalski@example.com", "Patricia Kowalski", "CUSTOMER"}, otherID: {"olga@example.com", "Olga Other", "CUSTOMER"},
	} {
		q := client.User.Create().SetID(id).SetEmail(u[0]).SetName(u[1]).SetRole(user.Role(u[2]))
		if id == patientID {
			q.SetPhone("+61411222333")
		}
		if err := q.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c.patient, c.other = client.User.GetX(ctx, patientID), client.User.GetX(ctx, otherID)
	c.pracA = client.Practitioner.Create().SetName("Dr Alpha").SetTimeZone("Australia/Sydney").SetStaffUserID(pracAUser).SaveX(ctx)
	c.pracB = client.Practitioner.Create().SetName("Dr Beta").SetTimeZone("Australia/Sydney").SetStaffUserID(pracBUser).SaveX(ctx)
	client.IntakeForm.Create().SetKey("initial").SetVersion(1).SetTitle("Before your visit").SetFields(nil).ExecX(ctx)
	c.initial = client.Service.Create().SetName("Initial").SetSlug("initial").SetDurationMinutes(60).SetIntakeFormKey("initial").
		AddPractitioners(c.pracA, c.pracB).SaveX(ctx)
	c.follow = client.Service.Create().SetName("Follow-up").SetSlug("follow-up").SetDurationMinutes(30).
		AddPractitioners(c.pracA, c.pracB).SaveX(ctx)
	return c
}

// appt is one appointment to make.
type appt struct {
	prac    *ent.Practitioner
	svc     *ent.Service
	day     int // start is base + day days + hour hours
	hour    int
	state   appointment.State
	patient *ent.User
	guest   [3]string // name, email, phone
	created int       // days after c.created
	intake  bool      // answers submitted
}

func (c *clinic) add(t *testing.T, a appt) *ent.Appointment {
	t.Helper()
	ctx := context.Background()
	start := c.base.AddDate(0, 0, a.day).Add(time.Duration(a.hour) * time.Hour)
	end := start.Add(time.Duration(a.svc.DurationMinutes) * time.Minute)
	q := c.client.Appointment.Create().SetServiceID(a.svc.ID).SetPractitionerID(a.prac.ID).SetStartAt(start).SetEndAt(end).
		SetBlockedStart(start).SetBlockedEnd(end).SetState(a.state).SetCreatedAt(c.created.AddDate(0, 0, a.created)).
		SetGuestName(a.guest[0]).SetGuestEmail(a.guest[1]).SetGuestPhone(a.guest[2])
	if a.patient != nil {
		q.SetPatientID(a.patient.ID).SetHolderKey(string(a.patient.ID))
	}
	row := q.SaveX(ctx)
	if a.intake {
		form := c.client.IntakeForm.Query().FirstX(ctx)
		c.client.IntakeSubmission.Create().SetAppointmentID(row.ID).SetFormID(form.ID).SetAnswers(nil).ExecX(ctx)
	}
	return row
}

type apptNode struct {
	ID           string
	State        string
	StartAt      time.Time
	PatientName  string
	Service      struct{ Name string }
	Practitioner struct{ Name string }
}

const searchQuery = `query($f: AppointmentFilter, $o: AppointmentOrder, $first: Int, $after: Cursor, $last: Int, $before: Cursor) {
  appointments(filter: $f, orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id state startAt patientName service { name } practitioner { name } } }
  }
}`

type searchPage struct {
	Appointments struct {
		TotalCount int
		PageInfo   struct {
			HasNextPage, HasPreviousPage bool
			StartCursor, EndCursor       string
		}
		Edges []struct{ Node apptNode }
	}
}

func search(t *testing.T, ts *httptest.Server, viewer string, vars map[string]any) (searchPage, gqlResult) {
	t.Helper()
	var out searchPage
	res := gql(t, ts, viewer, searchQuery, vars, &out)
	return out, res
}

func ids(p searchPage) []string {
	var out []string
	for _, e := range p.Appointments.Edges {
		out = append(out, e.Node.ID)
	}
	return out
}

func idsOf(as ...*ent.Appointment) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a.ID)
	}
	return out
}

// TestStaffAppointmentSearch covers every filter, the order options,
// cursor paging both ways, who may search and what a practitioner sees,
// and bad input.
func TestStaffAppointmentSearch(t *testing.T) {
	ts, client, _ := staffServer(t, true)
	c := newClinic(t, client)
	// In start order (day, hour):
	a1 := c.add(t, appt{prac: c.pracA, svc: c.initial, day: 0, hour: 9, state: appointment.StateCONFIRMED, patient: c.patient, created: 0, intake: true})
	a2 := c.add(t, appt{prac: c.pracB, svc: c.follow, day: 0, hour: 10, state: appointment.StateCONFIRMED,
		guest: [3]string{"Jo Citizen", "jo@example.com", "+61499888777"}, created: 1})
	a3 := c.add(t, appt{prac: c.pracA, svc: c.initial, day: 1, hour: 9, state: appointment.StatePENDING_PAYMENT,
		guest: [3]string{"Kim Lee", "kim.lee@example.org", "+61400111222"}, created: 2})
	a4 := c.add(t, appt{prac: c.pracB, svc: c.initial, day: 2, hour: 9, state: appointment.StateCANCELLED, patient: c.other, created: 3})
	a5 := c.add(t, appt{prac: c.pracA, svc: c.follow, day: 3, hour: 11, state: appointment.StateCOMPLETED, patient: c.patient, created: 4})
	a6 := c.add(t, appt{prac: c.pracB, svc: c.follow, day: 4, hour: 8, state: appointment.StateHELD, created: 5})
	all := idsOf(a1, a2, a3, a4, a5, a6)

	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			f    map[string]any
			want []*ent.Appointment
		}{
			{"none", nil, []*ent.Appointment{a1, a2, a3, a4, a5, a6}},
			{"states", map[string]any{"states": []string{"CONFIRMED", "COMPLETED"}}, []*ent.Appointment{a1, a2, a5}},
			{"practitioner", map[string]any{"practitionerIds": []string{string(c.pracB.ID)}}, []*ent.Appointment{a2, a4, a6}},
			{"service", map[string]any{"serviceIds": []string{string(c.follow.ID)}}, []*ent.Appointment{a2, a5, a6}},
			{"start range", map[string]any{"startFrom": c.base.Add(10 * time.Hour), "startTo": c.base.AddDate(0, 0, 3)}, []*ent.Appointment{a2, a3, a4}},
			{"start from only", map[string]any{"startFrom": c.base.AddDate(0, 0, 3)}, []*ent.Appointment{a5, a6}},
			{"created range", map[string]any{"createdFrom": c.created.AddDate(0, 0, 1), "createdTo": c.created.AddDate(0, 0, 3)}, []*ent.Appointment{a2, a3}},
			{"patient account", map[string]any{"patientId": string(patientID)}, []*ent.Appointment{a1, a5}},
			{"account name, any case", map[string]any{"patient": "KOWAL"}, []*ent.Appointment{a1, a5}},
			{"account email", map[string]any{"patient": "olga@"}, []*ent.Appointment{a4}},
			{"account phone with spaces", map[string]any{"patient": "411 222 333"}, []*ent.Appointment{a1, a5}},
			{"guest name, any case", map[string]any{"patient": "jo citizen"}, []*ent.Appointment{a2}},
			{"guest email, any case", map[string]any{"patient": "Kim.Lee@"}, []*ent.Appointment{a3}},
			{"guest phone", map[string]any{"patient": "+61499 888"}, []*ent.Appointment{a2}},
			{"patient search trims", map[string]any{"patient": "  kim  "}, []*ent.Appointment{a3}},
			{"LIKE wildcards are literal", map[string]any{"patient": "%_"}, nil},
			{"intake answered", map[string]any{"intakeStatus": "ANSWERED"}, []*ent.Appointment{a1}},
			{"intake unanswered", map[string]any{"intakeStatus": "UNANSWERED"}, []*ent.Appointment{a3, a4}},
			{"intake not needed", map[string]any{"intakeStatus": "NOT_NEEDED"}, []*ent.Appointment{a2, a5, a6}},
			{"combined", map[string]any{"intakeStatus": "UNANSWERED", "states": []string{"PENDING_PAYMENT", "CONFIRMED"}, "practitionerIds": []string{string(c.pracA.ID)}}, []*ent.Appointment{a3}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p, res := search(t, ts, "staff", map[string]any{"f": tc.f, "first": 50})
				if len(res.Errors) > 0 {
					t.Fatalf("errors: %+v", res.Errors)
				}
				if got, want := ids(p), idsOf(tc.want...); !slices.Equal(got, want) || p.Appointments.TotalCount != len(want) {
					t.Fatalf("got %v (total %d), want %v", got, p.Appointments.TotalCount, want)
				}
			})
		}
	})

	t.Run("fields", func(t *testing.T) {
		p, _ := search(t, ts, "admin", map[string]any{"f": map[string]any{"states": []string{"CONFIRMED"}}})
		want := []apptNode{
			{ID: string(a1.ID), State: "CONFIRMED", StartAt: a1.StartAt, PatientName: "Patricia Kowalski"},
			{ID: string(a2.ID), State: "CONFIRMED", StartAt: a2.StartAt, PatientName: "Jo Citizen"},
		}
		want[0].Service.Name, want[0].Practitioner.Name = "Initial", "Dr Alpha"
		want[1].Service.Name, want[1].Practitioner.Name = "Follow-up", "Dr Beta"
		if len(p.Appointments.Edges) != 2 {
			t.Fatalf("got %+v", p)
		}
		for i, e := range p.Appointments.Edges {
			e.Node.StartAt = e.Node.StartAt.UTC()
			if e.Node != want[i] {
				t.Errorf("node %d: got %+v, want %+v", i, e.Node, want[i])
			}
		}
	})

	t.Run("order", func(t *testing.T) {
		for _, tc := range []struct {
			o    map[string]any
			want []string
		}{
			{nil, all},
			{map[string]any{"field": "START_AT"}, all},
			{map[string]any{"field": "START_AT", "direction": "DESC"}, idsOf(a6, a5, a4, a3, a2, a1)},
			{map[string]any{"field": "CREATED_AT", "direction": "DESC"}, idsOf(a6, a5, a4, a3, a2, a1)},
			{map[string]any{"field": "CREATED_AT"}, all},
		} {
			p, res := search(t, ts, "staff", map[string]any{"o": tc.o})
			if got := ids(p); len(res.Errors) > 0 || !slices.Equal(got, tc.want) {
				t.Fatalf("order %v: got %v, want %v (%+v)", tc.o, got, tc.want, res.Errors)
			}
		}
	})

	t.Run("paging", func(t *testing.T) {
		for _, o := range []map[string]any{nil, {"field": "START_AT", "direction": "DESC"}, {"field": "CREATED_AT", "direction": "DESC"}} {
			want, _ := search(t, ts, "staff", map[string]any{"o": o, "first": 10})
			var got []string
			vars := map[string]any{"o": o, "first": 4}
			for range 3 {
				p, res := search(t, ts, "staff", vars)
				if len(res.Errors) > 0 || p.Appointments.TotalCount != 6 {
					t.Fatalf("page: %+v %+v", p, res.Errors)
				}
				got = append(got, ids(p)...)
				if !p.Appointments.PageInfo.HasNextPage {
					break
				}
				vars["after"] = p.Appointments.PageInfo.EndCursor
			}
			if !slices.Equal(got, ids(want)) {
				t.Fatalf("forward pages %v: got %v, want %v", o, got, ids(want))
			}
			// Backwards from the end: the last 4, then the 2 before them.
			last, _ := search(t, ts, "staff", map[string]any{"o": o, "last": 4})
			before, _ := search(t, ts, "staff", map[string]any{"o": o, "last": 4, "before": last.Appointments.PageInfo.StartCursor})
			if back := append(ids(before), ids(last)...); !slices.Equal(back, ids(want)) || !last.Appointments.PageInfo.HasPreviousPage {
				t.Fatalf("backward pages %v: got %v, want %v", o, back, ids(want))
			}
		}
	})

	t.Run("who may search", func(t *testing.T) {
		for _, tc := range []struct {
			viewer string
			code   string
			want   []string
		}{
			{"", "UNAUTHENTICATED", nil},
			{"customer", "FORBIDDEN", nil},
			{"patient", "FORBIDDEN", nil},
			{"staff", "", all},
			{"admin", "", all},
			// A practitioner sees the appointments booked with them only,
			// whatever the filter asks for.
			{"practitioner", "", idsOf(a1, a3, a5)},
			{"practitionerB", "", idsOf(a2, a4, a6)},
		} {
			p, res := search(t, ts, tc.viewer, nil)
			code := ""
			if len(res.Errors) > 0 {
				code, _ = res.Errors[0].Extensions["code"].(string)
			}
			if code != tc.code || !slices.Equal(ids(p), tc.want) {
				t.Errorf("%q: got %v, code %q; want %v, %q", tc.viewer, ids(p), code, tc.want, tc.code)
			}
		}
		p, _ := search(t, ts, "practitioner", map[string]any{"f": map[string]any{"practitionerIds": []string{string(c.pracB.ID)}}})
		if p.Appointments.TotalCount != 0 || len(p.Appointments.Edges) != 0 {
			t.Errorf("practitioner A asking for B's appointments: %+v", p)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		many := make([]string, 101)
		for i := range many {
			many[i] = string(gid.New("prac"))
		}
		for _, tc := range []struct {
			vars map[string]any
			code string
		}{
			{map[string]any{"f": map[string]any{"startFrom": c.base, "startTo": c.base}}, "BAD_USER_INPUT"},
			{map[string]any{"f": map[string]any{"createdFrom": c.base, "createdTo": c.base.Add(-time.Hour)}}, "BAD_USER_INPUT"},
			{map[string]any{"f": map[string]any{"patient": " k "}}, "BAD_USER_INPUT"},
			{map[string]any{"f": map[string]any{"patient": strings.Repeat("x", 101)}}, "BAD_USER_INPUT"},
			{map[string]any{"f": map[string]any{"practitionerIds": many}}, "BAD_USER_INPUT"},
			{map[string]any{"f": map[string]any{"serviceIds": []string{"nope"}}}, "BAD_USER_INPUT"},
			{map[string]any{"f": map[string]any{"intakeStatus": "MAYBE"}}, "GRAPHQL_VALIDATION_FAILED"},
			{map[string]any{"o": map[string]any{"field": "PRICE"}}, "GRAPHQL_VALIDATION_FAILED"},
			{map[string]any{"first": 101}, "PAGE_SIZE_LIMIT_EXCEEDED"},
		} {
			p, res := search(t, ts, "staff", tc.vars)
			if len(res.Errors) == 0 || res.Errors[0].Extensions["code"] != tc.code || len(p.Appointments.Edges) != 0 {
				t.Errorf("%v: got %+v, %+v; want %s", tc.vars, p, res.Errors, tc.code)
			}
		}
	})
}

// TestStaffAppointmentSearchQueryCount pins the SQL statements of a page
// with each appointment's service, practitioner and patient: the same
// for 5 appointments as for 50, so no N+1 can creep in.
func TestStaffAppointmentSearchQueryCount(t *testing.T) {
	ts, client, counter := staffServer(t, true)
	c := newClinic(t, client)
	const q = `query($n: Int!) { appointments(first: $n) { totalCount edges { node { id patientName
		service { name durationMinutes } practitioner { name timeZone } } } } }`
	statements := func(n int) int64 {
		counter.Reset()
		var out searchPage
		res := gql(t, ts, "staff", q, map[string]any{"n": n}, &out)
		if len(res.Errors) > 0 || len(out.Appointments.Edges) != n {
			t.Fatalf("page of %d: %d edges, %+v", n, len(out.Appointments.Edges), res.Errors)
		}
		for _, e := range out.Appointments.Edges {
			if e.Node.PatientName == "" || e.Node.Service.Name == "" || e.Node.Practitioner.Name == "" {
				t.Fatalf("unresolved fields: %+v", e.Node)
			}
		}
		return counter.Count()
	}
	// 50 appointments over 2 practitioners, 2 services and 2 patient
	// accounts, with a guest every third one.
	for i := range 50 {
		a := appt{prac: c.pracA, svc: c.initial, day: i, hour: 9, state: appointment.StateCONFIRMED}
		if i%2 == 1 {
			a.prac, a.svc = c.pracB, c.follow
		}
		switch i % 3 {
		case 0:
			a.patient = c.patient
		case 1:
			a.patient = c.other
		default:
			a.guest = [3]string{fmt.Sprintf("Guest %d", i), fmt.Sprintf("g%d@example.com", i), "+61400000000"}
		}
		c.add(t, a)
	}
	small, large := statements(5), statements(50)
	// count, the page, its services, its practitioners, its patients' names.
	if small != large || large > 5 {
		t.Fatalf("statements: %d for 5 appointments, %d for 50; want the same, at most 5", small, large)
	}
	t.Logf("statements for a page of 50 with service, practitioner and patient: %d (%s)", large, testenv.Name())

	// A practitioner's page of plain columns: the view rule decides each
	// appointment from columns the query loads with it (the query selects
	// only id and startAt otherwise), not from a read per row.
	plain := func(n int) int64 {
		counter.Reset()
		var out searchPage
		res := gql(t, ts, "practitioner", `query($n: Int!) { appointments(first: $n) { edges { node { id startAt } } } }`, map[string]any{"n": n}, &out)
		if len(res.Errors) > 0 || len(out.Appointments.Edges) != n {
			t.Fatalf("practitioner's page of %d: %d edges, %+v", n, len(out.Appointments.Edges), res.Errors)
		}
		return counter.Count()
	}
	// The page and the viewer's practitioner, looked up once per
	// operation even when the rows race to it: the same however long the
	// page. Read per row, it was 7 and 27.
	if small, large := plain(5), plain(25); small != large || large > 3 {
		t.Fatalf("statements of a practitioner's plain page: %d for 5 appointments, %d for 25; want the same, at most 3", small, large)
	}
}

// TestPractitionerReadsOnlyOwnAppointments: a practitioner holds
// MANAGE_BOOKINGS and VIEW_PATIENT_INTAKE like staff, but appointment(id:),
// intakeSubmission and the agenda show them the appointments booked with
// them only, as the search and node(id:) do; staff see every one.
func TestPractitionerReadsOnlyOwnAppointments(t *testing.T) {
	ts, client, _ := staffServer(t, true)
	c := newClinic(t, client)
	mine := c.add(t, appt{prac: c.pracA, svc: c.initial, day: 1, hour: 9, state: appointment.StateCONFIRMED, patient: c.patient, intake: true})
	vars := map[string]any{"id": mine.ID, "prac": c.pracA.ID, "from": c.base, "to": c.base.AddDate(0, 0, 7)}
	reads := func(viewer string) [3]bool {
		var out struct {
			Appointment                  *struct{ ID string }
			IntakeSubmission             *struct{ ID string }
			PractitionerAgendaConnection *struct{ TotalCount int }
		}
		gql(t, ts, viewer, `query($id: ID!) { appointment(id: $id) { id } }`, map[string]any{"id": mine.ID}, &out)
		gql(t, ts, viewer, `query($id: ID!) { intakeSubmission(appointmentId: $id) { id } }`, map[string]any{"id": mine.ID}, &out)
		gql(t, ts, viewer, `query($prac: ID!, $from: Time!, $to: Time!) {
  practitionerAgendaConnection(practitionerId: $prac, from: $from, to: $to) { totalCount } }`, vars, &out)
		return [3]bool{out.Appointment != nil, out.IntakeSubmission != nil,
			out.PractitionerAgendaConnection != nil && out.PractitionerAgendaConnection.TotalCount == 1}
	}
	for viewer, want := range map[string][3]bool{
		"practitioner": {true, true, true}, "staff": {true, true, true}, "admin": {true, true, true},
		// The patient sees their appointment and answers, not the agenda.
		"patient": {true, true, false}, "practitionerB": {false, false, false}, "customer": {false, false, false},
	} {
		if got := reads(viewer); got != want {
			t.Errorf("%s: appointment, intake, agenda = %v, want %v", viewer, got, want)
		}
	}
}

// TestPractitionerChangesOnlyOwnAppointments: a practitioner marks and
// cancels the appointments booked with them; another practitioner's
// appointment does not exist for them and stays as it was.
func TestPractitionerChangesOnlyOwnAppointments(t *testing.T) {
	ts, client, _ := staffServer(t, true)
	c := newClinic(t, client)
	// Both started in May 2026, so they can be marked.
	mine := c.add(t, appt{prac: c.pracA, svc: c.follow, day: 0, hour: 9, state: appointment.StateCONFIRMED, patient: c.patient})
	theirs := c.add(t, appt{prac: c.pracB, svc: c.follow, day: 0, hour: 10, state: appointment.StateCONFIRMED, patient: c.other})
	const mark = `mutation($id: ID!) { markAppointmentNoShow(input: {appointmentId: $id}) { appointment { state } userErrors { code } } }`
	const cancel = `mutation($id: ID!) { cancelAppointment(input: {appointmentId: $id, reason: "x"}) { appointment { state } userErrors { code } } }`
	for _, op := range []string{mark, cancel} {
		res := gql(t, ts, "practitioner", op, map[string]any{"id": theirs.ID}, nil)
		if len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != "NOT_FOUND" {
			t.Fatalf("practitioner A on B's appointment: %+v", res.Errors)
		}
	}
	if got := client.Appointment.GetX(context.Background(), theirs.ID).State; got != appointment.StateCONFIRMED {
		t.Fatalf("B's appointment changed to %s", got)
	}
	var out struct {
		MarkAppointmentNoShow struct{ Appointment *struct{ State string } }
	}
	res := gql(t, ts, "practitioner", mark, map[string]any{"id": mine.ID}, &out)
	if len(res.Errors) > 0 || out.MarkAppointmentNoShow.Appointment == nil || out.MarkAppointmentNoShow.Appointment.State != "NO_SHOW" {
		t.Fatalf("practitioner A marks their own: %+v %+v", out, res.Errors)
	}
	res = gql(t, ts, "staff", mark, map[string]any{"id": theirs.ID}, &out)
	if len(res.Errors) > 0 || out.MarkAppointmentNoShow.Appointment.State != "NO_SHOW" {
		t.Fatalf("staff mark any: %+v %+v", out, res.Errors)
	}
}
