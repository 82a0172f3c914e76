package graph

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"frontdesk/ent"
	"frontdesk/identity"
)

// TestEveryTypeHasAViewRule walks the schema: every object type it can
// return has a view rule from its domain or is a carrier, so the real
// registry starts; taking any rule away stops the server at start-up,
// naming the type.
func TestEveryTypeHasAViewRule(t *testing.T) {
	rules := allViewRules(nil, nil)
	v, err := newViews(parsedSchema, rules)
	if err != nil {
		t.Fatalf("the schema's types: %v", err)
	}
	if len(v.fields) == 0 {
		t.Fatal("no field is checked")
	}
	for i, r := range rules {
		without := slices.Delete(slices.Clone(rules), i, i+1)
		name := r.Type.Elem().Name()
		if n, ok := graphqlNames[name]; ok {
			name = n
		}
		_, err := newViews(parsedSchema, without)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("without the rule for %s: %v; want a start-up error naming it", name, err)
		}
	}
	if _, err := newViews(parsedSchema, append(slices.Clone(rules), identity.Public[struct{ Extra int }]())); err == nil {
		t.Error("a rule for a type the schema does not have passed")
	}
	if _, err := newViews(parsedSchema, append(slices.Clone(rules), rules[0])); err == nil {
		t.Error("two rules for one type passed")
	}
}

// TestScalarFieldsAreNotChecked: only fields that return a type with a
// rule that is neither public nor inherited from the field's own type are
// checked, so the hot path of plain fields is one map lookup.
func TestScalarFieldsAreNotChecked(t *testing.T) {
	v, err := newViews(parsedSchema, allViewRules(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	checked := func(typ, field string) bool {
		_, ok := v.fields[parsedSchema.Types[typ].Fields.ForName(field)]
		return ok
	}
	for _, tc := range []struct {
		typ, field string
		want       bool
	}{
		{"Query", "node", true}, {"Query", "nodes", true}, {"Query", "order", true}, {"OrderEdge", "node", true},
		{"Subscription", "appointmentStatusChanged", true}, {"OrderStatusChange", "order", true}, {"WebhookEvent", "order", true},
		{"Product", "variants", false}, {"Order", "lines", false}, {"Appointment", "history", false}, // inherited
		{"Appointment", "practitioner", false}, {"Query", "services", false}, // public
		{"Order", "number", false}, {"Product", "title", false}, // scalars
	} {
		if got := checked(tc.typ, tc.field); got != tc.want {
			t.Errorf("%s.%s checked: %v, want %v", tc.typ, tc.field, got, tc.want)
		}
	}
	if !v.fields[parsedSchema.Types["Query"].Fields.ForName("nodes")].nullableItems {
		t.Error("nodes' items are nullable")
	}
}

// TestAuthorizeScalarFieldAllocatesNothing: the middleware on a field
// that returns no ruled type (every scalar) adds no allocation.
func TestAuthorizeScalarFieldAllocatesNothing(t *testing.T) {
	v, err := newViews(parsedSchema, allViewRules(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	def := parsedSchema.Types["Order"].Fields.ForName("number")
	ctx := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{Object: "Order",
		Field: graphql.CollectedField{Field: &ast.Field{Name: "number", Definition: def}}})
	var res any = "FD-1001"
	next := func(context.Context) (any, error) { return res, nil }
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := v.authorize(ctx, next); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per scalar field; want 0", n)
	}
}

// TestStreamDropsHiddenEvents: a subscription's events pass the rule one
// by one; one the viewer may not see is dropped, the rest arrive in
// order, and the copy closes with its source.
func TestStreamDropsHiddenEvents(t *testing.T) {
	rule := identity.Rule(func(_ context.Context, o *ent.Order) bool { return o.Number != "hidden" })
	v, err := newViews(parsedSchema, append(slices.DeleteFunc(allViewRules(nil, nil), func(r identity.ViewRule) bool {
		return r.Type == rule.Type
	}), rule))
	if err != nil {
		t.Fatal(err)
	}
	src := make(chan *ent.Order, 3)
	src <- &ent.Order{Number: "one"}
	src <- &ent.Order{Number: "hidden"}
	src <- &ent.Order{Number: "two"}
	close(src)
	out, ok := v.stream(context.Background(), (<-chan *ent.Order)(src)).(<-chan *ent.Order)
	if !ok {
		t.Fatal("the filtered stream has another type")
	}
	var got []string
	for o := range out {
		got = append(got, o.Number)
	}
	if !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("events %v; want [one two]", got)
	}
}
