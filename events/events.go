// Package events is Frontdesk's event bus: domain code publishes typed
// events after its transaction commits (never before, so nobody hears of
// a change that rolled back) and GraphQL subscriptions listen. Delivery is
// in-process on one replica and goes through Redis pub/sub when Redis is
// configured, so a subscriber on one replica hears events raised on
// another. Delivery is at most once and never blocks publishers: a
// subscriber whose buffer fills (a burst it could not take in time) loses
// what it held and gets a resync instead, so its client reloads; only one
// with no room even for that is disconnected.
//
// Nothing is lost silently. When Redis cannot take a publish, the event
// still reaches this replica's subscribers, the failure is logged and
// counted (Stats.PublishFailed), and once Redis answers again every
// replica tells its subscribers that they may have missed events (a
// resync, see Event.Resync and WithResyncFlag), so clients refetch.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"frontdesk/ent"
)

// DefaultBuffer is how many undelivered events a subscription holds
// before it is told to resync (see hub.send).
const DefaultBuffer = 64

// ErrSlow is the Err of a subscription closed because its buffer filled
// and had no room even for a resync.
var ErrSlow = errors.New("events: subscriber too slow; events were missed")

// Event is one published event.
type Event struct {
	Topic string
	Data  json.RawMessage
	// Resync, with no Data, says that events of the topic may have been
	// missed (Redis was unavailable for a while): the subscriber should
	// reload what it shows.
	Resync bool
}

// Bus publishes and delivers events.
type Bus interface {
	// Publish delivers payload (encoded as JSON) to the topic's
	// subscribers on every replica. It never blocks on subscribers.
	Publish(ctx context.Context, topic string, payload any) error
	// Subscribe listens to topic until ctx ends or Close is called.
	// buffer <= 0 means DefaultBuffer.
	Subscribe(ctx context.Context, topic string, buffer int) *Subscription
	// Stats reports counters for monitoring.
	Stats() Stats
	Close() error
}

// Stats are a bus's counters since it started.
type Stats struct {
	Published    int64
	Delivered    int64
	Dropped      int64 // events not delivered to a full subscription, or dropped from it for a resync
	Overflowed   int64 // times a full subscription was told to resync instead
	Disconnected int64 // subscriptions closed because they were full, even for a resync
	Subscribers  int64
	// PublishFailed counts events Redis did not take: they reached this
	// replica's subscribers only, and the others were told to resync.
	PublishFailed int64
	// Resyncs counts times this replica told its subscribers that they
	// may have missed events.
	Resyncs int64
}

// Subscription is one subscriber's stream.
type Subscription struct {
	// C yields events in publish order per publisher; it is closed when
	// the subscription ends.
	C <-chan Event

	ch    chan Event
	topic string
	h     *hub
	flag  *resyncFlag // from the subscriber's context; may be nil
	// push, when set (see Map), replaces the send on ch: it runs in the
	// publisher's goroutine, must not block, and reports whether the
	// subscriber had room; clear empties what push sends to and returns
	// how many values it dropped; end closes it.
	push  func(Event) bool
	clear func() int
	end   func()
	// stop unregisters the context callback that ends the subscription.
	stop   func() bool
	mu     sync.Mutex
	closed bool
	err    error
}

// Err says why C was closed: nil after the context ended or Close, ErrSlow
// when the subscriber fell behind.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription.
func (s *Subscription) Close() { s.h.remove(s, nil) }

// hub fans events out to this process's subscriptions.
type hub struct {
	mu    sync.RWMutex
	subs  map[string]map[*Subscription]struct{}
	stats struct {
		published, delivered, dropped, overflowed, disconnected, subscribers, publishFailed, resyncs atomic.Int64
	}
}

func newHub() *hub { return &hub{subs: map[string]map[*Subscription]struct{}{}} }

func (h *hub) subscribe(ctx context.Context, topic string, buffer int) *Subscription {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	ch := make(chan Event, buffer)
	s := &Subscription{C: ch, ch: ch, topic: topic, h: h, flag: flagFrom(ctx)}
	h.add(ctx, s)
	return s
}

// add registers s until ctx ends. No goroutine waits for that: with
// thousands of subscribers, one parked goroutine each was a stack apiece.
func (h *hub) add(ctx context.Context, s *Subscription) {
	h.mu.Lock()
	if h.subs[s.topic] == nil {
		h.subs[s.topic] = map[*Subscription]struct{}{}
	}
	h.subs[s.topic][s] = struct{}{}
	h.mu.Unlock()
	h.stats.subscribers.Add(1)
	stop := context.AfterFunc(ctx, func() { h.remove(s, nil) })
	s.mu.Lock()
	s.stop = stop
	s.mu.Unlock()
}

