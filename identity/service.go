package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"frontdesk/cache"
	"frontdesk/ent"
	"frontdesk/ent/user"
	"frontdesk/errcode"
)

// Options configure a Service. Zero durations and limits take defaults.
type Options struct {
	// SessionLifetime is the absolute life of a session; IdleTimeout ends
	// it sooner when unused. Each use slides the idle window forward.
	SessionLifetime time.Duration
	IdleTimeout     time.Duration
	// CacheTTL is how long a resolved credential is cached. Revocation
	// does not wait for it (see authVersion).
	CacheTTL time.Duration
	// Sign-in attempts allowed per account and per client IP in Window.
	AccountAttempts int64
	IPAttempts      int64
	Window          time.Duration
	// AppURL is the frontend's base URL; mailed links point at
	// AppURL/verify-email?token=… and AppURL/reset-password?token=….
	AppURL string
	// Hash are the argon2id parameters for new hashes.
	Hash HashParams
	// SecureCookies marks the session cookie Secure even on plain HTTP;
	// it is always Secure on HTTPS. Off only in development.
	SecureCookies bool
	// TrustedProxies are the load balancers and reverse proxies whose
	// X-Forwarded-For is believed when they are the TCP peer (see clientIP).
	TrustedProxies []netip.Prefix
	Now            func() time.Time
}

// Service runs the account, session and API key flows.
type Service struct {
	client *ent.Client
	cache  cache.Store
	mailer Mailer
	log    *slog.Logger
	opts   Options
	// dummyHash is verified against when no account matches, so unknown
	// emails cost the same time as wrong passwords.
	dummyHash string
	// legacyDummy is a bcrypt hash of no one's password, at the cost of
	// the legacy hashes; set once any exist (see verify).
	legacyDummy atomic.Pointer[[]byte]
	// profileSinks hear of profile changes in their transaction.
	profileSinks []ProfileSink
	// degraded is what keeps identity working while the shared cache
	// fails (degrade.go).
	degraded degraded
	// customerSinks hear of new customer accounts in their transaction.
	customerSinks []CustomerSink
}

// New returns a Service.
func New(client *ent.Client, store cache.Store, mailer Mailer, log *slog.Logger, opts Options) (*Service, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.SessionLifetime, 30*24*time.Hour)
	def(&opts.IdleTimeout, 7*24*time.Hour)
	def(&opts.CacheTTL, 30*time.Second)
	def(&opts.Window, 15*time.Minute)
	if opts.AccountAttempts <= 0 {
		opts.AccountAttempts = 10
	}
	if opts.IPAttempts <= 0 {
		opts.IPAttempts = 100
	}
	if opts.Hash == (HashParams{}) {
		opts.Hash = DefaultHashParams
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	client.AuditEntry.Use(appendOnly)
	dummy, err := HashPassword("no account has this password", opts.Hash)
	if err != nil {
		return nil, err
	}
	s := &Service{client: client, cache: store, mailer: mailer, log: log, opts: opts, dummyHash: dummy,
		degraded: degraded{local: cache.NewMemory()}}
	// Accounts imported from the legacy shop still have bcrypt hashes
	// until they sign in; from then on sign-ins cost one bcrypt as well.
	legacy, err := client.User.Query().Where(user.PasswordHashHasPrefix("$2")).Limit(1).
		Select(user.FieldPasswordHash).Strings(context.Background())
	if err != nil {
		return nil, fmt.Errorf("look for legacy password hashes: %w", err)
	}
	if len(legacy) > 0 {
		s.noteLegacy(legacy[0])
	}
	return s, nil
}

// errAppendOnly is returned to any code that tries to change the audit log.
var errAppendOnly = errors.New("the audit log is append-only")

// appendOnly refuses every audit-log mutation but create.
func appendOnly(next ent.Mutator) ent.Mutator {
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		if !m.Op().Is(ent.OpCreate) {
			return nil, errAppendOnly
		}
		return next.Mutate(ctx, m)
	})
}

// Client returns the ent client the service uses.
func (s *Service) Client() *ent.Client { return s.client }

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// Errors of the identity flows. Credentials failures are all one error so
// a caller cannot tell which part was wrong.
var (
	ErrInvalidCredentials = errcode.Invalidf(errcode.Invalid, "", "the email or password is not correct")
	ErrInvalidToken       = errcode.Invalidf(errcode.Invalid, "token", "this link is invalid or has expired; ask for a new one")
	ErrUserNotFound       = errcode.New(errcode.NotFound, "no user with this ID")
	ErrSessionNotFound    = errcode.New(errcode.NotFound, "no session with this ID")
	ErrAPIKeyNotFound     = errcode.New(errcode.NotFound, "no API key with this ID")
	// ErrCredentialsExpired is returned for a bearer token that is
	// malformed, unknown, expired or revoked; which one is not said.
	ErrCredentialsExpired = errcode.New(errcode.Unauthenticated, "the credentials are invalid, expired or revoked; sign in again")
)

// Client describes where a request came from, for sessions and rate
// limits. The HTTP middleware puts it in the context.
type Client struct {
	IP        string
	UserAgent string
}

type clientKey struct{}

// WithClient returns ctx carrying c.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the request's client, or the zero value.
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}
