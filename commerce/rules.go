package commerce

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"frontdesk/commerce/address"
	"frontdesk/ent"
	"frontdesk/ent/cart"
	"frontdesk/ent/discountcode"
	"frontdesk/ent/discountredemption"
	"frontdesk/ent/shippingmethod"
	"frontdesk/ent/taxrate"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
)

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

func parseCurrency(s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if !currencyRE.MatchString(c) {
		return "", fmt.Errorf("invalid currency %q", s)
	}
	return c, nil
}

// customerKey identifies a customer for per-customer discount limits: the
// signed-in user, else the guest's lower-cased email.
func customerKey(ctx context.Context, email string) string {
	if v := identity.ViewerFrom(ctx); v != nil && v.UserID != "" && !v.System {
		return string(v.UserID)
	}
	return strings.ToLower(strings.TrimSpace(email))
}

// rules are the pricing rules that apply to a cart.
type rules struct {
	discount     *DiscountRule
	discountCode *ent.DiscountCode
	shipping     *ShippingRule
	method       *ent.ShippingMethod
	tax          *TaxRule
	problems     errcode.UserErrors
}

// resolveRules finds the shipping method, tax rate and discount for a cart
// with the given subtotal, and says what is missing or not eligible.
func (s *Service) resolveRules(ctx context.Context, client *ent.Client, c *ent.Cart, subtotal int64, customer string) (rules, error) {
	var r rules
	addr := c.ShippingAddress
	if c.ShippingMethodID != nil {
		m, err := client.ShippingMethod.Get(ctx, *c.ShippingMethodID)
		switch {
		case ent.IsNotFound(err):
		case err != nil:
			return r, fmt.Errorf("read shipping method: %w", err)
		case m.Active && m.Currency == c.Currency && addr != nil && shipsTo(m, *addr):
			r.method = m
			r.shipping = &ShippingRule{Kind: ShippingKind(m.Kind), Price: m.Price, FreeOver: m.FreeOver}
		}
		if r.method == nil {
			r.problems = append(r.problems, errcode.Invalidf(errcode.Invalid, "shippingMethodId", "this shipping method is not available for the address; choose another"))
		}
	}
	if addr != nil && addr.Country != "" {
		rates, err := client.TaxRate.Query().Where(taxrate.Country(addr.Country), taxrate.RegionIn("", addr.Region)).All(ctx)
		if err != nil {
			return r, fmt.Errorf("read tax rates: %w", err)
		}
		var best *ent.TaxRate
		for _, t := range rates {
			if best == nil || t.Region != "" { // a region's own rate beats the country's
				best = t
			}
		}
		if best != nil {
			r.tax = &TaxRule{RateBP: int64(best.RateBp), Inclusive: best.Inclusive}
		}
	}
	if c.DiscountCode != "" {
		d, problem, err := s.eligibleDiscount(ctx, client, c.DiscountCode, c.Currency, subtotal, customer)
		if err != nil {
			return r, err
		}
		if problem != nil {
			r.problems = append(r.problems, problem)
		} else {
			r.discountCode = d
			r.discount = &DiscountRule{Kind: DiscountKind(d.Kind), Value: d.Value}
		}
	}
	return r, nil
}

func shipsTo(m *ent.ShippingMethod, a address.Address) bool {
	return m.Country == a.Country && (m.Region == "" || m.Region == a.Region)
}

// eligibleDiscount checks a code against its rules as of now. The limits
// are checked again, by the database, when the order is placed.
func (s *Service) eligibleDiscount(ctx context.Context, client *ent.Client, code, currency string, subtotal int64, customer string) (*ent.DiscountCode, *errcode.UserError, error) {
	const field = "discountCode"
	d, err := client.DiscountCode.Query().Where(discountcode.Code(strings.ToUpper(strings.TrimSpace(code)))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, errcode.Invalidf(errcode.Missing, field, "no such discount code"), nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read discount code: %w", err)
	}
	now := s.now()
	switch {
	case !d.Active, d.StartsAt != nil && now.Before(*d.StartsAt), d.EndsAt != nil && !now.Before(*d.EndsAt):
		return nil, errcode.Invalidf(errcode.NotEligible, field, "this discount code is not valid now"), nil
	case d.Currency != "" && d.Currency != currency:
		return nil, errcode.Invalidf(errcode.NotEligible, field, "this discount code is for another currency"), nil
	case subtotal < d.MinSubtotal:
		return nil, errcode.Invalidf(errcode.NotEligible, field, "the cart does not reach this code's minimum subtotal"), nil
	case d.UsageLimit != nil && d.UsedCount >= *d.UsageLimit:
		return nil, errUsedUp, nil
	}
	if d.PerCustomerLimit != nil && customer != "" {
		n, err := client.DiscountRedemption.Query().Where(discountredemption.DiscountCodeID(d.ID), discountredemption.Customer(customer)).Count(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("count redemptions: %w", err)
		}
		if n >= *d.PerCustomerLimit {
			return nil, errcode.Invalidf(errcode.NotEligible, field, "you have already used this discount code"), nil
		}
	}
	return d, nil, nil
}

var errUsedUp = errcode.Invalidf(errcode.NotEligible, "discountCode", "this discount code has been used up")

