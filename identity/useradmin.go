package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/onetimetoken"
	"frontdesk/ent/user"
	"frontdesk/errcode"
)

// setPasswordTokenTTL is how long the set-password link of an account
// created without a password stays valid. It is longer than a reset
// link's hour because an operator hands it to a colleague, who may not
// open it at once.
const setPasswordTokenTTL = 72 * time.Hour

// CreateUserInput is an account made by an operator (`frontdesk users
// create`) rather than by its owner signing up.
type CreateUserInput struct {
	Email string
	Name  string
	Role  Role
	// Password is the account's password. Empty means none: the result
	// then carries a one-time link where the owner sets one.
	Password string
}

// CreatedUser is a new account and, when it was created without a
// password, its one-time set-password link.
type CreatedUser struct {
	User *ent.User
	// SetPasswordLink is AppURL/reset-password?token=…, valid for
	// SetPasswordExpires; empty when a password was given.
	SetPasswordLink    string
	SetPasswordExpires time.Time
}

// ParseRole reads a role name, ignoring case.
func ParseRole(s, field string) (Role, error) {
	r := Role(strings.ToUpper(strings.TrimSpace(s)))
	if !slices.Contains(AllRoles, r) {
		names := make([]string, len(AllRoles))
		for i, r := range AllRoles {
			names[i] = string(r)
		}
		return "", errcode.Invalidf(errcode.Invalid, field, fmt.Sprintf("unknown role %q; the roles are %s", s, strings.Join(names, ", ")))
	}
	return r, nil
}

// CreateUser creates an account of any role for a viewer with
// ManageUsers (the CLI acts as the system). The email must be new: an
// existing account, a guest's included, is never taken over; change its
// role with SetRoleByEmail instead. The account, its set-password token
// and the audit entry are one transaction.
func (s *Service) CreateUser(ctx context.Context, in CreateUserInput) (*CreatedUser, error) {
	if _, err := Require(ctx, ManageUsers); err != nil {
		return nil, err
	}
	var errs errcode.UserErrors
	email, err := ParseEmail(in.Email, "email")
	addErr(&errs, err)
	name, err := cleanName(in.Name, "name")
	addErr(&errs, err)
	if name == "" && err == nil {
		errs = append(errs, errcode.Invalidf(errcode.Required, "name", "give the person's name"))
	}
	role, err := ParseRole(string(in.Role), "role")
	addErr(&errs, err)
	if in.Password != "" {
		addErr(&errs, CheckPasswordPolicy(in.Password, "password"))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	var hash *string
	if in.Password != "" {
		h, err := HashPassword(in.Password, s.opts.Hash)
		if err != nil {
			return nil, err
		}
		hash = &h
	}
	out := &CreatedUser{}
	err = database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		u, err := tx.User.Create().SetEmail(string(email)).SetName(name).SetRole(user.Role(role)).
			SetNillablePasswordHash(hash).Save(ctx)
		if err != nil {
			return err
		}
		out.User = u
		if hash == nil {
			token, err := s.issueTokenWith(ctx, tx.Client(), u, onetimetoken.PurposeRESET_PASSWORD, setPasswordTokenTTL)
			if err != nil {
				return err
			}
			out.SetPasswordLink = s.link("/reset-password", token)
			out.SetPasswordExpires = s.now().Add(setPasswordTokenTTL)
		}
		return Audit(ctx, tx.Client(), AuditRecord{Action: "user.create", TargetType: "User", TargetID: string(u.ID),
			After: map[string]any{"email": u.Email, "name": u.Name, "role": role, "password": hash != nil}})
	})
	if ent.IsConstraintError(err) {
		return nil, errcode.Invalidf(errcode.Taken, "email", fmt.Sprintf("an account with the email %s exists; change its role with set-role", email))
	}
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return out, nil
}

