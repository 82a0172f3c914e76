package catalog

import (
	"context"
	"fmt"
	"math/rand/v2"

	"frontdesk/ent/product"
	entschema "frontdesk/ent/schema"
	"frontdesk/gid"
	"frontdesk/identity"
)

// SeedOptions size a demo catalog.
type SeedOptions struct {
	// Products is how many products to create (default 36).
	Products int
	// VariantsPerProduct is how many sizes each product comes in (1–3).
	VariantsPerProduct int
}

var seedTree = map[string][]string{
	"Tea":         {"Green tea", "Black tea", "Herbal tea"},
	"Supplements": {"Vitamins", "Minerals"},
	"Skin care":   {"Cleansers", "Moisturisers"},
}

var seedWords = []string{"Calm", "Morning", "Daily", "Gentle", "Pure", "Restore", "Balance", "Bright", "Classic", "Organic", "Night", "Fresh"}

// Seed loads a demo catalog through the same domain functions the admin
// API uses: a category tree, two collections, products in three sizes
// with stock. It runs as the system and is meant for empty databases.
func (s *Service) Seed(ctx context.Context, opts SeedOptions) (int, error) {
	ctx = identity.SystemContext(ctx)
	if opts.Products <= 0 {
		opts.Products = 36
	}
	if opts.VariantsPerProduct <= 0 || opts.VariantsPerProduct > 3 {
		opts.VariantsPerProduct = 3
	}
	rng := rand.New(rand.NewPCG(1, 2)) // the same demo every time
	var leaves []gid.ID
	for _, root := range []string{"Tea", "Supplements", "Skin care"} {
		parent, err := s.CreateCategory(ctx, nil, CategoryInput{Name: &root})
		if err != nil {
			return 0, fmt.Errorf("seed category %s: %w", root, err)
		}
		for _, leaf := range seedTree[root] {
			c, err := s.CreateCategory(ctx, &parent.ID, CategoryInput{Name: &leaf})
			if err != nil {
				return 0, fmt.Errorf("seed category %s: %w", leaf, err)
			}
			leaves = append(leaves, c.ID)
		}
	}
	featured, err := s.CreateCollection(ctx, CollectionInput{Title: ptr("Featured")})
	if err != nil {
		return 0, err
	}
	sale, err := s.CreateCollection(ctx, CollectionInput{Title: ptr("On sale")})
	if err != nil {
		return 0, err
	}
	sizes := []string{"Small", "Medium", "Large"}
	var featuredIDs, saleIDs []gid.ID
	active := product.StatusACTIVE
	for i := range opts.Products {
		title := fmt.Sprintf("%s %s %d", seedWords[i%len(seedWords)], seedWords[(i/len(seedWords)+3)%len(seedWords)], i+1)
		cat := leaves[i%len(leaves)]
		base := int64(500 + rng.IntN(9500))
		in := ProductInput{
			Title:       &title,
			Description: ptr(fmt.Sprintf("**%s** is a demo product.\n\n- carefully sourced\n- made in small batches\n\nProduct number %d.", title, i+1)),
			Tags:        []string{seedWords[rng.IntN(len(seedWords))], "demo"},
			CategoryID:  &cat,
			Status:      &active,
			Options:     []OptionInput{{Name: ptr("Size"), Values: sizes[:opts.VariantsPerProduct]}},
		}
		for v := range opts.VariantsPerProduct {
			price := base + int64(v)*base/2
			in.Variants = append(in.Variants, VariantInput{
				SKU:          ptr(fmt.Sprintf("DEMO-%05d-%c", i+1, sizes[v][0])),
				Price:        &price,
				Currency:     ptr("AUD"),
				OptionValues: optionValue("Size", sizes[v]),
				OnHand:       ptr(rng.IntN(40)),
				WeightGrams:  ptr(100 * (v + 1)),
			})
		}
		p, err := s.CreateProduct(ctx, in)
		if err != nil {
			return i, fmt.Errorf("seed product %d: %w", i+1, err)
		}
		if err := s.seedImages(ctx, i, p); err != nil {
			return i, err
		}
		if i%5 == 0 {
			featuredIDs = append(featuredIDs, p.ID)
		}
		if i%7 == 0 {
			saleIDs = append(saleIDs, p.ID)
		}
	}
	if _, err := s.AddToCollection(ctx, featured.ID, featuredIDs); err != nil {
		return opts.Products, err
	}
	if _, err := s.AddToCollection(ctx, sale.ID, saleIDs); err != nil {
		return opts.Products, err
	}
	return opts.Products, nil
}

func ptr[T any](v T) *T { return &v }

func optionValue(name, value string) []entschema.OptionValue {
	return []entschema.OptionValue{{Name: name, Value: value}}
}
