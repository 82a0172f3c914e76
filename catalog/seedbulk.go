package catalog

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"strings"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/product"
	"frontdesk/gid"
	"frontdesk/identity"
)

// seedBatch is how many products one bulk transaction inserts: a few
// multi-row INSERTs per table, well under both databases' placeholder
// limits (SQLite 32,766, MySQL 65,535).
const seedBatch = 500

// SeedLarge loads a large catalog quickly for benchmarks: the same demo
// taxonomy and products as Seed (titles, Markdown descriptions, three
// sizes with stock, a featured image, two collections), but inserted
// with multi-row INSERTs, seedBatch products per transaction, instead of
// one validated CreateProduct each. It writes what the domain functions
// would (rendered HTML, search text, price range, tag key, inventory and
// the initial stock adjustment) and is meant for empty databases.
// Every product shares one stored placeholder image when storage is
// configured.
func (s *Service) SeedLarge(ctx context.Context, n int) (int, error) {
	ctx = identity.SystemContext(ctx)
	leaves, featured, sale, err := s.seedTaxonomy(ctx)
	if err != nil {
		return 0, err
	}
	imageKey, err := s.seedPlaceholder(ctx)
	if err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []string{"Small", "Medium", "Large"}
	// Creation (and update) times one millisecond apart, oldest first, so
	// NEWEST is a total order independent of insert speed; an hour back,
	// as a catalog's products are, rather than in the window the search
	// index reads again after each write (lookBack).
	start := time.Now().UTC().Add(-time.Hour - time.Duration(n)*time.Millisecond).Truncate(time.Microsecond)
	done := 0
	for done < n {
		size := min(seedBatch, n-done)
		if err := s.withTx(ctx, func(tx *ent.Tx) error {
			return s.seedBatch(ctx, tx, seedBatchArgs{
				from: done, count: size, start: start, rng: rng, sizes: sizes,
				leaves: leaves, featured: featured, sale: sale, imageKey: imageKey,
			})
		}); err != nil {
			return done, fmt.Errorf("seed products %d-%d: %w", done+1, done+size, err)
		}
		done += size
	}
	return done, nil
}

type seedBatchArgs struct {
	from, count    int
	start          time.Time
	rng            *rand.Rand
	sizes          []string
	leaves         []gid.ID
	featured, sale gid.ID
	imageKey       string
}

