package commerce

// Pricing is pure: Price takes what a cart holds and the rules that apply
// to it and returns every total. The server calls it for carts and when
// placing an order; nothing the client sends about amounts is an input.
//
// Order of operations, in minor units, each rounding half-up:
//  1. subtotal = Σ unit price × quantity
//  2. discount = percent of the subtotal (or a fixed amount), at most the subtotal
//  3. shipping = the method's price; FREE_OVER is free when the discounted
//     subtotal reaches the threshold; PICKUP is free
//  4. tax on (subtotal − discount + shipping): added on top when prices
//     exclude tax, or the part already contained in them when they include it

// DiscountKind says how a discount is computed.
type DiscountKind string

// Discount kinds.
const (
	Percent DiscountKind = "PERCENT"
	Fixed   DiscountKind = "FIXED"
)

// ShippingKind says how a shipping method charges.
type ShippingKind string

// Shipping kinds.
const (
	FlatRate ShippingKind = "FLAT"
	FreeOver ShippingKind = "FREE_OVER"
	Pickup   ShippingKind = "PICKUP"
)

// PriceLine is one cart or order line.
type PriceLine struct {
	UnitPrice int64
	Quantity  int
}

// DiscountRule is an eligible discount; Value is basis points for Percent
// and minor units for Fixed.
type DiscountRule struct {
	Kind  DiscountKind
	Value int64
}

// ShippingRule is the chosen shipping method.
type ShippingRule struct {
	Kind     ShippingKind
	Price    int64
	FreeOver int64
}

// TaxRule is the tax rate at the destination.
type TaxRule struct {
	RateBP    int64
	Inclusive bool
}

// PriceInput is everything Price needs. Nil rules mean none applies.
type PriceInput struct {
	Lines    []PriceLine
	Discount *DiscountRule
	Shipping *ShippingRule
	Tax      *TaxRule
}

// Totals are the amounts of a cart or order, in minor units.
type Totals struct {
	Subtotal int64
	Discount int64
	Shipping int64
	Tax      int64
	Total    int64
	// TaxInclusive reports that Tax is contained in the other amounts
	// rather than added to them.
	TaxInclusive bool
}

// Price computes the totals.
func Price(in PriceInput) Totals {
	var t Totals
	for _, l := range in.Lines {
		t.Subtotal += l.UnitPrice * int64(l.Quantity)
	}
	if d := in.Discount; d != nil {
		switch d.Kind {
		case Percent:
			t.Discount = divRound(t.Subtotal*min(d.Value, 10000), 10000)
		case Fixed:
			t.Discount = d.Value
		}
		t.Discount = min(max(t.Discount, 0), t.Subtotal)
	}
	if s := in.Shipping; s != nil {
		switch s.Kind {
		case FlatRate:
			t.Shipping = s.Price
		case FreeOver:
			if t.Subtotal-t.Discount < s.FreeOver {
				t.Shipping = s.Price
			}
		case Pickup:
		}
	}
	base := t.Subtotal - t.Discount + t.Shipping
	t.Total = base
	if tx := in.Tax; tx != nil && tx.RateBP > 0 {
		if tx.Inclusive {
			t.TaxInclusive = true
			t.Tax = divRound(base*tx.RateBP, 10000+tx.RateBP)
		} else {
			t.Tax = divRound(base*tx.RateBP, 10000)
			t.Total += t.Tax
		}
	}
	return t
}

// divRound divides two non-negative numbers rounding half up.
func divRound(a, b int64) int64 { return (2*a + b) / (2 * b) }
