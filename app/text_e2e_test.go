package app_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestGuestNameCannotInjectMailHeaders replays the review's finding from
// the outside: a guest books with a name holding CRLF and a "Bcc:" line,
// which used to be copied verbatim into the confirmation email and SMS.
// Now the booking is refused with a userErrors entry on guest.name (and
// the hold stays as it was), register refuses the same name, bidi and
// zero-width tricks are refused too, and no job or sent message anywhere
// holds the injected line.
func TestGuestNameCannotInjectMailHeaders(t *testing.T) {
	s := start(t, nil)
	ctx := context.Background()
	c := s.app.DB.Client
	p := c.Practitioner.Create().SetName("Dr Ada").SetTimeZone("Australia/Sydney").SaveX(ctx)
	for d := 0; d < 7; d++ {
		c.WeeklyHours.Create().SetPractitionerID(p.ID).SetWeekday(d).SetStartMinute(9 * 60).SetEndMinute(17 * 60).ExecX(ctx)
	}
	svc := c.Service.Create().SetName("Follow-up").SetSlug("follow-up").SetDurationMinutes(30).AddPractitioners(p).SaveX(ctx)
	sydney, _ := time.LoadLocation("Australia/Sydney")
	day := time.Now().In(sydney).AddDate(0, 0, 3)
	slot := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, sydney)
	r := s.ok(t, opHoldSlot, map[string]any{"in": map[string]any{"serviceId": svc.ID, "practitionerId": p.ID, "start": slot.Format(time.RFC3339)}})
	id, hold := field(r, "holdSlot.appointment.id"), field(r, "holdSlot.holdToken")

	for _, name := range []string{
		"Jo Citizen\r\nBcc: victim@example.com",
		"Jo Citizen\nBcc: victim@example.com",
		"Jo\u202Eنتيجة",
		"Jo\u200BCitizen",
		"Jo\x00Citizen",
	} {
		r = s.gqlAs(t, opBook, map[string]any{"in": map[string]any{"appointmentId": id, "holdToken": hold,
			"guest": map[string]any{"name": name, "email": "jo@example.com", "phone": "+61412345678"}}})
		ues, _ := field(r, "bookAppointment.userErrors").([]any)
		if len(r.Errors) > 0 || len(ues) != 1 || ues[0].(map[string]any)["code"] != "INVALID" ||
			strings.Join(toStrings(ues[0].(map[string]any)["field"]), ".") != "guest.name" {
			t.Errorf("book as %q: %v %+v", name, r.Data, r.Errors)
		}
		if field(r, "bookAppointment.appointment") != nil {
			t.Errorf("book as %q went through", name)
		}
		r = s.gqlAs(t, registerOp, map[string]any{"in": map[string]any{"email": "jo@example.com", "password": "a long passphrase", "name": name}})
		ues, _ = field(r, "register.userErrors").([]any)
		if len(ues) != 1 || ues[0].(map[string]any)["code"] != "INVALID" || field(r, "register.token") != nil {
			t.Errorf("register as %q: %v %+v", name, r.Data, r.Errors)
		}
	}
	// The same guest with a clean name books, and its mail carries no
	// injected line.
	r = s.ok(t, opBook, map[string]any{"in": map[string]any{"appointmentId": id, "holdToken": hold,
		"guest": map[string]any{"name": "  Zoe\u0301 Citizen ", "email": "jo@example.com", "phone": "+61412345678"}}})
	if field(r, "bookAppointment.appointment.state") != "CONFIRMED" {
		t.Fatalf("clean booking: %v", r.Data)
	}
	s.waitDelivered(t)
	for _, j := range c.Job.Query().AllX(ctx) {
		if strings.Contains(string(j.Payload), "Bcc") {
			t.Errorf("job %s carries the injected line: %s", j.Kind, j.Payload)
		}
	}
	sent := c.SentMessage.Query().AllX(ctx)
	if len(sent) == 0 {
		t.Fatal("no confirmation was sent")
	}
	for _, m := range sent {
		if strings.Contains(m.BodyText+m.Subject, "Bcc") {
			t.Errorf("%s to %s carries the injected line", m.Kind, m.Recipient)
		}
	}
	// The stored name is NFC and trimmed.
	if n := c.Appointment.Query().OnlyX(ctx).GuestName; n != "Zo\u00e9 Citizen" {
		t.Errorf("stored guest name %q, want NFC \"Zo\u00e9 Citizen\"", n)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}
