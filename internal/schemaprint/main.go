// Command schemaprint updates schema.graphqls at the repository root, the
// committed contract of the public GraphQL schema assembled from
// graph/schema/*.graphqls. It refuses when the new schema would break
// clients of the old one, unless -allow-breaking is given: breaking the
// contract must be a deliberate act. Run it as `make schema`.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"frontdesk/graph"
)

func main() {
	out := flag.String("o", "schema.graphqls", "contract file to update")
	allowBreaking := flag.Bool("allow-breaking", false, "update even when the change breaks clients")
	flag.Parse()
	if err := run(*out, *allowBreaking); err != nil {
		log.Fatal(err)
	}
}

func run(path string, allowBreaking bool) error {
	var cur bytes.Buffer
	if err := graph.PrintSchema(&cur); err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		oldSchema, err := graph.LoadSchema(string(old))
		if err != nil {
			return fmt.Errorf("parse %s: %w", path, err)
		}
		curSchema, err := graph.LoadSchema(cur.String())
		if err != nil {
			return err
		}
		if breaks := graph.BreakingChanges(oldSchema, curSchema); len(breaks) > 0 && !allowBreaking {
			return fmt.Errorf("the schema change breaks clients:\n  %s\ndeprecate instead (@deprecated), or run with -allow-breaking if this is deliberate",
				strings.Join(breaks, "\n  "))
		}
	}
	return os.WriteFile(path, cur.Bytes(), 0o644)
}
