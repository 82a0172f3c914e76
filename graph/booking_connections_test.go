package graph_test

import (
	"testing"
	"time"
)

// pageOf is the shape of every booking connection in these tests.
type pageOf[T any] struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage bool
		EndCursor   string
	}
	Edges []struct{ Node T }
}

// TestBookingConnectionsAndMoney pages a patient's appointments, an agenda
// and the admin lists with cursors and counts, and reads prices as Money
// (null when free) next to the deprecated amount fields.
func TestBookingConnectionsAndMoney(t *testing.T) {
	ts := bookingServer(t, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	var created struct {
		CreatePractitioner struct{ Practitioner struct{ ID string } }
	}
	gql(t, ts, "admin", `mutation($in: CreatePractitionerInput!) { createPractitioner(input: $in) { practitioner { id } } }`,
		map[string]any{"in": map[string]any{"practitioner": map[string]any{"name": "Dr Ada", "timeZone": "Australia/Sydney"}}}, &created)
	prac := created.CreatePractitioner.Practitioner.ID
	var hours []map[string]any
	for d := range 7 {
		hours = append(hours, map[string]any{"weekday": d, "startMinute": 540, "endMinute": 720})
	}
	gql(t, ts, "admin", `mutation($in: SetWeeklyHoursInput!) { setWeeklyHours(input: $in) { userErrors { code } } }`,
		map[string]any{"in": map[string]any{"practitionerId": prac, "hours": hours}}, nil)
	services := map[string]string{}
	for _, s := range []map[string]any{
		{"name": "Follow-up", "slug": "follow-up", "durationMinutes": 30, "slotIntervalMinutes": 60, "practitionerIds": []string{prac}},
		{"name": "Initial", "slug": "initial", "durationMinutes": 60, "slotIntervalMinutes": 60, "practitionerIds": []string{prac},
			"price": map[string]any{"amount": 15000, "currency": "AUD"}},
	} {
		var out struct {
			CreateService struct {
				Service    struct{ ID string }
				UserErrors []struct{ Code string }
			}
		}
		gql(t, ts, "admin", `mutation($in: CreateServiceInput!) { createService(input: $in) { service { id } userErrors { code } } }`,
			map[string]any{"in": map[string]any{"service": s}}, &out)
		if out.CreateService.Service.ID == "" {
			t.Fatalf("createService %s: %+v", s["slug"], out)
		}
		services[s["slug"].(string)] = out.CreateService.Service.ID
	}

	// Admin lists, by name, a page at a time; price is Money or null.
	type money struct {
		Amount    int
		Currency  string
		Formatted string
	}
	var svcPage struct {
		ServicesConnection pageOf[struct {
			Name        string
			Price       *money
			PriceAmount int
		}]
	}
	svcQ := `query($after: Cursor) { servicesConnection(first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor }
		edges { node { name price { amount currency formatted } priceAmount } } } }`
	gql(t, ts, "", svcQ, map[string]any{"after": nil}, &svcPage)
	p := svcPage.ServicesConnection
	if p.TotalCount != 2 || len(p.Edges) != 1 || !p.PageInfo.HasNextPage || p.Edges[0].Node.Name != "Follow-up" || p.Edges[0].Node.Price != nil {
		t.Fatalf("first services page: %+v", p)
	}
	gql(t, ts, "", svcQ, map[string]any{"after": p.PageInfo.EndCursor}, &svcPage)
	p = svcPage.ServicesConnection
	want := money{15000, "AUD", "A$150.00"}
	if len(p.Edges) != 1 || p.PageInfo.HasNextPage || p.Edges[0].Node.Name != "Initial" ||
		p.Edges[0].Node.Price == nil || *p.Edges[0].Node.Price != want || p.Edges[0].Node.PriceAmount != 15000 {
		t.Fatalf("second services page: %+v", p)
	}
	var pracPage struct {
		PractitionersConnection pageOf[struct{ ID string }]
	}
	gql(t, ts, "", `{ practitionersConnection { totalCount edges { node { id } } } }`, nil, &pracPage)
	if pracPage.PractitionersConnection.TotalCount != 1 || pracPage.PractitionersConnection.Edges[0].Node.ID != prac {
		t.Fatalf("practitioners: %+v", pracPage)
	}

	// The patient books three free appointments (later ones first) and
	// holds a paid one, whose price is fixed as Money.
	var starts []string
	for _, day := range []int{8, 6, 7} {
		start := time.Date(2026, 4, day, 0, 0, 0, 0, time.UTC).Format(time.RFC3339) // 10:00 in Sydney
		starts = append(starts, start)
		var hold struct {
			HoldSlot struct {
				Appointment struct{ ID string }
				UserErrors  []struct{ Code string }
			}
		}
		gql(t, ts, "patient", `mutation($in: HoldSlotInput!) { holdSlot(input: $in) { appointment { id } userErrors { code } } }`,
			map[string]any{"in": map[string]any{"serviceId": services["follow-up"], "practitionerId": prac, "start": start}}, &hold)
		var booked struct {
			BookAppointment struct{ UserErrors []struct{ Code string } }
		}
		res := gql(t, ts, "patient", `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { userErrors { code } } }`,
			map[string]any{"in": map[string]any{"appointmentId": hold.HoldSlot.Appointment.ID}}, &booked)
		if hold.HoldSlot.Appointment.ID == "" || len(res.Errors) > 0 || len(booked.BookAppointment.UserErrors) > 0 {
			t.Fatalf("book %s: %+v %+v %+v", start, hold, booked, res.Errors)
		}
	}
	var paid struct {
		HoldSlot struct {
			Appointment struct {
				Price    *money
				Currency string
			}
		}
	}
	gql(t, ts, "patient", `mutation($in: HoldSlotInput!) { holdSlot(input: $in) { appointment { price { amount currency formatted } currency } } }`,
		map[string]any{"in": map[string]any{"serviceId": services["initial"], "practitionerId": prac, "start": "2026-04-09T00:00:00Z"}}, &paid)
	if a := paid.HoldSlot.Appointment; a.Price == nil || *a.Price != want || a.Currency != "AUD" {
		t.Fatalf("held paid appointment: %+v", paid)
	}

	// Upcoming appointments, soonest first, two a page; holds left out.
	type apt struct {
		StartAt string
		Price   *money
	}
	var mine struct {
		MyAppointmentsConnection pageOf[apt]
	}
	mineQ := `query($after: Cursor) { myAppointmentsConnection(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
		edges { node { startAt price { amount } } } } }`
	var got []string
	after := any(nil)
	for range 3 {
		gql(t, ts, "patient", mineQ, map[string]any{"after": after}, &mine)
		c := mine.MyAppointmentsConnection
		if c.TotalCount != 3 {
			t.Fatalf("totalCount %d, want 3", c.TotalCount)
		}
		for _, e := range c.Edges {
			got = append(got, e.Node.StartAt)
			if e.Node.Price != nil {
				t.Errorf("free appointment has a price: %+v", e.Node.Price)
			}
		}
		if !c.PageInfo.HasNextPage {
			break
		}
		after = c.PageInfo.EndCursor
	}
	wantStarts := []string{starts[1], starts[2], starts[0]}
	if len(got) != 3 || got[0] != wantStarts[0] || got[1] != wantStarts[1] || got[2] != wantStarts[2] {
		t.Fatalf("my appointments = %v, want %v", got, wantStarts)
	}
	res := gql(t, ts, "", `{ myAppointmentsConnection { totalCount } }`, nil, nil)
	if len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != "UNAUTHENTICATED" {
		t.Errorf("anonymous myAppointmentsConnection: %+v", res.Errors)
	}

	// The agenda pages the same way, for staff only; the paid hold shows.
	var agenda struct {
		PractitionerAgendaConnection pageOf[apt]
	}
	agendaQ := `query($p: ID!) { practitionerAgendaConnection(practitionerId: $p, from: "2026-04-05T00:00:00Z", to: "2026-04-12T00:00:00Z", first: 3) {
		totalCount pageInfo { hasNextPage } edges { node { startAt } } } }`
	gql(t, ts, "admin", agendaQ, map[string]any{"p": prac}, &agenda)
	if a := agenda.PractitionerAgendaConnection; a.TotalCount != 4 || len(a.Edges) != 3 || !a.PageInfo.HasNextPage || a.Edges[0].Node.StartAt != starts[1] {
		t.Fatalf("agenda: %+v", a)
	}
	res = gql(t, ts, "patient", agendaQ, map[string]any{"p": prac}, nil)
	if len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != "FORBIDDEN" {
		t.Errorf("patient agenda: %+v", res.Errors)
	}
}
