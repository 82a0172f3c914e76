package commerce

import (
	"context"
	"fmt"
	"strings"

	"frontdesk/ent"
	"frontdesk/ent/predicate"
	"frontdesk/ent/taxrate"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
)

// TaxRateInput creates or changes a tax rate. Nil fields are left as they
// are on update.
//
// A rate applies to a country, or to one region of it when Region is set;
// a region's own rate beats the country's. RateBP is in basis points
// (1000 = 10%, at most 10000). Inclusive says that prices shipped there
// already contain the tax (the order shows the part of the total that is
// tax, as with Australian GST); otherwise the tax is added on top of the
// discounted subtotal plus shipping.
type TaxRateInput struct {
	Name      *string
	Country   *string
	Region    *string // default ""
	RateBP    *int
	Inclusive *bool // default false
}

func validateTaxRate(t *ent.TaxRate) errcode.UserErrors {
	var errs errcode.UserErrors
	validateName(&errs, "name", t.Name, 100)
	validatePlace(&errs, t.Country, t.Region)
	if t.RateBp < 0 || t.RateBp > 10000 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "rateBp", "use basis points from 0 to 10000 (1000 = 10%)"))
	}
	return errs
}

func applyTaxInput(t ent.TaxRate, in TaxRateInput) *ent.TaxRate {
	t.Name = strings.TrimSpace(pick(in.Name, t.Name))
	t.Country = upper(pick(in.Country, t.Country))
	t.Region = upper(pick(in.Region, t.Region))
	t.RateBp = pick(in.RateBP, t.RateBp)
	t.Inclusive = pick(in.Inclusive, t.Inclusive)
	return &t
}

// checkTaxPlaceFree reports a TAKEN error when another rate covers the
// same country and region (the unique index is the final word).
func checkTaxPlaceFree(ctx context.Context, tx *ent.Tx, t *ent.TaxRate) error {
	taken, err := tx.TaxRate.Query().Where(taxrate.Country(t.Country), taxrate.Region(t.Region), taxrate.IDNEQ(t.ID)).Exist(ctx)
	if err != nil {
		return fmt.Errorf("check tax rate: %w", err)
	}
	if taken {
		return errTaxPlaceTaken
	}
	return nil
}

var errTaxPlaceTaken = errcode.Invalidf(errcode.Taken, "region", "another tax rate already covers this country and region; change that one")

// CreateTaxRate adds the tax rate of a country or region.
func (s *Service) CreateTaxRate(ctx context.Context, in TaxRateInput) (*ent.TaxRate, error) {
	t := applyTaxInput(ent.TaxRate{RateBp: -1}, in)
	var out *ent.TaxRate
	err := s.rulesTx(ctx, func(tx *ent.Tx) error {
		if errs := validateTaxRate(t); len(errs) > 0 {
			return errs
		}
		if err := checkTaxPlaceFree(ctx, tx, t); err != nil {
			return err
		}
		var err error
		out, err = tx.TaxRate.Create().SetName(t.Name).SetCountry(t.Country).SetRegion(t.Region).
			SetRateBp(t.RateBp).SetInclusive(t.Inclusive).Save(ctx)
		if ent.IsConstraintError(err) {
			return errTaxPlaceTaken
		}
		if err != nil {
			return fmt.Errorf("create tax rate: %w", err)
		}
		return nil
	})
	return out, err
}

// UpdateTaxRate changes the fields given. Orders already placed keep the
// tax they were charged.
func (s *Service) UpdateTaxRate(ctx context.Context, id gid.ID, in TaxRateInput) (*ent.TaxRate, error) {
	var out *ent.TaxRate
	err := s.rulesTx(ctx, func(tx *ent.Tx) error {
		cur, err := tx.TaxRate.Get(ctx, id)
		if ent.IsNotFound(err) {
			return notFound("tax rate")
		}
		if err != nil {
			return fmt.Errorf("read tax rate: %w", err)
		}
		t := applyTaxInput(*cur, in)
		if errs := validateTaxRate(t); len(errs) > 0 {
			return errs
		}
		if err := checkTaxPlaceFree(ctx, tx, t); err != nil {
			return err
		}
		out, err = cur.Update().SetName(t.Name).SetCountry(t.Country).SetRegion(t.Region).
			SetRateBp(t.RateBp).SetInclusive(t.Inclusive).Save(ctx)
		if ent.IsConstraintError(err) {
			return errTaxPlaceTaken
		}
		if err != nil {
			return fmt.Errorf("update tax rate: %w", err)
		}
		return nil
	})
	return out, err
}

// DeleteTaxRate removes a tax rate; carts shipping there are then priced
// without it (or with the country's rate, for a region). Placed orders
// keep their tax.
func (s *Service) DeleteTaxRate(ctx context.Context, id gid.ID) (gid.ID, error) {
	err := s.rulesTx(ctx, func(tx *ent.Tx) error {
		err := tx.TaxRate.DeleteOneID(id).Exec(ctx)
		if ent.IsNotFound(err) {
			return notFound("tax rate")
		}
		if err != nil {
			return fmt.Errorf("delete tax rate: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// TaxRateFilter narrows the staff list. Zero fields do not filter.
type TaxRateFilter struct {
	Country string
}

// ListTaxRates returns the tax rates matching f, for staff to page through.
func (s *Service) ListTaxRates(ctx context.Context, f TaxRateFilter) (*ent.TaxRateQuery, error) {
	if _, err := identity.Require(ctx, rulesPermission); err != nil {
		return nil, err
	}
	var ps []predicate.TaxRate
	if c := upper(f.Country); c != "" {
		ps = append(ps, taxrate.Country(c))
	}
	return s.client.TaxRate.Query().Where(ps...), nil
}
