package booking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/appointmentstatechange"
	"frontdesk/ent/intakesubmission"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/integrations/mail"
	"frontdesk/integrations/sms"
	"frontdesk/notify"
	"frontdesk/outbox"
)

// Patient notifications. Every message is an outbox job written in the
// transaction of the change that owes it (through the ChangeSink), so a
// rolled-back booking sends nothing and a committed one is never left
// unannounced.
//
// Reminders are jobs due at start minus each offset. They are not
// cancelled when the appointment moves or is cancelled; instead the
// reminder job, when it comes due, re-reads the appointment and sends only
// if it is still CONFIRMED at the start the reminder was scheduled for.
// Cancelling jobs instead would race with a worker that has already
// claimed one (it would send anyway), and would reach into the outbox's
// table from here; the check at send time reads the committed state, costs
// one query, and also makes a reschedule back to an earlier time reuse that
// time's reminders (same idempotency key). The intake-form link works the
// same way: it is a job that runs right after the commit and sends only if
// no answers were submitted by then (answers given with the booking are
// saved after the state change in the same transaction).

// Job kinds the notifier registers.
const (
	KindReminder   = "booking.reminder"
	KindIntakeLink = "booking.intake_link"
)

// NotifyOptions configure patient notifications.
type NotifyOptions struct {
	// AppURL is the patient-facing app. Messages link to
	// <AppURL>/manage?appointment=<id>[&token=<manage token>],
	// <AppURL>/intake?appointment=<id>[&token=…] and, to offer other
	// times, <AppURL>/book?service=<slug>&practitioner=<id>. The token is
	// added for guests only; account holders sign in.
	AppURL string
	// Reminders are how long before the start reminders go out (the
	// configuration's default is 24h and 2h). Offsets already past when
	// the appointment is confirmed or moved are skipped.
	Reminders []time.Duration
	// Organizer is the From address of calendar invitations.
	Organizer string
	// Log defaults to slog.Default().
	Log *slog.Logger
}

// Notifier writes the patient's email and SMS jobs for appointment
// changes. Build it with Engine.EnableNotifications.
type Notifier struct {
	e *Engine
	o NotifyOptions
}

