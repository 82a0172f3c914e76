package webhooks

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

var graphqlBlock = regexp.MustCompile("(?s)```graphql\n(.*?)```")

// TestGuideOperationsValidate: every ```graphql block of docs/webhooks.md
// (which the playground does not offer: its shaping document runs only
// as a webhook) parses and validates against schema.graphqls, so a
// partner can paste it as it is. Every event type is in the catalogue.
func TestGuideOperationsValidate(t *testing.T) {
	sdl, err := os.ReadFile("../schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(sdl)})
	if gerr != nil {
		t.Fatal(gerr)
	}
	md, err := os.ReadFile("../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := graphqlBlock.FindAllSubmatch(md, -1)
	if len(blocks) < 4 {
		t.Fatalf("only %d graphql blocks", len(blocks))
	}
	for _, b := range blocks {
		doc, perr := parser.ParseQuery(&ast.Source{Input: string(b[1])})
		if perr != nil {
			t.Errorf("does not parse: %v\n%s", perr, b[1])
			continue
		}
		for _, e := range validator.Validate(schema, doc) {
			t.Errorf("%s\n%s", e.Message, b[1])
		}
	}
	for _, typ := range append(EventTypes, Ping) {
		if !strings.Contains(string(md), "| `"+string(typ)+"` (") {
			t.Errorf("docs/webhooks.md has no catalogue row for %s", typ)
		}
	}
}
