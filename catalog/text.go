package catalog

import (
	"bytes"
	"fmt"
	"html"
	"strings"
	"unicode"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

var (
	markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))
	// ugc allows the formatting Markdown produces and nothing that runs:
	// no scripts, no event handlers, no javascript: links.
	ugc   = bluemonday.UGCPolicy()
	plain = bluemonday.StrictPolicy()
)

// renderMarkdown turns staff-written Markdown into sanitised HTML. Raw
// HTML in the source is escaped by goldmark and whatever survives is
// sanitised again, so the result is safe to insert into any page.
func renderMarkdown(src string) (string, error) {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		return "", fmt.Errorf("render markdown: %w", err)
	}
	return ugc.Sanitize(buf.String()), nil
}

// plainText strips tags from rendered HTML for the search index.
func plainText(renderedHTML string) string {
	return html.UnescapeString(plain.Sanitize(renderedHTML))
}

// slugify makes a URL slug from a title: lower-case letters and digits
// separated by single dashes.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// validSlug reports whether s is a slug as slugify makes them.
func validSlug(s string) bool {
	return s != "" && len(s) <= 200 && slugify(s) == s
}