// redeem records one use of a discount code inside tx. The overall limit is
// a conditional UPDATE and the per-customer limit a unique index, so both
// hold however many checkouts run at once.
func redeem(ctx context.Context, tx *ent.Tx, d *ent.DiscountCode, orderID gid.ID, customer string) error {
	u := tx.DiscountCode.Update().Where(discountcode.ID(d.ID)).AddUsedCount(1)
	if d.UsageLimit != nil {
		u.Where(discountcode.UsedCountLT(*d.UsageLimit))
	}
	n, err := u.Save(ctx)
	if err != nil {
		return fmt.Errorf("redeem discount: %w", err)
	}
	if n == 0 {
		return errcode.UserErrors{errUsedUp}
	}
	c := tx.DiscountRedemption.Create().SetDiscountCodeID(d.ID).SetOrderID(orderID).SetCustomer(customer)
	if d.PerCustomerLimit == nil {
		if err := c.Exec(ctx); err != nil {
			return fmt.Errorf("record redemption: %w", err)
		}
		return nil
	}
	used, err := tx.DiscountRedemption.Query().Where(discountredemption.DiscountCodeID(d.ID), discountredemption.Customer(customer)).Count(ctx)
	if err != nil {
		return fmt.Errorf("count redemptions: %w", err)
	}
	seq, err := freeSeq(ctx, tx, d.ID, customer)
	if err != nil {
		return err
	}
	if used >= *d.PerCustomerLimit || seq > *d.PerCustomerLimit {
		return errcode.UserErrors{errcode.Invalidf(errcode.NotEligible, "discountCode", "you have already used this discount code")}
	}
	err = c.SetSeq(seq).Exec(ctx)
	if ent.IsConstraintError(err) {
		return errcode.UserErrors{errcode.Invalidf(errcode.NotEligible, "discountCode", "you have already used this discount code")}
	}
	if err != nil {
		return fmt.Errorf("record redemption: %w", err)
	}
	return nil
}

// CheckoutDetails are what the customer enters at checkout. Nil fields are
// left as they are.
type CheckoutDetails struct {
	Email            *string
	ShippingAddress  *address.Address
	BillingAddress   *address.Address // nil: same as shipping
	ShippingMethodID *gid.ID
	DiscountCode     *string
}

// SetCheckoutDetails validates and stores checkout details on the cart.
// Invalid input changes nothing.
func (s *Service) SetCheckoutDetails(ctx context.Context, token string, d CheckoutDetails) (*ent.Cart, error) {
	c, err := s.openCart(ctx, s.client, token)
	if err != nil {
		return nil, err
	}
	var errs errcode.UserErrors
	u := s.client.Cart.UpdateOne(c)
	if d.Email != nil {
		e := strings.TrimSpace(*d.Email)
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || len(e) > 254 {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "email", "not an email address"))
		}
		u.SetEmail(e)
	}
	ship := c.ShippingAddress
	if d.ShippingAddress != nil {
		a := d.ShippingAddress.Normalize()
		errs = append(errs, a.Validate("shippingAddress")...)
		ship = &a
		u.SetShippingAddress(&a)
		if d.BillingAddress == nil && c.BillingAddress == nil {
			u.SetBillingAddress(&a)
		}
	}
	if d.BillingAddress != nil {
		a := d.BillingAddress.Normalize()
		errs = append(errs, a.Validate("billingAddress")...)
		u.SetBillingAddress(&a)
	}
	if d.ShippingMethodID != nil {
		m, err := s.client.ShippingMethod.Query().Where(shippingmethod.ID(*d.ShippingMethodID), shippingmethod.Active(true)).Only(ctx)
		switch {
		case ent.IsNotFound(err) || (err == nil && m.Currency != c.Currency):
			errs = append(errs, errcode.Invalidf(errcode.Missing, "shippingMethodId", "no such shipping method"))
		case err != nil:
			return nil, fmt.Errorf("read shipping method: %w", err)
		case ship == nil || !shipsTo(m, *ship):
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "shippingMethodId", "this method does not ship to the shipping address"))
		}
		u.SetShippingMethodID(*d.ShippingMethodID)
	}
	if d.DiscountCode != nil {
		code := strings.ToUpper(strings.TrimSpace(*d.DiscountCode))
		if code != "" {
			view, err := s.view(ctx, s.client, c, "")
			if err != nil {
				return nil, err
			}
			email := c.Email
			if d.Email != nil {
				email = *d.Email
			}
			_, problem, err := s.eligibleDiscount(ctx, s.client, code, c.Currency, view.Totals.Subtotal, customerKey(ctx, email))
			if err != nil {
				return nil, err
			}
			if problem != nil {
				errs = append(errs, problem)
			}
		}
		u.SetDiscountCode(code)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	out, err := u.Where(cart.OrderIDIsNil()).Save(ctx)
	if ent.IsNotFound(err) {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Conflict, "cartToken", "this cart has already been ordered; start a new cart")}
	}
	if err != nil {
		return nil, fmt.Errorf("save checkout details: %w", err)
	}
	return out, nil
}

// ShippingMethods lists the active methods that ship a cart to its
// shipping address.
// CartShippingMethod is the shipping method chosen for c, or nil.
func (s *Service) CartShippingMethod(ctx context.Context, c *ent.Cart) (*ent.ShippingMethod, error) {
	if c == nil || c.ShippingMethodID == nil {
		return nil, nil
	}
	m, err := s.client.ShippingMethod.Get(ctx, *c.ShippingMethodID)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load shipping method: %w", err)
	}
	return m, nil
}

func (s *Service) ShippingMethods(ctx context.Context, c *ent.Cart) ([]*ent.ShippingMethod, error) {
	if c.ShippingAddress == nil || c.ShippingAddress.Country == "" {
		return nil, nil
	}
	a := c.ShippingAddress
	return s.client.ShippingMethod.Query().Where(shippingmethod.Active(true), shippingmethod.Currency(c.Currency),
		shippingmethod.Country(a.Country), shippingmethod.RegionIn("", a.Region)).
		Order(ent.Asc(shippingmethod.FieldPrice), ent.Asc(shippingmethod.FieldID)).All(ctx)
}
