package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"frontdesk/ent"
	"frontdesk/ent/category"
	"frontdesk/gid"
)

// categoryTree is the whole category tree, read in one query and cached:
// shops have tens or hundreds of categories, and every listing filter and
// breadcrumb needs them.
//
// One tree is shared by every request that reads it from the cache, so
// its maps are built once (indexed): building them on each read wrote the
// shared maps from concurrent requests, a fatal "concurrent map writes"
// (TestConcurrentMissesReadOnce found it).
type categoryTree struct {
	All      []*ent.Category `json:"all"`
	indexing sync.Once
	byID     map[gid.ID]*ent.Category
	children map[gid.ID][]*ent.Category // "" holds the roots
}

// indexed returns t with its maps built.
func (t *categoryTree) indexed() *categoryTree {
	t.indexing.Do(t.index)
	return t
}

func (t *categoryTree) index() {
	t.byID = make(map[gid.ID]*ent.Category, len(t.All))
	t.children = map[gid.ID][]*ent.Category{}
	for _, c := range t.All {
		t.byID[c.ID] = c
		var parent gid.ID
		if c.ParentID != nil {
			parent = *c.ParentID
		}
		t.children[parent] = append(t.children[parent], c)
	}
	for _, list := range t.children {
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].Position != list[j].Position {
				return list[i].Position < list[j].Position
			}
			return list[i].Name < list[j].Name
		})
	}
}

// descendants returns id and the IDs of every category below it.
func (t *categoryTree) descendants(id gid.ID) []gid.ID {
	c, ok := t.byID[id]
	if !ok {
		return nil
	}
	var out []gid.ID
	for _, d := range t.All {
		if strings.HasPrefix(d.Path, c.Path) {
			out = append(out, d.ID)
		}
	}
	return out
}

func (s *Service) tree(ctx context.Context) (*categoryTree, error) {
	l := loadersFrom(ctx)
	if l != nil {
		// Sibling resolvers ask at the same moment; one loads, the rest
		// wait for it.
		l.categoriesMu.Lock()
		defer l.categoriesMu.Unlock()
		if l.categories != nil {
			return l.categories, nil
		}
	}
	t, err := cached(ctx, s, "categories", false, nil, func() (*categoryTree, error) {
		all, err := s.client.Category.Query().Order(category.ByPath()).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("load categories: %w", err)
		}
		return &categoryTree{All: all}, nil
	})
	if err != nil {
		return nil, err
	}
	t = t.indexed()
	if l != nil {
		l.categories = t
	}
	return t, nil
}

// Categories returns the root categories in display order.
func (s *Service) Categories(ctx context.Context) ([]*ent.Category, error) {
	t, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	return t.children[""], nil
}

// Category returns one category.
func (s *Service) Category(ctx context.Context, id gid.ID) (*ent.Category, error) {
	t, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	if c, ok := t.byID[id]; ok {
		return c, nil
	}
	return nil, ErrCategoryNotFound
}

// Children returns the categories directly below id.
func (s *Service) Children(ctx context.Context, id gid.ID) ([]*ent.Category, error) {
	t, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	return t.children[id], nil
}

// Ancestors returns the chain from the root down to c's parent, for
// breadcrumbs.
func (s *Service) Ancestors(ctx context.Context, c *ent.Category) ([]*ent.Category, error) {
	t, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	var out []*ent.Category
	for _, id := range strings.Split(strings.Trim(c.Path, "/"), "/") {
		if a, ok := t.byID[gid.ID(id)]; ok && a.ID != c.ID {
			out = append(out, a)
		}
	}
	return out, nil
}
