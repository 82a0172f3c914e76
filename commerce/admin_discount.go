package commerce

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/discountcode"
	"frontdesk/ent/predicate"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
)

// DiscountCodeInput creates or changes a discount code. Nil fields are left
// as they are on update; the Clear flags remove an optional setting.
//
//   - Code is what customers type, 3 to 64 letters, digits, - or _; it is
//     stored upper-case and matched in any case.
//   - PERCENT takes Value in basis points (1000 = 10%, at most 10000);
//     FIXED takes minor units of Currency, which it then requires.
//   - Currency, when set, limits the code to carts in that currency (and
//     gives MinSubtotal its unit).
//   - StartsAt/EndsAt bound when it may be used (EndsAt exclusive).
//   - UsageLimit caps orders overall, PerCustomerLimit per signed-in
//     customer (or guest email). Uses are given back when an unpaid order
//     is cancelled or expires.
type DiscountCodeInput struct {
	Code                  *string
	Kind                  *DiscountKind
	Value                 *int64
	Currency              *string
	MinSubtotal           *int64
	StartsAt              *time.Time
	ClearStartsAt         bool
	EndsAt                *time.Time
	ClearEndsAt           bool
	UsageLimit            *int
	ClearUsageLimit       bool
	PerCustomerLimit      *int
	ClearPerCustomerLimit bool
	// Active lets customers use the code (default true).
	Active *bool
}

var codeRE = regexp.MustCompile(`^[A-Z0-9_-]{3,64}$`)

func validateDiscountCode(d *ent.DiscountCode) errcode.UserErrors {
	var errs errcode.UserErrors
	if !codeRE.MatchString(d.Code) {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "code", "use 3 to 64 letters, digits, - or _"))
	}
	if d.Currency != "" {
		if _, err := parseCurrency(d.Currency); err != nil {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "currency", "use a three-letter ISO 4217 code such as AUD"))
		}
	}
	switch DiscountKind(d.Kind) {
	case Percent:
		if d.Value <= 0 || d.Value > 10000 {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "value", "use basis points from 1 to 10000 (1000 = 10%)"))
		}
	case Fixed:
		if d.Value <= 0 || d.Value > maxAmount {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "value", fmt.Sprintf("use an amount in minor units from 1 to %d", int64(maxAmount))))
		}
		if d.Currency == "" {
			errs = append(errs, errcode.Invalidf(errcode.Required, "currency", "a fixed amount needs its currency"))
		}
	default:
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "kind", "use PERCENT or FIXED"))
	}
	validateAmount(&errs, "minSubtotal", d.MinSubtotal)
	if d.MinSubtotal > 0 && d.Currency == "" {
		errs = append(errs, errcode.Invalidf(errcode.Required, "currency", "a minimum subtotal needs its currency"))
	}
	if d.StartsAt != nil && d.EndsAt != nil && !d.EndsAt.After(*d.StartsAt) {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "endsAt", "must be after startsAt"))
	}
	if d.UsageLimit != nil && *d.UsageLimit < 1 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "usageLimit", "at least 1, or clear it for no limit"))
	}
	if d.UsageLimit != nil && *d.UsageLimit < d.UsedCount {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "usageLimit",
			fmt.Sprintf("the code has already been used %d times; deactivate it to stop further use", d.UsedCount)))
	}
	if d.PerCustomerLimit != nil && *d.PerCustomerLimit < 1 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "perCustomerLimit", "at least 1, or clear it for no limit"))
	}
	return errs
}

func applyDiscountInput(d ent.DiscountCode, in DiscountCodeInput) *ent.DiscountCode {
	d.Code = upper(pick(in.Code, d.Code))
	d.Kind = discountcode.Kind(pick((*string)(in.Kind), string(d.Kind)))
	d.Value = pick(in.Value, d.Value)
	d.Currency = upper(pick(in.Currency, d.Currency))
	d.MinSubtotal = pick(in.MinSubtotal, d.MinSubtotal)
	utc := func(t *time.Time) *time.Time {
		u := t.UTC().Truncate(time.Microsecond)
		return &u
	}
	if in.StartsAt != nil {
		d.StartsAt = utc(in.StartsAt)
	}
	if in.ClearStartsAt {
		d.StartsAt = nil
	}
	if in.EndsAt != nil {
		d.EndsAt = utc(in.EndsAt)
	}
	if in.ClearEndsAt {
		d.EndsAt = nil
	}
	if in.UsageLimit != nil {
		d.UsageLimit = in.UsageLimit
	}
	if in.ClearUsageLimit {
		d.UsageLimit = nil
	}
	if in.PerCustomerLimit != nil {
		d.PerCustomerLimit = in.PerCustomerLimit
	}
	if in.ClearPerCustomerLimit {
		d.PerCustomerLimit = nil
	}
	d.Active = pick(in.Active, d.Active)
	return &d
}

var errCodeTaken = errcode.Invalidf(errcode.Taken, "code", "another discount code is already called this")

func checkCodeFree(ctx context.Context, tx *ent.Tx, d *ent.DiscountCode) error {
	taken, err := tx.DiscountCode.Query().Where(discountcode.Code(d.Code), discountcode.IDNEQ(d.ID)).Exist(ctx)
	if err != nil {
		return fmt.Errorf("check discount code: %w", err)
	}
	if taken {
		return errCodeTaken
	}
	return nil
}