// SetRoleByEmail changes the role of the account with this email, for a
// viewer with ManageUsers; it is the operator's way (`frontdesk users
// set-role`) to promote the first admin or to recover when no admin can
// sign in. Unlike SetUserRole it has no "not your own" rule: the system
// has no account. old is the role before; when it equals role nothing is
// written. Cached credentials are dropped so the role applies at once.
func (s *Service) SetRoleByEmail(ctx context.Context, emailIn string, roleIn Role) (u *ent.User, old Role, err error) {
	if _, err := Require(ctx, ManageUsers); err != nil {
		return nil, "", err
	}
	var errs errcode.UserErrors
	email, err := ParseEmail(emailIn, "email")
	addErr(&errs, err)
	role, err := ParseRole(string(roleIn), "role")
	addErr(&errs, err)
	if len(errs) > 0 {
		return nil, "", errs
	}
	err = database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		// The row lock keeps two concurrent changes from auditing the
		// same "before". SQLite has no FOR UPDATE and needs none: its
		// transactions hold the write lock.
		q := tx.User.Query().Where(user.Email(string(email)))
		q.Modify(func(s *entsql.Selector) {
			if s.Dialect() == dialect.MySQL {
				s.ForUpdate()
			}
		})
		found, err := q.Only(ctx)
		if ent.IsNotFound(err) {
			return errcode.Invalidf(errcode.Missing, "email", fmt.Sprintf("no account has the email %s", email))
		}
		if err != nil {
			return fmt.Errorf("find user: %w", err)
		}
		u, old = found, Role(found.Role)
		if old == role {
			return nil
		}
		if u, err = tx.User.UpdateOne(found).SetRole(user.Role(role)).Save(ctx); err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		return Audit(ctx, tx.Client(), AuditRecord{Action: "user.set_role", TargetType: "User", TargetID: string(u.ID),
			Before: map[string]any{"role": old}, After: map[string]any{"role": role}})
	})
	if err != nil {
		return nil, "", err
	}
	if old == role {
		return u, old, nil
	}
	return u, old, s.invalidateUser(ctx, u.ID)
}

// BootstrapAdmin creates the first ADMIN from deployment settings
// (FRONTDESK_BOOTSTRAP_ADMIN_*) and reports whether it did. It does
// nothing when any ADMIN exists. Replicas that start together all try:
// the unique index on users.email lets exactly one insert win, and the
// others find the winner's account and do nothing. An existing account
// with the email that is not an admin is never promoted (whoever
// registered it first would own an admin account): that is an error
// naming `frontdesk users set-role`.
func (s *Service) BootstrapAdmin(ctx context.Context, emailIn, name, password string) (bool, error) {
	ctx = SystemContext(ctx)
	email, err := ParseEmail(emailIn, "FRONTDESK_BOOTSTRAP_ADMIN_EMAIL")
	if err != nil {
		return false, err
	}
	admins, err := s.client.User.Query().Where(user.RoleEQ(user.RoleADMIN)).Exist(ctx)
	if err != nil {
		return false, fmt.Errorf("bootstrap admin: look for admins: %w", err)
	}
	if admins {
		return false, nil
	}
	if name == "" {
		name = "Administrator"
	}
	_, err = s.CreateUser(ctx, CreateUserInput{Email: string(email), Name: name, Role: RoleAdmin, Password: password})
	if err == nil {
		return true, nil
	}
	if ue, ok := errcode.AsUserErrors(err); !ok || len(ue) != 1 || ue[0].Code != errcode.Taken {
		return false, fmt.Errorf("bootstrap admin %s: %w", email, err)
	}
	// The email has an account: another replica's bootstrap (fine), or
	// someone else's account (refused).
	u, err := s.client.User.Query().Where(user.Email(string(email))).Only(ctx)
	if err != nil {
		return false, fmt.Errorf("bootstrap admin: read %s: %w", email, err)
	}
	if u.Role != user.RoleADMIN {
		return false, fmt.Errorf("bootstrap admin: an account with the email %s exists with the role %s and is not promoted automatically; "+
			"check it is yours, then run: frontdesk users set-role %s ADMIN", email, u.Role, email)
	}
	return false, nil
}
