package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"frontdesk/booking"
	"frontdesk/booking/intake"
	"frontdesk/catalog"
	"frontdesk/commerce"
	"frontdesk/config"
	"frontdesk/ent/discountcode"
	"frontdesk/ent/service"
	"frontdesk/ent/user"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
)

// DemoAccount is one account of the demo, with its published password.
type DemoAccount struct {
	Role     identity.Role `json:"role"`
	Email    string        `json:"email"`
	Password string        `json:"password"`
	Name     string        `json:"-"`
}

// DemoAccounts are the demo's accounts, one per role. Their passwords are
// public (printed, and in docs/getting-started.md), which is why the demo
// never runs in production.
var DemoAccounts = []DemoAccount{
	{identity.RoleAdmin, "admin@demo.example", "demo-admin-pass", "Ada Admin"},
	{identity.RoleStaff, "staff@demo.example", "demo-staff-pass", "Sam Staff"},
	{identity.RolePractitioner, "practitioner@demo.example", "demo-practitioner-pass", "Dr Ada Lovelace"},
	{identity.RoleCustomer, "customer@demo.example", "demo-customer-pass", "Casey Customer"},
}

// Demo settings: the demo shop is Australian.
const (
	demoCountry  = "AU"
	demoCurrency = "AUD"
	demoZone     = "Australia/Sydney"
	DemoDiscount = "WELCOME10"
)

// DemoPart is what the demo seed did with one part of the data.
type DemoPart struct {
	Name    string `json:"part"`
	Created bool   `json:"created"` // false: it was already there
	Detail  string `json:"detail"`
}

// DemoReport is what SeedDemo did.
type DemoReport struct {
	URL      string        `json:"url"`
	Parts    []DemoPart    `json:"parts"`
	Accounts []DemoAccount `json:"accounts"`
}

// SeedOptions size the demo.
type SeedOptions struct {
	// Products is how many catalog products to create (default 36).
	Products int
}

// ErrSeedInProduction refuses the demo seed in production: it creates
// accounts whose passwords are published.
var ErrSeedInProduction = errors.New("frontdesk seed writes demo data and publicly known demo passwords, and never runs with FRONTDESK_ENV=production")

// SeedDemo loads a demo that works end to end: the catalog with
// pictures, shipping methods and GST for Australia, a discount code, the
// Initial and Follow-up consultations with two practitioners, their
// weekly hours and an intake form, and one account per role. Each part is
// created through the same domain functions the admin API uses, as the
// system, and only when it is not there yet, so a second run changes
// nothing and says so.
func (a *App) SeedDemo(ctx context.Context, opts SeedOptions) (*DemoReport, error) {
	if a.Config.Env == config.Production {
		return nil, ErrSeedInProduction
	}
	ctx = identity.SystemContext(ctx)
	rep := &DemoReport{URL: PublicURL(a.Config.Addr), Accounts: DemoAccounts}
	steps := []func(context.Context, SeedOptions) (DemoPart, error){
		a.seedCatalog, a.seedShipping, a.seedTax, a.seedDiscount, a.seedAccounts, a.seedBooking,
	}
	for _, step := range steps {
		part, err := step(ctx, opts)
		if err != nil {
			return rep, fmt.Errorf("seed %s: %w", part.Name, err)
		}
		rep.Parts = append(rep.Parts, part)
	}
	return rep, nil
}

func (a *App) seedCatalog(ctx context.Context, opts SeedOptions) (DemoPart, error) {
	p := DemoPart{Name: "catalog"}
	n, err := a.DB.Client.Product.Query().Count(ctx)
	if err != nil {
		return p, err
	}
	if n > 0 {
		p.Detail = fmt.Sprintf("%d products", n)
		return p, nil
	}
	made, err := a.Catalog.Seed(ctx, catalog.SeedOptions{Products: opts.Products})
	if err != nil {
		return p, fmt.Errorf("after %d products: %w", made, err)
	}
	p.Created, p.Detail = true, fmt.Sprintf("%d products with pictures in 3 categories and 2 collections", made)
	return p, nil
}

