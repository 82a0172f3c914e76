package events

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a bus shared by every replica connected to one Redis. Each
// replica holds one pattern subscription and fans events out to its
// local subscribers; publishing goes through Redis even for local
// subscribers, so every replica sees the same order.
//
// On a Redis Cluster this is classic pub/sub, which the cluster
// broadcasts to every node: a replica's PSUBSCRIBE on any node hears a
// PUBLISH sent to any other. (Sharded pub/sub, SSUBSCRIBE, has no pattern
// subscriptions, and one pattern per replica is what keeps the number of
// subscriptions independent of the number of topics.)
//
// When Redis is unavailable, a publish still reaches this replica's
// subscribers; it is logged and counted, and once Redis answers again the
// replica broadcasts a resync so subscribers on every replica reload.
// A replica whose pattern subscription had to reconnect resyncs its own
// subscribers, since events sent while it was away are gone.
type Redis struct {
	client redis.UniversalClient
	prefix string
	ps     *redis.PubSub
	h      *hub
	done   chan struct{}
	once   sync.Once
	log    *slog.Logger
	// owed is set while a publish failed and the other replicas have not
	// been told to resync yet; unshared counts those publishes.
	owed     atomic.Bool
	unshared atomic.Int64
}

// resyncTopic is the channel a replica publishes on when some of its
// events never reached Redis. Topics are dotted names, never this.
const resyncTopic = "~resync"

// NewRedis connects a bus to Redis; channel names are
// prefix+"events:"+topic. It returns once the subscription is active, so
// no event published afterwards is missed, or, when Redis does not answer
// within a second, at once: the subscription then connects by itself
// when Redis is back.
func NewRedis(ctx context.Context, client redis.UniversalClient, prefix string) (*Redis, error) {
	r := &Redis{client: client, prefix: prefix + "events:", h: newHub(), done: make(chan struct{}), log: slog.Default()}
	r.ps = client.PSubscribe(ctx, r.prefix+"*")
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := r.ps.Receive(rctx); err != nil {
		r.log.Warn("events: redis subscription not active yet; events reach this replica's subscribers only until Redis answers", "error", err.Error())
	}
	msgs := r.ps.ChannelWithSubscriptions(redis.WithChannelSize(4096))
	go func() {
		defer close(r.done)
		for m := range msgs {
			switch m := m.(type) {
			case *redis.Subscription:
				// go-redis resubscribed after the connection broke:
				// whatever was published meanwhile never came.
				r.log.Info("events: redis subscription restored; subscribers told to resync")
				r.h.resync()
			case *redis.Message:
				topic := strings.TrimPrefix(m.Channel, r.prefix)
				if topic == resyncTopic {
					r.h.resync()
					continue
				}
				r.h.deliver(Event{Topic: topic, Data: []byte(m.Payload)})
			}
		}
	}()
	return r, nil
}

// Publish implements Bus. When Redis does not take the event, it is
// delivered to this replica's subscribers, logged and counted, and the
// other replicas are told to resync once Redis is back; Publish then
// returns nil, since nothing more can be done about it by the caller.
func (r *Redis) Publish(ctx context.Context, topic string, payload any) error {
	data, err := encode(topic, payload)
	if err != nil {
		return err
	}
	r.h.stats.published.Add(1)
	if err := r.client.Publish(ctx, r.prefix+topic, []byte(data)).Err(); err != nil {
		r.h.stats.publishFailed.Add(1)
		r.unshared.Add(1)
		// The first failure of an outage is a warning; the rest are
		// counted, and their number is logged once Redis is back.
		level := slog.LevelDebug
		if r.owed.CompareAndSwap(false, true) {
			level = slog.LevelWarn
		}
		r.log.Log(ctx, level, "events: publish through redis failed; delivered on this replica only, the others will be told to resync",
			"topic", topic, "error", err.Error())
		r.h.deliver(Event{Topic: topic, Data: data})
		return nil
	}
	if r.owed.Load() {
		r.Recovered(ctx)
	}
	return nil
}

// Recovered tells every replica's subscribers to resync if some events
// of this replica never reached Redis. The Redis circuit breaker calls it
// when Redis answers again; a later successful publish also does.
func (r *Redis) Recovered(ctx context.Context) {
	if !r.owed.Swap(false) {
		return
	}
	if err := r.client.Publish(ctx, r.prefix+resyncTopic, "1").Err(); err != nil {
		r.owed.Store(true)
		r.log.WarnContext(ctx, "events: resync broadcast failed; retried on the next publish", "error", err.Error())
		return
	}
	r.log.InfoContext(ctx, "events: told every replica's subscribers to resync after failed publishes", "unshared_events", r.unshared.Swap(0))
}

// SetLog replaces the logger (slog.Default); call it before use.
func (r *Redis) SetLog(l *slog.Logger) { r.log = l }

// Subscribe implements Bus.
func (r *Redis) Subscribe(ctx context.Context, topic string, buffer int) *Subscription {
	return r.h.subscribe(ctx, topic, buffer)
}

// Stats implements Bus.
func (r *Redis) Stats() Stats { return r.h.snapshot() }

// Close ends the Redis subscription and every local subscription. It
// does not close the Redis client, which the caller owns.
func (r *Redis) Close() error {
	var err error
	r.once.Do(func() {
		err = r.ps.Close()
		<-r.done
		r.h.closeAll()
		if err != nil {
			slog.Warn("events: close redis subscription", "error", err)
		}
	})
	return err
}
