// Package address is the postal address value stored on carts and orders.
// It lives apart from package commerce so the ent schema can use it
// without importing the generated client.
package address

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"frontdesk/errcode"
	"frontdesk/text"
)

// Address is a postal address. Country is an ISO 3166-1 alpha-2 code;
// Region is the state or province code within it (such as NSW), used to
// pick shipping methods and tax rates.
type Address struct {
	Name       string `json:"name"`
	Company    string `json:"company,omitempty"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
	Phone      string `json:"phone,omitempty"`
}

var (
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
	regionRE  = regexp.MustCompile(`^[A-Z0-9]{1,3}$`)
	postalRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 -]{1,10}$`)
	phoneRE   = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// Normalize trims every field, brings the text to NFC and upper-cases the
// country and region codes, so comparisons with shipping and tax rules
// are exact.
func (a Address) Normalize() Address {
	t := text.Normalize
	return Address{
		Name: t(a.Name), Company: t(a.Company), Line1: t(a.Line1), Line2: t(a.Line2), City: t(a.City),
		Region: strings.ToUpper(t(a.Region)), PostalCode: t(a.PostalCode), Country: strings.ToUpper(t(a.Country)),
		Phone: strings.ReplaceAll(t(a.Phone), " ", ""),
	}
}

// Validate returns one user error per invalid field, with paths under
// prefix (such as "shippingAddress").
func (a Address) Validate(prefix string) errcode.UserErrors {
	var errs errcode.UserErrors
	// Every human part of the address is one line of plain text: it is
	// printed on labels and in order emails (see package text).
	for _, f := range []struct{ name, v string }{{"name", a.Name}, {"company", a.Company}, {"line1", a.Line1}, {"line2", a.Line2}, {"city", a.City}} {
		if _, ue := text.Human(prefix+"."+f.name, f.v, 0); ue != nil {
			errs = append(errs, ue)
		}
	}
	req := func(v, field string, max int) {
		switch {
		case v == "":
			errs = append(errs, errcode.Invalidf(errcode.Required, prefix+"."+field, "required"))
		case utf8.RuneCountInString(v) > max:
			errs = append(errs, errcode.Invalidf(errcode.TooLong, prefix+"."+field, "too long"))
		}
	}
	req(a.Name, "name", 200)
	req(a.Line1, "line1", 200)
	req(a.City, "city", 100)
	req(a.PostalCode, "postalCode", 12)
	req(a.Country, "country", 2)
	if utf8.RuneCountInString(a.Company) > 200 {
		errs = append(errs, errcode.Invalidf(errcode.TooLong, prefix+".company", "too long"))
	}
	if utf8.RuneCountInString(a.Line2) > 200 {
		errs = append(errs, errcode.Invalidf(errcode.TooLong, prefix+".line2", "too long"))
	}
	if a.Country != "" && len(a.Country) <= 2 && !countryRE.MatchString(a.Country) {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, prefix+".country", "use a two-letter ISO 3166-1 country code such as AU"))
	}
	if a.Region != "" && !regionRE.MatchString(a.Region) {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, prefix+".region", "use the region code, such as NSW"))
	}
	if a.PostalCode != "" && len(a.PostalCode) <= 12 && !postalRE.MatchString(a.PostalCode) {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, prefix+".postalCode", "not a postal code"))
	}
	if a.Phone != "" && !phoneRE.MatchString(a.Phone) {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, prefix+".phone", "use the international format, such as +61412345678"))
	}
	return errs
}
