package graph

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	gqlerrcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"frontdesk/errcode"
)

// Limits bounds what one operation may ask of the server. Each limit
// answers with its own code so client developers know which one they hit.
//
// The size of the document (DocumentLimits) is checked in
// MutateOperationParameters, before gqlgen parses and validates it, so it
// must be Use()d after every extension that fills in the query (persisted
// queries). Page sizes need the variables and are checked once the
// operation is known; the deadline covers execution.
type Limits struct {
	Document         DocumentLimits
	MaxPageSize      int
	OperationTimeout time.Duration
	// Known, when set, is gqlgen's parsed-query cache: a document in it
	// has already passed these limits and validation, so it is not
	// measured again.
	Known graphql.Cache[*ast.QueryDocument]
}

func init() {
	// Limit errors are protocol errors: the request was refused before
	// execution, so transports answer 422 like for validation errors.
	for _, c := range []errcode.Code{
		errcode.ComplexityLimit, errcode.DepthLimit, errcode.AliasLimit, errcode.OperationLimit, errcode.PageSizeLimit, errcode.TokenLimit,
		errcode.FieldLimit, errcode.FragmentLimit, errcode.InlineFragmentLimit, errcode.DirectiveLimit, errcode.IntrospectionDisabled,
		errcode.SubscriptionLimit, errcode.VariableLimit,
	} {
		gqlerrcode.RegisterErrorType(string(c), gqlerrcode.KindProtocol)
	}
}

var (
	_ graphql.HandlerExtension          = Limits{}
	_ graphql.OperationParameterMutator = Limits{}
	_ graphql.OperationContextMutator   = Limits{}
	_ graphql.ResponseInterceptor       = Limits{}
)

// ExtensionName implements graphql.HandlerExtension.
func (Limits) ExtensionName() string { return "Limits" }

// Validate implements graphql.HandlerExtension.
func (l Limits) Validate(graphql.ExecutableSchema) error {
	d := l.Document
	if d.MaxFields <= 0 || d.MaxFragments <= 0 || d.MaxInlineFragments <= 0 || d.MaxDirectives <= 0 ||
		d.MaxDepth <= 0 || d.MaxVariableValues <= 0 || d.MaxAliases <= 0 || d.MaxOperations <= 0 || l.MaxPageSize <= 0 || l.OperationTimeout <= 0 {
		return fmt.Errorf("limits must all be positive: %+v", l)
	}
	return nil
}

// MutateOperationParameters measures the document in one linear pass
// before gqlgen parses and validates it, on every transport.
func (l Limits) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	if err := l.Document.CheckVariables(params.Variables); err != nil {
		return err
	}
	if params.Query == "" {
		return nil
	}
	if l.Known != nil {
		if _, ok := l.Known.Get(ctx, params.Query); ok {
			return nil
		}
	}
	return l.Document.CheckQuery(params.Query)
}

// MutateOperationContext checks page sizes, which depend on the
// variables, before any resolver runs.
func (l Limits) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	w := walker{vars: op.Variables, maxPage: l.MaxPageSize}
	w.selections(op.Operation.SelectionSet)
	if w.pageErr != "" {
		return limitError(errcode.PageSizeLimit, "%s", w.pageErr)
	}
	return nil
}

// InterceptResponse gives queries and mutations a deadline. Subscriptions
// are long-lived by design and are exempt.
func (l Limits) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	op := graphql.GetOperationContext(ctx)
	if op.Operation == nil || op.Operation.Operation == ast.Subscription {
		return next(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, l.OperationTimeout)
	defer cancel()
	return next(ctx)
}

func limitError(code errcode.Code, format string, args ...any) *gqlerror.Error {
	return &gqlerror.Error{
		Message:    fmt.Sprintf(format, args...),
		Extensions: map[string]any{"code": string(code)},
	}
}

// walker finds the first page size over the limit in an operation. The
// document limits have already bounded how many fields it visits.
type walker struct {
	vars    map[string]any
	maxPage int

	pageErr string
}

