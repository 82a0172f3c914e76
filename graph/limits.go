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
type Limits struct {
	MaxDepth         int
	MaxAliases       int
	MaxOperations    int
	MaxPageSize      int
	OperationTimeout time.Duration
}

func init() {
	// Limit errors are protocol errors: the request was refused before
	// execution, so transports answer 422 like for validation errors.
	for _, c := range []errcode.Code{errcode.ComplexityLimit, errcode.DepthLimit, errcode.AliasLimit, errcode.OperationLimit, errcode.PageSizeLimit, errcode.TokenLimit} {
		gqlerrcode.RegisterErrorType(string(c), gqlerrcode.KindProtocol)
	}
}

var (
	_ graphql.HandlerExtension        = Limits{}
	_ graphql.OperationContextMutator = Limits{}
	_ graphql.ResponseInterceptor     = Limits{}
)

// ExtensionName implements graphql.HandlerExtension.
func (Limits) ExtensionName() string { return "Limits" }

// Validate implements graphql.HandlerExtension.
func (l Limits) Validate(graphql.ExecutableSchema) error {
	if l.MaxDepth <= 0 || l.MaxAliases <= 0 || l.MaxOperations <= 0 || l.MaxPageSize <= 0 || l.OperationTimeout <= 0 {
		return fmt.Errorf("limits must all be positive: %+v", l)
	}
	return nil
}

// MutateOperationContext checks the parsed, validated operation before any
// resolver runs.
func (l Limits) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if n := len(op.Doc.Operations); n > l.MaxOperations {
		return limitError(errcode.OperationLimit, "the document defines %d operations; at most %d are allowed per request", n, l.MaxOperations)
	}
	w := walker{vars: op.Variables, maxPage: l.MaxPageSize}
	w.selections(op.Operation.SelectionSet, 1)
	switch {
	case w.depth > l.MaxDepth:
		return limitError(errcode.DepthLimit, "the operation nests %d levels deep; at most %d are allowed", w.depth, l.MaxDepth)
	case w.aliases > l.MaxAliases:
		return limitError(errcode.AliasLimit, "the operation uses %d aliases; at most %d are allowed", w.aliases, l.MaxAliases)
	case w.pageErr != "":
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

// walker measures an operation: its deepest selection, its aliases (a
// fragment counts each time it is spread) and page sizes over the limit.
type walker struct {
	vars    map[string]any
	maxPage int

	depth   int
	aliases int
	pageErr string
}

func (w *walker) selections(set ast.SelectionSet, depth int) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if depth > w.depth {
				w.depth = depth
			}
			if s.Alias != "" && s.Alias != s.Name {
				w.aliases++
			}
			w.checkPage(s)
			w.selections(s.SelectionSet, depth+1)
		case *ast.InlineFragment:
			w.selections(s.SelectionSet, depth)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				w.selections(s.Definition.SelectionSet, depth)
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
