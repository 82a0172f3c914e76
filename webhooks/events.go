// Package webhooks sends Frontdesk's events to partners' HTTPS endpoints,
// signed per the Standard Webhooks specification.
//
// Domain code calls Emit inside the transaction of the change that raises
// an event, which writes one outbox job: nothing is sent for a change that
// rolled back, and nothing is lost for one that committed. A worker then
// fans the event out to every active endpoint that asked for its type (one
// delivery row and one outbox job each) and delivers it: the body is fixed
// by the first attempt (the default payload, or the endpoint's GraphQL
// subscription document executed with its owner's authority), signed with
// the endpoint's whsec_ secret (and the previous one during a rotation),
// and POSTed through a client that refuses private addresses after DNS
// resolution, follows no redirects and reads little of the answer. Every
// attempt is logged; failures retry with exponential backoff and jitter
// for more than three days, 410 Gone pauses the endpoint at once, and an
// endpoint failing for days is paused and its admins emailed.
package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"frontdesk/ent"
	"frontdesk/gid"
	"frontdesk/outbox"
)

// EventType names an event as it appears in the payload's "type".
type EventType string

// The event catalogue (docs/webhooks.md shows an example payload of each).
const (
	OrderCreated       EventType = "order.created"
	OrderPaid          EventType = "order.paid"
	OrderPaymentFailed EventType = "order.payment_failed"
	OrderFulfilled     EventType = "order.fulfilled"
	OrderDelivered     EventType = "order.delivered"
	OrderRefunded      EventType = "order.refunded"
	OrderCancelled     EventType = "order.cancelled"

	AppointmentHeld        EventType = "appointment.held"
	AppointmentBooked      EventType = "appointment.booked"
	AppointmentConfirmed   EventType = "appointment.confirmed"
	AppointmentRescheduled EventType = "appointment.rescheduled"
	AppointmentCancelled   EventType = "appointment.cancelled"
	AppointmentNoShow      EventType = "appointment.no_show"

	IntakeSubmitted  EventType = "intake.submitted"
	CustomerCreated  EventType = "customer.created"
	ProductCreated   EventType = "product.created"
	ProductUpdated   EventType = "product.updated"
	ProductArchived  EventType = "product.archived"
	StockLow         EventType = "stock.low"
	StockOut         EventType = "stock.out"
	SyncCalendarFail EventType = "sync.calendar_failed"
	SyncEHRFail      EventType = "sync.ehr_failed"

	// Ping is sent only by pingWebhookEndpoint, to the one endpoint, and
	// needs no subscription.
	Ping EventType = "webhook.ping"
)

// EventTypes lists every type an endpoint may subscribe to, in catalogue
// order.
var EventTypes = []EventType{
	OrderCreated, OrderPaid, OrderPaymentFailed, OrderFulfilled, OrderDelivered, OrderRefunded, OrderCancelled,
	AppointmentHeld, AppointmentBooked, AppointmentConfirmed, AppointmentRescheduled, AppointmentCancelled, AppointmentNoShow,
	IntakeSubmitted, CustomerCreated, ProductCreated, ProductUpdated, ProductArchived, StockLow, StockOut,
	SyncCalendarFail, SyncEHRFail,
}

// Known reports whether t is in the catalogue.
func Known(t EventType) bool {
	for _, x := range EventTypes {
		if x == t {
			return true
		}
	}
	return false
}

// Data is the default payload's "data": the ids of what changed and a few
// facts about the change, never personal data, so an endpoint without a
// document learns what to fetch and nothing its owner could not read.
type Data struct {
	OrderID         gid.ID     `json:"orderId,omitempty"`
	AppointmentID   gid.ID     `json:"appointmentId,omitempty"`
	SubmissionID    gid.ID     `json:"intakeSubmissionId,omitempty"`
	CustomerID      gid.ID     `json:"customerId,omitempty"`
	ProductID       gid.ID     `json:"productId,omitempty"`
	VariantID       gid.ID     `json:"variantId,omitempty"`
	JobID           gid.ID     `json:"jobId,omitempty"`
	EndpointID      gid.ID     `json:"endpointId,omitempty"`
	State           string     `json:"state,omitempty"`
	PreviousState   string     `json:"previousState,omitempty"`
	StartAt         *time.Time `json:"startAt,omitempty"`
	PreviousStartAt *time.Time `json:"previousStartAt,omitempty"`
	// Available is the variant's sellable quantity for stock events.
	Available *int `json:"available,omitempty"`
	// JobKind names the failed sync job for sync events.
	JobKind string `json:"jobKind,omitempty"`
	// AmountRefunded is the order's total refunded so far, in minor
	// units, for order.refunded: each refund raises it.
	AmountRefunded *int64 `json:"amountRefunded,omitempty"`
}

// Event is one raised event.
type Event struct {
	// ID is the webhook-id header: "evt_" and a ULID, the same on every
	// attempt, redelivery and endpoint.
	ID         string    `json:"id"`
	Type       EventType `json:"type"`
	OccurredAt time.Time `json:"occurredAt"`
	Data       Data      `json:"data"`
}

// KindFanout is the outbox job that turns one event into deliveries.
const KindFanout = "webhooks.fanout"

// Emit raises an event inside tx: it writes the outbox job that fans it
// out once tx commits, and nothing if tx rolls back. It is the one call
// domain code makes; an unknown type is a programming error.
func Emit(ctx context.Context, tx *ent.Tx, t EventType, data Data) error {
	if !Known(t) {
		return fmt.Errorf("webhooks: unknown event type %q", t)
	}
	ev := newEvent(t, data)
	payload, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webhooks: encode %s: %w", t, err)
	}
	if _, err := outbox.Enqueue(ctx, tx, outbox.Job{Kind: KindFanout, Payload: json.RawMessage(payload),
		IdempotencyKey: KindFanout + ":" + ev.ID}); err != nil {
		return fmt.Errorf("webhooks: emit %s: %w", t, err)
	}
	return nil
}

func newEvent(t EventType, data Data) Event {
	return Event{ID: gid.New("evt").String(), Type: t, OccurredAt: time.Now().UTC().Truncate(time.Microsecond), Data: data}
}

// SyncFailed is an outbox.DeadHook: a calendar or EHR job that went DEAD
// raises sync.calendar_failed or sync.ehr_failed in the same transaction.
func SyncFailed(ctx context.Context, tx *ent.Tx, kind string, id gid.ID) error {
	var t EventType
	switch {
	case strings.HasPrefix(kind, "calendar."):
		t = SyncCalendarFail
	case strings.HasPrefix(kind, "ehr."):
		t = SyncEHRFail
	default:
		return nil
	}
	return Emit(ctx, tx, t, Data{JobID: id, JobKind: kind})
}
