package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vikstrous/dataloadgen"

	"frontdesk/ent"
	"frontdesk/ent/collectionproduct"
	"frontdesk/ent/inventory"
	"frontdesk/ent/product"
	"frontdesk/ent/productimage"
	"frontdesk/ent/productoption"
	"frontdesk/ent/variant"
	"frontdesk/gid"
	"frontdesk/money"
)

// Loaders batch and memoise the catalog reads of one request, so that a
// listing of N products with all their edges costs a fixed number of
// queries. The listing fills them directly (Prime) from the rows it read
// or from the cache; other paths (node, a product's collections) batch
// through them.
type Loaders struct {
	products    *dataloadgen.Loader[gid.ID, *ent.Product]
	variants    *dataloadgen.Loader[gid.ID, []*ent.Variant]
	variant     *dataloadgen.Loader[gid.ID, *ent.Variant]
	inventory   *dataloadgen.Loader[gid.ID, *ent.Inventory]
	images      *dataloadgen.Loader[gid.ID, []*ent.ProductImage]
	options     *dataloadgen.Loader[gid.ID, []*ent.ProductOption]
	collections *dataloadgen.Loader[gid.ID, []*ent.Collection]
	categories  *categoryTree
	// categoriesMu makes one request load the category tree once.
	categoriesMu sync.Mutex
	// version and stock are the catalog and stock versions, read together
	// once per request (see Service.versions).
	versionMu      sync.Mutex
	version, stock string
}

type loadersKey struct{}

// batchWait is how long a loader collects keys before it queries. Fields
// of one list resolve concurrently within microseconds of each other.
const batchWait = 500 * time.Microsecond

// WithLoaders returns ctx carrying per-request loaders, made on first
// use: most operations (and every subscription, which holds its context
// for as long as it is open) never load a catalog object.
func (s *Service) WithLoaders(ctx context.Context) context.Context {
	return context.WithValue(ctx, loadersKey{}, &lazyLoaders{s: s})
}

type lazyLoaders struct {
	s    *Service
	once sync.Once
	l    *Loaders
}

func loadersFrom(ctx context.Context) *Loaders {
	z, _ := ctx.Value(loadersKey{}).(*lazyLoaders)
	if z == nil {
		return nil
	}
	z.once.Do(func() { z.l = z.s.newLoaders() })
	return z.l
}

// loaders returns the request's loaders, or fresh ones for callers
// outside a request (tests, seeding), which then simply do not share.
func (s *Service) loaders(ctx context.Context) *Loaders {
	if l := loadersFrom(ctx); l != nil {
		return l
	}
	return s.newLoaders()
}

func (s *Service) newLoaders() *Loaders {
	w := dataloadgen.WithWait(batchWait)
	return &Loaders{
		products:    dataloadgen.NewMappedLoader(s.fetchProducts, w),
		variants:    dataloadgen.NewMappedLoader(s.fetchVariants, w),
		variant:     dataloadgen.NewMappedLoader(s.fetchVariantByID, w),
		inventory:   dataloadgen.NewMappedLoader(s.fetchInventory, w),
		images:      dataloadgen.NewMappedLoader(s.fetchImages, w),
		options:     dataloadgen.NewMappedLoader(s.fetchOptions, w),
		collections: dataloadgen.NewMappedLoader(s.fetchCollections, w),
	}
}

// load turns a mapped loader's "key not returned" into a nil value: a
// product without variants or collections has an empty list, not an
// error. dataloadgen reports such a key as ErrNotFound (v0.0.10; earlier
// versions returned the batch's MappedFetchError).
func load[K comparable, V any](ctx context.Context, l *dataloadgen.Loader[K, V], key K) (V, error) {
	v, err := l.Load(ctx, key)
	if err != nil {
		var zero V
		var mapped dataloadgen.MappedFetchError[K]
		if errors.Is(err, dataloadgen.ErrNotFound) || (errors.As(err, &mapped) && mapped[key] == nil) {
			return zero, nil
		}
		return zero, err
	}
	return v, nil
}

