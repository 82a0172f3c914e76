package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"frontdesk/errcode"
	"frontdesk/identity"
)

// gorillaWebsocket gives gorilla/websocket to gqlgen's Websocket transport,
// which since v0.17.92 takes a pluggable implementation. It also keeps the
// set of open connections so that shutdown can send each a close frame:
// hijacked connections are invisible to http.Server.Shutdown.
type gorillaWebsocket struct {
	upgrader websocket.Upgrader
	// keepAlive is the interval of the protocol-level pings (see
	// pingAll); 0 sends none.
	keepAlive time.Duration

	mu      sync.Mutex
	conns   map[*gorillaConn]struct{}
	pinging bool // the keep-alive goroutine runs
}

var _ transport.WebsocketImplementation = (*gorillaWebsocket)(nil)

func newGorillaWebsocket(checkOrigin func(*http.Request) bool) *gorillaWebsocket {
	return &gorillaWebsocket{
		upgrader: websocket.Upgrader{
			HandshakeTimeout: 10 * time.Second,
			CheckOrigin:      checkOrigin,
			// gqlgen negotiates graphql-transport-ws and graphql-ws.
			Subprotocols: nil,
			// No buffer sizes and no write buffer pool: gorilla then
			// writes through the 4 KiB buffer net/http keeps for the
			// hijacked connection anyway, while gqlgen's transport runs
			// the connection inside the HTTP handler.
		},
		conns: map[*gorillaConn]struct{}{},
	}
}

// Accept upgrades the request and registers the connection.
func (g *gorillaWebsocket) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	up := g.upgrader
	up.Subprotocols = opts.Subprotocols
	conn, err := up.Upgrade(w, r, opts.ResponseHeader)
	if err != nil {
		// Upgrade has already written an HTTP error response.
		return nil, err
	}
	c := &gorillaConn{conn: conn, owner: g, legacy: conn.Subprotocol() != "graphql-transport-ws"}
	g.mu.Lock()
	g.conns[c] = struct{}{}
	start := g.keepAlive > 0 && !g.pinging
	if start {
		g.pinging = true
	}
	g.mu.Unlock()
	if start {
		go g.pingLoop()
	}
	return c, nil
}

// Keep-alive. gqlgen's transport would run a ticker and a goroutine per
// connection for it; one loop for all connections pings instead, and
// exists only while connections are open. On graphql-transport-ws it
// sends ping and expects the client's pong within two intervals (gqlgen's
// read loop clears the read deadline when the pong arrives, see
// SetReadDeadline); on the legacy graphql-ws it sends ka.
var (
	wsPing = []byte(`{"type":"ping"}`)
	wsKA   = []byte(`{"type":"ka"}`)
)

// pingers is how many connections are pinged at once: a client that stops
// reading can hold a write for writeWait.
const pingers = 8

func (g *gorillaWebsocket) pingLoop() {
	t := time.NewTicker(g.keepAlive)
	defer t.Stop()
	for range t.C {
		g.mu.Lock()
		if len(g.conns) == 0 {
			g.pinging = false
			g.mu.Unlock()
			return
		}
		conns := make([]*gorillaConn, 0, len(g.conns))
		for c := range g.conns {
			conns = append(conns, c)
		}
		g.mu.Unlock()
		g.pingAll(conns)
	}
}

func (g *gorillaWebsocket) pingAll(conns []*gorillaConn) {
	work := make(chan *gorillaConn)
	var wg sync.WaitGroup
	for range min(pingers, len(conns)) {
		wg.Go(func() {
			for c := range work {
				c.ping(g.keepAlive)
			}
		})
	}
	for _, c := range conns {
		work <- c
	}
	close(work)
	wg.Wait()
}

// ping sends one keep-alive, unless the connection has not been
// acknowledged yet or a write is under way (then the peer is being
// written to anyway).
func (c *gorillaConn) ping(interval time.Duration) {
	if !c.acked.Load() || !c.writeMu.TryLock() {
		return
	}
	defer c.writeMu.Unlock()
	msg := wsPing
	if c.legacy {
		msg = wsKA
	}
	if c.conn.SetWriteDeadline(time.Now().Add(writeWait)) != nil || c.conn.WriteMessage(websocket.TextMessage, msg) != nil {
		return // the read loop sees the broken connection and ends it
	}
	if !c.legacy && !c.awaitingPong.Swap(true) {
		_ = c.conn.SetReadDeadline(time.Now().Add(2 * interval))
	}
}

// CloseAll sends a close frame with the given code to every open connection
// and closes it. The server calls it on shutdown with 1001 (going away).
func (g *gorillaWebsocket) CloseAll(code int, reason string) {
	g.mu.Lock()
	conns := make([]*gorillaConn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		_ = c.WriteClose(code, reason) // best effort: the peer may be gone
		_ = c.Close()
	}
}

