package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/booking"
	"frontdesk/cache"
	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/events"
	"frontdesk/gid"
	"frontdesk/graph"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// slotsFixture is a clinic for the availableSlots tests: three
// practitioners in zones with half-hour offsets and a clock change in the
// week asked about, weekday hours, a day off and some appointments, one
// service offered by all of them.
type slotsFixture struct {
	resolver *graph.Resolver
	service  gid.ID
	first    gid.ID // a practitioner
	from, to time.Time
}

func newSlotsFixture(t *testing.T) slotsFixture {
	t.Helper()
	// Sydney and Lord Howe move their clocks on Sunday 4 October 2026.
	now := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	db := testenv.DB(t, database.Options{})
	bus := events.NewMemory()
	t.Cleanup(func() { _ = bus.Close() })
	eng := booking.New(db.Client, booking.Options{ManageKey: []byte("k"), Changes: booking.EventSink{Bus: bus},
		Now: func() time.Time { return now }})
	ctx := context.Background()
	c := db.Client
	var pracs []*ent.Practitioner
	for i, zone := range []string{"Australia/Sydney", "Australia/Lord_Howe", "America/New_York"} {
		p := c.Practitioner.Create().SetName([]string{"Dr Ada \"A\" Lovelace", "Dr Bo", "Dr Cy\u00e9"}[i]).SetTimeZone(zone).
			SetBio("Line one\nline two").SaveX(ctx)
		pracs = append(pracs, p)
		for d := 1; d <= 5; d++ {
			c.WeeklyHours.Create().SetPractitionerID(p.ID).SetWeekday(d).SetStartMinute(9 * 60).SetEndMinute(12*60 + 30).ExecX(ctx)
			c.WeeklyHours.Create().SetPractitionerID(p.ID).SetWeekday(d).SetStartMinute(13*60 + 30).SetEndMinute(17 * 60).ExecX(ctx)
		}
		c.DateOverride.Create().SetPractitionerID(p.ID).SetDate("2026-10-0" + string(rune('6'+i))).SetKind("CLOSED").ExecX(ctx)
	}
	svc := c.Service.Create().SetName("Initial").SetSlug("initial").SetDurationMinutes(30).SetSlotIntervalMinutes(15).
		SetBufferAfterMinutes(5).SetHorizonDays(365).SetActive(true).AddPractitioners(pracs...).SaveX(ctx)
	syd, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	for k := range 12 {
		start := time.Date(2026, 10, 2+k%7, 9+k%7, 15*(k%4), 0, 0, syd)
		c.Appointment.Create().SetServiceID(svc.ID).SetPractitionerID(pracs[k%2].ID).SetStartAt(start).
			SetEndAt(start.Add(30 * time.Minute)).SetBlockedStart(start).SetBlockedEnd(start.Add(35 * time.Minute)).
			SetState(appointment.StateCONFIRMED).ExecX(ctx)
	}
	r := &graph.Resolver{Client: c, Events: bus, Booking: eng,
		Catalog: catalog.New(c, db.Dialect, cache.NewMemory(), nil, catalog.Options{})}
	return slotsFixture{resolver: r, service: svc.ID, first: pracs[0].ID,
		from: time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC), to: time.Date(2026, 10, 9, 0, 0, 0, 0, time.UTC)}
}

// postRaw posts one operation to ts and returns the response body as sent.
func postRaw(t testing.TB, ts *httptest.Server, query string, vars map[string]any) []byte {
	t.Helper()
	return postAs(t, ts, "", query, vars)
}

// slotSelections are the selections the fast path must write exactly as
// gqlgen's generic executor does.
var slotSelections = []struct{ name, query string }{
	{"booking page", `query($s: ID!, $from: Time!, $to: Time!, $tz: String!) {
		availableSlots(serviceId: $s, from: $from, to: $to, timeZone: $tz) { start end practitioner { id name } } }`},
	{"aliases", `query($s: ID!, $from: Time!, $to: Time!, $tz: String!) {
		a: availableSlots(serviceId: $s, from: $from, to: $to, timeZone: $tz) { at: start until: end with: practitioner { who: name pid: id tz: timeZone } }
		b: availableSlots(serviceId: $s, from: $from, to: $to, timeZone: "UTC") { end start } }`},
	{"fragments and typenames", `query($s: ID!, $from: Time!, $to: Time!, $tz: String!) {
		availableSlots(serviceId: $s, from: $from, to: $to, timeZone: $tz) { ...S ... on Slot { end __typename } start }
	}
	fragment S on Slot { __typename start practitioner { ...P __typename } }
	fragment P on Practitioner { id bio photoUrl active }`},
	{"skip and include", `query($s: ID!, $from: Time!, $to: Time!, $tz: String!, $yes: Boolean!, $no: Boolean!) {
		availableSlots(serviceId: $s, from: $from, to: $to, timeZone: $tz) {
			start @skip(if: $yes) end @include(if: $yes) practitioner @include(if: $no) { id }
			... @include(if: $yes) { practitioner { name @skip(if: $no) } } } }`},
	{"two practitioner selections", `query($s: ID!, $from: Time!, $to: Time!, $tz: String!) {
		availableSlots(serviceId: $s, from: $from, to: $to, timeZone: $tz) { p: practitioner { id } q: practitioner { name timeZone } start start } }`},
	{"practitioner edges", `query($s: ID!, $from: Time!, $to: Time!, $tz: String!) {
		availableSlots(serviceId: $s, from: $from, to: $to, timeZone: $tz) { start practitioner { name
			services { name practitioners { name } } weeklyHours { weekday startMinute endMinute } dateOverrides { date kind } } } }`},
	{"one practitioner", `query($s: ID!, $p: ID, $from: Time!, $to: Time!, $tz: String!) {
		availableSlots(serviceId: $s, practitionerId: $p, from: $from, to: $to, timeZone: $tz) { start end practitioner { id } } }`},
	{"only a typename", `query($s: ID!, $from: Time!, $to: Time!, $tz: String!) {
		availableSlots(serviceId: $s, from: $from, to: $to, timeZone: $tz) { __typename } }`},
	{"a bad range", `query($s: ID!, $from: Time!, $tz: String!) {
		availableSlots(serviceId: $s, from: $from, to: $from, timeZone: $tz) { start } }`},
}

