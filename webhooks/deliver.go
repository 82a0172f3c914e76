package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"frontdesk/ent"
	"frontdesk/ent/webhookdelivery"
	"frontdesk/ent/webhookendpoint"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/notify"
	"frontdesk/outbox"
	"frontdesk/secret"
)

// KindDeliver is the outbox job that makes one delivery's attempts.
const KindDeliver = "webhooks.deliver"

// DeliverAttempts is how many attempts a delivery gets. With Backoff the
// last comes more than three days after the first (TestRetryScheduleSpansThreeDays).
const DeliverAttempts = 17

// LastSuccessEvery is how often an endpoint's lastSuccessAt is moved
// forward while its deliveries keep succeeding.
const LastSuccessEvery = 10 * time.Second

// ResponseBytes is how much of a receiver's answer is read and logged.
const ResponseBytes = 1024

// Backoff is the delay before attempt n+1: 30 s doubling up to 12 h, plus
// up to a quarter more at random so endpoints that failed together do
// not all retry together.
func Backoff(n int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < 12*time.Hour; i++ {
		d *= 2
	}
	d = min(d, 12*time.Hour)
	return d + rand.N(d/4+1)
}

// Register adds the fan-out and delivery jobs and the nightly prune of
// the delivery log (retention; zero keeps it forever).
func (s *Service) Register(reg *outbox.Registry, retention time.Duration) {
	reg.Register(outbox.Kind{Name: KindFanout, Handler: s.fanout, Timeout: 30 * time.Second})
	reg.Register(outbox.Kind{Name: KindDeliver, Handler: s.deliver, Concurrency: 16,
		Timeout: s.opts.Timeouts.Connect + s.opts.Timeouts.Response + 30*time.Second, Backoff: Backoff})
	if retention > 0 {
		outbox.RegisterRetention(reg, "webhooks.prune_deliveries", "41 3 * * *", retention, s.SweepDeliveries)
	}
}

type deliverPayload struct {
	DeliveryID gid.ID `json:"deliveryId"`
}

// fanout turns one event into a delivery and a delivery job per active
// endpoint that wants it, in one transaction. Run twice, it creates
// nothing twice: deliveries are unique per (endpoint, event) and their
// jobs carry the delivery's key.
func (s *Service) fanout(ctx context.Context, j *outbox.Running) error {
	var ev Event
	if err := j.Decode(&ev); err != nil {
		return err
	}
	// Only endpoints that existed when the event occurred: the fan-out
	// job may run after an endpoint was created.
	eps, err := s.client.WebhookEndpoint.Query().Where(webhookendpoint.StateEQ(webhookendpoint.StateACTIVE),
		webhookendpoint.CreatedAtLTE(ev.OccurredAt)).
		Select(webhookendpoint.FieldID, webhookendpoint.FieldEvents, webhookendpoint.FieldDocument).All(ctx)
	if err != nil {
		return fmt.Errorf("list webhook endpoints: %w", err)
	}
	var targets []gid.ID
	plain := map[gid.ID]bool{}
	for _, ep := range eps {
		if slices.Contains(ep.Events, string(ev.Type)) {
			targets = append(targets, ep.ID)
			plain[ep.ID] = ep.Document == ""
		}
	}
	if len(targets) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *ent.Tx) error {
		_, err := s.enqueue(ctx, tx, ev, targets, DeliverAttempts, "", func(id gid.ID) bool { return plain[id] })
		return err
	})
}

