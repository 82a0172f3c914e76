package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
)

// newDeferredGroup replaces graphql.NewDeferredGroup in the generated
// executor (internal/gqlgenrun rewrites the call). gqlgen makes a group
// for every object it resolves and computes the object's path for it,
// which allocates the path's every segment: a tenth of a cold listing's
// allocations. The group is only used by fields under @defer, so an
// operation whose text cannot contain the directive gets an empty group
// (no field of it is deferred, so nothing reads the path, the field set
// or the map).
func newDeferredGroup(ctx context.Context) graphql.DeferredGroup {
	if mayDefer(ctx) {
		return graphql.NewDeferredGroup(ctx)
	}
	return graphql.DeferredGroup{Context: ctx}
}

// mayDefer reports whether the operation's text may use @defer. Any
// "defer" in it counts (a field or argument named so, a comment), and so
// does an operation without its text at hand: only the fast path must
// be sure.
func mayDefer(ctx context.Context) bool {
	if !graphql.HasOperationContext(ctx) {
		return true
	}
	oc := graphql.GetOperationContext(ctx)
	return oc.RawQuery == "" || strings.Contains(oc.RawQuery, "defer")
}
