package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"time"

	"golang.org/x/crypto/bcrypt"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/onetimetoken"
	"frontdesk/ent/user"
	"frontdesk/errcode"
	"frontdesk/gid"
)

// Lifetimes of emailed links.
const (
	verifyTokenTTL = 48 * time.Hour
	resetTokenTTL  = time.Hour
)

// RegisterInput is a new customer's account.
type RegisterInput struct {
	Email    string
	Password string
	Name     string
	Phone    *string
}

// SignedIn is the result of a flow that starts a session.
type SignedIn struct {
	User    *ent.User
	Session *ent.Session
	// Token is the session's bearer token, shown once.
	Token string
}

// Register creates a customer account with a password and signs it in.
// An email that belongs to a guest account (no password yet) is not taken
// over: its owner is mailed a link to set the password instead.
func (s *Service) Register(ctx context.Context, in RegisterInput) (*SignedIn, error) {
	if err := s.rateLimit(ctx, "register:ip:"+ClientFrom(ctx).IP, s.opts.IPAttempts); err != nil {
		return nil, err
	}
	var errs errcode.UserErrors
	email, err := ParseEmail(in.Email, "email")
	addErr(&errs, err)
	name, err := cleanName(in.Name, "name")
	addErr(&errs, err)
	var phone *string
	if in.Phone != nil && *in.Phone != "" {
		p, err := ParsePhone(*in.Phone, "phone")
		addErr(&errs, err)
		phone = (*string)(&p)
	}
	addErr(&errs, CheckPasswordPolicy(in.Password, "password"))
	if len(errs) > 0 {
		return nil, errs
	}
	hash, err := HashPassword(in.Password, s.opts.Hash)
	if err != nil {
		return nil, err
	}
	existing, err := s.client.User.Query().Where(user.Email(string(email))).Only(ctx)
	switch {
	case err == nil && existing.PasswordHash == nil && existing.DeactivatedAt == nil:
		if err := s.sendResetLink(ctx, existing, "claim_account"); err != nil {
			return nil, err
		}
		return nil, errcode.Invalidf(errcode.Taken, "email", "an account with this email exists from an earlier booking or order; we sent a link to set its password")
	case err == nil:
		return nil, errTaken
	case !ent.IsNotFound(err):
		return nil, fmt.Errorf("find user: %w", err)
	}
	u, err := s.createCustomer(ctx, func(users *ent.UserClient) *ent.UserCreate {
		return users.Create().SetEmail(string(email)).SetName(name).SetNillablePhone(phone).SetPasswordHash(hash)
	})
	if ent.IsConstraintError(err) {
		return nil, errTaken
	}
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	if err := s.sendVerification(ctx, u); err != nil {
		return nil, err
	}
	token, ses, err := s.startSession(ctx, u)
	if err != nil {
		return nil, err
	}
	return &SignedIn{User: u, Session: ses, Token: token}, nil
}

var errTaken = errcode.Invalidf(errcode.Taken, "email", "an account with this email exists; sign in or reset the password")

func addErr(list *errcode.UserErrors, err error) {
	if ue, ok := errcode.AsUserErrors(err); ok {
		*list = append(*list, ue...)
	}
}

// SignIn checks an email and password and starts a session. Every failure
// is ErrInvalidCredentials after the same amount of hashing work, so
// responses reveal neither whether the email has an account nor whether
// it is a guest or deactivated one. Attempts are limited per account and
// per client IP.
func (s *Service) SignIn(ctx context.Context, emailIn, password string) (*SignedIn, error) {
	email, emailErr := ParseEmail(emailIn, "email")
	if err := s.rateLimit(ctx, "signin:ip:"+ClientFrom(ctx).IP, s.opts.IPAttempts); err != nil {
		return nil, err
	}
	accountKey := "signin:account:" + string(email)
	if emailErr == nil {
		if err := s.rateLimit(ctx, accountKey, s.opts.AccountAttempts); err != nil {
			return nil, err
		}
	}
	var u *ent.User
	if emailErr == nil {
		var err error
		u, err = s.client.User.Query().Where(user.Email(string(email))).Only(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return nil, fmt.Errorf("find user: %w", err)
		}
	}
	hash := s.dummyHash
	if u != nil && u.PasswordHash != nil && u.DeactivatedAt == nil {
		hash = *u.PasswordHash
	}
	ok, stale, err := s.verify(password, hash)
	if err != nil {
		return nil, fmt.Errorf("verify password: %w", err)
	}
	if !ok || hash == s.dummyHash {
		return nil, ErrInvalidCredentials
	}
	s.resetRateLimit(ctx, accountKey)
	if stale {
		if err := s.setPassword(ctx, u, password); err != nil {
			return nil, err
		}
	}
	token, ses, err := s.startSession(ctx, u)
	if err != nil {
		return nil, err
	}
	return &SignedIn{User: u, Session: ses, Token: token}, nil
}

