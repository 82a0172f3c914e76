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

// TestStaffTextGoesThroughTheValidator: what staff write and patients
// read (practitioner and service names, intake-form definitions) is
// refused with a userErrors entry on its path when it holds a line break,
// a bidi override or a zero-width character, and is stored NFC and
// trimmed when it is clean, through the same text validator as a guest's
// name.
func TestStaffTextGoesThroughTheValidator(t *testing.T) {
	s := start(t, nil)
	ctx := context.Background()
	c := s.app.DB.Client
	admin := s.signUp(t, "admin@example.com", "ADMIN")
	as := bearer(admin.token)

	const nfd, nfc = "Zoe\u0301", "Zo\u00e9"
	r := s.ok(t, `mutation($n: String!) { createPractitioner(input: {practitioner: {name: $n, timeZone: "Australia/Sydney"}}) { practitioner { id name } userErrors { code field } } }`,
		map[string]any{"n": "  Dr " + nfd + " "}, as...)
	pid, _ := field(r, "createPractitioner.practitioner.id").(string)
	if pid == "" {
		t.Fatalf("createPractitioner: %v", r.Data)
	}
	r = s.ok(t, `mutation($n: String!, $p: ID!) { createService(input: {service: {name: $n, slug: "visit", durationMinutes: 30, description: "Line one\r\nCaf`+"e\u0301"+`", practitionerIds: [$p]}}) { service { id } userErrors { code field } } }`,
		map[string]any{"n": nfd + " visit", "p": pid}, as...)
	if field(r, "createService.service.id") == nil {
		t.Fatalf("createService: %v", r.Data)
	}
	if p := c.Practitioner.Query().OnlyX(ctx); p.Name != "Dr "+nfc {
		t.Errorf("stored practitioner name %q, want NFC %q", p.Name, "Dr "+nfc)
	}
	if sv := c.Service.Query().OnlyX(ctx); sv.Name != nfc+" visit" || sv.Description != "Line one\nCaf\u00e9" {
		t.Errorf("stored service name %q, description %q: want NFC", sv.Name, sv.Description)
	}
	r = s.ok(t, `mutation($id: ID!, $n: String!) { updatePractitioner(input: {id: $id, practitioner: {name: $n}}) { practitioner { id } userErrors { code field } } }`,
		map[string]any{"id": pid, "n": nfd + " Citizen"}, as...)
	if n := c.Practitioner.Query().OnlyX(ctx).Name; n != nfc+" Citizen" {
		t.Errorf("updated practitioner name %q, want NFC", n)
	}
	r = s.gqlAs(t, `mutation($n: String!) { createPractitioner(input: {practitioner: {name: $n, timeZone: "Australia/Sydney"}}) { practitioner { id } userErrors { code field } } }`,
		map[string]any{"n": "Dr\u202eA"}, as...)
	if ues, _ := field(r, "createPractitioner.userErrors").([]any); len(ues) != 1 || ues[0].(map[string]any)["code"] != "INVALID" {
		t.Errorf("practitioner name with U+202E: %v %+v", r.Data, r.Errors)
	}

	// Lengths are characters, not bytes: 200 two-byte characters fit a
	// 200-character name (the table's MaxLen counted bytes, and the
	// insert failed as INTERNAL).
	r = s.gqlAs(t, `mutation($n: String!) { createPractitioner(input: {practitioner: {name: $n, timeZone: "Australia/Sydney"}}) { practitioner { id } userErrors { code field } } }`,
		map[string]any{"n": strings.Repeat("\u00e9", 200)}, as...)
	if len(r.Errors) > 0 || field(r, "createPractitioner.practitioner.id") == nil {
		t.Errorf("a 200-character name of two-byte characters: %v %+v", r.Data, r.Errors)
	}

	// The same for an account's name (identity) and an API key's name.
	r = s.gqlAs(t, registerOp, map[string]any{"in": map[string]any{"email": "long.name@example.com", "password": "a long passphrase",
		"name": strings.Repeat("\u00e9", 200)}})
	if len(r.Errors) > 0 || field(r, "register.token") == nil {
		t.Errorf("register with a 200-character name of two-byte characters: %v %+v", r.Data, r.Errors)
	}
	r = s.gqlAs(t, `mutation($n: String!) { createApiKey(input: {name: $n, scopes: [MANAGE_ORDERS]}) { token userErrors { code } } }`,
		map[string]any{"n": strings.Repeat("\u00e9", 100)}, as...)
	if len(r.Errors) > 0 || field(r, "createApiKey.token") == nil {
		t.Errorf("an API key named with 100 two-byte characters: %v %+v", r.Data, r.Errors)
	}

	const formOp = `mutation($f: [IntakeFieldInput!]!) { createIntakeFormVersion(input: {key: "new-patient", title: "New patient", fields: $f}) {
		form { title fields { key label help options consentText } } userErrors { code field } } }`
	for _, tc := range []struct {
		name  string
		field map[string]any
		path  string
		code  string
	}{
		{"label with CRLF", map[string]any{"key": "k", "label": "Name\r\nBcc: x@example.com", "type": "SHORT_TEXT", "required": false}, "fields.0.label", "INVALID"},
		{"help with a bidi override", map[string]any{"key": "k", "label": "L", "help": "see \u202efdp.exe", "type": "SHORT_TEXT", "required": false}, "fields.0.help", "INVALID"},
		{"option with a zero-width space", map[string]any{"key": "k", "label": "L", "type": "SINGLE_CHOICE", "required": false, "options": []string{"a", "b\u200b"}}, "fields.0.options.1", "INVALID"},
		{"label too long", map[string]any{"key": "k", "label": strings.Repeat("x", 201), "type": "SHORT_TEXT", "required": false}, "fields.0.label", "TOO_LONG"},
		{"consent with NUL", map[string]any{"key": "k", "label": "L", "type": "CONSENT", "required": true, "consentText": "I agree\x00"}, "fields.0.consentText", "INVALID"},
	} {
		r := s.gqlAs(t, formOp, map[string]any{"f": []any{tc.field}}, as...)
		ues, _ := field(r, "createIntakeFormVersion.userErrors").([]any)
		if len(r.Errors) > 0 || len(ues) != 1 || ues[0].(map[string]any)["code"] != tc.code ||
			strings.Join(toStrings(ues[0].(map[string]any)["field"]), ".") != tc.path {
			t.Errorf("%s: %v %+v", tc.name, r.Data, r.Errors)
		}
	}
	if n := c.IntakeForm.Query().CountX(ctx); n != 0 {
		t.Fatalf("%d forms saved from refused definitions", n)
	}
	r = s.ok(t, formOp, map[string]any{"f": []any{map[string]any{"key": " visit ", "label": " " + nfd + " ", "help": "a\r\nb", "type": "SINGLE_CHOICE",
		"required": true, "options": []string{nfd, " tea "}}}}, as...)
	got := field(r, "createIntakeFormVersion.form.fields").([]any)[0].(map[string]any)
	if got["key"] != "visit" || got["label"] != nfc || got["help"] != "a\nb" || strings.Join(toStrings(got["options"]), "|") != nfc+"|tea" {
		t.Errorf("stored definition is not the cleaned one: %v", got)
	}
}
