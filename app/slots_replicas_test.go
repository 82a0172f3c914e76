package app_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"frontdesk/app"
	"frontdesk/config"
	"frontdesk/internal/testenv"
)

// TestAvailableSlotsFreshAcrossReplicas: two replicas on one database and
// one Redis. Replica b answers availableSlots from its cached calendars
// (a repeated question runs no SQL), and still every write made on
// replica a (a hold, its cancellation, a day closed by an override
// written through a's client) shows in b's very next answer, because the
// write replaced the availability version in Redis. Without the version
// bump b keeps answering from its cache and the test fails.
func TestAvailableSlotsFreshAcrossReplicas(t *testing.T) {
	if os.Getenv("FRONTDESK_TEST_REDIS_URL") == "" {
		t.Skip("needs Redis (FRONTDESK_TEST_REDIS_URL): replicas share the availability version there")
	}
	a := start(t, nil)
	counter, wrap := testenv.CountQueries()
	b := startWith(t, func(c *config.Config) {
		c.DatabaseURL, c.DataDir = a.app.Config.DatabaseURL, a.app.Config.DataDir
		c.RedisURL, c.RedisPrefix = a.app.Config.RedisURL, a.app.Config.RedisPrefix
		c.MigrateOnStart = false
		c.Workers = false // the counting driver has no BeginTx; b only answers questions
	}, app.Options{Driver: wrap})

	ctx := context.Background()
	c := a.app.DB.Client
	prac := c.Practitioner.Create().SetName("Dr Ada").SetTimeZone("Australia/Sydney").SaveX(ctx)
	for d := range 7 {
		c.WeeklyHours.Create().SetPractitionerID(prac.ID).SetWeekday(d).SetStartMinute(9 * 60).SetEndMinute(12 * 60).ExecX(ctx)
	}
	svc := c.Service.Create().SetName("Follow-up").SetSlug("follow-up").SetDurationMinutes(60).SetSlotIntervalMinutes(60).
		SetActive(true).AddPractitioners(prac).SaveX(ctx)
	sydney, _ := time.LoadLocation("Australia/Sydney")
	d := time.Now().In(sydney).AddDate(0, 0, 3)
	at := func(hour int) string {
		return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, sydney).Format(time.RFC3339)
	}
	const slotsOp = `query($s: ID!, $from: Time!, $to: Time!) { availableSlots(serviceId: $s, from: $from, to: $to, timeZone: "Australia/Sydney") { start } }`
	vars := map[string]any{"s": svc.ID, "from": at(0), "to": at(23)}
	// starts asks b, twice: the second answer must come from b's cache.
	starts := func(when string) []string {
		t.Helper()
		var out []string
		for i := range 2 {
			counter.Reset()
			r := b.ok(t, slotsOp, vars)
			var got []string
			for _, s := range field(r, "availableSlots").([]any) {
				got = append(got, s.(map[string]any)["start"].(string))
			}
			if i == 1 {
				if q := counter.Count(); q != 0 || !slices.Equal(got, out) {
					t.Fatalf("%s: repeated question on b ran %d statements (want 0 from the cache), answers %v and %v", when, q, out, got)
				}
			}
			out = got
		}
		return out
	}
	if got := starts("before any write"); !slices.Equal(got, []string{at(9), at(10), at(11)}) {
		t.Fatalf("before any write: %v", got)
	}

	r := a.ok(t, opHoldSlot, map[string]any{"in": map[string]any{"serviceId": svc.ID, "practitionerId": prac.ID, "start": at(10)}})
	id, token := field(r, "holdSlot.appointment.id"), field(r, "holdSlot.holdToken")
	if got := starts("after a hold on a"); !slices.Equal(got, []string{at(9), at(11)}) {
		t.Errorf("after a hold on a, b offers %v", got)
	}
	a.ok(t, `mutation($in: CancelAppointmentInput!) { cancelAppointment(input: $in) { appointment { state } } }`,
		map[string]any{"in": map[string]any{"appointmentId": id, "manageToken": token}})
	if got := starts("after the hold's release on a"); !slices.Equal(got, []string{at(9), at(10), at(11)}) {
		t.Errorf("after the hold's release on a, b offers %v", got)
	}
	c.DateOverride.Create().SetPractitionerID(prac.ID).SetDate(d.Format(time.DateOnly)).SetKind("CLOSED").ExecX(ctx)
	if got := starts("after a day off written on a"); len(got) != 0 {
		t.Errorf("after a day off written on a, b offers %v", got)
	}
}