// verify checks password against hash, the account's or, when there is
// no usable account, the dummy hash, and makes every check cost the same
// whichever it was. Once legacy bcrypt hashes exist (imported from the
// legacy shop), each check does one argon2id and one bcrypt computation:
// the account's own and a dummy of the other kind. Otherwise a wrong
// password for an imported account would take bcrypt's time and an
// unknown email argon2id's, telling which emails have accounts.
//
// A hash in no accepted format (such as an imported MD5 digest) matches no
// password: it is logged and checked like an unknown email, so the
// account can only be claimed with a password reset.
func (s *Service) verify(password, hash string) (ok, stale bool, err error) {
	ok, stale, err = VerifyPassword(password, hash, s.opts.Hash)
	if errors.Is(err, errBadHash) {
		s.log.Error("a user's password hash is in no accepted format; the user must reset the password (docs/authentication.md)")
		ok, stale, err = false, false, nil
		hash = s.dummyHash
		_, _, _ = VerifyPassword(password, hash, s.opts.Hash)
	}
	if err != nil {
		return false, false, err
	}
	if IsLegacyHash(hash) {
		s.noteLegacy(hash)
		_, _, _ = VerifyPassword(password, s.dummyHash, s.opts.Hash) // argon2id's share of the time
	} else if d := s.legacyDummy.Load(); d != nil {
		_ = bcryptCompare(*d, []byte(password)) // bcrypt's share of the time
	}
	return ok, stale, nil
}

// noteLegacy records that legacy hashes exist, making the dummy bcrypt
// hash at the cost of the one seen (PHP's default 10 when unreadable).
func (s *Service) noteLegacy(hash string) {
	if s.legacyDummy.Load() != nil {
		return
	}
	cost, err := bcrypt.Cost([]byte(hash))
	if err != nil || cost > maxBcryptCost {
		cost = bcrypt.DefaultCost
	}
	d, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		s.log.Error("dummy bcrypt hash", "err", err)
		return
	}
	s.legacyDummy.CompareAndSwap(nil, &d)
}

func (s *Service) setPassword(ctx context.Context, u *ent.User, password string) error {
	hash, err := HashPassword(password, s.opts.Hash)
	if err != nil {
		return err
	}
	if err := s.client.User.UpdateOneID(u.ID).SetPasswordHash(hash).Exec(ctx); err != nil {
		return fmt.Errorf("store password: %w", err)
	}
	u.PasswordHash = &hash
	return nil
}

// Me returns the viewer's own account (for an API key, its creator).
func (s *Service) Me(ctx context.Context) (*ent.User, error) {
	v := ViewerFrom(ctx)
	if v == nil || v.UserID == "" {
		return nil, nil
	}
	u, err := s.userActive(ctx, v.UserID)
	if errors.Is(err, ErrUnauthenticated) {
		return nil, nil
	}
	return u, err
}

// ProfileInput changes the viewer's profile; nil fields stay as they are.
// An empty phone removes it. A new email must be verified again.
type ProfileInput struct {
	Name  *string
	Email *string
	Phone *string
}

// ProfileSink hears of a changed name, email or phone inside the
// transaction that changes it, so what it owes to other systems (the EHR's
// copy of a patient) is queued atomically with the change.
type ProfileSink interface {
	ProfileChanged(ctx context.Context, tx *ent.Tx, u *ent.User) error
}

