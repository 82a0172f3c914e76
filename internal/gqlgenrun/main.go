// Command gqlgenrun is `gqlgen generate` plus one rewrite of its output:
// the generated executor marshals lists with graph's marshalSlice, which
// caps the goroutines per list, instead of gqlgen's one goroutine per
// element (see graph/slice.go). `make generate` runs it; it fails when
// gqlgen's output no longer has the call it rewrites, so an upgrade that
// changes it is noticed rather than silently undone.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen/config"
)

const (
	executor = "graph/generated.go"
	gqlgen   = "graphql.MarshalSliceConcurrently("
	ours     = "marshalSlice("
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gqlgenrun:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.LoadConfigFromDefaultLocations()
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("gqlgen.yml not found: run from the module root")
	}
	if err != nil {
		return fmt.Errorf("load gqlgen.yml: %w", err)
	}
	if err := api.Generate(cfg); err != nil {
		return fmt.Errorf("gqlgen generate: %w", err)
	}
	src, err := os.ReadFile(executor)
	if err != nil {
		return err
	}
	if !bytes.Contains(src, []byte(gqlgen)) {
		return fmt.Errorf("%s no longer calls %s: check graph/slice.go against this gqlgen version", executor, gqlgen)
	}
	return os.WriteFile(executor, bytes.ReplaceAll(src, []byte(gqlgen), []byte(ours)), 0o644)
}
