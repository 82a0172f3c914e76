package schema

import (
	"errors"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"frontdesk/booking/intake"
	"frontdesk/gid"
)

// The booking schemas: practitioners, services, opening hours, the
// appointments themselves and intake forms. The booking package owns their
// rules; see docs/booking.md.

// validTimeZone accepts IANA zone names only, so availability can always be
// computed in the practitioner's zone.
func validTimeZone(s string) error {
	if s == "" || s == "Local" {
		return errors.New("expected an IANA time zone such as Australia/Sydney")
	}
	if _, err := time.LoadLocation(s); err != nil {
		return errors.New("unknown IANA time zone")
	}
	return nil
}

// Practitioner is a person appointments are booked with.
type Practitioner struct{ ent.Schema }

// Mixin of the Practitioner.
func (Practitioner) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "prac"}, TimeMixin{}}
}

// Fields of the Practitioner.
func (Practitioner) Fields() []ent.Field {
	return []ent.Field{
		// staff_user_id links the practitioner to their staff account, so
		// they can see their own agenda and intake submissions.
		field.String("staff_user_id").GoType(gid.ID("")).MaxLen(32).Optional().Nillable(),
		field.String("name").MaxRuneLen(200).NotEmpty().
			// Lists and their connections sort by name.
			Annotations(entgql.OrderField("NAME")),
		field.String("time_zone").MaxLen(64).Validate(validTimeZone),
		field.Text("bio").Default(""),
		field.String("photo_url").MaxLen(2048).Default(""),
		field.Bool("active").Default(true),
	}
}

// Edges of the Practitioner.
func (Practitioner) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("services", Service.Type).Ref("practitioners"),
		edge.To("weekly_hours", WeeklyHours.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("date_overrides", DateOverride.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Practitioner.
func (Practitioner) Indexes() []ent.Index {
	return []ent.Index{index.Fields("staff_user_id")}
}

// Service is an appointment type, such as an initial consultation.
type Service struct{ ent.Schema }

// Mixin of the Service.
func (Service) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "svc"}, TimeMixin{}}
}

// Fields of the Service.
func (Service) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(200).NotEmpty().
			// Lists and their connections sort by name.
			Annotations(entgql.OrderField("NAME")),
		field.String("slug").MaxLen(100).NotEmpty(),
		field.Text("description").Default(""),
		field.Int("duration_minutes").Positive(),
		// price_amount is in minor units; 0 means the service is free.
		field.Int64("price_amount").NonNegative().Default(0),
		field.String("currency").MaxLen(3).Default(""),
		field.Int("buffer_before_minutes").NonNegative().Default(0),
		field.Int("buffer_after_minutes").NonNegative().Default(0),
		field.Int("min_notice_minutes").NonNegative().Default(0),
		field.Int("horizon_days").Positive().Default(60),
		field.Int("slot_interval_minutes").Positive().Default(15),
		// daily_limit caps this service's appointments per practitioner and
		// local day; 0 means no cap.
		field.Int("daily_limit").NonNegative().Default(0),
		field.String("location").MaxRuneLen(500).Default(""),
		field.String("video_url").MaxLen(2048).Default(""),
		field.Int("cancel_cutoff_minutes").NonNegative().Default(0),
		field.Int("reschedule_cutoff_minutes").NonNegative().Default(0),
		// refund_on_cancel: a patient who cancels within the cut-off rules
		// gets the payment back.
		field.Bool("refund_on_cancel").Default(true),
		field.String("intake_form_key").MaxLen(64).Optional().Nillable(),
		field.Bool("intake_required").Default(false),
		// requires_service_id makes the service bookable only by patients
		// with a completed appointment of that service.
		field.String("requires_service_id").GoType(gid.ID("")).MaxLen(32).Optional().Nillable(),
		field.Enum("eligibility_scope").Values("SAME_PRACTITIONER", "ANY_PRACTITIONER").Default("ANY_PRACTITIONER"),
		field.Bool("active").Default(true),
	}
}

