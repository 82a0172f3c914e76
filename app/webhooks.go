package app

import (
	"context"
	"log/slog"

	"frontdesk/booking"
	"frontdesk/config"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/outbox"
	"frontdesk/webhooks"
)

// newWebhooks creates the outgoing webhook service and registers its jobs
// and the dead-job hook that raises sync failures. Its shaper is set once
// the schema exists (New).
func newWebhooks(cfg *config.Config, client *ent.Client, jobs *outbox.Registry, log *slog.Logger) *webhooks.Service {
	s := webhooks.New(client, webhooks.Options{
		Guard: webhooks.Guard{RequireHTTPS: cfg.Env == config.Production, AllowPrivate: cfg.WebhookAllowPrivate},
		Log:   log,
	})
	s.Register(jobs, cfg.WebhookRetention)
	jobs.OnDead(webhooks.SyncFailed)
	return s
}

// appointmentEvents raises webhook events for appointment changes: the
// booking engine hands every state change to its sinks inside the
// change's transaction, so this is the one place appointments emit.
type appointmentEvents struct{}

// InTx implements booking.ChangeSink.
func (appointmentEvents) InTx(ctx context.Context, tx *ent.Tx, c booking.Change) error {
	a := c.Appointment
	start := a.StartAt
	data := webhooks.Data{AppointmentID: a.ID, State: string(c.To), PreviousState: string(c.From), StartAt: &start}
	var types []webhooks.EventType
	switch {
	case c.Rescheduled:
		prev := c.Previous
		data.PreviousStartAt = &prev
		types = append(types, webhooks.AppointmentRescheduled)
	case c.From == "" && c.To == appointment.StateHELD:
		types = append(types, webhooks.AppointmentHeld)
	}
	if c.From != c.To {
		// A hold becomes a booking when it leaves HELD for anything but
		// cancellation; a booking made without a hold is booked at once.
		if (c.From == appointment.StateHELD || c.From == "") && (c.To == appointment.StatePENDING_PAYMENT || c.To == appointment.StateCONFIRMED) {
			types = append(types, webhooks.AppointmentBooked)
		}
		switch c.To {
		case appointment.StateCONFIRMED:
			types = append(types, webhooks.AppointmentConfirmed)
		case appointment.StateCANCELLED:
			types = append(types, webhooks.AppointmentCancelled)
		case appointment.StateNO_SHOW:
			types = append(types, webhooks.AppointmentNoShow)
		}
	}
	for _, t := range types {
		if err := webhooks.Emit(ctx, tx, t, data); err != nil {
			return err
		}
	}
	return nil
}

// Committed implements booking.ChangeSink.
func (appointmentEvents) Committed(context.Context, booking.Change) {}

// customerEvents raises customer.created in the transaction that creates
// the account (identity cannot import webhooks: the outbox imports it).
type customerEvents struct{}

// CustomerCreated implements identity.CustomerSink.
func (customerEvents) CustomerCreated(ctx context.Context, tx *ent.Tx, u *ent.User) error {
	return webhooks.Emit(ctx, tx, webhooks.CustomerCreated, webhooks.Data{CustomerID: u.ID})
}
