package commerce

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/cart"
	"frontdesk/ent/cartline"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
)

// MaxLineQuantity bounds one cart line.
const MaxLineQuantity = 999

// newToken returns a guest cart token and the hash stored in its place.
func newToken() (token, hash string) {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	token = "ct_" + base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateCart starts a cart in currency. Its token is returned once: it is
// what lets a guest (or any device of a signed-in customer) use the cart
// and, later, see the order placed from it.
func (s *Service) CreateCart(ctx context.Context, currency string) (*ent.Cart, string, error) {
	cur, err := parseCurrency(currency)
	if err != nil {
		return nil, "", errcode.UserErrors{errcode.Invalidf(errcode.Invalid, "currency", "use an ISO 4217 currency code such as AUD")}
	}
	token, hash := newToken()
	c := s.client.Cart.Create().SetTokenHash(hash).SetCurrency(cur)
	if v := identity.ViewerFrom(ctx); v != nil && v.UserID != "" {
		c.SetUserID(v.UserID)
	}
	out, err := c.Save(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("create cart: %w", err)
	}
	return out, token, nil
}

// Cart returns the open cart for token, or, without a token, the signed-in
// viewer's newest open cart (nil when there is none).
func (s *Service) Cart(ctx context.Context, token string) (*ent.Cart, error) {
	if token != "" {
		c, err := s.client.Cart.Query().Where(cart.TokenHash(hashToken(token))).Only(ctx)
		if ent.IsNotFound(err) {
			return nil, ErrCartNotFound
		}
		return c, err
	}
	return s.ownCart(ctx, s.client)
}

// ownCart returns the signed-in viewer's newest open cart, or nil. The
// token is only ever known to the device that created the cart, so this is
// how a customer's other devices reach it.
func (s *Service) ownCart(ctx context.Context, client *ent.Client) (*ent.Cart, error) {
	v := identity.ViewerFrom(ctx)
	if v == nil || v.UserID == "" {
		return nil, identity.ErrUnauthenticated
	}
	c, err := client.Cart.Query().Where(cart.UserID(v.UserID), cart.OrderIDIsNil()).
		Order(ent.Desc(cart.FieldCreatedAt), ent.Desc(cart.FieldID)).First(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find customer cart: %w", err)
	}
	return c, nil
}

// openCart returns the cart for token that has not become an order yet;
// without a token, the signed-in viewer's own open cart.
func (s *Service) openCart(ctx context.Context, client *ent.Client, token string) (*ent.Cart, error) {
	if token == "" {
		c, err := s.ownCart(ctx, client)
		if err == nil && c == nil {
			err = ErrCartNotFound
		}
		return c, err
	}
	c, err := client.Cart.Query().Where(cart.TokenHash(hashToken(token))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrCartNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find cart: %w", err)
	}
	if c.OrderID != nil {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Conflict, "cartToken", "this cart has already been ordered; start a new cart")}
	}
	return c, nil
}

// AddLine adds quantity of a variant to the cart (adding to an existing
// line of the same variant) and remembers the price the customer saw.
func (s *Service) AddLine(ctx context.Context, token string, variantID gid.ID, quantity int) (*ent.Cart, error) {
	if quantity < 1 || quantity > MaxLineQuantity {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Invalid, "quantity", fmt.Sprintf("quantity must be between 1 and %d", MaxLineQuantity))}
	}
	c, err := s.openCart(ctx, s.client, token)
	if err != nil {
		return nil, err
	}
	vs, err := s.catalog.SaleVariants(ctx, s.client, []gid.ID{variantID})
	if err != nil {
		return nil, err
	}
	v, ok := vs[variantID]
	switch {
	case !ok || !v.Purchasable:
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Missing, "variantId", "no product variant with this ID is for sale")}
	case v.Currency != c.Currency:
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Invalid, "variantId", "this variant is priced in another currency than the cart")}
	}
	existing, err := s.client.CartLine.Query().Where(cartline.CartID(c.ID), cartline.VariantID(variantID)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		if v.Available != nil && quantity > *v.Available {
			return nil, errcode.UserErrors{errcode.Invalidf(errcode.OutOfStock, "quantity", fmt.Sprintf("only %d left", *v.Available))}
		}
		err = s.client.CartLine.Create().SetCartID(c.ID).SetVariantID(variantID).SetQuantity(quantity).SetUnitPriceSeen(v.Price).Exec(ctx)
		if ent.IsConstraintError(err) { // a concurrent add of the same variant
			return nil, errcode.UserErrors{errcode.Invalidf(errcode.Conflict, "variantId", "the cart changed meanwhile; try again")}
		}
	case err == nil:
		q := min(existing.Quantity+quantity, MaxLineQuantity)
		if v.Available != nil && q > *v.Available {
			return nil, errcode.UserErrors{errcode.Invalidf(errcode.OutOfStock, "quantity", fmt.Sprintf("only %d left", *v.Available))}
		}
		err = existing.Update().SetQuantity(q).SetUnitPriceSeen(v.Price).Exec(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("add cart line: %w", err)
	}
	return c, nil
}

