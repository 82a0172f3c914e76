package graph

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSchemaContract guards the public schema: the committed
// schema.graphqls must be current, and the current schema must not break
// clients written against it.
func TestSchemaContract(t *testing.T) {
	committed, err := os.ReadFile("../schema.graphqls")
	if err != nil {
		t.Fatalf("read contract: %v (run make schema)", err)
	}
	old, err := LoadSchema(string(committed))
	if err != nil {
		t.Fatalf("parse contract: %v", err)
	}
	var cur bytes.Buffer
	if err := PrintSchema(&cur); err != nil {
		t.Fatal(err)
	}
	curSchema, err := LoadSchema(cur.String())
	if err != nil {
		t.Fatal(err)
	}
	if breaks := BreakingChanges(old, curSchema); len(breaks) > 0 {
		t.Fatalf("breaking schema changes against schema.graphqls (deprecate instead):\n  %s", strings.Join(breaks, "\n  "))
	}
	if cur.String() != string(committed) {
		t.Fatal("schema.graphqls is out of date: run `make schema` and commit it")
	}
}

func TestBreakingChanges(t *testing.T) {
	const base = `
type Query { a(x: Int): String!, b: [Int!]!, old: String @deprecated(reason: "use a") }
input In { f: String, g: Int! }
enum E { ONE TWO }
`
	tests := []struct {
		name string
		next string
		want []string
	}{
		{"identical", base, nil},
		{"added field and optional arg", `
type Query { a(x: Int, y: Int): String!, b: [Int!]!, old: String @deprecated(reason: "use a"), c: Int }
input In { f: String, g: Int!, h: Int }
enum E { ONE TWO THREE }`, nil},
		{"removed field", `
type Query { a(x: Int): String!, old: String }
input In { f: String, g: Int! }
enum E { ONE TWO }`, []string{"field Query.b was removed"}},
		{"changed types", `
type Query { a(x: String): String, b: [Int!]!, old: String }
input In { f: String!, g: Int! }
enum E { ONE }`, []string{
			"argument Query.a(x) changed type from Int to String",
			"enum value E.TWO was removed",
			"field Query.a changed type from String! to String",
			"input field In.f changed type from String to String!",
		}},
		{"new required argument and input field", `
type Query { a(x: Int, y: Int!): String!, b: [Int!]!, old: String }
input In { f: String, g: Int!, h: ID! }
enum E { ONE TWO }`, []string{
			"required argument Query.a(y) was added",
			"required input field In.h was added",
		}},
		{"loosened input, tightened output", `
type Query { a(x: Int): String!, b: [Int!]!, old: String! }
input In { f: String, g: Int }
enum E { ONE TWO }`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, err := LoadSchema(base)
			if err != nil {
				t.Fatal(err)
			}
			next, err := LoadSchema(tt.next)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, BreakingChanges(old, next)); diff != "" {
				t.Fatalf("breaking changes (-want +got):\n%s", diff)
			}
		})
	}
}