// enqueue writes a delivery per endpoint and its job. round distinguishes
// a redelivery's job from earlier ones. The body of a delivery whose
// endpoint has no document (plain) is the default payload, written here
// so its first attempt need not write it; a shaped body is made by the
// first attempt, as the owner is then.
func (s *Service) enqueue(ctx context.Context, tx *ent.Tx, ev Event, endpoints []gid.ID, attempts int, round string, plain func(gid.ID) bool) ([]gid.ID, error) {
	data, err := json.Marshal(ev.Data)
	if err != nil {
		return nil, fmt.Errorf("encode event data: %w", err)
	}
	defaultBody, err := envelope(ev.Type, ev.OccurredAt, data)
	if err != nil {
		return nil, err
	}
	var ids []gid.ID
	for _, ep := range endpoints {
		c := tx.WebhookDelivery.Create().SetEndpointID(ep).SetEventID(ev.ID).SetEventType(string(ev.Type)).
			SetData(data).SetOccurredAt(ev.OccurredAt)
		if plain(ep) {
			c.SetBody(defaultBody)
		}
		err := c.OnConflictColumns(webhookdelivery.FieldEndpointID, webhookdelivery.FieldEventID).Ignore().Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("create webhook delivery: %w", err)
		}
		id, err := tx.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(ep), webhookdelivery.EventID(ev.ID)).OnlyID(ctx)
		if err != nil {
			return nil, fmt.Errorf("read webhook delivery: %w", err)
		}
		if _, err := outbox.Enqueue(ctx, tx, outbox.Job{Kind: KindDeliver, Payload: deliverPayload{DeliveryID: id},
			IdempotencyKey: KindDeliver + ":" + id.String() + round, MaxAttempts: attempts}); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// retryAfter is a failed attempt whose receiver asked to wait; the outbox
// waits at least that long before the next attempt.
type retryAfter struct {
	err   error
	delay time.Duration
}

func (r retryAfter) Error() string             { return r.err.Error() }
func (r retryAfter) Unwrap() error             { return r.err }
func (r retryAfter) RetryDelay() time.Duration { return r.delay }
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	// A receiver cannot park deliveries beyond a day per attempt.
	return min(max(d, 0), 24*time.Hour)
}

// attemptResult is what one HTTP attempt came to.
type attemptResult struct {
	status     int
	duration   time.Duration
	response   string
	err        error
	retryAfter time.Duration
}

func (r attemptResult) ok() bool { return r.err == nil && r.status >= 200 && r.status < 300 }

// deliver makes one attempt of a delivery and records it.
func (s *Service) deliver(ctx context.Context, j *outbox.Running) error {
	var p deliverPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	d, err := s.client.WebhookDelivery.Query().Where(webhookdelivery.ID(p.DeliveryID)).WithEndpoint().Only(ctx)
	if ent.IsNotFound(err) {
		return nil // pruned, or its endpoint was deleted
	}
	if err != nil {
		return fmt.Errorf("load webhook delivery: %w", err)
	}
	if d.State != webhookdelivery.StatePENDING {
		return nil
	}
	ep := d.Edges.Endpoint
	if ep.State == webhookendpoint.StatePAUSED {
		return s.finish(ctx, d, webhookdelivery.StateFAILED, nil)
	}
	body := d.Body
	if body == "" {
		if body, err = s.body(ctx, ep, d); err != nil {
			if errors.Is(err, identity.ErrCannotAct) {
				return s.pause(ctx, ep, strings.TrimPrefix(err.Error(), "identity: "), false)
			}
			return err
		}
	}
	res := s.post(ctx, ep, d.EventID, []byte(body))
	last := j.Attempt >= j.MaxAttempts
	return s.record(ctx, ep, d, res, last)
}

// body builds the request body once and stores it, so retries send the
// same bytes: the default payload, or the endpoint's document executed
// with its owner's authority.
func (s *Service) body(ctx context.Context, ep *ent.WebhookEndpoint, d *ent.WebhookDelivery) (string, error) {
	ev := Event{ID: d.EventID, Type: EventType(d.EventType), OccurredAt: d.OccurredAt}
	if len(d.Data) > 0 {
		if err := json.Unmarshal(d.Data, &ev.Data); err != nil {
			return "", outbox.Permanent(fmt.Errorf("decode event data: %w", err))
		}
	}
	var data json.RawMessage
	if ep.Document != "" && ev.Type != Ping {
		if s.opts.Shaper == nil {
			return "", errors.New("webhooks: no shaper configured for payload documents")
		}
		owner, err := s.ownerContext(ctx, ep)
		if err != nil {
			return "", err
		}
		if data, err = s.opts.Shaper.Shape(owner, ep.Document, ev); err != nil {
			return "", fmt.Errorf("shape payload: %w", err)
		}
	} else {
		var err error
		if data, err = json.Marshal(ev.Data); err != nil {
			return "", fmt.Errorf("encode payload: %w", err)
		}
	}
	b, err := envelope(ev.Type, ev.OccurredAt, data)
	if err != nil {
		return "", err
	}
	// First writer wins: a concurrent attempt (an expired lease taken
	// over) must not send different bytes under the same id.
	if _, err := s.client.WebhookDelivery.Update().Where(webhookdelivery.ID(d.ID), webhookdelivery.Body("")).
		SetBody(b).Save(ctx); err != nil {
		return "", fmt.Errorf("store payload: %w", err)
	}
	again, err := s.client.WebhookDelivery.Get(ctx, d.ID)
	if err != nil {
		return "", fmt.Errorf("reload delivery: %w", err)
	}
	return again.Body, nil
}

