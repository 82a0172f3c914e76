package identity

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// HTTP names clients rely on.
const (
	// SessionCookie holds the session token for browsers.
	SessionCookie = "frontdesk_session"
	// CSRFHeader must accompany every cookie-authenticated request that
	// is not a GET. Browsers send a custom header cross-origin only after
	// a CORS preflight, which only allowed origins pass, so a forged form
	// or fetch from another site cannot carry it.
	CSRFHeader = "X-Frontdesk-CSRF"
)

// cookieJar lets a domain flow (sign-in, sign-out) set the session cookie
// on the HTTP response of the request it runs in.
type cookieJar struct {
	w      http.ResponseWriter
	secure bool
}

type cookieJarKey struct{}

func setSessionCookie(ctx context.Context, token string, expires time.Time) {
	jar, ok := ctx.Value(cookieJarKey{}).(*cookieJar)
	if !ok {
		return
	}
	http.SetCookie(jar.w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/",
		Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
		HttpOnly: true, Secure: jar.secure, SameSite: http.SameSiteLaxMode,
	})
}

func clearSessionCookie(ctx context.Context) {
	jar, ok := ctx.Value(cookieJarKey{}).(*cookieJar)
	if !ok {
		return
	}
	http.SetCookie(jar.w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: jar.secure, SameSite: http.SameSiteLaxMode,
	})
}

// credentialKey keeps the token that authenticated the request, so a
// long-lived WebSocket can re-check it (see Watch).
type credentialKey struct{}

// CredentialFrom returns the token that authenticated the request, if any.
func CredentialFrom(ctx context.Context) string {
	t, _ := ctx.Value(credentialKey{}).(string)
	return t
}

// Middleware resolves the viewer of each request from an
// `Authorization: Bearer` token (mobile apps, partners) or the session
// cookie (browsers), records the client for sessions and rate limits, and
// enforces the CSRF header on cookie-authenticated requests that can
// change state. An invalid bearer token is refused with 401; an invalid
// cookie is cleared and the request goes on anonymously, so a browser with
// a stale cookie can still sign in. Each gate is consulted before a 401
// for refused credentials is written.
func (s *Service) Middleware(log *slog.Logger, next http.Handler, gates ...RefusalGate) http.Handler {
	refuse := func(ctx context.Context, w http.ResponseWriter, r *http.Request) bool {
		for _, g := range gates {
			if g(w, r.WithContext(ctx)) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ctx = WithClient(ctx, Client{IP: clientIP(r, s.opts.TrustedProxies), UserAgent: r.UserAgent()})
		ctx = context.WithValue(ctx, cookieJarKey{}, &cookieJar{w: w, secure: s.opts.SecureCookies || r.TLS != nil})
		ctx = context.WithValue(ctx, signedInKey{}, &signedInSlot{})

		if h := r.Header.Get("Authorization"); h != "" {
			scheme, token, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				if refuse(ctx, w, r) {
					return
				}
				writeAuthError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "use Authorization: Bearer <token>")
				return
			}
			v, err := s.Authenticate(ctx, strings.TrimSpace(token))
			if errors.Is(err, ErrCredentialsExpired) && refuse(ctx, w, r) {
				return
			}
			if err != nil {
				s.authFailed(w, r, log, err)
				return
			}
			ctx = context.WithValue(WithViewer(ctx, v), credentialKey{}, strings.TrimSpace(token))
			serve(ctx, next, w, r)
			return
		}
		if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			v, err := s.Authenticate(ctx, c.Value)
			switch {
			case errors.Is(err, ErrCredentialsExpired):
				clearSessionCookie(ctx)
			case err != nil:
				s.authFailed(w, r, log, err)
				return
			default:
				if !safeMethod(r.Method) && r.Header.Get(CSRFHeader) == "" {
					writeAuthError(w, http.StatusForbidden, "FORBIDDEN",
						"requests authenticated by the session cookie must send the "+CSRFHeader+" header")
					return
				}
				ctx = context.WithValue(WithViewer(ctx, v), credentialKey{}, c.Value)
			}
		}
		serve(ctx, next, w, r)
	})
}

