// Package intake defines intake-form fields and answers and validates a set
// of answers against the form version they were given for. It has no
// storage dependencies so that the ent schema can use its types as JSON
// column values and the booking package can validate without a database.
package intake

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"frontdesk/errcode"
	"frontdesk/text"
)

// FieldType is the kind of question a field asks.
type FieldType string

// Field types.
const (
	ShortText      FieldType = "SHORT_TEXT"
	LongText       FieldType = "LONG_TEXT"
	SingleChoice   FieldType = "SINGLE_CHOICE"
	MultipleChoice FieldType = "MULTIPLE_CHOICE"
	Date           FieldType = "DATE"
	YesNo          FieldType = "YES_NO"
	Consent        FieldType = "CONSENT"
)

// Length limits keep a submission small enough to store and forward.
const (
	shortTextMax = 200
	longTextMax  = 5000
	maxFields    = 100
	// A definition's own texts: staff write them, patients read them.
	keyMax     = 64
	labelMax   = 200
	helpMax    = 2000
	optionMax  = 200
	maxOptions = 100
	consentMax = 10000
)

// Field is one question of a form version.
type Field struct {
	// Key identifies the field within its form; answers refer to it.
	Key      string    `json:"key"`
	Label    string    `json:"label"`
	Help     string    `json:"help,omitempty"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required"`
	// Options are the choices of SINGLE_CHOICE and MULTIPLE_CHOICE fields.
	Options []string `json:"options,omitempty"`
	// ConsentText is the exact wording a CONSENT field asks the patient to
	// accept; the answer records it so later edits of the form cannot
	// change what was agreed to.
	ConsentText string `json:"consentText,omitempty"`
}

// Answer is the answer to one field. Exactly one value is used, chosen by
// the field's type.
type Answer struct {
	Key string `json:"key"`
	// Text answers SHORT_TEXT, LONG_TEXT, SINGLE_CHOICE and DATE (YYYY-MM-DD).
	Text string `json:"text,omitempty"`
	// Choices answers MULTIPLE_CHOICE.
	Choices []string `json:"choices,omitempty"`
	// Bool answers YES_NO and CONSENT (true = accepted).
	Bool *bool `json:"bool,omitempty"`
	// ConsentText is filled in by Validate for CONSENT fields with the
	// wording that was shown.
	ConsentText string `json:"consentText,omitempty"`
}

// ValidateFields checks a form definition before it is stored and returns
// it cleaned: every text (key, label, help, options, consent wording) goes
// through text.Clean, so it is stored NFC and trimmed, and a control,
// bidi-override or zero-width character, or a text over its length, is a
// user error on its path (fields.2.options.1).
func ValidateFields(fields []Field) ([]Field, error) {
	var errs errcode.UserErrors
	fields = slices.Clone(fields)
	if len(fields) == 0 {
		errs = append(errs, errcode.Invalidf(errcode.Required, "fields", "a form needs at least one field"))
	}
	if len(fields) > maxFields {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "fields", fmt.Sprintf("a form has at most %d fields", maxFields)))
	}
	seen := map[string]bool{}
	for i := range fields {
		f := &fields[i]
		path := fmt.Sprintf("fields.%d", i)
		// The key's length has its own message below.
		f.Key = text.Check(&errs, text.SingleLine, path+".key", f.Key, 0)
		f.Label = text.Check(&errs, text.SingleLine, path+".label", f.Label, labelMax)
		f.Help = text.Check(&errs, text.MultiLine, path+".help", f.Help, helpMax)
		f.ConsentText = text.Check(&errs, text.MultiLine, path+".consentText", f.ConsentText, consentMax)
		if len(f.Options) > maxOptions {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, path+".options", fmt.Sprintf("a field has at most %d options", maxOptions)))
		}
		f.Options = slices.Clone(f.Options)
		seenOption := map[string]bool{}
		for j := range f.Options {
			o := text.Check(&errs, text.SingleLine, fmt.Sprintf("%s.options.%d", path, j), f.Options[j], optionMax)
			switch {
			case strings.TrimSpace(o) == "":
				errs = append(errs, errcode.Invalidf(errcode.Required, fmt.Sprintf("%s.options.%d", path, j), "an option needs a text"))
			case seenOption[o]:
				errs = append(errs, errcode.Invalidf(errcode.Taken, fmt.Sprintf("%s.options.%d", path, j), "option "+o+" is listed twice"))
			}
			seenOption[o] = true
			f.Options[j] = o
		}
		switch {
		case f.Key == "" || len(f.Key) > keyMax:
			errs = append(errs, errcode.Invalidf(errcode.Invalid, path+".key", "key must be 1 to 64 characters"))
		case seen[f.Key]:
			errs = append(errs, errcode.Invalidf(errcode.Taken, path+".key", "key "+f.Key+" is used twice"))
		}
		seen[f.Key] = true
		if strings.TrimSpace(f.Label) == "" {
			errs = append(errs, errcode.Invalidf(errcode.Required, path+".label", "label is required"))
		}
		switch f.Type {
		case ShortText, LongText, Date, YesNo:
		case SingleChoice, MultipleChoice:
			if len(f.Options) < 2 {
				errs = append(errs, errcode.Invalidf(errcode.Invalid, path+".options", "a choice field needs at least two options"))
			}
		case Consent:
			if strings.TrimSpace(f.ConsentText) == "" {
				errs = append(errs, errcode.Invalidf(errcode.Required, path+".consentText", "a consent field needs its wording"))
			}
		default:
			errs = append(errs, errcode.Invalidf(errcode.Invalid, path+".type", "unknown field type"))
		}
	}
	if err := errs.OrNil(); err != nil {
		return nil, err
	}
	return fields, nil
}

