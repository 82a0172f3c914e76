// Package docs embeds the guides in this directory so the binary can serve
// what they show: the playground offers every GraphQL operation of the
// guides, always as the guides have them (server/playground).
package docs

import "embed"

// Guides holds the Markdown guides.
//
//go:embed *.md
var Guides embed.FS
