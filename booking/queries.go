package booking

import (
	"context"
	"fmt"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/intakeform"
	"frontdesk/ent/practitioner"
	"frontdesk/ent/service"
	"frontdesk/gid"
	"frontdesk/identity"
)

// Read side: catalogue of services and practitioners (public), and
// appointments (only for those allowed to see them).

// Services lists services by name. Inactive ones only for staff.
func (e *Engine) Services(ctx context.Context, includeInactive bool) ([]*ent.Service, error) {
	return e.ServicesQuery(ctx, includeInactive).Order(service.ByName(), service.ByID()).Limit(500).All(ctx)
}

// ServicesQuery selects the services a viewer may list, unordered, for a
// paginated connection. Inactive ones only for staff.
func (e *Engine) ServicesQuery(ctx context.Context, includeInactive bool) *ent.ServiceQuery {
	q := e.Client.Service.Query()
	if !includeInactive || !identity.ViewerFrom(ctx).Can(identity.ManageBookings) {
		q = q.Where(service.Active(true))
	}
	return q
}

// ServiceBySlug returns an active service (any, for staff) or nil.
func (e *Engine) ServiceBySlug(ctx context.Context, slug string) (*ent.Service, error) {
	q := e.Client.Service.Query().Where(service.Slug(slug))
	if !identity.ViewerFrom(ctx).Can(identity.ManageBookings) {
		q = q.Where(service.Active(true))
	}
	s, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return s, err
}

// Practitioners lists practitioners by name. Inactive ones only for staff.
func (e *Engine) Practitioners(ctx context.Context, includeInactive bool) ([]*ent.Practitioner, error) {
	return e.PractitionersQuery(ctx, includeInactive).Order(practitioner.ByName(), practitioner.ByID()).Limit(500).All(ctx)
}

// PractitionersQuery selects the practitioners a viewer may list,
// unordered, for a paginated connection. Inactive ones only for staff.
func (e *Engine) PractitionersQuery(ctx context.Context, includeInactive bool) *ent.PractitionerQuery {
	q := e.Client.Practitioner.Query()
	if !includeInactive || !identity.ViewerFrom(ctx).Can(identity.ManageBookings) {
		q = q.Where(practitioner.Active(true))
	}
	return q
}

// OfferedSlot is a slot as the API shows it, with its practitioner.
type OfferedSlot struct {
	Start, End   time.Time
	Practitioner *ent.Practitioner
}

// OfferedSlots is AvailableSlots with each slot's practitioner attached,
// loaded with the calendars (no query per slot).
func (e *Engine) OfferedSlots(ctx context.Context, in SlotsInput) ([]*OfferedSlot, error) {
	a, err := e.answer(ctx, in)
	if err != nil {
		return nil, err
	}
	// One allocation for all the slots, not one each.
	backing := make([]OfferedSlot, len(a.wins))
	res := make([]*OfferedSlot, len(a.wins))
	for i, w := range a.wins {
		t := time.Unix(w.start, 0).In(a.out)
		backing[i] = OfferedSlot{Start: t, End: t.Add(a.duration), Practitioner: a.pracs[w.cal]}
		res[i] = &backing[i]
	}
	return res, nil
}

// Appointment returns an appointment the viewer may see: their own, one
// whose manage token they hold, one with a practitioner linked to them,
// or any for staff who see the whole clinic (a practitioner's
// MANAGE_BOOKINGS reaches their own appointments only, as in
// SearchAppointments and node(id:)). Others get ErrAppointmentNotFound.
func (e *Engine) Appointment(ctx context.Context, id gid.ID, token string) (*ent.Appointment, error) {
	v := identity.ViewerFrom(ctx)
	a, err := e.Client.Appointment.Query().Where(appointment.ID(id)).WithPractitioner().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrAppointmentNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load appointment: %w", err)
	}
	if (v.Can(identity.ManageBookings) && v.ClinicWide()) || e.canReadIntake(v, a, token) ||
		(v != nil && v.UserID != "" && a.HolderKey == string(v.UserID)) ||
		(a.State == appointment.StateHELD && e.validToken(purposeHold, a.ID, token)) {
		identity.Grant(ctx, a.ID) // its fields and subscription events show it in this operation
		return a, nil
	}
	return nil, ErrAppointmentNotFound
}

