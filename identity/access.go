// Package identity knows who is calling and what they may do: accounts,
// sessions, partner API keys, roles and permissions.
//
// Who may do what is the one table rolePermissions below; an API key has
// only the scopes it was created with. Domain functions check actions with
// Require (or the viewer's ownership of a row) before they change
// anything, so a resolver, a webhook handler and a job obey the same rule.
// Who may see what is one ViewRule per type (view.go), declared by the
// owning domain and applied by the GraphQL layer to every object any field
// returns; docs/architecture.md says where each check lives.
package identity

import (
	"context"
	"slices"
	"sync/atomic"

	"frontdesk/errcode"
	"frontdesk/gid"
)

// Role is a staff role. Customers and patients have no role.
type Role string

// Roles.
const (
	RoleCustomer     Role = "CUSTOMER"
	RoleStaff        Role = "STAFF"
	RolePractitioner Role = "PRACTITIONER"
	RoleAdmin        Role = "ADMIN"
)

// Permission is a named capability. Roles grant permissions; API keys are
// limited to the scopes (permissions) they were created with.
type Permission string

// Permissions.
const (
	ManageCatalog  Permission = "MANAGE_CATALOG"
	ManageOrders   Permission = "MANAGE_ORDERS"
	ManageBookings Permission = "MANAGE_BOOKINGS"
	ViewIntake     Permission = "VIEW_PATIENT_INTAKE"
	ManageUsers    Permission = "MANAGE_USERS"
	ManageJobs     Permission = "MANAGE_JOBS"
	ViewMessages   Permission = "VIEW_SENT_MESSAGES"
	// ViewMessageBodies reads the subject and body of sent messages on top
	// of ViewMessages. Bodies are stored with their links' tokens redacted,
	// but they still hold what was said to a patient, so front-desk staff
	// see only the envelope (kind, recipient, transport, time).
	ViewMessageBodies Permission = "VIEW_MESSAGE_BODIES"
	ViewAuditLog      Permission = "VIEW_AUDIT_LOG"
	ManageSettings    Permission = "MANAGE_SETTINGS"
	ManageAPIKeys     Permission = "MANAGE_API_KEYS"
	// ManageWebhooks is the `webhooks` scope: an API key holding it
	// manages the webhook endpoints it created, and only those.
	ManageWebhooks Permission = "MANAGE_WEBHOOKS"
)

// AllPermissions lists every permission, in declaration order.
var AllPermissions = []Permission{ManageCatalog, ManageOrders, ManageBookings, ViewIntake,
	ManageUsers, ManageJobs, ViewMessages, ViewMessageBodies, ViewAuditLog, ManageSettings, ManageAPIKeys, ManageWebhooks}

// AllRoles lists every role.
var AllRoles = []Role{RoleCustomer, RoleStaff, RolePractitioner, RoleAdmin}

// rolePermissions is the one table of who may do what.
var rolePermissions = map[Role][]Permission{
	RoleCustomer:     nil,
	RolePractitioner: {ManageBookings, ViewIntake},
	RoleStaff:        {ManageCatalog, ManageOrders, ManageBookings, ViewIntake, ViewMessages},
	RoleAdmin: {ManageCatalog, ManageOrders, ManageBookings, ViewIntake, ManageUsers,
		ManageJobs, ViewMessages, ViewMessageBodies, ViewAuditLog, ManageSettings, ManageAPIKeys, ManageWebhooks},
}

// PermissionsOf returns the permissions a role grants.
func PermissionsOf(r Role) []Permission { return slices.Clone(rolePermissions[r]) }

// Viewer is the authenticated caller of a request or job.
type Viewer struct {
	UserID gid.ID
	Role   Role
	// SessionID is set for session (cookie or bearer) authentication.
	SessionID gid.ID
	// APIKeyID and Scopes are set for partner API keys: the key may use
	// only the permissions in Scopes that its creator's role also grants.
	APIKeyID gid.ID
	Scopes   []Permission
	// System marks internal callers (workers, webhooks) acting on their
	// own authority rather than a person's.
	System bool
}

// Can reports whether the viewer holds a permission.
func (v *Viewer) Can(p Permission) bool {
	if v == nil {
		return false
	}
	if v.System {
		return true
	}
	if !slices.Contains(rolePermissions[v.Role], p) {
		return false
	}
	if v.APIKeyID != "" && !slices.Contains(v.Scopes, p) {
		return false
	}
	return true
}

// Permissions lists what the viewer may do now, in declaration order:
// its role's permissions, narrowed to the key's scopes when it signed in
// with an API key. It is what viewer { permissions } shows, so a partner
// sees what its key can do rather than its creator's whole role.
func (v *Viewer) Permissions() []Permission {
	if v == nil {
		return nil
	}
	if v.System {
		return slices.Clone(AllPermissions)
	}
	var out []Permission
	for _, p := range AllPermissions {
		if v.Can(p) {
			out = append(out, p)
		}
	}
	return out
}

// ClinicWide reports whether the viewer's booking permissions
// (MANAGE_BOOKINGS, VIEW_PATIENT_INTAKE) reach every practitioner's
// appointments. A PRACTITIONER holds the same permissions as staff, but
// for the appointments booked with them only: the staff appointment
// search and node(id:) narrow what such a viewer sees to those. Staff,
// admins and the system see the whole clinic.
func (v *Viewer) ClinicWide() bool {
	return v != nil && (v.System || v.Role != RolePractitioner)
}

// IsStaff reports whether the viewer is a member of staff (any role but
// customer) or the system.
func (v *Viewer) IsStaff() bool {
	return v != nil && (v.System || (v.Role != "" && v.Role != RoleCustomer))
}

type viewerKey struct{}

// WithViewer returns a context carrying v.
func WithViewer(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerFrom returns the viewer in ctx, or nil for anonymous callers.
// A request that signs in (register, signIn) sees the new viewer for the
// rest of its fields, so the payload's user is readable by its owner.
func ViewerFrom(ctx context.Context) *Viewer {
	if slot, ok := ctx.Value(signedInKey{}).(*signedInSlot); ok {
		if v := slot.v.Load(); v != nil {
			return v
		}
	}
	v, _ := ctx.Value(viewerKey{}).(*Viewer)
	return v
}

// signedInSlot is set by the HTTP middleware for each request and filled
// when the request signs in.
type signedInSlot struct{ v atomic.Pointer[Viewer] }

type signedInKey struct{}

// SystemContext marks ctx as acting with the system's authority, for
// workers and verified webhooks.
func SystemContext(ctx context.Context) context.Context {
	return WithViewer(ctx, &Viewer{System: true})
}

// Errors returned by the checks; the GraphQL layer maps their codes.
var (
	ErrUnauthenticated = errcode.New(errcode.Unauthenticated, "sign in to do this")
	ErrForbidden       = errcode.New(errcode.Forbidden, "you do not have permission to do this")
)

// RequireViewer returns the signed-in viewer or ErrUnauthenticated.
func RequireViewer(ctx context.Context) (*Viewer, error) {
	v := ViewerFrom(ctx)
	if v == nil {
		return nil, ErrUnauthenticated
	}
	return v, nil
}

// Require checks that the viewer holds p: anonymous callers get
// ErrUnauthenticated, others without p get ErrForbidden.
func Require(ctx context.Context, p Permission) (*Viewer, error) {
	v, err := RequireViewer(ctx)
	if err != nil {
		return nil, err
	}
	if !v.Can(p) {
		return nil, ErrForbidden
	}
	return v, nil
}
