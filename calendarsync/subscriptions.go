package calendarsync

import (
	"context"
	"errors"
	"fmt"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/calendarsubscription"
	"frontdesk/gid"
	"frontdesk/integrations/msgraph"
	"frontdesk/outbox"
	"frontdesk/secret"
)

type subsPayload struct {
	// LinkID limits the round to one link; empty means all.
	LinkID gid.ID `json:"linkId,omitempty"`
}

// runSubscriptions is the renewal round.
func (s *Sync) runSubscriptions(ctx context.Context, j *outbox.Running) error {
	var p subsPayload
	if len(j.Payload) > 0 && string(j.Payload) != "null" {
		if err := j.Decode(&p); err != nil {
			return err
		}
	}
	if s.graph == nil {
		return nil // nothing to renew without Graph
	}
	return s.Maintain(ctx, p.LinkID)
}

// Maintain creates missing subscriptions, renews those past half their
// life, and recreates any that expired or Graph removed. A subscription
// that cannot be kept is marked FAILING with its error: the admin alert.
// linkID limits the round to one link; empty means all.
func (s *Sync) Maintain(ctx context.Context, linkID gid.ID) error {
	q := s.client.CalendarSubscription.Query()
	if linkID != "" {
		q.Where(calendarsubscription.LinkID(linkID))
	}
	subs, err := q.All(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, sub := range subs {
		if err := s.maintainOne(ctx, sub); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Sync) maintainOne(ctx context.Context, sub *ent.CalendarSubscription) error {
	link, err := s.client.CalendarLink.Get(ctx, sub.LinkID)
	if ent.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	now := s.now()
	switch {
	case sub.GraphID == "" || sub.State == calendarsubscription.StatePENDING || sub.ExpiresAt == nil || !sub.ExpiresAt.After(now):
		err = s.recreate(ctx, sub, link)
	case sub.ExpiresAt.Sub(now) < s.opts.Lifetime/2:
		err = s.renew(ctx, sub, link)
	case sub.State == calendarsubscription.StateFAILING:
		err = s.renew(ctx, sub, link)
	default:
		return nil
	}
	if err != nil {
		return s.fail(ctx, sub, link, err)
	}
	return nil
}

// renew moves the expiry; a subscription Graph no longer knows is
// recreated.
func (s *Sync) renew(ctx context.Context, sub *ent.CalendarSubscription, link *ent.CalendarLink) error {
	now := s.now()
	got, err := s.graph.RenewSubscription(ctx, sub.GraphID, now.Add(s.opts.Lifetime))
	if msgraph.IsNotFound(err) {
		return s.recreate(ctx, sub, link)
	}
	if err != nil {
		return fmt.Errorf("renew subscription of %s: %w", link.Mailbox, err)
	}
	return sub.Update().SetExpiresAt(got.ExpirationDateTime.UTC()).SetState(calendarsubscription.StateACTIVE).
		SetFailures(0).SetLastError("").SetLastRenewedAt(now).Exec(ctx)
}

// recreate replaces a subscription (deleting the old one when Graph still
// has it) and, because notifications may have been lost while it was
// gone, queues a full resync.
func (s *Sync) recreate(ctx context.Context, sub *ent.CalendarSubscription, link *ent.CalendarLink) error {
	if s.opts.NotificationURL == "" {
		return errors.New("FRONTDESK_MSGRAPH_NOTIFICATION_URL is not set: Graph has nowhere to send notifications")
	}
	if sub.GraphID != "" {
		if err := s.graph.DeleteSubscription(ctx, sub.GraphID); err != nil && !msgraph.IsRetryable(err) {
			s.opts.Log.Warn("calendarsync: could not delete old subscription", "subscription", sub.GraphID, "err", err)
		} else if err != nil {
			return err
		}
	}
	now := s.now()
	state := newClientState()
	got, err := s.graph.CreateSubscription(ctx, msgraph.Subscription{
		ChangeType:               "created,updated,deleted",
		NotificationURL:          s.opts.NotificationURL,
		LifecycleNotificationURL: s.opts.NotificationURL,
		Resource:                 msgraph.EventsResource(link.Mailbox),
		ExpirationDateTime:       now.Add(s.opts.Lifetime),
		ClientState:              state,
	})
	if err != nil {
		return fmt.Errorf("create subscription for %s: %w", link.Mailbox, err)
	}
	return database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		err := tx.CalendarSubscription.UpdateOne(sub).SetGraphID(got.ID).SetClientState(state).
			SetExpiresAt(got.ExpirationDateTime.UTC()).SetState(calendarsubscription.StateACTIVE).
			SetFailures(0).SetLastError("").SetLastRenewedAt(now).Exec(ctx)
		if err != nil {
			return err
		}
		return EnqueueDelta(ctx, tx, link.ID, sub.GraphID != "")
	})
}

// fail records a failed round on the subscription: state FAILING is the
// admin alert, kept until a later round succeeds.
func (s *Sync) fail(ctx context.Context, sub *ent.CalendarSubscription, link *ent.CalendarLink, cause error) error {
	// Stored redacted: Graph's errors may quote a token or a URL with
	// credentials, and admins read lastError.
	msg := secret.Redact(cause.Error())
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	s.opts.Log.Error("calendarsync: subscription needs attention", "mailbox", link.Mailbox, "subscription", sub.ID, "err", cause)
	err := s.client.CalendarSubscription.UpdateOne(sub).SetState(calendarsubscription.StateFAILING).
		AddFailures(1).SetLastError(msg).Exec(ctx)
	return errors.Join(cause, err)
}

type lifecyclePayload struct {
	SubscriptionID gid.ID `json:"subscriptionId"`
	Event          string `json:"event"`
}

// runLifecycle answers a lifecycle notification.
func (s *Sync) runLifecycle(ctx context.Context, j *outbox.Running) error {
	var p lifecyclePayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	if s.graph == nil {
		return nil
	}
	sub, err := s.client.CalendarSubscription.Get(ctx, p.SubscriptionID)
	if ent.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	link, err := s.client.CalendarLink.Get(ctx, sub.LinkID)
	if ent.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	switch p.Event {
	case "reauthorizationRequired":
		err := s.graph.ReauthorizeSubscription(ctx, sub.GraphID)
		if msgraph.IsNotFound(err) {
			err = s.recreate(ctx, sub, link)
		} else if err == nil {
			// Reauthorizing is also the moment to extend the expiry.
			err = s.renew(ctx, sub, link)
		}
		if err != nil {
			return s.fail(ctx, sub, link, err)
		}
	case "subscriptionRemoved":
		if err := s.recreate(ctx, sub, link); err != nil {
			return s.fail(ctx, sub, link, err)
		}
	case "missed":
		return s.SyncLink(ctx, link.ID, false)
	default:
		s.opts.Log.Warn("calendarsync: unknown lifecycle event", "event", p.Event)
	}
	return nil
}
