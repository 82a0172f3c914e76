package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"frontdesk/gid"
)

// Session is one signed-in device. The client holds a random token; only
// its SHA-256 is stored, so a database leak yields no usable credential.
type Session struct {
	ent.Schema
}

// Mixin of the Session.
func (Session) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ses"}, TimeMixin{}}
}

// Fields of the Session.
func (Session) Fields() []ent.Field {
	return []ent.Field{
		field.String("user_id").GoType(gid.ID("")).MaxLen(32).Immutable(),
		// token_hash is the hex SHA-256 of the bearer token.
		field.String("token_hash").MaxLen(64).NotEmpty().Immutable().Sensitive(),
		// expires_at is the absolute end of the session, however active.
		field.Time("expires_at").SchemaType(DateTime6),
		// last_used_at slides the idle timeout forward on use.
		field.Time("last_used_at").SchemaType(DateTime6),
		field.String("user_agent").MaxLen(255).Default(""),
		field.String("ip_address").MaxLen(64).Default(""),
		field.Time("revoked_at").Optional().Nillable().SchemaType(DateTime6),
	}
}

// Edges of the Session.
func (Session) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("user", User.Type).Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes of the Session.
func (Session) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("token_hash").Unique(),
		index.Fields("user_id", "revoked_at"),
		// For the retention sweep (identity.SweepSessions).
		index.Fields("expires_at"),
		index.Fields("revoked_at"),
		index.Fields("last_used_at"),
	}
}