// Edges of the Service.
func (Service) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("practitioners", Practitioner.Type),
	}
}

// Indexes of the Service.
func (Service) Indexes() []ent.Index {
	return []ent.Index{index.Fields("slug").Unique()}
}

// WeeklyHours is one interval of a practitioner's usual week, in local
// wall-clock minutes of a weekday. A day may have several (a lunch break
// is two intervals).
type WeeklyHours struct{ ent.Schema }

// Mixin of the WeeklyHours.
func (WeeklyHours) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "hrs"}, TimeMixin{}}
}

// Fields of the WeeklyHours.
func (WeeklyHours) Fields() []ent.Field {
	return []ent.Field{
		field.String("practitioner_id").GoType(gid.ID("")).MaxLen(32),
		// weekday follows time.Weekday: 0 is Sunday.
		field.Int("weekday").Range(0, 6),
		field.Int("start_minute").Range(0, 1439),
		field.Int("end_minute").Range(1, 1440),
	}
}

// Edges of the WeeklyHours.
func (WeeklyHours) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("practitioner", Practitioner.Type).Ref("weekly_hours").Field("practitioner_id").Unique().Required(),
	}
}

// Indexes of the WeeklyHours.
func (WeeklyHours) Indexes() []ent.Index {
	return []ent.Index{index.Fields("practitioner_id", "weekday")}
}

// DateOverride changes one local date of a practitioner's calendar: it
// opens extra hours, or closes the day (no interval) or part of it.
type DateOverride struct{ ent.Schema }

// Mixin of the DateOverride.
func (DateOverride) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ovr"}, TimeMixin{}}
}

// Fields of the DateOverride.
func (DateOverride) Fields() []ent.Field {
	return []ent.Field{
		field.String("practitioner_id").GoType(gid.ID("")).MaxLen(32),
		// date is a local calendar date, YYYY-MM-DD, in the practitioner's zone.
		field.String("date").MaxLen(10).MinLen(10),
		field.Enum("kind").Values("OPEN", "CLOSED"),
		// start_minute/end_minute are unset for a whole closed day.
		field.Int("start_minute").Range(0, 1439).Optional().Nillable(),
		field.Int("end_minute").Range(1, 1440).Optional().Nillable(),
		field.String("reason").MaxRuneLen(200).Default(""),
	}
}

// Edges of the DateOverride.
func (DateOverride) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("practitioner", Practitioner.Type).Ref("date_overrides").Field("practitioner_id").Unique().Required(),
	}
}

// Indexes of the DateOverride.
func (DateOverride) Indexes() []ent.Index {
	return []ent.Index{index.Fields("practitioner_id", "date")}
}

// ExternalBusyBlock is time a practitioner is busy elsewhere, such as an
// Outlook event. The calendar-sync integration writes these rows; the
// availability engine only reads them.
type ExternalBusyBlock struct{ ent.Schema }

// Mixin of the ExternalBusyBlock.
func (ExternalBusyBlock) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "busy"}, TimeMixin{}}
}

// Fields of the ExternalBusyBlock.
func (ExternalBusyBlock) Fields() []ent.Field {
	return []ent.Field{
		field.String("practitioner_id").GoType(gid.ID("")).MaxLen(32),
		field.Time("start_at").SchemaType(DateTime6),
		field.Time("end_at").SchemaType(DateTime6),
		// source names the calendar (such as "msgraph"); external_id is the
		// event's id there, so a sync can upsert.
		field.String("source").MaxLen(32),
		field.String("external_id").MaxLen(255),
	}
}

// Edges of the ExternalBusyBlock.
func (ExternalBusyBlock) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("practitioner", Practitioner.Type).Field("practitioner_id").Unique().Required(),
	}
}

// Indexes of the ExternalBusyBlock.
func (ExternalBusyBlock) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("source", "external_id").Unique(),
		index.Fields("practitioner_id", "start_at"),
	}
}