// Validate checks answers against fields and returns them in field order,
// normalised: unknown keys are refused, required fields must be answered,
// and consent answers carry the wording that was agreed to.
func Validate(fields []Field, answers []Answer) ([]Answer, error) {
	var errs errcode.UserErrors
	byKey := map[string]Answer{}
	for i, a := range answers {
		if _, dup := byKey[a.Key]; dup {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, fmt.Sprintf("answers.%d.key", i), "field "+a.Key+" is answered twice"))
			continue
		}
		if !slices.ContainsFunc(fields, func(f Field) bool { return f.Key == a.Key }) {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, fmt.Sprintf("answers.%d.key", i), "the form has no field "+a.Key))
			continue
		}
		byKey[a.Key] = a
	}
	var out []Answer
	for _, f := range fields {
		path := "answers." + f.Key
		a, ok := byKey[f.Key]
		if !ok || isEmpty(f, a) {
			if f.Required {
				errs = append(errs, errcode.Invalidf(errcode.Required, path, f.Label+" is required"))
			}
			continue
		}
		norm := Answer{Key: f.Key}
		switch f.Type {
		case ShortText, LongText:
			max := shortTextMax
			if f.Type == LongText {
				max = longTextMax
			}
			kind := text.SingleLine
			if f.Type == LongText {
				kind = text.MultiLine
			}
			if utf8.RuneCountInString(a.Text) > max {
				errs = append(errs, errcode.Invalidf(errcode.TooLong, path, fmt.Sprintf("%s is longer than %d characters", f.Label, max)))
			} else {
				norm.Text = text.Check(&errs, kind, path, a.Text, max)
			}
		case SingleChoice:
			// Options are stored NFC (ValidateFields); so is the answer.
			a.Text = text.Normalize(a.Text)
			if !slices.Contains(f.Options, a.Text) {
				errs = append(errs, errcode.Invalidf(errcode.Invalid, path, f.Label+": choose one of the options"))
			}
			norm.Text = a.Text
		case MultipleChoice:
			a.Choices = slices.Clone(a.Choices)
			for i, c := range a.Choices {
				c = text.Normalize(c)
				a.Choices[i] = c
				if !slices.Contains(f.Options, c) {
					errs = append(errs, errcode.Invalidf(errcode.Invalid, path, f.Label+": "+c+" is not an option"))
				}
			}
			norm.Choices = slices.Compact(slices.Sorted(slices.Values(a.Choices)))
		case Date:
			if _, err := time.Parse(time.DateOnly, a.Text); err != nil {
				errs = append(errs, errcode.Invalidf(errcode.Invalid, path, f.Label+": expected a date such as 2026-03-01"))
			}
			norm.Text = a.Text
		case YesNo:
			norm.Bool = a.Bool
		case Consent:
			if f.Required && !*a.Bool {
				errs = append(errs, errcode.Invalidf(errcode.Required, path, f.Label+": consent is required"))
			}
			norm.Bool = a.Bool
			norm.ConsentText = f.ConsentText
		}
		out = append(out, norm)
	}
	if err := errs.OrNil(); err != nil {
		return nil, err
	}
	return out, nil
}

func isEmpty(f Field, a Answer) bool {
	switch f.Type {
	case MultipleChoice:
		return len(a.Choices) == 0
	case YesNo, Consent:
		return a.Bool == nil
	default:
		return strings.TrimSpace(a.Text) == ""
	}
}

// MarshalGQL writes the type as a GraphQL enum value, quoted as JSON
// (the HTTP transport copies resolvers' output without re-encoding it).
func (t FieldType) MarshalGQL(w io.Writer) {
	b, _ := json.Marshal(string(t)) // a string always encodes
	_, _ = w.Write(b)
}

// UnmarshalGQL reads a GraphQL enum value.
func (t *FieldType) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("field type must be a string")
	}
	*t = FieldType(s)
	return nil
}
