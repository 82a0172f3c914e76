package graph

import (
	"context"
	"errors"

	"github.com/99designs/gqlgen/graphql"

	"frontdesk/catalog"
	"frontdesk/ent"
	entschema "frontdesk/ent/schema"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/graph/model"
)

// userErrors splits a domain error into the userErrors of a payload
// (expected business failures) and a top-level error (everything else).
func userErrors(err error) ([]*errcode.UserError, error) {
	if err == nil {
		return []*errcode.UserError{}, nil
	}
	if list, ok := errcode.AsUserErrors(err); ok {
		return list, nil
	}
	return nil, err
}

func derefOr[T any](p *T, d T) T {
	if p == nil {
		return d
	}
	return *p
}

// CatalogLoaders puts the catalog's per-request loaders into the context
// of every operation, so each request batches and memoises on its own.
type CatalogLoaders struct {
	Catalog *catalog.Service
	// Schema is the schema the operations run on; its view rules say
	// which responses the catalog's response cache may keep.
	Schema *Schema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = CatalogLoaders{}

// ExtensionName implements graphql.HandlerExtension.
func (CatalogLoaders) ExtensionName() string { return "CatalogLoaders" }

// Validate implements graphql.HandlerExtension.
func (CatalogLoaders) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation implements graphql.OperationInterceptor.
func (c CatalogLoaders) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return next(c.Catalog.WithLoaders(ctx))
}

func listArgs(first *int, after *ent.Cursor, last *int, before *ent.Cursor, f *model.ProductFilter, sort *model.ProductSort, reverse *bool) catalog.ListArgs {
	args := catalog.ListArgs{First: first, After: after, Last: last, Before: before, Reverse: derefOr(reverse, false)}
	if sort != nil {
		args.Sort = catalog.Sort(*sort)
	}
	if f != nil {
		args.Filter = catalog.Filter{
			CategoryID:   f.Category,
			CollectionID: f.Collection,
			PriceMin:     int64Ptr(f.PriceMin),
			PriceMax:     int64Ptr(f.PriceMax),
			InStock:      f.InStock,
			Tags:         f.Tags,
			Search:       derefOr(f.Search, ""),
			Statuses:     f.Status,
		}
	}
	return args
}

// selects reports whether the field being resolved selects a field
// named name directly (fragments included).
func selects(ctx context.Context, name string) bool {
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name == name {
			return true
		}
	}
	return false
}

func int64Ptr(p *int) *int64 {
	if p == nil {
		return nil
	}
	v := int64(*p)
	return &v
}

func optionValues(in []*model.SelectedOptionInput) []entschema.OptionValue {
	if in == nil {
		return nil
	}
	out := make([]entschema.OptionValue, len(in))
	for i, o := range in {
		out[i] = entschema.OptionValue{Name: o.Name, Value: o.Value}
	}
	return out
}

func optionInput(o *model.ProductOptionInput) catalog.OptionInput {
	return catalog.OptionInput{Name: &o.Name, Values: o.Values, Position: o.Position}
}

func variantInput(v *model.VariantInput) catalog.VariantInput {
	amount := int64(v.Price.Amount)
	return catalog.VariantInput{
		SKU: &v.Sku, Title: v.Title, OptionValues: optionValues(v.SelectedOptions),
		Price: &amount, Currency: &v.Price.Currency, CompareAtPrice: int64Ptr(v.CompareAtPrice),
		WeightGrams: v.WeightGrams, Barcode: v.Barcode, Position: v.Position,
		OnHand: v.OnHand, Tracked: v.Tracked, AllowBackorder: v.AllowBackorder,
	}
}

func createProductInput(in model.CreateProductInput) catalog.ProductInput {
	out := catalog.ProductInput{
		Title: &in.Title, Slug: in.Slug, Description: in.Description, SEOTitle: in.SeoTitle,
		SEODescription: in.SeoDescription, Tags: in.Tags, CategoryID: in.CategoryID, Status: in.Status,
	}
	for _, o := range in.Options {
		out.Options = append(out.Options, optionInput(o))
	}
	for _, v := range in.Variants {
		out.Variants = append(out.Variants, variantInput(v))
	}
	return out
}

func updateProductInput(in model.UpdateProductInput) catalog.ProductInput {
	return catalog.ProductInput{
		Title: in.Title, Slug: in.Slug, Description: in.Description, SEOTitle: in.SeoTitle,
		SEODescription: in.SeoDescription, Tags: in.Tags, CategoryID: in.CategoryID,
		ClearCategory: derefOr(in.ClearCategory, false), Status: in.Status,
	}
}

func updateVariantInput(in model.UpdateVariantInput) catalog.VariantInput {
	out := catalog.VariantInput{
		SKU: in.Sku, Title: in.Title, OptionValues: optionValues(in.SelectedOptions),
		CompareAtPrice: int64Ptr(in.CompareAtPrice), ClearCompareAt: derefOr(in.ClearCompareAtPrice, false),
		WeightGrams: in.WeightGrams, Barcode: in.Barcode, Position: in.Position,
	}
	if in.Price != nil {
		amount := int64(in.Price.Amount)
		out.Price, out.Currency = &amount, &in.Price.Currency
	}
	return out
}

func productPayload(p *ent.Product, err error) (*model.ProductPayload, error) {
	ue, err := userErrors(err)
	if err != nil {
		return nil, err
	}
	return &model.ProductPayload{Product: p, UserErrors: ue}, nil
}

func variantPayload(v *ent.Variant, err error) (*model.VariantPayload, error) {
	ue, err := userErrors(err)
	if err != nil {
		return nil, err
	}
	return &model.VariantPayload{Variant: v, UserErrors: ue}, nil
}

func optionPayload(o *ent.ProductOption, err error) (*model.ProductOptionPayload, error) {
	ue, err := userErrors(err)
	if err != nil {
		return nil, err
	}
	return &model.ProductOptionPayload{Option: o, UserErrors: ue}, nil
}

func categoryPayload(c *ent.Category, err error) (*model.CategoryPayload, error) {
	ue, err := userErrors(err)
	if err != nil {
		return nil, err
	}
	return &model.CategoryPayload{Category: c, UserErrors: ue}, nil
}

func collectionPayload(c *ent.Collection, err error) (*model.CollectionPayload, error) {
	ue, err := userErrors(err)
	if err != nil {
		return nil, err
	}
	return &model.CollectionPayload{Collection: c, UserErrors: ue}, nil
}

func deletePayload(id gid.ID, err error) (*model.DeletePayload, error) {
	ue, err := userErrors(err)
	if err != nil {
		return nil, err
	}
	if len(ue) > 0 {
		return &model.DeletePayload{UserErrors: ue}, nil
	}
	return &model.DeletePayload{DeletedID: &id, UserErrors: ue}, nil
}

// stockPayload answers a stock mutation with the variant it changed.
func (r *Resolver) stockPayload(ctx context.Context, variantID gid.ID, err error) (*model.VariantPayload, error) {
	if err != nil {
		return variantPayload(nil, err)
	}
	v, err := r.Catalog.Variant(ctx, variantID)
	if errors.Is(err, catalog.ErrVariantNotFound) {
		return variantPayload(nil, err)
	}
	return variantPayload(v, err)
}
