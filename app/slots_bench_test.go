package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"frontdesk/app"
	"frontdesk/booking"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/internal/testenv"
)

// slotsQuery is the booking page's question: every free start of a
// service with any practitioner over 60 days, with who the slot is with.
const slotsQuery = `query Slots($service: ID!, $from: Time!, $to: Time!) {
  availableSlots(serviceId: $service, from: $from, to: $to, timeZone: "Australia/Sydney") {
    start end practitioner { id name } } }`

// BenchmarkAvailableSlotsHTTP is availableSlots through the real server
// (app.New on 127.0.0.1): 20 practitioners in four zones with weekday
// hours and a lunch break, 5,000 confirmed appointments, one service, any
// practitioner, 60 days (about 2,600 slots). It runs one client (latency)
// and 16 clients (throughput) and, in the same run, a plain net/http
// handler writing the same bytes (the ceiling). Every request computes the
// slots afresh from the calendars, which are cached under the
// availability version (booking/calendars.go); slots/after-write-1client
// replaces the version before each request (outside its timing), as a
// write does, so every request reads the calendars from the database:
// what the first question after a hold costs.
func BenchmarkAvailableSlotsHTTP(b *testing.B) {
	counter, wrap := testenv.CountQueries()
	cfg := testenv.Config(b)
	cfg.Workers = false
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, app.NewLogger(io.Discard, "info"), app.Options{Driver: wrap})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	serviceID := seedSlotsBench(b, ctx, a.DB.Client)
	// Replacing the availability version is what a hold or a booking
	// does after it commits (without a statement of its own to count).
	n := 0
	write := func() {
		n++
		if err := a.Cache.Set(ctx, booking.AvailabilityVersionKey, fmt.Appendf(nil, "bench-%d", n), time.Hour); err != nil {
			b.Error(err) // called from benchDrive's client goroutine
		}
	}

	url := serveForBench(b, a)
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true},
	}
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)
	body := benchJSON(map[string]any{"query": slotsQuery, "variables": map[string]any{
		"service": serviceID, "from": day.Format(time.RFC3339), "to": day.AddDate(0, 0, 60).Format(time.RFC3339)}})
	sample, err := benchPost(client, url, body)
	if err != nil {
		b.Fatal(err)
	}
	var shape struct {
		Data struct{ AvailableSlots []struct{ Start string } }
	}
	if err := json.Unmarshal(sample, &shape); err != nil || len(shape.Data.AvailableSlots) < 1000 {
		b.Fatalf("unexpected slots (%v): %.300s", err, sample)
	}
	b.Logf("%d slots, %d bytes per response", len(shape.Data.AvailableSlots), len(sample))

	plainURL := ceilingForBench(b, func() []byte { return sample })

	same := func(int) []byte { return body }
	var ceiling float64
	for _, c := range []struct {
		name       string
		clients    int
		url        string
		afterWrite bool
	}{
		{"ceiling", benchClients, plainURL, false},
		{"slots/1-client", 1, url, false},
		{"slots/16-clients", benchClients, url, false},
		{"slots/after-write-1client", 1, url, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			// Process CPU (the in-process load generator included: the
			// ceiling row shows its share) is the figure to compare on a
			// busy machine.
			cpu0 := processCPU(b)
			r := benchDrive(b, client, c.url, b.N, c.clients, same, c.afterWrite, write, counter)
			b.ReportMetric(float64(processCPU(b)-cpu0)/1e6/float64(b.N), "cpu-ms/req")
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(r.p50.Seconds()*1e3, "p50-ms")
			b.ReportMetric(r.p99.Seconds()*1e3, "p99-ms")
			b.ReportMetric(r.rps, "req/s")
			b.ReportMetric(r.sql, "sql/req")
			b.ReportMetric(r.allocs, "allocs/req")
			if c.name == "ceiling" {
				ceiling = r.rps
			} else if ceiling > 0 {
				b.ReportMetric(100*r.rps/ceiling, "%ceiling")
			}
		})
	}
}

// seedSlotsBench writes the practitioners, hours, days off and
// appointments of BenchmarkAvailableSlotsHTTP and returns the service's
// global ID.
func seedSlotsBench(b *testing.B, ctx context.Context, c *ent.Client) string {
	b.Helper()
	now := time.Now().UTC()
	zones := []string{"Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane", "America/New_York"}
	var pracs []*ent.Practitioner
	for i := range 20 {
		p := c.Practitioner.Create().SetName(fmt.Sprintf("Practitioner %d", i+1)).SetTimeZone(zones[i%len(zones)]).SaveX(ctx)
		pracs = append(pracs, p)
		var hours []*ent.WeeklyHoursCreate
		for d := 1; d <= 5; d++ {
			hours = append(hours,
				c.WeeklyHours.Create().SetPractitionerID(p.ID).SetWeekday(d).SetStartMinute(9*60).SetEndMinute(12*60+30),
				c.WeeklyHours.Create().SetPractitionerID(p.ID).SetWeekday(d).SetStartMinute(13*60+30).SetEndMinute(17*60))
		}
		c.WeeklyHours.CreateBulk(hours...).ExecX(ctx)
		for k := range 6 {
			c.DateOverride.Create().SetPractitionerID(p.ID).SetDate(now.AddDate(0, 0, 10+k*11).Format(time.DateOnly)).
				SetKind("CLOSED").ExecX(ctx)
		}
	}
	svc := c.Service.Create().SetName("Initial").SetSlug("initial").SetDurationMinutes(30).SetSlotIntervalMinutes(15).
		SetBufferAfterMinutes(5).SetHorizonDays(365).SetDailyLimit(6).SetActive(true).AddPractitioners(pracs...).SaveX(ctx)
	rng := rand.New(rand.NewPCG(1, 2))
	var batch []*ent.AppointmentCreate
	for range 5000 {
		p := pracs[rng.IntN(len(pracs))]
		loc, err := time.LoadLocation(p.TimeZone)
		if err != nil {
			b.Fatal(err)
		}
		day := now.AddDate(0, 0, rng.IntN(365))
		start := time.Date(day.Year(), day.Month(), day.Day(), 9+rng.IntN(8), 15*rng.IntN(4), 0, 0, loc)
		batch = append(batch, c.Appointment.Create().SetServiceID(svc.ID).SetPractitionerID(p.ID).
			SetStartAt(start).SetEndAt(start.Add(30*time.Minute)).SetBlockedStart(start).SetBlockedEnd(start.Add(35*time.Minute)).
			SetState(appointment.StateCONFIRMED))
		if len(batch) == 500 {
			c.Appointment.CreateBulk(batch...).ExecX(ctx)
			batch = batch[:0]
		}
	}
	return svc.ID.String()
}
