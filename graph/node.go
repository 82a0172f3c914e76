package graph

import (
	"context"
	"reflect"

	"github.com/99designs/gqlgen/graphql"

	"frontdesk/commerce"
	"frontdesk/ent"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
)

// nodeTypes are the GraphQL types that implement Node. An ent entity whose
// type is not among them is internal and never returned by node/nodes.
var nodeTypes = func() map[string]bool {
	out := map[string]bool{}
	for _, d := range parsedSchema.GetPossibleTypes(parsedSchema.Types["Node"]) {
		out[d.Name] = true
	}
	return out
}()

// public returns n when its type is exposed through the Node interface.
func public(n ent.Noder) ent.Noder {
	if n == nil {
		return nil
	}
	t := reflect.TypeOf(n)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if !nodeTypes[t.Name()] {
		return nil
	}
	return n
}

// visible applies the domains' read rules to an object fetched by ID, so
// node/nodes cannot show what the domain's own queries would hide (a
// draft product to the public, say).
func (r *Resolver) visible(ctx context.Context, n ent.Noder) ent.Noder {
	if n == nil || (r.Catalog != nil && !r.Catalog.Visible(ctx, n)) {
		return nil
	}
	if u, ok := n.(*ent.User); ok && !identity.CanViewUser(ctx, u) {
		return nil
	}
	if o, ok := n.(*ent.Order); ok && !commerce.CanView(ctx, o) {
		return nil
	}
	return n
}

// errNodeNotFound is returned for IDs that are well formed but name no
// object the viewer can see; missing and hidden look the same.
var errNodeNotFound = errcode.New(errcode.NotFound, "no object with this ID")

// node loads one object by global ID. Malformed IDs never reach here: gid
// rejects them while the arguments are parsed.
func (r *Resolver) node(ctx context.Context, id gid.ID) (ent.Noder, error) {
	n, err := r.Client.Noder(ctx, id, ent.WithNodeType(ent.TableOf))
	if ent.IsNotFound(err) {
		return nil, errNodeNotFound
	}
	if err != nil {
		return nil, err
	}
	if n = r.visible(ctx, public(n)); n == nil {
		return nil, errNodeNotFound
	}
	return n, nil
}

// nodes loads several objects in one query per type, keeping the order
// asked for; an entry that is missing or invisible is null with a
// NOT_FOUND error at its index.
func (r *Resolver) nodes(ctx context.Context, ids []gid.ID) ([]ent.Noder, error) {
	found, err := r.Client.Noders(ctx, ids, ent.WithNodeType(ent.TableOf))
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	out := make([]ent.Noder, len(ids))
	for i := range found {
		out[i] = r.visible(ctx, public(found[i]))
		if out[i] == nil && found[i] != nil {
			graphql.AddError(graphql.WithPathContext(ctx, graphql.NewPathWithIndex(i)), errNodeNotFound)
		}
	}
	return out, nil
}