// envelope is a request body: {"type", "timestamp", "data"}.
func envelope(t EventType, occurred time.Time, data json.RawMessage) (string, error) {
	b, err := json.Marshal(struct {
		Type      EventType       `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}{t, occurred.UTC(), data})
	if err != nil {
		return "", fmt.Errorf("encode payload: %w", err)
	}
	return string(b), nil
}

// ownerContext is ctx acting as the endpoint's owner: their current role,
// and their key's scopes when a key created the endpoint. Shaping runs
// under it, so a payload holds nothing its owner could not query. An
// owner who can no longer act (identity.ErrCannotAct) stops deliveries.
func (s *Service) ownerContext(ctx context.Context, ep *ent.WebhookEndpoint) (context.Context, error) {
	v, err := identity.ActingViewer(ctx, s.client, ep.OwnerID, ep.APIKeyID, s.now())
	if err != nil {
		return nil, err
	}
	return identity.WithViewer(context.WithoutCancel(ctx), v), nil
}

// post makes the HTTP request.
func (s *Service) post(ctx context.Context, ep *ent.WebhookEndpoint, id string, body []byte) attemptResult {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return attemptResult{err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Frontdesk-Webhooks/1")
	if err := Headers(req.Header, id, s.opts.Now(), body, s.signingSecrets(ep)...); err != nil {
		return attemptResult{err: err}
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return attemptResult{err: err, duration: time.Since(start)}
	}
	defer resp.Body.Close()
	head, err := io.ReadAll(io.LimitReader(resp.Body, ResponseBytes))
	res := attemptResult{status: resp.StatusCode, duration: time.Since(start), response: validUTF8(head),
		retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	if err != nil && res.status/100 != 2 {
		res.err = fmt.Errorf("read response: %w", err)
	}
	return res
}

func validUTF8(b []byte) string {
	s := string(b)
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// record writes the attempt and its consequences in one transaction and
// tells the outbox whether to retry.
func (s *Service) record(ctx context.Context, ep *ent.WebhookEndpoint, d *ent.WebhookDelivery, res attemptResult, last bool) error {
	now := s.now()
	errText := ""
	switch {
	case res.err != nil:
		errText = res.err.Error()
	case !res.ok():
		errText = fmt.Sprintf("the endpoint answered %d", res.status)
	}
	if len(errText) > 1000 {
		errText = errText[:1000]
	}
	state := webhookdelivery.StatePENDING
	gone := res.err == nil && res.status == http.StatusGone
	pauseReason := ""
	switch {
	case res.ok():
		state = webhookdelivery.StateSUCCEEDED
	case gone:
		state = webhookdelivery.StateFAILED
		pauseReason = "the endpoint answered 410 Gone"
	case ep.FailingSince != nil && now.Sub(*ep.FailingSince) >= s.opts.PauseAfter:
		state = webhookdelivery.StateFAILED
		pauseReason = fmt.Sprintf("every delivery failed for %s", s.opts.PauseAfter)
	case last:
		state = webhookdelivery.StateFAILED
	}
	err := s.inTx(ctx, func(tx *ent.Tx) error {
		// The attempt's number is the delivery's count after this one,
		// across redeliveries.
		if err := tx.WebhookDelivery.UpdateOneID(d.ID).AddAttempts(1).SetLastStatus(res.status).SetState(state).Exec(ctx); err != nil {
			return fmt.Errorf("update webhook delivery: %w", err)
		}
		n, err := tx.WebhookDelivery.Query().Where(webhookdelivery.ID(d.ID)).Select(webhookdelivery.FieldAttempts).Int(ctx)
		if err != nil {
			return fmt.Errorf("count attempts: %w", err)
		}
		if err := tx.WebhookAttempt.Create().SetDeliveryID(d.ID).SetNumber(n).SetStartedAt(now.Add(-res.duration)).
			SetStatus(res.status).SetDurationMs(int(res.duration.Milliseconds())).
			SetResponse(secret.Redact(truncate(res.response, ResponseBytes))).SetError(secret.Redact(errText)).Exec(ctx); err != nil {
			return fmt.Errorf("record webhook attempt: %w", err)
		}
		// The endpoint's row is written only when its record changes
		// (lastSuccessAt at most every LastSuccessEvery during a run of
		// successes): every delivery to the endpoint would otherwise queue
		// on that one row's lock.
		u := tx.WebhookEndpoint.UpdateOneID(ep.ID)
		write := pauseReason != ""
		switch {
		case res.ok():
			if ep.FailingSince != nil || ep.LastSuccessAt == nil || now.Sub(*ep.LastSuccessAt) >= LastSuccessEvery {
				u.ClearFailingSince().SetLastSuccessAt(now)
				write = true
			}
		case ep.FailingSince == nil:
			u.SetFailingSince(now)
			write = true
		}
		if pauseReason != "" {
			u.SetState(webhookendpoint.StatePAUSED).SetPausedReason(pauseReason)
		}
		if write {
			if err := u.Exec(ctx); err != nil {
				return fmt.Errorf("update webhook endpoint: %w", err)
			}
		}
		if pauseReason != "" {
			return s.tellAdmins(ctx, tx, ep, pauseReason)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if state != webhookdelivery.StatePENDING {
		return nil
	}
	failure := errors.New(errText)
	if res.retryAfter > 0 {
		return retryAfter{err: failure, delay: res.retryAfter}
	}
	return failure
}

// finish ends a delivery without an attempt (its endpoint is paused).
func (s *Service) finish(ctx context.Context, d *ent.WebhookDelivery, state webhookdelivery.State, _ error) error {
	if err := s.client.WebhookDelivery.UpdateOneID(d.ID).SetState(state).Exec(ctx); err != nil {
		return fmt.Errorf("update webhook delivery: %w", err)
	}
	return nil
}

// pause stops an endpoint outside an attempt (its owner is gone).
func (s *Service) pause(ctx context.Context, ep *ent.WebhookEndpoint, reason string, _ bool) error {
	return s.inTx(ctx, func(tx *ent.Tx) error {
		if err := tx.WebhookEndpoint.UpdateOneID(ep.ID).SetState(webhookendpoint.StatePAUSED).SetPausedReason(reason).Exec(ctx); err != nil {
			return fmt.Errorf("pause webhook endpoint: %w", err)
		}
		return s.tellAdmins(ctx, tx, ep, reason)
	})
}

// tellAdmins emails every active admin that an endpoint was paused, in
// the transaction that paused it.
func (s *Service) tellAdmins(ctx context.Context, tx *ent.Tx, ep *ent.WebhookEndpoint, reason string) error {
	admins, err := identity.AdminEmails(ctx, tx.Client())
	if err != nil {
		return err
	}
	subject := "Webhook endpoint paused: " + truncate(ep.URL, 200)
	text := fmt.Sprintf("Frontdesk paused the webhook endpoint %s (%s) because %s.\n\n"+
		"Events are not sent to it while it is paused. Once the receiver works again, resume it with "+
		"updateWebhookEndpoint (paused: false) and resend what it missed with redeliverWebhookDeliveries.\n", ep.URL, ep.ID, reason)
	key := "webhook_paused:" + ep.ID.String() + ":" + strconv.FormatInt(s.now().Unix(), 10)
	for _, a := range admins {
		if _, err := notify.Plain(ctx, tx, "webhook_paused", a, subject, text, key+":"+a); err != nil {
			return fmt.Errorf("email admins: %w", err)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
