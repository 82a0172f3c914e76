package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	gqlerrcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"frontdesk/errcode"
	"frontdesk/events"
	"frontdesk/identity"
	"frontdesk/requestid"
)

// wsTransport serves graphql-transport-ws itself rather than through
// gqlgen's transport.Websocket, which keeps three goroutines per
// subscriber (its read loop, a close watcher and the subscription's
// executor) and marshals every event once per subscriber. Operations
// still run on gqlgen's executor with every extension; only the socket is
// ours:
//
//   - One goroutine per connection, the read loop, which only reads and
//     decodes the envelope; connection_init and each subscribe are
//     handled on short-lived goroutines, so the loop's stack stays small.
//     Writes go through a per-connection queue drained by a goroutine
//     that exists only while there is something to write; a client that
//     lets the queue fill is disconnected.
//   - Keep-alive pings and the re-check of signed-in connections'
//     credentials run in one loop for all connections.
//   - Subscriptions of anonymous connections with the same document,
//     operation and variables share one execution: the result cannot
//     depend on the viewer (there is none), so each event is executed and
//     encoded once and the same bytes go to every such subscriber. A
//     signed-in connection's subscription runs on its own, as its
//     viewer's rules decide what it sees.
//
// The legacy graphql-ws protocol stays with gqlgen's transport (see
// newGraphQLHandler).
type wsTransport struct {
	upgrader    websocket.Upgrader
	initTimeout time.Duration
	keepAlive   time.Duration
	readLimit   int64
	// init authenticates connection_init; nil leaves every connection
	// anonymous.
	init func(ctx context.Context, p transport.InitPayload) (context.Context, *wsRefusal)
	// auth re-checks signed-in connections' credentials every recheck.
	auth    *identity.Service
	recheck time.Duration
	limits  *wsLimits
	// admit counts an operation against its caller's rate limit; nil
	// admits everything.
	admit func(ctx context.Context, peer string) *gqlerror.Error
	log   *slog.Logger

	mu      sync.Mutex
	sockets map[*wsSocket]struct{}
	looping bool // the maintenance loop runs

	groupMu sync.Mutex
	groups  map[string]*wsGroup

	// listening counts subscriptions whose execution is listening for
	// events (see Server.Subscriptions).
	listening atomic.Int64
}

// wsProtocol is the one subprotocol wsTransport speaks.
const wsProtocol = "graphql-transport-ws"

// Close codes of graphql-transport-ws besides closeForbidden (4403),
// closeInitTimeout (4408) and closeTooMany (4429).
const (
	closeBadRequest   = 4400
	closeUnauthorized = 4401
	closeDuplicateID  = 4409
	// closeTooSlow is for a client that does not read what it is sent
	// (policy violation: the protocol has no code of its own for it).
	closeTooSlow = websocket.ClosePolicyViolation
)

// wsMaxQueued is how many messages may wait for a client that is not
// reading before it is disconnected.
const wsMaxQueued = 256

// wsRefusal is a connection_init refused with a close code.
type wsRefusal struct {
	code   int
	reason string
}

func newWSTransport(checkOrigin func(*http.Request) bool) *wsTransport {
	return &wsTransport{
		upgrader: websocket.Upgrader{
			HandshakeTimeout: 10 * time.Second,
			CheckOrigin:      checkOrigin,
			Subprotocols:     []string{wsProtocol},
			// Client messages are small; a message larger than the
			// buffer is read through it. Write buffers are taken from
			// the pool for the length of one write, so an idle
			// connection holds none.
			ReadBufferSize:  512,
			WriteBufferSize: 4096,
			WriteBufferPool: &sync.Pool{},
		},
		sockets: map[*wsSocket]struct{}{},
		groups:  map[string]*wsGroup{},
	}
}

var _ graphql.Transport = (*wsTransport)(nil)

// Supports takes WebSocket upgrades that offer graphql-transport-ws.
func (t *wsTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && slices.Contains(websocket.Subprotocols(r), wsProtocol)
}

