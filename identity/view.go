package identity

import (
	"context"
	"reflect"
	"sync"

	"frontdesk/gid"
)

// ViewRule is one domain's answer to "may the viewer see this object?" for
// one type it owns. Each domain declares a rule for every type it shows
// (its ViewRules function); the GraphQL layer applies them to every object
// any field returns (queries, node/nodes, edges, connections, payloads,
// subscriptions, webhook payloads), so no read path can skip them, and a
// type the schema can return without a rule stops the server at start-up.
//
// Rules decide reads. Actions (mutations, jobs) are checked with Require
// in the domain function that performs them.
type ViewRule struct {
	// Type is the Go type of the objects, *ent.Order for instance.
	Type reflect.Type
	// Can reports whether the viewer may see obj (a value of Type). It is
	// nil for a public type: everyone sees every object.
	Can func(ctx context.Context, obj any) bool
	// Parent names the GraphQL type an object inherits its visibility
	// from: an order's lines are visible to whoever sees the order. When
	// a field of Parent returns the object, the parent has already passed
	// its own rule and Can is not asked.
	Parent string
	// Cacheable promises that Can's answer depends only on the object and
	// on whether the viewer manages the catalog, and that the object
	// changes only with the catalog version: the catalog's response cache
	// may keep a response made only of cacheable types.
	Cacheable bool
}

// Rule declares who may see objects of type T.
func Rule[T any](can func(ctx context.Context, obj *T) bool) ViewRule {
	return ViewRule{Type: reflect.TypeFor[*T](), Can: func(ctx context.Context, obj any) bool {
		o, ok := obj.(*T)
		return ok && o != nil && can(ctx, o)
	}}
}

// Public declares that everyone may see every object of type T.
func Public[T any]() ViewRule { return ViewRule{Type: reflect.TypeFor[*T]()} }

// Within marks r as inheriting its visibility from the GraphQL type
// parent when a field of parent returns the object.
func (r ViewRule) Within(parent string) ViewRule {
	r.Parent = parent
	return r
}

// Cached marks r as cacheable by the catalog's response cache (see
// ViewRule.Cacheable).
func (r ViewRule) Cached() ViewRule {
	r.Cacheable = true
	return r
}

// Grants are the objects a domain function let the viewer see in one
// operation on the strength of something other than who they are: a
// manage or order token, a hold they just took, a session they just
// revoked. The view rules of those types accept a granted object.
// They also remember the rules' answers that cost a query (Remember).
type Grants struct {
	mu   sync.Mutex
	ids  map[gid.ID]struct{}
	memo map[string]*answer
}

// answer is one remembered answer; once makes rows that race to the same
// key (a list's items resolve concurrently) wait for one f.
type answer struct {
	once sync.Once
	ok   bool
}

// Remember returns the answer f gave for key earlier in this operation,
// or asks f once: a rule that reads a row to decide (is this practitioner
// the viewer?) reads it once per operation, not once per object. Outside
// an operation it asks f.
func Remember(ctx context.Context, key string, f func() bool) bool {
	g, _ := ctx.Value(grantsKey{}).(*Grants)
	if g == nil {
		return f()
	}
	g.mu.Lock()
	if g.memo == nil {
		g.memo = map[string]*answer{}
	}
	a := g.memo[key]
	if a == nil {
		a = &answer{}
		g.memo[key] = a
	}
	g.mu.Unlock()
	a.once.Do(func() { a.ok = f() })
	return a.ok
}

type grantsKey struct{}

// WithGrants returns ctx carrying g. The GraphQL layer makes one Grants
// per operation.
func WithGrants(ctx context.Context, g *Grants) context.Context {
	return context.WithValue(ctx, grantsKey{}, g)
}

// Grant records that the viewer may see the object id for the rest of the
// operation, because the calling domain function has just checked a
// capability for it (a token) or performed an action on it for them. It
// does nothing outside an operation.
func Grant(ctx context.Context, id gid.ID) {
	g, _ := ctx.Value(grantsKey{}).(*Grants)
	if g == nil || id == "" {
		return
	}
	g.mu.Lock()
	if g.ids == nil {
		g.ids = map[gid.ID]struct{}{}
	}
	g.ids[id] = struct{}{}
	g.mu.Unlock()
}

// Granted reports whether Grant recorded id in this operation.
func Granted(ctx context.Context, id gid.ID) bool {
	g, _ := ctx.Value(grantsKey{}).(*Grants)
	if g == nil || id == "" {
		return false
	}
	g.mu.Lock()
	_, ok := g.ids[id]
	g.mu.Unlock()
	return ok
}
