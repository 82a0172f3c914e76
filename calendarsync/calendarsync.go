// Package calendarsync keeps practitioners' Outlook calendars and the
// appointment book in step through Microsoft Graph. Busy time in Outlook
// becomes ExternalBusyBlock rows the availability engine reads; confirmed
// appointments become Outlook events. Graph's change notifications arrive
// at /webhooks/msgraph and are processed from the outbox, and a recurring
// job renews every subscription at about half its life, so nobody ever
// renews anything by hand.
package calendarsync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"frontdesk/booking"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/calendarlink"
	"frontdesk/ent/calendarsubscription"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/integrations/msgraph"
	"frontdesk/outbox"
	"frontdesk/secret"
	"frontdesk/telemetry"
)

// Source is the ExternalBusyBlock source of Outlook events.
const Source = "msgraph"

// Job kinds.
const (
	KindDelta         = "calendar.delta"
	KindSubscriptions = "calendar.subscriptions"
	KindLifecycle     = "calendar.lifecycle"
	KindEventUpsert   = "calendar.event.upsert"
	KindEventDelete   = "calendar.event.delete"
)

// Options configure a Sync.
type Options struct {
	// NotificationURL is the public URL of /webhooks/msgraph that Graph
	// posts change and lifecycle notifications to.
	NotificationURL string
	// Horizon is how far ahead busy times are imported [90 days].
	Horizon time.Duration
	// Lifetime is the lifetime asked for a subscription [the Outlook
	// maximum, 10,080 minutes, less 10 minutes of clock skew].
	Lifetime time.Duration
	// InviteAttendee adds the patient as an attendee of the Outlook event
	// (Outlook then mails them an invitation).
	InviteAttendee bool
	// RenewSchedule is when the renewal task runs [@every 30m].
	RenewSchedule string
	Now           func() time.Time
	Log           *slog.Logger
	// Metrics counts webhook deliveries by outcome (nil: not counted).
	Metrics *telemetry.Metrics
}

// Sync is calendar sync for one store and one Graph tenant.
type Sync struct {
	client *ent.Client
	graph  *msgraph.Client
	opts   Options
}

