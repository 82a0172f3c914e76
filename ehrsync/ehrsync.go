// Package ehrsync pushes confirmed appointments, their patients and their
// intake forms into the EHR, through the outbox: a confirmation,
// reschedule or cancellation queues a job in the booking's transaction,
// and the job makes the EHR match the appointment. A patient's changed
// name, email, phone or date of birth is written to the EHR's copy the
// same way (patient.go). What was created is
// recorded (ehr_records) and every create is also idempotent at the EHR
// (search or conditional create), so a retried job never duplicates a
// patient or an appointment. Mapping tables (service → appointment type,
// practitioner → provider) are managed by admins.
package ehrsync

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"frontdesk/booking"
	"frontdesk/booking/intake"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/ehrmapping"
	"frontdesk/ent/ehrrecord"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/integrations/ehr"
	"frontdesk/outbox"
)

// Job kinds.
const (
	KindAppointment = "ehr.appointment"
	KindNote        = "ehr.note"
	KindIntakeScan  = "ehr.intake_scan"
)

// Sync is EHR sync. A nil EHR turns it off (mappings can still be kept).
type Sync struct {
	client *ent.Client
	ehr    ehr.EHR
	Now    func() time.Time
	Log    *slog.Logger
}

// New returns a Sync.
func New(client *ent.Client, e ehr.EHR, log *slog.Logger) *Sync {
	if log == nil {
		log = slog.Default()
	}
	return &Sync{client: client, ehr: e, Now: time.Now, Log: log}
}

// Register adds the job kinds and the intake scan to reg.
func (s *Sync) Register(reg *outbox.Registry) {
	backoff := outbox.ExponentialBackoff(30*time.Second, time.Hour)
	reg.Register(outbox.Kind{Name: KindAppointment, Handler: s.runAppointment, Backoff: backoff, Concurrency: 2})
	reg.Register(outbox.Kind{Name: KindNote, Handler: s.runNote, Backoff: backoff, Concurrency: 2})
	reg.Register(outbox.Kind{Name: KindPatient, Handler: s.runPatient, Backoff: backoff, Concurrency: 2})
	reg.Every("@every 5m", outbox.Kind{Name: KindIntakeScan, Handler: s.runIntakeScan})
}

type aptPayload struct {
	AppointmentID gid.ID `json:"appointmentId"`
}

// InTx implements booking.ChangeSink.
func (s *Sync) InTx(ctx context.Context, tx *ent.Tx, c booking.Change) error {
	if s.ehr == nil {
		return nil
	}
	a := c.Appointment
	var key string
	switch {
	case c.To == appointment.StateCONFIRMED && c.From != appointment.StateCONFIRMED:
		key = "confirmed"
	case c.Rescheduled && c.To == appointment.StateCONFIRMED:
		key = a.StartAt.UTC().Format(time.RFC3339)
	case c.To == appointment.StateCANCELLED && c.From == appointment.StateCONFIRMED:
		key = "cancelled"
	default:
		return nil
	}
	_, err := outbox.Enqueue(ctx, tx, outbox.Job{Kind: KindAppointment, IdempotencyKey: "ehr.appointment:" + a.ID.String() + ":" + key,
		Payload: aptPayload{AppointmentID: a.ID}})
	if err != nil || key != "confirmed" {
		return err
	}
	// A booking may carry a returning patient's new name, phone or date
	// of birth.
	return enqueuePatient(ctx, tx, nil, patientKey(a), "apt:"+a.ID.String())
}

// Committed implements booking.ChangeSink.
func (s *Sync) Committed(context.Context, booking.Change) {}

func (s *Sync) record(ctx context.Context, kind ehrrecord.Kind, key string) (string, error) {
	r, err := s.client.EHRRecord.Query().Where(ehrrecord.KindEQ(kind), ehrrecord.LocalKey(key)).Only(ctx)
	if ent.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return r.ExternalID, nil
}

