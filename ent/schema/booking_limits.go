package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"frontdesk/gid"
)

// The booking limits are counters that the database enforces with
// conditional updates (`SET n = n + 1 WHERE n < limit`) inside the
// transaction that takes the time, so replicas cannot race past them
// (see booking/limits.go).

// PractitionerDay counts a practitioner's live appointments of one service
// on one local date, for the service's daily limit.
type PractitionerDay struct{ ent.Schema }

// Annotations of the PractitionerDay.
func (PractitionerDay) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("practitioner_day_counts")}
}

// Mixin of the PractitionerDay.
func (PractitionerDay) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "pday"}, TimeMixin{}}
}

// Fields of the PractitionerDay.
func (PractitionerDay) Fields() []ent.Field {
	return []ent.Field{
		field.String("practitioner_id").GoType(gid.ID("")).MaxLen(32),
		field.String("service_id").GoType(gid.ID("")).MaxLen(32),
		// day is the local date in the practitioner's zone (YYYY-MM-DD),
		// recorded on each counted appointment as its day_key.
		field.String("day").MaxLen(10),
		// appointments counts the appointments with this day_key that are
		// not cancelled (an expired hold counts until it is cancelled).
		field.Int("appointments").NonNegative().Default(0),
	}
}

// Indexes of the PractitionerDay.
func (PractitionerDay) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("practitioner_id", "service_id", "day").Unique(),
	}
}

// HolderHolds counts the appointments a person (holder_key) holds, for
// the cap on active holds.
type HolderHolds struct{ ent.Schema }

// Annotations of the HolderHolds.
func (HolderHolds) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("holder_hold_counts")}
}

// Mixin of the HolderHolds.
func (HolderHolds) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "hcnt"}, TimeMixin{}}
}

// Fields of the HolderHolds.
func (HolderHolds) Fields() []ent.Field {
	return []ent.Field{
		field.String("holder_key").MaxLen(64),
		// holds counts the holder's appointments in state HELD (an expired
		// hold counts until it is cancelled).
		field.Int("holds").NonNegative().Default(0),
	}
}

// Indexes of the HolderHolds.
func (HolderHolds) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("holder_key").Unique(),
	}
}
