package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"frontdesk/ent"
	"frontdesk/ent/category"
	"frontdesk/ent/collection"
	"frontdesk/ent/collectionproduct"
	"frontdesk/ent/product"
	"frontdesk/ent/productoption"
	entschema "frontdesk/ent/schema"
	"frontdesk/ent/variant"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/money"
	"frontdesk/text"
	"frontdesk/webhooks"
)

// ProductInput creates or changes a product. Nil fields are left as they
// are on update.
type ProductInput struct {
	Title          *string
	Slug           *string
	Description    *string
	SEOTitle       *string
	SEODescription *string
	Tags           []string
	CategoryID     *gid.ID
	ClearCategory  bool
	Status         *product.Status
	Options        []OptionInput  // create only
	Variants       []VariantInput // create only
}

// OptionInput creates or changes a product option.
type OptionInput struct {
	Name     *string
	Values   []string
	Position *int
}

// VariantInput creates or changes a variant. Prices are minor units.
type VariantInput struct {
	SKU            *string
	Title          *string
	OptionValues   []entschema.OptionValue
	Price          *int64
	Currency       *string
	CompareAtPrice *int64
	ClearCompareAt bool
	WeightGrams    *int
	Barcode        *string
	Position       *int
	// Stock fields apply when the variant is created.
	OnHand         *int
	Tracked        *bool
	AllowBackorder *bool
}

// adminTx checks the permission, then runs fn in one transaction. User
// errors abort it, so a mutation with any invalid field writes nothing.
func (s *Service) adminTx(ctx context.Context, fn func(tx *ent.Tx) error) error {
	if _, err := identity.Require(ctx, identity.ManageCatalog); err != nil {
		return err
	}
	err := s.withTx(ctx, fn)
	if err != nil && ent.IsConstraintError(err) {
		// A concurrent write won the race for a unique value that the
		// checks inside the transaction had seen free.
		return errcode.UserErrors{errcode.Invalidf(errcode.Taken, "", "a slug or SKU in this input is already used")}
	}
	var ue *errcode.UserError
	if errors.As(err, &ue) {
		return errcode.UserErrors{ue}
	}
	return err
}

// validateText checks an optional or required text input and normalises
// it in place.
func validateText(errs *errcode.UserErrors, field string, v *string, maxLen int, required bool) {
	if v == nil {
		if required {
			*errs = append(*errs, errcode.Invalidf(errcode.Required, field, "is required"))
		}
		return
	}
	if required && strings.TrimSpace(*v) == "" {
		*errs = append(*errs, errcode.Invalidf(errcode.Required, field, "cannot be blank"))
	}
	if len(*v) > maxLen {
		*errs = append(*errs, errcode.Invalidf(errcode.TooLong, field, fmt.Sprintf("at most %d characters", maxLen)))
		return
	}
	// The shared validator (package text): descriptions may span lines,
	// everything else is one line; the value is stored normalised (NFC).
	kind := text.SingleLine
	if strings.HasSuffix(field, "description") {
		kind = text.MultiLine
	}
	*v = text.Check(errs, kind, field, *v, 0)
}

func (s *Service) validateProduct(ctx context.Context, tx *ent.Tx, id gid.ID, in *ProductInput, creating bool) errcode.UserErrors {
	var errs errcode.UserErrors
	validateText(&errs, "title", in.Title, 255, creating)
	validateText(&errs, "description", in.Description, 100_000, false)
	validateText(&errs, "seoTitle", in.SEOTitle, 255, false)
	validateText(&errs, "seoDescription", in.SEODescription, 500, false)
	if creating && in.Slug == nil && in.Title != nil {
		slug := slugify(*in.Title)
		in.Slug = &slug
	}
	if in.Slug != nil {
		switch {
		case !validSlug(*in.Slug):
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "slug", "use lower-case letters, digits and single dashes"))
		default:
			taken, err := tx.Product.Query().Where(product.Slug(*in.Slug), product.IDNEQ(id)).Exist(ctx)
			if err == nil && taken {
				errs = append(errs, errcode.Invalidf(errcode.Taken, "slug", "another product uses this slug"))
			}
		}
	}
	if len(in.Tags) > 50 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "tags", "at most 50 tags"))
	}
	if in.CategoryID != nil {
		ok, err := tx.Category.Query().Where(category.ID(*in.CategoryID)).Exist(ctx)
		if err == nil && !ok {
			errs = append(errs, errcode.Invalidf(errcode.Missing, "categoryId", "no category with this ID"))
		}
	}
	return errs
}

