package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"frontdesk/gid"
)

// APIKey is a partner's credential. The token is shown once; only its
// SHA-256 is stored, with a short visible prefix to tell keys apart. A key
// acts with its scopes, never beyond its creator's role.
type APIKey struct {
	ent.Schema
}

// Mixin of the APIKey.
func (APIKey) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "key"}, TimeMixin{}}
}

// Fields of the APIKey.
func (APIKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(100).NotEmpty(),
		field.String("prefix").MaxLen(16).NotEmpty().Immutable(),
		field.String("token_hash").MaxLen(64).NotEmpty().Immutable().Sensitive(),
		// scopes are identity.Permission names.
		field.Strings("scopes").Immutable(),
		field.String("creator_id").GoType(gid.ID("")).MaxLen(32).Immutable(),
		field.Time("expires_at").Optional().Nillable().SchemaType(DateTime6),
		field.Time("revoked_at").Optional().Nillable().SchemaType(DateTime6),
		field.Time("last_used_at").Optional().Nillable().SchemaType(DateTime6),
	}
}

// Edges of the APIKey.
func (APIKey) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("creator", User.Type).Field("creator_id").Unique().Required().Immutable(),
	}
}

// Indexes of the APIKey.
func (APIKey) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("token_hash").Unique(),
		index.Fields("creator_id"),
	}
}
