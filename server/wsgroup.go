package server

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// wsGroup is one execution of a subscription shared by the anonymous
// subscribers of the same document, operation and variables.
type wsGroup struct {
	t       *wsTransport
	key     string
	cancel  context.CancelFunc
	members map[*wsOp]*wsSocket // guarded by t.groupMu
	ended   bool
	// started is closed once the execution listens for events.
	started chan struct{}
}

// groupKey identifies what a subscription's result depends on besides the
// viewer: the document, the operation and the (coerced) variables.
func groupKey(rc *graphql.OperationContext) (string, bool) {
	vars, err := json.Marshal(rc.Variables) // map keys sorted: one spelling per value
	if err != nil {
		return "", false
	}
	return rc.RawQuery + "\x00" + rc.OperationName + "\x00" + string(vars), true
}

// join adds op to the group of its subscription, starting the group's
// execution if it is the first.
func (t *wsTransport) join(s *wsSocket, op *wsOp, ctx context.Context, rc *graphql.OperationContext) {
	key, ok := groupKey(rc)
	if !ok {
		s.sendOnly(op, &graphql.Response{Errors: gqlerror.List{{Message: "variables cannot be encoded"}}})
		return
	}
	t.groupMu.Lock()
	if !s.live(op) {
		t.groupMu.Unlock()
		return
	}
	g := t.groups[key]
	created := g == nil
	var gctx context.Context
	if created {
		// The group outlives the subscriber that started it: it ends when
		// its last member leaves, not with that member's connection.
		var cancel context.CancelFunc
		gctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		g = &wsGroup{t: t, key: key, cancel: cancel, members: map[*wsOp]*wsSocket{}, started: make(chan struct{})}
		t.groups[key] = g
	}
	g.members[op] = s
	t.groupMu.Unlock()
	s.mu.Lock()
	op.group = g
	gone := s.ops[op.id] != op
	s.mu.Unlock()
	if gone {
		g.leave(op) // finished while joining: finish did not know the group
	}
	if created {
		g.start(s.exec, gctx, rc)
	}
	<-g.started
	s.listen(op)
}

// start runs the subscription's resolver, which subscribes to the events,
// and hands its stream to run. Should the resolver panic, the group ends
// (its members get complete) rather than wait for events forever.
func (g *wsGroup) start(exec graphql.GraphExecutor, ctx context.Context, rc *graphql.OperationContext) {
	defer close(g.started)
	defer func() {
		if p := recover(); p != nil {
			g.end()
			panic(p)
		}
	}()
	responses, rctx := exec.DispatchOperation(ctx, rc)
	go g.run(responses, rctx)
}

// leave removes op; the last member to leave ends the execution.
func (g *wsGroup) leave(op *wsOp) {
	g.t.groupMu.Lock()
	delete(g.members, op)
	last := len(g.members) == 0 && !g.ended
	if last {
		g.ended = true
		delete(g.t.groups, g.key)
	}
	g.t.groupMu.Unlock()
	if last {
		g.cancel()
	}
}

// run executes each event once and sends the encoded result to every
// member; the members that share an id share the prepared frame too.
func (g *wsGroup) run(responses graphql.ResponseHandler, ctx context.Context) {
	defer func() {
		if p := recover(); p != nil {
			g.t.logger().Error("panic in shared WebSocket subscription", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
		g.end()
	}()
	for {
		resp := responses(ctx)
		if resp == nil {
			return
		}
		payload, err := json.Marshal(resp)
		if err != nil {
			g.t.logger().ErrorContext(ctx, "encode websocket response", "error", err.Error())
			continue
		}
		g.t.groupMu.Lock()
		members := make([]wsMember, 0, len(g.members))
		for op, s := range g.members {
			members = append(members, wsMember{op, s})
		}
		g.t.groupMu.Unlock()
		frames := map[string]*websocket.PreparedMessage{}
		for _, m := range members {
			pm := frames[m.op.id]
			if pm == nil {
				if pm, err = websocket.NewPreparedMessage(websocket.TextMessage, wsMessage("next", m.op.id, payload)); err != nil {
					continue // only compression fails, and it is off
				}
				frames[m.op.id] = pm
			}
			m.s.send(wsFrame{prepared: pm})
		}
	}
}

type wsMember struct {
	op *wsOp
	s  *wsSocket
}

// end completes every member still subscribed when the stream ends on its
// own (the event bus closed it); members that left were not.
func (g *wsGroup) end() {
	g.t.groupMu.Lock()
	members := make([]wsMember, 0, len(g.members))
	for op, s := range g.members {
		members = append(members, wsMember{op, s})
	}
	clear(g.members)
	if !g.ended {
		g.ended = true
		delete(g.t.groups, g.key)
	}
	g.t.groupMu.Unlock()
	g.cancel()
	for _, m := range members {
		if m.s.live(m.op) {
			m.s.send(wsFrame{data: wsMessage("complete", m.op.id, nil)})
		}
		m.s.finish(m.op)
	}
}