// Do upgrades the connection, starts its read loop and returns, so the
// HTTP server's goroutine (with every middleware's frame) ends.
func (t *wsTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ip := anonymousKey(r.Context(), peerHost(r))
	if t.limits != nil && !t.limits.acquire(t.limits.ips, ip, t.limits.perIP) {
		writeJSONError(w, http.StatusTooManyRequests, string(errcode.ConnectionLimit),
			fmt.Sprintf("too many WebSocket connections from this address; at most %d may be open at once", t.limits.perIP))
		return
	}
	conn, err := t.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has already written an HTTP error response.
		if t.limits != nil {
			t.limits.release(t.limits.ips, ip)
		}
		return
	}
	if t.readLimit > 0 {
		conn.SetReadLimit(t.readLimit)
	}
	ctx, cancel := context.WithCancel(detach(r.Context()))
	s := &wsSocket{t: t, exec: exec, conn: conn, ip: ip, peer: peerHost(r), ctx: ctx, cancel: cancel}
	t.add(s)
	if t.initTimeout > 0 {
		s.mu.Lock()
		s.initTimer = time.AfterFunc(t.initTimeout, func() {
			if !s.acked.Load() {
				s.close(closeInitTimeout, "Connection initialisation timeout")
			}
		})
		s.mu.Unlock()
	}
	go s.read()
}

// detach keeps what operations need of the upgrade request's context (the
// caller and the request id) without the request itself, which a
// connection would otherwise keep alive with its buffers for hours.
func detach(ctx context.Context) context.Context {
	d := identity.Detach(ctx)
	if id := requestid.From(ctx); id != "" {
		d = requestid.With(d, id)
	}
	return d
}

func (t *wsTransport) add(s *wsSocket) {
	t.mu.Lock()
	t.sockets[s] = struct{}{}
	start := !t.looping && (t.keepAlive > 0 || (t.auth != nil && t.recheck > 0))
	if start {
		t.looping = true
	}
	t.mu.Unlock()
	if start {
		go t.maintain()
	}
}

func (t *wsTransport) forget(s *wsSocket) {
	t.mu.Lock()
	delete(t.sockets, s)
	t.mu.Unlock()
}

func (t *wsTransport) snapshot() []*wsSocket {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := make([]*wsSocket, 0, len(t.sockets))
	for s := range t.sockets {
		all = append(all, s)
	}
	return all
}

// Open returns the number of open connections.
func (t *wsTransport) Open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sockets)
}

// CloseAll closes every connection with code; the server calls it on
// shutdown with 1001 (going away).
func (t *wsTransport) CloseAll(code int, reason string) {
	for _, s := range t.snapshot() {
		s.close(code, reason)
	}
}

