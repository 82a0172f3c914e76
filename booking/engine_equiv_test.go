package booking

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"frontdesk/gid"
)

// TestEngineMatchesReference compares the engine with the earlier one
// (reference_test.go) on random calendars in zones with unusual clock
// changes: half-hour DST (Lord Howe), changes at midnight (Santiago,
// Havana), a skipped day (Apia, 2011), Ramadan suspensions
// (Casablanca), quarter-hour offsets (Kathmandu, Chatham), and the two the
// issue names.
func TestEngineMatchesReference(t *testing.T) {
	zones := []string{"Australia/Sydney", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
		"America/Havana", "Pacific/Apia", "Africa/Casablanca", "Asia/Kathmandu", "Pacific/Chatham",
		"Europe/London", "UTC", "Asia/Tehran"}
	rng := rand.New(rand.NewPCG(7, 11))
	minute := func(lo, hi int) int { return lo + rng.IntN(hi-lo+1) }
	randRange := func() MinuteRange {
		s := minute(0, 1430)
		return MinuteRange{s, min(1440, s+5*minute(-2, 120))} // sometimes empty or inverted
	}
	total := 0
	for iter := range 400 {
		loc := mustZone(t, zones[iter%len(zones)])
		clientLoc := mustZone(t, zones[rng.IntN(len(zones))])
		base := time.Date(2009+rng.IntN(19), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), 0, 0, 0, time.UTC)
		if iter%12 == 5 {
			base = time.Date(2011, 12, 1, 0, 0, 0, 0, time.UTC) // Apia skipped 30 December 2011
		}
		var cals []*Calendar
		for p := range 1 + rng.IntN(4) {
			c := &Calendar{PractitionerID: gid.ID(fmt.Sprintf("prac_%d", rng.IntN(3))), Location: loc,
				Overrides: map[string][]Override{}, DayCounts: map[string]int{}, Booked: rng.IntN(4)}
			if p > 0 && rng.IntN(2) == 0 {
				c.Location = mustZone(t, zones[rng.IntN(len(zones))])
			}
			for d := range 7 {
				for range rng.IntN(4) {
					c.Weekly[d] = append(c.Weekly[d], randRange())
				}
			}
			for range rng.IntN(8) {
				day := base.AddDate(0, 0, rng.IntN(70)-3).Format(time.DateOnly)
				o := Override{Open: rng.IntN(2) == 0}
				if rng.IntN(4) > 0 {
					r := randRange()
					o.Range = &r
				}
				c.Overrides[day] = append(c.Overrides[day], o)
			}
			for range rng.IntN(10) {
				c.DayCounts[base.AddDate(0, 0, rng.IntN(70)-3).Format(time.DateOnly)] += 1 + rng.IntN(3)
			}
			c.Overrides["not-a-date"] = []Override{{}}
			for range rng.IntN(150) {
				s := base.Add(time.Duration(rng.IntN(70*24*12)) * 5 * time.Minute)
				c.Busy = append(c.Busy, Interval{s, s.Add(time.Duration(rng.IntN(30)-2) * 5 * time.Minute)})
			}
			cals = append(cals, c)
		}
		r := Rules{
			Duration: time.Duration(5*minute(1, 24)) * time.Minute, Interval: time.Duration(5*minute(1, 12)) * time.Minute,
			BufferBefore: time.Duration(5*rng.IntN(4)) * time.Minute, BufferAfter: time.Duration(5*rng.IntN(4)) * time.Minute,
			MinNotice: time.Duration(rng.IntN(48)) * time.Hour, HorizonDays: 30 + rng.IntN(60), DailyLimit: rng.IntN(4),
		}
		q := Query{From: base, To: base.Add(time.Duration(1+rng.IntN(60*24)) * time.Hour), Now: base.Add(-time.Duration(rng.IntN(72)) * time.Hour),
			IgnoreNotice: rng.IntN(3) == 0}
		render := func(slots []Slot) []string {
			out := make([]string, len(slots))
			for i, s := range slots {
				out[i] = s.Start.Format(time.RFC3339) + "/" + s.End.Format(time.RFC3339) + " " + string(s.PractitionerID)
			}
			return out
		}
		want := refAvailable(r, cals, q, clientLoc)
		total += len(want)
		if diff := cmp.Diff(render(want), render(r.Available(cals, q, clientLoc))); diff != "" {
			t.Fatalf("iteration %d (%s from %s): Available differs (-reference +engine):\n%s", iter, loc, base, diff)
		}
		mergeOnly = true // the way starts off the minute grid take
		merged := r.Available(cals, q, clientLoc)
		mergeOnly = false
		if diff := cmp.Diff(render(want), render(merged)); diff != "" {
			t.Fatalf("iteration %d (%s from %s): Available by merge differs (-reference +engine):\n%s", iter, loc, base, diff)
		}
		if diff := cmp.Diff(render(refSlots(r, cals[0], q)), render(r.Slots(cals[0], q))); diff != "" {
			t.Fatalf("iteration %d (%s from %s): Slots differs (-reference +engine):\n%s", iter, loc, base, diff)
		}
	}
	if total < 20000 {
		t.Errorf("only %d slots compared: the random calendars are too empty to prove much", total)
	}
	t.Logf("%d slots compared", total)
}

