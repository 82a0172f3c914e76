package mail

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CalendarEvent is an appointment sent as an iCalendar (RFC 5545)
// attachment, so mail clients offer "add to calendar" and later update or
// remove the same entry (same UID, higher Sequence).
type CalendarEvent struct {
	UID         string    `json:"uid"`
	Sequence    int       `json:"sequence"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Summary     string    `json:"summary"`
	Description string    `json:"description,omitempty"`
	Location    string    `json:"location,omitempty"`
	// Organizer is an email address; attendees reply to it.
	Organizer string `json:"organizer,omitempty"`
	Attendee  string `json:"attendee,omitempty"`
	// Cancelled turns the invitation into a cancellation (METHOD:CANCEL).
	Cancelled bool `json:"cancelled,omitempty"`
}

// ICS renders e as a VCALENDAR with one VEVENT, written by hand to RFC
// 5545: CRLF line endings, lines folded at 75 octets without splitting a
// UTF-8 character, TEXT values escaped, times in UTC.
func ICS(e CalendarEvent, stamp time.Time) []byte {
	method, status := "REQUEST", "CONFIRMED"
	if e.Cancelled {
		method, status = "CANCEL", "CANCELLED"
	}
	var b strings.Builder
	line := func(s string) { b.WriteString(fold(s)) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//Frontdesk//Frontdesk//EN")
	line("CALSCALE:GREGORIAN")
	line("METHOD:" + method)
	line("BEGIN:VEVENT")
	line("UID:" + escapeText(e.UID))
	line("SEQUENCE:" + itoa(e.Sequence))
	line("DTSTAMP:" + icsTime(stamp))
	line("DTSTART:" + icsTime(e.Start))
	line("DTEND:" + icsTime(e.End))
	line("SUMMARY:" + escapeText(e.Summary))
	if e.Description != "" {
		line("DESCRIPTION:" + escapeText(e.Description))
	}
	if e.Location != "" {
		line("LOCATION:" + escapeText(e.Location))
	}
	if e.Organizer != "" {
		line("ORGANIZER:mailto:" + e.Organizer)
	}
	if e.Attendee != "" {
		line("ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:" + e.Attendee)
	}
	line("STATUS:" + status)
	line("END:VEVENT")
	line("END:VCALENDAR")
	return []byte(b.String())
}

func icsTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

func itoa(n int) string { return strconv.Itoa(max(n, 0)) }

// escapeText escapes a TEXT value (RFC 5545 §3.3.11).
func escapeText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	return r.Replace(s)
}

// fold splits a content line into lines of at most 75 octets, each
// continuation starting with a space (RFC 5545 §3.1), and ends it with
// CRLF.
func fold(s string) string {
	var b strings.Builder
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(s)
	b.WriteString("\r\n")
	return b.String()
}
