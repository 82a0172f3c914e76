package catalog

import (
	"context"
	"errors"
	"slices"
	"sync"

	"frontdesk/ent"
	"frontdesk/gid"
)

// A listing page is a list of products plus every edge a storefront
// shows of them. Which products a page holds depends on the filter, sort
// and cursor, so nearly every new request asks for a new list; the rows
// and edges depend only on the product. They are therefore kept per
// product, not per page:
//
//   - s.edges holds each product's row, variants, images (with
//     renditions) and collections under the catalog version, which every
//     catalog write, on any replica, replaces;
//   - s.stock holds each variant's inventory row under the stock version
//     (catalog and stock version joined), which every committed
//     reservation, release, sale and restock replaces as well.
//
// A page whose products were seen before under the current versions thus
// costs one statement, the ids and sort keys of its products; the rows
// and edges of products not seen yet are read in one batch for all of
// them, and after a sale only the page's stock is read again. Both caches
// live in this process only, within LocalCacheBytes: the versions are
// read from the shared cache once per request, so a write on another
// replica retires them for the next read here as it retires everything
// else.

// productEntry is one product as a listing shows it besides its stock.
// Kept values are shared by every request and never modified.
type productEntry struct {
	row         *ent.Product
	variants    []*ent.Variant
	images      []*ent.ProductImage
	collections []*ent.Collection
}

// assemble replaces page's products (which may hold only their ID and
// sort key) by their rows and fills its Variants, Images, Collections and
// Inventory, from s.edges and s.stock, reading from the database only
// what they do not hold: the rows and edges of unseen products (rows,
// variants with their stock, images, collection memberships: one batch,
// five statements whatever their number) and the stock of the other
// variants (one statement). A product deleted since the page was listed
// is left out with its cursor.
func (s *Service) assemble(ctx context.Context, page *ProductPage) error {
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
	known := make([]*productEntry, n)
	s.edges.Lookup(cv, keys, func(i int, v any) { known[i], _ = v.(*productEntry) })
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
		read, invs, err := s.readEntries(ctx, unseen)
		if err != nil {
			return err
		}
		fresh = make(map[gid.ID]*ent.Inventory, 3*len(unseen))
		ks := make([]string, 0, len(unseen))
		vals := make([]any, 0, len(unseen))
		sizes := make([]int, 0, len(unseen))
		for _, id := range unseen {
			e := read[id]
			if e == nil {
				continue
			}
			ks, vals, sizes = append(ks, string(id)), append(vals, e), append(sizes, sizeOf(e))
			for _, v := range e.variants {
				fresh[v.ID] = invs[v.ID]
			}
		}
		s.edges.PutMany(cv, ks, vals, sizes, s.opts.CacheTTL)
		for i, p := range page.Products {
			if known[i] == nil {
				known[i] = read[p.ID]
			}
		}
	}

	rows := make([]*ent.Product, 0, n)
	cursors, dropped := page.Cursors, false
	var variantKeys []string
	for i, p := range page.Products {
		e := known[i]
		if e == nil { // deleted since the page was listed
			if !dropped {
				cursors, dropped = slices.Clone(page.Cursors[:i]), true
			}
			continue
		}
		rows = append(rows, e.row)
		if dropped {
			cursors = append(cursors, page.Cursors[i])
		}
		page.Variants[p.ID] = e.variants
		page.Images[p.ID] = e.images
		page.Collections[p.ID] = e.collections
		for _, v := range e.variants {
			variantKeys = append(variantKeys, string(v.ID))
		}
	}
	page.Products, page.Cursors = rows, cursors
	page.Inventory = make(map[gid.ID]*ent.Inventory, len(variantKeys))
	have := make([]bool, len(variantKeys))
	s.stock.Lookup(sv, variantKeys, func(i int, v any) {
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
		s.stock.PutMany(sv, ks, vals, sizes, s.opts.CacheTTL)
	}
	return nil
}

// readEntries reads the rows of products with their variants and the
// variants' stock, their images and their collection memberships. A
// product not found (deleted) has no entry. The four reads are
// independent, so they run at once: a cold page waits for the slowest
// rather than for all of them in turn (on MariaDB about 0.4 ms each, and
// every page after a catalog write is cold).
func (s *Service) readEntries(ctx context.Context, ids []gid.ID) (map[gid.ID]*productEntry, map[gid.ID]*ent.Inventory, error) {
	var (
		wg          sync.WaitGroup
		rows        map[gid.ID]*ent.Product
		vs          []*ent.Variant
		invs        map[gid.ID]*ent.Inventory
		images      map[gid.ID][]*ent.ProductImage
		collections map[gid.ID][]*ent.Collection
		errs        [4]error
	)
	wg.Go(func() { rows, errs[0] = s.fetchProducts(ctx, ids) })
	wg.Go(func() { vs, invs, errs[1] = s.variantsWithInventory(ctx, ids) })
	wg.Go(func() { images, errs[2] = s.fetchImages(ctx, ids) })
	wg.Go(func() { collections, errs[3] = s.fetchCollections(ctx, ids) })
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, nil, err
	}
	out := make(map[gid.ID]*productEntry, len(ids))
	for _, id := range ids {
		if rows[id] != nil {
			out[id] = &productEntry{row: rows[id], images: images[id], collections: collections[id]}
		}
	}
	for _, v := range vs {
		if e := out[v.ProductID]; e != nil {
			e.variants = append(e.variants, v)
		}
	}
	return out, invs, nil
}
