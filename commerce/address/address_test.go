package address

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"frontdesk/errcode"
)

// fieldCodes lists "field:CODE" for each user error, for comparison.
func fieldCodes(errs errcode.UserErrors) []string {
	var out []string
	for _, e := range errs {
		out = append(out, strings.Join(e.Field, ".")+":"+string(e.Code))
	}
	return out
}

func valid() Address {
	return Address{Name: "Ada Lovelace", Line1: "10 Example St", City: "Sydney", Region: "NSW",
		PostalCode: "2000", Country: "AU", Phone: "+61412345678"}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Address)
		want []string
	}{
		{"valid", func(*Address) {}, nil},
		{"no region, no phone", func(a *Address) { a.Region, a.Phone = "", "" }, nil},
		{"missing required", func(a *Address) { a.Name, a.Line1, a.City, a.PostalCode, a.Country = "", "", "", "", "" },
			[]string{"ship.name:REQUIRED", "ship.line1:REQUIRED", "ship.city:REQUIRED", "ship.postalCode:REQUIRED", "ship.country:REQUIRED"}},
		{"name too long", func(a *Address) { a.Name = strings.Repeat("é", 201) }, []string{"ship.name:TOO_LONG"}},
		{"company and line2 too long", func(a *Address) { a.Company, a.Line2 = strings.Repeat("x", 201), strings.Repeat("x", 201) },
			[]string{"ship.company:TOO_LONG", "ship.line2:TOO_LONG"}},
		{"lower-case country", func(a *Address) { a.Country = "au" }, []string{"ship.country:INVALID"}},
		{"three-letter country", func(a *Address) { a.Country = "AUS" }, []string{"ship.country:TOO_LONG"}},
		{"region with punctuation", func(a *Address) { a.Region = "N.S" }, []string{"ship.region:INVALID"}},
		{"postal code with symbols", func(a *Address) { a.PostalCode = "20#0" }, []string{"ship.postalCode:INVALID"}},
		{"postal code too long", func(a *Address) { a.PostalCode = "1234567890123" }, []string{"ship.postalCode:TOO_LONG"}},
		{"local phone", func(a *Address) { a.Phone = "0412345678" }, []string{"ship.phone:INVALID"}},
		{"line break in a line", func(a *Address) { a.Line1 = "10 Example St\nSydney" }, []string{"ship.line1:INVALID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid()
			tt.edit(&a)
			if diff := cmp.Diff(tt.want, fieldCodes(a.Validate("ship"))); diff != "" {
				t.Fatalf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	got := Address{Name: "  Ada  ", Line1: " 10 Example St ", City: "Sydney ", Region: " nsw",
		PostalCode: " 2000 ", Country: "au ", Phone: "+61 412 345 678"}.Normalize()
	want := Address{Name: "Ada", Line1: "10 Example St", City: "Sydney", Region: "NSW",
		PostalCode: "2000", Country: "AU", Phone: "+61412345678"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Normalize (-want +got):\n%s", diff)
	}
	if errs := got.Validate("ship"); len(errs) != 0 {
		t.Fatalf("a normalised address is invalid: %v", fieldCodes(errs))
	}
}
