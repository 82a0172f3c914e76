package booking_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/booking"
	"frontdesk/cache"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/internal/testenv"
)

// dayStarts returns the free starts (local HH:MM) of the fixture's free
// service on 2026-05-04 and how many queries answering took.
func (f *fixture) dayStarts(counter *testenv.QueryCounter) ([]string, int64) {
	f.t.Helper()
	counter.Reset()
	slots, err := f.eng.AvailableSlots(context.Background(), booking.SlotsInput{ServiceID: f.free.ID,
		From: f.at("2026-05-04 00:00"), To: f.at("2026-05-05 00:00"), TimeZone: "Australia/Sydney"})
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]string, len(slots))
	for i, s := range slots {
		out[i] = s.Start.Format("15:04")
	}
	return out, counter.Count()
}

// TestCachedCalendarsFollowWrites asks the same question before and after
// each kind of write that changes availability. The first answer is
// cached (a repeat takes no query), so each later answer is right only
// because the write replaced the availability version: without the hooks
// in calendars.go every check after the first fails.
func TestCachedCalendarsFollowWrites(t *testing.T) {
	counter, wrap := testenv.CountQueries()
	f := newFixture(t, database.Options{Driver: wrap})
	ctx := context.Background()
	has := func(starts []string, hhmm string) bool { return slices.Contains(starts, hhmm) }
	cachedStarts := func() []string {
		t.Helper()
		starts, _ := f.dayStarts(counter)
		again, q := f.dayStarts(counter)
		if q != 0 || !slices.Equal(starts, again) {
			t.Fatalf("repeated question: %d queries (want 0), %v then %v", q, starts, again)
		}
		return starts
	}
	if s := cachedStarts(); !has(s, "09:00") || len(s) != 16 {
		t.Fatalf("before any write: %v", s)
	}

	// A hold takes its time; booking it keeps it after the hold's expiry
	// (the expiry is cleared, which must retire the cached hold too).
	h, err := f.hold(patient(1), f.free, f.at("2026-05-04 09:00"))
	if err != nil {
		t.Fatal(err)
	}
	if s := cachedStarts(); has(s, "09:00") {
		t.Errorf("after a hold: 09:00 still offered")
	}
	b, err := f.eng.Book(patient(1), booking.BookInput{AppointmentID: h.Appointment.ID, HoldToken: h.Token})
	if err != nil {
		t.Fatal(err)
	}
	f.setNow("2026-05-01T00:30:00Z") // past the hold's expiry
	if s := cachedStarts(); has(s, "09:00") {
		t.Errorf("after booking the hold and its expiry: 09:00 offered again")
	}
	if _, err := f.eng.Cancel(patient(1), booking.ChangeInput{AppointmentID: b.Appointment.ID}); err != nil {
		t.Fatal(err)
	}
	if s := cachedStarts(); !has(s, "09:00") {
		t.Errorf("after cancelling: 09:00 not offered")
	}

	// Hours, overrides, busy blocks, the service and the practitioner.
	if _, err := f.eng.SetWeeklyHours(f.staff, f.prac.ID, map[time.Weekday][]booking.MinuteRange{
		time.Monday: {{Start: 10 * 60, End: 12 * 60}}}); err != nil {
		t.Fatal(err)
	}
	if s := cachedStarts(); len(s) != 4 || s[0] != "10:00" {
		t.Errorf("after new weekly hours 10:00-12:00: %v", s)
	}
	o, err := f.eng.AddDateOverride(f.staff, booking.OverrideInput{PractitionerID: f.prac.ID, Date: "2026-05-04"})
	if err != nil {
		t.Fatal(err)
	}
	if s := cachedStarts(); len(s) != 0 {
		t.Errorf("after closing the day: %v", s)
	}
	if _, err := f.eng.DeleteDateOverride(f.staff, o.ID); err != nil {
		t.Fatal(err)
	}
	if s := cachedStarts(); len(s) != 4 {
		t.Errorf("after reopening the day: %v", s)
	}
	err = database.WithTx(ctx, f.db.Client, func(tx *ent.Tx) error {
		return booking.PutBusyBlock(ctx, tx, f.prac.ID, "msgraph", booking.BusyBlock{ExternalID: "evt1",
			Start: f.at("2026-05-04 10:00"), End: f.at("2026-05-04 11:00")})
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := cachedStarts(); len(s) != 2 || s[0] != "11:00" {
		t.Errorf("after a busy block 10:00-11:00: %v", s)
	}
	interval := 60
	if _, err := f.eng.UpdateService(f.staff, f.free.ID, booking.ServiceInput{SlotInterval: &interval}); err != nil {
		t.Fatal(err)
	}
	if s := cachedStarts(); len(s) != 1 || s[0] != "11:00" {
		t.Errorf("after an hourly interval: %v", s)
	}
	inactive := false
	if _, err := f.eng.UpdatePractitioner(f.staff, f.prac.ID, booking.PractitionerInput{Active: &inactive}); err != nil {
		t.Fatal(err)
	}
	if s := cachedStarts(); len(s) != 0 {
		t.Errorf("after deactivating the practitioner: %v", s)
	}
}

// TestCachedHoldExpiresByClock: a hold's expiry is compared with the
// clock on every question, never frozen in the cache, so its time comes
// back the moment it runs out, without a write and without a query.
func TestCachedHoldExpiresByClock(t *testing.T) {
	counter, wrap := testenv.CountQueries()
	f := newFixture(t, database.Options{Driver: wrap})
	if _, err := f.hold(patient(1), f.free, f.at("2026-05-04 09:00")); err != nil {
		t.Fatal(err)
	}
	if s, _ := f.dayStarts(counter); slices.Contains(s, "09:00") {
		t.Fatalf("held 09:00 offered: %v", s)
	}
	f.setNow("2026-05-01T00:09:59Z")
	if s, q := f.dayStarts(counter); slices.Contains(s, "09:00") || q != 0 {
		t.Errorf("before the expiry: 09:00 offered %v, %d queries (want 0)", slices.Contains(s, "09:00"), q)
	}
	f.setNow("2026-05-01T00:10:00Z") // HoldTTL is 10 minutes
	if s, q := f.dayStarts(counter); !slices.Contains(s, "09:00") || q != 0 {
		t.Errorf("at the expiry: 09:00 offered %v, %d queries (want 0)", slices.Contains(s, "09:00"), q)
	}
}

// downStore is a shared store that fails every call while down is set,
// as Redis behind an open breaker does.
type downStore struct {
	*cache.Memory
	down atomic.Bool
}

func (s *downStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if s.down.Load() {
		return nil, false, cache.ErrUnavailable
	}
	return s.Memory.Get(ctx, key)
}

func (s *downStore) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if s.down.Load() {
		return cache.ErrUnavailable
	}
	return s.Memory.Set(ctx, key, v, ttl)
}

// TestCalendarsWithoutRedis: while the shared store fails, questions read
// the database every time (six queries) rather than trust a cache that
// cannot hear of other replicas' writes; once it answers again the cache
// is used again.
func TestCalendarsWithoutRedis(t *testing.T) {
	counter, wrap := testenv.CountQueries()
	f := newFixture(t, database.Options{Driver: wrap})
	store := &downStore{Memory: cache.NewMemory()}
	f.eng = booking.New(f.db.Client, booking.Options{ManageKey: []byte("test-key"), Cache: store,
		Now: func() time.Time { return *f.now.Load() }})
	if _, q := f.dayStarts(counter); q != 6 {
		t.Fatalf("first question: %d queries, want 6", q)
	}
	if _, q := f.dayStarts(counter); q != 0 {
		t.Fatalf("repeated question: %d queries, want 0", q)
	}
	store.down.Store(true)
	for i := range 2 {
		if _, q := f.dayStarts(counter); q != 6 {
			t.Errorf("question %d with the store down: %d queries, want 6 (the database)", i, q)
		}
	}
	if _, err := f.hold(patient(1), f.free, f.at("2026-05-04 09:00")); err != nil {
		t.Fatal(err)
	}
	if s, _ := f.dayStarts(counter); slices.Contains(s, "09:00") {
		t.Errorf("held 09:00 offered with the store down: %v", s)
	}
	store.down.Store(false)
	if s, q := f.dayStarts(counter); slices.Contains(s, "09:00") || q != 6 {
		t.Errorf("first question after recovery: 09:00 offered %v, %d queries (want 6: the version was replaced)", slices.Contains(s, "09:00"), q)
	}
	if _, q := f.dayStarts(counter); q != 0 {
		t.Errorf("repeated question after recovery: %d queries, want 0", q)
	}
}