func (a *App) seedShipping(ctx context.Context, _ SeedOptions) (DemoPart, error) {
	p := DemoPart{Name: "shipping"}
	n, err := a.DB.Client.ShippingMethod.Query().Count(ctx)
	if err != nil {
		return p, err
	}
	if n > 0 {
		p.Detail = fmt.Sprintf("shipping methods: %d", n)
		return p, nil
	}
	methods := []commerce.ShippingMethodInput{
		{Name: ptr("Standard post"), Kind: ptr(commerce.FlatRate), Price: ptr[int64](995)},
		{Name: ptr("Express post"), Kind: ptr(commerce.FlatRate), Price: ptr[int64](1995)},
		{Name: ptr("Free standard post over $100"), Kind: ptr(commerce.FreeOver), FreeOver: ptr[int64](10000)},
		{Name: ptr("Pick up at the clinic"), Kind: ptr(commerce.Pickup)},
	}
	for _, m := range methods {
		m.Country, m.Currency = ptr(demoCountry), ptr(demoCurrency)
		if _, err := a.Commerce.CreateShippingMethod(ctx, m); err != nil {
			return p, fmt.Errorf("%s: %w", *m.Name, err)
		}
	}
	p.Created, p.Detail = true, fmt.Sprintf("%d methods for %s: standard $9.95, express $19.95, free over $100, pick-up", len(methods), demoCountry)
	return p, nil
}

func (a *App) seedTax(ctx context.Context, _ SeedOptions) (DemoPart, error) {
	p := DemoPart{Name: "tax"}
	n, err := a.DB.Client.TaxRate.Query().Count(ctx)
	if err != nil {
		return p, err
	}
	if n > 0 {
		p.Detail = fmt.Sprintf("tax rates: %d", n)
		return p, nil
	}
	if _, err := a.Commerce.CreateTaxRate(ctx, commerce.TaxRateInput{Name: ptr("GST"), Country: ptr(demoCountry),
		RateBP: ptr(1000), Inclusive: ptr(true)}); err != nil {
		return p, err
	}
	p.Created, p.Detail = true, "GST 10% for "+demoCountry+", included in prices"
	return p, nil
}

func (a *App) seedDiscount(ctx context.Context, _ SeedOptions) (DemoPart, error) {
	p := DemoPart{Name: "discount", Detail: DemoDiscount + ": 10% off any order"}
	exists, err := a.DB.Client.DiscountCode.Query().Where(discountcode.Code(DemoDiscount)).Exist(ctx)
	if err != nil || exists {
		return p, err
	}
	if _, err := a.Commerce.CreateDiscountCode(ctx, commerce.DiscountCodeInput{Code: ptr(DemoDiscount),
		Kind: ptr(commerce.Percent), Value: ptr[int64](1000)}); err != nil {
		return p, err
	}
	p.Created = true
	return p, nil
}

func (a *App) seedAccounts(ctx context.Context, _ SeedOptions) (DemoPart, error) {
	p := DemoPart{Name: "accounts"}
	created := 0
	for _, d := range DemoAccounts {
		_, err := a.Identity.CreateUser(ctx, identity.CreateUserInput{Email: d.Email, Name: d.Name, Role: d.Role, Password: d.Password})
		if ue, ok := errcode.AsUserErrors(err); ok && len(ue) == 1 && ue[0].Code == errcode.Taken {
			continue // already there; its password may have been changed since
		}
		if err != nil {
			return p, fmt.Errorf("%s: %w", d.Email, err)
		}
		created++
	}
	p.Created = created > 0
	p.Detail = fmt.Sprintf("%d demo accounts, one per role", len(DemoAccounts))
	if created > 0 && created < len(DemoAccounts) {
		p.Detail = fmt.Sprintf("%d of %d demo accounts created (the others were there), one per role", created, len(DemoAccounts))
	}
	return p, nil
}

