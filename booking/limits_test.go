package booking_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/booking"
	"frontdesk/database"
	"frontdesk/ent/appointment"
	"frontdesk/ent/holderholds"
	"frontdesk/ent/practitionerday"
	"frontdesk/errcode"
	"frontdesk/identity"
)

// race runs n attempts at once and counts successes and the user error
// code expected of the losers; anything else fails the test.
func race(t *testing.T, n int, want errcode.UserErrorCode, attempt func(i int) error) int {
	t.Helper()
	var wg sync.WaitGroup
	var ok, refused atomic.Int32
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := attempt(i)
			switch l, isUser := errcode.AsUserErrors(err); {
			case err == nil:
				ok.Add(1)
			case isUser && l[0].Code == want:
				refused.Add(1)
			default:
				t.Errorf("attempt %d: unexpected error: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if int(ok.Load()+refused.Load()) != n {
		t.Fatalf("%d succeeded, %d refused with %s, of %d", ok.Load(), refused.Load(), want, n)
	}
	return int(ok.Load())
}

// TestDailyLimitUnderConcurrency: patients race for different slots of one
// practitioner on a day with a daily limit of k; the database lets exactly
// k through, however the Go-side check interleaves.
func TestDailyLimitUnderConcurrency(t *testing.T) {
	f := newFixture(t, database.Options{})
	ctx := context.Background()
	const k, n = 3, 12
	f.db.Client.Service.UpdateOne(f.free).SetDailyLimit(k).ExecX(ctx)
	got := race(t, n, errcode.SlotUnavailable, func(i int) error {
		start := f.at("2026-05-04 09:00").Add(time.Duration(i) * 30 * time.Minute)
		h, err := f.hold(patient(i), f.free, start)
		if err == nil {
			_, err = f.eng.Book(patient(i), booking.BookInput{AppointmentID: h.Appointment.ID})
		}
		return err
	})
	if got != k {
		t.Fatalf("%d bookings on a day limited to %d", got, k)
	}
	live := f.db.Client.Appointment.Query().Where(appointment.ServiceID(f.free.ID),
		appointment.StateNEQ(appointment.StateCANCELLED)).CountX(ctx)
	row := f.db.Client.PractitionerDay.Query().Where(practitionerday.PractitionerID(f.prac.ID),
		practitionerday.ServiceID(f.free.ID), practitionerday.Day("2026-05-04")).OnlyX(ctx)
	if live != k || row.Appointments != k {
		t.Fatalf("%d live appointments, counter %d; want %d", live, row.Appointments, k)
	}

	// The database refuses on its own: a counter at the limit blocks a
	// day the Go-side check thinks is empty.
	f.db.Client.PractitionerDay.Create().SetPractitionerID(f.prac.ID).SetServiceID(f.free.ID).SetDay("2026-05-09").
		SetAppointments(k).ExecX(ctx)
	_, err := f.hold(patient(49), f.free, f.at("2026-05-09 09:00"))
	if code := userCode(t, err); code != errcode.SlotUnavailable {
		t.Errorf("counter at the limit: got %s, want SLOT_UNAVAILABLE", code)
	}

	// Another day is not affected; cancelling gives the place back.
	if _, err := f.hold(patient(50), f.free, f.at("2026-05-05 09:00")); err != nil {
		t.Fatalf("next day: %v", err)
	}
	booked := f.db.Client.Appointment.Query().Where(appointment.ServiceID(f.free.ID), appointment.DayKey("2026-05-04"),
		appointment.StateEQ(appointment.StateCONFIRMED)).FirstX(ctx)
	if _, err := f.eng.Cancel(f.staff, booking.ChangeInput{AppointmentID: booked.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.hold(patient(51), f.free, f.at("2026-05-04 16:00")); err != nil {
		t.Fatalf("after a cancellation: %v", err)
	}
	_, err = f.hold(patient(52), f.free, f.at("2026-05-04 16:30"))
	if code := userCode(t, err); code != errcode.SlotUnavailable {
		t.Errorf("full again: got %s, want SLOT_UNAVAILABLE", code)
	}
	// An expired hold's place comes back without the sweeper.
	f.setNow("2026-05-01T00:11:00Z")
	if _, err := f.hold(patient(53), f.free, f.at("2026-05-04 16:30")); err != nil {
		t.Fatalf("after the 16:00 hold expired: %v", err)
	}
	// Rescheduling onto a full day is refused; onto a free one it moves
	// the count.
	moved := f.db.Client.Appointment.Query().Where(appointment.ServiceID(f.free.ID), appointment.DayKey("2026-05-04"),
		appointment.StateEQ(appointment.StateCONFIRMED)).FirstX(ctx)
	other := f.bookFree(patient(54), f.at("2026-05-06 09:00"))
	_, err = f.eng.Reschedule(f.staff, booking.RescheduleInput{ChangeInput: booking.ChangeInput{AppointmentID: other.ID},
		Start: f.at("2026-05-04 15:00")})
	if code := userCode(t, err); code != errcode.SlotUnavailable {
		t.Errorf("reschedule onto a full day: got %s, want SLOT_UNAVAILABLE", code)
	}
	if _, err := f.eng.Reschedule(f.staff, booking.RescheduleInput{ChangeInput: booking.ChangeInput{AppointmentID: moved.ID},
		Start: f.at("2026-05-07 10:00")}); err != nil {
		t.Fatal(err)
	}
	for day, want := range map[string]int{"2026-05-04": k - 1, "2026-05-07": 1} {
		row := f.db.Client.PractitionerDay.Query().Where(practitionerday.ServiceID(f.free.ID), practitionerday.Day(day)).OnlyX(ctx)
		if row.Appointments != want {
			t.Errorf("%s: counter %d, want %d", day, row.Appointments, want)
		}
	}
}

// TestHoldCapUnderConcurrency: one patient races for many free slots at
// once; the database lets exactly MaxActiveHolds (2 in the fixture) hold.
func TestHoldCapUnderConcurrency(t *testing.T) {
	f := newFixture(t, database.Options{})
	ctx := context.Background()
	p := patient(7)
	const n = 10
	got := race(t, n, errcode.HoldLimit, func(i int) error {
		_, err := f.hold(p, f.free, f.at("2026-05-04 09:00").Add(time.Duration(i)*30*time.Minute))
		return err
	})
	if got != 2 {
		t.Fatalf("%d holds, want the cap of 2", got)
	}
	holds := f.db.Client.Appointment.Query().Where(appointment.StateEQ(appointment.StateHELD)).AllX(ctx)
	row := f.db.Client.HolderHolds.Query().Where(holderholds.HolderKey(string(identity.ViewerFrom(p).UserID))).OnlyX(ctx)
	if len(holds) != 2 || row.Holds != 2 {
		t.Fatalf("%d holds, counter %d; want 2", len(holds), row.Holds)
	}
	// The database refuses on its own: a counter at the cap blocks a
	// patient the Go side has never seen.
	other := patient(8)
	f.db.Client.HolderHolds.Create().SetHolderKey(string(identity.ViewerFrom(other).UserID)).SetHolds(2).ExecX(ctx)
	_, err := f.hold(other, f.free, f.at("2026-05-09 09:00"))
	if code := userCode(t, err); code != errcode.HoldLimit {
		t.Errorf("counter at the cap: got %s, want HOLD_LIMIT_REACHED", code)
	}

	// Booking one frees a place; staff are never capped.
	if _, err := f.eng.Book(p, booking.BookInput{AppointmentID: holds[0].ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.hold(p, f.free, f.at("2026-05-05 09:00")); err != nil {
		t.Fatalf("after booking one: %v", err)
	}
	for i := range 3 {
		if _, err := f.hold(f.staff, f.free, f.at("2026-05-06 09:00").Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatalf("staff hold %d: %v", i, err)
		}
	}
	// Expired holds stop counting without waiting for the sweeper.
	f.setNow("2026-05-01T00:11:00Z")
	for i := range 2 {
		if _, err := f.hold(p, f.free, f.at("2026-05-08 09:00").Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatalf("hold %d after expiry: %v", i, err)
		}
	}
}

// guest is an anonymous caller whose request came from ip, as the HTTP
// middleware records it.
func guest(ip string) context.Context {
	return identity.WithClient(context.Background(), identity.Client{IP: ip})
}

// TestAnonymousHoldCapUnderConcurrency: anonymous callers from one client
// IP race for many free slots; the database lets exactly
// MaxAnonymousHolds (3 in the fixture) hold. Another IP is not affected,
// one IPv6 /64 counts as one client, and the cap is a counter row the
// database enforces on its own.
func TestAnonymousHoldCapUnderConcurrency(t *testing.T) {
	f := newFixture(t, database.Options{})
	ctx := context.Background()
	const n = 10
	var mu sync.Mutex
	var tokens []*booking.Hold
	got := race(t, n, errcode.HoldLimit, func(i int) error {
		h, err := f.hold(guest("198.51.100.7"), f.free, f.at("2026-05-04 09:00").Add(time.Duration(i)*30*time.Minute))
		if err == nil {
			mu.Lock()
			tokens = append(tokens, h)
			mu.Unlock()
		}
		return err
	})
	if got != 3 {
		t.Fatalf("%d anonymous holds from one IP, want the cap of 3", got)
	}
	row := f.db.Client.HolderHolds.Query().Where(holderholds.HolderKey("ip:198.51.100.7")).OnlyX(ctx)
	held := f.db.Client.Appointment.Query().Where(appointment.HolderKey("ip:198.51.100.7"),
		appointment.StateEQ(appointment.StateHELD)).AllX(ctx)
	if row.Holds != 3 || len(held) != 3 {
		t.Fatalf("counter %d, %d holds; want 3", row.Holds, len(held))
	}
	_, err := f.hold(guest("198.51.100.7"), f.free, f.at("2026-05-05 09:00"))
	if l, ok := errcode.AsUserErrors(err); !ok || l[0].Code != errcode.HoldLimit || !strings.Contains(l[0].Message, "sign in") {
		t.Fatalf("fourth hold: %v", err)
	}

	// Another client is not affected, and neither is a signed-in patient
	// on the same network (they have their own cap).
	if _, err := f.hold(guest("198.51.100.8"), f.free, f.at("2026-05-05 09:00")); err != nil {
		t.Fatalf("another IP: %v", err)
	}
	signedIn := identity.WithClient(patient(1), identity.Client{IP: "198.51.100.7"})
	if _, err := f.hold(signedIn, f.free, f.at("2026-05-05 10:00")); err != nil {
		t.Fatalf("signed-in patient on the capped network: %v", err)
	}

	// One IPv6 /64 is one client, whichever addresses it uses.
	for i := range 3 {
		if _, err := f.hold(guest(fmt.Sprintf("2001:db8:7:7::%x", i+1)), f.free, f.at("2026-05-06 09:00").Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatalf("IPv6 hold %d: %v", i, err)
		}
	}
	_, err = f.hold(guest("2001:db8:7:7:abcd::99"), f.free, f.at("2026-05-06 15:00"))
	if code := userCode(t, err); code != errcode.HoldLimit {
		t.Errorf("fourth hold from the same /64: got %s, want HOLD_LIMIT_REACHED", code)
	}
	if _, err := f.hold(guest("2001:db8:7:8::1"), f.free, f.at("2026-05-06 15:00")); err != nil {
		t.Fatalf("another /64: %v", err)
	}

	// The database refuses on its own: a counter at the cap blocks an IP
	// the Go side has never seen.
	f.db.Client.HolderHolds.Create().SetHolderKey("ip:203.0.113.9").SetHolds(3).ExecX(ctx)
	_, err = f.hold(guest("203.0.113.9"), f.free, f.at("2026-05-07 09:00"))
	if code := userCode(t, err); code != errcode.HoldLimit {
		t.Errorf("counter at the cap: got %s, want HOLD_LIMIT_REACHED", code)
	}

	// Booking one (with its hold token, as a guest does) frees a place;
	// an expired hold stops counting without waiting for the sweeper.
	if _, err := f.eng.Book(guest("198.51.100.7"), booking.BookInput{AppointmentID: tokens[0].Appointment.ID,
		HoldToken: tokens[0].Token, Guest: &booking.Guest{Name: "Jo Citizen", Email: "jo@example.com", Phone: "+61412345678"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.hold(guest("198.51.100.7"), f.free, f.at("2026-05-07 10:00")); err != nil {
		t.Fatalf("after booking one: %v", err)
	}
	f.setNow("2026-05-01T00:11:00Z")
	for i := range 3 {
		if _, err := f.hold(guest("198.51.100.7"), f.free, f.at("2026-05-08 09:00").Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatalf("hold %d after expiry: %v", i, err)
		}
	}
}