// OnProfileChange adds a sink. Call it at start-up, before serving.
func (s *Service) OnProfileChange(sink ProfileSink) { s.profileSinks = append(s.profileSinks, sink) }

// CustomerSink hears of a new customer account (a registration) inside
// the transaction that creates it. Guests' orders and bookings create no
// account, and bulk imports tell no sink (docs/webhooks.md).
type CustomerSink interface {
	CustomerCreated(ctx context.Context, tx *ent.Tx, u *ent.User) error
}

// OnCustomerCreated adds a sink. Call it at start-up, before serving.
func (s *Service) OnCustomerCreated(sink CustomerSink) {
	s.customerSinks = append(s.customerSinks, sink)
}

// createCustomer saves the user build makes in a transaction with the
// customer sinks, so what they owe commits with the account.
func (s *Service) createCustomer(ctx context.Context, build func(*ent.UserClient) *ent.UserCreate) (*ent.User, error) {
	if len(s.customerSinks) == 0 {
		return build(s.client.User).Save(ctx)
	}
	var u *ent.User
	err := database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		var err error
		if u, err = build(tx.User).Save(ctx); err != nil {
			return err
		}
		for _, sink := range s.customerSinks {
			if err := sink.CustomerCreated(ctx, tx, u); err != nil {
				return fmt.Errorf("customer created: %w", err)
			}
		}
		return nil
	})
	return u, err
}

