package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"frontdesk/ent"
	"frontdesk/gid"
	"frontdesk/graph/model"
	"frontdesk/identity"
	"frontdesk/webhooks"
)

// eventTypeOf maps a payload type ("order.payment_failed") to the enum
// (ORDER_PAYMENT_FAILED); eventTypeFrom the other way.
func eventTypeOf(t string) model.WebhookEventType {
	return model.WebhookEventType(strings.ToUpper(strings.Replace(t, ".", "_", 1)))
}

func eventTypeFrom(t model.WebhookEventType) webhooks.EventType {
	return webhooks.EventType(strings.Replace(strings.ToLower(string(t)), "_", ".", 1))
}

func eventTypesFrom(ts []model.WebhookEventType) []webhooks.EventType {
	if ts == nil {
		return nil
	}
	out := make([]webhooks.EventType, len(ts))
	for i, t := range ts {
		out[i] = eventTypeFrom(t)
	}
	return out
}

// webhookEventKey carries the event a payload document is being run for;
// only the shaper sets it, so Subscription.webhookEvent refuses everyone
// else.
type webhookEventKey struct{}

func webhookEventFrom(ctx context.Context) *webhooks.Event {
	ev, _ := ctx.Value(webhookEventKey{}).(*webhooks.Event)
	return ev
}

// subject loads the object an event is about, through the same read rule
// as node(id:), so a payload document sees it only if its owner may.
func subject[T ent.Noder](r *Resolver, ctx context.Context, id gid.ID) (T, error) {
	var zero T
	if id == "" {
		return zero, nil
	}
	n, err := r.node(ctx, id)
	if errors.Is(err, errNodeNotFound) {
		return zero, nil
	}
	if err != nil {
		return zero, err
	}
	t, _ := n.(T)
	return t, nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// WebhookShaper validates endpoints' payload documents against the public
// schema and runs them for an event with the endpoint owner's viewer in
// the context: every field goes through the same resolvers and read rules
// as a query of theirs, and one they may not read comes out null.
type WebhookShaper struct {
	schema graphql.ExecutableSchema
	exec   *executor.Executor
}

// NewWebhookShaper builds the executor documents run on, with the same
// limits and loaders as the HTTP server.
func NewWebhookShaper(es graphql.ExecutableSchema, extensions ...graphql.HandlerExtension) *WebhookShaper {
	e := executor.New(es)
	e.SetErrorPresenter(Errors{Log: slog.Default()}.Present)
	for _, x := range extensions {
		e.Use(x)
	}
	return &WebhookShaper{schema: es, exec: e}
}

// Validate implements webhooks.Shaper: one subscription operation whose
// only root field is webhookEvent, valid against the schema.
func (s *WebhookShaper) Validate(document string) error {
	doc, err := parser.ParseQuery(&ast.Source{Input: document})
	if err != nil {
		return fmt.Errorf("the document does not parse: %w", err)
	}
	if errs := validator.Validate(s.schema.Schema(), doc); len(errs) > 0 {
		return fmt.Errorf("the document is not valid: %s", errs[0].Message)
	}
	if len(doc.Operations) != 1 || doc.Operations[0].Operation != ast.Subscription {
		return errors.New("the document must hold exactly one subscription operation")
	}
	for _, sel := range doc.Operations[0].SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok || (f.Name != "webhookEvent" && f.Name != "__typename") {
			return errors.New("the subscription may select only webhookEvent")
		}
	}
	if len(doc.Operations[0].VariableDefinitions) > 0 {
		return errors.New("the document must not declare variables")
	}
	return nil
}

// Shape implements webhooks.Shaper. It returns the response's data
// object; errors (fields the owner may not read) are left out, their
// fields being null.
func (s *WebhookShaper) Shape(ctx context.Context, document string, ev webhooks.Event) (json.RawMessage, error) {
	if identity.ViewerFrom(ctx) == nil {
		return nil, errors.New("shape payload: no owner in context")
	}
	ctx = context.WithValue(ctx, webhookEventKey{}, &ev)
	ctx = graphql.StartOperationTrace(ctx)
	now := graphql.Now()
	params := &graphql.RawParams{Query: document, ReadTime: graphql.TraceTiming{Start: now, End: now}}
	rc, errs := s.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		return nil, fmt.Errorf("shape payload: %s", errs.Error())
	}
	responses, ctx := s.exec.DispatchOperation(ctx, rc)
	resp := responses(ctx)
	if resp == nil || len(resp.Data) == 0 || string(resp.Data) == "null" {
		msg := "no data"
		if resp != nil && len(resp.Errors) > 0 {
			msg = resp.Errors.Error()
		}
		return nil, fmt.Errorf("shape payload: %s", msg)
	}
	return resp.Data, nil
}

// oneEvent is the subscription stream of a shaping run: its one event.
func oneEvent(ctx context.Context) (<-chan *webhooks.Event, error) {
	ev := webhookEventFrom(ctx)
	if ev == nil {
		return nil, identity.ErrForbidden
	}
	ch := make(chan *webhooks.Event, 1)
	ch <- ev
	close(ch)
	return ch, nil
}

func timePtr(t time.Time) *time.Time { return &t }

func deliveryStates(in []model.WebhookDeliveryState) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}
