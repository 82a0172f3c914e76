package identity

import (
	"context"
	"fmt"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/apikey"
	"frontdesk/ent/user"
	"frontdesk/gid"
)

// ErrCannotAct is returned by ActingViewer for a user who can no longer
// act: gone or deactivated, or whose API key was revoked or expired.
var ErrCannotAct = fmt.Errorf("identity: the owner can no longer act")

// ActingViewer is the viewer a background task acts as on a user's behalf
// (a webhook payload shaped for its endpoint's owner): their current
// role, narrowed to their API key's scopes when keyID is set. It reads
// through client, which may be a transaction's.
func ActingViewer(ctx context.Context, client *ent.Client, userID gid.ID, keyID *gid.ID, now time.Time) (*Viewer, error) {
	u, err := client.User.Get(ctx, userID)
	if ent.IsNotFound(err) {
		return nil, fmt.Errorf("%w: the user no longer exists", ErrCannotAct)
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	if u.DeactivatedAt != nil {
		return nil, fmt.Errorf("%w: the user was deactivated", ErrCannotAct)
	}
	v := &Viewer{UserID: u.ID, Role: Role(u.Role)}
	if keyID == nil {
		return v, nil
	}
	k, err := client.APIKey.Query().Where(apikey.ID(*keyID), apikey.CreatorID(userID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, fmt.Errorf("%w: the API key no longer exists", ErrCannotAct)
	}
	if err != nil {
		return nil, fmt.Errorf("load API key: %w", err)
	}
	if k.RevokedAt != nil || (k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) {
		return nil, fmt.Errorf("%w: the API key was revoked or expired", ErrCannotAct)
	}
	v.APIKeyID = k.ID
	v.Scopes = permissions(k.Scopes)
	return v, nil
}

// AdminEmails lists the addresses of active admins, for operator notices.
func AdminEmails(ctx context.Context, client *ent.Client) ([]string, error) {
	out, err := client.User.Query().Where(user.RoleEQ(user.RoleADMIN), user.DeactivatedAtIsNil()).
		Order(ent.Asc(user.FieldCreatedAt)).Select(user.FieldEmail).Strings(ctx)
	if err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	return out, nil
}