// maintain pings every connection each keep-alive interval and re-checks
// signed-in connections' credentials each recheck interval: one loop for
// all connections instead of tickers and goroutines per connection. It
// ends when the last connection does.
func (t *wsTransport) maintain() {
	var ping, recheck <-chan time.Time
	if t.keepAlive > 0 {
		tk := time.NewTicker(t.keepAlive)
		defer tk.Stop()
		ping = tk.C
	}
	if t.auth != nil && t.recheck > 0 {
		tk := time.NewTicker(t.recheck)
		defer tk.Stop()
		recheck = tk.C
	}
	for {
		var pinging bool
		select {
		case <-ping:
			pinging = true
		case <-recheck:
		}
		t.mu.Lock()
		if len(t.sockets) == 0 {
			t.looping = false
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
		all := t.snapshot()
		if pinging {
			for _, s := range all {
				s.ping(t.keepAlive)
			}
			continue
		}
		t.recheckAll(all)
	}
}

// rechecks is how many credential checks run at once.
const rechecks = 8

// recheckAll closes, with 4403, every signed-in connection whose
// credentials stopped being valid (signed out, revoked, expired, user
// deactivated). A transient failure (cache or database briefly down)
// leaves the connection open.
func (t *wsTransport) recheckAll(all []*wsSocket) {
	work := make(chan *wsSocket)
	var wg sync.WaitGroup
	for range min(rechecks, len(all)) {
		wg.Go(func() {
			for s := range work {
				ctx, token := s.credential()
				if token == "" {
					continue
				}
				_, err := t.auth.Authenticate(ctx, token)
				switch {
				case errors.Is(err, identity.ErrCredentialsExpired):
					s.close(closeForbidden, "credentials revoked or expired; sign in again")
				case err != nil && ctx.Err() == nil:
					t.logger().WarnContext(ctx, "re-check websocket credentials", "error", err.Error())
				}
			}
		})
	}
	for _, s := range all {
		work <- s
	}
	close(work)
	wg.Wait()
}

func (t *wsTransport) logger() *slog.Logger {
	if t.log == nil {
		return slog.Default()
	}
	return t.log
}

// wsSocket is one graphql-transport-ws connection.
type wsSocket struct {
	t    *wsTransport
	exec graphql.GraphExecutor
	conn *websocket.Conn
	ip   string // the per-address cap's key
	peer string // the TCP peer, for the rate limit

	initStarted, acked, awaitingPong atomic.Bool

	mu        sync.Mutex
	ctx       context.Context // after connection_init: with the viewer
	cancel    context.CancelFunc
	initTimer *time.Timer
	ops       map[string]*wsOp
	subs      int    // live subscriptions, against the per-connection cap
	user      string // the per-user cap's key, once counted
	token     string // the credential to re-check, if signed in
	closed    bool
	queue     []wsFrame
	writing   bool // a goroutine is draining queue
}

// wsOp is one operation started by subscribe.
type wsOp struct {
	id     string
	sub    bool
	cancel context.CancelFunc // nil until it runs
	group  *wsGroup           // set when it shares a group's execution
	// counted: the subscription is listening and counts in listening.
	counted bool
	// A subscription driven by the event bus's wakes (events.Wake):
	// its stream, how many values are waiting, and whether drain runs.
	responses graphql.ResponseHandler
	rctx      context.Context
	pending   int
	draining  bool
}

// wsFrame is one message to write: its bytes, or a message prepared once
// for many connections.
type wsFrame struct {
	data     []byte
	prepared *websocket.PreparedMessage
}

// wsEnvelope is a graphql-transport-ws message from the client.
type wsEnvelope struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

func (s *wsSocket) context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctx
}

func (s *wsSocket) credential() (context.Context, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctx, s.token
}

// read is the connection's one goroutine while it is idle.
func (s *wsSocket) read() {
	defer s.close(0, "")
	for {
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			// A read past the limit has already sent 1009; a closed or
			// broken connection needs no close frame.
			return
		}
		received := graphql.Now()
		var m wsEnvelope
		if json.Unmarshal(data, &m) != nil {
			s.close(closeBadRequest, "Invalid message received")
			return
		}
		switch m.Type {
		case "connection_init":
			if !s.initStarted.CompareAndSwap(false, true) {
				s.close(closeTooMany, "Too many initialisation requests")
				return
			}
			go s.initialise(m.Payload)
		case "ping":
			s.send(wsFrame{data: wsMessage("pong", "", m.Payload)})
		case "pong":
			if s.awaitingPong.Swap(false) {
				_ = s.conn.SetReadDeadline(time.Time{})
			}
		case "subscribe":
			if !s.acked.Load() {
				s.close(closeUnauthorized, "Unauthorized")
				return
			}
			if m.ID == "" || len(m.Payload) == 0 {
				s.close(closeBadRequest, "Invalid message received")
				return
			}
			if !s.reserve(m.ID) {
				s.close(closeDuplicateID, "Subscriber for "+truncate(m.ID, 64)+" already exists")
				return
			}
			go s.start(m.ID, m.Payload, received)
		case "complete":
			s.stop(m.ID)
		default:
			s.close(closeBadRequest, "Invalid message received")
			return
		}
	}
}

// initialise authenticates connection_init, counts the connection against
// its account's cap and acknowledges it.
func (s *wsSocket) initialise(raw json.RawMessage) {
	defer s.recover("connection_init")
	var p transport.InitPayload
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &p); err != nil {
			s.close(closeBadRequest, "Invalid connection_init payload")
			return
		}
	}
	ctx := s.context()
	if s.t.init != nil {
		next, refused := s.t.init(ctx, p)
		if refused != nil {
			s.close(refused.code, refused.reason)
			return
		}
		ctx = next
	}
	var user string
	if v := identity.ViewerFrom(ctx); v != nil && !v.System && s.t.limits != nil {
		user = "user:" + string(v.UserID)
		if v.APIKeyID != "" {
			user = "key:" + string(v.APIKeyID)
		}
		if !s.t.limits.acquire(s.t.limits.users, user, s.t.limits.perUser) {
			s.close(closeTooMany, fmt.Sprintf("too many connections for this account (at most %d)", s.t.limits.perUser))
			return
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		if user != "" {
			s.t.limits.release(s.t.limits.users, user)
		}
		return
	}
	s.ctx, s.user = ctx, user
	if identity.ViewerFrom(ctx) != nil {
		s.token = identity.CredentialFrom(ctx)
	}
	if s.initTimer != nil {
		s.initTimer.Stop()
		s.initTimer = nil
	}
	s.mu.Unlock()
	s.acked.Store(true)
	s.send(wsFrame{data: []byte(`{"type":"connection_ack"}`)})
}

// reserve claims id for a new operation; false: it is in use.
func (s *wsSocket) reserve(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return true // the read loop ends anyway
	}
	if _, dup := s.ops[id]; dup {
		return false
	}
	if s.ops == nil {
		s.ops = map[string]*wsOp{}
	}
	s.ops[id] = &wsOp{id: id}
	return true
}

// stop ends the operation id at the client's request (complete).
func (s *wsSocket) stop(id string) {
	s.mu.Lock()
	op := s.ops[id]
	s.mu.Unlock()
	if op != nil {
		s.finish(op)
	}
}

// finish forgets op, cancels it and gives back its subscription slot.
// It runs once per operation.
func (s *wsSocket) finish(op *wsOp) {
	s.mu.Lock()
	if s.ops[op.id] != op {
		s.mu.Unlock()
		return
	}
	delete(s.ops, op.id)
	if op.sub {
		s.subs--
	}
	if op.counted {
		s.t.listening.Add(-1)
	}
	cancel, g := op.cancel, op.group
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if g != nil {
		g.leave(op)
	}
}

// listen counts op as listening for events, unless it already ended.
func (s *wsSocket) listen(op *wsOp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ops[op.id] == op && !op.counted {
		op.counted = true
		s.t.listening.Add(1)
	}
}

// live reports whether op is still the connection's operation under its
// id (not completed by the client, not closed).
func (s *wsSocket) live(op *wsOp) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ops[op.id] == op
}