func (s *Service) seedBatch(ctx context.Context, tx *ent.Tx, a seedBatchArgs) error {
	var (
		products    []*ent.ProductCreate
		options     []*ent.ProductOptionCreate
		variants    []*ent.VariantCreate
		inventories []*ent.InventoryCreate
		adjustments []*ent.StockAdjustmentCreate
		images      []*ent.ProductImageCreate
		members     []*ent.CollectionProductCreate
	)
	active := product.StatusACTIVE
	for i := a.from; i < a.from+a.count; i++ {
		id := gid.New("prd")
		title := fmt.Sprintf("%s %s %d", seedWords[i%len(seedWords)], seedWords[(i/len(seedWords)+3)%len(seedWords)], i+1)
		desc := fmt.Sprintf("**%s** is a demo product.\n\n- carefully sourced\n- made in small batches\n\nProduct number %d.", title, i+1)
		html, err := renderMarkdown(desc)
		if err != nil {
			return err
		}
		tags := normalizeTags([]string{seedWords[a.rng.IntN(len(seedWords))], "demo"})
		base := int64(500 + a.rng.IntN(9500))
		words := []string{title, plainText(html), strings.Join(tags, " ")}
		var lo, hi int64
		for v, size := range a.sizes {
			price := base + int64(v)*base/2
			if v == 0 || price < lo {
				lo = price
			}
			if price > hi {
				hi = price
			}
			vid := gid.New("var")
			sku := fmt.Sprintf("DEMO-%05d-%c", i+1, size[0])
			onHand := a.rng.IntN(40)
			variants = append(variants, tx.Variant.Create().SetID(vid).SetProductID(id).SetSku(sku).
				SetTitle(size).SetOptionValues(optionValue("Size", size)).SetPrice(price).SetCurrency("AUD").
				SetWeightGrams(100*(v+1)).SetPosition(v))
			inventories = append(inventories, tx.Inventory.Create().SetVariantID(vid).SetOnHand(onHand))
			if onHand != 0 {
				adjustments = append(adjustments, tx.StockAdjustment.Create().SetVariantID(vid).SetKind(KindSet).
					SetDelta(onHand).SetOnHandAfter(onHand).SetReason("initial stock"))
			}
			words = append(words, sku, compact(sku), size, "")
		}
		cat := a.leaves[i%len(a.leaves)]
		created := a.start.Add(time.Duration(i) * time.Millisecond)
		products = append(products, tx.Product.Create().SetID(id).SetStatus(active).
			SetTitle(title).SetSortTitle(strings.ToLower(title)).SetSlug(slugify(title)).
			SetDescription(desc).SetDescriptionHTML(html).SetTags(tags).SetTagKey(tagKey(tags)).
			SetCategoryID(cat).SetPriceMin(lo).SetPriceMax(hi).SetCurrency("AUD").
			SetSearchText(strings.ToLower(strings.Join(words, " "))).
			SetCreatedAt(created).SetUpdatedAt(created))
		options = append(options, tx.ProductOption.Create().SetProductID(id).SetName("Size").SetValues(a.sizes))
		if a.imageKey != "" {
			images = append(images, tx.ProductImage.Create().SetProductID(id).SetKey(a.imageKey).
				SetContentType("image/png").SetWidth(seedImageSize).SetHeight(seedImageSize).SetAlt(title))
		}
		if i%5 == 0 {
			members = append(members, tx.CollectionProduct.Create().SetCollectionID(a.featured).SetProductID(id).SetPosition(i/5))
		}
		if i%7 == 0 {
			members = append(members, tx.CollectionProduct.Create().SetCollectionID(a.sale).SetProductID(id).SetPosition(i/7))
		}
	}
	// Parents first: foreign keys are checked per statement.
	if err := tx.Product.CreateBulk(products...).Exec(ctx); err != nil {
		return fmt.Errorf("insert products: %w", err)
	}
	if err := tx.ProductOption.CreateBulk(options...).Exec(ctx); err != nil {
		return fmt.Errorf("insert options: %w", err)
	}
	if err := tx.Variant.CreateBulk(variants...).Exec(ctx); err != nil {
		return fmt.Errorf("insert variants: %w", err)
	}
	if err := tx.Inventory.CreateBulk(inventories...).Exec(ctx); err != nil {
		return fmt.Errorf("insert inventory: %w", err)
	}
	if len(adjustments) > 0 {
		if err := tx.StockAdjustment.CreateBulk(adjustments...).Exec(ctx); err != nil {
			return fmt.Errorf("insert stock adjustments: %w", err)
		}
	}
	if len(images) > 0 {
		if err := tx.ProductImage.CreateBulk(images...).Exec(ctx); err != nil {
			return fmt.Errorf("insert images: %w", err)
		}
	}
	if len(members) > 0 {
		if err := tx.CollectionProduct.CreateBulk(members...).Exec(ctx); err != nil {
			return fmt.Errorf("insert collection members: %w", err)
		}
	}
	return nil
}

// seedTaxonomy creates Seed's category tree and its two collections
// through the domain functions and returns the leaf categories.
func (s *Service) seedTaxonomy(ctx context.Context) (leaves []gid.ID, featured, sale gid.ID, err error) {
	for _, root := range []string{"Tea", "Supplements", "Skin care"} {
		parent, err := s.CreateCategory(ctx, nil, CategoryInput{Name: &root})
		if err != nil {
			return nil, "", "", fmt.Errorf("seed category %s: %w", root, err)
		}
		for _, leaf := range seedTree[root] {
			c, err := s.CreateCategory(ctx, &parent.ID, CategoryInput{Name: &leaf})
			if err != nil {
				return nil, "", "", fmt.Errorf("seed category %s: %w", leaf, err)
			}
			leaves = append(leaves, c.ID)
		}
	}
	f, err := s.CreateCollection(ctx, CollectionInput{Title: ptr("Featured")})
	if err != nil {
		return nil, "", "", err
	}
	o, err := s.CreateCollection(ctx, CollectionInput{Title: ptr("On sale")})
	if err != nil {
		return nil, "", "", err
	}
	return leaves, f.ID, o.ID, nil
}

const seedImageSize = 64

// seedPlaceholder stores one small generated PNG that every bulk-seeded
// product shows, and returns its key ("" without storage).
func (s *Service) seedPlaceholder(ctx context.Context) (string, error) {
	if s.opts.Storage == nil {
		return "", nil
	}
	img := image.NewRGBA(image.Rect(0, 0, seedImageSize, seedImageSize))
	for y := range seedImageSize {
		for x := range seedImageSize {
			img.Set(x, y, color.RGBA{R: uint8(120 + x), G: uint8(160 + y), B: 140, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", fmt.Errorf("encode placeholder image: %w", err)
	}
	key := "seed/placeholder.png"
	if err := s.opts.Storage.Put(ctx, key, bytes.NewReader(buf.Bytes()), int64(buf.Len()), "image/png"); err != nil {
		return "", fmt.Errorf("store placeholder image: %w", err)
	}
	return key, nil
}