// seedBooking creates the practitioners, their hours, the intake form and
// the two consultations, unless the Initial consultation exists.
func (a *App) seedBooking(ctx context.Context, _ SeedOptions) (DemoPart, error) {
	p := DemoPart{Name: "booking", Detail: "Initial consultation ($150, 60 min, intake form new-patient) and Follow-up consultation ($90, 30 min) " +
		"with Dr Ada Lovelace and Dr Ben Carter, Monday to Friday 09:00-17:00 " + demoZone}
	exists, err := a.DB.Client.Service.Query().Where(service.Slug("initial")).Exist(ctx)
	if err != nil || exists {
		return p, err
	}
	// The PRACTITIONER demo account is Dr Ada Lovelace, so signing in as
	// it shows her appointments.
	ada, err := a.DB.Client.User.Query().Where(user.Email("practitioner@demo.example")).OnlyID(ctx)
	if err != nil {
		return p, fmt.Errorf("find the demo practitioner account: %w", err)
	}
	weekdays := map[time.Weekday][]booking.MinuteRange{}
	for d := time.Monday; d <= time.Friday; d++ {
		weekdays[d] = []booking.MinuteRange{{Start: 9 * 60, End: 17 * 60}}
	}
	var practitioners []gid.ID
	for _, pr := range []booking.PractitionerInput{
		{Name: ptr("Dr Ada Lovelace"), Bio: ptr("General practitioner."), StaffUserID: &ada},
		{Name: ptr("Dr Ben Carter"), Bio: ptr("General practitioner.")},
	} {
		pr.TimeZone = ptr(demoZone)
		made, err := a.Booking.CreatePractitioner(ctx, pr)
		if err != nil {
			return p, fmt.Errorf("practitioner %s: %w", *pr.Name, err)
		}
		if _, err := a.Booking.SetWeeklyHours(ctx, made.ID, weekdays); err != nil {
			return p, fmt.Errorf("hours of %s: %w", *pr.Name, err)
		}
		practitioners = append(practitioners, made.ID)
	}
	if _, err := a.Booking.CreateFormVersion(ctx, booking.FormInput{
		Key: "new-patient", Title: "New patient questionnaire",
		Description: "Tell us about yourself before your first consultation.",
		Fields: []intake.Field{
			{Key: "dob", Label: "Date of birth", Type: intake.Date, Required: true},
			{Key: "reason", Label: "What would you like to discuss?", Type: intake.LongText, Required: true},
			{Key: "medications", Label: "Medications you take", Type: intake.LongText},
			{Key: "allergies", Label: "Do you have any allergies?", Type: intake.YesNo, Required: true},
			{Key: "heard", Label: "How did you hear about us?", Type: intake.SingleChoice, Options: []string{"Friend", "Search", "Doctor referral", "Other"}},
			{Key: "consent", Label: "Consent", Type: intake.Consent, Required: true,
				ConsentText: "I agree that the clinic keeps these answers in my health record."},
		},
	}); err != nil {
		return p, fmt.Errorf("intake form: %w", err)
	}
	for _, s := range []booking.ServiceInput{
		{Name: ptr("Initial consultation"), Slug: ptr("initial"), DurationMinutes: ptr(60), PriceAmount: ptr[int64](15000),
			Description: ptr("A first, thorough consultation."), IntakeFormKey: ptr("new-patient"), IntakeRequired: ptr(true)},
		{Name: ptr("Follow-up consultation"), Slug: ptr("follow-up"), DurationMinutes: ptr(30), PriceAmount: ptr[int64](9000),
			Description: ptr("A shorter consultation after an initial one.")},
	} {
		s.Currency, s.SlotInterval, s.Location = ptr(demoCurrency), ptr(30), ptr("1 George St, Sydney NSW 2000")
		s.PractitionerIDs = practitioners
		if _, err := a.Booking.CreateService(ctx, s); err != nil {
			return p, fmt.Errorf("service %s: %w", *s.Name, err)
		}
	}
	p.Created = true
	return p, nil
}

// PublicURL is where a browser on this machine reaches a server
// listening on addr: a wildcard host becomes 127.0.0.1.
func PublicURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// Print writes the report as one block for people.
func (r *DemoReport) Print(w io.Writer) error {
	var b strings.Builder
	b.WriteString("\nFrontdesk demo data (development only; never in production)\n\n")
	fmt.Fprintf(&b, "  playground  %s  (after `frontdesk serve`)\n\n", r.URL)
	for _, p := range r.Parts {
		state := "already there"
		if p.Created {
			state = "created"
		}
		fmt.Fprintf(&b, "  %-9s %-14s %s\n", p.Name, state, p.Detail)
	}
	b.WriteString("\n  demo accounts (signIn in the playground; the passwords are public):\n")
	for _, d := range r.Accounts {
		fmt.Fprintf(&b, "    %-13s %-27s %s\n", d.Role, d.Email, d.Password)
	}
	b.WriteString("\n  paying: settleDevelopmentPayment with the clientSecret (docs/booking.md, docs/checkout.md)\n\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func ptr[T any](v T) *T { return &v }
