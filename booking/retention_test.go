package booking_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/booking"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/holderholds"
	"frontdesk/ent/practitionerday"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/outbox"
)

// TestSweepCounters: idle hold counters (holds = 0, unchanged since the
// cut-off) and day counters of days before the cut-off's UTC date are
// deleted in bounded batches; counters that count something, changed
// recently, or whose day may still come are kept. PruneCounters (the
// nightly booking.prune_counters task) keeps the last two UTC dates.
func TestSweepCounters(t *testing.T) {
	f := newFixture(t, database.Options{})
	ctx := context.Background()
	c := f.db.Client
	old := time.Now().Add(-3 * time.Hour)
	for _, h := range []struct {
		key     string
		holds   int
		changed time.Time
	}{
		{"usr_idle1", 0, old}, {"usr_idle2", 0, old}, {"ip:198.51.100.0/24", 0, old},
		{"usr_holding", 2, old}, {"ip:203.0.113.0/24", 1, old}, {"usr_just_zeroed", 0, time.Now()},
	} {
		c.HolderHolds.Create().SetHolderKey(h.key).SetHolds(h.holds).SetUpdatedAt(h.changed).ExecX(ctx)
	}
	for _, d := range []string{"2026-04-01", "2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-06-01"} {
		c.PractitionerDay.Create().SetPractitionerID(f.prac.ID).SetServiceID(f.free.ID).SetDay(d).SetAppointments(1).ExecX(ctx)
	}
	c.PractitionerDay.Create().SetPractitionerID(f.prac.ID).SetServiceID(f.paid.ID).SetDay("2026-05-01").ExecX(ctx)

	holders := func() []string {
		var out []string
		for _, h := range c.HolderHolds.Query().Order(ent.Asc(holderholds.FieldHolderKey)).AllX(ctx) {
			out = append(out, h.HolderKey)
		}
		return out
	}
	days := func() []string {
		var out []string
		for _, d := range c.PractitionerDay.Query().Order(ent.Asc(practitionerday.FieldDay)).AllX(ctx) {
			out = append(out, d.Day)
		}
		return out
	}
	cut := time.Now().Add(-time.Hour)
	if n, err := f.eng.SweepHoldCounts(ctx, cut, 2); err != nil || n != 2 {
		t.Fatalf("one batch of 2 hold counters: deleted %d, %v", n, err)
	}
	if n, err := outbox.Drain(ctx, f.eng.SweepHoldCounts, cut, 2); err != nil || n != 1 {
		t.Fatalf("drain hold counters: deleted %d, %v", n, err)
	}
	if got, want := holders(), []string{"ip:203.0.113.0/24", "usr_holding", "usr_just_zeroed"}; !slices.Equal(got, want) {
		t.Fatalf("hold counters left %q, want %q", got, want)
	}

	// A cut-off of 2026-05-03T05:00Z deletes the days before 2026-05-03.
	dayCut := time.Date(2026, 5, 3, 5, 0, 0, 0, time.UTC)
	if n, err := f.eng.SweepPractitionerDays(ctx, dayCut, 2); err != nil || n != 2 {
		t.Fatalf("one batch of 2 day counters: deleted %d, %v", n, err)
	}
	if n, err := outbox.Drain(ctx, f.eng.SweepPractitionerDays, dayCut, 2); err != nil || n != 2 {
		t.Fatalf("drain day counters: deleted %d, %v", n, err)
	}
	if got, want := days(), []string{"2026-05-03", "2026-05-04", "2026-06-01"}; !slices.Equal(got, want) {
		t.Fatalf("day counters left %q, want %q", got, want)
	}

	// The task: on 2026-06-03 (UTC) the days up to 2026-05-31 are over
	// everywhere, and 2026-06-01 (yesterday somewhere) is kept.
	f.setNow("2026-06-03T01:00:00Z")
	if _, _, err := f.eng.PruneCounters(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := days(), []string{"2026-06-01"}; !slices.Equal(got, want) {
		t.Fatalf("after PruneCounters: day counters left %q, want %q", got, want)
	}
	// Idle hold counters an hour after their last change (by the
	// engine's clock, here a year ahead) go too.
	f.setNow(time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339))
	if holds, _, err := f.eng.PruneCounters(ctx); err != nil || holds != 1 {
		t.Fatalf("PruneCounters: %d hold counters deleted, %v; want 1", holds, err)
	}
	if got, want := holders(), []string{"ip:203.0.113.0/24", "usr_holding"}; !slices.Equal(got, want) {
		t.Fatalf("hold counters left %q, want %q", got, want)
	}

	// The task is registered.
	reg := outbox.NewRegistry()
	booking.RegisterJobs(reg, f.eng)
	if !slices.Contains(reg.Names(), "booking.prune_counters") {
		t.Fatal("booking.prune_counters is not registered")
	}
}

