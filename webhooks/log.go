package webhooks

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/webhookattempt"
	"frontdesk/ent/webhookdelivery"
	"frontdesk/ent/webhookendpoint"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/outbox"
)

// DeliveryFilter narrows an endpoint's delivery log.
type DeliveryFilter struct {
	// States are PENDING, SUCCEEDED or FAILED.
	States     []string
	EventTypes []EventType
	// Since and Until bound when the event occurred.
	Since, Until *time.Time
}

// Deliveries returns an endpoint's delivery log, for its managers.
func (s *Service) Deliveries(ctx context.Context, endpointID gid.ID, f DeliveryFilter) (*ent.WebhookDeliveryQuery, error) {
	v, err := manager(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.load(ctx, v, s.client, endpointID); err != nil {
		return nil, err
	}
	q := s.client.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(endpointID))
	if len(f.States) > 0 {
		states := make([]webhookdelivery.State, len(f.States))
		for i, st := range f.States {
			states[i] = webhookdelivery.State(st)
		}
		q.Where(webhookdelivery.StateIn(states...))
	}
	if len(f.EventTypes) > 0 {
		q.Where(webhookdelivery.EventTypeIn(eventNames(f.EventTypes)...))
	}
	if f.Since != nil {
		q.Where(webhookdelivery.OccurredAtGTE(f.Since.UTC()))
	}
	if f.Until != nil {
		q.Where(webhookdelivery.OccurredAtLT(f.Until.UTC()))
	}
	return q, nil
}

// Attempts returns a delivery's attempts, oldest first.
func (s *Service) Attempts(ctx context.Context, d *ent.WebhookDelivery) ([]*ent.WebhookAttempt, error) {
	out, err := s.client.WebhookAttempt.Query().Where(webhookattempt.DeliveryID(d.ID)).Order(webhookattempt.ByNumber()).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load webhook attempts: %w", err)
	}
	return out, nil
}

// CanViewDelivery reports whether the viewer manages the delivery's
// endpoint (node(id:)).
func CanViewDelivery(ctx context.Context, client *ent.Client, id gid.ID) bool {
	v, err := manager(ctx)
	if err != nil {
		return false
	}
	ep, err := client.WebhookDelivery.Query().Where(webhookdelivery.ID(id)).QueryEndpoint().Only(ctx)
	if err != nil {
		return false
	}
	return v.APIKeyID == "" || (ep.APIKeyID != nil && *ep.APIKeyID == v.APIKeyID)
}

// Redeliver sends one finished delivery again, once, with the same
// webhook-id and body, so a receiver that processed it already can tell.
func (s *Service) Redeliver(ctx context.Context, id gid.ID) (*ent.WebhookDelivery, error) {
	v, err := manager(ctx)
	if err != nil {
		return nil, err
	}
	var out *ent.WebhookDelivery
	err = s.inTx(ctx, func(tx *ent.Tx) error {
		d, err := tx.WebhookDelivery.Query().Where(webhookdelivery.ID(id)).WithEndpoint().Only(ctx)
		if ent.IsNotFound(err) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("load webhook delivery: %w", err)
		}
		if v.APIKeyID != "" && (d.Edges.Endpoint.APIKeyID == nil || *d.Edges.Endpoint.APIKeyID != v.APIKeyID) {
			return ErrNotFound
		}
		if d.State == webhookdelivery.StatePENDING {
			return errcode.Invalidf(errcode.Conflict, "id", "the delivery is still being attempted")
		}
		if err := s.again(ctx, tx, d); err != nil {
			return err
		}
		out, err = tx.WebhookDelivery.Get(ctx, id)
		return err
	})
	return out, err
}

