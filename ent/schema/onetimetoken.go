package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"frontdesk/gid"
)

// OneTimeToken is an emailed link's secret: email verification or password
// reset. Stored hashed, expiring, and spent on first use.
type OneTimeToken struct {
	ent.Schema
}

// Mixin of the OneTimeToken.
func (OneTimeToken) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ott"}, TimeMixin{}}
}

// Fields of the OneTimeToken.
func (OneTimeToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("user_id").GoType(gid.ID("")).MaxLen(32).Immutable(),
		field.Enum("purpose").Values("VERIFY_EMAIL", "RESET_PASSWORD").Immutable(),
		field.String("token_hash").MaxLen(64).NotEmpty().Immutable().Sensitive(),
		// email is the address the token was sent to: verifying it proves
		// that address, not whatever the user changed it to since.
		field.String("email").MaxLen(254).Immutable(),
		field.Time("expires_at").SchemaType(DateTime6).Immutable(),
		field.Time("used_at").Optional().Nillable().SchemaType(DateTime6),
	}
}

// Edges of the OneTimeToken.
func (OneTimeToken) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("user", User.Type).Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes of the OneTimeToken.
func (OneTimeToken) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("token_hash").Unique(),
		// For the retention sweep (identity.SweepTokens).
		index.Fields("expires_at"),
		index.Fields("used_at"),
	}
}
