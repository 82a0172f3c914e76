package commerce_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"frontdesk/commerce"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
)

func staffCtx() context.Context {
	return identity.WithViewer(context.Background(), &identity.Viewer{UserID: gid.New("usr"), Role: identity.RoleStaff})
}

func customerCtx() context.Context {
	return identity.WithViewer(context.Background(), &identity.Viewer{UserID: gid.New("usr"), Role: identity.RoleCustomer})
}

// fields returns the sorted "field:CODE" pairs of a user error list, or
// the error itself when it is not one.
func fields(err error) string {
	if err == nil {
		return ""
	}
	list, ok := errcode.AsUserErrors(err)
	if !ok {
		return "not user errors: " + err.Error()
	}
	var out []string
	for _, e := range list {
		out = append(out, strings.Join(e.Field, ".")+":"+string(e.Code))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestShippingMethodValidation(t *testing.T) {
	s := newShop(t)
	ctx := staffCtx()
	kind := func(k commerce.ShippingKind) *commerce.ShippingKind { return &k }
	valid := func() commerce.ShippingMethodInput {
		return commerce.ShippingMethodInput{Name: ptr("Express"), Kind: kind(commerce.FlatRate), Country: ptr("au"),
			Region: ptr(" nsw "), Price: ptr(int64(1500)), Currency: ptr("aud")}
	}
	tests := []struct {
		name string
		edit func(*commerce.ShippingMethodInput)
		want string
	}{
		{"valid flat rate", func(*commerce.ShippingMethodInput) {}, ""},
		{"free over with threshold", func(in *commerce.ShippingMethodInput) {
			in.Kind, in.FreeOver = kind(commerce.FreeOver), ptr(int64(10000))
		}, ""},
		{"pickup", func(in *commerce.ShippingMethodInput) {
			in.Kind, in.Price, in.Region = kind(commerce.Pickup), nil, nil
		}, ""},
		{"missing everything", func(in *commerce.ShippingMethodInput) { *in = commerce.ShippingMethodInput{} },
			"country:INVALID currency:INVALID kind:INVALID name:REQUIRED"},
		{"blank name", func(in *commerce.ShippingMethodInput) { in.Name = ptr("  ") }, "name:REQUIRED"},
		{"long name", func(in *commerce.ShippingMethodInput) { in.Name = ptr(strings.Repeat("x", 201)) }, "name:TOO_LONG"},
		{"unknown kind", func(in *commerce.ShippingMethodInput) { in.Kind = kind("DRONE") }, "kind:INVALID"},
		{"bad country", func(in *commerce.ShippingMethodInput) { in.Country = ptr("AUS") }, "country:INVALID"},
		{"bad region", func(in *commerce.ShippingMethodInput) { in.Region = ptr("N-S") }, "region:INVALID"},
		{"bad currency", func(in *commerce.ShippingMethodInput) { in.Currency = ptr("dollars") }, "currency:INVALID"},
		{"negative price", func(in *commerce.ShippingMethodInput) { in.Price = ptr(int64(-1)) }, "price:INVALID"},
		{"huge price", func(in *commerce.ShippingMethodInput) { in.Price = ptr(int64(1) << 60) }, "price:INVALID"},
		{"flat with threshold", func(in *commerce.ShippingMethodInput) { in.FreeOver = ptr(int64(5000)) }, "freeOver:INVALID"},
		{"free over without threshold", func(in *commerce.ShippingMethodInput) { in.Kind = kind(commerce.FreeOver) }, "freeOver:REQUIRED"},
		{"paid pickup", func(in *commerce.ShippingMethodInput) { in.Kind = kind(commerce.Pickup) }, "price:INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.client.ShippingMethod.Query().CountX(ctx)
			in := valid()
			tt.edit(&in)
			m, err := s.svc.CreateShippingMethod(ctx, in)
			if got := fields(err); got != tt.want {
				t.Fatalf("errors %q, want %q", got, tt.want)
			}
			after := s.client.ShippingMethod.Query().CountX(ctx)
			if tt.want != "" {
				if after != before {
					t.Fatalf("an invalid input wrote %d rows", after-before)
				}
				return
			}
			if after != before+1 || m.Country != "AU" || m.Currency != "AUD" || !m.Active {
				t.Fatalf("created %+v", m)
			}
		})
	}
}

func TestShippingMethodUpdateArchiveAndList(t *testing.T) {
	s := newShop(t)
	ctx := staffCtx()
	// Turning the seeded flat rate into pickup without zeroing its price
	// is refused and changes nothing.
	pickup := commerce.Pickup
	if _, err := s.svc.UpdateShippingMethod(ctx, s.method, commerce.ShippingMethodInput{Kind: &pickup}); fields(err) != "price:INVALID" {
		t.Fatalf("pickup with a price: %v", err)
	}
	if m := s.client.ShippingMethod.GetX(ctx, s.method); m.Kind != "FLAT" || m.Price != 1000 {
		t.Fatalf("refused update wrote %s %d", m.Kind, m.Price)
	}
	m, err := s.svc.UpdateShippingMethod(ctx, s.method, commerce.ShippingMethodInput{Kind: &pickup, Price: ptr(int64(0)), Name: ptr("Collect")})
	if err != nil || m.Kind != "PICKUP" || m.Name != "Collect" || m.Country != "AU" {
		t.Fatalf("update: %v %+v", err, m)
	}
	if _, err := s.svc.UpdateShippingMethod(ctx, gid.New("shp"), commerce.ShippingMethodInput{}); fields(err) != "id:NOT_FOUND" {
		t.Fatalf("unknown id: %v", err)
	}
	if m, err = s.svc.ArchiveShippingMethod(ctx, s.method); err != nil || m.Active {
		t.Fatalf("archive: %v %+v", err, m)
	}
	// An archived method is no longer offered to carts.
	_, token, err := s.svc.CreateCart(context.Background(), "AUD")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.SetCheckoutDetails(context.Background(), token, commerce.CheckoutDetails{ShippingAddress: &home, ShippingMethodID: &s.method}); fields(err) != "shippingMethodId:NOT_FOUND" {
		t.Fatalf("archived method chosen: %v", err)
	}
	active := true
	q, err := s.svc.ListShippingMethods(ctx, commerce.ShippingMethodFilter{Country: "au", Active: &active})
	if err != nil {
		t.Fatal(err)
	}
	if n := q.CountX(ctx); n != 0 {
		t.Fatalf("%d active methods listed after archiving the only one", n)
	}
	q, _ = s.svc.ListShippingMethods(ctx, commerce.ShippingMethodFilter{Country: "AU"})
	if n := q.CountX(ctx); n != 1 {
		t.Fatalf("%d methods listed, want 1", n)
	}
}

func TestTaxRateValidationAndUniqueness(t *testing.T) {
	s := newShop(t) // seeds GST for AU (whole country)
	ctx := staffCtx()
	tests := []struct {
		name string
		in   commerce.TaxRateInput
		want string
	}{
		{"region rate", commerce.TaxRateInput{Name: ptr("NSW levy"), Country: ptr("AU"), Region: ptr("nsw"), RateBP: ptr(1100), Inclusive: ptr(true)}, ""},
		{"exclusive", commerce.TaxRateInput{Name: ptr("Sales tax"), Country: ptr("US"), Region: ptr("CA"), RateBP: ptr(725)}, ""},
		{"zero rate", commerce.TaxRateInput{Name: ptr("None"), Country: ptr("HK"), RateBP: ptr(0)}, ""},
		{"country taken", commerce.TaxRateInput{Name: ptr("GST 2"), Country: ptr("au"), RateBP: ptr(1000)}, "region:TAKEN"},
		{"missing everything", commerce.TaxRateInput{}, "country:INVALID name:REQUIRED rateBp:INVALID"},
		{"rate too high", commerce.TaxRateInput{Name: ptr("x"), Country: ptr("NZ"), RateBP: ptr(10001)}, "rateBp:INVALID"},
		{"negative rate", commerce.TaxRateInput{Name: ptr("x"), Country: ptr("NZ"), RateBP: ptr(-5)}, "rateBp:INVALID"},
		{"bad region", commerce.TaxRateInput{Name: ptr("x"), Country: ptr("NZ"), Region: ptr("AUCK"), RateBP: ptr(1500)}, "region:INVALID"},
		{"long name", commerce.TaxRateInput{Name: ptr(strings.Repeat("x", 101)), Country: ptr("NZ"), RateBP: ptr(1500)}, "name:TOO_LONG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.client.TaxRate.Query().CountX(ctx)
			_, err := s.svc.CreateTaxRate(ctx, tt.in)
			if got := fields(err); got != tt.want {
				t.Fatalf("errors %q, want %q", got, tt.want)
			}
			if after := s.client.TaxRate.Query().CountX(ctx); tt.want != "" && after != before {
				t.Fatalf("an invalid input wrote %d rows", after-before)
			}
		})
	}
	q, err := s.svc.ListTaxRates(ctx, commerce.TaxRateFilter{Country: "au"})
	if err != nil {
		t.Fatal(err)
	}
	rates := q.AllX(ctx)
	if len(rates) != 2 {
		t.Fatalf("%d AU rates, want 2", len(rates))
	}
	var region *gid.ID
	for _, r := range rates {
		if r.Region == "NSW" {
			region = &r.ID
		}
	}
	if region == nil {
		t.Fatal("NSW rate not listed")
	}
	// Moving the region rate onto the country's place is refused.
	if _, err := s.svc.UpdateTaxRate(ctx, *region, commerce.TaxRateInput{Region: ptr("")}); fields(err) != "region:TAKEN" {
		t.Fatalf("move onto taken place: %v", err)
	}
	r, err := s.svc.UpdateTaxRate(ctx, *region, commerce.TaxRateInput{RateBP: ptr(1200), Inclusive: ptr(false)})
	if err != nil || r.RateBp != 1200 || r.Inclusive || r.Region != "NSW" {
		t.Fatalf("update: %v %+v", err, r)
	}
	if _, err := s.svc.DeleteTaxRate(ctx, *region); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.DeleteTaxRate(ctx, *region); fields(err) != "id:NOT_FOUND" {
		t.Fatalf("second delete: %v", err)
	}
}

