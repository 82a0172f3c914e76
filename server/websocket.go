package server

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

// gorillaWebsocket gives gorilla/websocket to gqlgen's Websocket transport,
// which since v0.17.92 takes a pluggable implementation. It also keeps the
// set of open connections so that shutdown can send each a close frame:
// hijacked connections are invisible to http.Server.Shutdown.
type gorillaWebsocket struct {
	upgrader websocket.Upgrader

	mu    sync.Mutex
	conns map[*gorillaConn]struct{}
}

var _ transport.WebsocketImplementation = (*gorillaWebsocket)(nil)

func newGorillaWebsocket(checkOrigin func(*http.Request) bool) *gorillaWebsocket {
	return &gorillaWebsocket{
		upgrader: websocket.Upgrader{
			HandshakeTimeout: 10 * time.Second,
			CheckOrigin:      checkOrigin,
			// gqlgen negotiates graphql-transport-ws and graphql-ws.
			Subprotocols: nil,
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
	c := &gorillaConn{conn: conn, owner: g}
	g.mu.Lock()
	g.conns[c] = struct{}{}
	g.mu.Unlock()
	return c, nil
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

	writeMu   sync.Mutex
	closeOnce sync.Once
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

func (c *gorillaConn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }
