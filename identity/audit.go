package identity

import (
	"context"
	"fmt"

	"entgo.io/contrib/entgql"

	"frontdesk/ent"
	"frontdesk/ent/auditentry"
	"frontdesk/gid"
	"frontdesk/requestid"
	"frontdesk/secret"
)

// AuditRecord is one staff or admin action for the audit log. Before and
// After hold the changed fields only, never secrets.
type AuditRecord struct {
	Action     string // such as "user.set_role"
	TargetType string // GraphQL type name, such as "User"
	TargetID   string
	Before     map[string]any
	After      map[string]any
}

// Audit appends r to the audit log with the actor and request id taken
// from ctx. Pass the transaction's client when the action runs in one, so
// the record commits or rolls back with it. Every domain uses this for
// its staff actions.
func Audit(ctx context.Context, client *ent.Client, r AuditRecord) error {
	c := client.AuditEntry.Create().
		SetAction(r.Action).SetTargetType(r.TargetType).SetTargetID(r.TargetID).
		SetRequestID(requestid.From(ctx))
	if v := ViewerFrom(ctx); v != nil {
		c.SetActorID(string(v.UserID)).SetAPIKeyID(string(v.APIKeyID))
	}
	// Secrets never enter the log, whatever a caller passes: values of
	// keys named like one (token, password, secret, hash) are masked and
	// strings are redacted (see package secret).
	if r.Before != nil {
		c.SetBefore(secret.Value(r.Before).(map[string]any))
	}
	if r.After != nil {
		c.SetAfter(secret.Value(r.After).(map[string]any))
	}
	if err := c.Exec(ctx); err != nil {
		return fmt.Errorf("audit %s: %w", r.Action, err)
	}
	return nil
}

// AuditFilter narrows the audit log.
type AuditFilter struct {
	ActorID  *gid.ID
	TargetID *string
	Action   *string
}

// AuditLog returns the audit log, newest first, for viewers with
// ViewAuditLog.
func (s *Service) AuditLog(ctx context.Context, after *ent.Cursor, first *int, before *ent.Cursor, last *int, f AuditFilter) (*ent.AuditEntryConnection, error) {
	if _, err := Require(ctx, ViewAuditLog); err != nil {
		return nil, err
	}
	q := s.client.AuditEntry.Query()
	if f.ActorID != nil {
		q.Where(auditentry.ActorID(string(*f.ActorID)))
	}
	if f.TargetID != nil {
		q.Where(auditentry.TargetID(*f.TargetID))
	}
	if f.Action != nil {
		q.Where(auditentry.Action(*f.Action))
	}
	return q.Paginate(ctx, after, first, before, last,
		ent.WithAuditEntryOrder(&ent.AuditEntryOrder{Direction: entgql.OrderDirectionDesc, Field: ent.AuditEntryOrderFieldCreatedAt}))
}
