package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"frontdesk/gid"
)

// The sync schemas: a practitioner's Outlook calendar, the Graph
// change-notification subscription that watches it, the Outlook events
// Frontdesk wrote for appointments, and the EHR's mapping tables and
// records. Package calendarsync and package ehrsync own their rules; see
// docs/integrations.md.

// CalendarLink ties a practitioner to an Outlook mailbox and calendar.
type CalendarLink struct{ ent.Schema }

// Mixin of the CalendarLink.
func (CalendarLink) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "clnk"}, TimeMixin{}}
}

// Fields of the CalendarLink.
func (CalendarLink) Fields() []ent.Field {
	return []ent.Field{
		field.String("practitioner_id").GoType(gid.ID("")).MaxLen(32),
		// mailbox is the Azure AD user id or user principal name.
		field.String("mailbox").MaxLen(254).NotEmpty(),
		// calendar_id is empty for the mailbox's default calendar.
		field.String("calendar_id").MaxLen(512).Default(""),
		// delta_link is Graph's @odata.deltaLink: where the next
		// incremental sync starts. Empty means a full sync is due.
		field.Text("delta_link").Default(""),
		// window_end is the end of the calendar view the delta link
		// covers; a full sync moves it forward.
		field.Time("window_end").SchemaType(DateTime6).Optional().Nillable(),
		field.Time("last_synced_at").SchemaType(DateTime6).Optional().Nillable(),
		field.Text("last_sync_error").Default(""),
	}
}

// Indexes of the CalendarLink.
func (CalendarLink) Indexes() []ent.Index {
	return []ent.Index{index.Fields("practitioner_id").Unique()}
}

// CalendarSubscription is the Graph subscription on a linked mailbox's
// events. One row per link, updated in place when the subscription is
// renewed or recreated, so its state is what admins watch.
type CalendarSubscription struct{ ent.Schema }

// Mixin of the CalendarSubscription.
func (CalendarSubscription) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "csub"}, TimeMixin{}}
}

// Fields of the CalendarSubscription.
func (CalendarSubscription) Fields() []ent.Field {
	return []ent.Field{
		field.String("link_id").GoType(gid.ID("")).MaxLen(32),
		// graph_id is Graph's subscription id; empty until created.
		field.String("graph_id").MaxLen(128).Default(""),
		// client_state is the random secret Graph echoes in every
		// notification; a notification without it is ignored.
		field.String("client_state").MaxLen(128).Sensitive(),
		field.Time("expires_at").SchemaType(DateTime6).Optional().Nillable(),
		// state: ACTIVE is healthy; FAILING means the last renewal or
		// creation failed and is the admin alert; PENDING is not yet
		// created.
		field.Enum("state").Values("PENDING", "ACTIVE", "FAILING").Default("PENDING"),
		field.Int("failures").NonNegative().Default(0),
		field.Time("last_notification_at").SchemaType(DateTime6).Optional().Nillable(),
		field.Time("last_renewed_at").SchemaType(DateTime6).Optional().Nillable(),
		field.Text("last_error").Default(""),
	}
}

// Indexes of the CalendarSubscription.
func (CalendarSubscription) Indexes() []ent.Index {
	return []ent.Index{index.Fields("link_id").Unique(), index.Fields("graph_id")}
}

// CalendarEvent is the Outlook event Frontdesk wrote for an appointment.
type CalendarEvent struct{ ent.Schema }

// Mixin of the CalendarEvent.
func (CalendarEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cevt"}, TimeMixin{}}
}

// Fields of the CalendarEvent.
func (CalendarEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("appointment_id").GoType(gid.ID("")).MaxLen(32),
		field.String("mailbox").MaxLen(254),
		field.String("event_id").MaxLen(512),
	}
}

// Indexes of the CalendarEvent.
func (CalendarEvent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("appointment_id").Unique()}
}

// EHRMapping maps a Frontdesk service to an EHR appointment type, or a
// practitioner to an EHR provider. Admins manage it.
type EHRMapping struct{ ent.Schema }

// Mixin of the EHRMapping.
func (EHRMapping) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ehrm"}, TimeMixin{}}
}

// Fields of the EHRMapping.
func (EHRMapping) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Values("SERVICE", "PRACTITIONER"),
		field.String("local_id").GoType(gid.ID("")).MaxLen(32),
		field.String("external_id").MaxLen(255).NotEmpty(),
	}
}

// Indexes of the EHRMapping.
func (EHRMapping) Indexes() []ent.Index {
	return []ent.Index{index.Fields("kind", "local_id").Unique()}
}

// EHRRecord remembers what Frontdesk created in the EHR (a patient, an
// appointment, a note) under a local key, so a retried job finds it
// instead of creating it twice.
type EHRRecord struct{ ent.Schema }

// Mixin of the EHRRecord.
func (EHRRecord) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ehrr"}, TimeMixin{}}
}

// Fields of the EHRRecord.
func (EHRRecord) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Values("PATIENT", "APPOINTMENT", "NOTE"),
		// local_key is a user id, "guest:<email>", an appointment id or an
		// intake submission id.
		field.String("local_key").MaxLen(191),
		field.String("external_id").MaxLen(255),
		// digest is, for a patient, a hash of the profile (name, birth
		// date, email, phone) last sent to the EHR: a patient-update job
		// that finds the same profile sends nothing, and one that lost a
		// race with another (the digest moved under it) sends again.
		field.String("digest").MaxLen(64).Default(""),
	}
}

// Indexes of the EHRRecord.
func (EHRRecord) Indexes() []ent.Index {
	return []ent.Index{index.Fields("kind", "local_key").Unique()}
}
