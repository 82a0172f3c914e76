package playground

import (
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"frontdesk/docs"
)

// TestTabsHoldEveryGuideOperationAndTheyValidate: the playground's tabs
// carry each guide's operations, and every one of them validates against
// schema.graphqls, so a newcomer can run them as they are.
func TestTabsHoldEveryGuideOperationAndTheyValidate(t *testing.T) {
	sdl, err := os.ReadFile("../../schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(sdl)})
	if gerr != nil {
		t.Fatal(gerr)
	}
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	res := get(t, h, "/playground/tabs.json")
	body, _ := io.ReadAll(res.Body)
	var tabs []tab
	if err := json.Unmarshal(body, &tabs); err != nil || res.StatusCode != 200 {
		t.Fatalf("tabs.json: %d %v", res.StatusCode, err)
	}
	if len(tabs) < 5 || !strings.Contains(tabs[0].Query, "subscription ServerTime") {
		t.Fatalf("%d tabs, the first:\n%s", len(tabs), tabs[0].Query)
	}
	ops := 0
	for _, tb := range tabs {
		doc, perr := parser.ParseQuery(&ast.Source{Input: tb.Query})
		if perr != nil {
			t.Fatalf("a tab does not parse: %v\n%s", perr, tb.Query)
		}
		for _, e := range validator.Validate(schema, doc) {
			if strings.Contains(e.Message, "is never used") {
				continue // a guide may show a fragment on its own
			}
			t.Errorf("%s: %s", strings.SplitN(tb.Query, "\n", 2)[0], e.Message)
		}
		ops += len(doc.Operations)
	}
	// Every named operation of checkout.md and booking.md is offered.
	for _, guide := range []string{"checkout", "booking"} {
		md, err := docs.Guides.ReadFile(guide + ".md")
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range guideDocument(guide, md).Operations {
			if !strings.Contains(string(body), " "+op.Name) {
				t.Errorf("docs/%s.md's %s is not in the tabs", guide, op.Name)
			}
		}
	}
	if ops < 40 {
		t.Fatalf("only %d operations in the tabs", ops)
	}
}
