package app_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"frontdesk/booking"
	"frontdesk/config"
	"frontdesk/ent"
	"frontdesk/events"
	"frontdesk/internal/testenv"
)

// initWS opens a graphql-transport-ws connection and initialises it with
// payload.
func initWS(t *testing.T, s *running, payload map[string]any) *websocket.Conn {
	t.Helper()
	c := dialWS(t, s, "graphql-transport-ws", nil)
	must(t, c.WriteJSON(map[string]any{"type": "connection_init", "payload": payload}))
	readUntil(t, c, "connection_ack")
	return c
}

// TestWebSocketProtocolRules: a client that breaks graphql-transport-ws is
// closed with the code the protocol gives its mistake.
func TestWebSocketProtocolRules(t *testing.T) {
	s := start(t, nil)
	sub := func(id string) map[string]any {
		return map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": "subscription { serverTime(everySeconds: 1) }"}}
	}
	for _, tc := range []struct {
		name string
		init bool
		send []any
		code int
	}{
		{"subscribe before connection_init", false, []any{sub("1")}, 4401},
		{"second connection_init", true, []any{map[string]any{"type": "connection_init"}}, 4429},
		{"not JSON", true, []any{"{"}, 4400},
		{"unknown message type", true, []any{map[string]any{"type": "start", "id": "1"}}, 4400},
		{"subscribe without id", true, []any{map[string]any{"type": "subscribe", "payload": map[string]any{"query": "{ __typename }"}}}, 4400},
		{"id already in use", true, []any{sub("1"), sub("1")}, 4409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWS(t, s, "graphql-transport-ws", nil)
			if tc.init {
				must(t, c.WriteJSON(map[string]any{"type": "connection_init"}))
				readUntil(t, c, "connection_ack")
			}
			for _, m := range tc.send {
				if raw, ok := m.(string); ok {
					must(t, c.WriteMessage(websocket.TextMessage, []byte(raw)))
					continue
				}
				must(t, c.WriteJSON(m))
			}
			if ce := closeCode(t, c); ce.Code != tc.code {
				t.Fatalf("close %d %q, want %d", ce.Code, ce.Text, tc.code)
			}
		})
	}
}