func (s *Sync) remember(ctx context.Context, kind ehrrecord.Kind, key, external string) error {
	return s.rememberDigest(ctx, kind, key, external, "")
}

// rememberDigest records a link with the digest of what was sent.
func (s *Sync) rememberDigest(ctx context.Context, kind ehrrecord.Kind, key, external, digest string) error {
	return s.client.EHRRecord.Create().SetKind(kind).SetLocalKey(key).SetExternalID(external).SetDigest(digest).
		OnConflictColumns(ehrrecord.FieldKind, ehrrecord.FieldLocalKey).
		Update(func(u *ent.EHRRecordUpsert) { u.UpdateExternalID().UpdateDigest().UpdateUpdatedAt() }).Exec(ctx)
}

func (s *Sync) mapping(ctx context.Context, kind ehrmapping.Kind, local gid.ID) (string, error) {
	m, err := s.client.EHRMapping.Query().Where(ehrmapping.KindEQ(kind), ehrmapping.LocalID(local)).Only(ctx)
	if ent.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return m.ExternalID, nil
}

// patientKey is Frontdesk's identifier of an appointment's patient.
func patientKey(a *ent.Appointment) string {
	if a.PatientID != nil {
		return a.PatientID.String()
	}
	return "guest:" + strings.ToLower(a.GuestEmail)
}

// retryable keeps EHR faults retrying and gives up on what a retry cannot
// fix (a 400, an unknown provider).
func retryable(err error) error {
	if err == nil || ehr.Retryable(err) {
		return err
	}
	return outbox.Permanent(err)
}

// patient finds or creates the appointment's patient in the EHR from
// their profile (patient.go) and records the link with the profile's
// digest.
func (s *Sync) patient(ctx context.Context, a *ent.Appointment) (string, error) {
	key := patientKey(a)
	if id, err := s.record(ctx, ehrrecord.KindPATIENT, key); err != nil || id != "" {
		return id, err
	}
	p, err := s.profile(ctx, key)
	if err != nil {
		return "", err
	}
	id, err := s.ehr.FindOrCreatePatient(ctx, p)
	if err != nil {
		return "", retryable(fmt.Errorf("find or create patient: %w", err))
	}
	if err := s.rememberDigest(ctx, ehrrecord.KindPATIENT, key, id, digest(p)); err != nil {
		return "", err
	}
	// A profile change committed while the patient was being created
	// queued a job that may have run before the link existed and done
	// nothing; one more job sends the change now.
	now, err := s.profile(ctx, key)
	if err != nil {
		return "", err
	}
	if digest(now) != digest(p) {
		if err := enqueuePatient(ctx, nil, s.client, key, "linked:"+id+":"+digest(now)[:16]); err != nil {
			return "", err
		}
	}
	return id, nil
}

// runAppointment makes the EHR's appointment match Frontdesk's.
func (s *Sync) runAppointment(ctx context.Context, j *outbox.Running) error {
	var p aptPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	if s.ehr == nil {
		return nil
	}
	a, err := booking.AppointmentWithService(ctx, s.client, p.AppointmentID)
	if ent.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	existing, err := s.record(ctx, ehrrecord.KindAPPOINTMENT, a.ID.String())
	if err != nil {
		return err
	}
	if a.State == appointment.StateCANCELLED {
		if existing == "" {
			return nil
		}
		return retryable(s.ehr.CancelAppointment(ctx, existing, a.CancelReason))
	}
	if a.State != appointment.StateCONFIRMED {
		return nil
	}
	provider, err := s.mapping(ctx, ehrmapping.KindPRACTITIONER, a.PractitionerID)
	if err != nil {
		return err
	}
	if provider == "" {
		// Retried with backoff: an admin adding the mapping fixes it.
		return fmt.Errorf("no EHR provider is mapped to practitioner %s (ehrMappings)", a.PractitionerID)
	}
	typ, err := s.mapping(ctx, ehrmapping.KindSERVICE, a.ServiceID)
	if err != nil {
		return err
	}
	patient, err := s.patient(ctx, a)
	if err != nil {
		return err
	}
	notes := "Booked through Frontdesk."
	if svc := a.Edges.Service; svc != nil && svc.VideoURL != "" {
		notes += " Video: " + svc.VideoURL
	}
	ea := ehr.Appointment{Key: a.ID.String(), PatientID: patient, ProviderID: provider, TypeID: typ,
		Start: a.StartAt, End: a.EndAt, Notes: notes}
	if existing != "" {
		return retryable(s.ehr.UpdateAppointment(ctx, existing, ea))
	}
	id, err := s.ehr.CreateAppointment(ctx, ea)
	if err != nil {
		return retryable(fmt.Errorf("create appointment: %w", err))
	}
	return s.remember(ctx, ehrrecord.KindAPPOINTMENT, a.ID.String(), id)
}

