package booking

import (
	"math/rand/v2"
	"testing"
	"time"

	"frontdesk/gid"
)

// BenchmarkEngine measures the pure slot computation of the Speed case
// (20 practitioners, 60 days, any practitioner) without the database.
func BenchmarkEngine(b *testing.B) {
	now := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	syd, _ := time.LoadLocation("Australia/Sydney")
	var cals []*Calendar
	for i := range 20 {
		c := &Calendar{PractitionerID: gid.ID(string(rune('a' + i))), Location: syd, DayCounts: map[string]int{}}
		for d := 1; d <= 5; d++ {
			c.Weekly[d] = []MinuteRange{{540, 750}, {810, 1020}}
		}
		for range 160 {
			day := now.AddDate(0, 0, rng.IntN(62))
			s := time.Date(day.Year(), day.Month(), day.Day(), 9+rng.IntN(8), 15*rng.IntN(4), 0, 0, syd)
			c.Busy = append(c.Busy, Interval{s, s.Add(35 * time.Minute)})
		}
		cals = append(cals, c)
	}
	r := Rules{Duration: 30 * time.Minute, Interval: 15 * time.Minute, BufferAfter: 5 * time.Minute, HorizonDays: 365, DailyLimit: 6}
	q := Query{From: now.AddDate(0, 0, 1), To: now.AddDate(0, 0, 61), Now: now}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Available(cals, q, syd)
	}
}