func TestDiscountCodeValidation(t *testing.T) {
	s := newShop(t)
	ctx := staffCtx()
	pct, fixed := commerce.Percent, commerce.Fixed
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   commerce.DiscountCodeInput
		want string
	}{
		{"percent", commerce.DiscountCodeInput{Code: ptr("summer-10"), Kind: &pct, Value: ptr(int64(1000))}, ""},
		{"fixed with everything", commerce.DiscountCodeInput{Code: ptr("FIVE_OFF"), Kind: &fixed, Value: ptr(int64(500)), Currency: ptr("aud"),
			MinSubtotal: ptr(int64(2000)), StartsAt: &start, EndsAt: ptr(start.Add(time.Hour)), UsageLimit: ptr(100), PerCustomerLimit: ptr(1)}, ""},
		{"taken in another case", commerce.DiscountCodeInput{Code: ptr("Summer-10"), Kind: &pct, Value: ptr(int64(500))}, "code:TAKEN"},
		{"missing everything", commerce.DiscountCodeInput{}, "code:INVALID kind:INVALID"},
		{"short code", commerce.DiscountCodeInput{Code: ptr("AB"), Kind: &pct, Value: ptr(int64(1000))}, "code:INVALID"},
		{"spaces in code", commerce.DiscountCodeInput{Code: ptr("TEN OFF"), Kind: &pct, Value: ptr(int64(1000))}, "code:INVALID"},
		{"percent over 100", commerce.DiscountCodeInput{Code: ptr("ALL"), Kind: &pct, Value: ptr(int64(10001))}, "value:INVALID"},
		{"zero value", commerce.DiscountCodeInput{Code: ptr("ZERO"), Kind: &pct, Value: ptr(int64(0))}, "value:INVALID"},
		{"fixed without currency", commerce.DiscountCodeInput{Code: ptr("FIX"), Kind: &fixed, Value: ptr(int64(500))}, "currency:REQUIRED"},
		{"minimum without currency", commerce.DiscountCodeInput{Code: ptr("MIN"), Kind: &pct, Value: ptr(int64(500)), MinSubtotal: ptr(int64(100))}, "currency:REQUIRED"},
		{"bad currency", commerce.DiscountCodeInput{Code: ptr("CUR"), Kind: &fixed, Value: ptr(int64(500)), Currency: ptr("A$")}, "currency:INVALID"},
		{"negative minimum", commerce.DiscountCodeInput{Code: ptr("NEG"), Kind: &pct, Value: ptr(int64(500)), Currency: ptr("AUD"), MinSubtotal: ptr(int64(-1))}, "minSubtotal:INVALID"},
		{"ends before start", commerce.DiscountCodeInput{Code: ptr("BACK"), Kind: &pct, Value: ptr(int64(500)), StartsAt: &start, EndsAt: &start}, "endsAt:INVALID"},
		{"zero limits", commerce.DiscountCodeInput{Code: ptr("LIM"), Kind: &pct, Value: ptr(int64(500)), UsageLimit: ptr(0), PerCustomerLimit: ptr(0)}, "perCustomerLimit:INVALID usageLimit:INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.client.DiscountCode.Query().CountX(ctx)
			d, err := s.svc.CreateDiscountCode(ctx, tt.in)
			if got := fields(err); got != tt.want {
				t.Fatalf("errors %q, want %q", got, tt.want)
			}
			after := s.client.DiscountCode.Query().CountX(ctx)
			if tt.want != "" {
				if after != before {
					t.Fatalf("an invalid input wrote %d rows", after-before)
				}
				return
			}
			if d.Code != strings.ToUpper(*tt.in.Code) || !d.Active {
				t.Fatalf("created %+v", d)
			}
		})
	}
}