// UpdateProfile changes the viewer's own profile.
func (s *Service) UpdateProfile(ctx context.Context, in ProfileInput) (*ent.User, error) {
	v, err := RequireViewer(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.userActive(ctx, v.UserID)
	if err != nil {
		return nil, err
	}
	var changes []func(*ent.UserUpdateOne)
	var errs errcode.UserErrors
	if in.Name != nil {
		name, err := cleanName(*in.Name, "name")
		addErr(&errs, err)
		changes = append(changes, func(upd *ent.UserUpdateOne) { upd.SetName(name) })
	}
	if in.Phone != nil {
		if *in.Phone == "" {
			changes = append(changes, func(upd *ent.UserUpdateOne) { upd.ClearPhone() })
		} else {
			p, err := ParsePhone(*in.Phone, "phone")
			addErr(&errs, err)
			changes = append(changes, func(upd *ent.UserUpdateOne) { upd.SetPhone(string(p)) })
		}
	}
	emailChanged := false
	if in.Email != nil {
		e, err := ParseEmail(*in.Email, "email")
		addErr(&errs, err)
		if err == nil && string(e) != u.Email {
			emailChanged = true
			changes = append(changes, func(upd *ent.UserUpdateOne) { upd.SetEmail(string(e)).ClearEmailVerifiedAt() })
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	before := u
	err = database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		upd := tx.User.UpdateOneID(before.ID)
		for _, c := range changes {
			c(upd)
		}
		if u, err = upd.Save(ctx); err != nil {
			return err
		}
		if u.Name == before.Name && u.Email == before.Email && ptrEq(u.Phone, before.Phone) {
			return nil
		}
		for _, sink := range s.profileSinks {
			if err := sink.ProfileChanged(ctx, tx, u); err != nil {
				return fmt.Errorf("profile change: %w", err)
			}
		}
		return nil
	})
	if ent.IsConstraintError(err) {
		return nil, errcode.Invalidf(errcode.Taken, "email", "another account uses this email")
	}
	if err != nil {
		return nil, fmt.Errorf("update profile: %w", err)
	}
	if emailChanged {
		if err := s.sendVerification(ctx, u); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func ptrEq[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// ChangePassword sets a new password after checking the current one, and
// signs out every other session.
func (s *Service) ChangePassword(ctx context.Context, current, next string) (*ent.User, error) {
	v, err := RequireViewer(ctx)
	if err != nil {
		return nil, err
	}
	if v.SessionID == "" {
		return nil, ErrForbidden
	}
	u, err := s.userActive(ctx, v.UserID)
	if err != nil {
		return nil, err
	}
	if err := s.rateLimit(ctx, "signin:account:"+u.Email, s.opts.AccountAttempts); err != nil {
		return nil, err
	}
	hash := s.dummyHash
	if u.PasswordHash != nil {
		hash = *u.PasswordHash
	}
	ok, _, err := s.verify(current, hash)
	if err != nil {
		return nil, fmt.Errorf("verify password: %w", err)
	}
	if !ok || u.PasswordHash == nil {
		return nil, errcode.Invalidf(errcode.Invalid, "currentPassword", "the current password is not correct")
	}
	if err := CheckPasswordPolicy(next, "newPassword"); err != nil {
		return nil, err
	}
	if err := s.setPassword(ctx, u, next); err != nil {
		return nil, err
	}
	if _, err := s.revokeAllSessions(ctx, u.ID, v.SessionID); err != nil {
		return nil, err
	}
	return u, nil
}

// RequestEmailVerification mails the viewer a new verification link.
func (s *Service) RequestEmailVerification(ctx context.Context) error {
	v, err := RequireViewer(ctx)
	if err != nil {
		return err
	}
	if err := s.rateLimit(ctx, "verify:user:"+string(v.UserID), 5); err != nil {
		return err
	}
	u, err := s.userActive(ctx, v.UserID)
	if err != nil {
		return err
	}
	if u.EmailVerifiedAt != nil {
		return nil
	}
	return s.sendVerification(ctx, u)
}

// VerifyEmail spends a verification token. It needs no session: the
// token is the proof.
func (s *Service) VerifyEmail(ctx context.Context, token string) (*ent.User, error) {
	t, err := s.spendToken(ctx, token, onetimetoken.PurposeVERIFY_EMAIL)
	if err != nil {
		return nil, err
	}
	u, err := s.client.User.Get(ctx, t.UserID)
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	if u.Email != t.Email {
		// The address changed since the link was sent.
		return nil, ErrInvalidToken
	}
	if u.EmailVerifiedAt == nil {
		u, err = u.Update().SetEmailVerifiedAt(s.now()).Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("verify email: %w", err)
		}
	}
	Grant(ctx, u.ID) // the link's holder sees the account it verified
	return u, nil
}

// RequestPasswordReset mails a reset link when the email has an active
// account. It answers the same either way, so it reveals nothing.
func (s *Service) RequestPasswordReset(ctx context.Context, emailIn string) error {
	email, err := ParseEmail(emailIn, "email")
	if err != nil {
		return err
	}
	if err := s.rateLimit(ctx, "reset:ip:"+ClientFrom(ctx).IP, s.opts.IPAttempts); err != nil {
		return err
	}
	if err := s.rateLimit(ctx, "reset:account:"+string(email), 5); err != nil {
		return err
	}
	u, err := s.client.User.Query().Where(user.Email(string(email)), user.DeactivatedAtIsNil()).Only(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find user: %w", err)
	}
	kind := "reset_password"
	if u.PasswordHash == nil {
		kind = "claim_account"
	}
	return s.sendResetLink(ctx, u, kind)
}

// ResetPassword spends a reset token and sets the password. It also claims
// a guest account, verifies the email the link was sent to, and signs out
// every session.
func (s *Service) ResetPassword(ctx context.Context, token, password string) (*ent.User, error) {
	if err := CheckPasswordPolicy(password, "newPassword"); err != nil {
		return nil, err
	}
	t, err := s.spendToken(ctx, token, onetimetoken.PurposeRESET_PASSWORD)
	if err != nil {
		return nil, err
	}
	u, err := s.client.User.Get(ctx, t.UserID)
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	if u.DeactivatedAt != nil || u.Email != t.Email {
		return nil, ErrInvalidToken
	}
	hash, err := HashPassword(password, s.opts.Hash)
	if err != nil {
		return nil, err
	}
	upd := u.Update().SetPasswordHash(hash)
	if u.EmailVerifiedAt == nil {
		upd.SetEmailVerifiedAt(s.now())
	}
	if u, err = upd.Save(ctx); err != nil {
		return nil, fmt.Errorf("reset password: %w", err)
	}
	if _, err := s.revokeAllSessions(ctx, u.ID, ""); err != nil {
		return nil, err
	}
	Grant(ctx, u.ID) // the link's holder sees the account they reset
	return u, nil
}

func (s *Service) sendVerification(ctx context.Context, u *ent.User) error {
	token, err := s.issueToken(ctx, u, onetimetoken.PurposeVERIFY_EMAIL, verifyTokenTTL)
	if err != nil {
		return err
	}
	link := s.link("/verify-email", token)
	return s.mail(ctx, Message{
		To: u.Email, Kind: "verify_email", Subject: "Confirm your email address",
		Text: "Confirm your email address by opening this link within 48 hours:\n\n" + link + "\n\nIf you did not create an account, ignore this message.",
	})
}

func (s *Service) sendResetLink(ctx context.Context, u *ent.User, kind string) error {
	token, err := s.issueToken(ctx, u, onetimetoken.PurposeRESET_PASSWORD, resetTokenTTL)
	if err != nil {
		return err
	}
	link := s.link("/reset-password", token)
	subject, intro := "Reset your password", "Someone (hopefully you) asked to reset the password of your account."
	if kind == "claim_account" {
		subject, intro = "Set a password for your account", "An account was created for this email when you booked or ordered as a guest."
	}
	return s.mail(ctx, Message{
		To: u.Email, Kind: kind, Subject: subject,
		Text: intro + " To set a password, open this link within an hour:\n\n" + link + "\n\nIf you did not ask for this, ignore this message; nothing changes.",
	})
}

func (s *Service) mail(ctx context.Context, m Message) error {
	if err := s.mailer.Send(ctx, m); err != nil {
		return fmt.Errorf("send %s mail: %w", m.Kind, err)
	}
	return nil
}

func (s *Service) link(path, token string) string {
	return s.opts.AppURL + path + "?token=" + url.QueryEscape(token)
}

func (s *Service) issueToken(ctx context.Context, u *ent.User, purpose onetimetoken.Purpose, ttl time.Duration) (string, error) {
	return s.issueTokenWith(ctx, s.client, u, purpose, ttl)
}

// issueTokenWith issues a token through client, a transaction's when the
// token must commit with other writes.
func (s *Service) issueTokenWith(ctx context.Context, client *ent.Client, u *ent.User, purpose onetimetoken.Purpose, ttl time.Duration) (string, error) {
	token := newToken(oneTimePrefix)
	err := client.OneTimeToken.Create().
		SetUserID(u.ID).SetPurpose(purpose).SetTokenHash(hashToken(token)).
		SetEmail(u.Email).SetExpiresAt(s.now().Add(ttl)).Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("issue %s token: %w", purpose, err)
	}
	return token, nil
}

// spendToken marks a one-time token used. The conditional update makes
// it single-use even when two requests present it at once.
func (s *Service) spendToken(ctx context.Context, token string, purpose onetimetoken.Purpose) (*ent.OneTimeToken, error) {
	if !wellFormed(token, oneTimePrefix) {
		return nil, ErrInvalidToken
	}
	now := s.now()
	t, err := s.client.OneTimeToken.Query().
		Where(onetimetoken.TokenHash(hashToken(token)), onetimetoken.PurposeEQ(purpose)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("load token: %w", err)
	}
	if t.UsedAt != nil || !now.Before(t.ExpiresAt) {
		return nil, ErrInvalidToken
	}
	n, err := s.client.OneTimeToken.Update().
		Where(onetimetoken.ID(t.ID), onetimetoken.UsedAtIsNil()).
		SetUsedAt(now).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("spend token: %w", err)
	}
	if n == 0 {
		return nil, ErrInvalidToken
	}
	return t, nil
}

// UserByID loads a user for a caller allowed to see it (CanViewUser).
func (s *Service) UserByID(ctx context.Context, id gid.ID) (*ent.User, error) {
	u, err := s.client.User.Get(ctx, id)
	if ent.IsNotFound(err) || (err == nil && !CanViewUser(ctx, u)) {
		return nil, ErrUserNotFound
	}
	return u, err
}