func normalizeTags(tags []string) []string {
	out := []string{}
	for _, t := range tags {
		if n := normalizeTag(t); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// CreateProduct creates a product, with its options and variants, in one
// transaction.
func (s *Service) CreateProduct(ctx context.Context, in ProductInput) (*ent.Product, error) {
	var out *ent.Product
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		if errs := s.validateProduct(ctx, tx, "", &in, true); len(errs) > 0 {
			// Report the variants' problems too, so one round trip shows
			// everything to fix.
			for i, v := range in.Variants {
				errs = append(errs, s.validateVariant(ctx, tx, "", "", &v, fmt.Sprintf("variants.%d.", i), true)...)
			}
			return errs
		}
		html, err := renderMarkdown(deref(in.Description))
		if err != nil {
			return err
		}
		c := tx.Product.Create().
			SetTitle(strings.TrimSpace(*in.Title)).
			SetSortTitle(strings.ToLower(strings.TrimSpace(*in.Title))).
			SetSlug(*in.Slug).
			SetDescription(deref(in.Description)).
			SetDescriptionHTML(html).
			SetSeoTitle(deref(in.SEOTitle)).
			SetSeoDescription(deref(in.SEODescription)).
			SetNillableCategoryID(in.CategoryID).
			SetSearchText("")
		tags := normalizeTags(in.Tags)
		c.SetTags(tags).SetTagKey(tagKey(tags))
		if in.Status != nil {
			c.SetStatus(*in.Status)
		}
		p, err := c.Save(ctx)
		if err != nil {
			return fmt.Errorf("create product: %w", err)
		}
		var errs errcode.UserErrors
		for i, o := range in.Options {
			if _, err := s.createOption(ctx, tx, p.ID, o, fmt.Sprintf("options.%d.", i)); err != nil {
				if !collect(&errs, err) {
					return err
				}
			}
		}
		for i, v := range in.Variants {
			if _, err := s.createVariant(ctx, tx, p.ID, v, fmt.Sprintf("variants.%d.", i)); err != nil {
				if !collect(&errs, err) {
					return err
				}
			}
		}
		if len(errs) > 0 {
			return errs
		}
		if out, err = s.refreshProduct(ctx, tx, p.ID); err != nil {
			return err
		}
		return emitProduct(ctx, tx, out, webhooks.ProductCreated)
	})
	return out, err
}

// collect appends user errors to errs and reports whether err was one.
func collect(errs *errcode.UserErrors, err error) bool {
	var list errcode.UserErrors
	if errors.As(err, &list) {
		*errs = append(*errs, list...)
		return true
	}
	var ue *errcode.UserError
	if errors.As(err, &ue) {
		*errs = append(*errs, ue)
		return true
	}
	return false
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// compact keeps only the letters and digits of s.
func compact(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

func tagKey(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return "|" + strings.Join(tags, "|") + "|"
}

// UpdateProduct changes the fields given.
func (s *Service) UpdateProduct(ctx context.Context, id gid.ID, in ProductInput) (*ent.Product, error) {
	var out *ent.Product
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		p, err := tx.Product.Query().Where(product.ID(id)).Modify(s.lock).Only(ctx)
		if ent.IsNotFound(err) {
			return errcode.Invalidf(errcode.Missing, "id", "no product with this ID")
		}
		if err != nil {
			return fmt.Errorf("load product: %w", err)
		}
		if errs := s.validateProduct(ctx, tx, id, &in, false); len(errs) > 0 {
			return errs
		}
		u := p.Update().
			SetNillableSlug(in.Slug).
			SetNillableSeoTitle(in.SEOTitle).
			SetNillableSeoDescription(in.SEODescription).
			SetNillableCategoryID(in.CategoryID).
			SetNillableStatus(in.Status)
		if in.Title != nil {
			u.SetTitle(strings.TrimSpace(*in.Title)).SetSortTitle(strings.ToLower(strings.TrimSpace(*in.Title)))
		}
		if in.Description != nil {
			html, err := renderMarkdown(*in.Description)
			if err != nil {
				return err
			}
			u.SetDescription(*in.Description).SetDescriptionHTML(html)
		}
		if in.Tags != nil {
			tags := normalizeTags(in.Tags)
			u.SetTags(tags).SetTagKey(tagKey(tags))
		}
		if in.ClearCategory {
			u.ClearCategoryID()
		}
		if in.Status != nil && *in.Status == product.StatusARCHIVED {
			u.SetArchivedAt(time.Now().UTC())
		} else if in.Status != nil {
			u.ClearArchivedAt()
		}
		if _, err := u.Save(ctx); err != nil {
			return fmt.Errorf("update product: %w", err)
		}
		if out, err = s.refreshProduct(ctx, tx, id); err != nil {
			return err
		}
		return emitProduct(ctx, tx, out, productChange(p.Status, out))
	})
	return out, err
}

