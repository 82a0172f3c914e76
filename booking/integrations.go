package booking

import (
	"context"
	"fmt"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/externalbusyblock"
	"frontdesk/ent/intakesubmission"
	"frontdesk/ent/practitioner"
	"frontdesk/ent/predicate"
	"frontdesk/ent/service"
	"frontdesk/gid"
)

// The reads and writes the calendar and EHR integrations make of
// booking's tables. They take the client (or the transaction) of the
// caller, run as the system (jobs, webhooks) and check nothing: the
// integration decides who may trigger them.

// PractitionerExists reports whether a practitioner with id exists.
func PractitionerExists(ctx context.Context, client *ent.Client, id gid.ID) (bool, error) {
	ok, err := client.Practitioner.Query().Where(practitioner.ID(id)).Exist(ctx)
	if err != nil {
		return false, fmt.Errorf("look up practitioner %s: %w", id, err)
	}
	return ok, nil
}

// ServiceExists reports whether a service with id exists.
func ServiceExists(ctx context.Context, client *ent.Client, id gid.ID) (bool, error) {
	ok, err := client.Service.Query().Where(service.ID(id)).Exist(ctx)
	if err != nil {
		return false, fmt.Errorf("look up service %s: %w", id, err)
	}
	return ok, nil
}

// PractitionerZone is the time zone a practitioner's days are in.
func PractitionerZone(ctx context.Context, client *ent.Client, id gid.ID) (*time.Location, error) {
	zone, err := client.Practitioner.Query().Where(practitioner.ID(id)).Select(practitioner.FieldTimeZone).String(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the time zone of practitioner %s: %w", id, err)
	}
	return time.LoadLocation(zone)
}

// AppointmentWithService reads an appointment and its service; an
// ent.NotFoundError when it is gone.
func AppointmentWithService(ctx context.Context, client *ent.Client, id gid.ID) (*ent.Appointment, error) {
	return client.Appointment.Query().Where(appointment.ID(id)).WithService().Only(ctx)
}

// AppointmentState is an appointment's state as committed now.
func AppointmentState(ctx context.Context, client *ent.Client, id gid.ID) (appointment.State, error) {
	state, err := client.Appointment.Query().Where(appointment.ID(id)).Select(appointment.FieldState).String(ctx)
	return appointment.State(state), err
}

// OccupiesCalendar reports whether an appointment in state s belongs on
// its practitioner's calendar: it was confirmed, and is not cancelled.
func OccupiesCalendar(s appointment.State) bool {
	return s == appointment.StateCONFIRMED || s == appointment.StateCOMPLETED || s == appointment.StateNO_SHOW
}

// BusyBlock is time an outside calendar holds for a practitioner, keyed
// by its source and its id there.
type BusyBlock struct {
	ExternalID string
	Start, End time.Time
}

// PutBusyBlock writes b for practitioner prac from source, replacing the
// block with the same source and external id (which may have moved to
// another practitioner).
func PutBusyBlock(ctx context.Context, tx *ent.Tx, prac gid.ID, source string, b BusyBlock) error {
	err := tx.ExternalBusyBlock.Create().SetPractitionerID(prac).SetSource(source).SetExternalID(b.ExternalID).
		SetStartAt(b.Start).SetEndAt(b.End).
		OnConflictColumns(externalbusyblock.FieldSource, externalbusyblock.FieldExternalID).
		Update(func(u *ent.ExternalBusyBlockUpsert) {
			u.UpdateStartAt().UpdateEndAt().UpdatePractitionerID().UpdateUpdatedAt()
		}).Exec(ctx)
	if err != nil {
		return fmt.Errorf("upsert busy block: %w", err)
	}
	return nil
}

// DropBusyBlock deletes the block with source and externalID, if any.
func DropBusyBlock(ctx context.Context, tx *ent.Tx, source, externalID string) error {
	_, err := tx.ExternalBusyBlock.Delete().
		Where(externalbusyblock.Source(source), externalbusyblock.ExternalID(externalID)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete busy block: %w", err)
	}
	return nil
}