// TestHoldRacesCounterSweep: patients whose hold counters are at 0 hold
// twice each (their cap) while sweepers delete idle counters as fast as
// they can. Every hold succeeds (none is refused for a counter the sweep
// took away) and afterwards every counter equals its holder's live holds
// (none is lost), round after round.
func TestHoldRacesCounterSweep(t *testing.T) {
	f := newFixture(t, database.Options{})
	ctx := context.Background()
	const holders, rounds = 6, 4
	future := time.Now().Add(24 * time.Hour) // every idle counter is fair game
	for round := range rounds {
		for i := range holders {
			key := string(identity.ViewerFrom(patient(i)).UserID)
			if !f.db.Client.HolderHolds.Query().Where(holderholds.HolderKey(key)).ExistX(ctx) {
				f.db.Client.HolderHolds.Create().SetHolderKey(key).ExecX(ctx)
			}
		}
		var done atomic.Bool
		var wg sync.WaitGroup
		var swept atomic.Int64
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !done.Load() {
					n, err := f.eng.SweepHoldCounts(ctx, future, 2)
					if err != nil {
						t.Errorf("sweep: %v", err)
						return
					}
					swept.Add(int64(n))
				}
			}()
		}
		var held sync.Map
		func() {
			defer wg.Wait()
			defer done.Store(true)
			race(t, holders*2, "", func(k int) error {
				i, slot := k/2, k%2
				start := f.at("2026-05-04 09:00").Add(time.Duration(round*holders+i)*24*time.Hour + time.Duration(slot)*time.Hour)
				h, err := f.hold(patient(i), f.free, start)
				if err == nil {
					held.Store(h.Appointment.ID, i)
				}
				return err
			})
		}()
		if t.Failed() {
			t.Fatalf("round %d: a hold failed while the sweep ran (%d counters swept)", round, swept.Load())
		}
		for i := range holders {
			key := string(identity.ViewerFrom(patient(i)).UserID)
			live := f.db.Client.Appointment.Query().Where(appointment.HolderKey(key), appointment.StateEQ(appointment.StateHELD)).CountX(ctx)
			row, err := f.db.Client.HolderHolds.Query().Where(holderholds.HolderKey(key)).Only(ctx)
			if err != nil || row.Holds != live || live != 2 {
				t.Fatalf("round %d, holder %d: %d live holds, counter %+v (%v); want 2 and 2", round, i, live, row, err)
			}
		}
		// The counters still cap: a third hold is refused.
		if _, err := f.hold(patient(0), f.free, f.at("2026-05-04 14:00").Add(time.Duration(round*holders)*24*time.Hour)); userCode(t, err) != "HOLD_LIMIT_REACHED" {
			t.Fatalf("round %d: third hold not refused: %v", round, err)
		}
		// Release every hold, so the counters are idle for the next round.
		held.Range(func(id, i any) bool {
			if _, err := f.eng.Cancel(patient(i.(int)), booking.ChangeInput{AppointmentID: id.(gid.ID)}); err != nil {
				t.Fatalf("release: %v", err)
			}
			return true
		})
		t.Logf("round %d: %d idle counters swept during the race", round, swept.Load())
	}
}