// Appointment is a booked (or held) time with a practitioner for a service.
// A hold is an appointment in state HELD with an expiry.
type Appointment struct{ ent.Schema }

// Mixin of the Appointment.
func (Appointment) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "apt"}, TimeMixin{}}
}

// Fields of the Appointment.
func (Appointment) Fields() []ent.Field {
	return []ent.Field{
		field.String("service_id").GoType(gid.ID("")).MaxLen(32),
		field.String("practitioner_id").GoType(gid.ID("")).MaxLen(32),
		field.String("patient_id").GoType(gid.ID("")).MaxLen(32).Optional().Nillable(),
		field.String("guest_name").MaxRuneLen(200).Default(""),
		field.String("guest_email").MaxLen(254).Default(""),
		field.String("guest_phone").MaxLen(32).Default(""),
		field.Time("start_at").SchemaType(DateTime6).
			// Appointment connections (a patient's, an agenda) sort by start.
			Annotations(entgql.OrderField("START_AT")),
		field.Time("end_at").SchemaType(DateTime6),
		// blocked_start/blocked_end are start/end widened by the service's
		// buffers when the time was taken: the span no other appointment of
		// the practitioner may overlap.
		field.Time("blocked_start").SchemaType(DateTime6),
		field.Time("blocked_end").SchemaType(DateTime6),
		field.Enum("state").Values("HELD", "PENDING_PAYMENT", "CONFIRMED", "COMPLETED", "NO_SHOW", "CANCELLED"),
		// hold_expires_at is when a HELD or PENDING_PAYMENT appointment
		// gives its time back.
		field.Time("hold_expires_at").SchemaType(DateTime6).Optional().Nillable(),
		// holder_key identifies who holds the slot (a user id, or a guest
		// key), to cap active holds per person.
		field.String("holder_key").MaxLen(64).Default(""),
		// day_key is the local date (practitioner's zone) under which the
		// appointment counts towards its service's daily limit
		// (practitioner_day_counts); empty for appointments never counted.
		field.String("day_key").MaxLen(10).Default(""),
		field.String("idempotency_key").MaxLen(128).Optional().Nillable(),
		field.Int64("price_amount").NonNegative().Default(0),
		field.String("currency").MaxLen(3).Default(""),
		field.String("payment_intent_id").MaxLen(255).Optional().Nillable(),
		field.String("cancel_reason").MaxRuneLen(500).Default(""),
		field.Time("confirmed_at").SchemaType(DateTime6).Optional().Nillable(),
		field.Time("cancelled_at").SchemaType(DateTime6).Optional().Nillable(),
	}
}

// Edges of the Appointment.
func (Appointment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("service", Service.Type).Field("service_id").Unique().Required(),
		edge.To("practitioner", Practitioner.Type).Field("practitioner_id").Unique().Required(),
		edge.To("history", AppointmentStateChange.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("intake_submission", IntakeSubmission.Type).Unique().Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Appointment.
func (Appointment) Indexes() []ent.Index {
	return []ent.Index{
		// Availability reads a practitioner's appointments by
		// blocked_start range; the other columns it reads and filters on
		// are in the index too, so neither store visits the rows.
		index.Fields("practitioner_id", "blocked_start", "blocked_end", "state", "hold_expires_at", "service_id", "start_at").
			StorageKey("appointment_availability"),
		index.Fields("patient_id", "start_at"),
		index.Fields("holder_key", "state"),
		// The sweeper finds expired holds by hold_expires_at, which is
		// NULL once an appointment is confirmed, so the index stays small
		// in use; a (state, …) index would tempt MariaDB away from the
		// practitioner index on availability reads.
		index.Fields("hold_expires_at"),
		index.Fields("idempotency_key").Unique(),
		index.Fields("payment_intent_id"),
	}
}

// AppointmentStateChange is one row of an appointment's history.
type AppointmentStateChange struct{ ent.Schema }

// Mixin of the AppointmentStateChange.
func (AppointmentStateChange) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "apsc"}, TimeMixin{}}
}