// Open returns the number of open connections.
func (g *gorillaWebsocket) Open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

func (g *gorillaWebsocket) forget(c *gorillaConn) {
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
}

// gorillaConn adapts *websocket.Conn. gorilla allows one concurrent writer,
// while gqlgen writes from the keep-alive ticker and from each subscription,
// so writes are serialised here.
type gorillaConn struct {
	conn  *websocket.Conn
	owner *gorillaWebsocket

	legacy bool // graphql-ws rather than graphql-transport-ws

	writeMu   sync.Mutex
	closeOnce sync.Once
	// acked: gqlgen has written its first message (connection_ack), so
	// keep-alives may go out; awaitingPong: a ping is unanswered and the
	// read deadline is set.
	acked, awaitingPong atomic.Bool
}

var (
	_ transport.WebsocketConn          = (*gorillaConn)(nil)
	_ transport.WebsocketReadLimiter   = (*gorillaConn)(nil)
	_ transport.WebsocketReadDeadliner = (*gorillaConn)(nil)
)

const writeWait = 10 * time.Second

func (c *gorillaConn) NextReader() (int, io.Reader, error) {
	typ, r, err := c.conn.NextReader()
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway || ce.Code == websocket.CloseNoStatusReceived) {
			return typ, nil, transport.ErrWebsocketClosed
		}
		return typ, nil, err
	}
	return typ, r, nil
}

func (c *gorillaConn) WriteJSON(v any) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	// A deadline per write means a client that stops reading cannot block
	// its subscriptions' senders forever.
	if err := c.conn.SetWriteDeadline(time.Now().Add(writeWait)); err != nil {
		return err
	}
	c.acked.Store(true)
	return c.conn.WriteJSON(v)
}

// closeInitTimeout is graphql-transport-ws's close code for a client that
// did not send connection_init in time.
const closeInitTimeout = 4408

func (c *gorillaConn) WriteClose(code int, message string) error {
	// gqlgen closes a connection whose connection_init did not arrive in
	// time with the generic 1002; graphql-transport-ws specifies 4408, so
	// clients can tell a slow start from a protocol error and retry. The
	// legacy graphql-ws protocol has no such code and keeps 1002.
	if code == transport.WebsocketCloseProtocolError && message == "connection initialisation timeout" && c.conn.Subprotocol() == "graphql-transport-ws" {
		code, message = closeInitTimeout, "Connection initialisation timeout"
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	msg := websocket.FormatCloseMessage(code, message)
	return c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait))
}

func (c *gorillaConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.owner.forget(c)
		err = c.conn.Close()
	})
	return err
}

func (c *gorillaConn) Subprotocol() string { return c.conn.Subprotocol() }

func (c *gorillaConn) SetReadLimit(limit int64) { c.conn.SetReadLimit(limit) }

// SetReadDeadline is how gqlgen's read loop says that a pong arrived: it
// clears the deadline.
func (c *gorillaConn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		c.awaitingPong.Store(false)
	}
	return c.conn.SetReadDeadline(t)
}

// wsLimits caps what WebSockets may hold on one replica: connections per
// client IP (checked before the upgrade, so a refused client costs no
// hijacked connection), connections per signed-in user or API key
// (checked after connection_init, when the viewer is known) and live
// subscriptions per connection. Every connection and subscription holds
// memory and goroutines for as long as it stays open, so without caps
// one client could hold them all.
type wsLimits struct {
	perIP, perUser, perConn int
	log                     *slog.Logger // panics of a connection; nil: slog.Default

	mu    sync.Mutex
	ips   map[string]int
	users map[string]int
}

// closeTooMany is the close code for a connection over its caller's cap;
// graphql-transport-ws uses 4429 for "too many" refusals.
const closeTooMany = 4429

func newWSLimits(perIP, perUser, perConn int) *wsLimits {
	return &wsLimits{perIP: perIP, perUser: perUser, perConn: perConn, ips: map[string]int{}, users: map[string]int{}}
}

func (l *wsLimits) acquire(counts map[string]int, key string, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if counts[key] >= max {
		return false
	}
	counts[key]++
	return true
}

func (l *wsLimits) release(counts map[string]int, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Delete at zero: a map that kept every address ever seen would grow
	// without bound.
	if counts[key] <= 1 {
		delete(counts, key)
		return
	}
	counts[key]--
}

// wsConnKey carries a connection's *wsConn in its context.
type wsConnKey struct{}

// wsConn is what one WebSocket holds against the caps.
type wsConn struct {
	mu   sync.Mutex
	user string
	subs int
}

