package identity_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"frontdesk/cache"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/errcode"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// mailbox records mail instead of sending it.
type mailbox struct {
	mu   sync.Mutex
	msgs []identity.Message
}

func (m *mailbox) Send(_ context.Context, msg identity.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return nil
}

// token returns the token in the last mail of kind sent to addr.
func (m *mailbox) token(t *testing.T, addr, kind string) string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.msgs) - 1; i >= 0; i-- {
		msg := m.msgs[i]
		if msg.To == addr && msg.Kind == kind {
			i := strings.Index(msg.Text, "?token=")
			end := strings.IndexAny(msg.Text[i:], " \n")
			tok, err := url.QueryUnescape(msg.Text[i+len("?token=") : i+end])
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
	}
	t.Fatalf("no %s mail to %s", kind, addr)
	return ""
}

type env struct {
	svc    *identity.Service
	client *ent.Client
	mail   *mailbox
	store  cache.Store
	now    *time.Time
}

var fastHash = identity.HashParams{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, database.Options{})
}

func newEnvWith(t *testing.T, opts database.Options) *env {
	t.Helper()
	db := testenv.DB(t, opts)
	redisURL, prefix := testenv.Redis(t)
	store, _, err := cache.Open(context.Background(), redisURL, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	e := &env{client: db.Client, mail: &mailbox{}, store: store}
	now := time.Now()
	e.now = &now
	e.svc, err = identity.New(db.Client, store, e.mail, slog.New(slog.NewTextHandler(io.Discard, nil)), identity.Options{
		Hash: fastHash, AccountAttempts: 5, IPAttempts: 50, AppURL: "https://app.test",
		Now: func() time.Time { return *e.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func client(ip string) context.Context {
	return identity.WithClient(context.Background(), identity.Client{IP: ip, UserAgent: "test"})
}

func (e *env) register(t *testing.T, email string) *identity.SignedIn {
	t.Helper()
	in, err := e.svc.Register(client("10.0.0.1"), identity.RegisterInput{Email: email, Password: "a long passphrase", Name: "Test"})
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	return in
}

func (e *env) as(t *testing.T, token string) context.Context {
	t.Helper()
	v, err := e.svc.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return identity.WithViewer(client("10.0.0.1"), v)
}

func userCode(err error) errcode.UserErrorCode {
	if l, ok := errcode.AsUserErrors(err); ok {
		return l[0].Code
	}
	return ""
}

func TestRegisterAndSignIn(t *testing.T) {
	e := newEnv(t)
	in := e.register(t, "Ann@Example.com")
	if in.User.Email != "ann@example.com" {
		t.Fatalf("email stored as %q, want lower-cased", in.User.Email)
	}
	if _, err := e.svc.Register(client("10.0.0.1"), identity.RegisterInput{Email: "ANN@example.com", Password: "another passphrase"}); userCode(err) != errcode.Taken {
		t.Fatalf("second register = %v, want TAKEN", err)
	}
	if _, err := e.svc.Register(client("10.0.0.1"), identity.RegisterInput{Email: "bob@example.com", Password: "password123"}); userCode(err) != errcode.Invalid {
		t.Fatalf("common password = %v, want INVALID", err)
	}
	got, err := e.svc.SignIn(client("10.0.0.2"), "ANN@example.com", "a long passphrase")
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.svc.Authenticate(context.Background(), got.Token)
	if err != nil || v.UserID != in.User.ID || v.SessionID != got.Session.ID || v.Role != identity.RoleCustomer {
		t.Fatalf("Authenticate = %+v, %v", v, err)
	}
	// Unknown email and wrong password give the same answer.
	_, errUnknown := e.svc.SignIn(client("10.0.0.2"), "nobody@example.com", "a long passphrase")
	_, errWrong := e.svc.SignIn(client("10.0.0.2"), "ann@example.com", "a wrong passphrase")
	if errUnknown == nil || errUnknown.Error() != errWrong.Error() {
		t.Fatalf("unknown email %v, wrong password %v: want the same error", errUnknown, errWrong)
	}
}

func TestSignInRateLimited(t *testing.T) {
	e := newEnv(t)
	e.register(t, "ann@example.com")
	var err error
	for i := range 6 {
		_, err = e.svc.SignIn(client("10.0.0.3"), "ann@example.com", "wrong guess number "+string(rune('a'+i)))
	}
	var ce *errcode.Error
	if !errors.As(err, &ce) || ce.Code != errcode.RateLimited || ce.RetryAfter <= 0 {
		t.Fatalf("sixth attempt = %v, want RATE_LIMITED with retry-after", err)
	}
	// The right password is refused too while limited: no oracle.
	if _, err := e.svc.SignIn(client("10.0.0.4"), "ann@example.com", "a long passphrase"); errcode.Of(err) != errcode.RateLimited {
		t.Fatalf("right password while limited = %v", err)
	}
}

func TestSessionLifecycle(t *testing.T) {
	e := newEnv(t)
	in := e.register(t, "ann@example.com")
	other, err := e.svc.SignIn(client("10.0.0.2"), "ann@example.com", "a long passphrase")
	if err != nil {
		t.Fatal(err)
	}
	ctx := e.as(t, in.Token)
	list, err := e.svc.Sessions(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("Sessions = %d, %v; want 2", len(list), err)
	}
	if err := e.svc.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(context.Background(), in.Token); !errors.Is(err, identity.ErrCredentialsExpired) {
		t.Fatalf("token after sign-out = %v, want expired", err)
	}
	e.as(t, other.Token) // still valid
	// Idle timeout, then sliding renewal.
	*e.now = e.now.Add(6 * 24 * time.Hour)
	e.as(t, other.Token)
	*e.now = e.now.Add(6 * 24 * time.Hour)
	e.as(t, other.Token) // 12 days after sign-in, but used 6 days ago
	*e.now = e.now.Add(8 * 24 * time.Hour)
	if _, err := e.svc.Authenticate(context.Background(), other.Token); !errors.Is(err, identity.ErrCredentialsExpired) {
		t.Fatalf("idle token = %v, want expired", err)
	}
	for _, forged := range []string{"", "fds_x", "fds_" + strings.Repeat("A", 43), "Bearer abc", other.Token + "x"} {
		if _, err := e.svc.Authenticate(context.Background(), forged); !errors.Is(err, identity.ErrCredentialsExpired) {
			t.Errorf("forged %q = %v", forged, err)
		}
	}
}

func TestRevokeOtherUsersSessionIsNotFound(t *testing.T) {
	e := newEnv(t)
	ann := e.register(t, "ann@example.com")
	bob := e.register(t, "bob@example.com")
	if _, err := e.svc.RevokeSession(e.as(t, bob.Token), ann.Session.ID); !errors.Is(err, identity.ErrSessionNotFound) {
		t.Fatalf("bob revoking ann's session = %v, want NOT_FOUND", err)
	}
	e.as(t, ann.Token)
	if _, err := e.svc.RevokeSession(context.Background(), ann.Session.ID); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("anonymous revoke = %v", err)
	}
}

func TestSignOutEverywhereAndCacheInvalidation(t *testing.T) {
	e := newEnv(t)
	in := e.register(t, "ann@example.com")
	var tokens []string
	for range 3 {
		s, err := e.svc.SignIn(client("10.0.0.2"), "ann@example.com", "a long passphrase")
		if err != nil {
			t.Fatal(err)
		}
		e.as(t, s.Token) // cached now
		tokens = append(tokens, s.Token)
	}
	n, err := e.svc.SignOutEverywhere(e.as(t, in.Token))
	if err != nil || n != 4 {
		t.Fatalf("SignOutEverywhere = %d, %v; want 4", n, err)
	}
	for _, tok := range append(tokens, in.Token) {
		if _, err := e.svc.Authenticate(context.Background(), tok); !errors.Is(err, identity.ErrCredentialsExpired) {
			t.Fatalf("cached token after sign-out everywhere = %v", err)
		}
	}
}

func TestPasswordResetSingleUseAndExpiry(t *testing.T) {
	e := newEnv(t)
	in := e.register(t, "ann@example.com")
	if err := e.svc.RequestPasswordReset(client("10.0.0.1"), "nobody@example.com"); err != nil {
		t.Fatalf("reset for unknown email = %v, want silent success", err)
	}
	if err := e.svc.RequestPasswordReset(client("10.0.0.1"), "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	tok := e.mail.token(t, "ann@example.com", "reset_password")
	if _, err := e.svc.ResetPassword(context.Background(), tok, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ResetPassword(context.Background(), tok, "yet another passphrase"); !errors.Is(err, identity.ErrInvalidToken) {
		t.Fatalf("reused reset token = %v", err)
	}
	if _, err := e.svc.Authenticate(context.Background(), in.Token); err == nil {
		t.Fatal("session survived a password reset")
	}
	if _, err := e.svc.SignIn(client("10.0.0.1"), "ann@example.com", "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RequestPasswordReset(client("10.0.0.1"), "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	tok = e.mail.token(t, "ann@example.com", "reset_password")
	*e.now = e.now.Add(2 * time.Hour)
	if _, err := e.svc.ResetPassword(context.Background(), tok, "a late passphrase"); !errors.Is(err, identity.ErrInvalidToken) {
		t.Fatalf("expired reset token = %v", err)
	}
}

func TestEmailVerification(t *testing.T) {
	e := newEnv(t)
	e.register(t, "ann@example.com")
	tok := e.mail.token(t, "ann@example.com", "verify_email")
	u, err := e.svc.VerifyEmail(context.Background(), tok)
	if err != nil || u.EmailVerifiedAt == nil {
		t.Fatalf("VerifyEmail = %v, %v", u, err)
	}
	if _, err := e.svc.VerifyEmail(context.Background(), tok); !errors.Is(err, identity.ErrInvalidToken) {
		t.Fatalf("reused verification token = %v", err)
	}
}

func TestGuestClaim(t *testing.T) {
	e := newEnv(t)
	// An account without a password, as an import or `users create
	// --no-password` leaves it.
	g := e.client.User.Create().SetEmail("guest@example.com").SetName("Gus").SaveX(context.Background())
	// A guest cannot be signed into, whatever the password.
	if _, err := e.svc.SignIn(client("10.0.0.1"), "guest@example.com", ""); !errors.Is(err, identity.ErrInvalidCredentials) {
		t.Fatalf("guest sign-in = %v", err)
	}
	// Registering the guest's email does not take it over; it mails a claim link.
	if _, err := e.svc.Register(client("10.0.0.1"), identity.RegisterInput{Email: "guest@example.com", Password: "an attacker passphrase"}); userCode(err) != errcode.Taken {
		t.Fatalf("register over guest = %v", err)
	}
	tok := e.mail.token(t, "guest@example.com", "claim_account")
	if _, err := e.svc.ResetPassword(context.Background(), tok, "the owner's passphrase"); err != nil {
		t.Fatal(err)
	}
	s, err := e.svc.SignIn(client("10.0.0.1"), "guest@example.com", "the owner's passphrase")
	if err != nil || s.User.ID != g.ID || s.User.EmailVerifiedAt == nil {
		t.Fatalf("claimed sign-in = %+v, %v", s, err)
	}
}

func TestAdminRoleDeactivateAndAPIKeys(t *testing.T) {
	e := newEnv(t)
	admin := e.register(t, "admin@example.com")
	ctx := context.Background()
	if err := e.client.User.UpdateOneID(admin.User.ID).SetRole("ADMIN").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	adminCtx := e.as(t, admin.Token)
	staff := e.register(t, "staff@example.com")
	cust := e.register(t, "cust@example.com")

	if _, err := e.svc.SetUserRole(e.as(t, cust.Token), staff.User.ID, identity.RoleAdmin); !errors.Is(err, identity.ErrForbidden) {
		t.Fatalf("customer setting roles = %v", err)
	}
	if _, err := e.svc.SetUserRole(adminCtx, staff.User.ID, identity.RoleStaff); err != nil {
		t.Fatal(err)
	}
	// The cached customer role gives way to the new one at once.
	if v := identity.ViewerFrom(e.as(t, staff.Token)); v.Role != identity.RoleStaff {
		t.Fatalf("role after change = %s", v.Role)
	}
	// Staff cannot create keys; admin keys cannot exceed the admin's scopes.
	if _, err := e.svc.CreateAPIKey(e.as(t, staff.Token), identity.APIKeyInput{Name: "x", Scopes: []identity.Permission{identity.ManageCatalog}}); !errors.Is(err, identity.ErrForbidden) {
		t.Fatalf("staff creating a key = %v", err)
	}
	k, err := e.svc.CreateAPIKey(adminCtx, identity.APIKeyInput{Name: "Partner", Scopes: []identity.Permission{identity.ManageCatalog}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.Token, "fdk_") || k.Key.Prefix != k.Token[:12] {
		t.Fatalf("key token %q prefix %q", k.Token, k.Key.Prefix)
	}
	kctx := e.as(t, k.Token)
	if _, err := identity.Require(kctx, identity.ManageCatalog); err != nil {
		t.Fatalf("key within scope: %v", err)
	}
	if _, err := identity.Require(kctx, identity.ManageUsers); !errors.Is(err, identity.ErrForbidden) {
		t.Fatalf("key beyond scope = %v", err)
	}
	if _, err := e.svc.CreateAPIKey(kctx, identity.APIKeyInput{Name: "y", Scopes: []identity.Permission{identity.ManageCatalog}}); !errors.Is(err, identity.ErrForbidden) {
		t.Fatalf("key creating a key = %v", err)
	}
	if _, err := e.svc.RevokeAPIKey(adminCtx, k.Key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(ctx, k.Token); !errors.Is(err, identity.ErrCredentialsExpired) {
		t.Fatalf("revoked key = %v", err)
	}

	// Deactivation stops the user's sessions and keys at once.
	k2, err := e.svc.CreateAPIKey(adminCtx, identity.APIKeyInput{Name: "Partner 2", Scopes: []identity.Permission{identity.ManageCatalog}})
	if err != nil {
		t.Fatal(err)
	}
	e.as(t, k2.Token)
	if err := e.client.User.UpdateOneID(staff.User.ID).SetRole("ADMIN").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DeactivateUser(adminCtx, admin.User.ID); userCode(err) != errcode.Invalid {
		t.Fatalf("deactivating self = %v", err)
	}
	// Another admin deactivates the first.
	staffAdmin, err := e.svc.SignIn(client("10.0.0.9"), "staff@example.com", "a long passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DeactivateUser(e.as(t, staffAdmin.Token), admin.User.ID); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{admin.Token, k2.Token} {
		if _, err := e.svc.Authenticate(ctx, tok); !errors.Is(err, identity.ErrCredentialsExpired) {
			t.Fatalf("credential of deactivated user = %v", err)
		}
	}
	log, err := e.svc.AuditLog(e.as(t, staffAdmin.Token), nil, nil, nil, nil, identity.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, edge := range log.Edges {
		actions = append(actions, edge.Node.Action)
	}
	want := "user.deactivate api_key.create api_key.revoke api_key.create user.set_role"
	if got := strings.Join(actions, " "); got != want {
		t.Fatalf("audit actions = %q, want %q", got, want)
	}
	if _, err := e.svc.AuditLog(e.as(t, cust.Token), nil, nil, nil, nil, identity.AuditFilter{}); !errors.Is(err, identity.ErrForbidden) {
		t.Fatalf("customer reading audit log = %v", err)
	}
	// The log is append-only.
	if _, err := e.client.AuditEntry.Delete().Exec(ctx); err == nil {
		t.Fatal("audit entries could be deleted")
	}
}

// TestSignInUpgradesLegacyBcryptHash: a customer imported from the legacy
// PHP shop with its bcrypt hash (as the docs say to import them) signs in
// with their old password; the hash is replaced with argon2id on the way.
// A wrong password changes nothing.
func TestSignInUpgradesLegacyBcryptHash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const php = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a" // password_hash("rasmuslerdorf")
	u := e.client.User.Create().SetEmail("rasmus@example.com").SetName("Rasmus").SetRole("CUSTOMER").
		SetPasswordHash(php).SetEmailVerifiedAt(time.Now()).SaveX(ctx)
	hash := func() string { return *e.client.User.GetX(ctx, u.ID).PasswordHash }

	if _, err := e.svc.SignIn(client("10.0.0.2"), "rasmus@example.com", "rasmuslerdorF"); !errors.Is(err, identity.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if hash() != php {
		t.Fatal("a failed sign-in changed the legacy hash")
	}
	in, err := e.svc.SignIn(client("10.0.0.2"), "Rasmus@Example.com", "rasmuslerdorf")
	if err != nil {
		t.Fatalf("sign in with the legacy password: %v", err)
	}
	if in.User.ID != u.ID {
		t.Fatalf("signed in as %s", in.User.ID)
	}
	upgraded := hash()
	if !strings.HasPrefix(upgraded, "$argon2id$") {
		t.Fatalf("hash after sign-in %q, want argon2id", upgraded)
	}
	if ok, stale, err := identity.VerifyPassword("rasmuslerdorf", upgraded, fastHash); !ok || stale || err != nil {
		t.Fatalf("upgraded hash: ok %v stale %v %v", ok, stale, err)
	}
	if _, err := e.svc.SignIn(client("10.0.0.2"), "rasmus@example.com", "rasmuslerdorf"); err != nil {
		t.Fatalf("sign in after the upgrade: %v", err)
	}
	if hash() != upgraded {
		t.Fatal("a current hash was re-hashed")
	}
}

// TestSignInWithUnusableImportedHash: a hash in no accepted format (the
// legacy shop's phpass or MD5 digests) matches no password; the answer is
// the usual invalid credentials, never an internal error, and a password
// reset claims the account.
func TestSignInWithUnusableImportedHash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i, h := range []string{"$P$BVrDc0o5E6Kj1x9JKm.Yq1rrTJR4tY/", "5f4dcc3b5aa765d61d327deb882cf99b",
		"$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e"} {
		email := fmt.Sprintf("old%d@example.com", i)
		e.client.User.Create().SetEmail(email).SetPasswordHash(h).ExecX(ctx)
		if _, err := e.svc.SignIn(client("10.0.0.3"), email, "password"); !errors.Is(err, identity.ErrInvalidCredentials) {
			t.Fatalf("%s: %v, want invalid credentials", h, err)
		}
	}
	if err := e.svc.RequestPasswordReset(client("10.0.0.3"), "old0@example.com"); err != nil {
		t.Fatal(err)
	}
	tok := e.mail.token(t, "old0@example.com", "reset_password")
	if _, err := e.svc.ResetPassword(ctx, tok, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SignIn(client("10.0.0.3"), "old0@example.com", "a brand new passphrase"); err != nil {
		t.Fatalf("sign in after the reset: %v", err)
	}
}