// start parses, validates and runs one operation. It runs on a goroutine
// of its own, which ends with the operation (queries, mutations and
// signed-in subscriptions) or as soon as the subscription has joined its
// group (anonymous subscriptions).
func (s *wsSocket) start(id string, payload json.RawMessage, received time.Time) {
	defer s.recover("subscribe")
	s.mu.Lock()
	op := s.ops[id]
	s.mu.Unlock()
	if op == nil {
		return
	}
	ctx := graphql.StartOperationTrace(s.context())
	params := &graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		s.sendErrors(op, gqlerror.List{{Message: "invalid json"}})
		return
	}
	// No Headers: an operation over a socket has none of its own, and
	// keeping the upgrade request's for hours is memory nothing reads.
	params.ReadTime = graphql.TraceTiming{Start: received, End: graphql.Now()}
	rc, errs := s.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := s.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		if gqlerrcode.GetErrorKind(errs) == gqlerrcode.KindProtocol {
			s.sendErrors(op, resp.Errors)
			return
		}
		s.sendOnly(op, &graphql.Response{Errors: errs})
		return
	}
	ctx = graphql.WithOperationContext(ctx, rc)
	if s.t.admit != nil {
		if refused := s.t.admit(ctx, s.peer); refused != nil {
			s.sendOnly(op, &graphql.Response{Errors: gqlerror.List{refused}})
			return
		}
	}
	sub := rc.Operation != nil && rc.Operation.Operation == ast.Subscription
	s.mu.Lock()
	if s.ops[id] != op {
		s.mu.Unlock()
		return // completed or closed meanwhile
	}
	if sub && s.t.limits != nil && s.subs >= s.t.limits.perConn {
		s.mu.Unlock()
		s.sendOnly(op, &graphql.Response{Errors: gqlerror.List{s.t.limits.refusal()}})
		return
	}
	// finish cancels it.
	ctx, cancel := context.WithCancel(ctx)
	if sub {
		op.sub = true
		s.subs++
	}
	op.cancel = cancel
	shared := sub && identity.ViewerFrom(ctx) == nil
	s.mu.Unlock()

	if shared {
		s.t.join(s, op, ctx, rc)
		// The group runs on a context of its own; dropping this one
		// lets the subscriber's copy of the operation go.
		s.mu.Lock()
		op.cancel = nil
		s.mu.Unlock()
		cancel()
		return
	}
	if !sub {
		ctx = identity.ForOperation(ctx)
	}
	var wake *events.Wake
	if sub {
		ctx, wake = events.WithWake(ctx, func() { s.wake(op) })
	}
	responses, ctx := s.exec.DispatchOperation(ctx, rc)
	if sub {
		s.listen(op)
	}
	if wake != nil && wake.Claimed() {
		// The event bus says when a value is waiting: no goroutine
		// needs to wait for it (drain).
		s.mu.Lock()
		op.responses, op.rctx = responses, ctx
		start := op.pending > 0 && !op.draining
		op.draining = op.draining || start
		s.mu.Unlock()
		if start {
			go s.drain(op)
		}
		return
	}
	for {
		resp := responses(ctx)
		if resp == nil {
			break
		}
		b, err := json.Marshal(resp)
		if err != nil {
			s.t.logger().ErrorContext(ctx, "encode websocket response", "error", err.Error())
			break
		}
		s.send(wsFrame{data: wsMessage("next", id, b)})
		if !sub && (resp.HasNext == nil || !*resp.HasNext) {
			// A query or mutation has one response, or more only
			// while they say so (@defer): extensions that answer from
			// a cache would answer again and again.
			break
		}
	}
	if s.live(op) {
		s.send(wsFrame{data: wsMessage("complete", id, nil)})
	}
	s.finish(op)
}

// wake is called by the event bus, in the publisher's goroutine, when a
// value is waiting on op's channel (or the channel closed).
func (s *wsSocket) wake(op *wsOp) {
	s.mu.Lock()
	op.pending++
	start := op.responses != nil && !op.draining
	op.draining = op.draining || start
	s.mu.Unlock()
	if start {
		go s.drain(op)
	}
}

// drain executes and sends op's waiting values, then ends: a subscription
// driven by wakes has a goroutine only while it has something to send.
func (s *wsSocket) drain(op *wsOp) {
	defer s.recover("subscription")
	for {
		s.mu.Lock()
		if op.pending == 0 || s.ops[op.id] != op {
			op.draining = false
			s.mu.Unlock()
			return
		}
		op.pending--
		responses, ctx := op.responses, op.rctx
		s.mu.Unlock()
		resp := responses(ctx)
		if resp == nil {
			if s.live(op) {
				s.send(wsFrame{data: wsMessage("complete", op.id, nil)})
			}
			s.finish(op)
			return
		}
		b, err := json.Marshal(resp)
		if err != nil {
			s.t.logger().ErrorContext(ctx, "encode websocket response", "error", err.Error())
			continue
		}
		s.send(wsFrame{data: wsMessage("next", op.id, b)})
	}
}

// sendOnly answers op with one response and completes it.
func (s *wsSocket) sendOnly(op *wsOp, resp *graphql.Response) {
	b, err := json.Marshal(resp)
	if err == nil {
		s.send(wsFrame{data: wsMessage("next", op.id, b)})
	}
	s.send(wsFrame{data: wsMessage("complete", op.id, nil)})
	s.finish(op)
}

// sendErrors ends op with an error message (no complete follows one).
func (s *wsSocket) sendErrors(op *wsOp, errs gqlerror.List) {
	b, err := json.Marshal(errs)
	if err == nil {
		s.send(wsFrame{data: wsMessage("error", op.id, b)})
	}
	s.finish(op)
}

// wsMessage encodes a server message.
func wsMessage(typ, id string, payload []byte) []byte {
	b := make([]byte, 0, len(payload)+len(id)+40)
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, '"')
	if id != "" {
		q, _ := json.Marshal(id) // a string always encodes
		b = append(b, `,"id":`...)
		b = append(b, q...)
	}
	if len(payload) > 0 {
		b = append(b, `,"payload":`...)
		b = append(b, payload...)
	}
	return append(b, '}')
}

// send queues f and starts the writer if none runs. A client whose queue
// is full is not reading and is disconnected.
func (s *wsSocket) send(f wsFrame) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= wsMaxQueued {
		s.mu.Unlock()
		// Not on the sender's goroutine: the close frame waits for the
		// stalled writer, and the sender may be a shared execution
		// with other subscribers to serve.
		go s.close(closeTooSlow, "client too slow: messages were not read")
		return
	}
	s.queue = append(s.queue, f)
	start := !s.writing
	s.writing = true
	s.mu.Unlock()
	if start {
		go s.flush()
	}
}

// flush writes the queue until it is empty, then ends.
func (s *wsSocket) flush() {
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		if len(batch) == 0 || s.closed {
			s.writing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for _, f := range batch {
			// A deadline per write: a client that stops reading cannot
			// hold the writer forever.
			err := s.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err == nil {
				if f.prepared != nil {
					err = s.conn.WritePreparedMessage(f.prepared)
				} else {
					err = s.conn.WriteMessage(websocket.TextMessage, f.data)
				}
			}
			if err != nil {
				s.close(0, "") // broken or stalled: nothing more can be said
				return
			}
		}
	}
}

// ping sends a keep-alive once the connection is acknowledged and expects
// the pong within two intervals.
func (s *wsSocket) ping(interval time.Duration) {
	if !s.acked.Load() {
		return
	}
	s.send(wsFrame{data: wsPing})
	if !s.awaitingPong.Swap(true) {
		_ = s.conn.SetReadDeadline(time.Now().Add(2 * interval))
	}
}

// close ends the connection once: a close frame with code (none when 0),
// every operation ended, every slot given back.
func (s *wsSocket) close(code int, reason string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	user, timer := s.user, s.initTimer
	// What each operation needs to end, read under the lock that join
	// and start write it under.
	type ending struct {
		op     *wsOp
		cancel context.CancelFunc
		group  *wsGroup
	}
	ended := make([]ending, 0, len(s.ops))
	for _, op := range s.ops {
		ended = append(ended, ending{op, op.cancel, op.group})
		if op.counted {
			s.t.listening.Add(-1)
		}
	}
	s.ops, s.queue = nil, nil
	s.mu.Unlock()
	if timer != nil {
		timer.Stop()
	}
	if code != 0 {
		msg := websocket.FormatCloseMessage(code, truncate(reason, 120))
		_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)) // best effort: the peer may be gone
	}
	_ = s.conn.Close()
	s.cancel()
	for _, op := range ended {
		if op.cancel != nil {
			op.cancel()
		}
		if op.group != nil {
			op.group.leave(op.op)
		}
	}
	s.t.forget(s)
	if s.t.limits != nil {
		s.t.limits.release(s.t.limits.ips, s.ip)
		if user != "" {
			s.t.limits.release(s.t.limits.users, user)
		}
	}
}

// recover turns a panic on one of the connection's goroutines into a log
// line and a closed connection.
func (s *wsSocket) recover(what string) {
	if p := recover(); p != nil {
		s.t.logger().Error("panic in WebSocket "+what, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		s.close(websocket.CloseInternalServerErr, "internal error")
	}
}

// refusal is the error of a subscription over the per-connection cap.
func (l *wsLimits) refusal() *gqlerror.Error {
	return &gqlerror.Error{
		Message:    fmt.Sprintf("too many subscriptions on this connection; at most %d may be live at once: complete one first", l.perConn),
		Extensions: map[string]any{"code": string(errcode.SubscriptionLimit)},
	}
}

// truncate cuts s to at most n bytes (close reasons are limited to 123).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