type notePayload struct {
	SubmissionID gid.ID `json:"submissionId"`
	Version      string `json:"version"`
}

// runIntakeScan queues a note job for every intake submission made or
// edited lately; the idempotency key (submission and its update time)
// lets each version through once.
func (s *Sync) runIntakeScan(ctx context.Context, _ *outbox.Running) error {
	if s.ehr == nil {
		return nil
	}
	subs, err := booking.IntakesChangedSince(ctx, s.client, s.Now().Add(-2*time.Hour))
	if err != nil {
		return err
	}
	for _, sub := range subs {
		v := sub.UpdatedAt.UTC().Format("20060102T150405.000000")
		if _, err := outbox.EnqueueDirect(ctx, s.client, outbox.Job{Kind: KindNote, IdempotencyKey: "ehr.note:" + sub.ID.String() + ":" + v,
			Payload: notePayload{SubmissionID: sub.ID, Version: v}}); err != nil {
			return err
		}
		// Edited answers may carry a new date of birth.
		if err := enqueuePatient(ctx, nil, s.client, patientKey(sub.Edges.Appointment), "intake:"+sub.ID.String()+":"+v); err != nil {
			return err
		}
	}
	return nil
}

// runNote attaches an intake submission to the patient's record, once the
// appointment is in the EHR.
func (s *Sync) runNote(ctx context.Context, j *outbox.Running) error {
	var p notePayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	if s.ehr == nil {
		return nil
	}
	sub, err := booking.IntakeWithFormAndAppointment(ctx, s.client, p.SubmissionID)
	if ent.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	a := sub.Edges.Appointment
	key := sub.ID.String() + ":" + p.Version
	if done, err := s.record(ctx, ehrrecord.KindNOTE, key); err != nil || done != "" {
		return err
	}
	aptID, err := s.record(ctx, ehrrecord.KindAPPOINTMENT, a.ID.String())
	if err != nil {
		return err
	}
	patient, err := s.record(ctx, ehrrecord.KindPATIENT, patientKey(a))
	if err != nil {
		return err
	}
	if aptID == "" || patient == "" {
		if a.State == appointment.StateCANCELLED {
			return nil
		}
		return fmt.Errorf("appointment %s is not in the EHR yet", a.ID)
	}
	title := "Intake form: " + sub.Edges.Form.Title
	if err := s.ehr.AttachNote(ctx, patient, aptID, key, title, Render(sub.Edges.Form.Fields, sub.Answers)); err != nil {
		return retryable(fmt.Errorf("attach intake: %w", err))
	}
	return s.remember(ctx, ehrrecord.KindNOTE, key, aptID)
}

// Render writes intake answers as plain text, one "label: answer" a line
// in the form's order.
func Render(fields []intake.Field, answers []intake.Answer) string {
	byKey := map[string]intake.Answer{}
	for _, a := range answers {
		byKey[a.Key] = a
	}
	var b strings.Builder
	for _, f := range fields {
		a, ok := byKey[f.Key]
		if !ok {
			continue
		}
		v := a.Text
		switch {
		case len(a.Choices) > 0:
			c := append([]string(nil), a.Choices...)
			sort.Strings(c)
			v = strings.Join(c, ", ")
		case a.Bool != nil && *a.Bool:
			v = "yes"
		case a.Bool != nil:
			v = "no"
		}
		fmt.Fprintf(&b, "%s: %s\n", f.Label, v)
	}
	return b.String()
}

