package text_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"frontdesk/errcode"
	"frontdesk/text"
)

func TestClean(t *testing.T) {
	tests := []struct {
		name string
		kind text.Kind
		in   string
		max  int
		want string
		code errcode.UserErrorCode // "" when accepted
	}{
		{"plain name", text.SingleLine, "  Jo Citizen ", 200, "Jo Citizen", ""},
		{"NFD becomes NFC", text.SingleLine, "Zo\u0065\u0301", 200, "Zo\u00e9", ""},
		{"accents, CJK, RTL script and emoji", text.SingleLine, "Łukasz 山田 محمد 🎉", 200, "Łukasz 山田 محمد 🎉", ""},
		{"CRLF header injection", text.SingleLine, "Jo\r\nBcc: victim@example.com", 200, "", errcode.Invalid},
		{"LF in a name", text.SingleLine, "Jo\nCitizen", 200, "", errcode.Invalid},
		{"tab in a name", text.SingleLine, "Jo\tCitizen", 200, "", errcode.Invalid},
		{"NUL", text.SingleLine, "Jo\x00", 200, "", errcode.Invalid},
		{"DEL", text.SingleLine, "Jo\x7f", 200, "", errcode.Invalid},
		{"C1 control", text.SingleLine, "Jo\u0085x", 200, "", errcode.Invalid},
		{"right-to-left override", text.SingleLine, "invoice\u202Efdp.exe", 200, "", errcode.Invalid},
		{"left-to-right embedding", text.SingleLine, "a\u202Ab", 200, "", errcode.Invalid},
		{"first strong isolate", text.SingleLine, "a\u2068b", 200, "", errcode.Invalid},
		{"pop directional isolate", text.SingleLine, "a\u2069b", 200, "", errcode.Invalid},
		{"zero-width space", text.SingleLine, "Jo\u200BCitizen", 200, "", errcode.Invalid},
		{"zero-width joiner", text.SingleLine, "Jo\u200DCitizen", 200, "", errcode.Invalid},
		{"word joiner", text.SingleLine, "Jo\u2060", 200, "", errcode.Invalid},
		{"byte-order mark", text.SingleLine, "\uFEFFJo", 200, "", errcode.Invalid},
		{"line separator", text.SingleLine, "Jo\u2028Citizen", 200, "", errcode.Invalid},
		{"invalid UTF-8", text.SingleLine, "Jo\xff", 200, "", errcode.Invalid},
		{"too long after NFC", text.SingleLine, "éééé", 3, "", errcode.TooLong},
		{"exactly the limit, combining marks counted once composed", text.SingleLine, "e\u0301e\u0301e\u0301", 3, "ééé", ""},
		{"no limit", text.SingleLine, "long", 0, "long", ""},
		{"multi-line keeps LF and tab", text.MultiLine, "Line 1\n\tLine 2", 100, "Line 1\n\tLine 2", ""},
		{"multi-line turns CRLF into LF", text.MultiLine, "Line 1\r\nLine 2", 100, "Line 1\nLine 2", ""},
		{"multi-line refuses a lone CR", text.MultiLine, "Line 1\rBcc: x", 100, "", errcode.Invalid},
		{"multi-line refuses NUL", text.MultiLine, "a\x00b", 100, "", errcode.Invalid},
		{"multi-line refuses bidi", text.MultiLine, "a\u202Eb", 100, "", errcode.Invalid},
		{"empty is valid", text.SingleLine, "", 10, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ue := text.Clean(tc.kind, "guest.name", tc.in, tc.max)
			if tc.code == "" {
				if ue != nil {
					t.Fatalf("refused: %v", ue)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("Clean (-want +got):\n%s", diff)
				}
				return
			}
			if ue == nil {
				t.Fatalf("accepted as %q, want %s", got, tc.code)
			}
			if ue.Code != tc.code || !cmp.Equal(ue.Field, []string{"guest", "name"}) || ue.Message == "" {
				t.Errorf("error = %+v, want code %s on guest.name", ue, tc.code)
			}
		})
	}
}

func TestCheckCollects(t *testing.T) {
	var errs errcode.UserErrors
	name := text.Check(&errs, text.SingleLine, "name", " Ann ", 10)
	text.Check(&errs, text.SingleLine, "city", "Syd\nney", 10)
	text.Check(&errs, text.MultiLine, "notes", "x\u202E", 10)
	if name != "Ann" || len(errs) != 2 || errs[0].Field[0] != "city" || errs[1].Field[0] != "notes" {
		t.Fatalf("name %q, errs %v", name, errs)
	}
}