// UpdateLine sets a line's quantity; 0 removes it.
func (s *Service) UpdateLine(ctx context.Context, token string, lineID gid.ID, quantity int) (*ent.Cart, error) {
	if quantity < 0 || quantity > MaxLineQuantity {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Invalid, "quantity", fmt.Sprintf("quantity must be between 0 and %d", MaxLineQuantity))}
	}
	c, err := s.openCart(ctx, s.client, token)
	if err != nil {
		return nil, err
	}
	l, err := s.client.CartLine.Query().Where(cartline.ID(lineID), cartline.CartID(c.ID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Missing, "lineId", "no such line in this cart")}
	}
	if err != nil {
		return nil, fmt.Errorf("find cart line: %w", err)
	}
	if quantity == 0 {
		return c, s.client.CartLine.DeleteOne(l).Exec(ctx)
	}
	vs, err := s.catalog.SaleVariants(ctx, s.client, []gid.ID{l.VariantID})
	if err != nil {
		return nil, err
	}
	if v, ok := vs[l.VariantID]; ok && v.Available != nil && quantity > *v.Available {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.OutOfStock, "quantity", fmt.Sprintf("only %d left", *v.Available))}
	}
	if err := l.Update().SetQuantity(quantity).Exec(ctx); err != nil {
		return nil, fmt.Errorf("update cart line: %w", err)
	}
	return c, nil
}

// RemoveLine removes a line from the cart.
func (s *Service) RemoveLine(ctx context.Context, token string, lineID gid.ID) (*ent.Cart, error) {
	return s.UpdateLine(ctx, token, lineID, 0)
}

// MergeCart moves a guest cart's lines into the signed-in viewer's open
// cart (quantities of the same variant add up) and returns that cart. A
// viewer without an open cart simply adopts the guest cart.
func (s *Service) MergeCart(ctx context.Context, token string) (*ent.Cart, error) {
	v, err := identity.RequireViewer(ctx)
	if err != nil {
		return nil, err
	}
	if v.UserID == "" {
		return nil, identity.ErrForbidden
	}
	var out *ent.Cart
	err = database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		guest, err := s.openCart(ctx, tx.Client(), token)
		if err != nil {
			return err
		}
		if guest.UserID != nil && *guest.UserID == v.UserID {
			out = guest
			return nil
		}
		if guest.UserID != nil {
			return ErrCartNotFound // another customer's cart
		}
		mine, err := tx.Cart.Query().Where(cart.UserID(v.UserID), cart.OrderIDIsNil(), cart.CurrencyEQ(guest.Currency)).
			Order(ent.Desc(cart.FieldCreatedAt)).First(ctx)
		if ent.IsNotFound(err) {
			out, err = guest.Update().SetUserID(v.UserID).Save(ctx)
			return err
		}
		if err != nil {
			return fmt.Errorf("find customer cart: %w", err)
		}
		lines, err := tx.CartLine.Query().Where(cartline.CartIDIn(guest.ID, mine.ID)).All(ctx)
		if err != nil {
			return fmt.Errorf("read cart lines: %w", err)
		}
		have := map[gid.ID]*ent.CartLine{}
		for _, l := range lines {
			if l.CartID == mine.ID {
				have[l.VariantID] = l
			}
		}
		for _, l := range lines {
			if l.CartID != guest.ID {
				continue
			}
			if m, ok := have[l.VariantID]; ok {
				err = m.Update().SetQuantity(min(m.Quantity+l.Quantity, MaxLineQuantity)).Exec(ctx)
			} else {
				err = tx.CartLine.Create().SetCartID(mine.ID).SetVariantID(l.VariantID).SetQuantity(l.Quantity).
					SetUnitPriceSeen(l.UnitPriceSeen).Exec(ctx)
			}
			if err != nil {
				return fmt.Errorf("merge cart line: %w", err)
			}
		}
		// The guest cart is emptied, not deleted: its token may still be
		// in another tab, which then sees an empty cart instead of an error.
		if _, err := tx.CartLine.Delete().Where(cartline.CartID(guest.ID)).Exec(ctx); err != nil {
			return fmt.Errorf("empty guest cart: %w", err)
		}
		out = mine
		return nil
	})
	return out, err
}

