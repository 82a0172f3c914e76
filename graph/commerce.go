package graph

import (
	"context"

	"frontdesk/commerce"
	"frontdesk/ent"
	"frontdesk/ent/discountcode"
	"frontdesk/ent/order"
	"frontdesk/ent/shippingmethod"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/graph/model"
	"frontdesk/money"
	"frontdesk/payments"
)

// Translation between the commerce GraphQL types and package commerce.
// No rules live here: carts are priced, orders authorised and states
// changed by the domain.

// newestFirst orders connections by ID descending: IDs are ULIDs, so this
// is placement order, newest first, with a stable cursor.
var newestFirst = ent.WithOrderOrder(&ent.OrderOrder{Direction: "DESC", Field: ent.DefaultOrderOrder.Field})

func amount(v int64, currency string) money.Money { return money.Money{Amount: v, Currency: currency} }

func totals(t commerce.Totals, currency string) *model.Totals {
	return &model.Totals{
		Subtotal: amount(t.Subtotal, currency), Discount: amount(t.Discount, currency),
		Shipping: amount(t.Shipping, currency), Tax: amount(t.Tax, currency),
		Total: amount(t.Total, currency), TaxInclusive: t.TaxInclusive,
	}
}

func orderTotals(o *ent.Order) *model.Totals {
	return totals(commerce.Totals{Subtotal: o.Subtotal, Discount: o.DiscountTotal, Shipping: o.ShippingTotal,
		Tax: o.TaxTotal, Total: o.Total, TaxInclusive: o.TaxInclusive}, o.Currency)
}

// nonEmpty is nil for the empty value of a string type (an optional
// field stored as "" in the database), else a pointer to it.
func nonEmpty[T ~string](s T) *T {
	if s == "" {
		return nil
	}
	return &s
}

// cartModel turns the domain's priced view into the GraphQL cart.
func cartModel(v *commerce.CartView) *model.Cart {
	c := v.Cart
	out := &model.Cart{
		ID: c.ID, Currency: c.Currency, Totals: totals(v.Totals, c.Currency),
		Problems: []*errcode.UserError(v.Problems), Email: nonEmpty(c.Email),
		ShippingAddress: c.ShippingAddress, BillingAddress: c.BillingAddress,
		DiscountCode: nonEmpty(c.DiscountCode), SignedIn: c.UserID != nil, OrderID: c.OrderID,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Entity: c,
		Lines: make([]*model.CartLine, 0, len(v.Lines)),
	}
	if out.Problems == nil {
		out.Problems = []*errcode.UserError{}
	}
	for _, l := range v.Lines {
		out.Quantity += l.Line.Quantity
		out.PriceChanged = out.PriceChanged || l.PriceChanged
		out.Lines = append(out.Lines, &model.CartLine{
			ID: l.Line.ID, VariantID: l.Line.VariantID, Quantity: l.Line.Quantity,
			UnitPrice:          amount(l.UnitPrice, c.Currency),
			UnitPriceWhenAdded: amount(l.Line.UnitPriceSeen, c.Currency),
			PriceChanged:       l.PriceChanged,
			LineTotal:          amount(l.UnitPrice*int64(l.Line.Quantity), c.Currency),
			Available:          l.Problem == nil,
			Problem:            l.Problem,
		})
	}
	return out
}

// priced prices a cart for the response.
func (r *Resolver) priced(ctx context.Context, c *ent.Cart) (*model.Cart, error) {
	if c == nil {
		return nil, nil
	}
	v, err := r.Commerce.View(ctx, c)
	if err != nil {
		return nil, err
	}
	return cartModel(v), nil
}

// cartPayload answers a cart mutation with the cart priced after it.
func (r *Resolver) cartPayload(ctx context.Context, c *ent.Cart, err error) (*model.CartPayload, error) {
	ue, err := userErrors(err)
	if err != nil || len(ue) > 0 {
		return &model.CartPayload{UserErrors: ue}, err
	}
	m, err := r.priced(ctx, c)
	if err != nil {
		return nil, err
	}
	return &model.CartPayload{Cart: m, UserErrors: ue}, nil
}

func orderPayload(o *ent.Order, err error) (*model.OrderPayload, error) {
	ue, err := userErrors(err)
	if err != nil || len(ue) > 0 {
		return &model.OrderPayload{UserErrors: ue}, err
	}
	return &model.OrderPayload{Order: o, UserErrors: ue}, nil
}

