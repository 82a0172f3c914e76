package booking

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"frontdesk/gid"
)

// TestCachedPlanMatchesCalendar: a plan built from cached rows (calData,
// with holds that have and have not expired, appointments of several
// services, busy blocks and overrides) offers exactly the slots the engine
// offers for the equivalent Calendar, as the loader built it before the
// cache (expired holds left out, day counts of the queried service,
// appointments in the range counted as booked).
func TestCachedPlanMatchesCalendar(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	zones := []string{"Australia/Sydney", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"}
	services := []gid.ID{"svc_a", "svc_b", "svc_c"}
	total := 0
	for iter := range 200 {
		base := time.Date(2026, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		now := base.Add(-time.Duration(rng.IntN(48)) * time.Hour)
		from, to := base, base.Add(time.Duration(1+rng.IntN(30))*24*time.Hour)
		var plans []*plan
		var cals []*Calendar
		for p := range 1 + rng.IntN(4) {
			loc := mustZone(t, zones[rng.IntN(len(zones))])
			id := gid.ID(fmt.Sprintf("prac_%d", p))
			d := &calData{}
			c := &Calendar{PractitionerID: id, Location: loc, Overrides: map[string][]Override{}, DayCounts: map[string]int{}}
			for wd := range 7 {
				if rng.IntN(5) > 0 {
					r := []MinuteRange{{8 * 60, 12 * 60}, {13 * 60, 17*60 + 5*rng.IntN(12)}}
					d.weekly[wd], c.Weekly[wd] = r, r
				}
			}
			for range rng.IntN(4) {
				day := base.AddDate(0, 0, rng.IntN(30))
				o := Override{Open: rng.IntN(2) == 0, Range: &MinuteRange{10 * 60, 11 * 60}}
				if !o.Open && rng.IntN(2) == 0 {
					o.Range = nil
				}
				dn, _ := parseDay(day.Format(time.DateOnly))
				d.overrides = append(d.overrides, dayNote{day: dn, overrides: []Override{o}})
				c.Overrides[day.Format(time.DateOnly)] = append(c.Overrides[day.Format(time.DateOnly)], o)
			}
			for range rng.IntN(120) {
				start := base.Add(time.Duration(rng.IntN(31*24*4)) * 15 * time.Minute)
				svc := services[rng.IntN(len(services))]
				r := apptRow{start: start.Unix(), blockedStart: start.Unix(), blockedEnd: start.Add(35 * time.Minute).Unix(),
					day: dayOf(start, loc), service: d.service(svc)}
				if r.service < 0 {
					r.service = int32(len(d.services))
					d.services = append(d.services, svc)
				}
				expired := false
				if rng.IntN(4) == 0 { // a hold, expired at now or not
					expires := now.Add(time.Duration(rng.IntN(20)-10) * time.Minute)
					r.holdExpires, expired = expires.UnixMicro(), !expires.After(now)
				}
				d.appts = append(d.appts, r)
				if expired {
					continue
				}
				c.Busy = append(c.Busy, Interval{start, start.Add(35 * time.Minute)})
				if svc == services[0] {
					c.DayCounts[start.In(loc).Format(time.DateOnly)]++
				}
				if !start.Before(from) && start.Before(to) {
					c.Booked++
				}
			}
			for range rng.IntN(5) {
				s := base.Add(time.Duration(rng.IntN(30*24)) * time.Hour)
				e := s.Add(time.Duration(rng.IntN(5)) * time.Hour)
				d.blocks = append(d.blocks, span{s.Unix(), e.Unix()})
				c.Busy = append(c.Busy, Interval{s, e})
			}
			sortCalData(d)
			plans = append(plans, d.plan(id, loc, services[0], from, to, now))
			cals = append(cals, c)
		}
		r := Rules{Duration: 30 * time.Minute, Interval: 15 * time.Minute, BufferAfter: 5 * time.Minute,
			MinNotice: time.Duration(rng.IntN(24)) * time.Hour, HorizonDays: 365, DailyLimit: rng.IntN(5)}
		q := Query{From: from, To: to, Now: now}
		want := r.Available(cals, q, time.UTC)
		got := []Slot{}
		for _, w := range r.winners(plans, q) {
			s := time.Unix(w.start, 0).UTC()
			got = append(got, Slot{Start: s, End: s.Add(r.Duration), PractitionerID: plans[w.cal].id})
		}
		total += len(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("iteration %d: cached plan differs from the calendar (-calendar +plan):\n%s", iter, diff)
		}
		for i, p := range plans {
			if p.booked != cals[i].Booked || !slices.IsSortedFunc(p.notes, func(a, b dayNote) int { return int(a.day - b.day) }) {
				t.Fatalf("iteration %d: plan %d booked %d (want %d), notes in order %v", iter, i, p.booked, cals[i].Booked,
					slices.IsSortedFunc(p.notes, func(a, b dayNote) int { return int(a.day - b.day) }))
			}
		}
	}
	if total < 5000 {
		t.Errorf("only %d slots compared", total)
	}
	t.Logf("%d slots compared", total)
}