func (s *Service) fetchProducts(ctx context.Context, ids []gid.ID) (map[gid.ID]*ent.Product, error) {
	rows, err := s.client.Product.Query().Where(product.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load products: %w", err)
	}
	out := make(map[gid.ID]*ent.Product, len(rows))
	for _, p := range rows {
		out[p.ID] = p
	}
	return out, nil
}

// fetchVariants loads the variants of products together with their
// inventory in one joined query, and primes the inventory loader.
func (s *Service) fetchVariants(ctx context.Context, productIDs []gid.ID) (map[gid.ID][]*ent.Variant, error) {
	vs, invs, err := s.variantsWithInventory(ctx, productIDs)
	if err != nil {
		return nil, err
	}
	l := s.loaders(ctx)
	out := make(map[gid.ID][]*ent.Variant, len(productIDs))
	for _, v := range vs {
		out[v.ProductID] = append(out[v.ProductID], v)
		l.variant.Prime(v.ID, v)
		if inv := invs[v.ID]; inv != nil {
			l.inventory.Prime(v.ID, inv)
		}
	}
	return out, nil
}

// variantsWithInventory reads variants and then their inventory rows:
// two plain queries. A LEFT JOIN made it one, but ent scans columns it
// does not know (the joined inventory) through database/sql's
// ColumnTypes, which it rebuilt for every such column of every row: a
// fifth of a cold listing's allocations.
func (s *Service) variantsWithInventory(ctx context.Context, productIDs []gid.ID) ([]*ent.Variant, map[gid.ID]*ent.Inventory, error) {
	vs, err := s.client.Variant.Query().
		Where(variant.ProductIDIn(productIDs...)).
		Order(variant.ByProductID(), variant.ByPosition(), variant.ByID()).
		All(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("load variants: %w", err)
	}
	if len(vs) == 0 {
		return vs, map[gid.ID]*ent.Inventory{}, nil
	}
	ids := make([]gid.ID, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	invs, err := s.fetchInventory(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	return vs, invs, nil
}

func (s *Service) fetchVariantByID(ctx context.Context, ids []gid.ID) (map[gid.ID]*ent.Variant, error) {
	vs, err := s.client.Variant.Query().Where(variant.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load variants: %w", err)
	}
	out := make(map[gid.ID]*ent.Variant, len(vs))
	for _, v := range vs {
		out[v.ID] = v
	}
	return out, nil
}

func (s *Service) fetchInventory(ctx context.Context, variantIDs []gid.ID) (map[gid.ID]*ent.Inventory, error) {
	rows, err := s.client.Inventory.Query().Where(inventory.VariantIDIn(variantIDs...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load inventory: %w", err)
	}
	out := make(map[gid.ID]*ent.Inventory, len(rows))
	for _, r := range rows {
		out[r.VariantID] = r
	}
	return out, nil
}

func (s *Service) fetchImages(ctx context.Context, productIDs []gid.ID) (map[gid.ID][]*ent.ProductImage, error) {
	rows, err := s.client.ProductImage.Query().
		Where(productimage.ProductIDIn(productIDs...)).
		Order(productimage.ByProductID(), productimage.ByPosition(), productimage.ByID()).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}
	out := make(map[gid.ID][]*ent.ProductImage, len(productIDs))
	for _, r := range rows {
		out[r.ProductID] = append(out[r.ProductID], r)
	}
	return out, nil
}

func (s *Service) fetchOptions(ctx context.Context, productIDs []gid.ID) (map[gid.ID][]*ent.ProductOption, error) {
	rows, err := s.client.ProductOption.Query().
		Where(productoption.ProductIDIn(productIDs...)).
		Order(productoption.ByProductID(), productoption.ByPosition(), productoption.ByID()).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load options: %w", err)
	}
	out := make(map[gid.ID][]*ent.ProductOption, len(productIDs))
	for _, r := range rows {
		out[r.ProductID] = append(out[r.ProductID], r)
	}
	return out, nil
}

// fetchCollections reads which collections products belong to (one
// query on the membership table) and takes the collections themselves
// from the cached list of all collections, in its order (title, ID).
// Joining the collections table instead made ent scan the membership
// column it does not know through ColumnTypes on every row.
func (s *Service) fetchCollections(ctx context.Context, productIDs []gid.ID) (map[gid.ID][]*ent.Collection, error) {
	members, err := s.client.CollectionProduct.Query().
		Where(collectionproduct.ProductIDIn(productIDs...)).
		Select(collectionproduct.FieldCollectionID, collectionproduct.FieldProductID).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load collections: %w", err)
	}
	out := make(map[gid.ID][]*ent.Collection, len(productIDs))
	if len(members) == 0 {
		return out, nil
	}
	all, err := s.Collections(ctx)
	if err != nil {
		return nil, err
	}
	in := make(map[gid.ID][]gid.ID, len(all)) // collection → its products here
	for _, m := range members {
		in[m.CollectionID] = append(in[m.CollectionID], m.ProductID)
	}
	for _, c := range all {
		for _, pid := range in[c.ID] {
			out[pid] = append(out[pid], c)
		}
	}
	return out, nil
}

