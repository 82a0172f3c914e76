package intake

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"frontdesk/errcode"
)

func codes(err error) []string {
	if err == nil {
		return nil
	}
	var ues errcode.UserErrors
	if !errors.As(err, &ues) {
		return []string{"not user errors: " + err.Error()}
	}
	var out []string
	for _, e := range ues {
		out = append(out, strings.Join(e.Field, ".")+":"+string(e.Code))
	}
	return out
}

func TestValidateFields(t *testing.T) {
	ok := Field{Key: "k", Label: "L", Type: ShortText}
	tests := []struct {
		name   string
		fields []Field
		want   []string
	}{
		{"one field", []Field{ok}, nil},
		{"none", nil, []string{"fields:REQUIRED"}},
		{"too many", make101(ok), []string{"fields:INVALID"}},
		{"empty key", []Field{{Label: "L", Type: Date}}, []string{"fields.0.key:INVALID"}},
		{"long key", []Field{{Key: strings.Repeat("k", 65), Label: "L", Type: Date}}, []string{"fields.0.key:INVALID"}},
		{"duplicate key", []Field{ok, ok}, []string{"fields.1.key:TAKEN"}},
		{"blank label", []Field{{Key: "k", Label: " ", Type: YesNo}}, []string{"fields.0.label:REQUIRED"}},
		{"choice with one option", []Field{{Key: "k", Label: "L", Type: SingleChoice, Options: []string{"a"}}}, []string{"fields.0.options:INVALID"}},
		{"consent without wording", []Field{{Key: "k", Label: "L", Type: Consent}}, []string{"fields.0.consentText:REQUIRED"}},
		{"unknown type", []Field{{Key: "k", Label: "L", Type: "SIGNATURE"}}, []string{"fields.0.type:INVALID"}},
		// Every text of a definition goes through package text.
		{"label with a line break", []Field{{Key: "k", Label: "Name\r\nBcc: x@example.com", Type: ShortText}}, []string{"fields.0.label:INVALID"}},
		{"label too long", []Field{{Key: "k", Label: strings.Repeat("é", 201), Type: ShortText}}, []string{"fields.0.label:TOO_LONG"}},
		{"key with NUL", []Field{{Key: "k\x00", Label: "L", Type: ShortText}}, []string{"fields.0.key:INVALID"}},
		{"help with a bidi override", []Field{{Key: "k", Label: "L", Help: "see \u202efdp.exe", Type: ShortText}}, []string{"fields.0.help:INVALID"}},
		{"help too long", []Field{{Key: "k", Label: "L", Help: strings.Repeat("h", 2001), Type: ShortText}}, []string{"fields.0.help:TOO_LONG"}},
		{"option with a zero-width space", []Field{{Key: "k", Label: "L", Type: SingleChoice, Options: []string{"a", "b\u200b"}}}, []string{"fields.0.options.1:INVALID"}},
		{"option too long", []Field{{Key: "k", Label: "L", Type: SingleChoice, Options: []string{"a", strings.Repeat("o", 201)}}}, []string{"fields.0.options.1:TOO_LONG"}},
		{"blank option", []Field{{Key: "k", Label: "L", Type: SingleChoice, Options: []string{"a", " "}}}, []string{"fields.0.options.1:REQUIRED"}},
		{"options equal once NFC", []Field{{Key: "k", Label: "L", Type: SingleChoice, Options: []string{"Caf\u00e9", "Cafe\u0301"}}}, []string{"fields.0.options.1:TAKEN"}},
		{"too many options", []Field{{Key: "k", Label: "L", Type: MultipleChoice, Options: manyOptions(101)}}, []string{"fields.0.options:INVALID"}},
		{"consent wording with a control character", []Field{{Key: "k", Label: "L", Type: Consent, ConsentText: "I agree\x07"}}, []string{"fields.0.consentText:INVALID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ValidateFields(tt.fields)
			if diff := cmp.Diff(tt.want, codes(err)); diff != "" {
				t.Fatalf("ValidateFields (-want +got):\n%s", diff)
			}
		})
	}
}

func manyOptions(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint("option ", i)
	}
	return out
}