// CreateDiscountCode adds a discount code.
func (s *Service) CreateDiscountCode(ctx context.Context, in DiscountCodeInput) (*ent.DiscountCode, error) {
	d := applyDiscountInput(ent.DiscountCode{Active: true}, in)
	var out *ent.DiscountCode
	err := s.rulesTx(ctx, func(tx *ent.Tx) error {
		if errs := validateDiscountCode(d); len(errs) > 0 {
			return errs
		}
		if err := checkCodeFree(ctx, tx, d); err != nil {
			return err
		}
		var err error
		out, err = tx.DiscountCode.Create().SetCode(d.Code).SetKind(d.Kind).SetValue(d.Value).SetCurrency(d.Currency).
			SetMinSubtotal(d.MinSubtotal).SetNillableStartsAt(d.StartsAt).SetNillableEndsAt(d.EndsAt).
			SetNillableUsageLimit(d.UsageLimit).SetNillablePerCustomerLimit(d.PerCustomerLimit).SetActive(d.Active).Save(ctx)
		if ent.IsConstraintError(err) {
			return errCodeTaken
		}
		if err != nil {
			return fmt.Errorf("create discount code: %w", err)
		}
		return nil
	})
	return out, err
}

// UpdateDiscountCode changes the fields given. Orders already placed keep
// the discount they got. The usage limit cannot go below the uses so far.
func (s *Service) UpdateDiscountCode(ctx context.Context, id gid.ID, in DiscountCodeInput) (*ent.DiscountCode, error) {
	var out *ent.DiscountCode
	err := s.rulesTx(ctx, func(tx *ent.Tx) error {
		cur, err := tx.DiscountCode.Get(ctx, id)
		if ent.IsNotFound(err) {
			return notFound("discount code")
		}
		if err != nil {
			return fmt.Errorf("read discount code: %w", err)
		}
		d := applyDiscountInput(*cur, in)
		if errs := validateDiscountCode(d); len(errs) > 0 {
			return errs
		}
		if err := checkCodeFree(ctx, tx, d); err != nil {
			return err
		}
		u := tx.DiscountCode.Update().Where(discountcode.ID(id)).SetCode(d.Code).SetKind(d.Kind).SetValue(d.Value).
			SetCurrency(d.Currency).SetMinSubtotal(d.MinSubtotal).SetActive(d.Active)
		if d.StartsAt != nil {
			u.SetStartsAt(*d.StartsAt)
		} else {
			u.ClearStartsAt()
		}
		if d.EndsAt != nil {
			u.SetEndsAt(*d.EndsAt)
		} else {
			u.ClearEndsAt()
		}
		if d.UsageLimit != nil {
			// Checked against the count in the same UPDATE, so a checkout
			// redeeming meanwhile cannot leave the code over its limit.
			u.SetUsageLimit(*d.UsageLimit).Where(discountcode.UsedCountLTE(*d.UsageLimit))
		} else {
			u.ClearUsageLimit()
		}
		if d.PerCustomerLimit != nil {
			u.SetPerCustomerLimit(*d.PerCustomerLimit)
		} else {
			u.ClearPerCustomerLimit()
		}
		n, err := u.Save(ctx)
		if ent.IsConstraintError(err) {
			return errCodeTaken
		}
		if err != nil {
			return fmt.Errorf("update discount code: %w", err)
		}
		if n == 0 {
			return errcode.Invalidf(errcode.Conflict, "usageLimit", "the code was used meanwhile beyond this limit; reload it and try again")
		}
		out, err = tx.DiscountCode.Get(ctx, id)
		if err != nil {
			return fmt.Errorf("reload discount code: %w", err)
		}
		return nil
	})
	return out, err
}

// DeactivateDiscountCode stops a code from being used; carts holding it
// are told at their next view and orders already placed keep it.
// Reactivate with UpdateDiscountCode and Active true.
func (s *Service) DeactivateDiscountCode(ctx context.Context, id gid.ID) (*ent.DiscountCode, error) {
	off := false
	return s.UpdateDiscountCode(ctx, id, DiscountCodeInput{Active: &off})
}

// DiscountCodeFilter narrows the staff list. Zero fields do not filter.
type DiscountCodeFilter struct {
	// Search matches the start of the code, in any case.
	Search string
	// Active filters on whether codes may be used (nil: both).
	Active *bool
}

// ListDiscountCodes returns the discount codes matching f, for staff to
// page through. Each carries its use count (UsedCount).
func (s *Service) ListDiscountCodes(ctx context.Context, f DiscountCodeFilter) (*ent.DiscountCodeQuery, error) {
	if _, err := identity.Require(ctx, rulesPermission); err != nil {
		return nil, err
	}
	var ps []predicate.DiscountCode
	if q := upper(f.Search); q != "" {
		ps = append(ps, discountcode.CodeHasPrefix(q))
	}
	if f.Active != nil {
		ps = append(ps, discountcode.Active(*f.Active))
	}
	return s.client.DiscountCode.Query().Where(ps...), nil
}
