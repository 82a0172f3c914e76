// Package text is the one validator for text that people type and other
// people read: names, addresses, notes, product and service copy, intake
// answers. It normalises to NFC, so one name has one spelling in the
// database and in search, and refuses the characters that let text
// pretend to be something else once it is shown or mailed:
//
//   - control characters (NUL, CR, LF, tab, DEL, C1): a CR/LF in a guest's
//     name would start a new line in the confirmation email, such as a
//     forged "Bcc:" line; multi-line fields keep LF and tab (CRLF becomes
//     LF) but refuse the rest;
//   - bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069),
//     which reorder what is displayed ("invoice‮fdp.exe");
//   - zero-width characters (U+200B–U+200D, U+2060, U+FEFF), which make two
//     names that look the same compare different;
//   - line and paragraph separators (U+2028, U+2029), line breaks in
//     disguise.
//
// Every domain calls it from its input validation, and a refusal is a
// userErrors entry (INVALID, or TOO_LONG for the length) with the field's
// path, like any other bad input.
package text

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"frontdesk/errcode"
)

// Kind says whether a field may span lines.
type Kind int

// Kinds of field.
const (
	// SingleLine is a name, an address line, a title: no line breaks.
	SingleLine Kind = iota
	// MultiLine is a note, a description, an answer: LF and tab allowed.
	MultiLine
)

// Human checks a single-line field: see Clean.
func Human(field, s string, maxLen int) (string, *errcode.UserError) {
	return Clean(SingleLine, field, s, maxLen)
}

// HumanMultiLine checks a multi-line field: see Clean.
func HumanMultiLine(field, s string, maxLen int) (string, *errcode.UserError) {
	return Clean(MultiLine, field, s, maxLen)
}

// Clean returns s normalised to NFC with surrounding white space trimmed,
// or a user error for field (a dotted input path such as
// "guest.name") when s is not valid UTF-8, holds a refused character, or
// is longer than maxLen characters after normalisation (maxLen <= 0: no
// length limit here). An empty string is valid; callers that require a
// value check that themselves.
func Clean(kind Kind, field, s string, maxLen int) (string, *errcode.UserError) {
	if !utf8.ValidString(s) {
		return "", errcode.Invalidf(errcode.Invalid, field, "is not valid UTF-8 text")
	}
	if kind == MultiLine {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	s = strings.TrimSpace(norm.NFC.String(s))
	for _, r := range s {
		if why := refused(kind, r); why != "" {
			return "", errcode.Invalidf(errcode.Invalid, field, fmt.Sprintf("must not contain %s (U+%04X)", why, r))
		}
	}
	if maxLen > 0 && utf8.RuneCountInString(s) > maxLen {
		return "", errcode.Invalidf(errcode.TooLong, field, fmt.Sprintf("use at most %d characters", maxLen))
	}
	return s, nil
}

// refused names the class of r when a field of this kind must not hold
// it, or returns "".
func refused(kind Kind, r rune) string {
	switch {
	case r == '\n' || r == '\t':
		if kind == MultiLine {
			return ""
		}
		return "a line break or tab"
	case r == '\r':
		return "a carriage return"
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return "a control character"
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return "a bidirectional override or isolate"
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff:
		return "a zero-width character"
	case r == 0x2028 || r == 0x2029:
		return "a line or paragraph separator"
	}
	return ""
}

// Check is Clean for validators that collect every problem of an input:
// it appends the error, if any, to errs and returns the cleaned value
// (s unchanged when it was refused).
func Check(errs *errcode.UserErrors, kind Kind, field, s string, maxLen int) string {
	out, ue := Clean(kind, field, s, maxLen)
	if ue != nil {
		*errs = append(*errs, ue)
		return s
	}
	return out
}

// Normalize is the normalisation Clean applies (CRLF kept as is, NFC,
// surrounding white space trimmed), for value types that normalise before
// they validate; their validation still calls Clean.
func Normalize(s string) string {
	return strings.TrimSpace(norm.NFC.String(s))
}

// CheckInPlace is Check for an optional input field: when s is not nil,
// *s is checked and, if accepted, replaced by its cleaned value, so the
// caller stores what was checked (NFC, trimmed) rather than what was sent.
func CheckInPlace(errs *errcode.UserErrors, kind Kind, field string, s *string, maxLen int) {
	if s == nil {
		return
	}
	*s = Check(errs, kind, field, *s, maxLen)
}