// TestValidateFieldsStoresNFC: what ValidateFields returns, and the form
// stores, is the cleaned definition: NFC, trimmed, multi-line texts with
// LF; the caller's slice is not changed. A choice answered in another
// normalisation still matches its option.
func TestValidateFieldsStoresNFC(t *testing.T) {
	in := []Field{
		{Key: " visit ", Label: " Caf\u0065\u0301 visit ", Help: "Line one\r\nLine two", Type: SingleChoice, Options: []string{"Cafe\u0301", " tea "}},
		{Key: "ok", Label: "OK", Type: Consent, ConsentText: "I agree to the caf\u0065\u0301 rules\r\n"},
	}
	got, err := ValidateFields(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{
		{Key: "visit", Label: "Caf\u00e9 visit", Help: "Line one\nLine two", Type: SingleChoice, Options: []string{"Caf\u00e9", "tea"}},
		{Key: "ok", Label: "OK", Type: Consent, ConsentText: "I agree to the caf\u00e9 rules"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ValidateFields (-want +got):\n%s", diff)
	}
	if in[0].Options[0] != "Cafe\u0301" || in[0].Label != " Caf\u0065\u0301 visit " {
		t.Fatalf("the caller's fields were changed: %+v", in[0])
	}
	answers, err := Validate(got, []Answer{{Key: "visit", Text: "Cafe\u0301"}})
	if err != nil || answers[0].Text != "Caf\u00e9" {
		t.Fatalf("an NFD answer to an NFC option: %v %+v", err, answers)
	}
}

func make101(f Field) []Field {
	out := make([]Field, 101)
	for i := range out {
		out[i] = f
		out[i].Key = "k" + strings.Repeat("x", i%60) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	return out
}

var form = []Field{
	{Key: "name", Label: "Name", Type: ShortText, Required: true},
	{Key: "notes", Label: "Notes", Type: LongText},
	{Key: "visit", Label: "Visit", Type: SingleChoice, Options: []string{"first", "follow-up"}},
	{Key: "symptoms", Label: "Symptoms", Type: MultipleChoice, Options: []string{"cough", "fever", "pain"}},
	{Key: "dob", Label: "Date of birth", Type: Date},
	{Key: "allergies", Label: "Allergies", Type: YesNo},
	{Key: "consent", Label: "Consent", Type: Consent, Required: true, ConsentText: "I agree to treatment."},
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func TestValidate(t *testing.T) {
	base := func() []Answer {
		return []Answer{{Key: "name", Text: "Ada"}, {Key: "consent", Bool: yes()}}
	}
	tests := []struct {
		name    string
		answers []Answer
		want    []string
	}{
		{"required only", base(), nil},
		{"every field", append(base(), Answer{Key: "notes", Text: "line one\nline two"}, Answer{Key: "visit", Text: "first"},
			Answer{Key: "symptoms", Choices: []string{"fever", "cough"}}, Answer{Key: "dob", Text: "1815-12-10"}, Answer{Key: "allergies", Bool: no()}), nil},
		{"missing required", nil, []string{"answers.name:REQUIRED", "answers.consent:REQUIRED"}},
		{"blank required text", []Answer{{Key: "name", Text: "  "}, {Key: "consent", Bool: yes()}}, []string{"answers.name:REQUIRED"}},
		{"consent refused", []Answer{{Key: "name", Text: "Ada"}, {Key: "consent", Bool: no()}}, []string{"answers.consent:REQUIRED"}},
		{"unknown key", append(base(), Answer{Key: "shoe", Text: "42"}), []string{"answers.2.key:INVALID"}},
		{"answered twice", append(base(), Answer{Key: "name", Text: "Bob"}), []string{"answers.2.key:INVALID"}},
		{"short text too long", []Answer{{Key: "name", Text: strings.Repeat("a", 201)}, {Key: "consent", Bool: yes()}}, []string{"answers.name:TOO_LONG"}},
		{"line break in short text", []Answer{{Key: "name", Text: "Ada\nLovelace"}, {Key: "consent", Bool: yes()}}, []string{"answers.name:INVALID"}},
		{"not an option", append(base(), Answer{Key: "visit", Text: "third"}), []string{"answers.visit:INVALID"}},
		{"one choice not an option", append(base(), Answer{Key: "symptoms", Choices: []string{"cough", "rash"}}), []string{"answers.symptoms:INVALID"}},
		{"bad date", append(base(), Answer{Key: "dob", Text: "10/12/1815"}), []string{"answers.dob:INVALID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Validate(form, tt.answers)
			if diff := cmp.Diff(tt.want, codes(err)); diff != "" {
				t.Fatalf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

// Valid answers come back in field order, choices sorted and deduplicated,
// and the consent answer carries the wording that was agreed to.
func TestValidateNormalises(t *testing.T) {
	got, err := Validate(form, []Answer{
		{Key: "consent", Bool: yes()},
		{Key: "symptoms", Choices: []string{"pain", "cough", "pain"}},
		{Key: "name", Text: "Ada"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Answer{
		{Key: "name", Text: "Ada"},
		{Key: "symptoms", Choices: []string{"cough", "pain"}},
		{Key: "consent", Bool: yes(), ConsentText: "I agree to treatment."},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Validate (-want +got):\n%s", diff)
	}
}
