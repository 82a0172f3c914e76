package telemetry

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// GraphQL is a gqlgen extension that runs each query and mutation under a
// span named "<type> <name>" (such as "query Products") with the
// operation's type and name and, when the response has errors, their
// codes. Variables and the document are never recorded: they hold
// passwords, tokens and personal data. Subscriptions get no span; an
// event stream that lasts hours is not one operation worth timing.
type GraphQL struct {
	Tracer trace.Tracer
}

var (
	_ graphql.HandlerExtension    = GraphQL{}
	_ graphql.ResponseInterceptor = GraphQL{}
)

// ExtensionName implements graphql.HandlerExtension.
func (GraphQL) ExtensionName() string { return "OpenTelemetry" }

// Validate implements graphql.HandlerExtension.
func (GraphQL) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse implements graphql.ResponseInterceptor. Resolvers run
// inside next, so their spans and logs belong to the operation's span.
func (g GraphQL) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	op := graphql.GetOperationContext(ctx)
	kind, name := "unknown", op.OperationName
	if op.Operation != nil {
		if op.Operation.Operation == ast.Subscription {
			return next(ctx)
		}
		kind, name = string(op.Operation.Operation), op.Operation.Name
	}
	spanName := kind
	if name != "" {
		spanName += " " + name
	}
	ctx, span := g.Tracer.Start(ctx, spanName, trace.WithAttributes(
		attribute.String("graphql.operation.type", kind),
		attribute.String("graphql.operation.name", name),
	))
	defer span.End()
	resp := next(ctx)
	if resp != nil && len(resp.Errors) > 0 {
		errCodes := make([]string, 0, len(resp.Errors))
		for _, e := range resp.Errors {
			c, _ := e.Extensions["code"].(string)
			if c == "" {
				c = "UNKNOWN"
			}
			errCodes = append(errCodes, c)
		}
		span.SetAttributes(attribute.StringSlice("graphql.error.codes", errCodes))
		span.SetStatus(codes.Error, errCodes[0])
	}
	return resp
}
