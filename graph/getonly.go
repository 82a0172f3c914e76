package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	gqlerrcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"frontdesk/errcode"
)

type getKey struct{}

// WithGET marks a request that arrived over HTTP GET.
func WithGET(ctx context.Context) context.Context { return context.WithValue(ctx, getKey{}, true) }

func init() {
	gqlerrcode.RegisterErrorType(string(errcode.MethodNotAllowed), gqlerrcode.KindProtocol)
}

// QueriesOnlyOverGET refuses mutations and subscriptions sent over GET
// before anything runs, with a coded error, so a link, a prefetch or an
// image tag can never change state. (gqlgen's GET transport refuses them
// too, but without an error code.)
type QueriesOnlyOverGET struct{}

var (
	_ graphql.HandlerExtension        = QueriesOnlyOverGET{}
	_ graphql.OperationContextMutator = QueriesOnlyOverGET{}
)

// ExtensionName implements graphql.HandlerExtension.
func (QueriesOnlyOverGET) ExtensionName() string { return "QueriesOnlyOverGET" }

// Validate implements graphql.HandlerExtension.
func (QueriesOnlyOverGET) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (QueriesOnlyOverGET) MutateOperationContext(ctx context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if get, _ := ctx.Value(getKey{}).(bool); !get || op.Operation == nil || op.Operation.Operation == ast.Query {
		return nil
	}
	return &gqlerror.Error{
		Message:    "only queries may be sent over GET; send " + string(op.Operation.Operation) + "s with POST",
		Extensions: map[string]any{"code": string(errcode.MethodNotAllowed)},
	}
}
