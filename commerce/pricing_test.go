package commerce_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"frontdesk/commerce"
)

func TestPrice(t *testing.T) {
	lines := []commerce.PriceLine{{UnitPrice: 1999, Quantity: 2}, {UnitPrice: 501, Quantity: 1}} // 4499
	gst := &commerce.TaxRule{RateBP: 1000, Inclusive: true}
	vat := &commerce.TaxRule{RateBP: 1000}
	flat := &commerce.ShippingRule{Kind: commerce.FlatRate, Price: 995}
	free := &commerce.ShippingRule{Kind: commerce.FreeOver, Price: 995, FreeOver: 4000}
	tests := []struct {
		name string
		in   commerce.PriceInput
		want commerce.Totals
	}{
		{"lines only", commerce.PriceInput{Lines: lines},
			commerce.Totals{Subtotal: 4499, Total: 4499}},
		{"empty cart", commerce.PriceInput{Shipping: flat, Tax: vat},
			commerce.Totals{Shipping: 995, Tax: 100, Total: 1095}},
		{"exclusive tax rounds half up", commerce.PriceInput{Lines: []commerce.PriceLine{{UnitPrice: 105, Quantity: 1}}, Tax: vat},
			commerce.Totals{Subtotal: 105, Tax: 11, Total: 116}}, // 10.5 → 11
		{"exclusive tax below half rounds down", commerce.PriceInput{Lines: []commerce.PriceLine{{UnitPrice: 104, Quantity: 1}}, Tax: vat},
			commerce.Totals{Subtotal: 104, Tax: 10, Total: 114}},
		{"inclusive tax is contained in the total", commerce.PriceInput{Lines: []commerce.PriceLine{{UnitPrice: 1100, Quantity: 1}}, Tax: gst},
			commerce.Totals{Subtotal: 1100, Tax: 100, Total: 1100, TaxInclusive: true}},
		{"inclusive tax rounds half up", commerce.PriceInput{Lines: []commerce.PriceLine{{UnitPrice: 1155, Quantity: 1}}, Tax: gst},
			commerce.Totals{Subtotal: 1155, Tax: 105, Total: 1155, TaxInclusive: true}}, // 105.0
		{"inclusive tax rounds up above half", commerce.PriceInput{Lines: []commerce.PriceLine{{UnitPrice: 1161, Quantity: 1}}, Tax: gst},
			commerce.Totals{Subtotal: 1161, Tax: 106, Total: 1161, TaxInclusive: true}}, // 105.545
		{"percent discount before tax", commerce.PriceInput{Lines: lines, Discount: &commerce.DiscountRule{Kind: commerce.Percent, Value: 1000}, Tax: vat},
			commerce.Totals{Subtotal: 4499, Discount: 450, Tax: 405, Total: 4454}}, // 449.9 → 450; (4049)*10% = 404.9 → 405
		{"fixed discount capped at subtotal", commerce.PriceInput{Lines: lines, Discount: &commerce.DiscountRule{Kind: commerce.Fixed, Value: 10000}, Shipping: flat},
			commerce.Totals{Subtotal: 4499, Discount: 4499, Shipping: 995, Total: 995}},
		{"free shipping over threshold", commerce.PriceInput{Lines: lines, Shipping: free},
			commerce.Totals{Subtotal: 4499, Total: 4499}},
		{"threshold uses discounted subtotal", commerce.PriceInput{Lines: lines, Discount: &commerce.DiscountRule{Kind: commerce.Fixed, Value: 500}, Shipping: free},
			commerce.Totals{Subtotal: 4499, Discount: 500, Shipping: 995, Total: 4994}},
		{"threshold reached exactly is free", commerce.PriceInput{Lines: []commerce.PriceLine{{UnitPrice: 4000, Quantity: 1}}, Shipping: free},
			commerce.Totals{Subtotal: 4000, Total: 4000}},
		{"pickup is free", commerce.PriceInput{Lines: lines, Shipping: &commerce.ShippingRule{Kind: commerce.Pickup, Price: 500}},
			commerce.Totals{Subtotal: 4499, Total: 4499}},
		{"shipping is taxed", commerce.PriceInput{Lines: lines, Shipping: flat, Tax: vat},
			commerce.Totals{Subtotal: 4499, Shipping: 995, Tax: 549, Total: 6043}}, // 549.4 → 549
		{"percent over 100 is capped", commerce.PriceInput{Lines: lines, Discount: &commerce.DiscountRule{Kind: commerce.Percent, Value: 20000}},
			commerce.Totals{Subtotal: 4499, Discount: 4499, Total: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, commerce.Price(tt.in)); diff != "" {
				t.Errorf("Price() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
