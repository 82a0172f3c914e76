package booking

import (
	"context"
	"fmt"
	"strings"

	"frontdesk/booking/intake"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/intakeform"
	"frontdesk/ent/intakesubmission"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/text"
	"frontdesk/webhooks"
)

// FormInput defines a new version of an intake form.
type FormInput struct {
	// Key names the form across versions, such as "new-patient".
	Key         string
	Title       string
	Description string
	Fields      []intake.Field
}

// CreateFormVersion stores a new version of the form named by Key (version
// 1 when the key is new). Versions are never edited: submissions keep the
// one they answered.
func (e *Engine) CreateFormVersion(ctx context.Context, in FormInput) (*ent.IntakeForm, error) {
	if _, err := identity.Require(ctx, identity.ManageBookings); err != nil {
		return nil, err
	}
	var errs errcode.UserErrors
	in.Key = strings.TrimSpace(in.Key)
	if !slugPattern.MatchString(in.Key) {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "key", "use 1 to 64 lower-case letters, digits and dashes"))
	}
	k := len(errs)
	if in.Title = text.Check(&errs, text.SingleLine, "title", in.Title, 200); in.Title == "" && len(errs) == k {
		errs = append(errs, errcode.Invalidf(errcode.Required, "title", "enter a title of at most 200 characters"))
	}
	in.Description = text.Check(&errs, text.MultiLine, "description", in.Description, 10000)
	fields, ferr := intake.ValidateFields(in.Fields)
	if ferr != nil {
		l, _ := errcode.AsUserErrors(ferr)
		errs = append(errs, l...)
	}
	in.Fields = fields
	if err := errs.OrNil(); err != nil {
		return nil, err
	}
	var out *ent.IntakeForm
	err := database.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		last, err := tx.IntakeForm.Query().Where(intakeform.Key(in.Key)).Order(ent.Desc(intakeform.FieldVersion)).First(ctx)
		version := 1
		switch {
		case err == nil:
			version = last.Version + 1
		case !ent.IsNotFound(err):
			return fmt.Errorf("find last form version: %w", err)
		}
		out, err = tx.IntakeForm.Create().SetKey(in.Key).SetVersion(version).SetTitle(in.Title).
			SetDescription(in.Description).SetFields(in.Fields).Save(ctx)
		if ent.IsConstraintError(err) || isDuplicate(err) {
			return errcode.Invalidf(errcode.Conflict, "key", "another version of this form was saved meanwhile; try again")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out.Unwrap(), nil
}

// currentForm returns the latest version of the service's intake form.
func (e *Engine) currentForm(ctx context.Context, svc *ent.Service) (*ent.IntakeForm, error) {
	if svc.IntakeFormKey == nil {
		return nil, errcode.Invalidf(errcode.Invalid, "answers", "this service has no intake form")
	}
	f, err := e.Client.IntakeForm.Query().Where(intakeform.Key(*svc.IntakeFormKey)).
		Order(ent.Desc(intakeform.FieldVersion)).First(ctx)
	if ent.IsNotFound(err) {
		return nil, errcode.Invalidf(errcode.Invalid, "answers", "this service has no intake form")
	}
	if err != nil {
		return nil, fmt.Errorf("load intake form: %w", err)
	}
	return f, nil
}

// CurrentForm returns the form a patient fills in for a service, or nil
// when the service has none.
func (e *Engine) CurrentForm(ctx context.Context, svc *ent.Service) (*ent.IntakeForm, error) {
	if svc.IntakeFormKey == nil {
		return nil, nil
	}
	f, err := e.currentForm(ctx, svc)
	if _, isUser := errcode.AsUserErrors(err); isUser {
		return nil, nil
	}
	return f, err
}

// SubmitInput answers an appointment's intake form.
type SubmitInput struct {
	ChangeInput
	Answers []intake.Answer
}

// SubmitIntake stores (or replaces) the answers for an appointment. A
// first submission answers the service's current form version; an edit
// keeps the version first answered. Patients may edit until the
// appointment starts.
func (e *Engine) SubmitIntake(ctx context.Context, in SubmitInput) (*ent.IntakeSubmission, error) {
	a, staff, actor, err := e.authorizeChange(ctx, in.ChangeInput)
	if err != nil {
		return nil, err
	}
	if a.State != appointment.StateCONFIRMED && a.State != appointment.StatePENDING_PAYMENT {
		return nil, errcode.Invalidf(errcode.Conflict, "", "intake forms are for booked appointments")
	}
	if !staff && !e.now().Before(a.StartAt) {
		return nil, errcode.Invalidf(errcode.TooLate, "", "the appointment has started; the form can no longer be changed")
	}
	existing, err := e.Client.IntakeSubmission.Query().Where(intakesubmission.AppointmentID(a.ID)).WithForm().Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, fmt.Errorf("load intake submission: %w", err)
	}
	form := (*ent.IntakeForm)(nil)
	if existing != nil {
		form = existing.Edges.Form
	} else if form, err = e.currentForm(ctx, a.Edges.Service); err != nil {
		return nil, err
	}
	answers, err := intake.Validate(form.Fields, in.Answers)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		identity.Grant(ctx, existing.ID) // the submitter sees their answers in the payload
		return existing.Update().SetAnswers(answers).SetSubmittedBy(actor).SetUpdatedAt(e.now()).Save(ctx)
	}
	// The submission and its webhook event commit together.
	var sub *ent.IntakeSubmission
	err = database.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		var err error
		sub, err = tx.IntakeSubmission.Create().SetAppointmentID(a.ID).SetFormID(form.ID).
			SetAnswers(answers).SetSubmittedBy(actor).Save(ctx)
		if err != nil {
			return err
		}
		return webhooks.Emit(ctx, tx, webhooks.IntakeSubmitted, webhooks.Data{SubmissionID: sub.ID, AppointmentID: a.ID})
	})
	if ent.IsConstraintError(err) || isDuplicate(err) {
		return nil, errcode.Invalidf(errcode.Conflict, "", "the form was submitted meanwhile; reload it and try again")
	}
	if sub != nil {
		identity.Grant(ctx, sub.ID)
	}
	return sub, err
}

// Intake returns an appointment's intake submission, or nil when none was
// made. Only the patient (or guest with the manage token), the
// practitioner and staff with identity.ViewIntake who see the whole
// clinic (not other practitioners) may read it; for anyone
// else the appointment does not exist.
func (e *Engine) Intake(ctx context.Context, appointmentID gid.ID, token string) (*ent.IntakeSubmission, error) {
	v := identity.ViewerFrom(ctx)
	a, err := e.Client.Appointment.Query().Where(appointment.ID(appointmentID)).WithPractitioner().WithIntakeSubmission().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrAppointmentNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load appointment: %w", err)
	}
	if !e.canReadIntake(v, a, token) {
		return nil, ErrAppointmentNotFound
	}
	if sub := a.Edges.IntakeSubmission; sub != nil {
		identity.Grant(ctx, sub.ID)
	}
	return a.Edges.IntakeSubmission, nil
}

func (e *Engine) canReadIntake(v *identity.Viewer, a *ent.Appointment, token string) bool {
	if v.Can(identity.ViewIntake) && v.ClinicWide() {
		return true
	}
	if v != nil && v.UserID != "" {
		if a.PatientID != nil && *a.PatientID == v.UserID {
			return true
		}
		if p := a.Edges.Practitioner; p != nil && p.StaffUserID != nil && *p.StaffUserID == v.UserID {
			return true
		}
	}
	return e.validToken(purposeManage, a.ID, token)
}
