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

// Job is one side effect owed by a committed state change: a row of the
// transactional outbox. The outbox package owns its rules; domain code
// writes jobs only through outbox.Enqueue, inside its own transaction.
type Job struct {
	ent.Schema
}

// Mixin of the Job.
func (Job) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "job"}, TimeMixin{}}
}

// Fields of the Job.
func (Job) Fields() []ent.Field {
	return []ent.Field{
		field.String("kind").MaxLen(100).NotEmpty().Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(100)"}),
		field.JSON("payload", json.RawMessage{}).Optional(),
		field.Enum("state").Values("PENDING", "RUNNING", "SUCCEEDED", "DEAD", "CANCELLED").Default("PENDING"),
		field.Int("attempts").Default(0).NonNegative(),
		field.Int("max_attempts").Default(10).Positive(),
		// run_at is when the job is next due; claims scan (state, run_at).
		field.Time("run_at").SchemaType(DateTime6),
		field.String("lease_owner").MaxLen(100).Default("").
			SchemaType(map[string]string{dialect.MySQL: "varchar(100)"}),
		// lease_expires_at is set while RUNNING; past it, another worker
		// may claim the job again.
		field.Time("lease_expires_at").Optional().Nillable().SchemaType(DateTime6),
		// idempotency_key is unique: enqueueing the same key twice keeps
		// one job, and handlers hand it to outside services.
		field.String("idempotency_key").MaxLen(191).NotEmpty().Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(191)"}),
		field.Text("last_error").Default(""),
		field.Time("finished_at").Optional().Nillable().SchemaType(DateTime6),
		// trace_parent is the W3C traceparent of the span that enqueued
		// the job, set only when that span was sampled; the job's own
		// span links to it. NULL when tracing is off.
		field.String("trace_parent").MaxLen(55).Optional().Nillable().Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(55)"}),
	}
}

// Edges of the Job.
func (Job) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("attempt_log", JobAttempt.Type).
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Job.
func (Job) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("idempotency_key").Unique(),
		index.Fields("state", "run_at"),
		index.Fields("state", "lease_expires_at"),
		index.Fields("kind", "state", "run_at"),
	}
}

// JobAttempt records one run of a job: when it started and ended and the
// error it returned, so admins can see why a job is retrying or dead.
type JobAttempt struct {
	ent.Schema
}

// Mixin of the JobAttempt.
func (JobAttempt) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "jat"}}
}

// Fields of the JobAttempt.
func (JobAttempt) Fields() []ent.Field {
	return []ent.Field{
		field.String("job_id").GoType(gid.ID("")).MaxLen(32).Immutable(),
		field.Int("number").Positive().Immutable(),
		field.String("worker").MaxLen(100).Default("").Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(100)"}),
		field.Time("started_at").Immutable().SchemaType(DateTime6),
		field.Time("finished_at").Immutable().SchemaType(DateTime6),
		field.Text("error").Default("").Immutable(),
	}
}

// Edges of the JobAttempt.
func (JobAttempt) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("job", Job.Type).Ref("attempt_log").Field("job_id").Unique().Required().Immutable(),
	}
}

// Indexes of the JobAttempt.
func (JobAttempt) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("job_id", "number"),
	}
}

// SentMessage is an email or SMS that Frontdesk sent (or, in development,
// only logged), kept so staff can see what went out.
type SentMessage struct {
	ent.Schema
}

// Mixin of the SentMessage.
func (SentMessage) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "msg"}, TimeMixin{}}
}

// Fields of the SentMessage.
func (SentMessage) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("channel").Values("EMAIL", "SMS").Immutable(),
		field.String("kind").MaxLen(100).Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(100)"}),
		field.String("recipient").MaxLen(320).Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(320)"}),
		field.String("subject").MaxLen(998).Default("").Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(998)"}),
		field.Text("body_text").Default("").Immutable(),
		field.Text("body_html").Default("").Immutable(),
		// transport names who carried it: smtp, twilio or log (development).
		field.String("transport").MaxLen(20).Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(20)"}),
		field.String("provider_id").MaxLen(200).Default("").Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(200)"}),
		field.String("idempotency_key").MaxLen(191).Immutable().
			SchemaType(map[string]string{dialect.MySQL: "varchar(191)"}),
	}
}

// Indexes of the SentMessage.
func (SentMessage) Indexes() []ent.Index {
	return []ent.Index{
		// One record per job, even when a retry sends twice.
		index.Fields("idempotency_key").Unique(),
		index.Fields("created_at"),
		index.Fields("recipient"),
	}
}
