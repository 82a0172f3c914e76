package graph

import (
	"slices"
	"sort"
	"testing"

	"frontdesk/identity"
)

// NodeTypeNames lists the GraphQL types that implement Node, for the
// external tests' coverage checks.
func NodeTypeNames() []string {
	var out []string
	for _, d := range parsedSchema.GetPossibleTypes(parsedSchema.Types["Node"]) {
		out = append(out, d.Name)
	}
	sort.Strings(out)
	return out
}

// MustSchema is NewSchema for tests.
func MustSchema(t testing.TB, r *Resolver) *Schema {
	t.Helper()
	s, err := NewSchema(r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// SchemaWithRoot is MustSchema with root's resolvers in place of r's own,
// so a test can stand in a resolver that forgets its read check and see
// the view rules catch it.
func SchemaWithRoot(t testing.TB, r *Resolver, root ResolverRoot) *Schema {
	t.Helper()
	s := MustSchema(t, r)
	s.ExecutableSchema = NewExecutableSchema(Config{Resolvers: root})
	return s
}

// SetSlotsFastPath turns availableSlots' fast path (slots.go) on or off
// until the test ends, so a test can compare it with the generic executor.
func SetSlotsFastPath(t testing.TB, on bool) {
	old := slotsFastPath.Swap(on)
	t.Cleanup(func() { slotsFastPath.Store(old) })
}

// SchemaWithRules is MustSchema with rules in place of the registry's
// rules for the same types, so a test can watch or refuse a type that is
// public in production.
func SchemaWithRules(t testing.TB, r *Resolver, rules ...identity.ViewRule) *Schema {
	t.Helper()
	s := MustSchema(t, r)
	all := allViewRules(r.Client, r.Catalog)
	for _, nr := range rules {
		all = slices.DeleteFunc(all, func(x identity.ViewRule) bool { return x.Type == nr.Type })
	}
	v, err := newViews(parsedSchema, append(all, rules...))
	if err != nil {
		t.Fatal(err)
	}
	s.views = v
	return s
}
