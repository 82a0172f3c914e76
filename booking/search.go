package booking

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"entgo.io/ent/dialect/sql"
	"github.com/vikstrous/dataloadgen"

	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/intakesubmission"
	"frontdesk/ent/practitioner"
	"frontdesk/ent/predicate"
	"frontdesk/ent/service"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
)

// IntakeStatus says whether an appointment's intake form was answered.
type IntakeStatus string

// Intake statuses.
const (
	// IntakeUnanswered: the service has a form and nothing was submitted.
	IntakeUnanswered IntakeStatus = "UNANSWERED"
	// IntakeAnswered: answers were submitted.
	IntakeAnswered IntakeStatus = "ANSWERED"
	// IntakeNotNeeded: the service has no form and nothing was submitted.
	IntakeNotNeeded IntakeStatus = "NOT_NEEDED"
)

// AppointmentFilter narrows the staff appointment search. Zero fields do
// not filter; all the others must hold.
type AppointmentFilter struct {
	States          []appointment.State
	PractitionerIDs []gid.ID
	ServiceIDs      []gid.ID
	// StartFrom and StartTo bound the start: [StartFrom, StartTo).
	StartFrom, StartTo time.Time
	PatientID          gid.ID
	// Patient matches part of the patient's name, email or phone, in any
	// case: the guest's details or those of the patient's account.
	Patient string
	Intake  IntakeStatus
	// CreatedFrom and CreatedTo bound when the appointment was made.
	CreatedFrom, CreatedTo time.Time
}

// Bounds of the search's inputs.
const (
	maxFilterIDs        = 100
	minPatientSearchLen = 2
	maxPatientSearchLen = 100
)

func badFilter(msg string) error { return errcode.New(errcode.BadUserInput, "filter."+msg) }

