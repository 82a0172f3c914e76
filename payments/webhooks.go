package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/webhookevent"
)

// Handler reacts to a provider event inside the transaction that records
// it, so the event is marked processed exactly when its effects commit.
// Handlers must tolerate events out of order (compare Event.Created or the
// state they find) and must not call outside services directly: they
// enqueue outbox jobs in tx instead. A handler may run more than once for
// one delivery: database.WithTx runs the transaction again after a
// deadlock.
type Handler func(ctx context.Context, tx *ent.Tx, ev Event) error

// Webhooks routes verified provider events to the domain handlers that
// registered for them, once per event id.
type Webhooks struct {
	client *ent.Client
	log    *slog.Logger

	mu       sync.RWMutex
	handlers map[EventType][]Handler
}

// NewWebhooks returns an empty router.
func NewWebhooks(client *ent.Client, log *slog.Logger) *Webhooks {
	return &Webhooks{client: client, log: log, handlers: map[EventType][]Handler{}}
}

// On registers h for events of type t. Domain packages call it at start-up.
func (w *Webhooks) On(t EventType, h Handler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.handlers[t] = append(w.handlers[t], h)
}

// Handles reports whether any handler wants events of type t.
func (w *Webhooks) Handles(t EventType) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return len(w.handlers[t]) > 0
}

// Process records ev and runs its handlers in one transaction. A redelivered
// event is recognised by its id and changes nothing (duplicate is true).
// When a handler fails, nothing is recorded, so the provider's retry runs
// the handlers again.
func (w *Webhooks) Process(ctx context.Context, provider string, ev Event) (duplicate bool, err error) {
	w.mu.RLock()
	hs := append([]Handler(nil), w.handlers[ev.Type]...)
	w.mu.RUnlock()
	if len(hs) == 0 {
		return false, nil
	}
	err = database.WithTx(ctx, w.client, func(tx *ent.Tx) error {
		seen, err := tx.WebhookEvent.Query().
			Where(webhookevent.Provider(provider), webhookevent.EventID(ev.ID)).
			Exist(ctx)
		if err != nil {
			return fmt.Errorf("process %s event %s: %w", provider, ev.ID, err)
		}
		if seen {
			return errDuplicateEvent
		}
		// The unique index on (provider, event_id) settles two deliveries
		// that race past the check above: the second insert fails and
		// rolls back.
		if err := tx.WebhookEvent.Create().SetProvider(provider).SetEventID(ev.ID).SetType(string(ev.Type)).Exec(ctx); err != nil {
			if ent.IsConstraintError(err) {
				return errDuplicateEvent
			}
			return fmt.Errorf("record %s event %s: %w", provider, ev.ID, err)
		}
		for _, h := range hs {
			if err := h(ctx, tx, ev); err != nil {
				return fmt.Errorf("handle %s event %s (%s): %w", provider, ev.ID, ev.Type, err)
			}
		}
		return nil
	})
	if errors.Is(err, errDuplicateEvent) || ent.IsConstraintError(err) {
		// A duplicate rolls back whatever it began; a constraint error at
		// commit is the same race settled late.
		return true, nil
	}
	if err != nil {
		return false, err
	}
	w.log.InfoContext(ctx, "payment event processed", "provider", provider, "event", ev.ID, "type", string(ev.Type), "intent", ev.IntentID)
	return false, nil
}

// errDuplicateEvent rolls back the transaction of an event already
// recorded; Process reports it as a duplicate.
var errDuplicateEvent = errors.New("event already processed")

// MinWebhookEventRetention is the shortest time a processed event is
// remembered. Stripe retries an undelivered event for up to three days and
// keeps every event for 30 days, in which it can be resent from the
// Dashboard or the CLI; an event forgotten sooner could be applied twice.
const MinWebhookEventRetention = 30 * 24 * time.Hour

// SweepWebhookEvents deletes at most limit processed-event records made
// before the given time (never less than MinWebhookEventRetention ago):
// the provider no longer redelivers those events, so the record has done
// its job of deduplicating them. It is an outbox.Sweep.
func (w *Webhooks) SweepWebhookEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if floor := time.Now().Add(-MinWebhookEventRetention); before.After(floor) {
		before = floor
	}
	ids, err := w.client.WebhookEvent.Query().Where(webhookevent.CreatedAtLT(before.UTC())).Limit(limit).IDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("find old webhook events: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := w.client.WebhookEvent.Delete().Where(webhookevent.IDIn(ids...)).Exec(ctx)
	if err != nil {
		return n, fmt.Errorf("delete old webhook events: %w", err)
	}
	return n, nil
}