// ArchiveProduct hides a product from the storefront, keeping it for
// order history.
func (s *Service) ArchiveProduct(ctx context.Context, id gid.ID) (*ent.Product, error) {
	st := product.StatusARCHIVED
	return s.UpdateProduct(ctx, id, ProductInput{Status: &st})
}

// RestoreProduct brings an archived product back as a draft, so staff
// review it before it is sold again.
func (s *Service) RestoreProduct(ctx context.Context, id gid.ID) (*ent.Product, error) {
	st := product.StatusDRAFT
	return s.UpdateProduct(ctx, id, ProductInput{Status: &st})
}

// refreshProduct recomputes what a product summarises from its variants:
// price range, currency and the search text.
func (s *Service) refreshProduct(ctx context.Context, tx *ent.Tx, id gid.ID) (*ent.Product, error) {
	p, err := tx.Product.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reload product: %w", err)
	}
	vs, err := tx.Variant.Query().Where(variant.ProductID(id)).Order(variant.ByPosition()).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load variants: %w", err)
	}
	var lo, hi int64
	cur := ""
	words := []string{p.Title, plainText(p.DescriptionHTML), strings.Join(p.Tags, " ")}
	for i, v := range vs {
		if i == 0 || v.Price < lo {
			lo = v.Price
		}
		if i == 0 || v.Price > hi {
			hi = v.Price
		}
		cur = v.Currency
		// The SKU also goes in without punctuation: MySQL's FULLTEXT
		// ignores tokens shorter than innodb_ft_min_token_size (3), so
		// "WJ-1" alone would never match, while "wj1" matches "wj*".
		words = append(words, v.Sku, compact(v.Sku), v.Title, v.Barcode)
	}
	search := strings.ToLower(strings.Join(words, " "))
	return p.Update().SetPriceMin(lo).SetPriceMax(hi).SetCurrency(cur).SetSearchText(search).Save(ctx)
}

// CreateOption adds an option to a product.
func (s *Service) CreateOption(ctx context.Context, productID gid.ID, in OptionInput) (*ent.ProductOption, error) {
	var out *ent.ProductOption
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		if err := productExists(ctx, tx, productID, "productId"); err != nil {
			return err
		}
		var err error
		out, err = s.createOption(ctx, tx, productID, in, "")
		return err
	})
	return out, err
}

func productExists(ctx context.Context, tx *ent.Tx, id gid.ID, field string) error {
	ok, err := tx.Product.Query().Where(product.ID(id)).Exist(ctx)
	if err != nil {
		return fmt.Errorf("find product: %w", err)
	}
	if !ok {
		return errcode.Invalidf(errcode.Missing, field, "no product with this ID")
	}
	return nil
}

func validateOption(in OptionInput, prefix string, creating bool) errcode.UserErrors {
	var errs errcode.UserErrors
	validateText(&errs, prefix+"name", in.Name, 100, creating)
	if in.Values != nil {
		if len(in.Values) == 0 || len(in.Values) > 100 {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, prefix+"values", "give 1 to 100 values"))
		}
		seen := map[string]bool{}
		for _, v := range in.Values {
			if strings.TrimSpace(v) == "" || len(v) > 100 || seen[v] {
				errs = append(errs, errcode.Invalidf(errcode.Invalid, prefix+"values", "values must be distinct, non-blank and at most 100 characters"))
				break
			}
			seen[v] = true
		}
	} else if creating {
		errs = append(errs, errcode.Invalidf(errcode.Required, prefix+"values", "is required"))
	}
	return errs
}

func (s *Service) createOption(ctx context.Context, tx *ent.Tx, productID gid.ID, in OptionInput, prefix string) (*ent.ProductOption, error) {
	if errs := validateOption(in, prefix, true); len(errs) > 0 {
		return nil, errs
	}
	taken, err := tx.ProductOption.Query().Where(productoption.ProductID(productID), productoption.Name(*in.Name)).Exist(ctx)
	if err != nil {
		return nil, err
	}
	if taken {
		return nil, errcode.Invalidf(errcode.Taken, prefix+"name", "the product already has an option with this name")
	}
	o, err := tx.ProductOption.Create().SetProductID(productID).SetName(strings.TrimSpace(*in.Name)).
		SetValues(in.Values).SetPosition(deref(in.Position)).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create option: %w", err)
	}
	return o, nil
}