// Fields of the AppointmentStateChange.
func (AppointmentStateChange) Fields() []ent.Field {
	return []ent.Field{
		field.String("appointment_id").GoType(gid.ID("")).MaxLen(32),
		// from_state is empty for the row that creates the appointment.
		field.String("from_state").MaxLen(32).Default(""),
		field.String("to_state").MaxLen(32),
		// actor_id is the user who made the change; empty for the system.
		field.String("actor_id").MaxLen(64).Default(""),
		field.String("reason").MaxRuneLen(500).Default(""),
		// start_at records the time the appointment had after the change, so
		// reschedules show in the history.
		field.Time("start_at").SchemaType(DateTime6),
	}
}

// Edges of the AppointmentStateChange.
func (AppointmentStateChange) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("appointment", Appointment.Type).Ref("history").Field("appointment_id").Unique().Required(),
	}
}

// SlotClaim is the database's guarantee against double booking: one row
// per practitioner and 5-minute unit that an appointment blocks (buffers
// included), under a unique index. Two transactions that want the same
// unit cannot both commit, whatever replica or service they come from.
type SlotClaim struct{ ent.Schema }

// Annotations of the SlotClaim.
func (SlotClaim) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("practitioner_slot_claims")}
}

// Mixin of the SlotClaim.
func (SlotClaim) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "clm"}}
}

// Fields of the SlotClaim.
func (SlotClaim) Fields() []ent.Field {
	return []ent.Field{
		field.String("practitioner_id").GoType(gid.ID("")).MaxLen(32),
		// slot_start_minute is the unit's start in minutes since the Unix
		// epoch, a multiple of 5.
		field.Int64("slot_start_minute"),
		field.String("appointment_id").GoType(gid.ID("")).MaxLen(32),
	}
}

// Edges of the SlotClaim.
func (SlotClaim) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("appointment", Appointment.Type).Field("appointment_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the SlotClaim.
func (SlotClaim) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("practitioner_id", "slot_start_minute").Unique(),
		index.Fields("appointment_id"),
	}
}

// IntakeForm is one version of an intake form. Versions of one form share
// a key; a new version is a new row, so submissions keep the questions
// they answered.
type IntakeForm struct{ ent.Schema }

// Mixin of the IntakeForm.
func (IntakeForm) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "form"}, TimeMixin{}}
}

// Fields of the IntakeForm.
func (IntakeForm) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").MaxLen(64).NotEmpty(),
		field.Int("version").Positive(),
		field.String("title").MaxRuneLen(200).NotEmpty(),
		field.Text("description").Default(""),
		field.JSON("fields", []intake.Field{}),
	}
}

// Indexes of the IntakeForm.
func (IntakeForm) Indexes() []ent.Index {
	return []ent.Index{index.Fields("key", "version").Unique()}
}

// IntakeSubmission is a patient's answers for one appointment, against one
// form version.
type IntakeSubmission struct{ ent.Schema }

// Mixin of the IntakeSubmission.
func (IntakeSubmission) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "fsub"}, TimeMixin{}}
}

// Fields of the IntakeSubmission.
func (IntakeSubmission) Fields() []ent.Field {
	return []ent.Field{
		field.String("appointment_id").GoType(gid.ID("")).MaxLen(32),
		field.String("form_id").GoType(gid.ID("")).MaxLen(32),
		field.JSON("answers", []intake.Answer{}),
		field.String("submitted_by").MaxLen(64).Default(""),
	}
}

// Edges of the IntakeSubmission.
func (IntakeSubmission) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("appointment", Appointment.Type).Ref("intake_submission").Field("appointment_id").Unique().Required(),
		edge.To("form", IntakeForm.Type).Field("form_id").Unique().Required(),
	}
}
