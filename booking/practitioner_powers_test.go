package booking_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"frontdesk/booking"
	"frontdesk/database"
	"frontdesk/ent/appointment"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
)

// TestStaffPowersOnlyOnOwnCalendar: booking inside the minimum notice,
// for a patient, and holding past the cap are staff powers. Staff and
// admins have them on every calendar, a practitioner on their own only:
// on another's they hold as any signed-in person (notice and cap apply)
// and booking for a patient is FORBIDDEN, changing nothing.
func TestStaffPowersOnlyOnOwnCalendar(t *testing.T) {
	const ownUser, otherUser gid.ID = "usr_01JD6Q7ZK3M4X9V2S8T5R1W0P1", "usr_01JD6Q7ZK3M4X9V2S8T5R1W0P2"
	for _, c := range []struct {
		name   string
		viewer *identity.Viewer
		powers bool
	}{
		{"staff", &identity.Viewer{UserID: "usr_01JD6Q7ZK3M4X9V2S8T5R1W0ST", Role: identity.RoleStaff}, true},
		{"admin", &identity.Viewer{UserID: "usr_01JD6Q7ZK3M4X9V2S8T5R1W0AD", Role: identity.RoleAdmin}, true},
		{"practitioner, own calendar", &identity.Viewer{UserID: ownUser, Role: identity.RolePractitioner}, true},
		{"practitioner, another's calendar", &identity.Viewer{UserID: otherUser, Role: identity.RolePractitioner}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, database.Options{})
			ctx := context.Background()
			f.db.Client.Practitioner.UpdateOne(f.prac).SetStaffUserID(ownUser).ExecX(ctx)
			other := f.db.Client.Practitioner.Create().SetName("Dr Bea").SetTimeZone("Australia/Sydney").SetStaffUserID(otherUser).SaveX(ctx)
			f.db.Client.Service.UpdateOne(f.free).AddPractitioners(other).ExecX(ctx)
			for d := range 7 {
				f.db.Client.WeeklyHours.Create().SetPractitionerID(other.ID).SetWeekday(d).SetStartMinute(9 * 60).SetEndMinute(17 * 60).ExecX(ctx)
			}
			v := identity.WithViewer(ctx, c.viewer)

			// Inside the one-hour notice: 09:30 in Sydney, slot at 10:00.
			f.setNow("2026-05-03T23:30:00Z")
			_, err := f.hold(v, f.free, f.at("2026-05-04 10:00"))
			if c.powers && err != nil {
				t.Fatalf("hold inside the notice: %v", err)
			}
			if !c.powers {
				if code := userCode(t, err); code != errcode.SlotUnavailable {
					t.Fatalf("hold inside the notice: %s, want SLOT_UNAVAILABLE", code)
				}
				if n := f.db.Client.Appointment.Query().CountX(ctx); n != 0 {
					t.Fatalf("%d appointments after a refused hold", n)
				}
			}
			// The availability offers the notice window only to those
			// who may book it.
			slots, err := f.eng.AvailableSlots(v, booking.SlotsInput{ServiceID: f.free.ID, PractitionerID: &f.prac.ID,
				From: f.at("2026-05-04 09:00"), To: f.at("2026-05-04 11:00"), TimeZone: "Australia/Sydney"})
			if err != nil {
				t.Fatal(err)
			}
			if inside := len(slots) > 0 && slots[0].Start.Before(f.at("2026-05-04 10:30")); inside != c.powers {
				t.Errorf("availability offers %v first (inside the notice: %v), want inside %v", slots[0].Start, inside, c.powers)
			}

			// Past the cap of 2 holds.
			var holds []*booking.Hold
			for i := range 3 {
				h, err := f.hold(v, f.free, f.at("2026-05-05 09:00").Add(time.Duration(i)*time.Hour))
				if c.powers || i < 2 {
					if err != nil {
						t.Fatalf("hold %d: %v", i, err)
					}
					holds = append(holds, h)
				} else if code := userCode(t, err); code != errcode.HoldLimit {
					t.Fatalf("third hold: %s, want HOLD_LIMIT_REACHED", code)
				}
			}

			// Booking a hold for a patient.
			pid := gid.ID("usr_01JD6Q7ZK3M4X9V2S8T5R1W001")
			b, err := f.eng.Book(v, booking.BookInput{AppointmentID: holds[0].Appointment.ID, PatientID: &pid})
			if c.powers {
				if err != nil || b.Appointment.PatientID == nil || *b.Appointment.PatientID != pid {
					t.Fatalf("book for a patient: %+v, %v", b, err)
				}
				return
			}
			if !errors.Is(err, identity.ErrForbidden) {
				t.Fatalf("book for a patient on another's calendar: %v, want FORBIDDEN", err)
			}
			a := f.db.Client.Appointment.GetX(ctx, holds[0].Appointment.ID)
			if a.State != appointment.StateHELD || a.PatientID != nil {
				t.Fatalf("after the refusal: %s, patient %v", a.State, a.PatientID)
			}
			// The same practitioner still books on their own calendar.
			h, err := f.eng.HoldSlot(v, booking.HoldInput{ServiceID: f.free.ID, PractitionerID: other.ID, Start: f.at("2026-05-04 10:00")})
			if err != nil {
				t.Fatalf("hold inside the notice on their own calendar: %v", err)
			}
			if _, err := f.eng.Book(v, booking.BookInput{AppointmentID: h.Appointment.ID, PatientID: &pid}); err != nil {
				t.Fatalf("book for a patient on their own calendar: %v", err)
			}
		})
	}
}
