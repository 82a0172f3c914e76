package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// User is a person who signs in: a customer or patient, or a member of
// staff. The identity package owns its rules.
type User struct {
	ent.Schema
}

// Mixin of the User.
func (User) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "usr"}, TimeMixin{}}
}

// Fields of the User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		// email is stored lower-cased by the identity package, which makes
		// the unique index case-insensitive on every database.
		field.String("email").MaxLen(254).NotEmpty().
			SchemaType(map[string]string{dialect.MySQL: "varchar(254)"}),
		field.String("name").MaxRuneLen(200).Default(""),
		// role mirrors identity.Role; the values must stay in step.
		field.Enum("role").Values("CUSTOMER", "STAFF", "PRACTITIONER", "ADMIN").Default("CUSTOMER"),
		// phone is E.164 (+61412345678), validated by identity.ParsePhone.
		field.String("phone").MaxLen(16).Optional().Nillable(),
		// password_hash is an encoded argon2id hash with its parameters, or
		// a bcrypt hash imported from the legacy shop (replaced by argon2id
		// at the next sign-in); nil for guest accounts, which can be
		// claimed later by setting one.
		field.String("password_hash").MaxLen(255).Optional().Nillable().Sensitive(),
		field.Time("email_verified_at").Optional().Nillable().SchemaType(DateTime6),
		// deactivated_at stops every session and API key of the user.
		field.Time("deactivated_at").Optional().Nillable().SchemaType(DateTime6),
	}
}

// Indexes of the User.
func (User) Indexes() []ent.Index {
	return []ent.Index{index.Fields("email").Unique()}
}