// UpdateOption renames an option or changes its values.
func (s *Service) UpdateOption(ctx context.Context, id gid.ID, in OptionInput) (*ent.ProductOption, error) {
	var out *ent.ProductOption
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		o, err := tx.ProductOption.Get(ctx, id)
		if ent.IsNotFound(err) {
			return errcode.Invalidf(errcode.Missing, "id", "no option with this ID")
		}
		if err != nil {
			return err
		}
		if errs := validateOption(in, "", false); len(errs) > 0 {
			return errs
		}
		out, err = o.Update().SetNillableName(in.Name).SetNillablePosition(in.Position).
			SetValues(orDefault(in.Values, o.Values)).Save(ctx)
		return err
	})
	return out, err
}

func orDefault[T any](v []T, d []T) []T {
	if v == nil {
		return d
	}
	return v
}

// DeleteOption removes an option.
func (s *Service) DeleteOption(ctx context.Context, id gid.ID) (gid.ID, error) {
	var productID gid.ID
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		o, err := tx.ProductOption.Get(ctx, id)
		if ent.IsNotFound(err) {
			return errcode.Invalidf(errcode.Missing, "id", "no option with this ID")
		}
		if err != nil {
			return err
		}
		productID = o.ProductID
		return tx.ProductOption.DeleteOneID(id).Exec(ctx)
	})
	return productID, err
}

func (s *Service) validateVariant(ctx context.Context, tx *ent.Tx, productID, id gid.ID, in *VariantInput, prefix string, creating bool) errcode.UserErrors {
	var errs errcode.UserErrors
	validateText(&errs, prefix+"sku", in.SKU, 64, creating)
	validateText(&errs, prefix+"title", in.Title, 255, false)
	validateText(&errs, prefix+"barcode", in.Barcode, 64, false)
	if in.SKU != nil && strings.TrimSpace(*in.SKU) != "" {
		sku := strings.TrimSpace(*in.SKU)
		in.SKU = &sku
		taken, err := tx.Variant.Query().Where(variant.Sku(sku), variant.IDNEQ(id)).Exist(ctx)
		if err == nil && taken {
			errs = append(errs, errcode.Invalidf(errcode.Taken, prefix+"sku", "another variant uses this SKU"))
		}
	}
	if creating && in.Price == nil {
		errs = append(errs, errcode.Invalidf(errcode.Required, prefix+"price", "is required"))
	}
	if in.Price != nil && *in.Price < 0 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, prefix+"price", "price cannot be negative"))
	}
	if in.CompareAtPrice != nil && *in.CompareAtPrice < 0 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, prefix+"compareAtPrice", "compare-at price cannot be negative"))
	}
	if in.WeightGrams != nil && *in.WeightGrams < 0 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, prefix+"weightGrams", "weight cannot be negative"))
	}
	if in.OnHand != nil && *in.OnHand < 0 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, prefix+"onHand", "stock on hand cannot be negative"))
	}
	if creating && in.Currency == nil {
		errs = append(errs, errcode.Invalidf(errcode.Required, prefix+"currency", "is required"))
	}
	if in.Currency != nil {
		c, err := money.ParseCurrency(*in.Currency)
		if err != nil {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, prefix+"currency", "not a supported ISO 4217 currency code"))
		} else {
			in.Currency = &c
			// All variants of a product share one currency, so a price
			// range and a cart line always compare like with like.
			other, err := tx.Variant.Query().Where(variant.ProductID(productID), variant.IDNEQ(id), variant.CurrencyNEQ(c)).Exist(ctx)
			if err == nil && other {
				errs = append(errs, errcode.Invalidf(errcode.Invalid, prefix+"currency", "all variants of a product must use the same currency"))
			}
		}
	}
	if len(in.OptionValues) > 0 {
		opts, err := tx.ProductOption.Query().Where(productoption.ProductID(productID)).All(ctx)
		if err == nil {
			for _, ov := range in.OptionValues {
				i := slices.IndexFunc(opts, func(o *ent.ProductOption) bool { return o.Name == ov.Name })
				if i < 0 || !slices.Contains(opts[i].Values, ov.Value) {
					errs = append(errs, errcode.Invalidf(errcode.Invalid, prefix+"optionValues",
						fmt.Sprintf("%q is not a value of an option %q of this product", ov.Value, ov.Name)))
				}
			}
		}
	}
	return errs
}