// predicates checks f and turns it into query conditions. Bad input is
// BAD_USER_INPUT naming the field, and nothing runs.
func (f AppointmentFilter) predicates() ([]predicate.Appointment, error) {
	var ps []predicate.Appointment
	switch {
	case len(f.States) > 10:
		return nil, badFilter("states: at most 10 states")
	case len(f.PractitionerIDs) > maxFilterIDs:
		return nil, badFilter(fmt.Sprintf("practitionerIds: at most %d IDs", maxFilterIDs))
	case len(f.ServiceIDs) > maxFilterIDs:
		return nil, badFilter(fmt.Sprintf("serviceIds: at most %d IDs", maxFilterIDs))
	case !f.StartFrom.IsZero() && !f.StartTo.IsZero() && !f.StartFrom.Before(f.StartTo):
		return nil, badFilter("startTo must be after startFrom")
	case !f.CreatedFrom.IsZero() && !f.CreatedTo.IsZero() && !f.CreatedFrom.Before(f.CreatedTo):
		return nil, badFilter("createdTo must be after createdFrom")
	}
	if len(f.States) > 0 {
		ps = append(ps, appointment.StateIn(f.States...))
	}
	if len(f.PractitionerIDs) > 0 {
		ps = append(ps, appointment.PractitionerIDIn(f.PractitionerIDs...))
	}
	if len(f.ServiceIDs) > 0 {
		ps = append(ps, appointment.ServiceIDIn(f.ServiceIDs...))
	}
	if !f.StartFrom.IsZero() {
		ps = append(ps, appointment.StartAtGTE(f.StartFrom.UTC()))
	}
	if !f.StartTo.IsZero() {
		ps = append(ps, appointment.StartAtLT(f.StartTo.UTC()))
	}
	if !f.CreatedFrom.IsZero() {
		ps = append(ps, appointment.CreatedAtGTE(f.CreatedFrom.UTC()))
	}
	if !f.CreatedTo.IsZero() {
		ps = append(ps, appointment.CreatedAtLT(f.CreatedTo.UTC()))
	}
	if f.PatientID != "" {
		ps = append(ps, appointment.PatientID(f.PatientID))
	}
	if f.Patient != "" {
		p, err := patientMatches(f.Patient)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	switch f.Intake {
	case "":
	case IntakeAnswered:
		ps = append(ps, appointment.HasIntakeSubmission())
	case IntakeUnanswered:
		ps = append(ps, appointment.Not(appointment.HasIntakeSubmission()), appointment.HasServiceWith(service.IntakeFormKeyNotNil()))
	case IntakeNotNeeded:
		ps = append(ps, appointment.Not(appointment.HasIntakeSubmission()), appointment.HasServiceWith(service.IntakeFormKeyIsNil()))
	default:
		return nil, badFilter("intakeStatus: unknown status")
	}
	return ps, nil
}

// patientMatches finds appointments whose guest details or patient
// account contain text: names in any case, emails lower-cased as stored,
// phones with the spaces taken out (they are stored E.164).
func patientMatches(text string) (predicate.Appointment, error) {
	text = strings.TrimSpace(text)
	if n := utf8.RuneCountInString(text); n < minPatientSearchLen || n > maxPatientSearchLen {
		return nil, badFilter(fmt.Sprintf("patient: give %d to %d characters", minPatientSearchLen, maxPatientSearchLen))
	}
	email, phone := strings.ToLower(text), strings.ReplaceAll(text, " ", "")
	accounts := func(s *sql.Selector) {
		s.Where(sql.In(s.C(appointment.FieldPatientID), identity.AccountsMatching(s.Dialect(), text)))
	}
	return appointment.Or(appointment.GuestNameContainsFold(text), appointment.GuestEmailContains(email),
		appointment.GuestPhoneContains(phone), accounts), nil
}

// SearchAppointments selects the appointments across the clinic that
// match f, unordered, for a paginated connection. It needs
// MANAGE_BOOKINGS; a practitioner (identity.Viewer.ClinicWide false)
// gets only the appointments booked with them.
func (e *Engine) SearchAppointments(ctx context.Context, f AppointmentFilter) (*ent.AppointmentQuery, error) {
	v, err := identity.Require(ctx, identity.ManageBookings)
	if err != nil {
		return nil, err
	}
	ps, err := f.predicates()
	if err != nil {
		return nil, err
	}
	if !v.ClinicWide() {
		ps = append(ps, appointment.HasPractitionerWith(practitioner.StaffUserID(v.UserID)))
	}
	return e.Client.Appointment.Query().Where(ps...), nil
}

// ownPractitioner reports whether practitionerID is the practitioner
// whose staff account the viewer is.
// actsAsStaff reports whether v may use the staff powers on
// practitionerID's calendar (book inside the minimum notice, book for a
// patient, hold without the cap, see inactive services): MANAGE_BOOKINGS
// and clinic-wide (staff, admins, the system), or a PRACTITIONER on their
// own calendar. practitionerID nil means every practitioner's calendar.
func actsAsStaff(ctx context.Context, client *ent.Client, v *identity.Viewer, practitionerID *gid.ID) bool {
	if !v.Can(identity.ManageBookings) {
		return false
	}
	return v.ClinicWide() || (practitionerID != nil && ownPractitioner(ctx, client, v, *practitionerID))
}

// ownPractitionerOnce is ownPractitioner read once per operation.
func ownPractitionerOnce(ctx context.Context, client *ent.Client, v *identity.Viewer, practitionerID gid.ID) bool {
	return identity.Remember(ctx, "booking.own_practitioner:"+string(v.UserID)+":"+string(practitionerID), func() bool {
		return ownPractitioner(ctx, client, v, practitionerID)
	})
}

func ownPractitioner(ctx context.Context, client *ent.Client, v *identity.Viewer, practitionerID gid.ID) bool {
	if v.UserID == "" {
		return false
	}
	ok, err := client.Practitioner.Query().Where(practitioner.ID(practitionerID), practitioner.StaffUserID(v.UserID)).Exist(ctx)
	return err == nil && ok
}

// canSee decides for an appointment, given the permission that staff
// need (MANAGE_BOOKINGS for the appointment, VIEW_PATIENT_INTAKE for its
// answers): its patient or holder, the practitioner it is booked with
// (holding p), and staff holding p who see the whole clinic.
func canSee(ctx context.Context, client *ent.Client, id gid.ID, p identity.Permission) bool {
	v := identity.ViewerFrom(ctx)
	if v.Can(p) && v.ClinicWide() {
		return true
	}
	if p == identity.ManageBookings && identity.Granted(ctx, id) {
		return true // a domain function checked its token in this operation
	}
	if v == nil {
		return false
	}
	// node(id:) reads only the columns the query selected, so the row is
	// read again for the columns the rule needs.
	a, err := client.Appointment.Query().Where(appointment.ID(id)).
		Select(appointment.FieldPatientID, appointment.FieldHolderKey, appointment.FieldPractitionerID).Only(ctx)
	if err != nil {
		return false
	}
	if v.UserID != "" && ((a.PatientID != nil && *a.PatientID == v.UserID) || a.HolderKey == string(v.UserID)) {
		return true
	}
	return v.Can(p) && ownPractitionerOnce(ctx, client, v, a.PractitionerID)
}

// ViewRules are booking's read rules, one per type it shows (see
// identity.ViewRule): who and what can be booked, and when, are public;
// an appointment and its history go to its patient (or holder, or whoever
// showed its token in this operation), the practitioner it is booked
// with and staff who see the whole clinic; intake answers likewise, with
// VIEW_PATIENT_INTAKE for staff. (New makes appointment queries always
// load the columns the rule decides from.)
func ViewRules(client *ent.Client) []identity.ViewRule {
	return []identity.ViewRule{
		identity.Public[ent.Practitioner](), identity.Public[ent.Service](), identity.Public[ent.IntakeForm](),
		identity.Public[ent.WeeklyHours](), identity.Public[ent.DateOverride](),
		identity.Rule(func(ctx context.Context, a *ent.Appointment) bool {
			v := identity.ViewerFrom(ctx)
			if v.Can(identity.ManageBookings) && v.ClinicWide() || identity.Granted(ctx, a.ID) {
				return true
			}
			// Decide from the columns the query loaded when they say yes;
			// otherwise read the row (it may lack them).
			if v != nil && v.UserID != "" {
				if (a.PatientID != nil && *a.PatientID == v.UserID) || (a.HolderKey != "" && a.HolderKey == string(v.UserID)) {
					return true
				}
				if a.PractitionerID != "" && v.Can(identity.ManageBookings) && ownPractitionerOnce(ctx, client, v, a.PractitionerID) {
					return true
				}
			}
			return CanViewAppointment(ctx, client, a.ID)
		}),
		identity.Rule(func(ctx context.Context, c *ent.AppointmentStateChange) bool {
			id := c.AppointmentID
			if id == "" { // a query may read only some columns
				row, err := client.AppointmentStateChange.Get(ctx, c.ID)
				if err != nil {
					return false
				}
				id = row.AppointmentID
			}
			return CanViewAppointment(ctx, client, id)
		}).Within("Appointment"),
		identity.Rule(func(ctx context.Context, s *ent.IntakeSubmission) bool {
			return identity.Granted(ctx, s.ID) || CanViewIntakeSubmission(ctx, client, s.ID)
		}),
	}
}

// CanViewAppointment reports whether the viewer may see the appointment
// with this ID by the ID alone (node(id:)): its patient (or whoever holds
// it), the practitioner it is booked with, and staff with MANAGE_BOOKINGS
// who see the whole clinic. Everyone else, other practitioners included,
// is told it does not exist.
func CanViewAppointment(ctx context.Context, client *ent.Client, id gid.ID) bool {
	return canSee(ctx, client, id, identity.ManageBookings)
}

// CanViewIntakeSubmission reports whether the viewer may see intake
// answers by their ID alone: the patient, the appointment's practitioner
// and staff with VIEW_PATIENT_INTAKE who see the whole clinic.
func CanViewIntakeSubmission(ctx context.Context, client *ent.Client, id gid.ID) bool {
	s, err := client.IntakeSubmission.Query().Where(intakesubmission.ID(id)).Select(intakesubmission.FieldAppointmentID).Only(ctx)
	return err == nil && canSee(ctx, client, s.AppointmentID, identity.ViewIntake)
}

// loaders batch the appointment reads of one request that would
// otherwise cost a query per appointment in a list.
type loaders struct {
	patientNames *dataloadgen.Loader[gid.ID, string]
}

type loadersKey struct{}

// WithLoaders returns ctx carrying fresh per-request loaders, so a page
// of appointments reads its patients' names in one query.
// They are made on first use: a subscription holds its context for as
// long as it is open and most operations never need them.
func (e *Engine) WithLoaders(ctx context.Context) context.Context {
	return context.WithValue(ctx, loadersKey{}, &lazyLoaders{e: e})
}

type lazyLoaders struct {
	e    *Engine
	once sync.Once
	l    *loaders
}

func (e *Engine) newLoaders() *loaders {
	return &loaders{patientNames: dataloadgen.NewMappedLoader(e.fetchPatientNames, dataloadgen.WithWait(500*time.Microsecond))}
}

func (e *Engine) fetchPatientNames(ctx context.Context, ids []gid.ID) (map[gid.ID]string, error) {
	return identity.NamesOf(ctx, e.Client, ids)
}

// PatientName is the name of a's patient: the guest's, or the one on the
// patient's account (empty for a hold, or an account without a name).
// Within a request that has loaders, the names of a page load together.
func (e *Engine) PatientName(ctx context.Context, a *ent.Appointment) (string, error) {
	if a.PatientID == nil {
		return a.GuestName, nil
	}
	var l *loaders
	if z, _ := ctx.Value(loadersKey{}).(*lazyLoaders); z != nil {
		z.once.Do(func() { z.l = z.e.newLoaders() })
		l = z.l
	} else {
		l = e.newLoaders()
	}
	name, err := l.patientNames.Load(ctx, *a.PatientID)
	if _, ok := err.(dataloadgen.MappedFetchError[gid.ID]); ok { //nolint:errorlint // the loader returns it unwrapped
		return "", nil // the account is gone
	}
	return name, err
}