// TestZoneDaysMatchesTimeDate checks the wall-clock shortcut against
// time.Date for every minute boundary of every day over decades.
func TestZoneDaysMatchesTimeDate(t *testing.T) {
	for _, name := range []string{"Australia/Sydney", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
		"Pacific/Apia", "Africa/Casablanca", "America/Havana", "Asia/Kathmandu"} {
		loc := mustZone(t, name)
		z := zoneDays{loc: loc}
		plain := 0
		first, last := civilDay(2005, 1, 1), civilDay(2030, 12, 31)
		for day := first; day <= last; day++ {
			mid, ok := z.midnight(day)
			if !ok {
				continue
			}
			plain++
			y, m, d := civilDate(day)
			for _, minute := range []int{0, 1, 59, 60, 119, 120, 150, 179, 180, 720, 1380, 1439, 1440} {
				if want := wallClock(y, m, d, minute, loc).Unix(); mid+int64(minute)*60 != want {
					t.Fatalf("%s %04d-%02d-%02d minute %d: shortcut %d, time.Date %d", name, y, m, d, minute, mid+int64(minute)*60, want)
				}
			}
		}
		if total := int(last - first + 1); plain < total*9/10 {
			t.Errorf("%s: only %d of %d days took the shortcut", name, plain, total)
		}
	}
}

func TestParseDay(t *testing.T) {
	for _, s := range []string{"1970-01-01", "2026-02-28", "2024-02-29", "1969-12-31", "2100-12-31"} {
		d, ok := parseDay(s)
		want, _ := time.Parse(time.DateOnly, s)
		if !ok || d != want.Unix()/secondsPerDay || weekdayOf(d) != want.Weekday() {
			t.Errorf("parseDay(%q) = %d, %v; want %d (%s)", s, d, ok, want.Unix()/secondsPerDay, want.Weekday())
		}
	}
	for _, s := range []string{"", "2026-2-28", "2026-02-30", "2026-13-01", "2026/02/01", "abcd-ef-gh", "2026-02-28x"} {
		if _, ok := parseDay(s); ok {
			t.Errorf("parseDay(%q) accepted", s)
		}
	}
}

// TestEngineOffTheMinuteGrid: Monrovia kept -0:44:30 until 1972, so its
// slots started on the half minute; they take the merge, and still match
// the reference.
func TestEngineOffTheMinuteGrid(t *testing.T) {
	loc := mustZone(t, "Africa/Monrovia")
	base := time.Date(1971, 3, 1, 0, 0, 0, 0, time.UTC)
	var cals []*Calendar
	for p := range 3 {
		c := &Calendar{PractitionerID: gid.ID(fmt.Sprintf("prac_%d", p)), Location: loc, Booked: p % 2}
		for d := range 7 {
			c.Weekly[d] = []MinuteRange{{9*60 + 5*p, 17 * 60}}
		}
		cals = append(cals, c)
	}
	r := Rules{Duration: 30 * time.Minute, Interval: 15 * time.Minute, HorizonDays: 30}
	q := Query{From: base, To: base.AddDate(0, 0, 7), Now: base.Add(-time.Hour)}
	got, want := r.Available(cals, q, time.UTC), refAvailable(r, cals, q, time.UTC)
	if len(want) == 0 || want[0].Start.Second() != 30 {
		t.Fatalf("expected half-minute starts, got %v", want[:min(len(want), 1)])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("off the minute grid (-reference +engine):\n%s", diff)
	}
}
