package graph

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"frontdesk/errcode"
)

// DocumentLimits bound the size of a GraphQL document. They are checked in
// one linear pass right after parsing and before validation, because
// validation is not linear: its overlapping-fields rule compares every
// pair of fields that share a response name, so 10,000 repeated
// `__typename` cost seconds of CPU before the complexity limit (which
// needs a validated document) could refuse them.
//
// Counts follow fragments: a fragment's contents count once for its
// definition and once more for every spread, so nested spreads cannot
// multiply the work unseen. Each limit has its own error code.
type DocumentLimits struct {
	MaxFields          int
	MaxFragments       int
	MaxInlineFragments int
	MaxDirectives      int
	MaxAliases         int
	MaxDepth           int
	MaxOperations      int
	// MaxVariableValues bounds the JSON values (list items, object
	// fields, scalars) in a request's variables, which gqlgen coerces one
	// by one before any limit that depends on them is checked.
	MaxVariableValues int
	// MaxTokens is the parser's token limit, so the pass reads no more of
	// a document than gqlgen's parser would.
	MaxTokens int
	// Introspection false refuses __schema and __type here, with
	// INTROSPECTION_DISABLED, instead of letting the resolvers fail.
	Introspection bool
}

// documentSize is what the pass counts. Counts saturate (see add) so that
// spreads nested n deep cannot overflow.
type documentSize struct {
	fields, inline, aliases, depth, spreads int
	introspection                           bool
}

// saturation is far above any limit and far below overflow.
const saturation = 1 << 40

func (s *documentSize) add(o documentSize, times int) {
	s.fields = min(s.fields+o.fields*times, saturation)
	s.inline = min(s.inline+o.inline*times, saturation)
	s.aliases = min(s.aliases+o.aliases*times, saturation)
	s.spreads = min(s.spreads+o.spreads*times, saturation)
	s.introspection = s.introspection || o.introspection
}

// CheckQuery parses query and checks it against the limits. A document
// that does not parse passes: gqlgen parses it again and reports the
// syntax error with its position.
func (l DocumentLimits) CheckQuery(query string) *gqlerror.Error {
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, l.MaxTokens)
	if err != nil {
		return nil
	}
	return l.Check(doc)
}

// Admits reports whether query parses and is within the limits: what a
// store of documents (persisted queries) should keep.
func (l DocumentLimits) Admits(query string) bool {
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, l.MaxTokens)
	return err == nil && l.Check(doc) == nil
}

// Check measures a parsed document in time linear in its size.
func (l DocumentLimits) Check(doc *ast.QueryDocument) *gqlerror.Error {
	if n := len(doc.Operations); n > l.MaxOperations {
		return limitError(errcode.OperationLimit, "the document defines %d operations; at most %d are allowed per request", n, l.MaxOperations)
	}
	if n := len(doc.Fragments); n > l.MaxFragments {
		return limitError(errcode.FragmentLimit, "the document defines %d fragments; at most %d are allowed", n, l.MaxFragments)
	}
	m := measurer{frags: make(map[string]*fragmentState, len(doc.Fragments))}
	for _, f := range doc.Fragments {
		if _, dup := m.frags[f.Name]; !dup {
			m.frags[f.Name] = &fragmentState{def: f}
		}
	}
	var total documentSize
	directives := 0
	for _, op := range doc.Operations {
		directives += len(op.Directives)
		for _, v := range op.VariableDefinitions {
			directives += len(v.Directives)
		}
		total.add(m.selections(op.SelectionSet), 1)
		total.depth = max(total.depth, m.depth(op.SelectionSet))
	}
	for _, f := range doc.Fragments {
		// Validation visits every definition once, spread or not, and
		// also a second definition under a name already taken.
		directives += len(f.Directives)
		if m.frags[f.Name].def == f {
			total.add(m.fragment(f.Name), 1)
		} else {
			total.add(m.selections(f.SelectionSet), 1)
		}
	}
	directives += m.directives
	switch {
	case total.depth > l.MaxDepth:
		return limitError(errcode.DepthLimit, "the operation nests %d levels deep; at most %d are allowed", total.depth, l.MaxDepth)
	case total.fields > l.MaxFields:
		return limitError(errcode.FieldLimit, "the document selects %s fields (fragments counted at each spread); at most %d are allowed", atLeast(total.fields), l.MaxFields)
	case total.spreads > l.MaxFragments:
		return limitError(errcode.FragmentLimit, "the document spreads fragments %s times (nested spreads multiplied out); at most %d are allowed", atLeast(total.spreads), l.MaxFragments)
	case total.inline > l.MaxInlineFragments:
		return limitError(errcode.InlineFragmentLimit, "the document uses %s inline fragments; at most %d are allowed", atLeast(total.inline), l.MaxInlineFragments)
	case directives > l.MaxDirectives:
		return limitError(errcode.DirectiveLimit, "the document uses %d directives; at most %d are allowed", directives, l.MaxDirectives)
	case total.aliases > l.MaxAliases:
		return limitError(errcode.AliasLimit, "the operation uses %s aliases; at most %d are allowed", atLeast(total.aliases), l.MaxAliases)
	case total.introspection && !l.Introspection:
		return limitError(errcode.IntrospectionDisabled, "introspection is disabled on this server; use the published schema (schema.graphqls) instead")
	}
	return nil
}

