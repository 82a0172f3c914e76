package commerce

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/errcode"
	"frontdesk/identity"
	"frontdesk/text"
)

// Staff manage the pricing rules (shipping methods, tax rates, discount
// codes) with the same permission as orders: the people who run the shop's
// orders also set what they cost. Change it here, in one place, if the two
// ever need to be separate.
const rulesPermission = identity.ManageOrders

// maxAmount bounds every amount staff enter (minor units), far above any
// real price and far below where sums of them could overflow int64.
const maxAmount = 1_000_000_000_00

// rulesTx checks the permission, then runs fn in one transaction. A user
// error aborts it, so an input with any invalid field writes nothing.
func (s *Service) rulesTx(ctx context.Context, fn func(tx *ent.Tx) error) error {
	if _, err := identity.Require(ctx, rulesPermission); err != nil {
		return err
	}
	return userErrs(database.WithTx(ctx, s.client, fn))
}

var (
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
	regionRE  = regexp.MustCompile(`^[A-Z0-9]{1,3}$`)
)

// validateName checks a required display name with the shared text
// validator (one line, no control, bidi or zero-width characters).
func validateName(errs *errcode.UserErrors, field, v string, maxLen int) {
	n := len(*errs)
	if text.Check(errs, text.SingleLine, field, v, maxLen) == "" && len(*errs) == n {
		*errs = append(*errs, errcode.Invalidf(errcode.Required, field, "cannot be blank"))
	}
}

// validatePlace checks a country code and an optional region code, both
// already upper-cased; region "" means the whole country.
func validatePlace(errs *errcode.UserErrors, country, region string) {
	if !countryRE.MatchString(country) {
		*errs = append(*errs, errcode.Invalidf(errcode.Invalid, "country", "use a two-letter ISO 3166-1 country code such as AU"))
	}
	if region != "" && !regionRE.MatchString(region) {
		*errs = append(*errs, errcode.Invalidf(errcode.Invalid, "region", "use the region code, such as NSW, or leave it empty for the whole country"))
	}
}

// validateAmount checks a non-negative amount in minor units.
func validateAmount(errs *errcode.UserErrors, field string, v int64) {
	switch {
	case v < 0:
		*errs = append(*errs, errcode.Invalidf(errcode.Invalid, field, "cannot be negative"))
	case v > maxAmount:
		*errs = append(*errs, errcode.Invalidf(errcode.Invalid, field, fmt.Sprintf("at most %d", int64(maxAmount))))
	}
}

func upper(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// pick returns *p when set, else the current value.
func pick[T any](p *T, current T) T {
	if p != nil {
		return *p
	}
	return current
}

// notFound is the user error for an id that names no rule of its kind.
func notFound(what string) *errcode.UserError {
	return errcode.Invalidf(errcode.Missing, "id", "no "+what+" with this ID")
}
