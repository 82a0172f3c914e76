package booking

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/service"
	"frontdesk/events"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/outbox"
)

// Live status: appointment changes are published on the event bus after
// commit, and the sweeper that releases expired holds runs from the
// outbox's recurring tasks.

// Event topics.
const (
	topicAvailability = "booking.availability"
)

func appointmentTopic(id gid.ID) string { return "booking.appointment." + string(id) }

// AvailabilityChange says that a practitioner's free time changed between
// From and To (a slot was taken or given back).
type AvailabilityChange struct {
	PractitionerID gid.ID    `json:"practitionerId"`
	ServiceID      gid.ID    `json:"serviceId"`
	From           time.Time `json:"from"`
	To             time.Time `json:"to"`
}

type appointmentEvent struct {
	ID    gid.ID            `json:"id"`
	State appointment.State `json:"state"`
}

// EventSink publishes committed appointment changes on the bus. Its InTx
// does nothing: the other sinks (notifications, EHR and calendar sync)
// write their outbox jobs there.
type EventSink struct {
	Bus events.Bus
}

// InTx implements ChangeSink.
func (EventSink) InTx(context.Context, *ent.Tx, Change) error { return nil }

// Committed implements ChangeSink. Delivery is best effort (the bus is at
// most once); a failure is logged, and subscribers reload on reconnect.
func (s EventSink) Committed(ctx context.Context, c Change) {
	a := c.Appointment
	if err := s.Bus.Publish(ctx, appointmentTopic(a.ID), appointmentEvent{ID: a.ID, State: a.State}); err != nil {
		slog.WarnContext(ctx, "publish appointment change", "appointment", a.ID, "error", err)
	}
	spans := []Interval{{a.BlockedStart, a.BlockedEnd}}
	if c.Rescheduled {
		spans = append(spans, Interval{c.Previous, c.Previous.Add(a.EndAt.Sub(a.StartAt))})
	}
	// Confirming a hold or marking completion does not change free time.
	if c.From != "" && c.To != appointment.StateCANCELLED && !c.Rescheduled {
		return
	}
	for _, sp := range spans {
		ev := AvailabilityChange{PractitionerID: a.PractitionerID, ServiceID: a.ServiceID, From: sp.Start, To: sp.End}
		if err := s.Bus.Publish(ctx, topicAvailability, ev); err != nil {
			slog.WarnContext(ctx, "publish availability change", "practitioner", a.PractitionerID, "error", err)
		}
	}
}

// WatchAppointment streams an appointment each time its state or time
// changes, to a viewer allowed to see it (see Appointment). The channel
// closes when ctx ends or the subscriber falls behind.
func (e *Engine) WatchAppointment(ctx context.Context, bus events.Bus, id gid.ID, token string) (<-chan *ent.Appointment, error) {
	if _, err := e.Appointment(ctx, id, token); err != nil {
		return nil, err
	}
	sub := bus.Subscribe(ctx, appointmentTopic(id), 8)
	out := make(chan *ent.Appointment, 1)
	go func() {
		defer close(out)
		defer sub.Close()
		for range sub.C {
			a, err := e.Client.Appointment.Get(ctx, id)
			if err != nil {
				slog.WarnContext(ctx, "reload watched appointment", "appointment", id, "error", err)
				return
			}
			select {
			case out <- a:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// WatchAvailability streams a change each time free time of a practitioner
// offering the service changes, so a booking page can reload its slots.
func (e *Engine) WatchAvailability(ctx context.Context, bus events.Bus, serviceID gid.ID) (<-chan *AvailabilityChange, error) {
	svc, err := e.Client.Service.Query().Where(service.ID(serviceID)).WithPractitioners().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrServiceNotFound
	}
	if err != nil {
		return nil, err
	}
	// Keep what the filter needs, not the rows: a watcher holds it for as
	// long as its page is open.
	w := &availabilityWatch{service: svc.ID, horizon: max(svc.HorizonDays, 1), offered: make(map[gid.ID]bool, len(svc.Edges.Practitioners))}
	for _, p := range svc.Edges.Practitioners {
		w.offered[p.ID] = true
		w.practitioners = append(w.practitioners, p.ID)
	}
	// No goroutine per watcher: the bus runs the filter in the
	// publisher's goroutine and hands the result to the channel, so a
	// booking page left open costs a channel, not a parked stack. Room for
	// a resync's change per practitioner besides the usual backlog.
	out, _ := events.Map(ctx, bus, topicAvailability, 32+len(svc.Edges.Practitioners), func(ev events.Event) []*AvailabilityChange {
		changes, _ := availabilityChanges(ev, w, e.now())
		return changes
	})
	return out, nil
}

// lastChange remembers the last availability event decoded: an event
// reaches every watcher of every service, and all of them read the same
// bytes, so it is decoded once, not once per watcher. The watchers share
// the decoded value, which nothing modifies.
var lastChange atomic.Pointer[decodedChange]

type decodedChange struct {
	data *byte // the event's payload, by identity (events never change it)
	n    int
	one  []*AvailabilityChange
}

func decodeChange(data json.RawMessage) ([]*AvailabilityChange, bool) {
	if len(data) == 0 {
		return nil, false
	}
	if d := lastChange.Load(); d != nil && d.data == &data[0] && d.n == len(data) {
		return d.one, true
	}
	var c AvailabilityChange
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, false
	}
	one := []*AvailabilityChange{&c}
	lastChange.Store(&decodedChange{data: &data[0], n: len(data), one: one})
	return one, true
}

// availabilityChanges is what a watcher of svc's availability receives for
// ev: the change, when it concerns a practitioner offering svc; and for a
// resync (changes may have been missed while Redis was away), a change
// over the whole booking horizon for each of them, at once, so the page
// reloads its slots without waiting for the next change (the payload
// carries extensions.resync).
func availabilityChanges(ev events.Event, w *availabilityWatch, now time.Time) ([]*AvailabilityChange, bool) {
	if ev.Resync {
		out := make([]*AvailabilityChange, 0, len(w.practitioners))
		for _, p := range w.practitioners {
			out = append(out, &AvailabilityChange{PractitionerID: p, ServiceID: w.service,
				From: now.UTC(), To: now.UTC().AddDate(0, 0, w.horizon)})
		}
		return out, len(out) > 0
	}
	one, ok := decodeChange(ev.Data)
	if !ok || !w.offered[one[0].PractitionerID] {
		return nil, false
	}
	return one, true
}

// availabilityWatch is what a watcher of a service's availability filters
// with.
type availabilityWatch struct {
	service       gid.ID
	horizon       int
	offered       map[gid.ID]bool
	practitioners []gid.ID
}

// RegisterJobs declares booking's recurring tasks: the sweeper that
// cancels expired holds and unpaid bookings and releases their slots,
// and the nightly prune of idle counter rows (retention.go).
// (Holds also give way lazily: a new hold on an expired one's time
// cancels it in the same transaction.)
func RegisterJobs(reg *outbox.Registry, e *Engine) {
	registerPruneCounters(reg, e)
	reg.Every("@every 5m", outbox.Kind{Name: "booking.expire_holds", Concurrency: 1, Timeout: 2 * time.Minute,
		Handler: func(ctx context.Context, _ *outbox.Running) error {
			n, err := e.ExpireHolds(identity.SystemContext(ctx))
			if n > 0 {
				slog.InfoContext(ctx, "released expired holds", "count", n)
			}
			return err
		}})
}
