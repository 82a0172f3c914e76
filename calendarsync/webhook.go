package calendarsync

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/calendarsubscription"
	"frontdesk/identity"
	"frontdesk/integrations/msgraph"
	"frontdesk/outbox"
	"frontdesk/telemetry"
)

// Handler serves /webhooks/msgraph: Graph's validation handshake, change
// notifications and lifecycle notifications. It only records and queues
// (one short transaction), so Graph gets its 202 well within its 3-second
// budget; the outbox does the work.
func (s *Sync) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Sync) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.opts.Metrics.Webhook("msgraph", s.serve(w, r))
}

// serve handles one delivery (a batch of notifications) and returns its
// outcome for the metrics: rejected when any notification in it had a
// wrong clientState, which is a forgery or a leaked subscription id.
func (s *Sync) serve(w http.ResponseWriter, r *http.Request) string {
	if tok := r.URL.Query().Get("validationToken"); tok != "" {
		// Graph's handshake: echo the (URL-decoded) token as plain text.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, tok) // nothing to do if Graph hung up
		return telemetry.WebhookValidation
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return telemetry.WebhookInvalid
	}
	var batch msgraph.NotificationBatch
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&batch); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return telemetry.WebhookInvalid
	}
	rejected := false
	ctx := identity.SystemContext(r.Context())
	now := s.now()
	err := database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		rejected = false // a retried transaction decides afresh
		for _, n := range batch.Value {
			if n.SubscriptionID == "" {
				continue
			}
			sub, err := tx.CalendarSubscription.Query().Where(calendarsubscription.GraphID(n.SubscriptionID)).Only(ctx)
			if ent.IsNotFound(err) {
				continue // not ours, or replaced meanwhile
			} else if err != nil {
				return err
			}
			if subtle.ConstantTimeCompare([]byte(n.ClientState), []byte(sub.ClientState)) != 1 {
				s.opts.Log.WarnContext(ctx, "calendarsync: notification with a wrong clientState ignored", "subscription", n.SubscriptionID)
				rejected = true
				continue
			}
			if err := tx.CalendarSubscription.UpdateOne(sub).SetLastNotificationAt(now).Exec(ctx); err != nil {
				return err
			}
			if n.LifecycleEvent != "" {
				_, err = outbox.Enqueue(ctx, tx, outbox.Job{Kind: KindLifecycle, Payload: lifecyclePayload{SubscriptionID: sub.ID, Event: n.LifecycleEvent}})
			} else {
				err = EnqueueDelta(ctx, tx, sub.LinkID, false)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Graph retries notifications it could not deliver.
		s.opts.Log.ErrorContext(ctx, "calendarsync: notification not recorded", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		return telemetry.WebhookFailed
	}
	w.WriteHeader(http.StatusAccepted)
	if rejected {
		return telemetry.WebhookRejected
	}
	return telemetry.WebhookProcessed
}
