package identity

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"frontdesk/ent"
)

// CanViewUser reports whether the viewer may see a user at all: their own
// account, or any account for staff who manage users. Everyone else gets
// NOT_FOUND, so user IDs cannot be probed; node(id:) applies this too.
func CanViewUser(ctx context.Context, u *ent.User) bool {
	v := ViewerFrom(ctx)
	return v != nil && (v.UserID == u.ID || v.Can(ManageUsers))
}

// CanViewContact reports whether the viewer may read a user's email and
// phone: the user themself or staff who manage users. Other domains that
// expose a user (a practitioner on an appointment) go through this too.
func CanViewContact(ctx context.Context, u *ent.User) bool {
	return CanViewUser(ctx, u)
}

// MarshalGQL writes the role as a GraphQL enum value.
func (r Role) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(r))) }

// UnmarshalGQL reads a GraphQL enum value.
func (r *Role) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || !slices.Contains(AllRoles, Role(s)) {
		return fmt.Errorf("%v is not a valid Role", v)
	}
	*r = Role(s)
	return nil
}

// MarshalGQL writes the permission as a GraphQL enum value.
func (p Permission) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(p))) }

// UnmarshalGQL reads a GraphQL enum value.
func (p *Permission) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || !slices.Contains(AllPermissions, Permission(s)) {
		return fmt.Errorf("%v is not a valid Permission", v)
	}
	*p = Permission(s)
	return nil
}
