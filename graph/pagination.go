package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// Pagination is the one place that gives every connection its default
// page size: a connection field (a field whose type is named
// …Connection and takes first/last) queried with neither first nor last
// gets first = Default before its resolver runs, whichever domain serves
// it and however deeply it is nested. Without it the generated entgql
// pagination applies no LIMIT and returns the whole table.
//
// The maximum is enforced earlier, before execution, by Limits
// (PAGE_SIZE_LIMIT for first/last above MaxPageSize); Complexity costs a
// connection without first/last at this same Default. The schema test
// TestEveryListIsBounded proves every connection and list field is covered.
type Pagination struct {
	Default int
}

var _ interface {
	graphql.HandlerExtension
	graphql.FieldInterceptor
} = Pagination{}

// ExtensionName implements graphql.HandlerExtension.
func (Pagination) ExtensionName() string { return "Pagination" }

// Validate implements graphql.HandlerExtension.
func (p Pagination) Validate(graphql.ExecutableSchema) error {
	if p.Default <= 0 {
		return fmt.Errorf("pagination: the default page size must be positive, got %d", p.Default)
	}
	return nil
}

// InterceptField implements graphql.FieldInterceptor.
func (p Pagination) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc != nil && fc.Field.Field != nil && IsConnectionField(fc.Field.Definition) && fc.Args != nil {
		first, _ := fc.Args["first"].(*int)
		last, _ := fc.Args["last"].(*int)
		if first == nil && last == nil {
			n := p.Default
			fc.Args["first"] = &n
		}
	}
	return next(ctx)
}

// IsConnectionField reports whether f is a Relay connection field that
// Pagination pages: its type is a …Connection object and it takes the
// first and last arguments.
func IsConnectionField(f *ast.FieldDefinition) bool {
	if f == nil || f.Type == nil || f.Type.Elem != nil || !strings.HasSuffix(f.Type.Name(), "Connection") {
		return false
	}
	return intArg(f, "first") && intArg(f, "last")
}

func intArg(f *ast.FieldDefinition, name string) bool {
	a := f.Arguments.ForName(name)
	return a != nil && a.Type.Elem == nil && a.Type.Name() == "Int"
}
