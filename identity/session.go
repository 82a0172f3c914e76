package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/apikey"
	"frontdesk/ent/session"
	"frontdesk/ent/user"
	"frontdesk/gid"
)

// touchInterval is how stale last_used_at may get before a request
// writes it: sliding the idle window by the minute costs one UPDATE per
// session per minute, not one per request.
const touchInterval = time.Minute

// authEntry is a resolved credential as cached under "auth:<hash>".
type authEntry struct {
	Version    int64
	UserID     gid.ID
	Role       Role
	SessionID  gid.ID       `json:",omitempty"`
	APIKeyID   gid.ID       `json:",omitempty"`
	Scopes     []Permission `json:",omitempty"`
	ExpiresAt  time.Time    // zero: an API key without expiry
	LastUsedAt time.Time
}

// Revocation must reach every replica at once, yet credentials are cached.
// Each token hash has a version counter in the shared cache; revoking
// bumps it after the database change, and a cached entry is used only
// while its version is current. A lookup reads the version before it reads
// the database, so an entry built from a row read before a revocation
// always carries a version that revocation has since bumped.
func versionKey(hash string) string { return "authv:" + hash }
func entryKey(hash string) string   { return "auth:" + hash }

func (s *Service) version(ctx context.Context, hash string) (int64, error) {
	raw, ok, err := s.cache.Get(ctx, versionKey(hash))
	if err != nil || !ok {
		return 0, err
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("auth version %q: %w", raw, err)
	}
	return n, nil
}

// invalidate makes every replica drop its cached view of these token
// hashes. It runs after the database change is committed, which is what
// revokes: when the cache cannot be reached the change stands, this
// replica stops trusting cached entries for the hashes, and the
// invalidation is replayed when the cache is back (see degraded).
func (s *Service) invalidate(ctx context.Context, hashes ...string) error {
	if len(hashes) == 0 {
		return nil
	}
	if err := s.invalidateShared(ctx, hashes...); err != nil {
		s.degraded.remember(hashes, s.now().Add(s.opts.CacheTTL))
		s.log.WarnContext(ctx, "credential invalidation did not reach the cache; this replica reads them from the database, the others within the cache TTL",
			"count", len(hashes), "cache_ttl", s.opts.CacheTTL.String(), "error", err.Error())
	}
	return nil
}

// invalidateShared bumps the versions of hashes and deletes their entries
// in the shared cache.
func (s *Service) invalidateShared(ctx context.Context, hashes ...string) error {
	var errs []error
	for _, h := range hashes {
		// The version outlives any entry (CacheTTL) many times over.
		if _, _, err := s.cache.Incr(ctx, versionKey(h), 24*time.Hour+s.opts.CacheTTL); err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, s.cache.Delete(ctx, entryKey(h)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalidate credentials: %w", err)
	}
	return nil
}

// invalidateUser invalidates every session and API key of a user.
func (s *Service) invalidateUser(ctx context.Context, userID gid.ID) error {
	sessHashes, err := s.client.Session.Query().
		Where(session.UserID(userID), session.ExpiresAtGT(s.now())).
		Select(session.FieldTokenHash).Strings(ctx)
	if err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	keyHashes, err := s.client.APIKey.Query().
		Where(apikey.CreatorID(userID)).
		Select(apikey.FieldTokenHash).Strings(ctx)
	if err != nil {
		return fmt.Errorf("list API keys: %w", err)
	}
	return s.invalidate(ctx, append(sessHashes, keyHashes...)...)
}

// Authenticate resolves a session token or API key to its viewer. Any
// failure (malformed, unknown, expired, idle, revoked, deactivated user)
// is ErrCredentialsExpired; infrastructure failures are returned as is.
func (s *Service) Authenticate(ctx context.Context, token string) (*Viewer, error) {
	isKey := wellFormed(token, apiKeyPrefix)
	if !isKey && !wellFormed(token, sessionPrefix) {
		return nil, ErrCredentialsExpired
	}
	hash := hashToken(token)
	now := s.now()
	// With the cache failing (or this replica's invalidation of hash not
	// yet in it) the database decides, and nothing is cached.
	shared := !s.degraded.bypass(hash, now)
	var ver int64
	var err error
	if shared {
		if ver, err = s.version(ctx, hash); err != nil {
			s.cacheFailed(ctx, "read", err)
			shared = false
		}
	}
	var e authEntry
	ok := false
	if shared {
		if e, ok, err = s.cachedEntry(ctx, hash); err != nil {
			s.cacheFailed(ctx, "read", err)
			shared = false
		}
	}
	if !ok || e.Version != ver {
		if isKey {
			e, err = s.loadAPIKey(ctx, hash)
		} else {
			e, err = s.loadSession(ctx, hash)
		}
		if err != nil {
			return nil, err
		}
		e.Version = ver
		if shared {
			if err := s.storeEntry(ctx, hash, e); err != nil {
				s.cacheFailed(ctx, "write", err)
				shared = false
			}
		}
	}
	if !e.ExpiresAt.IsZero() && !now.Before(e.ExpiresAt) {
		return nil, ErrCredentialsExpired
	}
	if e.SessionID != "" && !now.Before(e.LastUsedAt.Add(s.opts.IdleTimeout)) {
		return nil, ErrCredentialsExpired
	}
	if now.Sub(e.LastUsedAt) >= touchInterval {
		if err := s.touch(ctx, e, now); err != nil {
			return nil, err
		}
		e.LastUsedAt = now
		if shared {
			if err := s.storeEntry(ctx, hash, e); err != nil {
				s.cacheFailed(ctx, "write", err)
			}
		}
	}
	return &Viewer{UserID: e.UserID, Role: e.Role, SessionID: e.SessionID, APIKeyID: e.APIKeyID, Scopes: e.Scopes}, nil
}

func (s *Service) cachedEntry(ctx context.Context, hash string) (authEntry, bool, error) {
	raw, ok, err := s.cache.Get(ctx, entryKey(hash))
	if err != nil || !ok {
		return authEntry{}, false, err
	}
	var e authEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		// A corrupt entry is dropped and rebuilt from the database.
		return authEntry{}, false, nil
	}
	return e, true, nil
}

