package identity

import (
	"net/mail"
	"regexp"
	"strings"

	"frontdesk/errcode"
	"frontdesk/text"
)

// Email is a syntactically valid, lower-cased email address. Lower-casing
// on parse is what makes the unique index on users.email
// case-insensitive on every database.
type Email string

// ParseEmail validates and normalises an address; field is where a user
// error points.
func ParseEmail(s, field string) (Email, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errcode.Invalidf(errcode.Required, field, "enter an email address")
	}
	if len(s) > 254 {
		return "", errcode.Invalidf(errcode.TooLong, field, "an email address has at most 254 characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", errcode.Invalidf(errcode.Invalid, field, "enter an email address such as name@example.com")
	}
	return Email(strings.ToLower(s)), nil
}

// Phone is a number in E.164 form, such as +61412345678.
type Phone string

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// ParsePhone validates an E.164 number. Spaces, dashes, dots and
// parentheses are dropped first, since people type them.
func ParsePhone(s, field string) (Phone, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')':
			return -1
		}
		return r
	}, s)
	if !e164.MatchString(s) {
		return "", errcode.Invalidf(errcode.Invalid, field, "enter the phone number in international form, such as +61412345678")
	}
	return Phone(s), nil
}

// cleanName normalises a display name and checks it with the shared
// validator: one line, no control, bidi or zero-width characters, at most
// 200 characters. The name goes into emails, so this is what keeps a
// "Bcc:" line out of them.
func cleanName(s, field string) (string, error) {
	s, ue := text.Human(field, s, 200)
	if ue != nil {
		return "", ue
	}
	return s, nil
}