// TestWebSocketOperations: queries run over the socket and complete; an
// invalid document gets an error message; ping gets pong; a subscription
// the client completes sends nothing more.
func TestWebSocketOperations(t *testing.T) {
	s := start(t, nil)
	c := initWS(t, s, nil)

	must(t, c.WriteJSON(map[string]any{"type": "ping", "payload": map[string]any{"n": 1}}))
	if m := readUntil(t, c, "pong"); fmt.Sprint(m["payload"]) != "map[n:1]" {
		t.Fatalf("pong: %v", m)
	}

	must(t, c.WriteJSON(map[string]any{"id": "q", "type": "subscribe", "payload": map[string]any{"query": "query { __typename }"}}))
	if m := readUntil(t, c, "next"); m["id"] != "q" || fmt.Sprint(m["payload"]) != "map[data:map[__typename:Query]]" {
		t.Fatalf("query over the socket: %v", m)
	}
	if m := readUntil(t, c, "complete"); m["id"] != "q" {
		t.Fatalf("query not completed: %v", m)
	}

	// A sign-in over the socket shows its payload's user, as over HTTP,
	// and is that operation's only: the connection stays anonymous.
	must(t, c.WriteJSON(map[string]any{"id": "reg", "type": "subscribe", "payload": map[string]any{"query": registerOp,
		"variables": map[string]any{"in": map[string]any{"email": "ws-register@example.com", "password": "a long passphrase", "name": "Over WS"}}}}))
	m := readUntil(t, c, "next")
	if reg, _ := m["payload"].(map[string]any)["data"].(map[string]any)["register"].(map[string]any); m["id"] != "reg" || reg == nil ||
		reg["user"] == nil || reg["user"].(map[string]any)["email"] != "ws-register@example.com" {
		t.Fatalf("register over the socket: %v", m)
	}
	readUntil(t, c, "complete")
	must(t, c.WriteJSON(map[string]any{"id": "who", "type": "subscribe", "payload": map[string]any{"query": "{ viewer { id } }"}}))
	if m := readUntil(t, c, "next"); fmt.Sprint(m["payload"].(map[string]any)["data"]) != "map[viewer:<nil>]" {
		t.Fatalf("the connection took the operation's sign-in: %v", m)
	}
	readUntil(t, c, "complete")

	must(t, c.WriteJSON(map[string]any{"id": "bad", "type": "subscribe", "payload": map[string]any{"query": "{ noSuchField }"}}))
	m = readUntil(t, c, "error")
	if errs, _ := m["payload"].([]any); m["id"] != "bad" || len(errs) == 0 {
		t.Fatalf("invalid document: %v", m)
	}

	must(t, c.WriteJSON(map[string]any{"id": "s", "type": "subscribe", "payload": map[string]any{"query": "subscription { serverTime(everySeconds: 1) }"}}))
	readUntil(t, c, "next")
	must(t, c.WriteJSON(map[string]any{"id": "s", "type": "complete"}))
	testenv.Eventually(t, 5*time.Second, "the completed subscription stops listening", func() bool { return s.app.Server.Subscriptions() == 0 })
	// Nothing for "s" after the client completed it; the id may be used
	// again.
	_ = c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
	for {
		var m map[string]any
		if err := c.ReadJSON(&m); err != nil {
			break
		}
		if m["id"] == "s" {
			t.Fatalf("message after complete: %v", m)
		}
	}
	c = initWS(t, s, nil)
	must(t, c.WriteJSON(map[string]any{"id": "s", "type": "subscribe", "payload": map[string]any{"query": "subscription { serverTime(everySeconds: 1) }"}}))
	readUntil(t, c, "next")
}

// TestWebSocketSharedExecution: anonymous subscribers of the same
// document and variables share one execution (one subscription on the
// event bus, one encoding per event), each under its own id; a signed-in
// subscriber runs on its own; the shared execution ends with its last
// subscriber.
func TestWebSocketSharedExecution(t *testing.T) {
	s := start(t, nil)
	ctx := context.Background()
	db := s.app.DB.Client
	p := db.Practitioner.Create().SetName("Shared").SetTimeZone("Australia/Sydney").SaveX(ctx)
	svc := db.Service.Create().SetName("Shared").SetSlug("shared").SetDurationMinutes(30).SetSlotIntervalMinutes(15).
		SetHorizonDays(60).SetActive(true).AddPractitioners(p).SaveX(ctx)
	ann := s.signUp(t, "ann-shared@example.com", "")
	base := s.app.Events.Stats().Subscribers

	subscribe := func(c *websocket.Conn, id string) {
		must(t, c.WriteJSON(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{
			"query": wsBenchQuery, "variables": map[string]any{"service": string(svc.ID)}}}))
	}
	a, b := initWS(t, s, nil), initWS(t, s, nil)
	subscribe(a, "1")
	subscribe(b, "other-id")
	signedIn := initWS(t, s, map[string]any{"authToken": ann.token})
	subscribe(signedIn, "1")
	testenv.Eventually(t, 10*time.Second, "three subscriptions listening", func() bool { return s.app.Server.Subscriptions() == 3 })
	if n := s.app.Events.Stats().Subscribers - base; n != 2 {
		t.Fatalf("%d subscriptions on the bus, want 2 (the anonymous pair shares one)", n)
	}

	from := time.Now().UTC().Truncate(time.Hour).Add(48 * time.Hour)
	booking.EventSink{Bus: s.app.Events}.Committed(ctx, booking.Change{Appointment: &ent.Appointment{
		ID: p.ID, PractitionerID: p.ID, ServiceID: svc.ID, BlockedStart: from, BlockedEnd: from.Add(30 * time.Minute)}})
	for c, id := range map[*websocket.Conn]string{a: "1", b: "other-id", signedIn: "1"} {
		m := readUntil(t, c, "next")
		got := m["payload"].(map[string]any)["data"].(map[string]any)["availabilityChanged"].(map[string]any)
		if m["id"] != id || got["practitionerId"] != string(p.ID) {
			t.Fatalf("event for %s: %v", id, m)
		}
	}

	// The execution outlives the subscriber that started it and ends
	// with the last one.
	a.Close()
	testenv.Eventually(t, 10*time.Second, "a's subscription ends", func() bool { return s.app.Server.Subscriptions() == 2 })
	if n := s.app.Events.Stats().Subscribers - base; n != 2 {
		t.Fatalf("%d subscriptions on the bus after one of the pair left, want 2", n)
	}
	must(t, b.WriteJSON(map[string]any{"id": "other-id", "type": "complete"}))
	signedIn.Close()
	testenv.Eventually(t, 10*time.Second, "every bus subscription ends", func() bool {
		return s.app.Events.Stats().Subscribers == base && s.app.Server.Subscriptions() == 0
	})
}

