package server

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"frontdesk/events"
)

// subscriptionResync tells subscription clients when they may have missed
// events: each subscription operation runs with an events resync flag,
// which the event bus raises when Redis was unavailable (see package
// events), and the next payload of that subscription then carries
// `"extensions": {"resync": true}`. A client seeing it refetches what the
// subscription shows (docs/api-conventions.md, "Subscriptions that may have missed events").
type subscriptionResync struct{}

var (
	_ graphql.HandlerExtension     = subscriptionResync{}
	_ graphql.OperationInterceptor = subscriptionResync{}
	_ graphql.ResponseInterceptor  = subscriptionResync{}
)

func (subscriptionResync) ExtensionName() string                   { return "SubscriptionResync" }
func (subscriptionResync) Validate(graphql.ExecutableSchema) error { return nil }

func (subscriptionResync) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if op := graphql.GetOperationContext(ctx); op.Operation != nil && op.Operation.Operation == ast.Subscription {
		ctx = events.WithResyncFlag(ctx)
	}
	return next(ctx)
}

func (subscriptionResync) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil && events.TakeResync(ctx) {
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions["resync"] = true
	}
	return resp
}
