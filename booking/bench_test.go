package booking_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"frontdesk/booking"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/internal/testenv"
)

// BenchmarkAvailableSlots is the Speed case of the booking issue: 20
// practitioners with weekly hours for the year, 5,000 appointments, and
// availableSlots for one service, any practitioner, over 60 days. It
// reports p50/p99 latency and SQL statements per call; run it on MariaDB
// with FRONTDESK_TEST_DATABASE_URL set (see docs/benchmarks.md).
func BenchmarkAvailableSlots(b *testing.B) {
	counter, wrap := testenv.CountQueries()
	db := testenv.DB(b, database.Options{Driver: wrap})
	ctx := context.Background()
	c := db.Client
	now := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	eng := booking.New(c, booking.Options{ManageKey: []byte("bench"), Now: func() time.Time { return now }})

	zones := []string{"Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane", "America/New_York"}
	var pracs []*ent.Practitioner
	for i := range 20 {
		p := c.Practitioner.Create().SetName("Practitioner").SetTimeZone(zones[i%len(zones)]).SaveX(ctx)
		pracs = append(pracs, p)
		var hours []*ent.WeeklyHoursCreate
		for d := 1; d <= 5; d++ { // Monday to Friday, with a lunch break
			hours = append(hours,
				c.WeeklyHours.Create().SetPractitionerID(p.ID).SetWeekday(d).SetStartMinute(9*60).SetEndMinute(12*60+30),
				c.WeeklyHours.Create().SetPractitionerID(p.ID).SetWeekday(d).SetStartMinute(13*60+30).SetEndMinute(17*60))
		}
		c.WeeklyHours.CreateBulk(hours...).ExecX(ctx)
		// A few days off across the year.
		for k := range 6 {
			c.DateOverride.Create().SetPractitionerID(p.ID).SetDate(now.AddDate(0, 0, 30+k*55).Format(time.DateOnly)).
				SetKind("CLOSED").ExecX(ctx)
		}
	}
	svc := c.Service.Create().SetName("Initial").SetSlug("initial").SetDurationMinutes(30).SetSlotIntervalMinutes(15).
		SetBufferAfterMinutes(5).SetHorizonDays(365).SetDailyLimit(6).AddPractitioners(pracs...).SaveX(ctx)
	other := c.Service.Create().SetName("Follow-up").SetSlug("follow-up").SetDurationMinutes(15).
		AddPractitioners(pracs...).SaveX(ctx)

	rng := rand.New(rand.NewPCG(1, 2))
	var batch []*ent.AppointmentCreate
	for i := range 5000 {
		p := pracs[rng.IntN(len(pracs))]
		loc, _ := time.LoadLocation(p.TimeZone)
		day := now.AddDate(0, 0, rng.IntN(365))
		start := time.Date(day.Year(), day.Month(), day.Day(), 9+rng.IntN(8), 15*rng.IntN(4), 0, 0, loc)
		s := svc
		if i%3 == 0 {
			s = other
		}
		dur := time.Duration(s.DurationMinutes) * time.Minute
		batch = append(batch, c.Appointment.Create().SetServiceID(s.ID).SetPractitionerID(p.ID).
			SetStartAt(start).SetEndAt(start.Add(dur)).SetBlockedStart(start).SetBlockedEnd(start.Add(dur+5*time.Minute)).
			SetState(appointment.StateCONFIRMED))
		if len(batch) == 500 {
			c.Appointment.CreateBulk(batch...).ExecX(ctx)
			batch = batch[:0]
		}
	}
	in := booking.SlotsInput{ServiceID: svc.ID, From: now.AddDate(0, 0, 1), To: now.AddDate(0, 0, 61), TimeZone: "Australia/Sydney"}
	if _, err := eng.AvailableSlots(ctx, in); err != nil { // warm up
		b.Fatal(err)
	}
	counter.Reset()
	cpu0 := cpuTime(b)
	durations := make([]time.Duration, 0, b.N)
	slots := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		res, err := eng.AvailableSlots(ctx, in)
		durations = append(durations, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		slots = len(res)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/call")
	slices.Sort(durations)
	pct := func(p float64) float64 {
		return float64(durations[int(float64(len(durations)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(counter.Count())/float64(b.N), "queries/call")
	b.ReportMetric(float64(slots), "slots")
}

// cpuTime is the CPU time this process has used (all threads, GC
// included). On a shared machine it shows the cost of a call apart from
// time spent waiting for a core.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
