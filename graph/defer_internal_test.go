package graph

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// TestNewDeferredGroup checks that an object's @defer group skips its path
// only for operations whose text cannot defer anything.
func TestNewDeferredGroup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string
		want  bool // the full group, with its path
	}{
		{"no defer", `{ products(first: 2) { edges { node { id } } } }`, false},
		{"@defer", `{ products(first: 2) { edges { node { id ... @defer { title } } } } }`, true},
		{"@ defer with a space", `{ a { ... @ defer { b } } }`, true},
		{"the word anywhere", `query deferred { a }`, true},
		{"no text at hand", ``, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{RawQuery: tc.query})
			g := newDeferredGroup(ctx)
			if full := g.Defers != nil && g.FieldSet != nil; full != tc.want {
				t.Fatalf("full group %v, want %v", full, tc.want)
			}
			if g.Context != ctx {
				t.Fatal("the group must carry the object's context")
			}
		})
	}
	if g := newDeferredGroup(context.Background()); g.Defers == nil {
		t.Fatal("without an operation context the group must be the full one")
	}
}