// KeepBusyBlocks deletes the practitioner's blocks from source except
// those whose external id is in keep.
func KeepBusyBlocks(ctx context.Context, tx *ent.Tx, prac gid.ID, source string, keep map[string]bool) error {
	rows, err := tx.ExternalBusyBlock.Query().Where(externalbusyblock.PractitionerID(prac), externalbusyblock.Source(source)).
		Select(externalbusyblock.FieldID, externalbusyblock.FieldExternalID).All(ctx)
	if err != nil {
		return fmt.Errorf("read busy blocks: %w", err)
	}
	var drop []gid.ID
	for _, r := range rows {
		if !keep[r.ExternalID] {
			drop = append(drop, r.ID)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	if _, err = tx.ExternalBusyBlock.Delete().Where(externalbusyblock.IDIn(drop...)).Exec(ctx); err != nil {
		return fmt.Errorf("delete busy blocks: %w", err)
	}
	return nil
}

// HasBooked reports whether the account has an appointment beyond a hold,
// read through the caller's transaction.
func HasBooked(ctx context.Context, tx *ent.Tx, userID gid.ID) (bool, error) {
	return tx.Appointment.Query().Where(appointment.PatientID(userID), appointment.StateNotIn(appointment.StateHELD)).Exist(ctx)
}

// Patient names whose appointments are meant: an account, or a guest by
// the email they booked with (GuestEmail set, UserID empty).
type Patient struct {
	UserID     gid.ID
	GuestEmail string
}

func (p Patient) appointments() predicate.Appointment {
	if p.UserID != "" {
		return appointment.PatientID(p.UserID)
	}
	return appointment.And(appointment.PatientIDIsNil(), appointment.GuestEmail(p.GuestEmail))
}

// LatestGuestContact is the name and phone a guest gave on their latest
// booking (beyond a hold) with a name; empty when there is none.
func LatestGuestContact(ctx context.Context, client *ent.Client, email string) (name, phone string, err error) {
	last, err := client.Appointment.Query().
		Where(Patient{GuestEmail: email}.appointments(), appointment.StateNotIn(appointment.StateHELD), appointment.GuestNameNEQ("")).
		Order(ent.Desc(appointment.FieldCreatedAt), ent.Desc(appointment.FieldID)).First(ctx)
	switch {
	case ent.IsNotFound(err):
		return "", "", nil
	case err != nil:
		return "", "", fmt.Errorf("read the latest booking of %s: %w", email, err)
	}
	return last.GuestName, last.GuestPhone, nil
}

// LatestIntakes are the patient's newest intake submissions, at most
// limit, newest first.
func LatestIntakes(ctx context.Context, client *ent.Client, p Patient, limit int) ([]*ent.IntakeSubmission, error) {
	return client.IntakeSubmission.Query().Where(intakesubmission.HasAppointmentWith(p.appointments())).
		Order(ent.Desc(intakesubmission.FieldUpdatedAt), ent.Desc(intakesubmission.FieldID)).Limit(limit).All(ctx)
}

// IntakesChangedSince are the submissions made or edited after since,
// with their appointments.
func IntakesChangedSince(ctx context.Context, client *ent.Client, since time.Time) ([]*ent.IntakeSubmission, error) {
	return client.IntakeSubmission.Query().Where(intakesubmission.UpdatedAtGT(since)).WithAppointment().All(ctx)
}

// IntakeWithFormAndAppointment reads a submission with its form and its
// appointment; an ent.NotFoundError when it is gone.
func IntakeWithFormAndAppointment(ctx context.Context, client *ent.Client, id gid.ID) (*ent.IntakeSubmission, error) {
	return client.IntakeSubmission.Query().Where(intakesubmission.ID(id)).WithForm().WithAppointment().Only(ctx)
}