// EnableNotifications puts a Notifier in front of the engine's change
// sinks and returns it; register its jobs with Notifier.Register. Late
// payments and refunds are announced through it too.
func (e *Engine) EnableNotifications(o NotifyOptions) *Notifier {
	o.AppURL = strings.TrimSuffix(o.AppURL, "/")
	if a, err := netmail.ParseAddress(o.Organizer); err == nil {
		o.Organizer = a.Address
	} else {
		o.Organizer = ""
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	n := &Notifier{e: e, o: o}
	e.notes = n
	e.Changes = Sinks{n, e.Changes}
	return n
}

// Register declares the reminder and intake-link jobs.
func (n *Notifier) Register(reg *outbox.Registry) {
	reg.Register(outbox.Kind{Name: KindReminder, Handler: n.runReminder, Timeout: 30 * time.Second})
	reg.Register(outbox.Kind{Name: KindIntakeLink, Handler: n.runIntakeLink, Timeout: 30 * time.Second})
}

// InTx implements ChangeSink: confirmation, reschedule and cancellation
// notices, reminders and the intake-form link.
func (n *Notifier) InTx(ctx context.Context, tx *ent.Tx, c Change) error {
	a := c.Appointment
	var kind mail.Kind
	switch {
	case c.To == appointment.StateCONFIRMED && c.From != appointment.StateCONFIRMED:
		kind = mail.BookingConfirmation
	case c.Rescheduled && c.To == appointment.StateCONFIRMED:
		kind = mail.BookingRescheduled
	case c.To == appointment.StateCANCELLED && c.From == appointment.StateCONFIRMED:
		kind = mail.BookingCancelled
	default:
		// Holds, unpaid bookings and their expiry tell the patient nothing:
		// the booking page shows them. Completion and no-shows neither.
		return nil
	}
	m, err := n.load(ctx, tx.Client(), a)
	if err != nil {
		return err
	}
	// The calendar entry's SEQUENCE must grow with every change so mail
	// clients update the same entry; the history count does.
	seq, err := tx.AppointmentStateChange.Query().Where(appointmentstatechange.AppointmentID(a.ID)).Count(ctx)
	if err != nil {
		return fmt.Errorf("count appointment history: %w", err)
	}
	key := string(kind) + ":" + string(a.ID)
	if kind == mail.BookingRescheduled {
		key += fmt.Sprintf(":%d", seq)
	}
	cal := m.calendar(n.o.Organizer, seq, kind == mail.BookingCancelled)
	if err := n.email(ctx, tx, m, kind, key, m.data(), notify.Calendar(cal)); err != nil {
		return err
	}
	if err := n.sms(ctx, tx, m, string(kind), key, m.smsBody(kind)); err != nil {
		return err
	}
	if kind == mail.BookingCancelled {
		return nil
	}
	if err := n.scheduleReminders(ctx, tx, a); err != nil {
		return err
	}
	if kind == mail.BookingConfirmation && m.svc.IntakeFormKey != nil {
		_, err := outbox.Enqueue(ctx, tx, outbox.Job{Kind: KindIntakeLink, IdempotencyKey: KindIntakeLink + ":" + string(a.ID),
			Payload: reminderJob{AppointmentID: a.ID, Start: a.StartAt}})
		if err != nil {
			return fmt.Errorf("enqueue intake link: %w", err)
		}
	}
	return nil
}

// Committed implements ChangeSink.
func (n *Notifier) Committed(context.Context, Change) {}

type reminderJob struct {
	AppointmentID gid.ID    `json:"appointmentId"`
	Start         time.Time `json:"start"`
	Before        string    `json:"before,omitempty"`
}

// scheduleReminders enqueues a reminder job per offset that is still
// ahead, due at start minus the offset. The key includes the start, so a
// moved appointment gets new jobs and the old ones find it moved.
func (n *Notifier) scheduleReminders(ctx context.Context, tx *ent.Tx, a *ent.Appointment) error {
	now := n.e.now()
	for _, before := range n.o.Reminders {
		due := a.StartAt.Add(-before)
		if !due.After(now) {
			continue
		}
		_, err := outbox.Enqueue(ctx, tx, outbox.Job{
			Kind:           KindReminder,
			IdempotencyKey: reminderKey(a.ID, a.StartAt, before),
			Payload:        reminderJob{AppointmentID: a.ID, Start: a.StartAt, Before: before.String()},
			RunAt:          due,
		})
		if err != nil {
			return fmt.Errorf("enqueue reminder: %w", err)
		}
	}
	return nil
}

func reminderKey(id gid.ID, start time.Time, before time.Duration) string {
	return fmt.Sprintf("%s:%s:%d:%s", KindReminder, id, start.Unix(), before)
}

// current loads the appointment a reminder job is about, or nil when the
// job is stale: the appointment is gone, no longer confirmed, has moved,
// or has started.
func (n *Notifier) current(ctx context.Context, j *outbox.Running) (*ent.Appointment, *reminderJob, error) {
	var p reminderJob
	if err := j.Decode(&p); err != nil {
		return nil, nil, err
	}
	a, err := n.e.Client.Appointment.Get(ctx, p.AppointmentID)
	if ent.IsNotFound(err) {
		return nil, &p, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load appointment %s: %w", p.AppointmentID, err)
	}
	if a.State != appointment.StateCONFIRMED || !a.StartAt.Equal(p.Start) || !n.e.now().Before(a.StartAt) {
		n.o.Log.InfoContext(ctx, "skipped stale appointment notice", "job", j.Kind, "appointment", a.ID,
			"state", a.State, "scheduled_for", p.Start, "start", a.StartAt)
		return nil, &p, nil
	}
	return a, &p, nil
}

func (n *Notifier) runReminder(ctx context.Context, j *outbox.Running) error {
	a, p, err := n.current(ctx, j)
	if err != nil || a == nil {
		return err
	}
	return database.WithTx(ctx, n.e.Client, func(tx *ent.Tx) error {
		m, err := n.load(ctx, tx.Client(), a)
		if err != nil {
			return err
		}
		data := m.data()
		if m.svc.IntakeFormKey != nil {
			done, err := tx.IntakeSubmission.Query().Where(intakesubmission.AppointmentID(a.ID)).Exist(ctx)
			if err != nil {
				return fmt.Errorf("check intake submission: %w", err)
			}
			if !done {
				data["intakeLink"] = n.link("intake", a, m.guest())
			}
		}
		key := fmt.Sprintf("%s:%s:%d:%s", mail.BookingReminder, a.ID, a.StartAt.Unix(), p.Before)
		if err := n.email(ctx, tx, m, mail.BookingReminder, key, data); err != nil {
			return err
		}
		return n.sms(ctx, tx, m, string(mail.BookingReminder), key, m.smsBody(mail.BookingReminder))
	})
}

func (n *Notifier) runIntakeLink(ctx context.Context, j *outbox.Running) error {
	a, _, err := n.current(ctx, j)
	if err != nil || a == nil {
		return err
	}
	return database.WithTx(ctx, n.e.Client, func(tx *ent.Tx) error {
		done, err := tx.IntakeSubmission.Query().Where(intakesubmission.AppointmentID(a.ID)).Exist(ctx)
		if err != nil || done {
			return err
		}
		m, err := n.load(ctx, tx.Client(), a)
		if err != nil {
			return err
		}
		data := m.data()
		data["link"] = n.link("intake", a, m.guest())
		return n.email(ctx, tx, m, mail.IntakeForm, string(mail.IntakeForm)+":"+string(a.ID), data)
	})
}

// notice is what a message about one appointment needs.
type notice struct {
	a     *ent.Appointment
	svc   *ent.Service
	prac  *ent.Practitioner
	loc   *time.Location
	name  string
	email string
	phone sms.Phone // empty: no SMS
	link  string    // manage link
}

func (m *notice) guest() bool { return m.a.PatientID == nil }

// load reads the service, practitioner and patient of a (three queries,
// only for changes that send something).
func (n *Notifier) load(ctx context.Context, client *ent.Client, a *ent.Appointment) (*notice, error) {
	m := &notice{a: a}
	var err error
	if m.svc, err = client.Service.Get(ctx, a.ServiceID); err != nil {
		return nil, fmt.Errorf("load service of %s: %w", a.ID, err)
	}
	if m.prac, err = client.Practitioner.Get(ctx, a.PractitionerID); err != nil {
		return nil, fmt.Errorf("load practitioner of %s: %w", a.ID, err)
	}
	if m.loc, err = time.LoadLocation(m.prac.TimeZone); err != nil {
		m.loc = time.UTC
	}
	m.name, m.email = a.GuestName, a.GuestEmail
	phone := a.GuestPhone
	if a.PatientID != nil {
		c, err := identity.ContactOf(ctx, client, *a.PatientID)
		switch {
		case errors.Is(err, identity.ErrUserNotFound):
			// Never refuse or roll back a booking for want of an address.
			n.o.Log.WarnContext(ctx, "appointment's patient account is missing; no messages", "appointment", a.ID)
			m.name, m.email, phone = "", "", ""
		case err != nil:
			return nil, fmt.Errorf("load patient of %s: %w", a.ID, err)
		default:
			m.name, m.email, phone = c.Name, c.Email, c.Phone
		}
	}
	if m.name == "" {
		m.name = "there"
	}
	if phone != "" {
		if p, err := sms.ParsePhone(phone); err == nil {
			m.phone = p
		} else {
			n.o.Log.WarnContext(ctx, "appointment has an invalid phone number; no SMS", "appointment", a.ID)
		}
	}
	m.link = n.link("manage", a, m.guest())
	return m, nil
}

// link builds a patient-facing link; guests' carry the signed manage token.
func (n *Notifier) link(page string, a *ent.Appointment, guest bool) string {
	q := url.Values{"appointment": {string(a.ID)}}
	if guest {
		q.Set("token", n.e.ManageToken(a.ID))
	}
	return n.o.AppURL + "/" + page + "?" + q.Encode()
}

// bookLink offers other times of the same service and practitioner.
func (n *Notifier) bookLink(svc *ent.Service, practitionerID gid.ID) string {
	q := url.Values{"service": {svc.Slug}, "practitioner": {string(practitionerID)}}
	return n.o.AppURL + "/book?" + q.Encode()
}

func (m *notice) location() string {
	if m.svc.Location != "" {
		return m.svc.Location
	}
	if m.svc.VideoURL != "" {
		return "Video call: " + m.svc.VideoURL
	}
	return "see your booking"
}

// data is the template data every booking mail shares (see
// docs/operations.md). Times are shown in the practitioner's zone, where
// the appointment takes place; the .ics carries UTC for the calendar.
func (m *notice) data() map[string]any {
	return map[string]any{
		"name":         m.name,
		"service":      m.svc.Name,
		"practitioner": m.prac.Name,
		"start":        m.a.StartAt.In(m.loc).Format(time.RFC3339),
		"location":     m.location(),
		"manageLink":   m.link,
	}
}

func (m *notice) calendar(organizer string, seq int, cancelled bool) mail.CalendarEvent {
	return mail.CalendarEvent{
		UID:         string(m.a.ID) + "@frontdesk",
		Sequence:    seq,
		Start:       m.a.StartAt,
		End:         m.a.EndAt,
		Summary:     m.svc.Name + " with " + m.prac.Name,
		Description: "To reschedule or cancel: " + m.link,
		Location:    m.location(),
		Organizer:   organizer,
		Attendee:    m.email,
		Cancelled:   cancelled,
	}
}

// smsBody keeps texts short and in GSM-7 (no typographic characters), so
// they fit in few segments.
func (m *notice) smsBody(kind mail.Kind) string {
	when := m.a.StartAt.In(m.loc).Format("Mon 2 Jan 15:04 MST")
	switch kind {
	case mail.BookingConfirmation:
		return fmt.Sprintf("Booked: %s with %s, %s. To reschedule or cancel: %s", m.svc.Name, m.prac.Name, when, m.link)
	case mail.BookingRescheduled:
		return fmt.Sprintf("Moved: your %s with %s is now %s. To change it: %s", m.svc.Name, m.prac.Name, when, m.link)
	case mail.BookingCancelled:
		return fmt.Sprintf("Cancelled: your %s with %s on %s.", m.svc.Name, m.prac.Name, when)
	default:
		return fmt.Sprintf("Reminder: %s with %s, %s. To reschedule or cancel: %s", m.svc.Name, m.prac.Name, when, m.link)
	}
}

func (n *Notifier) email(ctx context.Context, tx *ent.Tx, m *notice, kind mail.Kind, key string, data map[string]any, opts ...notify.Option) error {
	if _, err := netmail.ParseAddress(m.email); err != nil {
		// A booking is never refused, nor rolled back, for want of mail.
		n.o.Log.WarnContext(ctx, "appointment has no valid email address; no mail", "appointment", m.a.ID, "kind", kind)
		return nil
	}
	if _, err := notify.Email(ctx, tx, kind, m.email, data, append(opts, notify.Key(key))...); err != nil {
		return fmt.Errorf("enqueue %s email: %w", kind, err)
	}
	return nil
}

func (n *Notifier) sms(ctx context.Context, tx *ent.Tx, m *notice, kind, key, body string) error {
	if m.phone == "" {
		return nil
	}
	if _, err := notify.SMS(ctx, tx, kind, m.phone, body, notify.Key(key)); err != nil {
		return fmt.Errorf("enqueue %s SMS: %w", kind, err)
	}
	return nil
}

// refundNotice tells the patient that a payment is being returned: after a
// cancellation, or (late) when the money arrived after the time had been
// released, with a link to choose another time.
func (n *Notifier) refundNotice(ctx context.Context, tx *ent.Tx, a *ent.Appointment, intentID string, amount int64, currency string, late bool) error {
	m, err := n.load(ctx, tx.Client(), a)
	if err != nil {
		return err
	}
	data := m.data()
	data["amount"] = amount
	data["currency"] = currency
	if late {
		data["late"] = true
		data["bookLink"] = n.bookLink(m.svc, a.PractitionerID)
	}
	return n.email(ctx, tx, m, mail.BookingRefund, string(mail.BookingRefund)+":"+intentID, data)
}