// RefusalGate is consulted when a request's bearer credentials are
// refused (unknown, expired, revoked, or not a Bearer token), before the
// 401 is written; the request's context carries its Client. A gate may
// set headers on w, or answer the request itself and return true (the
// rate limits answer 429 to a client that keeps failing). Requests that
// authenticate never reach a gate.
type RefusalGate func(w http.ResponseWriter, r *http.Request) (answered bool)

// serve runs next with ctx and hands the matched route pattern back to r,
// which the access log and metrics outside this middleware read.
func serve(ctx context.Context, next http.Handler, w http.ResponseWriter, r *http.Request) {
	r2 := r.WithContext(ctx)
	next.ServeHTTP(w, r2)
	r.Pattern = r2.Pattern
}

func (s *Service) authFailed(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if errors.Is(err, ErrCredentialsExpired) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeAuthError(w, http.StatusUnauthorized, "UNAUTHENTICATED", ErrCredentialsExpired.Message)
		return
	}
	log.ErrorContext(r.Context(), "authenticate request", "error", err.Error())
	writeAuthError(w, http.StatusServiceUnavailable, "INTERNAL", "authentication is unavailable; try again shortly")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// writeAuthError answers in the GraphQL error shape, before the GraphQL
// executor runs.
func writeAuthError(w http.ResponseWriter, status int, code, message string) {
	body, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{
		"message": message, "extensions": map[string]string{"code": code},
	}}}) // cannot fail: strings only
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client may be gone; nothing to do about it
}

// WithCredential returns ctx carrying v, the viewer that token
// authenticated, and the token itself, so a long-lived WebSocket can
// re-check it with Authenticate (see CredentialFrom).
func WithCredential(ctx context.Context, token string, v *Viewer) context.Context {
	return context.WithValue(WithViewer(ctx, v), credentialKey{}, token)
}

// ForOperation gives one operation of a long-lived connection (a query or
// mutation over a WebSocket) what the HTTP middleware gives each request:
// a sign-in (register, signIn) is seen by the rest of that operation's
// fields, so its payload's user is readable, and by nothing after it.
func ForOperation(ctx context.Context) context.Context {
	return context.WithValue(ctx, signedInKey{}, &signedInSlot{})
}

// Detach returns a context without cancellation that carries what ctx
// says about the caller (its client, viewer and credential) and nothing
// of the HTTP request it came from: a WebSocket outlives its upgrade
// request, and keeping the request's context alive would keep its
// response, buffers and cookie jar (a socket cannot set cookies anyway).
func Detach(ctx context.Context) context.Context {
	d := WithClient(context.Background(), ClientFrom(ctx))
	if v := ViewerFrom(ctx); v != nil {
		d = WithViewer(d, v)
	}
	if t := CredentialFrom(ctx); t != "" {
		d = context.WithValue(d, credentialKey{}, t)
	}
	return d
}

// Watch returns a context carrying the viewer of token that is cancelled
// once the token stops being valid (signed out, revoked, expired, user
// deactivated), checked every interval. WebSocket connections run in it,
// so their subscriptions end with their credentials. Transient failures
// (cache or database briefly down) do not end the connection.
func (s *Service) Watch(ctx context.Context, log *slog.Logger, token string, v *Viewer, interval time.Duration) context.Context {
	ctx = WithCredential(ctx, token, v)
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			_, err := s.Authenticate(ctx, token)
			switch {
			case errors.Is(err, ErrCredentialsExpired):
				cancel(ErrCredentialsExpired)
				return
			case err != nil && ctx.Err() == nil:
				log.WarnContext(ctx, "re-check websocket credentials", "error", err.Error())
			}
		}
	}()
	return ctx
}