func (s *Service) storeEntry(ctx context.Context, hash string, e authEntry) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode auth entry: %w", err)
	}
	return s.cache.Set(ctx, entryKey(hash), raw, s.opts.CacheTTL)
}

func (s *Service) loadSession(ctx context.Context, hash string) (authEntry, error) {
	ses, err := s.client.Session.Query().
		Where(session.TokenHash(hash), session.RevokedAtIsNil()).
		WithUser().Only(ctx)
	if ent.IsNotFound(err) {
		return authEntry{}, ErrCredentialsExpired
	}
	if err != nil {
		return authEntry{}, fmt.Errorf("load session: %w", err)
	}
	u := ses.Edges.User
	if u.DeactivatedAt != nil {
		return authEntry{}, ErrCredentialsExpired
	}
	return authEntry{UserID: u.ID, Role: Role(u.Role), SessionID: ses.ID, ExpiresAt: ses.ExpiresAt, LastUsedAt: ses.LastUsedAt}, nil
}

func (s *Service) loadAPIKey(ctx context.Context, hash string) (authEntry, error) {
	k, err := s.client.APIKey.Query().
		Where(apikey.TokenHash(hash), apikey.RevokedAtIsNil()).
		WithCreator().Only(ctx)
	if ent.IsNotFound(err) {
		return authEntry{}, ErrCredentialsExpired
	}
	if err != nil {
		return authEntry{}, fmt.Errorf("load API key: %w", err)
	}
	u := k.Edges.Creator
	if u.DeactivatedAt != nil {
		return authEntry{}, ErrCredentialsExpired
	}
	e := authEntry{UserID: u.ID, Role: Role(u.Role), APIKeyID: k.ID, Scopes: permissions(k.Scopes)}
	if k.ExpiresAt != nil {
		e.ExpiresAt = *k.ExpiresAt
	}
	if k.LastUsedAt != nil {
		e.LastUsedAt = *k.LastUsedAt
	}
	return e, nil
}

// touch records use. For sessions it slides the idle window; the update is
// conditional so a concurrent revocation is never undone.
func (s *Service) touch(ctx context.Context, e authEntry, now time.Time) error {
	var err error
	if e.SessionID != "" {
		_, err = s.client.Session.Update().
			Where(session.ID(e.SessionID), session.RevokedAtIsNil()).
			SetLastUsedAt(now).Save(ctx)
	} else {
		_, err = s.client.APIKey.Update().
			Where(apikey.ID(e.APIKeyID), apikey.RevokedAtIsNil()).
			SetLastUsedAt(now).Save(ctx)
	}
	if err != nil {
		return fmt.Errorf("record credential use: %w", err)
	}
	return nil
}

func permissions(scopes []string) []Permission {
	out := make([]Permission, len(scopes))
	for i, sc := range scopes {
		out[i] = Permission(sc)
	}
	return out
}