// New returns a Sync. graph may be nil when Graph is not configured: then
// links can be managed but nothing is synced.
func New(client *ent.Client, graph *msgraph.Client, o Options) *Sync {
	if o.Horizon <= 0 {
		o.Horizon = 90 * 24 * time.Hour
	}
	if o.Lifetime <= 0 || o.Lifetime > msgraph.MaxEventSubscription {
		o.Lifetime = msgraph.MaxEventSubscription - 10*time.Minute
	}
	if o.RenewSchedule == "" {
		o.RenewSchedule = "@every 30m"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Sync{client: client, graph: graph, opts: o}
}

// Enabled reports whether Graph is configured.
func (s *Sync) Enabled() bool { return s.graph != nil }

func (s *Sync) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// Register adds the job kinds and the renewal task to reg.
func (s *Sync) Register(reg *outbox.Registry) {
	graphBackoff := outbox.ExponentialBackoff(15*time.Second, 30*time.Minute)
	reg.Register(outbox.Kind{Name: KindDelta, Handler: s.runDelta, Backoff: graphBackoff, Timeout: 2 * time.Minute})
	reg.Register(outbox.Kind{Name: KindLifecycle, Handler: s.runLifecycle, Backoff: graphBackoff})
	reg.Register(outbox.Kind{Name: KindEventUpsert, Handler: s.runEventUpsert, Backoff: graphBackoff})
	reg.Register(outbox.Kind{Name: KindEventDelete, Handler: s.runEventDelete, Backoff: graphBackoff})
	reg.Every(s.opts.RenewSchedule, outbox.Kind{Name: KindSubscriptions, Handler: s.runSubscriptions, Timeout: 5 * time.Minute})
}

// Errors.
var (
	ErrNotConfigured = errcode.New(errcode.BadUserInput, "Microsoft Graph is not configured (FRONTDESK_MSGRAPH_*)")
	ErrLinkNotFound  = errcode.New(errcode.NotFound, "no such calendar link")
)

// LinkInput links a practitioner to an Outlook calendar.
type LinkInput struct {
	PractitionerID gid.ID
	// Mailbox is the Azure AD user id or user principal name.
	Mailbox string
	// CalendarID is empty for the default calendar.
	CalendarID string
}

// Link links (or relinks) a practitioner's calendar and queues a full
// import and the subscription's creation. Needs identity.ManageSettings.
func (s *Sync) Link(ctx context.Context, in LinkInput) (*ent.CalendarLink, error) {
	if _, err := identity.Require(ctx, identity.ManageSettings); err != nil {
		return nil, err
	}
	in.Mailbox = strings.TrimSpace(in.Mailbox)
	if in.Mailbox == "" || len(in.Mailbox) > 254 || strings.ContainsAny(in.Mailbox, "/?# ") {
		return nil, errcode.Invalidf(errcode.Invalid, "mailbox", "expected an Azure AD user id or user principal name such as dr.ada@clinic.example")
	}
	if len(in.CalendarID) > 512 || strings.ContainsAny(in.CalendarID, "/?#") {
		return nil, errcode.Invalidf(errcode.Invalid, "calendarId", "not a calendar id")
	}
	if ok, err := booking.PractitionerExists(ctx, s.client, in.PractitionerID); err != nil {
		return nil, err
	} else if !ok {
		return nil, errcode.Invalidf(errcode.Invalid, "practitionerId", "no such practitioner")
	}
	var link *ent.CalendarLink
	err := database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		old, err := tx.CalendarLink.Query().Where(calendarlink.PractitionerID(in.PractitionerID)).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			link, err = tx.CalendarLink.Create().SetPractitionerID(in.PractitionerID).SetMailbox(in.Mailbox).
				SetCalendarID(in.CalendarID).Save(ctx)
		case err == nil:
			link, err = old.Update().SetMailbox(in.Mailbox).SetCalendarID(in.CalendarID).SetDeltaLink("").
				ClearWindowEnd().SetLastSyncError("").Save(ctx)
		}
		if err != nil {
			return err
		}
		sub, err := tx.CalendarSubscription.Query().Where(calendarsubscription.LinkID(link.ID)).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			err = tx.CalendarSubscription.Create().SetLinkID(link.ID).SetClientState(newClientState()).Exec(ctx)
		case err == nil && old != nil && old.Mailbox != in.Mailbox:
			// A new mailbox needs a new subscription; the renewal job
			// deletes the old one when it recreates.
			err = sub.Update().SetState(calendarsubscription.StatePENDING).ClearExpiresAt().Exec(ctx)
		}
		if err != nil {
			return err
		}
		// Busy blocks of the old calendar go with the full sync's replace.
		if _, err := outbox.Enqueue(ctx, tx, outbox.Job{Kind: KindDelta, Payload: deltaPayload{LinkID: link.ID}}); err != nil {
			return err
		}
		_, err = outbox.Enqueue(ctx, tx, outbox.Job{Kind: KindSubscriptions, Payload: subsPayload{LinkID: link.ID}})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("link calendar: %w", err)
	}
	return link, nil
}

// Unlink removes a practitioner's calendar link, its busy blocks and its
// subscription row; the Graph subscription simply expires. Needs
// identity.ManageSettings.
func (s *Sync) Unlink(ctx context.Context, practitioner gid.ID) error {
	if _, err := identity.Require(ctx, identity.ManageSettings); err != nil {
		return err
	}
	return database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		link, err := tx.CalendarLink.Query().Where(calendarlink.PractitionerID(practitioner)).Only(ctx)
		if ent.IsNotFound(err) {
			return ErrLinkNotFound
		} else if err != nil {
			return err
		}
		if _, err := tx.CalendarSubscription.Delete().Where(calendarsubscription.LinkID(link.ID)).Exec(ctx); err != nil {
			return err
		}
		if err := booking.KeepBusyBlocks(ctx, tx, practitioner, Source, nil); err != nil {
			return err
		}
		return tx.CalendarLink.DeleteOne(link).Exec(ctx)
	})
}

