package catalog

import (
	"context"
	"fmt"

	"entgo.io/ent/dialect/sql"

	"frontdesk/ent"
	"frontdesk/ent/collection"
	"frontdesk/ent/collectionproduct"
	"frontdesk/ent/product"
	"frontdesk/gid"
)

// Collections returns every collection, by title.
func (s *Service) Collections(ctx context.Context) ([]*ent.Collection, error) {
	return cached(ctx, s, "collections", false, nil, func() ([]*ent.Collection, error) {
		out, err := s.client.Collection.Query().Order(collection.ByTitle(), collection.ByID()).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("list collections: %w", err)
		}
		return out, nil
	})
}

// Collection returns one collection by ID or slug.
func (s *Service) Collection(ctx context.Context, id *gid.ID, slug *string) (*ent.Collection, error) {
	all, err := s.Collections(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		if (id != nil && c.ID == *id) || (slug != nil && c.Slug == *slug) {
			return c, nil
		}
	}
	return nil, ErrCollectionNotFound
}

// CollectionProducts returns up to limit products of a collection in
// their hand-picked order, leaving out those the viewer may not see.
func (s *Service) CollectionProducts(ctx context.Context, collectionID gid.ID, limit int) ([]*ent.Product, error) {
	args := struct {
		ID    gid.ID
		Limit int
		Staff bool
	}{collectionID, limit, staff(ctx)}
	return cached(ctx, s, "collection-products", false, args, func() ([]*ent.Product, error) {
		q := s.client.Product.Query().Modify(func(sel *sql.Selector) {
			t := sql.Table(collectionproduct.Table).As("cp")
			sel.Join(t).On(sel.C(product.FieldID), t.C(collectionproduct.FieldProductID)).
				Where(sql.EQ(t.C(collectionproduct.FieldCollectionID), collectionID)).
				OrderBy(t.C(collectionproduct.FieldPosition))
		})
		if !args.Staff {
			q.Where(product.StatusEQ(product.StatusACTIVE))
		}
		out, err := q.Limit(limit).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("list collection products: %w", err)
		}
		return out, nil
	})
}
