package calendarsync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"frontdesk/booking"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/calendarevent"
	"frontdesk/ent/calendarlink"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/integrations/msgraph"
	"frontdesk/outbox"
)

type eventPayload struct {
	AppointmentID gid.ID `json:"appointmentId"`
}

// graphErr makes a Graph error final when retrying cannot help.
func graphErr(err error) error {
	if err == nil || msgraph.IsRetryable(err) || msgraph.StatusOf(err) == 0 {
		return err
	}
	return outbox.Permanent(err)
}

// runEventUpsert writes an appointment's Outlook event: created with the
// appointment id as transactionId (Graph returns the first event to a
// retried create), or patched when it exists.
func (s *Sync) runEventUpsert(ctx context.Context, j *outbox.Running) error {
	var p eventPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	if s.graph == nil {
		return nil
	}
	a, err := booking.AppointmentWithService(ctx, s.client, p.AppointmentID)
	if ent.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if a.State == appointment.StateCANCELLED {
		return s.deleteEvent(ctx, a.ID)
	}
	if !booking.OccupiesCalendar(a.State) {
		return nil
	}
	link, err := s.client.CalendarLink.Query().Where(calendarlink.PractitionerID(a.PractitionerID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil // the practitioner's calendar is not linked
	} else if err != nil {
		return err
	}
	ev, err := s.eventOf(ctx, a)
	if err != nil {
		return err
	}
	existing, err := s.client.CalendarEvent.Query().Where(calendarevent.AppointmentID(a.ID)).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return err
	}
	if existing != nil {
		ev.TransactionID = ""
		_, err := s.graph.UpdateEvent(ctx, existing.Mailbox, existing.EventID, ev)
		if !msgraph.IsNotFound(err) {
			return graphErr(err)
		}
		// Deleted in Outlook: write it again below under a fresh
		// transactionId, since Graph keeps the first one's.
		ev.TransactionID = a.ID.String() + "-" + j.ID.String()
	}
	created, err := s.graph.CreateEvent(ctx, link.Mailbox, link.CalendarID, ev)
	if err != nil {
		return graphErr(err)
	}
	err = s.client.CalendarEvent.Create().SetAppointmentID(a.ID).SetMailbox(link.Mailbox).SetEventID(created.ID).
		OnConflictColumns(calendarevent.FieldAppointmentID).
		Update(func(u *ent.CalendarEventUpsert) { u.UpdateMailbox().UpdateEventID().UpdateUpdatedAt() }).
		Exec(ctx)
	if err != nil {
		return err
	}
	// The appointment may have been cancelled while Graph created the
	// event, and the cancellation's delete job may have run before the row
	// above existed and found nothing to delete. Reading the state after
	// writing the row closes that gap: either that job saw the row, or
	// this read sees the cancellation (deleting twice is harmless).
	state, err := booking.AppointmentState(ctx, s.client, a.ID)
	if err != nil {
		return err
	}
	if state == appointment.StateCANCELLED {
		return s.deleteEvent(ctx, a.ID)
	}
	return nil
}

// eventOf is the Outlook event of an appointment. It carries no clinical
// detail: the service name, the patient's name, where, and the id.
func (s *Sync) eventOf(ctx context.Context, a *ent.Appointment) (msgraph.Event, error) {
	svc := a.Edges.Service
	name, email := a.GuestName, a.GuestEmail
	if a.PatientID != nil {
		c, err := identity.ContactOf(ctx, s.client, *a.PatientID)
		switch {
		case errors.Is(err, identity.ErrUserNotFound):
		case err != nil:
			return msgraph.Event{}, err
		default:
			name, email = c.Name, c.Email
		}
	}
	subject := svc.Name
	if name != "" {
		subject += ": " + name
	}
	var body strings.Builder
	fmt.Fprintf(&body, "Booked through Frontdesk (appointment %s).\n", a.ID)
	loc := svc.Location
	if svc.VideoURL != "" {
		fmt.Fprintf(&body, "Video link: %s\n", svc.VideoURL)
		if loc == "" {
			loc = svc.VideoURL
		}
	}
	no := false
	ev := msgraph.Event{
		Subject:               subject,
		Body:                  &msgraph.ItemBody{ContentType: "text", Content: body.String()},
		Start:                 msgraph.At(a.StartAt),
		End:                   msgraph.At(a.EndAt),
		ShowAs:                "busy",
		TransactionID:         a.ID.String(),
		AllowNewTimeProposals: &no,
	}
	if loc != "" {
		ev.Location = &msgraph.Location{DisplayName: loc}
	}
	if s.opts.InviteAttendee && email != "" {
		ev.Attendees = []msgraph.Attendee{{EmailAddress: msgraph.EmailAddress{Name: name, Address: email}, Type: "required"}}
	}
	return ev, nil
}

// runEventDelete removes a cancelled appointment's Outlook event.
func (s *Sync) runEventDelete(ctx context.Context, j *outbox.Running) error {
	var p eventPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	if s.graph == nil {
		return nil
	}
	return s.deleteEvent(ctx, p.AppointmentID)
}

func (s *Sync) deleteEvent(ctx context.Context, id gid.ID) error {
	ev, err := s.client.CalendarEvent.Query().Where(calendarevent.AppointmentID(id)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil // never written (the upsert job sees the cancellation)
	} else if err != nil {
		return err
	}
	// Already gone in Outlook (deleted there, or by a racing job) is done.
	if err := s.graph.DeleteEvent(ctx, ev.Mailbox, ev.EventID); err != nil && !msgraph.IsNotFound(err) {
		return graphErr(err)
	}
	_, err = s.client.CalendarEvent.Delete().Where(calendarevent.ID(ev.ID)).Exec(ctx)
	return err
}
