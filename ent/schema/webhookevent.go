package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// WebhookEvent records each provider event processed, so a redelivered
// event (Stripe retries, duplicates) changes nothing the second time.
type WebhookEvent struct {
	ent.Schema
}

// Mixin of the WebhookEvent.
func (WebhookEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "whe"}, TimeMixin{}}
}

// Fields of the WebhookEvent.
func (WebhookEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("provider").MaxLen(32).NotEmpty().Immutable(),
		field.String("event_id").MaxLen(255).NotEmpty().Immutable(),
		field.String("type").MaxLen(128).Immutable(),
	}
}

// Indexes of the WebhookEvent.
func (WebhookEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("provider", "event_id").Unique(),
		// For the retention sweep (payments.SweepWebhookEvents).
		index.Fields("created_at"),
	}
}