// Errors.
var ErrMappingNotFound = errcode.New(errcode.NotFound, "no such EHR mapping")

// MappingInput sets one mapping.
type MappingInput struct {
	Kind       ehrmapping.Kind
	LocalID    gid.ID
	ExternalID string
}

// SetMapping creates or replaces the mapping of a service or practitioner.
// Needs identity.ManageSettings.
func (s *Sync) SetMapping(ctx context.Context, in MappingInput) (*ent.EHRMapping, error) {
	if _, err := identity.Require(ctx, identity.ManageSettings); err != nil {
		return nil, err
	}
	in.ExternalID = strings.TrimSpace(in.ExternalID)
	if in.ExternalID == "" || len(in.ExternalID) > 255 {
		return nil, errcode.Invalidf(errcode.Invalid, "externalId", "enter the EHR's id, at most 255 characters")
	}
	var exists bool
	var err error
	switch in.Kind {
	case ehrmapping.KindSERVICE:
		exists, err = booking.ServiceExists(ctx, s.client, in.LocalID)
	case ehrmapping.KindPRACTITIONER:
		exists, err = booking.PractitionerExists(ctx, s.client, in.LocalID)
	default:
		return nil, errcode.Invalidf(errcode.Invalid, "kind", "expected SERVICE or PRACTITIONER")
	}
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, errcode.Invalidf(errcode.Invalid, "localId", "no such "+strings.ToLower(string(in.Kind)))
	}
	err = s.client.EHRMapping.Create().SetKind(in.Kind).SetLocalID(in.LocalID).SetExternalID(in.ExternalID).
		OnConflictColumns(ehrmapping.FieldKind, ehrmapping.FieldLocalID).
		Update(func(u *ent.EHRMappingUpsert) { u.UpdateExternalID().UpdateUpdatedAt() }).Exec(ctx)
	if err != nil {
		return nil, err
	}
	return s.client.EHRMapping.Query().Where(ehrmapping.KindEQ(in.Kind), ehrmapping.LocalID(in.LocalID)).Only(ctx)
}

// DeleteMapping removes a mapping. Needs identity.ManageSettings.
func (s *Sync) DeleteMapping(ctx context.Context, id gid.ID) error {
	if _, err := identity.Require(ctx, identity.ManageSettings); err != nil {
		return err
	}
	err := s.client.EHRMapping.DeleteOneID(id).Exec(ctx)
	if ent.IsNotFound(err) {
		return ErrMappingNotFound
	}
	return err
}

// Mappings lists the mappings, services first. Needs
// identity.ManageSettings or identity.ManageBookings.
func (s *Sync) Mappings(ctx context.Context) ([]*ent.EHRMapping, error) {
	if _, err := identity.Require(ctx, identity.ManageSettings); err != nil {
		if _, err2 := identity.Require(ctx, identity.ManageBookings); err2 != nil {
			return nil, err
		}
	}
	ms, err := s.client.EHRMapping.Query().Order(ent.Asc(ehrmapping.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	// Sorted here: MySQL orders enums by declaration, SQLite by text.
	sort.SliceStable(ms, func(i, j int) bool {
		return ms[i].Kind == ehrmapping.KindSERVICE && ms[j].Kind != ehrmapping.KindSERVICE
	})
	return ms, nil
}

// CanView reports whether the viewer may see EHR mappings by ID
// (node(id:)): those who may list them (MANAGE_SETTINGS or
// MANAGE_BOOKINGS).
func CanView(ctx context.Context) bool {
	v := identity.ViewerFrom(ctx)
	return v.Can(identity.ManageSettings) || v.Can(identity.ManageBookings)
}