func (w *walker) selections(set ast.SelectionSet) {
	for _, sel := range set {
		if w.pageErr != "" {
			return
		}
		switch s := sel.(type) {
		case *ast.Field:
			w.checkPage(s)
			w.selections(s.SelectionSet)
		case *ast.InlineFragment:
			w.selections(s.SelectionSet)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				w.selections(s.Definition.SelectionSet)
			}
		}
	}
}

// checkPage enforces the maximum page size on every connection argument
// (first, last) and on list arguments named ids, in one place rather than
// in each resolver.
func (w *walker) checkPage(f *ast.Field) {
	if w.pageErr != "" || f.Definition == nil || len(f.Arguments) == 0 {
		return
	}
	args := f.ArgumentMap(w.vars)
	for _, name := range []string{"first", "last"} {
		if v, ok := args[name].(int64); ok && (v < 0 || v > int64(w.maxPage)) {
			w.pageErr = fmt.Sprintf("%s.%s must be between 0 and %d, got %d", f.Name, name, w.maxPage, v)
			return
		}
		if v, ok := args[name].(int); ok && (v < 0 || v > w.maxPage) {
			w.pageErr = fmt.Sprintf("%s.%s must be between 0 and %d, got %d", f.Name, name, w.maxPage, v)
			return
		}
	}
	if ids, ok := args["ids"].([]any); ok && len(ids) > w.maxPage {
		w.pageErr = fmt.Sprintf("%s.ids may hold at most %d IDs, got %d", f.Name, w.maxPage, len(ids))
	}
}

// Complexity wraps an executable schema so that list and connection fields
// cost their selection times the number of items they can return: the
// page size asked for, or the default page size when none is.
type Complexity struct {
	graphql.ExecutableSchema
	DefaultPageSize int
}

// Complexity implements graphql.ExecutableSchema.
func (c Complexity) Complexity(ctx context.Context, typeName, field string, childComplexity int, args map[string]any) (int, bool) {
	if n, ok := c.ExecutableSchema.Complexity(ctx, typeName, field, childComplexity, args); ok {
		return n, ok
	}
	def := c.Schema().Types[typeName]
	if def == nil {
		return 0, false
	}
	if strings.HasSuffix(typeName, "Connection") {
		// The connection field itself was already multiplied by its page
		// size; its edges and nodes lists must not multiply again.
		return 0, false
	}
	f := def.Fields.ForName(field)
	if f == nil {
		return 0, false
	}
	items := 0
	for _, name := range []string{"first", "last"} {
		if v, ok := toInt(args[name]); ok {
			items = max(items, v)
		}
	}
	if ids := reflect.ValueOf(args["ids"]); ids.Kind() == reflect.Slice {
		items = max(items, ids.Len())
	}
	isConnection := strings.HasSuffix(f.Type.Name(), "Connection")
	if n, ok := listSizes[typeName+"."+field]; ok && items == 0 {
		items = n
	}
	if items == 0 && (isConnection || f.Type.Elem != nil) {
		items = c.DefaultPageSize
	}
	target := c.Schema().Types[f.Type.Name()]
	if items == 0 || target == nil || (target.Kind != ast.Object && target.Kind != ast.Interface && target.Kind != ast.Union) {
		// Scalar lists (tags, error paths) cost what their field costs.
		return 0, false
	}
	return 1 + items*max(childComplexity, 1), true
}

// listSizes estimates unpaginated lists that hang off one object and are
// small by nature, so they are not costed as a full default page each:
// the storefront listing (20 products with their variants and
// collections) would otherwise cost more than the default limit.
var listSizes = map[string]int{
	"Product.variants":        10,
	"Product.options":         3,
	"Product.images":          10,
	"Product.collections":     5,
	"ProductImage.renditions": 5,
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case *int:
		if n != nil {
			return *n, true
		}
	}
	return 0, false
}