// CartLineView is a cart line priced as of now.
type CartLineView struct {
	Line    *ent.CartLine
	Variant *Variant // nil when the variant no longer exists
	// UnitPrice is the current price; PriceChanged reports that it differs
	// from the price seen when the line was added.
	UnitPrice    int64
	PriceChanged bool
	// Problem explains why the line cannot be bought as it is
	// (OUT_OF_STOCK, NOT_FOUND), or is nil.
	Problem *errcode.UserError
}

// CartView is a cart priced as of now.
type CartView struct {
	Cart   *ent.Cart
	Lines  []CartLineView
	Totals Totals
	// Problems are reasons the cart cannot be ordered yet (missing
	// details, unavailable lines, an ineligible discount code).
	Problems errcode.UserErrors
	rules    rules
}

// View prices a cart as of now.
func (s *Service) View(ctx context.Context, c *ent.Cart) (*CartView, error) {
	return s.view(ctx, s.client, c, customerKey(ctx, c.Email))
}

func (s *Service) view(ctx context.Context, client *ent.Client, c *ent.Cart, customer string) (*CartView, error) {
	lines, err := client.CartLine.Query().Where(cartline.CartID(c.ID)).Order(ent.Asc(cartline.FieldCreatedAt), ent.Asc(cartline.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read cart lines: %w", err)
	}
	ids := make([]gid.ID, len(lines))
	for i, l := range lines {
		ids[i] = l.VariantID
	}
	vs, err := s.catalog.SaleVariants(ctx, client, ids)
	if err != nil {
		return nil, err
	}
	out := &CartView{Cart: c}
	var priced []PriceLine
	for i, l := range lines {
		lv := CartLineView{Line: l, UnitPrice: l.UnitPriceSeen}
		field := fmt.Sprintf("lines.%d", i)
		if v, ok := vs[l.VariantID]; ok && v.Purchasable && v.Currency == c.Currency {
			lv.Variant = &v
			lv.UnitPrice = v.Price
			lv.PriceChanged = v.Price != l.UnitPriceSeen
			if v.Available != nil && *v.Available < l.Quantity {
				lv.Problem = errcode.Invalidf(errcode.OutOfStock, field, fmt.Sprintf("only %d of %s left", *v.Available, v.Title))
			}
		} else {
			lv.Problem = errcode.Invalidf(errcode.Missing, field, "this product is no longer for sale; remove it")
		}
		if lv.Problem != nil {
			out.Problems = append(out.Problems, lv.Problem)
		} else {
			priced = append(priced, PriceLine{UnitPrice: lv.UnitPrice, Quantity: l.Quantity})
		}
		out.Lines = append(out.Lines, lv)
	}
	in := PriceInput{Lines: priced}
	base := Price(in)
	out.rules, err = s.resolveRules(ctx, client, c, base.Subtotal, customer)
	if err != nil {
		return nil, err
	}
	out.Problems = append(out.Problems, out.rules.problems...)
	in.Discount, in.Shipping, in.Tax = out.rules.discount, out.rules.shipping, out.rules.tax
	out.Totals = Price(in)
	return out, nil
}