// variantTitle names a variant by its option values ("M / Blue").
func variantTitle(in VariantInput) string {
	if in.Title != nil && *in.Title != "" {
		return *in.Title
	}
	parts := make([]string, len(in.OptionValues))
	for i, ov := range in.OptionValues {
		parts[i] = ov.Value
	}
	if len(parts) == 0 {
		return "Default"
	}
	return strings.Join(parts, " / ")
}

func (s *Service) createVariant(ctx context.Context, tx *ent.Tx, productID gid.ID, in VariantInput, prefix string) (*ent.Variant, error) {
	if errs := s.validateVariant(ctx, tx, productID, "", &in, prefix, true); len(errs) > 0 {
		return nil, errs
	}
	if in.CompareAtPrice != nil && *in.CompareAtPrice <= *in.Price {
		return nil, errcode.Invalidf(errcode.Invalid, prefix+"compareAtPrice", "the compare-at price must be higher than the price")
	}
	pos := in.Position
	if pos == nil {
		n, err := tx.Variant.Query().Where(variant.ProductID(productID)).Count(ctx)
		if err != nil {
			return nil, err
		}
		pos = &n
	}
	v, err := tx.Variant.Create().
		SetProductID(productID).
		SetSku(*in.SKU).
		SetTitle(variantTitle(in)).
		SetOptionValues(in.OptionValues).
		SetPrice(*in.Price).
		SetCurrency(*in.Currency).
		SetNillableCompareAtPrice(in.CompareAtPrice).
		SetWeightGrams(deref(in.WeightGrams)).
		SetBarcode(deref(in.Barcode)).
		SetPosition(*pos).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create variant: %w", err)
	}
	inv := tx.Inventory.Create().SetVariantID(v.ID).SetOnHand(deref(in.OnHand))
	if in.Tracked != nil {
		inv.SetTracked(*in.Tracked)
	}
	if in.AllowBackorder != nil {
		inv.SetAllowBackorder(*in.AllowBackorder)
	}
	if _, err := inv.Save(ctx); err != nil {
		return nil, fmt.Errorf("create inventory: %w", err)
	}
	if deref(in.OnHand) != 0 {
		if err := s.record(ctx, tx, v.ID, KindSet, *in.OnHand, "initial stock"); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// CreateVariant adds a variant, with its inventory, to a product.
func (s *Service) CreateVariant(ctx context.Context, productID gid.ID, in VariantInput) (*ent.Variant, error) {
	var out *ent.Variant
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		if err := productExists(ctx, tx, productID, "productId"); err != nil {
			return err
		}
		var err error
		if out, err = s.createVariant(ctx, tx, productID, in, ""); err != nil {
			return err
		}
		_, err = s.refreshProduct(ctx, tx, productID)
		return err
	})
	return out, err
}

// UpdateVariant changes the fields given.
func (s *Service) UpdateVariant(ctx context.Context, id gid.ID, in VariantInput) (*ent.Variant, error) {
	var out *ent.Variant
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		v, err := tx.Variant.Get(ctx, id)
		if ent.IsNotFound(err) {
			return errcode.Invalidf(errcode.Missing, "id", "no variant with this ID")
		}
		if err != nil {
			return err
		}
		if errs := s.validateVariant(ctx, tx, v.ProductID, id, &in, "", false); len(errs) > 0 {
			return errs
		}
		price := v.Price
		if in.Price != nil {
			price = *in.Price
		}
		compare := v.CompareAtPrice
		if in.CompareAtPrice != nil {
			compare = in.CompareAtPrice
		}
		if !in.ClearCompareAt && compare != nil && *compare <= price {
			return errcode.Invalidf(errcode.Invalid, "compareAtPrice", "the compare-at price must be higher than the price")
		}
		u := v.Update().
			SetNillableSku(in.SKU).
			SetNillablePrice(in.Price).
			SetNillableCurrency(in.Currency).
			SetNillableCompareAtPrice(in.CompareAtPrice).
			SetNillableWeightGrams(in.WeightGrams).
			SetNillableBarcode(in.Barcode).
			SetNillablePosition(in.Position)
		if in.ClearCompareAt {
			u.ClearCompareAtPrice()
		}
		if in.OptionValues != nil {
			u.SetOptionValues(in.OptionValues)
		}
		if in.Title != nil || in.OptionValues != nil {
			u.SetTitle(variantTitle(in))
		}
		if out, err = u.Save(ctx); err != nil {
			return fmt.Errorf("update variant: %w", err)
		}
		_, err = s.refreshProduct(ctx, tx, v.ProductID)
		return err
	})
	return out, err
}