// MyAppointments lists the signed-in patient's appointments: upcoming
// ones soonest first, or past ones latest first. Holds are left out.
func (e *Engine) MyAppointments(ctx context.Context, upcoming bool, limit int) ([]*ent.Appointment, error) {
	q, err := e.MyAppointmentsQuery(ctx, upcoming)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	if upcoming {
		q = q.Order(appointment.ByStartAt(), appointment.ByID())
	} else {
		q = q.Order(ent.Desc(appointment.FieldStartAt), ent.Desc(appointment.FieldID))
	}
	return q.Limit(limit).All(ctx)
}

// MyAppointmentsQuery selects the signed-in patient's upcoming (not yet
// ended) or past appointments, unordered, for a paginated connection.
// Holds are left out.
func (e *Engine) MyAppointmentsQuery(ctx context.Context, upcoming bool) (*ent.AppointmentQuery, error) {
	v, err := identity.RequireViewer(ctx)
	if err != nil {
		return nil, err
	}
	q := e.Client.Appointment.Query().Where(appointment.PatientID(v.UserID), appointment.StateNEQ(appointment.StateHELD))
	if upcoming {
		return q.Where(appointment.EndAtGT(e.now())), nil
	}
	return q.Where(appointment.EndAtLTE(e.now())), nil
}

// MaxAgendaRange bounds a practitioner agenda query (a day or a week, with
// room for a month view).
const MaxAgendaRange = 31 * 24 * time.Hour

// Agenda lists a practitioner's appointments (cancelled ones left out)
// starting in [from, to), for the practitioner themself and for staff.
func (e *Engine) Agenda(ctx context.Context, practitionerID gid.ID, from, to time.Time) ([]*ent.Appointment, error) {
	q, err := e.AgendaQuery(ctx, practitionerID, from, to)
	if err != nil {
		return nil, err
	}
	return q.Order(appointment.ByStartAt(), appointment.ByID()).Limit(1000).All(ctx)
}

// AgendaQuery selects a practitioner's appointments (cancelled ones left
// out) starting in [from, to), unordered, for a paginated connection; for
// the practitioner themself and for staff who see the whole clinic
// (another practitioner is refused).
func (e *Engine) AgendaQuery(ctx context.Context, practitionerID gid.ID, from, to time.Time) (*ent.AppointmentQuery, error) {
	v, err := identity.RequireViewer(ctx)
	if err != nil {
		return nil, err
	}
	if !from.Before(to) || to.Sub(from) > MaxAgendaRange {
		return nil, ErrBadRange
	}
	p, err := e.Client.Practitioner.Get(ctx, practitionerID)
	if ent.IsNotFound(err) {
		return nil, ErrPractitionerNotFound
	}
	if err != nil {
		return nil, err
	}
	self := p.StaffUserID != nil && *p.StaffUserID == v.UserID
	if !self && !(v.Can(identity.ManageBookings) && v.ClinicWide()) {
		return nil, identity.ErrForbidden
	}
	return e.Client.Appointment.Query().Where(appointment.PractitionerID(practitionerID),
		appointment.StartAtGTE(from), appointment.StartAtLT(to), appointment.StateNEQ(appointment.StateCANCELLED)), nil
}

// Form returns a version of an intake form (the latest when version is
// nil), or nil.
func (e *Engine) Form(ctx context.Context, key string, version *int) (*ent.IntakeForm, error) {
	q := e.Client.IntakeForm.Query().Where(intakeform.Key(key))
	if version != nil {
		q = q.Where(intakeform.Version(*version))
	}
	f, err := q.Order(ent.Desc(intakeform.FieldVersion)).First(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return f, err
}