// remove unregisters s and closes its channel once.
func (h *hub) remove(s *Subscription, err error) {
	h.mu.Lock()
	if set := h.subs[s.topic]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(h.subs, s.topic)
		}
	}
	h.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.err = err
	if s.stop != nil {
		s.stop()
	}
	if s.end != nil {
		s.end()
	} else {
		close(s.ch)
	}
	h.stats.subscribers.Add(-1)
}

// deliver hands ev to every subscriber of its topic without blocking.
func (h *hub) deliver(ev Event) {
	h.mu.RLock()
	subs := make([]*Subscription, 0, len(h.subs[ev.Topic]))
	for s := range h.subs[ev.Topic] {
		subs = append(subs, s)
	}
	h.mu.RUnlock()
	for _, s := range subs {
		h.send(s, ev)
	}
}

// resync tells every subscriber of this process that it may have missed
// events: its context's flag is raised (the next GraphQL payload carries
// it) and it gets a Resync event (one that has no room for it loses what
// it holds first, see send).
func (h *hub) resync() {
	h.stats.resyncs.Add(1)
	h.mu.RLock()
	var all []*Subscription
	for _, set := range h.subs {
		for s := range set {
			all = append(all, s)
		}
	}
	h.mu.RUnlock()
	for _, s := range all {
		if s.flag != nil {
			s.flag.raised.Store(true)
		}
		h.send(s, Event{Topic: s.topic, Resync: true})
	}
}

// send hands ev to s without blocking. A subscription without room for ev
// fell behind a burst: what it holds is dropped (a resync supersedes it),
// its flag is raised and it gets a Resync event, so its client reloads
// rather than seeing the stream end. Ending it would look to a GraphQL
// client like a subscription that completed normally, and it would stop
// listening. Only one without room even for the resync is disconnected.
func (h *hub) send(s *Subscription, ev Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	ok := s.offer(ev)
	overflowed := false
	if !ok {
		overflowed = true
		h.stats.dropped.Add(int64(1 + s.drain()))
		if s.flag != nil {
			s.flag.raised.Store(true)
		}
		ok = s.offer(Event{Topic: s.topic, Resync: true})
	}
	s.mu.Unlock()
	switch {
	case !ok:
		h.stats.disconnected.Add(1)
		h.remove(s, ErrSlow)
	case overflowed:
		h.stats.overflowed.Add(1)
	default:
		h.stats.delivered.Add(1)
	}
}

// offer hands ev to s if it has room; s.mu is held.
func (s *Subscription) offer(ev Event) bool {
	if s.push != nil {
		return s.push(ev)
	}
	select {
	case s.ch <- ev:
		return true
	default:
		return false
	}
}

// drain empties s's buffer and returns how many events it held; s.mu is
// held. The subscriber may be reading at the same time: what it takes is
// simply not counted here.
func (s *Subscription) drain() int {
	if s.clear != nil {
		return s.clear()
	}
	n := 0
	for {
		select {
		case <-s.ch:
			n++
		default:
			return n
		}
	}
}

func (h *hub) snapshot() Stats {
	return Stats{
		Published:     h.stats.published.Load(),
		Delivered:     h.stats.delivered.Load(),
		Dropped:       h.stats.dropped.Load(),
		Overflowed:    h.stats.overflowed.Load(),
		Disconnected:  h.stats.disconnected.Load(),
		Subscribers:   h.stats.subscribers.Load(),
		PublishFailed: h.stats.publishFailed.Load(),
		Resyncs:       h.stats.resyncs.Load(),
	}
}

func (h *hub) closeAll() {
	h.mu.RLock()
	var all []*Subscription
	for _, set := range h.subs {
		for s := range set {
			all = append(all, s)
		}
	}
	h.mu.RUnlock()
	for _, s := range all {
		h.remove(s, nil)
	}
}

func encode(topic string, payload any) (json.RawMessage, error) {
	if raw, ok := payload.(json.RawMessage); ok {
		return raw, nil
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("events: encode %s: %w", topic, err)
	}
	return b, nil
}

// Memory is the in-process bus for a single replica.
type Memory struct{ h *hub }

// NewMemory returns an in-process bus.
func NewMemory() *Memory { return &Memory{h: newHub()} }

// Publish implements Bus.
func (m *Memory) Publish(_ context.Context, topic string, payload any) error {
	data, err := encode(topic, payload)
	if err != nil {
		return err
	}
	m.h.stats.published.Add(1)
	m.h.deliver(Event{Topic: topic, Data: data})
	return nil
}

// Subscribe implements Bus.
func (m *Memory) Subscribe(ctx context.Context, topic string, buffer int) *Subscription {
	return m.h.subscribe(ctx, topic, buffer)
}

// Stats implements Bus.
func (m *Memory) Stats() Stats { return m.h.snapshot() }

// Close implements Bus.
func (m *Memory) Close() error { m.h.closeAll(); return nil }

// Topic is a typed topic: the name and the payload type travel together,
// so publishers and subscribers cannot disagree on the shape.
type Topic[T any] struct{ Name string }