// DeleteVariant removes a variant and its inventory.
func (s *Service) DeleteVariant(ctx context.Context, id gid.ID) (gid.ID, error) {
	var productID gid.ID
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		v, err := tx.Variant.Get(ctx, id)
		if ent.IsNotFound(err) {
			return errcode.Invalidf(errcode.Missing, "id", "no variant with this ID")
		}
		if err != nil {
			return err
		}
		productID = v.ProductID
		if err := tx.Variant.DeleteOneID(id).Exec(ctx); err != nil {
			return fmt.Errorf("delete variant: %w", err)
		}
		_, err = s.refreshProduct(ctx, tx, productID)
		return err
	})
	return productID, err
}

// CategoryInput creates or changes a category.
type CategoryInput struct {
	Name        *string
	Slug        *string
	Description *string
	Position    *int
}

func validateCategory(ctx context.Context, tx *ent.Tx, id gid.ID, in *CategoryInput, creating bool) errcode.UserErrors {
	var errs errcode.UserErrors
	validateText(&errs, "name", in.Name, 200, creating)
	validateText(&errs, "description", in.Description, 2000, false)
	if creating && in.Slug == nil && in.Name != nil {
		slug := slugify(*in.Name)
		in.Slug = &slug
	}
	if in.Slug != nil {
		if !validSlug(*in.Slug) {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "slug", "use lower-case letters, digits and single dashes"))
		} else if taken, err := tx.Category.Query().Where(category.Slug(*in.Slug), category.IDNEQ(id)).Exist(ctx); err == nil && taken {
			errs = append(errs, errcode.Invalidf(errcode.Taken, "slug", "another category uses this slug"))
		}
	}
	return errs
}

// CreateCategory adds a category under parentID (nil for a root).
func (s *Service) CreateCategory(ctx context.Context, parentID *gid.ID, in CategoryInput) (*ent.Category, error) {
	var out *ent.Category
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		if errs := validateCategory(ctx, tx, "", &in, true); len(errs) > 0 {
			return errs
		}
		id := gid.New("cat")
		path := "/" + string(id) + "/"
		if parentID != nil {
			parent, err := tx.Category.Get(ctx, *parentID)
			if ent.IsNotFound(err) {
				return errcode.Invalidf(errcode.Missing, "parentId", "no category with this ID")
			}
			if err != nil {
				return err
			}
			path = parent.Path + string(id) + "/"
			if len(path) > 700 {
				return errcode.Invalidf(errcode.Invalid, "parentId", "the category tree is too deep")
			}
		}
		var err error
		out, err = tx.Category.Create().SetID(id).SetName(strings.TrimSpace(*in.Name)).SetSlug(*in.Slug).
			SetDescription(deref(in.Description)).SetNillableParentID(parentID).SetPath(path).
			SetPosition(deref(in.Position)).Save(ctx)
		return err
	})
	return out, err
}

// UpdateCategory changes a category's fields.
func (s *Service) UpdateCategory(ctx context.Context, id gid.ID, in CategoryInput) (*ent.Category, error) {
	var out *ent.Category
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		c, err := tx.Category.Get(ctx, id)
		if ent.IsNotFound(err) {
			return errcode.Invalidf(errcode.Missing, "id", "no category with this ID")
		}
		if err != nil {
			return err
		}
		if errs := validateCategory(ctx, tx, id, &in, false); len(errs) > 0 {
			return errs
		}
		out, err = c.Update().SetNillableName(in.Name).SetNillableSlug(in.Slug).
			SetNillableDescription(in.Description).SetNillablePosition(in.Position).Save(ctx)
		return err
	})
	return out, err
}