// Health is one linked calendar's sync state, for admins.
type Health struct {
	Link         *ent.CalendarLink
	Subscription *ent.CalendarSubscription
	// Alert is Alerting at the time Status ran.
	Alert bool
}

// Alerting reports whether an admin should act: the subscription is
// failing, or has expired without being renewed.
func (h Health) Alerting(now time.Time) bool {
	s := h.Subscription
	if s == nil {
		return true
	}
	return s.State == calendarsubscription.StateFAILING ||
		(s.State == calendarsubscription.StateACTIVE && s.ExpiresAt != nil && !s.ExpiresAt.After(now))
}

// Status lists every linked calendar with its subscription. Needs
// identity.ManageSettings or identity.ManageBookings.
func (s *Sync) Status(ctx context.Context) ([]Health, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	links, err := s.client.CalendarLink.Query().Order(ent.Asc(calendarlink.FieldCreatedAt), ent.Asc(calendarlink.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := s.client.CalendarSubscription.Query().All(ctx)
	if err != nil {
		return nil, err
	}
	byLink := map[gid.ID]*ent.CalendarSubscription{}
	for _, sub := range subs {
		byLink[sub.LinkID] = sub
	}
	out := make([]Health, len(links))
	for i, l := range links {
		// Errors are stored redacted; rows written before that are
		// redacted here.
		l.LastSyncError = secret.Redact(l.LastSyncError)
		if sub := byLink[l.ID]; sub != nil {
			sub.LastError = secret.Redact(sub.LastError)
		}
		out[i] = Health{Link: l, Subscription: byLink[l.ID]}
		out[i].Alert = out[i].Alerting(s.now())
	}
	return out, nil
}

// requireAdmin accepts staff who manage settings or bookings.
func requireAdmin(ctx context.Context) error {
	_, err := identity.Require(ctx, identity.ManageSettings)
	if err == nil {
		return nil
	}
	if _, err2 := identity.Require(ctx, identity.ManageBookings); err2 == nil {
		return nil
	}
	return err
}

func newClientState() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
}

// InTx implements booking.ChangeSink: a confirmation or a reschedule
// queues the Outlook event's creation or update, a cancellation of a
// confirmed appointment its deletion, in the booking's transaction.
func (s *Sync) InTx(ctx context.Context, tx *ent.Tx, c booking.Change) error {
	if s.graph == nil {
		return nil
	}
	a := c.Appointment
	var j outbox.Job
	switch {
	case c.To == appointment.StateCONFIRMED && c.From != appointment.StateCONFIRMED:
		j = outbox.Job{Kind: KindEventUpsert, IdempotencyKey: "calendar.event:" + a.ID.String() + ":confirmed"}
	case c.Rescheduled && c.To == appointment.StateCONFIRMED:
		j = outbox.Job{Kind: KindEventUpsert, IdempotencyKey: "calendar.event:" + a.ID.String() + ":" + a.StartAt.UTC().Format(time.RFC3339)}
	case c.To == appointment.StateCANCELLED && c.From == appointment.StateCONFIRMED:
		j = outbox.Job{Kind: KindEventDelete, IdempotencyKey: "calendar.event:" + a.ID.String() + ":cancelled"}
	default:
		return nil
	}
	j.Payload = eventPayload{AppointmentID: a.ID}
	_, err := outbox.Enqueue(ctx, tx, j)
	return err
}

// Committed implements booking.ChangeSink.
func (s *Sync) Committed(context.Context, booking.Change) {}

// CanView reports whether the viewer may see calendar links and their
// subscriptions by ID (node(id:)): those who may read Status.
func CanView(ctx context.Context) bool { return requireAdmin(ctx) == nil }