// TestSignedInSubscriberGoroutines: a signed-in subscriber's
// availabilityChanged runs on its own (not shared), yet costs no goroutine
// while it waits: the event bus wakes the transport when a value is
// waiting, so each connection keeps only its read loop. (Waiting on the
// channel instead costs a goroutine per subscription: 2 per connection.)
func TestSignedInSubscriberGoroutines(t *testing.T) {
	const n = 20
	s := start(t, func(c *config.Config) { c.WSMaxConnectionsPerUser = n })
	ctx := context.Background()
	db := s.app.DB.Client
	p := db.Practitioner.Create().SetName("Watched").SetTimeZone("Australia/Sydney").SaveX(ctx)
	svc := db.Service.Create().SetName("Watched").SetSlug("watched-signed-in").SetDurationMinutes(30).SetSlotIntervalMinutes(15).
		SetHorizonDays(60).SetActive(true).AddPractitioners(p).SaveX(ctx)
	ann := s.signUp(t, "ann-goroutines@example.com", "")
	base := s.app.Events.Stats().Subscribers
	runtime.GC()
	// go-sql-driver/mysql keeps a goroutine per pooled connection, and
	// the pool grows while the subscribers sign in: those are the
	// database's, not the subscribers'.
	goroutines := func() int { return runtime.NumGoroutine() - s.app.DB.SQL.Stats().OpenConnections }
	before := goroutines()
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = initWS(t, s, map[string]any{"authToken": ann.token})
		must(t, conns[i].WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
			"query": wsBenchQuery, "variables": map[string]any{"service": string(svc.ID)}}}))
	}
	testenv.Eventually(t, 10*time.Second, "every subscription listening", func() bool { return s.app.Server.Subscriptions() == n })
	if got := s.app.Events.Stats().Subscribers - base; got != n {
		t.Fatalf("%d bus subscriptions for %d signed-in subscribers, want one each", got, n)
	}
	var per float64
	testenv.Eventually(t, 5*time.Second, "the short-lived goroutines end", func() bool {
		per = float64(goroutines()-before) / n
		return per <= 1.1
	})

	from := time.Now().UTC().Truncate(time.Hour).Add(48 * time.Hour)
	for range 2 {
		booking.EventSink{Bus: s.app.Events}.Committed(ctx, booking.Change{Appointment: &ent.Appointment{
			ID: p.ID, PractitionerID: p.ID, ServiceID: svc.ID, BlockedStart: from, BlockedEnd: from.Add(30 * time.Minute)}})
		for _, c := range conns {
			if m := readUntil(t, c, "next"); m["id"] != "1" || m["payload"].(map[string]any)["errors"] != nil {
				t.Fatalf("event: %v", m)
			}
		}
	}
	testenv.Eventually(t, 5*time.Second, "no goroutine is left waiting after the events", func() bool {
		per = float64(goroutines()-before) / n
		return per <= 1.1
	})
	must(t, conns[0].WriteJSON(map[string]any{"id": "1", "type": "complete"}))
	testenv.Eventually(t, 5*time.Second, "the completed subscription leaves the bus", func() bool {
		return s.app.Events.Stats().Subscribers-base == n-1 && s.app.Server.Subscriptions() == n-1
	})
}