// CheckVariables counts the values in a request's variables, stopping at
// the first one over the limit.
func (l DocumentLimits) CheckVariables(vars map[string]any) *gqlerror.Error {
	n := 0
	var count func(v any) bool
	count = func(v any) bool {
		n++
		if n > l.MaxVariableValues {
			return false
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				if !count(e) {
					return false
				}
			}
		case map[string]any:
			for _, e := range x {
				if !count(e) {
					return false
				}
			}
		}
		return true
	}
	for _, v := range vars {
		if !count(v) {
			return limitError(errcode.VariableLimit, "the variables hold more than %d values (list items and object fields included)", l.MaxVariableValues)
		}
	}
	return nil
}

func atLeast(n int) string {
	if n >= saturation {
		return "more than a trillion"
	}
	return fmt.Sprint(n)
}

// measurer walks selection sets, measuring each fragment once and reusing
// its size at every spread.
type measurer struct {
	frags      map[string]*fragmentState
	directives int
}

type fragmentState struct {
	def      *ast.FragmentDefinition
	visiting bool
	measured bool
	size     documentSize
	depth    int
	depthSet bool
}

// selections sums the sizes in set, spreads multiplied out.
func (m *measurer) selections(set ast.SelectionSet) documentSize {
	var s documentSize
	for _, sel := range set {
		switch x := sel.(type) {
		case *ast.Field:
			m.directives += len(x.Directives)
			s.fields = min(s.fields+1, saturation)
			if x.Alias != "" && x.Alias != x.Name {
				s.aliases = min(s.aliases+1, saturation)
			}
			if x.Name == "__schema" || x.Name == "__type" {
				s.introspection = true
			}
			s.add(m.selections(x.SelectionSet), 1)
		case *ast.InlineFragment:
			m.directives += len(x.Directives)
			s.inline = min(s.inline+1, saturation)
			s.add(m.selections(x.SelectionSet), 1)
		case *ast.FragmentSpread:
			m.directives += len(x.Directives)
			s.spreads = min(s.spreads+1, saturation)
			s.add(m.fragment(x.Name), 1)
		}
	}
	return s
}

// fragment is the size of a named fragment's selection set, computed once.
// An unknown fragment or a cycle counts as empty here; validation refuses
// both with its own message.
func (m *measurer) fragment(name string) documentSize {
	f := m.frags[name]
	if f == nil || f.visiting {
		return documentSize{}
	}
	if !f.measured {
		f.visiting = true
		f.size = m.selections(f.def.SelectionSet)
		f.visiting = false
		f.measured = true
	}
	// Directives inside a fragment are counted once, at its definition.
	return f.size
}

// depth is the deepest field nesting under set, spreads followed.
func (m *measurer) depth(set ast.SelectionSet) int {
	d := 0
	for _, sel := range set {
		switch x := sel.(type) {
		case *ast.Field:
			d = max(d, 1+m.depth(x.SelectionSet))
		case *ast.InlineFragment:
			d = max(d, m.depth(x.SelectionSet))
		case *ast.FragmentSpread:
			f := m.frags[x.Name]
			if f == nil || f.visiting {
				continue
			}
			if !f.depthSet {
				f.visiting = true
				f.depth = m.depth(f.def.SelectionSet)
				f.visiting = false
				f.depthSet = true
			}
			d = max(d, f.depth)
		}
	}
	return d
}
