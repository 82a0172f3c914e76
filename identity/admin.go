package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"entgo.io/contrib/entgql"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/user"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/text"
)

// UserFilter narrows the admin user list.
type UserFilter struct {
	// Search matches part of the email or name, ignoring case.
	Search *string
	Role   *Role
}

// Users lists accounts, newest first, for viewers with ManageUsers.
func (s *Service) Users(ctx context.Context, after *ent.Cursor, first *int, before *ent.Cursor, last *int, f UserFilter) (*ent.UserConnection, error) {
	if _, err := Require(ctx, ManageUsers); err != nil {
		return nil, err
	}
	q := s.client.User.Query()
	if f.Search != nil && strings.TrimSpace(*f.Search) != "" {
		term := strings.TrimSpace(*f.Search)
		q.Where(user.Or(user.EmailContains(strings.ToLower(term)), user.NameContainsFold(term)))
	}
	if f.Role != nil {
		q.Where(user.RoleEQ(user.Role(*f.Role)))
	}
	return q.Paginate(ctx, after, first, before, last,
		ent.WithUserOrder(&ent.UserOrder{Direction: entgql.OrderDirectionDesc, Field: ent.DefaultUserOrder.Field}))
}

// SetUserRole changes a user's role. Admins cannot change their own, so
// the last admin cannot lock everyone out by mistake. Cached credentials
// of the user are invalidated, so the new role applies at once.
func (s *Service) SetUserRole(ctx context.Context, id gid.ID, role Role) (*ent.User, error) {
	v, err := Require(ctx, ManageUsers)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(AllRoles, role) {
		return nil, errcode.Invalidf(errcode.Invalid, "role", "unknown role")
	}
	if id == v.UserID {
		return nil, errcode.Invalidf(errcode.Invalid, "userId", "you cannot change your own role; ask another admin")
	}
	u, err := s.client.User.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, ErrUserNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	old := Role(u.Role)
	if old == role {
		return u, nil
	}
	err = database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		if u, err = tx.User.UpdateOneID(id).SetRole(user.Role(role)).Save(ctx); err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		return Audit(ctx, tx.Client(), AuditRecord{Action: "user.set_role", TargetType: "User", TargetID: string(id),
			Before: map[string]any{"role": old}, After: map[string]any{"role": role}})
	})
	if err != nil {
		return nil, err
	}
	return u, s.invalidateUser(ctx, id)
}

// DeactivateUser shuts an account: its sessions are revoked and its
// sessions and API keys stop working on every replica at once.
func (s *Service) DeactivateUser(ctx context.Context, id gid.ID) (*ent.User, error) {
	v, err := Require(ctx, ManageUsers)
	if err != nil {
		return nil, err
	}
	if id == v.UserID {
		return nil, errcode.Invalidf(errcode.Invalid, "userId", "you cannot deactivate your own account")
	}
	u, err := s.client.User.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, ErrUserNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	if u.DeactivatedAt != nil {
		return u, nil
	}
	now := s.now()
	err = database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		if u, err = tx.User.UpdateOneID(id).SetDeactivatedAt(now).Save(ctx); err != nil {
			return fmt.Errorf("deactivate user: %w", err)
		}
		return Audit(ctx, tx.Client(), AuditRecord{Action: "user.deactivate", TargetType: "User", TargetID: string(id),
			Before: map[string]any{"deactivated": false}, After: map[string]any{"deactivated": true}})
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.revokeAllSessions(ctx, id, ""); err != nil {
		return nil, err
	}
	return u, s.invalidateUser(ctx, id)
}

// APIKeyInput describes a new partner API key.
type APIKeyInput struct {
	Name      string
	Scopes    []Permission
	ExpiresAt *time.Time
}

// CreatedAPIKey is a new key with its token, which is shown only once.
type CreatedAPIKey struct {
	Key   *ent.APIKey
	Token string
}