// middleware counts WebSocket upgrades per client network (IPv6: /64) and
// holds the slot until the connection ends: gqlgen's transport serves the
// whole connection inside ServeHTTP.
func (l *wsLimits) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" || slices.Contains(websocket.Subprotocols(r), wsProtocol) {
			// graphql-transport-ws counts its connections itself
			// (wsTransport).
			next.ServeHTTP(w, r)
			return
		}
		ip := anonymousKey(r.Context(), peerHost(r))
		if !l.acquire(l.ips, ip, l.perIP) {
			writeJSONError(w, http.StatusTooManyRequests, string(errcode.ConnectionLimit),
				fmt.Sprintf("too many WebSocket connections from this address; at most %d may be open at once", l.perIP))
			return
		}
		c := &wsConn{}
		release := func() {
			l.release(l.ips, ip)
			c.mu.Lock()
			user := c.user
			c.mu.Unlock()
			if user != "" {
				l.release(l.users, user)
			}
		}
		// gqlgen serves the whole connection inside ServeHTTP. Run it on
		// a goroutine of its own and let this handler return once the
		// connection is hijacked: the HTTP server's goroutine, with the
		// stack of every middleware above, then ends instead of staying
		// parked for the connection's lifetime (≈ 10 KiB per subscriber).
		// The connection's context keeps the request's values but not its
		// cancellation, which net/http fires when the handler returns;
		// shutdown closes WebSockets itself (CloseAll).
		ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
		ctx = context.WithValue(ctx, wsConnKey{}, c)
		hw := &hijackNotifier{ResponseWriter: w, hijacked: make(chan struct{})}
		served := make(chan struct{})
		go func() {
			defer close(served)
			defer cancel()
			defer release()
			defer func() {
				if p := recover(); p != nil && p != http.ErrAbortHandler {
					log := l.log
					if log == nil {
						log = slog.Default()
					}
					log.ErrorContext(ctx, "panic in WebSocket connection", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				}
			}()
			next.ServeHTTP(hw, r.WithContext(ctx))
		}()
		// Until the upgrade, the handler's goroutine waits, so a refused
		// upgrade still writes its HTTP response through it.
		select {
		case <-hw.hijacked:
		case <-served:
		}
	})
}

// hijackNotifier tells the handler that the connection was hijacked (the
// WebSocket upgrade went through), after which the HTTP server no longer
// needs the handler to run.
type hijackNotifier struct {
	http.ResponseWriter
	hijacked chan struct{}
}

func (h *hijackNotifier) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	conn, rw, err := hj.Hijack()
	if err == nil {
		close(h.hijacked)
	}
	return conn, rw, err
}

func (h *hijackNotifier) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// init wraps the connection_init handler: once inner has found the viewer,
// the connection counts against its user's or API key's cap.
func (l *wsLimits) init(inner transport.WebsocketInitFunc) transport.WebsocketInitFunc {
	return func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		var ack *transport.InitPayload
		if inner != nil {
			next, a, err := inner(ctx, p)
			if err != nil {
				return next, a, err
			}
			ctx, ack = next, a
		}
		c, _ := ctx.Value(wsConnKey{}).(*wsConn)
		v := identity.ViewerFrom(ctx)
		if c == nil || v == nil || v.System {
			return ctx, ack, nil
		}
		key := "user:" + string(v.UserID)
		if v.APIKeyID != "" {
			key = "key:" + string(v.APIKeyID)
		}
		if !l.acquire(l.users, key, l.perUser) {
			reason := fmt.Sprintf("too many connections for this account (at most %d)", l.perUser)
			return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, closeTooMany), reason), nil, errors.New(reason)
		}
		c.mu.Lock()
		c.user = key
		c.mu.Unlock()
		return ctx, ack, nil
	}
}

var (
	_ graphql.HandlerExtension     = (*wsLimits)(nil)
	_ graphql.OperationInterceptor = (*wsLimits)(nil)
)

func (*wsLimits) ExtensionName() string                   { return "WebSocketLimits" }
func (*wsLimits) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation counts a connection's live subscriptions. A
// subscription ends when its context does (complete, stop, or the
// connection closing), which gives its slot back.
func (l *wsLimits) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	c, _ := ctx.Value(wsConnKey{}).(*wsConn)
	op := graphql.GetOperationContext(ctx)
	if c == nil || op.Operation == nil || op.Operation.Operation != ast.Subscription {
		return next(ctx)
	}
	c.mu.Lock()
	full := c.subs >= l.perConn
	if !full {
		c.subs++
	}
	c.mu.Unlock()
	if full {
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
			Message:    fmt.Sprintf("too many subscriptions on this connection; at most %d may be live at once: complete one first", l.perConn),
			Extensions: map[string]any{"code": string(errcode.SubscriptionLimit)},
		}}})
	}
	context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.subs--
		c.mu.Unlock()
	})
	return next(ctx)
}
