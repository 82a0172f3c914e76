package playground

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
)

// guides are the guides whose operations become tabs, in the order a
// newcomer reads them.
var guides = []string{"getting-started", "catalog", "checkout", "booking", "authentication", "api-conventions", "integrations", "operations"}

// tab is one of GraphiQL's default tabs.
type tab struct {
	Query     string `json:"query"`
	Variables string `json:"variables"`
	Headers   string `json:"headers"`
}

var graphqlBlock = regexp.MustCompile("(?s)```graphql\n(.*?)```")

// guideDocument collects the operations and fragments of one guide's
// ```graphql blocks into one document. Blocks that are not executable
// GraphQL (schema excerpts, sketches with "…") are left out; unnamed
// operations are named after the guide, since a document may hold only
// one of them.
func guideDocument(guide string, markdown []byte) *ast.QueryDocument {
	doc := &ast.QueryDocument{}
	seen := map[string]bool{}
	prefix := ""
	for _, part := range strings.Split(guide, "-") {
		prefix += strings.ToUpper(part[:1]) + part[1:]
	}
	for _, m := range graphqlBlock.FindAllSubmatch(markdown, -1) {
		block, err := parser.ParseQuery(&ast.Source{Input: string(m[1])})
		if err != nil {
			continue
		}
		for _, op := range block.Operations {
			if op.Name == "" {
				op.Name = fmt.Sprintf("%sExample%d", prefix, len(seen)+1)
			}
			if !seen[op.Name] {
				seen[op.Name] = true
				doc.Operations = append(doc.Operations, op)
			}
		}
		for _, f := range block.Fragments {
			if !seen["fragment "+f.Name] {
				seen["fragment "+f.Name] = true
				doc.Fragments = append(doc.Fragments, f)
			}
		}
	}
	return doc
}

// buildTabs returns the tabs as JSON: the welcome tab, then one per guide
// that has operations.
func buildTabs(guideFS fs.FS, welcome string) ([]byte, error) {
	tabs := []tab{{Query: welcome, Variables: "{}", Headers: "{}"}}
	for _, guide := range guides {
		md, err := fs.ReadFile(guideFS, guide+".md")
		if err != nil {
			continue // a guide that was renamed or removed simply has no tab
		}
		doc := guideDocument(guide, md)
		if len(doc.Operations) == 0 {
			continue
		}
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "# The %d operations of docs/%s.md. Pick one with the run button's menu;\n# variables go in the Variables editor below, credentials in Headers.\n\n", len(doc.Operations), guide)
		formatter.NewFormatter(&buf, formatter.WithIndent("  ")).FormatQueryDocument(doc)
		tabs = append(tabs, tab{Query: buf.String(), Variables: "{}", Headers: "{}"})
	}
	b, err := json.Marshal(tabs)
	if err != nil {
		return nil, fmt.Errorf("playground tabs: %w", err)
	}
	return b, nil
}