// CreateAPIKey issues a partner key. Its scopes must be permissions the
// creator holds; at use the key is limited to scopes ∩ creator's current
// role. Keys cannot create keys.
func (s *Service) CreateAPIKey(ctx context.Context, in APIKeyInput) (*CreatedAPIKey, error) {
	v, err := Require(ctx, ManageAPIKeys)
	if err != nil {
		return nil, err
	}
	if v.APIKeyID != "" || v.System {
		return nil, ErrForbidden
	}
	var errs errcode.UserErrors
	name := text.Check(&errs, text.SingleLine, "name", in.Name, 100)
	if len(errs) == 0 && name == "" {
		errs = append(errs, errcode.Invalidf(errcode.Required, "name", "name the key after the partner or integration"))
	}
	if len(in.Scopes) == 0 {
		errs = append(errs, errcode.Invalidf(errcode.Required, "scopes", "give the key at least one scope"))
	}
	scopes := make([]string, 0, len(in.Scopes))
	for _, p := range in.Scopes {
		if !v.Can(p) {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "scopes", fmt.Sprintf("you cannot grant %s: your role does not have it", p)))
			continue
		}
		if !slices.Contains(scopes, string(p)) {
			scopes = append(scopes, string(p))
		}
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.now()) {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "expiresAt", "the expiry must be in the future"))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	token := newToken(apiKeyPrefix)
	var k *ent.APIKey
	err = database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		c := tx.APIKey.Create().SetName(name).SetPrefix(token[:visiblePrefLen]).
			SetTokenHash(hashToken(token)).SetScopes(scopes).SetCreatorID(v.UserID)
		if in.ExpiresAt != nil {
			c.SetExpiresAt(in.ExpiresAt.UTC().Truncate(time.Microsecond))
		}
		if k, err = c.Save(ctx); err != nil {
			return fmt.Errorf("create API key: %w", err)
		}
		return Audit(ctx, tx.Client(), AuditRecord{Action: "api_key.create", TargetType: "ApiKey", TargetID: string(k.ID),
			After: map[string]any{"name": name, "scopes": scopes, "prefix": k.Prefix}})
	})
	if err != nil {
		return nil, err
	}
	return &CreatedAPIKey{Key: k, Token: token}, nil
}

// RevokeAPIKey stops a key at once, on every replica.
func (s *Service) RevokeAPIKey(ctx context.Context, id gid.ID) (*ent.APIKey, error) {
	if _, err := Require(ctx, ManageAPIKeys); err != nil {
		return nil, err
	}
	k, err := s.client.APIKey.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, ErrAPIKeyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load API key: %w", err)
	}
	if k.RevokedAt != nil {
		return k, nil
	}
	err = database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		if k, err = tx.APIKey.UpdateOneID(id).SetRevokedAt(s.now()).Save(ctx); err != nil {
			return fmt.Errorf("revoke API key: %w", err)
		}
		return Audit(ctx, tx.Client(), AuditRecord{Action: "api_key.revoke", TargetType: "ApiKey", TargetID: string(id),
			Before: map[string]any{"revoked": false}, After: map[string]any{"revoked": true}})
	})
	if err != nil {
		return nil, err
	}
	return k, s.invalidate(ctx, k.TokenHash)
}

// APIKeys lists keys, newest first, revoked ones included.
func (s *Service) APIKeys(ctx context.Context, after *ent.Cursor, first *int, before *ent.Cursor, last *int) (*ent.APIKeyConnection, error) {
	if _, err := Require(ctx, ManageAPIKeys); err != nil {
		return nil, err
	}
	return s.client.APIKey.Query().Paginate(ctx, after, first, before, last,
		ent.WithAPIKeyOrder(&ent.APIKeyOrder{Direction: entgql.OrderDirectionDesc, Field: ent.DefaultAPIKeyOrder.Field}))
}

// APIKeyCreator returns who created a key, for viewers with ManageAPIKeys.
func (s *Service) APIKeyCreator(ctx context.Context, k *ent.APIKey) (*ent.User, error) {
	if _, err := Require(ctx, ManageAPIKeys); err != nil {
		return nil, err
	}
	return s.client.User.Get(ctx, k.CreatorID)
}
