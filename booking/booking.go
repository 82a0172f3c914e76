// Package booking is the appointment book: which times a service can be
// booked with which practitioner, and the rules for holding, booking,
// paying for, rescheduling and cancelling them.
//
// Availability is computed by pure functions (availability.go) from a
// calendar loaded in a constant number of queries (load.go). The database,
// not this package, guarantees that a practitioner is never booked twice:
// every appointment claims its time in practitioner_slot_claims under a
// unique index, in the transaction that creates or moves it (claims.go).
package booking

import (
	"context"
	"regexp"
	"time"

	"frontdesk/cache"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/errcode"
)

// Engine holds the booking rules' dependencies. Its zero value is not
// usable; build it with New.
type Engine struct {
	Client   *ent.Client
	Payments Payments
	// Now is the clock; tests pin it.
	Now func() time.Time
	// HoldTTL is how long a hold (and a pending payment) keeps its slot.
	HoldTTL time.Duration
	// MaxActiveHolds caps the holds one signed-in person may have at
	// once, so that nobody can hoard slots.
	MaxActiveHolds int
	// MaxAnonymousHolds caps the holds anonymous callers from one client
	// network (identity.Client.Network) may have at once, for the same
	// reason: without it one client could hold every slot, again and
	// again, without signing in.
	MaxAnonymousHolds int
	// ManageKey signs guests' manage tokens (HMAC-SHA256).
	ManageKey []byte
	// Changes receives every appointment state change. InTx runs inside
	// the transaction that makes the change, so the outbox can write its
	// jobs (notifications, EHR, calendar) atomically with it; Committed
	// runs after commit, for the event bus (subscriptions).
	Changes ChangeSink

	// notes announces late-payment refunds; nil until
	// EnableNotifications (notifications.go).
	notes *Notifier
	// cals caches availability questions' calendars (calendars.go).
	cals *calendars
}

// Options configure New.
type Options struct {
	Payments          Payments
	HoldTTL           time.Duration
	MaxActiveHolds    int
	MaxAnonymousHolds int
	ManageKey         []byte
	Changes           ChangeSink
	Now               func() time.Time
	// Cache holds the availability version (calendars.go): the shared
	// store (Redis) when replicas share one, so a write on any of them
	// retires every replica's cached calendars. Nil keeps the version in
	// this process, which is right for a single process only.
	Cache cache.Store
}

// New returns an Engine with defaults for unset options: a 10-minute hold,
// 3 active holds per signed-in person, 5 per anonymous client network, the
// development payment gateway and no change sink.
func New(client *ent.Client, o Options) *Engine {
	// Appointment queries that narrow their columns (GraphQL field
	// collection) still load the ones the view rule (ViewRules) decides
	// from, so a page of `{ id startAt }` costs no read per row.
	client.Appointment.Intercept(database.AlwaysLoad(appointment.FieldPatientID, appointment.FieldHolderKey, appointment.FieldPractitionerID))
	e := &Engine{Client: client, Payments: o.Payments, Now: o.Now, HoldTTL: o.HoldTTL,
		MaxActiveHolds: o.MaxActiveHolds, MaxAnonymousHolds: o.MaxAnonymousHolds, ManageKey: o.ManageKey, Changes: o.Changes}
	if e.Payments == nil {
		e.Payments = DevelopmentPayments{}
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.HoldTTL <= 0 {
		e.HoldTTL = 10 * time.Minute
	}
	if e.MaxActiveHolds <= 0 {
		e.MaxActiveHolds = 3
	}
	if e.MaxAnonymousHolds <= 0 {
		e.MaxAnonymousHolds = 5
	}
	if e.Changes == nil {
		e.Changes = noChanges{}
	}
	store := o.Cache
	if store == nil {
		store = cache.NewMemoryBytes(1 << 20)
	}
	e.cals = newCalendars(store)
	e.cals.watch(client)
	return e
}

func (e *Engine) now() time.Time { return e.Now().UTC().Truncate(time.Microsecond) }

// Change describes one appointment state change.
type Change struct {
	Appointment *ent.Appointment
	// From is empty when the appointment was just created.
	From appointment.State
	To   appointment.State
	// Rescheduled is set when the change moved the appointment; Previous
	// is its former start.
	Rescheduled bool
	Previous    time.Time
}

// ChangeSink is where the outbox and the event bus plug in.
type ChangeSink interface {
	InTx(ctx context.Context, tx *ent.Tx, c Change) error
	Committed(ctx context.Context, c Change)
}

type noChanges struct{}

func (noChanges) InTx(context.Context, *ent.Tx, Change) error { return nil }
func (noChanges) Committed(context.Context, Change)           {}

// Errors. Top-level errors are sentinels; expected business failures are
// user errors built where they happen.
var (
	ErrServiceNotFound      = errcode.New(errcode.NotFound, "no such service")
	ErrPractitionerNotFound = errcode.New(errcode.NotFound, "no such practitioner offers this service")
	ErrAppointmentNotFound  = errcode.New(errcode.NotFound, "no such appointment")
	ErrFormNotFound         = errcode.New(errcode.NotFound, "no such intake form")
	ErrBadTimeZone          = errcode.New(errcode.BadUserInput, "timeZone: expected an IANA time zone such as Australia/Sydney")
	ErrBadRange             = errcode.New(errcode.BadUserInput, "from must be before to, and the range at most 92 days")
)

// MaxRange bounds one availability query.
const MaxRange = 92 * 24 * time.Hour

// errSlotUnavailable is the user error for a slot someone else has.
func errSlotUnavailable(field string) *errcode.UserError {
	return errcode.Invalidf(errcode.SlotUnavailable, field, "this time is no longer available; please choose another")
}

// slugPattern is the shape of service slugs and form keys.
var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
