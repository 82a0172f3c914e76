package graph

import (
	"sort"
	"testing"
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