// TestSlotsFastPathMatchesGeneric: for every selection and several
// output zones (a clock change, half-hour and 45-minute offsets, UTC's
// "Z"), the fast path's response is byte for byte the generic executor's.
func TestSlotsFastPathMatchesGeneric(t *testing.T) {
	f := newSlotsFixture(t)
	ts := serve(t, graph.MustSchema(t, f.resolver), nil)
	for _, sel := range slotSelections {
		for _, tz := range []string{"Australia/Lord_Howe", "America/New_York", "Asia/Kathmandu", "UTC"} {
			vars := map[string]any{"s": f.service, "p": f.first, "from": f.from, "to": f.to, "tz": tz, "yes": true, "no": false}
			graph.SetSlotsFastPath(t, false)
			want := postRaw(t, ts, sel.query, vars)
			graph.SetSlotsFastPath(t, true)
			got := postRaw(t, ts, sel.query, vars)
			if !bytes.Equal(got, want) {
				t.Errorf("%s in %s: the fast path wrote\n%.600s\nthe generic executor\n%.600s", sel.name, tz, got, want)
			}
			if sel.name != "a bad range" && !bytes.Contains(want, []byte(`":[{`)) {
				t.Errorf("%s in %s: no slots to compare: %.300s", sel.name, tz, want)
			}
		}
	}
}

// sortedErrors returns a response with its errors sorted.
func sortedErrors(t *testing.T, body []byte) string {
	t.Helper()
	var res struct {
		Data   json.RawMessage   `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	errs := make([]string, len(res.Errors))
	for i, e := range res.Errors {
		errs[i] = string(e)
	}
	slices.Sort(errs)
	return string(res.Data) + "\n" + strings.Join(errs, "\n")
}

// TestSlotsFastPathAsksViewRuleOncePerPractitioner: the fast path puts a
// slot's practitioner through the same view rule as the generic executor,
// once per distinct practitioner rather than once per slot; when the rule
// refuses one, the answer (null data and a NOT_FOUND per refused slot) is
// the generic executor's.
func TestSlotsFastPathAsksViewRuleOncePerPractitioner(t *testing.T) {
	f := newSlotsFixture(t)
	var asked atomic.Int64
	var refuse atomic.Value
	refuse.Store("")
	rule := identity.Rule(func(_ context.Context, p *ent.Practitioner) bool {
		asked.Add(1)
		return p.Name != refuse.Load().(string)
	})
	ts := serve(t, graph.SchemaWithRules(t, f.resolver, rule), nil)
	vars := map[string]any{"s": f.service, "from": f.from, "to": f.to, "tz": "Australia/Sydney"}
	query := slotSelections[0].query

	graph.SetSlotsFastPath(t, false)
	asked.Store(0)
	want := postRaw(t, ts, query, vars)
	generic := asked.Load()
	graph.SetSlotsFastPath(t, true)
	asked.Store(0)
	got := postRaw(t, ts, query, vars)
	if !bytes.Equal(got, want) {
		t.Fatalf("the fast path wrote\n%.300s\nthe generic executor\n%.300s", got, want)
	}
	slots := int64(bytes.Count(want, []byte(`"start"`)))
	if asked.Load() != 3 || generic != slots || slots < 10 {
		t.Errorf("the rule was asked %d times on the fast path, %d on the generic one for %d slots; want 3 (one per practitioner) and one per slot",
			asked.Load(), generic, slots)
	}

	refuse.Store("Dr Bo")
	graph.SetSlotsFastPath(t, false)
	want = postRaw(t, ts, query, vars)
	graph.SetSlotsFastPath(t, true)
	got = postRaw(t, ts, query, vars)
	// The generic executor marshals a long list on several goroutines, so
	// its errors come in no fixed order.
	if g, w := sortedErrors(t, got), sortedErrors(t, want); g != w {
		t.Fatalf("with a refused practitioner the fast path wrote\n%.300s\nthe generic executor\n%.300s", g, w)
	}
	if !strings.Contains(string(want), `"data":null`) || !strings.Contains(string(want), "NOT_FOUND") {
		t.Errorf("a refused practitioner of a non-null field: %.300s; want null data and NOT_FOUND", want)
	}
}