// TestWebSocketSlowReaderIsDropped: a subscriber that stops reading is
// disconnected once its queue is full, while a subscriber of the same
// shared execution keeps receiving every event. Without the drop, the
// stalled writer would hold the connection, and its queue would grow
// without bound.
func TestWebSocketSlowReaderIsDropped(t *testing.T) {
	s := start(t, nil)
	ctx := context.Background()
	db := s.app.DB.Client
	p := db.Practitioner.Create().SetName("Slow").SetTimeZone("Australia/Sydney").SaveX(ctx)
	svc := db.Service.Create().SetName("Slow").SetSlug("slow-reader").SetDurationMinutes(30).SetSlotIntervalMinutes(15).
		SetHorizonDays(60).SetActive(true).AddPractitioners(p).SaveX(ctx)

	// The stalled client asks the kernel for a small receive buffer, so
	// the server's writes block after a few kilobytes, not megabytes.
	small := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second,
		NetDialContext: (&net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			var err error
			if cerr := c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) }); cerr != nil {
				return cerr
			}
			return err
		}}).DialContext}
	stalled, _, err := small.Dial(wsURL(s.base), nil)
	must(t, err)
	t.Cleanup(func() { stalled.Close() })
	must(t, stalled.WriteJSON(map[string]any{"type": "connection_init"}))
	readUntil(t, stalled, "connection_ack")
	reader := initWS(t, s, nil)
	for _, c := range []*websocket.Conn{stalled, reader} {
		must(t, c.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
			"query": wsBenchQuery, "variables": map[string]any{"service": string(svc.ID)}}}))
	}
	testenv.Eventually(t, 10*time.Second, "two subscriptions listening", func() bool { return s.app.Server.Subscriptions() == 2 })

	// The reader counts what it receives; the stalled client reads nothing
	// from here on.
	var received atomic.Int64
	readerDone := make(chan error, 1)
	go func() {
		for {
			_ = reader.SetReadDeadline(time.Now().Add(30 * time.Second))
			var m map[string]any
			if err := reader.ReadJSON(&m); err != nil {
				readerDone <- err
				return
			}
			if m["type"] == "next" {
				received.Add(1)
			}
		}
	}()

	// Events in batches of 10, each waited for by the reader, so only the
	// stalled client falls behind (and the event bus's own buffer per
	// subscription, events.DefaultBuffer, never fills); bounded at 40,000
	// (about 16,000 fill the kernel's buffers on loopback here).
	from := time.Now().UTC().Truncate(time.Hour).Add(48 * time.Hour)
	sink := booking.EventSink{Bus: s.app.Events}
	sent := 0
	for sent < 40000 && s.app.Server.Subscriptions() == 2 {
		for range 10 {
			sink.Committed(ctx, booking.Change{Appointment: &ent.Appointment{
				ID: p.ID, PractitionerID: p.ID, ServiceID: svc.ID, BlockedStart: from, BlockedEnd: from.Add(30 * time.Minute)}})
			sent++
		}
		// Polled closely: testenv.Eventually's 10 ms tick would make the
		// thousands of batches this takes last minutes.
		for deadline := time.Now().Add(10 * time.Second); received.Load() != int64(sent); time.Sleep(100 * time.Microsecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the reader got %d of %d events", received.Load(), sent)
			}
		}
	}
	// Dropped by its full queue, not by the 10 s write deadline that a
	// writer stuck on the socket would meet much later.
	testenv.Eventually(t, 2*time.Second, "the stalled subscriber is dropped", func() bool { return s.app.Server.Subscriptions() == 1 })
	t.Logf("stalled subscriber dropped after %d events", sent)

	// The reader is still subscribed and served.
	sink.Committed(ctx, booking.Change{Appointment: &ent.Appointment{
		ID: p.ID, PractitionerID: p.ID, ServiceID: svc.ID, BlockedStart: from, BlockedEnd: from.Add(30 * time.Minute)}})
	sent++
	testenv.Eventually(t, 10*time.Second, "the reader gets the next event", func() bool { return received.Load() == int64(sent) })
	select {
	case err := <-readerDone:
		t.Fatalf("the reading subscriber was closed too: %v", err)
	default:
	}
}

