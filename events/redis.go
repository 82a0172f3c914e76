package events

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

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
type Redis struct {
	client redis.UniversalClient
	prefix string
	ps     *redis.PubSub
	h      *hub
	done   chan struct{}
	once   sync.Once
}

// NewRedis connects a bus to Redis; channel names are
// prefix+"events:"+topic. It returns once the subscription is active, so
// no event published afterwards is missed.
func NewRedis(ctx context.Context, client redis.UniversalClient, prefix string) (*Redis, error) {
	r := &Redis{client: client, prefix: prefix + "events:", h: newHub(), done: make(chan struct{})}
	r.ps = client.PSubscribe(ctx, r.prefix+"*")
	if _, err := r.ps.Receive(ctx); err != nil {
		_ = r.ps.Close()
		return nil, fmt.Errorf("events: subscribe on redis: %w", err)
	}
	msgs := r.ps.Channel(redis.WithChannelSize(4096))
	go func() {
		defer close(r.done)
		for m := range msgs {
			topic := strings.TrimPrefix(m.Channel, r.prefix)
			r.h.deliver(Event{Topic: topic, Data: []byte(m.Payload)})
		}
	}()
	return r, nil
}

// Publish implements Bus.
func (r *Redis) Publish(ctx context.Context, topic string, payload any) error {
	data, err := encode(topic, payload)
	if err != nil {
		return err
	}
	if err := r.client.Publish(ctx, r.prefix+topic, []byte(data)).Err(); err != nil {
		return fmt.Errorf("events: publish %s: %w", topic, err)
	}
	r.h.stats.published.Add(1)
	return nil
}

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
