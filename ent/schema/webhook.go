package schema

import (
	"encoding/json"

	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"frontdesk/gid"
)

// WebhookEndpoint is a partner's receiver of outgoing webhooks. The
// webhooks package owns its rules: who may manage it, which URLs are
// allowed, how its secret is generated and rotated.
type WebhookEndpoint struct {
	ent.Schema
}

// Mixin of the WebhookEndpoint.
func (WebhookEndpoint) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "hook"}, TimeMixin{}}
}

// Fields of the WebhookEndpoint.
func (WebhookEndpoint) Fields() []ent.Field {
	return []ent.Field{
		field.String("url").MaxLen(2000).NotEmpty().
			SchemaType(map[string]string{dialect.MySQL: "varchar(2000)"}),
		field.String("description").MaxLen(500).Default("").
			SchemaType(map[string]string{dialect.MySQL: "varchar(500)"}),
		// events are the event types delivered, such as order.paid.
		field.Strings("events"),
		// document is the GraphQL subscription document that shapes the
		// payload; empty means the default payload.
		field.Text("document").Default(""),
		field.Enum("state").Values("ACTIVE", "PAUSED").Default("ACTIVE"),
		// paused_reason says why an endpoint was paused automatically
		// (410 Gone, failing for days); empty when paused by hand.
		field.String("paused_reason").MaxLen(500).Default("").
			SchemaType(map[string]string{dialect.MySQL: "varchar(500)"}),
		// secret is the whsec_ signing secret. It must be kept in the
		// clear to sign; it is never returned after creation or rotation.
		field.String("secret").MaxLen(100).NotEmpty().Sensitive(),
		// previous_secret also signs until previous_secret_expires_at, so
		// a receiver can switch secrets without losing deliveries.
		field.String("previous_secret").MaxLen(100).Default("").Sensitive(),
		field.Time("previous_secret_expires_at").Optional().Nillable().SchemaType(DateTime6),
		// owner_id is the user whose authority shapes payloads; api_key_id
		// is set when a partner's key created the endpoint, which then
		// belongs to that key and is shaped with its scopes.
		field.String("owner_id").GoType(gid.ID("")).MaxLen(32).Immutable(),
		field.String("api_key_id").GoType(gid.ID("")).MaxLen(32).Optional().Nillable().Immutable(),
		// failing_since is the time of the first failed attempt since the
		// last success; an endpoint failing for too long is paused.
		field.Time("failing_since").Optional().Nillable().SchemaType(DateTime6),
		field.Time("last_success_at").Optional().Nillable().SchemaType(DateTime6),
	}
}

// Edges of the WebhookEndpoint.
func (WebhookEndpoint) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("deliveries", WebhookDelivery.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the WebhookEndpoint.
func (WebhookEndpoint) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("state"),
		index.Fields("api_key_id"),
	}
}

// WebhookDelivery is one event owed to one endpoint. Its event_id is the
// webhook-id header: the same on every attempt and redelivery.
type WebhookDelivery struct {
	ent.Schema
}

// Mixin of the WebhookDelivery.
func (WebhookDelivery) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "hdel"}, TimeMixin{}}
}

// Fields of the WebhookDelivery.
func (WebhookDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.String("endpoint_id").GoType(gid.ID("")).MaxLen(32).Immutable(),
		field.String("event_id").MaxLen(40).NotEmpty().Immutable(),
		field.String("event_type").MaxLen(64).NotEmpty().Immutable(),
		// data is the event's default payload data, written when the
		// event was raised.
		field.JSON("data", json.RawMessage{}).Optional().Immutable(),
		field.Time("occurred_at").Immutable().SchemaType(DateTime6),
		// body is the exact request body, fixed by the first attempt so
		// every retry sends the same bytes under the same webhook-id.
		field.Text("body").Default(""),
		field.Enum("state").Values("PENDING", "SUCCEEDED", "FAILED").Default("PENDING"),
		field.Int("attempts").Default(0).NonNegative(),
		field.Int("last_status").Default(0),
		field.Time("next_attempt_at").Optional().Nillable().SchemaType(DateTime6),
	}
}

// Edges of the WebhookDelivery.
func (WebhookDelivery) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("endpoint", WebhookEndpoint.Type).Ref("deliveries").Field("endpoint_id").Unique().Required().Immutable(),
		edge.To("attempt_log", WebhookAttempt.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the WebhookDelivery.
func (WebhookDelivery) Indexes() []ent.Index {
	return []ent.Index{
		// One delivery per event and endpoint, so a fan-out job that runs
		// twice creates nothing twice.
		index.Fields("endpoint_id", "event_id").Unique(),
		index.Fields("endpoint_id", "created_at"),
		index.Fields("created_at"),
	}
}

// WebhookAttempt is one HTTP attempt of a delivery, for the delivery log.
type WebhookAttempt struct {
	ent.Schema
}

// Mixin of the WebhookAttempt.
func (WebhookAttempt) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "hatt"}}
}

// Fields of the WebhookAttempt.
func (WebhookAttempt) Fields() []ent.Field {
	return []ent.Field{
		field.String("delivery_id").GoType(gid.ID("")).MaxLen(32).Immutable(),
		field.Int("number").Positive().Immutable(),
		field.Time("started_at").Immutable().SchemaType(DateTime6),
		// status is the HTTP status, 0 when no response came.
		field.Int("status").Default(0).Immutable(),
		field.Int("duration_ms").Default(0).NonNegative().Immutable(),
		// response is the first bytes of the response body.
		field.String("response").MaxLen(1024).Default("").Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(1024)"}),
		field.String("error").MaxLen(1000).Default("").Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(1000)"}),
	}
}

// Edges of the WebhookAttempt.
func (WebhookAttempt) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("delivery", WebhookDelivery.Type).Ref("attempt_log").Field("delivery_id").Unique().Required().Immutable(),
	}
}

// Indexes of the WebhookAttempt.
func (WebhookAttempt) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("delivery_id", "number"),
	}
}

// TrustedDocument is one GraphQL document of a persisted-operation
// manifest: clients send only its id, and a server that requires trusted
// documents runs nothing else from public clients.
type TrustedDocument struct {
	ent.Schema
}

// Mixin of the TrustedDocument.
func (TrustedDocument) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "tdoc"}, TimeMixin{}}
}

// Fields of the TrustedDocument.
func (TrustedDocument) Fields() []ent.Field {
	return []ent.Field{
		field.String("client").MaxLen(100).NotEmpty().Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(100)"}),
		field.String("document_id").MaxLen(150).NotEmpty().Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(150)"}),
		field.Text("body").NotEmpty().Immutable(),
		field.String("operation_name").MaxLen(200).Default("").Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(200)"}),
	}
}

// Indexes of the TrustedDocument.
func (TrustedDocument) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("client", "document_id").Unique(),
		index.Fields("document_id"),
	}
}