// RedeliverFailed sends again, once each, every failed delivery of an
// endpoint whose event occurred in [since, until), and returns how many.
func (s *Service) RedeliverFailed(ctx context.Context, endpointID gid.ID, since, until time.Time) (int, error) {
	v, err := manager(ctx)
	if err != nil {
		return 0, err
	}
	if !since.Before(until) {
		return 0, errcode.Invalidf(errcode.Invalid, "until", "until must be after since")
	}
	n := 0
	err = s.inTx(ctx, func(tx *ent.Tx) error {
		if _, err := s.load(ctx, v, tx.Client(), endpointID); err != nil {
			return err
		}
		ds, err := tx.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(endpointID),
			webhookdelivery.StateEQ(webhookdelivery.StateFAILED),
			webhookdelivery.OccurredAtGTE(since.UTC()), webhookdelivery.OccurredAtLT(until.UTC())).Limit(10000).All(ctx)
		if err != nil {
			return fmt.Errorf("list failed deliveries: %w", err)
		}
		for _, d := range ds {
			if err := s.again(ctx, tx, d); err != nil {
				return err
			}
		}
		n = len(ds)
		return nil
	})
	return n, err
}

// again puts a delivery back to PENDING with a one-attempt job.
func (s *Service) again(ctx context.Context, tx *ent.Tx, d *ent.WebhookDelivery) error {
	if err := tx.WebhookDelivery.UpdateOneID(d.ID).SetState(webhookdelivery.StatePENDING).Exec(ctx); err != nil {
		return fmt.Errorf("reset webhook delivery: %w", err)
	}
	_, err := outbox.Enqueue(ctx, tx, outbox.Job{Kind: KindDeliver, Payload: deliverPayload{DeliveryID: d.ID},
		IdempotencyKey: KindDeliver + ":" + d.ID.String() + ":again" + strconv.Itoa(d.Attempts), MaxAttempts: 1})
	return err
}

// Ping sends a webhook.ping event to one endpoint, once, whatever events
// it subscribed to, and returns its delivery to watch in the log.
func (s *Service) Ping(ctx context.Context, endpointID gid.ID) (*ent.WebhookDelivery, error) {
	v, err := manager(ctx)
	if err != nil {
		return nil, err
	}
	var out *ent.WebhookDelivery
	err = s.inTx(ctx, func(tx *ent.Tx) error {
		ep, err := s.load(ctx, v, tx.Client(), endpointID)
		if err != nil {
			return err
		}
		if ep.State != webhookendpoint.StateACTIVE {
			return errcode.Invalidf(errcode.Conflict, "endpointId", "the endpoint is paused; resume it first")
		}
		ids, err := s.enqueue(ctx, tx, newEvent(Ping, Data{EndpointID: ep.ID}), []gid.ID{ep.ID}, 1, "", func(gid.ID) bool { return true })
		if err != nil {
			return err
		}
		out, err = tx.WebhookDelivery.Get(ctx, ids[0])
		return err
	})
	return out, err
}

// SweepDeliveries deletes up to limit deliveries (with their attempts)
// created before the given time, for the nightly retention task through
// outbox.Drain; pending ones are kept whatever their age.
func (s *Service) SweepDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	ids, err := s.client.WebhookDelivery.Query().Where(webhookdelivery.CreatedAtLT(before.UTC()),
		webhookdelivery.StateNEQ(webhookdelivery.StatePENDING)).Limit(limit).IDs(ctx)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	n := 0
	err = s.inTx(ctx, func(tx *ent.Tx) error {
		if _, err := tx.WebhookAttempt.Delete().Where(webhookattempt.DeliveryIDIn(ids...)).Exec(ctx); err != nil {
			return fmt.Errorf("delete webhook attempts: %w", err)
		}
		if n, err = tx.WebhookDelivery.Delete().Where(webhookdelivery.IDIn(ids...)).Exec(ctx); err != nil {
			return fmt.Errorf("delete webhook deliveries: %w", err)
		}
		return nil
	})
	return n, err
}

// deleteLog removes an endpoint's deliveries and attempts (SQLite does
// not cascade without foreign keys on).
func deleteLog(ctx context.Context, tx *ent.Tx, endpointID gid.ID) error {
	if _, err := tx.WebhookAttempt.Delete().Where(webhookattempt.HasDeliveryWith(webhookdelivery.EndpointID(endpointID))).Exec(ctx); err != nil {
		return fmt.Errorf("delete webhook attempts: %w", err)
	}
	if _, err := tx.WebhookDelivery.Delete().Where(webhookdelivery.EndpointID(endpointID)).Exec(ctx); err != nil {
		return fmt.Errorf("delete webhook deliveries: %w", err)
	}
	return nil
}