// Variants returns a product's variants in position order.
func (s *Service) Variants(ctx context.Context, productID gid.ID) ([]*ent.Variant, error) {
	return load(ctx, s.loaders(ctx).variants, productID)
}

// Inventory returns a variant's stock record.
func (s *Service) Inventory(ctx context.Context, variantID gid.ID) (*ent.Inventory, error) {
	return load(ctx, s.loaders(ctx).inventory, variantID)
}

// Images returns a product's images in position order.
func (s *Service) Images(ctx context.Context, productID gid.ID) ([]*ent.ProductImage, error) {
	return load(ctx, s.loaders(ctx).images, productID)
}

// Options returns a product's options in position order.
func (s *Service) Options(ctx context.Context, productID gid.ID) ([]*ent.ProductOption, error) {
	return load(ctx, s.loaders(ctx).options, productID)
}

// CollectionsOf returns the collections a product belongs to.
func (s *Service) CollectionsOf(ctx context.Context, productID gid.ID) ([]*ent.Collection, error) {
	return load(ctx, s.loaders(ctx).collections, productID)
}

// ProductOf returns the product of a variant or image, checking that the
// viewer may see it.
func (s *Service) ProductOf(ctx context.Context, productID gid.ID) (*ent.Product, error) {
	p, err := load(ctx, s.loaders(ctx).products, productID)
	if err != nil {
		return nil, err
	}
	if p == nil || !visible(ctx, p) {
		return nil, ErrProductNotFound
	}
	return p, nil
}

// StaffInventory returns a variant's stock record to staff and nil to
// everyone else: on-hand and reserved figures are business data.
func (s *Service) StaffInventory(ctx context.Context, variantID gid.ID) (*ent.Inventory, error) {
	if !staff(ctx) {
		return nil, nil
	}
	return s.Inventory(ctx, variantID)
}

// ProductInStock reports whether any variant of a product can be bought.
func (s *Service) ProductInStock(ctx context.Context, productID gid.ID) (bool, error) {
	vs, err := s.Variants(ctx, productID)
	if err != nil {
		return false, err
	}
	for _, v := range vs {
		inv, err := s.Inventory(ctx, v.ID)
		if err != nil {
			return false, err
		}
		if InStock(inv) {
			return true, nil
		}
	}
	return false, nil
}

// PriceWithTax is a variant's price with the shop's tax rate added.
func (s *Service) PriceWithTax(v *ent.Variant) money.Money {
	return money.Money{Amount: v.Price, Currency: v.Currency}.AddRate(s.opts.TaxRateBPS)
}

// Variant returns one variant if the viewer may see its product.
func (s *Service) Variant(ctx context.Context, id gid.ID) (*ent.Variant, error) {
	v, err := load(ctx, s.loaders(ctx).variant, id)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, ErrVariantNotFound
	}
	if _, err := s.ProductOf(ctx, v.ProductID); err != nil {
		return nil, ErrVariantNotFound
	}
	return v, nil
}
