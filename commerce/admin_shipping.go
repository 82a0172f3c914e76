package commerce

import (
	"context"
	"fmt"
	"strings"

	"frontdesk/ent"
	"frontdesk/ent/predicate"
	"frontdesk/ent/shippingmethod"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
)

// ShippingMethodInput creates or changes a shipping method. Nil fields are
// left as they are on update (and take the defaults noted on create).
//
//   - FLAT charges Price on every order.
//   - FREE_OVER charges Price unless the discounted subtotal reaches
//     FreeOver (required, above zero).
//   - PICKUP is free: Price and FreeOver must be 0 (the default).
//
// A method applies to one country (ISO 3166-1 alpha-2), or to one region
// of it when Region is set (such as NSW); "" means the whole country.
// Amounts are minor units of Currency, which must be the cart's currency
// for the method to be offered.
type ShippingMethodInput struct {
	Name     *string
	Kind     *ShippingKind
	Country  *string
	Region   *string // default ""
	Price    *int64  // default 0
	FreeOver *int64  // default 0
	Currency *string
	// Active offers the method at checkout (default true). Archived
	// methods stay on the orders that used them.
	Active *bool
}

// validateShippingMethod checks the method as it would be saved, so an
// update is judged with the fields it leaves alone.
func validateShippingMethod(m *ent.ShippingMethod) errcode.UserErrors {
	var errs errcode.UserErrors
	validateName(&errs, "name", m.Name, 200)
	validatePlace(&errs, m.Country, m.Region)
	if _, err := parseCurrency(m.Currency); err != nil {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "currency", "use a three-letter ISO 4217 code such as AUD"))
	}
	validateAmount(&errs, "price", m.Price)
	validateAmount(&errs, "freeOver", m.FreeOver)
	switch ShippingKind(m.Kind) {
	case FlatRate:
		if m.FreeOver != 0 {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "freeOver", "only FREE_OVER methods have a threshold; leave it at 0"))
		}
	case FreeOver:
		if m.FreeOver <= 0 {
			errs = append(errs, errcode.Invalidf(errcode.Required, "freeOver", "set the subtotal from which shipping is free"))
		}
	case Pickup:
		if m.Price != 0 {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "price", "local pickup is free; leave the price at 0"))
		}
		if m.FreeOver != 0 {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "freeOver", "only FREE_OVER methods have a threshold; leave it at 0"))
		}
	default:
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "kind", "use FLAT, FREE_OVER or PICKUP"))
	}
	return errs
}

// applyShippingInput returns m with the input's fields applied and
// normalised (trimmed, codes upper-cased).
func applyShippingInput(m ent.ShippingMethod, in ShippingMethodInput) *ent.ShippingMethod {
	m.Name = strings.TrimSpace(pick(in.Name, m.Name))
	m.Kind = shippingmethod.Kind(pick((*string)(in.Kind), string(m.Kind)))
	m.Country = upper(pick(in.Country, m.Country))
	m.Region = upper(pick(in.Region, m.Region))
	m.Price = pick(in.Price, m.Price)
	m.FreeOver = pick(in.FreeOver, m.FreeOver)
	m.Currency = upper(pick(in.Currency, m.Currency))
	m.Active = pick(in.Active, m.Active)
	return &m
}

// CreateShippingMethod adds a shipping method. Every invalid field is
// reported at once and nothing is written.
func (s *Service) CreateShippingMethod(ctx context.Context, in ShippingMethodInput) (*ent.ShippingMethod, error) {
	m := applyShippingInput(ent.ShippingMethod{Active: true}, in)
	if in.Kind == nil {
		m.Kind = "" // reported as an invalid kind
	}
	var out *ent.ShippingMethod
	err := s.rulesTx(ctx, func(tx *ent.Tx) error {
		if errs := validateShippingMethod(m); len(errs) > 0 {
			return errs
		}
		var err error
		out, err = tx.ShippingMethod.Create().SetName(m.Name).SetKind(m.Kind).SetCountry(m.Country).SetRegion(m.Region).
			SetPrice(m.Price).SetFreeOver(m.FreeOver).SetCurrency(m.Currency).SetActive(m.Active).Save(ctx)
		if err != nil {
			return fmt.Errorf("create shipping method: %w", err)
		}
		return nil
	})
	return out, err
}

// UpdateShippingMethod changes the fields given. Orders already placed keep
// the name and price they were charged.
func (s *Service) UpdateShippingMethod(ctx context.Context, id gid.ID, in ShippingMethodInput) (*ent.ShippingMethod, error) {
	var out *ent.ShippingMethod
	err := s.rulesTx(ctx, func(tx *ent.Tx) error {
		cur, err := tx.ShippingMethod.Get(ctx, id)
		if ent.IsNotFound(err) {
			return notFound("shipping method")
		}
		if err != nil {
			return fmt.Errorf("read shipping method: %w", err)
		}
		m := applyShippingInput(*cur, in)
		if errs := validateShippingMethod(m); len(errs) > 0 {
			return errs
		}
		out, err = cur.Update().SetName(m.Name).SetKind(m.Kind).SetCountry(m.Country).SetRegion(m.Region).
			SetPrice(m.Price).SetFreeOver(m.FreeOver).SetCurrency(m.Currency).SetActive(m.Active).Save(ctx)
		if err != nil {
			return fmt.Errorf("update shipping method: %w", err)
		}
		return nil
	})
	return out, err
}

// ArchiveShippingMethod stops offering a method at checkout. Carts that
// chose it are asked to choose again; placed orders keep it. Restore it
// with UpdateShippingMethod and Active true.
func (s *Service) ArchiveShippingMethod(ctx context.Context, id gid.ID) (*ent.ShippingMethod, error) {
	off := false
	return s.UpdateShippingMethod(ctx, id, ShippingMethodInput{Active: &off})
}

// ShippingMethodFilter narrows the staff list. Zero fields do not filter.
type ShippingMethodFilter struct {
	Country  string
	Region   string
	Currency string
	// Active filters on whether methods are offered (nil: both).
	Active *bool
}

// ListShippingMethods returns the shipping methods matching f, for staff
// to page through (the caller orders and paginates the query).
func (s *Service) ListShippingMethods(ctx context.Context, f ShippingMethodFilter) (*ent.ShippingMethodQuery, error) {
	if _, err := identity.Require(ctx, rulesPermission); err != nil {
		return nil, err
	}
	var ps []predicate.ShippingMethod
	if c := upper(f.Country); c != "" {
		ps = append(ps, shippingmethod.Country(c))
	}
	if r := upper(f.Region); r != "" {
		ps = append(ps, shippingmethod.Region(r))
	}
	if c := upper(f.Currency); c != "" {
		ps = append(ps, shippingmethod.Currency(c))
	}
	if f.Active != nil {
		ps = append(ps, shippingmethod.Active(*f.Active))
	}
	return s.client.ShippingMethod.Query().Where(ps...), nil
}