func settlePayload(s payments.Settled, err error) (*model.SettleDevelopmentPaymentPayload, error) {
	ue, err := userErrors(err)
	if err != nil || len(ue) > 0 {
		return &model.SettleDevelopmentPaymentPayload{UserErrors: ue}, err
	}
	out := &model.SettleDevelopmentPaymentPayload{PaymentIntentID: &s.IntentID, Succeeded: &s.Succeeded, UserErrors: ue}
	if id := gid.ID(s.Metadata["order_id"]); id != "" {
		out.OrderID = &id
	}
	if id := gid.ID(s.Metadata["appointment_id"]); id != "" {
		out.AppointmentID = &id
	}
	return out, nil
}

func (r *Resolver) placeOrderPayload(p *commerce.Placed, err error) (*model.PlaceOrderPayload, error) {
	ue, err := userErrors(err)
	if err != nil || len(ue) > 0 {
		return &model.PlaceOrderPayload{UserErrors: ue}, err
	}
	out := &model.PlaceOrderPayload{Order: p.Order, UserErrors: ue}
	if p.ClientSecret != "" {
		o := p.Order
		out.Payment = &model.PaymentIntent{
			Gateway: r.Commerce.Gateway().Name(), ClientSecret: &p.ClientSecret,
			Amount: amount(o.Total, o.Currency),
		}
	}
	return out, nil
}

func orderFilter(f *model.OrderFilter) commerce.OrderFilter {
	if f == nil {
		return commerce.OrderFilter{}
	}
	out := commerce.OrderFilter{States: f.States, MinTotal: int64Ptr(f.MinTotal), MaxTotal: int64Ptr(f.MaxTotal),
		Search: derefOr(f.Search, "")}
	if f.PlacedFrom != nil {
		out.From = *f.PlacedFrom
	}
	if f.PlacedTo != nil {
		out.To = *f.PlacedTo
	}
	if f.CustomerID != nil {
		out.CustomerID = *f.CustomerID
	}
	return out
}

// statusChange turns a bus event into the subscription's payload.
func statusChange(ev commerce.StatusChanged, o *ent.Order) *model.OrderStatusChange {
	out := &model.OrderStatusChange{OrderID: ev.OrderID, State: order.State(ev.State), Reason: ev.Reason, At: ev.At, Order: o}
	if ev.From != "" {
		from := order.State(ev.From)
		out.FromState = &from
	}
	return out
}

// Pricing rules administration.

func shippingKind(k *shippingmethod.Kind) *commerce.ShippingKind {
	if k == nil {
		return nil
	}
	out := commerce.ShippingKind(*k)
	return &out
}

func discountKind(k *discountcode.Kind) *commerce.DiscountKind {
	if k == nil {
		return nil
	}
	out := commerce.DiscountKind(*k)
	return &out
}

func shippingMethodPayload(m *ent.ShippingMethod, err error) (*model.ShippingMethodPayload, error) {
	ue, err := userErrors(err)
	if err != nil || len(ue) > 0 {
		return &model.ShippingMethodPayload{UserErrors: ue}, err
	}
	return &model.ShippingMethodPayload{ShippingMethod: m, UserErrors: ue}, nil
}

func taxRatePayload(t *ent.TaxRate, err error) (*model.TaxRatePayload, error) {
	ue, err := userErrors(err)
	if err != nil || len(ue) > 0 {
		return &model.TaxRatePayload{UserErrors: ue}, err
	}
	return &model.TaxRatePayload{TaxRate: t, UserErrors: ue}, nil
}

func discountCodePayload(d *ent.DiscountCode, err error) (*model.DiscountCodePayload, error) {
	ue, err := userErrors(err)
	if err != nil || len(ue) > 0 {
		return &model.DiscountCodePayload{UserErrors: ue}, err
	}
	return &model.DiscountCodePayload{DiscountCode: d, UserErrors: ue}, nil
}

func updateDiscountInput(in model.UpdateDiscountCodeInput) commerce.DiscountCodeInput {
	return commerce.DiscountCodeInput{
		Code: in.Code, Kind: discountKind(in.Kind), Value: int64Ptr(in.Value), Currency: in.Currency,
		MinSubtotal: int64Ptr(in.MinSubtotal),
		StartsAt:    in.StartsAt, ClearStartsAt: derefOr(in.ClearStartsAt, false),
		EndsAt: in.EndsAt, ClearEndsAt: derefOr(in.ClearEndsAt, false),
		UsageLimit: in.UsageLimit, ClearUsageLimit: derefOr(in.ClearUsageLimit, false),
		PerCustomerLimit: in.PerCustomerLimit, ClearPerCustomerLimit: derefOr(in.ClearPerCustomerLimit, false),
		Active: in.Active,
	}
}