// TestAvailabilityBurstResyncs: a burst of availability changes larger
// than a subscription's buffer (a calendar sync touching many
// appointments at once) does not end a booking page's subscription, which
// its client would take for a normal completion and stop listening: the
// page gets a payload flagged extensions.resync, with the practitioner's
// whole horizon, and keeps receiving changes afterwards.
func TestAvailabilityBurstResyncs(t *testing.T) {
	s := start(t, nil)
	ctx := context.Background()
	db := s.app.DB.Client
	p := db.Practitioner.Create().SetName("Burst").SetTimeZone("Australia/Sydney").SaveX(ctx)
	svc := db.Service.Create().SetName("Burst").SetSlug("burst").SetDurationMinutes(30).SetSlotIntervalMinutes(15).
		SetHorizonDays(60).SetActive(true).AddPractitioners(p).SaveX(ctx)
	c := initWS(t, s, nil)
	must(t, c.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": wsBenchQuery, "variables": map[string]any{"service": string(svc.ID)}}}))
	testenv.Eventually(t, 10*time.Second, "subscribed", func() bool { return s.app.Server.Subscriptions() == 1 })

	from := time.Now().UTC().Truncate(time.Hour).Add(48 * time.Hour)
	change := booking.Change{Appointment: &ent.Appointment{
		ID: p.ID, PractitionerID: p.ID, ServiceID: svc.ID, BlockedStart: from, BlockedEnd: from.Add(30 * time.Minute)}}
	sink := booking.EventSink{Bus: s.app.Events}
	overflowed := s.app.Events.Stats().Overflowed
	for range 4 * events.DefaultBuffer {
		sink.Committed(ctx, change)
	}
	if s.app.Events.Stats().Overflowed == overflowed {
		t.Skip("the subscription kept up with the whole burst; nothing to check")
	}
	resynced := false
	for !resynced {
		m := readMsg(t, c)
		switch m["type"] {
		case "ping", "pong":
		case "next":
			resynced = dig(m["payload"].(map[string]any), "extensions.resync") == true
		default:
			t.Fatalf("during the burst: %v", m)
		}
	}
	if s.app.Server.Subscriptions() != 1 {
		t.Fatal("the subscription ended after the burst")
	}
	// Still listening: a change after the burst arrives, once what the
	// burst left queued has been read.
	later := from.Add(24 * time.Hour)
	sink.Committed(ctx, booking.Change{Appointment: &ent.Appointment{
		ID: p.ID, PractitionerID: p.ID, ServiceID: svc.ID, BlockedStart: later, BlockedEnd: later.Add(30 * time.Minute)}})
	for range 4 * events.DefaultBuffer {
		m := readMsg(t, c)
		if m["type"] != "next" {
			continue
		}
		if got := dig(m["payload"].(map[string]any), "data.availabilityChanged.from"); got != nil && strings.HasPrefix(got.(string), later.Format("2006-01-02T15")) {
			return
		}
	}
	t.Fatal("no change arrived after the burst")
}
