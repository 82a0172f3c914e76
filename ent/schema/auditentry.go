package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// AuditEntry records one admin or staff action: who, what, on which
// object, the state before and after, and the request it came from. The
// log is append-only: the identity package installs a hook that refuses
// updates and deletes (a schema hook would split ent's runtime package).
type AuditEntry struct {
	ent.Schema
}

// Mixin of the AuditEntry.
func (AuditEntry) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "aud"}}
}

// Fields of the AuditEntry.
func (AuditEntry) Fields() []ent.Field {
	return []ent.Field{
		// Ordered by time, not ID: IDs made in the same millisecond are not
		// in creation order.
		field.Time("created_at").Default(now).Immutable().SchemaType(DateTime6).
			Annotations(entgql.OrderField("CREATED_AT")),
		// actor_id is the user who acted; empty for the system.
		field.String("actor_id").MaxLen(32).Default("").Immutable(),
		field.String("api_key_id").MaxLen(32).Default("").Immutable(),
		field.String("action").MaxLen(100).NotEmpty().Immutable(),
		field.String("target_type").MaxLen(50).Default("").Immutable(),
		field.String("target_id").MaxLen(64).Default("").Immutable(),
		field.JSON("before", map[string]any{}).Optional().Immutable(),
		field.JSON("after", map[string]any{}).Optional().Immutable(),
		field.String("request_id").MaxLen(64).Default("").Immutable(),
	}
}

// Indexes of the AuditEntry.
func (AuditEntry) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("created_at"),
		index.Fields("actor_id", "created_at"),
		index.Fields("target_id", "created_at"),
	}
}
