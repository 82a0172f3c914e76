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
		field.String("name").MaxLen(200).Default(""),
	}
}

// Indexes of the User.
func (User) Indexes() []ent.Index {
	return []ent.Index{index.Fields("email").Unique()}
}
