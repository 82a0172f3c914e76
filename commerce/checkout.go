package commerce

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/cart"
	"frontdesk/ent/order"
	"frontdesk/ent/orderline"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/payments"
)

// Placed is the result of PlaceOrder: the order and the client secret the
// frontend confirms the payment with (empty when nothing is owed).
type Placed struct {
	Order        *ent.Order
	ClientSecret string
}

// PlaceOrder turns the cart into an order. In one transaction it prices
// the cart again (nothing the client sent about amounts counts), creates
// the order and its line snapshots, reserves the stock through the catalog
// (a conditional UPDATE: out of stock writes nothing), redeems the discount
// code and closes the cart. It then creates the PaymentIntent with the
// order id as idempotency key. The same cart and key always yield the same
// order and the same intent, so a client may retry freely.
func (s *Service) PlaceOrder(ctx context.Context, cartToken, idempotencyKey string) (*Placed, error) {
	key := strings.TrimSpace(idempotencyKey)
	if key == "" || len(key) > 100 {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Invalid, "idempotencyKey", "send 1 to 100 characters, such as a UUID made once per checkout")}
	}
	if cartToken == "" {
		// A signed-in customer's own cart. Once ordered it is closed, so a
		// retry finds its order by the key instead.
		if o, err := s.ownOrderByKey(ctx, key); err != nil || o != nil {
			if err != nil {
				return nil, err
			}
			return s.pay(ctx, o)
		}
	}
	c, err := s.placeableCart(ctx, cartToken)
	if err != nil {
		return nil, err
	}
	scoped := string(c.ID) + ":" + key
	o, err := s.client.Order.Query().Where(order.IdempotencyKey(scoped)).Only(ctx)
	switch {
	case err == nil:
		return s.pay(ctx, o)
	case !ent.IsNotFound(err):
		return nil, fmt.Errorf("find order: %w", err)
	}
	err = database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		o, err = s.placeTx(ctx, tx, c.ID, scoped)
		return err
	})
	if ent.IsConstraintError(err) {
		// A concurrent request with the same key won the race.
		if o, err = s.client.Order.Query().Where(order.IdempotencyKey(scoped)).Only(ctx); err == nil {
			return s.pay(ctx, o)
		}
	}
	if err != nil {
		var ue *errcode.UserError
		if errors.As(err, &ue) {
			return nil, errcode.UserErrors{ue}
		}
		return nil, err
	}
	return s.pay(ctx, o)
}

// placeableCart finds the cart to order: by token (open or already
// ordered, for retries), or the signed-in viewer's open cart.
func (s *Service) placeableCart(ctx context.Context, token string) (*ent.Cart, error) {
	if token == "" {
		return s.openCart(ctx, s.client, "")
	}
	c, err := s.client.Cart.Query().Where(cart.TokenHash(hashToken(token))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrCartNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find cart: %w", err)
	}
	return c, nil
}

// ownOrderByKey returns the signed-in viewer's order placed with the
// idempotency key from any of their carts, or nil.
func (s *Service) ownOrderByKey(ctx context.Context, key string) (*ent.Order, error) {
	v := identity.ViewerFrom(ctx)
	if v == nil || v.UserID == "" {
		return nil, identity.ErrUnauthenticated
	}
	os, err := s.client.Order.Query().Where(order.UserID(v.UserID), order.IdempotencyKeyHasSuffix(":"+key)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("find order: %w", err)
	}
	for _, o := range os {
		if o.CartID != nil && o.IdempotencyKey == string(*o.CartID)+":"+key {
			return o, nil
		}
	}
	return nil, nil
}