// MoveCategory puts a category, with everything below it, under a new
// parent (nil for the root). Moving a category under itself or one of its
// descendants would make a cycle and is refused.
func (s *Service) MoveCategory(ctx context.Context, id gid.ID, parentID *gid.ID, position *int) (*ent.Category, error) {
	var out *ent.Category
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		c, err := tx.Category.Query().Where(category.ID(id)).Modify(s.lock).Only(ctx)
		if ent.IsNotFound(err) {
			return errcode.Invalidf(errcode.Missing, "id", "no category with this ID")
		}
		if err != nil {
			return err
		}
		newPath := "/" + string(id) + "/"
		if parentID != nil {
			parent, err := tx.Category.Get(ctx, *parentID)
			if ent.IsNotFound(err) {
				return errcode.Invalidf(errcode.Missing, "parentId", "no category with this ID")
			}
			if err != nil {
				return err
			}
			if strings.HasPrefix(parent.Path, c.Path) {
				return errcode.Invalidf(errcode.Invalid, "parentId", "a category cannot move under itself or one of its descendants")
			}
			newPath = parent.Path + string(id) + "/"
		}
		subtree, err := tx.Category.Query().Where(category.PathHasPrefix(c.Path)).Modify(s.lock).All(ctx)
		if err != nil {
			return err
		}
		for _, d := range subtree {
			p := newPath + strings.TrimPrefix(d.Path, c.Path)
			if len(p) > 700 {
				return errcode.Invalidf(errcode.Invalid, "parentId", "the category tree would be too deep")
			}
			u := d.Update().SetPath(p)
			if d.ID == id {
				u.SetNillableParentID(parentID).SetNillablePosition(position)
				if parentID == nil {
					u.ClearParentID()
				}
			}
			if _, err := u.Save(ctx); err != nil {
				return fmt.Errorf("move category: %w", err)
			}
		}
		out, err = tx.Category.Get(ctx, id)
		return err
	})
	return out, err
}

// DeleteCategory removes an empty category: one without children or
// products.
func (s *Service) DeleteCategory(ctx context.Context, id gid.ID) error {
	return s.adminTx(ctx, func(tx *ent.Tx) error {
		if ok, err := tx.Category.Query().Where(category.ID(id)).Exist(ctx); err != nil || !ok {
			if err != nil {
				return err
			}
			return errcode.Invalidf(errcode.Missing, "id", "no category with this ID")
		}
		if n, err := tx.Category.Query().Where(category.ParentID(id)).Count(ctx); err != nil || n > 0 {
			if err != nil {
				return err
			}
			return errcode.Invalidf(errcode.Conflict, "id", "move or delete the subcategories first")
		}
		if n, err := tx.Product.Query().Where(product.CategoryID(id)).Count(ctx); err != nil || n > 0 {
			if err != nil {
				return err
			}
			return errcode.Invalidf(errcode.Conflict, "id", "move the category's products first")
		}
		return tx.Category.DeleteOneID(id).Exec(ctx)
	})
}

// CollectionInput creates or changes a collection.
type CollectionInput struct {
	Title       *string
	Slug        *string
	Description *string
	ProductIDs  []gid.ID // create only: the initial members, in order
}

// CreateCollection creates a collection, optionally with products.
func (s *Service) CreateCollection(ctx context.Context, in CollectionInput) (*ent.Collection, error) {
	var out *ent.Collection
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		var errs errcode.UserErrors
		validateText(&errs, "title", in.Title, 200, true)
		validateText(&errs, "description", in.Description, 2000, false)
		if in.Slug == nil && in.Title != nil {
			slug := slugify(*in.Title)
			in.Slug = &slug
		}
		if in.Slug != nil {
			if !validSlug(*in.Slug) {
				errs = append(errs, errcode.Invalidf(errcode.Invalid, "slug", "use lower-case letters, digits and single dashes"))
			} else if taken, err := tx.Collection.Query().Where(collection.Slug(*in.Slug)).Exist(ctx); err == nil && taken {
				errs = append(errs, errcode.Invalidf(errcode.Taken, "slug", "another collection uses this slug"))
			}
		}
		if len(errs) > 0 {
			return errs
		}
		var err error
		out, err = tx.Collection.Create().SetTitle(strings.TrimSpace(*in.Title)).SetSlug(*in.Slug).
			SetDescription(deref(in.Description)).Save(ctx)
		if err != nil {
			return err
		}
		return addToCollection(ctx, tx, out.ID, in.ProductIDs)
	})
	return out, err
}

// UpdateCollection changes a collection's fields.
func (s *Service) UpdateCollection(ctx context.Context, id gid.ID, in CollectionInput) (*ent.Collection, error) {
	var out *ent.Collection
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		c, err := tx.Collection.Get(ctx, id)
		if ent.IsNotFound(err) {
			return errcode.Invalidf(errcode.Missing, "id", "no collection with this ID")
		}
		if err != nil {
			return err
		}
		var errs errcode.UserErrors
		validateText(&errs, "title", in.Title, 200, false)
		validateText(&errs, "description", in.Description, 2000, false)
		if in.Slug != nil {
			if !validSlug(*in.Slug) {
				errs = append(errs, errcode.Invalidf(errcode.Invalid, "slug", "use lower-case letters, digits and single dashes"))
			} else if taken, err := tx.Collection.Query().Where(collection.Slug(*in.Slug), collection.IDNEQ(id)).Exist(ctx); err == nil && taken {
				errs = append(errs, errcode.Invalidf(errcode.Taken, "slug", "another collection uses this slug"))
			}
		}
		if len(errs) > 0 {
			return errs
		}
		out, err = c.Update().SetNillableTitle(in.Title).SetNillableSlug(in.Slug).SetNillableDescription(in.Description).Save(ctx)
		return err
	})
	return out, err
}

