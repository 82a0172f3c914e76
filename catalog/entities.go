package catalog

import (
	"context"

	"frontdesk/ent"
	"frontdesk/gid"
)

// A listing page is its product rows plus every edge a storefront shows
// of them. The rows depend on the filter, sort and cursor, so nearly
// every new request asks for a new set of them; the edges depend only on
// the product. They are therefore kept per product, not per page:
//
//   - s.edges holds each product's variants, images (with renditions) and
//     collections under the catalog version, which every catalog write,
//     on any replica, replaces;
//   - s.stock holds each variant's inventory row under the stock version
//     (catalog and stock version joined), which every committed
//     reservation, release, sale and restock replaces as well.
//
// A page whose products were seen before under the current versions thus
// costs one statement, its rows; the edges of products not seen yet are
// read in one batch for all of them, and after a sale only the page's
// stock is read again. Both caches live in this process only, within
// LocalCacheBytes: the versions are read from the shared cache once per
// request, so a write on another replica retires them for the next read
// here as it retires everything else.

// productEdges are the edges of one product a listing shows besides its
// stock. Kept values are shared by every request and never modified.
type productEdges struct {
	variants    []*ent.Variant
	images      []*ent.ProductImage
	collections []*ent.Collection
}

// pageEdges fills page's Variants, Images, Collections and Inventory for
// its products from s.edges and s.stock, reading from the database only
// what they do not hold: the edges of unseen products (variants with
// their stock, images, collection memberships: one batch, four
// statements whatever their number) and the stock of the other variants
// (one statement).
func (s *Service) pageEdges(ctx context.Context, page *ProductPage) error {
	n := len(page.Products)
	page.Variants = make(map[gid.ID][]*ent.Variant, n)
	page.Images = make(map[gid.ID][]*ent.ProductImage, n)
	page.Collections = make(map[gid.ID][]*ent.Collection, n)
	if n == 0 {
		page.Inventory = map[gid.ID]*ent.Inventory{}
		return nil
	}
	cv, sv := s.versions(ctx)
	sv = cv + "/" + sv

	keys := make([]string, n)
	for i, p := range page.Products {
		keys[i] = string(p.ID)
	}
	known := make([]*productEdges, n)
	s.edges.lookup(cv, keys, func(i int, v any) { known[i], _ = v.(*productEdges) })
	var unseen []gid.ID
	for i, p := range page.Products {
		if known[i] == nil {
			unseen = append(unseen, p.ID)
		}
	}
	// fresh is the stock read here: with the unseen products' variants
	// (nil for a variant without a row), then of the other variants this
	// stock version has not read yet.
	var fresh map[gid.ID]*ent.Inventory
	if len(unseen) > 0 {
		read, invs, err := s.readEdges(ctx, unseen)
		if err != nil {
			return err
		}
		fresh = make(map[gid.ID]*ent.Inventory, 3*len(unseen))
		ks := make([]string, len(unseen))
		vals := make([]any, len(unseen))
		sizes := make([]int, len(unseen))
		for i, id := range unseen {
			e := read[id]
			ks[i], vals[i], sizes[i] = string(id), e, sizeOf(e)
			for _, v := range e.variants {
				fresh[v.ID] = invs[v.ID]
			}
		}
		s.edges.putMany(cv, ks, vals, sizes, s.opts.CacheTTL)
		for i, p := range page.Products {
			if known[i] == nil {
				known[i] = read[p.ID]
			}
		}
	}

	var variantKeys []string
	for i, p := range page.Products {
		e := known[i]
		page.Variants[p.ID] = e.variants
		page.Images[p.ID] = e.images
		page.Collections[p.ID] = e.collections
		for _, v := range e.variants {
			variantKeys = append(variantKeys, string(v.ID))
		}
	}
	page.Inventory = make(map[gid.ID]*ent.Inventory, len(variantKeys))
	have := make([]bool, len(variantKeys))
	s.stock.lookup(sv, variantKeys, func(i int, v any) {
		have[i] = true
		if inv, _ := v.(*ent.Inventory); inv != nil {
			page.Inventory[gid.ID(variantKeys[i])] = inv
		}
	})
	var stale []gid.ID
	for i, k := range variantKeys {
		if have[i] {
			continue
		}
		id := gid.ID(k)
		if inv, ok := fresh[id]; ok {
			if inv != nil {
				page.Inventory[id] = inv
			}
			continue
		}
		stale = append(stale, id)
	}
	if len(stale) > 0 {
		invs, err := s.fetchInventory(ctx, stale)
		if err != nil {
			return err
		}
		if fresh == nil {
			fresh = make(map[gid.ID]*ent.Inventory, len(stale))
		}
		for _, id := range stale {
			if inv := invs[id]; inv != nil {
				page.Inventory[id] = inv
			}
			fresh[id] = invs[id]
		}
	}
	if len(fresh) > 0 {
		// Kept under the stock version read before them.
		ks := make([]string, 0, len(fresh))
		vals := make([]any, 0, len(fresh))
		sizes := make([]int, 0, len(fresh))
		for id, inv := range fresh {
			// A nil row is kept too: the variant has none at this version.
			ks, vals, sizes = append(ks, string(id)), append(vals, any(inv)), append(sizes, sizeOf(inv))
		}
		s.stock.putMany(sv, ks, vals, sizes, s.opts.CacheTTL)
	}
	return nil
}

// readEdges reads the edges of products: their variants and the variants'
// stock, their images and their collection memberships. Every product
// asked for gets an entry, empty when it has no edges.
func (s *Service) readEdges(ctx context.Context, ids []gid.ID) (map[gid.ID]*productEdges, map[gid.ID]*ent.Inventory, error) {
	vs, invs, err := s.variantsWithInventory(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	images, err := s.fetchImages(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	collections, err := s.fetchCollections(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[gid.ID]*productEdges, len(ids))
	for _, id := range ids {
		out[id] = &productEdges{images: images[id], collections: collections[id]}
	}
	for _, v := range vs {
		if e := out[v.ProductID]; e != nil {
			e.variants = append(e.variants, v)
		}
	}
	return out, invs, nil
}
