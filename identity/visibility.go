package identity

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"frontdesk/ent"
	"frontdesk/ent/apikey"
	"frontdesk/ent/session"
	"frontdesk/gid"
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

// UserPermissions returns the permissions to show for u: for the viewer's
// own account what the viewer may do now (an API key's effective scopes,
// not its creator's role), for anyone else what their role grants.
func UserPermissions(ctx context.Context, u *ent.User) []Permission {
	if v := ViewerFrom(ctx); v != nil && !v.System && v.UserID == u.ID {
		return v.Permissions()
	}
	return PermissionsOf(Role(u.Role))
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

// ViewRules are identity's read rules, one per type it shows (see
// ViewRule): users to themselves, to staff who manage users and to the
// holder of a link that just verified or reset the account; sessions
// to their user, API keys to their creator and key managers, the audit
// log to its readers.
func ViewRules(client *ent.Client) []ViewRule {
	return []ViewRule{
		Rule(func(ctx context.Context, u *ent.User) bool { return Granted(ctx, u.ID) || CanViewUser(ctx, u) }),
		Rule(func(ctx context.Context, s *ent.Session) bool {
			if v := ViewerFrom(ctx); s.UserID != "" && v != nil && v.UserID == s.UserID {
				return true // the owner column came with the row: no second read
			}
			return CanViewSession(ctx, client, s.ID)
		}),
		Rule(func(ctx context.Context, k *ent.APIKey) bool {
			if v := ViewerFrom(ctx); k.CreatorID != "" && v != nil && v.UserID == k.CreatorID {
				return true
			}
			return CanViewAPIKey(ctx, client, k.ID)
		}),
		Rule(func(ctx context.Context, _ *ent.AuditEntry) bool { return CanViewAuditEntry(ctx) }),
	}
}

// CanViewSession reports whether the viewer may see the session with this
// ID: only its own user, or an admin who has just revoked it (a grant).
func CanViewSession(ctx context.Context, client *ent.Client, id gid.ID) bool {
	v := ViewerFrom(ctx)
	if Granted(ctx, id) {
		return true
	}
	if v == nil || v.UserID == "" {
		return false
	}
	ok, err := client.Session.Query().Where(session.ID(id), session.UserID(v.UserID)).Exist(ctx)
	return err == nil && ok
}

// CanViewAPIKey reports whether the viewer may see the API key with this
// ID: admins who manage API keys, and the user who created it.
func CanViewAPIKey(ctx context.Context, client *ent.Client, id gid.ID) bool {
	v := ViewerFrom(ctx)
	if v.Can(ManageAPIKeys) {
		return true
	}
	if v == nil || v.UserID == "" {
		return false
	}
	ok, err := client.APIKey.Query().Where(apikey.ID(id), apikey.CreatorID(v.UserID)).Exist(ctx)
	return err == nil && ok
}

// CanViewAuditEntry reports whether the viewer may see audit entries:
// admins with VIEW_AUDIT_LOG, as for auditLog.
func CanViewAuditEntry(ctx context.Context) bool { return ViewerFrom(ctx).Can(ViewAuditLog) }
