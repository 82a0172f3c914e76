package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"

	"frontdesk/identity"
)

// closeForbidden is graphql-transport-ws's close code for refused
// credentials in connection_init.
const closeForbidden = 4403

var (
	errWSCredentials = errors.New("invalid, expired or revoked credentials")
	errWSAuthDown    = errors.New("authentication is unavailable; try again shortly")
)

// websocketInit authenticates a legacy graphql-ws connection (gqlgen's
// transport) with wsAuthenticate and closes it once its credentials stop
// being valid (identity.Service.Watch).
func websocketInit(auth *identity.Service, recheck time.Duration, log *slog.Logger) transport.WebsocketInitFunc {
	authenticate := wsAuthenticate(auth, log)
	return func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		next, refused := authenticate(ctx, p)
		if refused != nil {
			return refuse(ctx, refused.code, errors.New(refused.reason))
		}
		v := identity.ViewerFrom(next)
		token := identity.CredentialFrom(next)
		if v == nil || token == "" {
			return next, nil, nil
		}
		watched := auth.Watch(ctx, log, token, v, recheck)
		return revocable{Context: watched, reason: transport.AppendCloseReason(watched, "credentials revoked or expired; sign in again")}, nil, nil
	}
}

// wsAuthenticate authenticates a WebSocket from its connection_init
// payload: `{"Authorization": "Bearer <token>"}` or `{"authToken":
// "<token>"}`, else the session cookie or header of the upgrade request.
// Invalid credentials are refused with 4403; none at all leave the
// connection anonymous, so only subscriptions that need a viewer fail. The
// returned context carries the viewer and its credential, which the
// transport re-checks while the connection is open.
func wsAuthenticate(auth *identity.Service, log *slog.Logger) func(ctx context.Context, p transport.InitPayload) (context.Context, *wsRefusal) {
	return func(ctx context.Context, p transport.InitPayload) (context.Context, *wsRefusal) {
		token := p.GetString("authToken")
		if h := p.Authorization(); h != "" {
			scheme, rest, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				return ctx, &wsRefusal{closeForbidden, errWSCredentials.Error()}
			}
			token = strings.TrimSpace(rest)
		}
		if token == "" {
			token = identity.CredentialFrom(ctx)
		}
		if token == "" {
			return ctx, nil
		}
		v, err := auth.Authenticate(ctx, token)
		if errors.Is(err, identity.ErrCredentialsExpired) {
			return ctx, &wsRefusal{closeForbidden, errWSCredentials.Error()}
		}
		if err != nil {
			log.ErrorContext(ctx, "authenticate websocket", "error", err.Error())
			return ctx, &wsRefusal{websocket.CloseInternalServerErr, errWSAuthDown.Error()}
		}
		return identity.WithCredential(ctx, token, v), nil
	}
}

// refuse ends connection_init with a close code and the error as its close
// reason: many clients (browsers among them) never show the
// connection_error message gqlgen sends first, only the close frame, which
// would otherwise just say "terminated".
func refuse(ctx context.Context, code int, err error) (context.Context, *transport.InitPayload, error) {
	ctx = transport.WithWebsocketCloseCode(ctx, code)
	return transport.AppendCloseReason(ctx, err.Error()), nil, err
}

// revocable tells gqlgen why it closes a connection, but only when the
// credentials were revoked: gqlgen sends the close reason found in the
// context whenever the connection's context ends, including ordinary
// closes, so the reason must appear only once the cause is known.
type revocable struct {
	context.Context
	reason context.Context
}

func (r revocable) Value(key any) any {
	if errors.Is(context.Cause(r.Context), identity.ErrCredentialsExpired) {
		return r.reason.Value(key)
	}
	return r.Context.Value(key)
}
