package graph

import (
	"context"

	"frontdesk/ent"
	"frontdesk/errcode"
	"frontdesk/gid"
)

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
	return n, nil // the view rules (authz.go) hide what the viewer may not see
}

// nodes loads several objects in one query per type, keeping the order
// asked for; an entry that is missing is null, one the viewer may not see
// null with a NOT_FOUND error at its index (authz.go).
func (r *Resolver) nodes(ctx context.Context, ids []gid.ID) ([]ent.Noder, error) {
	found, err := r.Client.Noders(ctx, ids, ent.WithNodeType(ent.TableOf))
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	out := make([]ent.Noder, len(ids))
	copy(out, found)
	return out, nil
}