func TestDiscountCodeUpdateDeactivateAndList(t *testing.T) {
	s := newShop(t)
	ctx := staffCtx()
	v := s.variant(1000, 10)
	pct := commerce.Percent
	d, err := s.svc.CreateDiscountCode(ctx, commerce.DiscountCodeInput{Code: ptr("TWO"), Kind: &pct, Value: ptr(int64(1000)), UsageLimit: ptr(5)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := s.svc.PlaceOrder(context.Background(), s.cart(v, 1, "two"), "k"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	// The limit cannot drop below the two uses so far.
	if _, err := s.svc.UpdateDiscountCode(ctx, d.ID, commerce.DiscountCodeInput{UsageLimit: ptr(1)}); fields(err) != "usageLimit:INVALID" {
		t.Fatalf("limit below uses: %v", err)
	}
	if got := s.client.DiscountCode.GetX(ctx, d.ID); *got.UsageLimit != 5 {
		t.Fatalf("refused update wrote limit %d", *got.UsageLimit)
	}
	d, err = s.svc.UpdateDiscountCode(ctx, d.ID, commerce.DiscountCodeInput{UsageLimit: ptr(2), Value: ptr(int64(1500))})
	if err != nil || *d.UsageLimit != 2 || d.Value != 1500 || d.UsedCount != 2 {
		t.Fatalf("update: %v %+v", err, d)
	}
	d, err = s.svc.UpdateDiscountCode(ctx, d.ID, commerce.DiscountCodeInput{ClearUsageLimit: true})
	if err != nil || d.UsageLimit != nil {
		t.Fatalf("clear limit: %v %+v", err, d)
	}
	if d, err = s.svc.DeactivateDiscountCode(ctx, d.ID); err != nil || d.Active {
		t.Fatalf("deactivate: %v %+v", err, d)
	}
	// A deactivated code is refused at checkout.
	_, token, err := s.svc.CreateCart(context.Background(), "AUD")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.AddLine(context.Background(), token, v, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.SetCheckoutDetails(context.Background(), token, commerce.CheckoutDetails{DiscountCode: ptr("TWO")}); fields(err) != "discountCode:NOT_ELIGIBLE" {
		t.Fatalf("deactivated code: %v", err)
	}
	inactive := false
	q, err := s.svc.ListDiscountCodes(ctx, commerce.DiscountCodeFilter{Search: "tw", Active: &inactive})
	if err != nil {
		t.Fatal(err)
	}
	if got := q.AllX(ctx); len(got) != 1 || got[0].ID != d.ID {
		t.Fatalf("listed %v", got)
	}
	if _, err := s.svc.UpdateDiscountCode(ctx, gid.New("dsc"), commerce.DiscountCodeInput{}); fields(err) != "id:NOT_FOUND" {
		t.Fatalf("unknown id: %v", err)
	}
}

// TestRulesNeedStaff: customers and anonymous callers can neither change
// nor list the pricing rules, and their attempts write nothing.
func TestRulesNeedStaff(t *testing.T) {
	s := newShop(t)
	pct := commerce.Percent
	flat := commerce.FlatRate
	for name, ctx := range map[string]context.Context{"customer": customerCtx(), "anonymous": context.Background()} {
		want := identity.ErrForbidden
		if name == "anonymous" {
			want = identity.ErrUnauthenticated
		}
		calls := map[string]func() error{
			"createShippingMethod": func() error {
				_, err := s.svc.CreateShippingMethod(ctx, commerce.ShippingMethodInput{Name: ptr("x"), Kind: &flat, Country: ptr("AU"), Currency: ptr("AUD")})
				return err
			},
			"archiveShippingMethod": func() error { _, err := s.svc.ArchiveShippingMethod(ctx, s.method); return err },
			"listShippingMethods": func() error {
				_, err := s.svc.ListShippingMethods(ctx, commerce.ShippingMethodFilter{})
				return err
			},
			"createTaxRate": func() error {
				_, err := s.svc.CreateTaxRate(ctx, commerce.TaxRateInput{Name: ptr("x"), Country: ptr("NZ"), RateBP: ptr(1500)})
				return err
			},
			"listTaxRates": func() error { _, err := s.svc.ListTaxRates(ctx, commerce.TaxRateFilter{}); return err },
			"createDiscountCode": func() error {
				_, err := s.svc.CreateDiscountCode(ctx, commerce.DiscountCodeInput{Code: ptr("FREE"), Kind: &pct, Value: ptr(int64(10000))})
				return err
			},
			"listDiscountCodes": func() error {
				_, err := s.svc.ListDiscountCodes(ctx, commerce.DiscountCodeFilter{})
				return err
			},
		}
		for call, fn := range calls {
			if err := fn(); !errors.Is(err, want) {
				t.Errorf("%s %s: %v, want %v", name, call, err, want)
			}
		}
	}
	bg := context.Background()
	if n := s.client.DiscountCode.Query().CountX(bg) + s.client.TaxRate.Query().CountX(bg) + s.client.ShippingMethod.Query().CountX(bg); n != 2 {
		t.Fatalf("%d rules exist, want the 2 seeded", n)
	}
	if !s.client.ShippingMethod.GetX(bg, s.method).Active {
		t.Fatal("a customer archived a shipping method")
	}
}
