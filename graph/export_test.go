package graph

import "sort"

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