// Publish publishes v on the topic.
func (t Topic[T]) Publish(ctx context.Context, bus Bus, v T) error {
	return bus.Publish(ctx, t.Name, v)
}

// AfterCommit publishes v once tx commits, and not at all if it rolls
// back. A publish failure after a successful commit is logged: the
// change itself stands.
func (t Topic[T]) AfterCommit(tx *ent.Tx, bus Bus, v T) {
	AfterCommit(tx, bus, t.Name, v)
}

// Subscribe returns a channel of decoded payloads. It closes when ctx
// ends (or, rarely, when even a resync finds no room: then Err of the
// returned subscription is ErrSlow). Events that do not decode are
// skipped, and so are resyncs, which have no payload: they raise ctx's
// resync flag (see WithResyncFlag) for the next payload to carry.
func (t Topic[T]) Subscribe(ctx context.Context, bus Bus, buffer int) (<-chan T, *Subscription) {
	return Map(ctx, bus, t.Name, buffer, func(ev Event) []T {
		if ev.Resync {
			return nil
		}
		var v T
		if err := json.Unmarshal(ev.Data, &v); err != nil {
			slog.Warn("events: undecodable payload skipped", "topic", t.Name, "error", err)
			return nil
		}
		return []T{v}
	})
}

// hubBus is a bus whose subscriptions this package's hub serves (Memory
// and Redis).
type hubBus interface{ hub() *hub }

func (m *Memory) hub() *hub { return m.h }
func (r *Redis) hub() *hub  { return r.h }

// Map subscribes to topic and hands what fn makes of each event to the
// returned channel, which holds up to buffer values (<= 0: DefaultBuffer).
// fn runs in the publisher's goroutine, once per event and subscriber, so
// it must be quick and must not block; it may return nothing to skip an
// event. A subscriber whose channel has no room for an event's values
// loses what the channel holds and gets fn's values for a Resync event
// instead; if even those do not fit it is disconnected (the channel
// closes, Err is ErrSlow).
// On this package's buses no goroutine is kept per subscription.
func Map[T any](ctx context.Context, bus Bus, topic string, buffer int, fn func(Event) []T) (<-chan T, *Subscription) {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	out := make(chan T, buffer)
	if hb, ok := bus.(hubBus); ok {
		h := hb.hub()
		s := &Subscription{topic: topic, h: h, flag: flagFrom(ctx)}
		w := wakeFrom(ctx)
		if w != nil {
			w.claimed.Store(true)
		}
		s.push = func(ev Event) bool {
			vs := fn(ev)
			if len(out)+len(vs) > cap(out) {
				return false
			}
			for _, v := range vs {
				out <- v // cannot block: room was checked, and sends are serialised by s.mu
				if w != nil {
					w.fn()
				}
			}
			return true
		}
		s.clear = func() int {
			n := 0
			for {
				select {
				case <-out:
					n++
				default:
					return n
				}
			}
		}
		s.end = func() {
			close(out)
			if w != nil {
				w.fn()
			}
		}
		h.add(ctx, s)
		return out, s
	}
	// Another Bus: relay from its channel.
	sub := bus.Subscribe(ctx, topic, buffer)
	go func() {
		defer close(out)
		for ev := range sub.C {
			for _, v := range fn(ev) {
				select {
				case out <- v:
				case <-ctx.Done():
					sub.Close()
					return
				}
			}
		}
	}()
	return out, sub
}

// AfterCommit publishes payload on topic once tx commits.
func AfterCommit(tx *ent.Tx, bus Bus, topic string, payload any) {
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			if err := next.Commit(ctx, tx); err != nil {
				return err
			}
			if err := bus.Publish(context.WithoutCancel(ctx), topic, payload); err != nil {
				slog.ErrorContext(ctx, "publish event after commit", "topic", topic, "error", err)
			}
			return nil
		})
	})
}

// Wake lets a transport run a subscription without a goroutine parked on
// its channel: a subscription made with Map in a context from WithWake
// calls the wake function after each value it hands to its channel and
// once when it closes the channel, in the publisher's goroutine, so the
// transport reads the channel only when a receive will not wait.
type Wake struct {
	fn      func()
	claimed atomic.Bool
}

type wakeKey struct{}

// WithWake returns ctx whose Map subscriptions call fn as Wake says. fn
// must not block.
func WithWake(ctx context.Context, fn func()) (context.Context, *Wake) {
	w := &Wake{fn: fn}
	return context.WithValue(ctx, wakeKey{}, w), w
}

// Claimed reports whether a subscription made in the context calls the
// wake function; when none did, the transport has to wait on the channel.
func (w *Wake) Claimed() bool { return w.claimed.Load() }

func wakeFrom(ctx context.Context) *Wake {
	w, _ := ctx.Value(wakeKey{}).(*Wake)
	return w
}