// startSession creates a session for u and sets the session cookie when
// the request came through the HTTP middleware.
func (s *Service) startSession(ctx context.Context, u *ent.User) (string, *ent.Session, error) {
	token := newToken(sessionPrefix)
	now := s.now()
	c := ClientFrom(ctx)
	ses, err := s.client.Session.Create().
		SetUserID(u.ID).
		SetTokenHash(hashToken(token)).
		SetExpiresAt(now.Add(s.opts.SessionLifetime)).
		SetLastUsedAt(now).
		SetUserAgent(truncate(c.UserAgent, 255)).
		SetIPAddress(truncate(c.IP, 64)).
		Save(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("create session: %w", err)
	}
	setSessionCookie(ctx, token, ses.ExpiresAt)
	if slot, ok := ctx.Value(signedInKey{}).(*signedInSlot); ok {
		slot.v.Store(&Viewer{UserID: u.ID, Role: Role(u.Role), SessionID: ses.ID})
	}
	return token, ses, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// MaxListedSessions bounds the sessions list: a script that signs in in
// a loop must not make the list (and its response) grow without end.
const MaxListedSessions = 100

// Sessions lists the viewer's live sessions, most recently used first,
// at most MaxListedSessions.
func (s *Service) Sessions(ctx context.Context) ([]*ent.Session, error) {
	v, err := RequireViewer(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return s.client.Session.Query().
		Where(session.UserID(v.UserID), session.RevokedAtIsNil(),
			session.ExpiresAtGT(now), session.LastUsedAtGT(now.Add(-s.opts.IdleTimeout))).
		Order(ent.Desc(session.FieldLastUsedAt), ent.Desc(session.FieldID)).
		Limit(MaxListedSessions).All(ctx)
}

// RevokeSession ends one of the viewer's sessions; an admin with
// ManageUsers may end anyone's. Others' sessions are NOT_FOUND.
func (s *Service) RevokeSession(ctx context.Context, id gid.ID) (*ent.Session, error) {
	v, err := RequireViewer(ctx)
	if err != nil {
		return nil, err
	}
	ses, err := s.client.Session.Get(ctx, id)
	if ent.IsNotFound(err) || (err == nil && ses.UserID != v.UserID && !v.Can(ManageUsers)) {
		return nil, ErrSessionNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	Grant(ctx, ses.ID) // an admin may revoke a session they may not otherwise see
	if ses.RevokedAt == nil {
		ses, err = ses.Update().SetRevokedAt(s.now()).Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("revoke session: %w", err)
		}
		if err := s.invalidate(ctx, ses.TokenHash); err != nil {
			return nil, err
		}
		if ses.UserID != v.UserID {
			if err := Audit(ctx, s.client, AuditRecord{Action: "session.revoke", TargetType: "Session", TargetID: string(ses.ID)}); err != nil {
				return nil, err
			}
		}
	}
	if ses.ID == v.SessionID {
		clearSessionCookie(ctx)
	}
	return ses, nil
}

// SignOut ends the viewer's current session and clears its cookie.
func (s *Service) SignOut(ctx context.Context) error {
	v, err := RequireViewer(ctx)
	if err != nil {
		return err
	}
	if v.SessionID == "" {
		// API keys are revoked, not signed out of.
		return ErrForbidden
	}
	_, err = s.RevokeSession(ctx, v.SessionID)
	return err
}

// SignOutEverywhere ends every session of the viewer, this one included.
// API keys are not sessions and stay valid.
func (s *Service) SignOutEverywhere(ctx context.Context) (int, error) {
	v, err := RequireViewer(ctx)
	if err != nil {
		return 0, err
	}
	if v.SessionID == "" {
		return 0, ErrForbidden
	}
	n, err := s.revokeAllSessions(ctx, v.UserID, "")
	if err != nil {
		return 0, err
	}
	clearSessionCookie(ctx)
	return n, nil
}

// revokeAllSessions revokes the user's live sessions except keep. The
// hashes to invalidate are read after the update, by its timestamp, so a
// session created in between is not missed.
func (s *Service) revokeAllSessions(ctx context.Context, userID, keep gid.ID) (int, error) {
	at := s.now()
	n, err := s.client.Session.Update().
		Where(session.UserID(userID), session.RevokedAtIsNil(), session.IDNEQ(keep)).
		SetRevokedAt(at).Save(ctx)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	revoked, err := s.client.Session.Query().
		Where(session.UserID(userID), session.RevokedAt(at)).
		Select(session.FieldTokenHash).Strings(ctx)
	if err != nil {
		return 0, fmt.Errorf("list revoked sessions: %w", err)
	}
	return n, s.invalidate(ctx, revoked...)
}

// userActive loads a user that is not deactivated.
func (s *Service) userActive(ctx context.Context, id gid.ID) (*ent.User, error) {
	u, err := s.client.User.Query().Where(user.ID(id), user.DeactivatedAtIsNil()).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrUnauthenticated
	}
	return u, err
}