func (s *Service) placeTx(ctx context.Context, tx *ent.Tx, cartID gid.ID, scoped string) (*ent.Order, error) {
	c, err := tx.Cart.Get(ctx, cartID)
	if err != nil {
		return nil, fmt.Errorf("read cart: %w", err)
	}
	if c.OrderID != nil {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Conflict, "cartToken", "this cart has already been ordered; start a new cart")}
	}
	customer := customerKey(ctx, c.Email)
	view, err := s.view(ctx, tx.Client(), c, customer)
	if err != nil {
		return nil, err
	}
	problems := slices.Clone(view.Problems)
	if len(view.Lines) == 0 {
		problems = append(problems, errcode.Invalidf(errcode.Required, "lines", "the cart is empty"))
	}
	if c.Email == "" {
		problems = append(problems, errcode.Invalidf(errcode.Required, "email", "enter a contact email"))
	}
	if c.ShippingAddress == nil {
		problems = append(problems, errcode.Invalidf(errcode.Required, "shippingAddress", "enter a shipping address"))
	}
	if view.rules.method == nil && c.ShippingMethodID == nil {
		problems = append(problems, errcode.Invalidf(errcode.Required, "shippingMethodId", "choose a shipping method"))
	}
	if len(problems) > 0 {
		return nil, problems
	}
	t := view.Totals
	bill := c.BillingAddress
	if bill == nil {
		bill = c.ShippingAddress
	}
	oc := tx.Order.Create().
		SetNumber(orderNumber()).
		SetIdempotencyKey(scoped).
		SetCartID(c.ID).
		SetNillableUserID(c.UserID).
		SetEmail(c.Email).
		SetShippingAddress(*c.ShippingAddress).
		SetBillingAddress(*bill).
		SetShippingMethodID(view.rules.method.ID).
		SetShippingMethodName(view.rules.method.Name).
		SetSubtotal(t.Subtotal).SetDiscountTotal(t.Discount).SetShippingTotal(t.Shipping).
		SetTaxTotal(t.Tax).SetTaxInclusive(t.TaxInclusive).SetTotal(t.Total).
		SetCurrency(c.Currency).
		SetReservedUntil(s.now().Add(s.opts.ReservationTTL))
	if v := identity.ViewerFrom(ctx); v != nil && v.UserID != "" && c.UserID == nil {
		oc.SetUserID(v.UserID)
	}
	// The cart token also opens the order, for guests and for the
	// customer's other devices.
	if c.TokenHash != nil {
		oc.SetGuestTokenHash(*c.TokenHash)
	}
	if d := view.rules.discountCode; d != nil {
		oc.SetDiscountCode(d.Code).SetDiscountCodeID(d.ID)
	}
	o, err := oc.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create order: %w", err)
	}
	lines := make([]*ent.OrderLineCreate, len(view.Lines))
	for i, l := range view.Lines {
		v := l.Variant
		lines[i] = tx.OrderLine.Create().SetOrderID(o.ID).SetVariantID(v.ID).SetProductID(v.ProductID).
			SetTitle(v.Title).SetVariantTitle(v.VariantTitle).SetSku(v.SKU).
			SetUnitPrice(l.UnitPrice).SetQuantity(l.Line.Quantity).SetLineTotal(l.UnitPrice * int64(l.Line.Quantity))
	}
	if err := tx.OrderLine.CreateBulk(lines...).Exec(ctx); err != nil {
		return nil, fmt.Errorf("create order lines: %w", err)
	}
	// Reserve in variant order so concurrent checkouts lock inventory rows
	// in the same order and cannot deadlock each other.
	byVariant := slices.Clone(view.Lines)
	slices.SortFunc(byVariant, func(a, b CartLineView) int {
		return strings.Compare(string(a.Line.VariantID), string(b.Line.VariantID))
	})
	for _, l := range byVariant {
		if err := s.catalog.Reserve(ctx, tx, l.Line.VariantID, l.Line.Quantity); err != nil {
			var ue *errcode.UserError
			if errors.As(err, &ue) && ue.Code == errcode.OutOfStock {
				idx := slices.IndexFunc(view.Lines, func(x CartLineView) bool { return x.Line.ID == l.Line.ID })
				return nil, errcode.UserErrors{errcode.Invalidf(errcode.OutOfStock, fmt.Sprintf("lines.%d", idx),
					fmt.Sprintf("%s is out of stock", l.Variant.Title))}
			}
			return nil, fmt.Errorf("reserve stock: %w", err)
		}
	}
	if d := view.rules.discountCode; d != nil {
		if err := redeem(ctx, tx, d, o.ID, customer); err != nil {
			return nil, err
		}
	}
	n, err := tx.Cart.Update().Where(cart.ID(c.ID), cart.OrderIDIsNil()).SetOrderID(o.ID).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("close cart: %w", err)
	}
	if n == 0 {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Conflict, "cartToken", "this cart has already been ordered; start a new cart")}
	}
	if err := s.history(ctx, tx, o.ID, "", string(order.StatePENDING_PAYMENT), actor(ctx), "order placed"); err != nil {
		return nil, err
	}
	if o.Total == 0 {
		// Nothing to pay (a 100% discount): the order is paid now.
		return s.markPaid(ctx, tx, o, ActorSystem, "nothing to pay")
	}
	return o, nil
}

// pay returns the PaymentIntent of an order, creating it on first use. The
// order id is the idempotency key, so this is safe to repeat.
func (s *Service) pay(ctx context.Context, o *ent.Order) (*Placed, error) {
	// Whoever placed it sees it in the payload, a guest included.
	identity.Grant(ctx, o.ID)
	if o.State != order.StatePENDING_PAYMENT || o.Total == 0 {
		return &Placed{Order: o}, nil
	}
	in, err := s.gateway.CreateIntent(ctx, payments.IntentParams{
		Amount:         o.Total,
		Currency:       o.Currency,
		IdempotencyKey: "order:" + string(o.ID),
		Description:    "Order " + o.Number,
		ReceiptEmail:   o.Email,
		Metadata:       map[string]string{"order_id": string(o.ID), "order_number": o.Number},
	})
	if err != nil {
		return nil, fmt.Errorf("create payment intent for %s: %w", o.ID, err)
	}
	if o.PaymentIntentID == nil {
		if err := database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
			if err := s.lockOrder(ctx, tx, o.ID); err != nil {
				return err
			}
			return tx.Order.Update().Where(order.ID(o.ID), order.PaymentIntentIDIsNil()).SetPaymentIntentID(in.ID).Exec(ctx)
		}); err != nil {
			return nil, fmt.Errorf("record payment intent: %w", err)
		}
		if o, err = s.client.Order.Get(ctx, o.ID); err != nil {
			return nil, fmt.Errorf("reload order: %w", err)
		}
	}
	return &Placed{Order: o, ClientSecret: in.ClientSecret}, nil
}

// orderNumber returns a human-friendly order number such as FD-7K3M9Q2A;
// the alphabet leaves out look-alike characters, and the unique index
// settles the (1 in 10^12) collision.
func orderNumber() string {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "FD-" + string(b)
}

// orderLines returns an order's lines in a stable order.
func orderLines(ctx context.Context, client *ent.Client, orderID gid.ID) ([]*ent.OrderLine, error) {
	ls, err := client.OrderLine.Query().Where(orderline.OrderID(orderID)).Order(ent.Asc(orderline.FieldVariantID), ent.Asc(orderline.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read order lines: %w", err)
	}
	return ls, nil
}