func addToCollection(ctx context.Context, tx *ent.Tx, collectionID gid.ID, productIDs []gid.ID) error {
	if len(productIDs) == 0 {
		return nil
	}
	found, err := tx.Product.Query().Where(product.IDIn(productIDs...)).IDs(ctx)
	if err != nil {
		return err
	}
	for i, id := range productIDs {
		if !slices.Contains(found, id) {
			return errcode.Invalidf(errcode.Missing, fmt.Sprintf("productIds.%d", i), "no product with this ID")
		}
	}
	existing, err := tx.CollectionProduct.Query().Where(collectionproduct.CollectionID(collectionID)).All(ctx)
	if err != nil {
		return err
	}
	next := 0
	have := map[gid.ID]bool{}
	for _, m := range existing {
		next = max(next, m.Position+1)
		have[m.ProductID] = true
	}
	for _, id := range productIDs {
		if have[id] {
			continue
		}
		have[id] = true
		if _, err := tx.CollectionProduct.Create().SetCollectionID(collectionID).SetProductID(id).SetPosition(next).Save(ctx); err != nil {
			return fmt.Errorf("add to collection: %w", err)
		}
		next++
	}
	return nil
}

func collectionExists(ctx context.Context, tx *ent.Tx, id gid.ID) error {
	ok, err := tx.Collection.Query().Where(collection.ID(id)).Exist(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errcode.Invalidf(errcode.Missing, "collectionId", "no collection with this ID")
	}
	return nil
}

// AddToCollection appends products to a collection; products already in
// it keep their place.
func (s *Service) AddToCollection(ctx context.Context, collectionID gid.ID, productIDs []gid.ID) (*ent.Collection, error) {
	var out *ent.Collection
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		if err := collectionExists(ctx, tx, collectionID); err != nil {
			return err
		}
		if err := addToCollection(ctx, tx, collectionID, productIDs); err != nil {
			return err
		}
		var err error
		out, err = tx.Collection.Get(ctx, collectionID)
		return err
	})
	return out, err
}

// RemoveFromCollection takes products out of a collection.
func (s *Service) RemoveFromCollection(ctx context.Context, collectionID gid.ID, productIDs []gid.ID) (*ent.Collection, error) {
	var out *ent.Collection
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		if err := collectionExists(ctx, tx, collectionID); err != nil {
			return err
		}
		if _, err := tx.CollectionProduct.Delete().Where(collectionproduct.CollectionID(collectionID),
			collectionproduct.ProductIDIn(productIDs...)).Exec(ctx); err != nil {
			return err
		}
		var err error
		out, err = tx.Collection.Get(ctx, collectionID)
		return err
	})
	return out, err
}

// ReorderCollection sets the order of a collection's products. productIDs
// must list every member exactly once.
func (s *Service) ReorderCollection(ctx context.Context, collectionID gid.ID, productIDs []gid.ID) (*ent.Collection, error) {
	var out *ent.Collection
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		if err := collectionExists(ctx, tx, collectionID); err != nil {
			return err
		}
		members, err := tx.CollectionProduct.Query().Where(collectionproduct.CollectionID(collectionID)).All(ctx)
		if err != nil {
			return err
		}
		byProduct := map[gid.ID]*ent.CollectionProduct{}
		for _, m := range members {
			byProduct[m.ProductID] = m
		}
		seen := map[gid.ID]bool{}
		for _, id := range productIDs {
			if byProduct[id] == nil || seen[id] {
				return errcode.Invalidf(errcode.Invalid, "productIds", "list every product of the collection exactly once")
			}
			seen[id] = true
		}
		if len(seen) != len(members) {
			return errcode.Invalidf(errcode.Invalid, "productIds", "list every product of the collection exactly once")
		}
		for i, id := range productIDs {
			if byProduct[id].Position == i {
				continue
			}
			if err := tx.CollectionProduct.UpdateOneID(byProduct[id].ID).SetPosition(i).Exec(ctx); err != nil {
				return err
			}
		}
		out, err = tx.Collection.Get(ctx, collectionID)
		return err
	})
	return out, err
}
