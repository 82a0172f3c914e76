// Command gqlgenrun is `gqlgen generate` plus changes to its output that
// gqlgen has no setting for (`make generate` runs it):
//
//   - lists are marshalled with graph's marshalSlice, which caps the
//     goroutines per list, instead of gqlgen's one goroutine per element
//     (see graph/slice.go); lists of the types in inOrder are marshalled
//     in order on the caller's goroutine (marshalSliceInOrder);
//   - the fields of the types in inOrder resolve one after another on the
//     caller's goroutine: their resolvers compute from the object or read
//     what the loaders already hold, so a goroutine per field (gqlgen's
//     default for every resolver field) cost more than the field;
//   - an object's group of @defer'd fields is made without computing its
//     path unless the operation may defer something (graph/defer.go);
//   - Query.availableSlots' list is written by graph's marshalSlots,
//     without per-field execution for each slot (graph/slots.go);
//   - Query.products' connection is written by graph's marshalProducts,
//     without per-field execution for each product, variant, image or
//     collection (graph/listing.go).
//
// It fails when gqlgen's output no longer has a call it rewrites, so an
// upgrade that changes it is noticed rather than silently undone.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
)

const (
	executor      = "graph/generated.go"
	gqlgenSlice   = "graphql.MarshalSliceConcurrently("
	oursSlice     = "marshalSlice("
	oursInOrder   = "marshalSliceInOrder("
	gqlgenDefer   = "graphql.NewDeferredGroup(ctx)"
	oursDefer     = "newDeferredGroup(ctx)"
	inOrderSuffix = "2ᚕ" // a list marshaller: marshalNVariant2ᚕᚖ…
	// Only the call in Query.availableSlots' field resolution is replaced;
	// the generic marshaller stays, as marshalSlots' fallback.
	gqlgenSlots = "return ec.marshalNSlot2ᚕᚖfrontdeskᚋbookingᚐOfferedSlotᚄ(ctx, selections, v)"
	oursSlots   = "return ec.marshalSlots(ctx, selections, v)"
	// Likewise only Query.products' call; the generic marshaller stays as
	// marshalProducts' fallback.
	gqlgenProducts = "return ec.marshalNProductConnection2ᚖfrontdeskᚋcatalogᚐProductPage(ctx, selections, v)"
	oursProducts   = "return ec.marshalProducts(ctx, selections, v)"
)

// inOrder are the storefront's value-like types: each field is computed
// from the object or read from a loader the listing or the edge that
// returned the object has already filled (a variant's stock is primed
// with its variants), so nothing waits for a batch.
var inOrder = []string{"Variant", "ProductImage", "ImageRendition", "SelectedOption", "Money", "PriceRange"}

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
	if err := api.Generate(cfg, api.AddPlugin(sequential{})); err != nil {
		return fmt.Errorf("gqlgen generate: %w", err)
	}
	src, err := os.ReadFile(executor)
	if err != nil {
		return err
	}
	src, err = rewrite(src)
	if err != nil {
		return err
	}
	return os.WriteFile(executor, src, 0o644)
}

// rewrite applies the changes above to the generated executor.
func rewrite(src []byte) ([]byte, error) {
	for _, call := range []string{gqlgenSlice, gqlgenDefer} {
		if !bytes.Contains(src, []byte(call)) {
			return nil, fmt.Errorf("%s no longer calls %s: check graph/slice.go and graph/defer.go against this gqlgen version", executor, call)
		}
	}
	rewritten := 0
	for _, name := range inOrder {
		// The list marshallers of name: marshalNVariant2ᚕ… and marshalOVariant2ᚕ….
		head := regexp.MustCompile(`(?m)^func \(ec \*executionContext\) marshal[NO]` + name + inOrderSuffix + `.*$`)
		for _, loc := range head.FindAllIndex(src, -1) {
			end := bytes.Index(src[loc[1]:], []byte("\n}\n"))
			if end < 0 {
				return nil, fmt.Errorf("%s: unterminated function at %d", executor, loc[0])
			}
			body := src[loc[1] : loc[1]+end]
			if !bytes.Contains(body, []byte(gqlgenSlice)) {
				continue // a list of scalars or enums
			}
			body = bytes.Replace(body, []byte(gqlgenSlice), []byte(oursInOrder), 1)
			src = append(src[:loc[1]:loc[1]], append(body, src[loc[1]+end:]...)...)
			rewritten++
		}
	}
	if rewritten == 0 {
		return nil, fmt.Errorf("%s has no list marshaller of %v to rewrite", executor, inOrder)
	}
	src = bytes.ReplaceAll(src, []byte(gqlgenSlice), []byte(oursSlice))
	src = bytes.ReplaceAll(src, []byte(gqlgenDefer), []byte(oursDefer))
	for _, r := range []struct{ gqlgen, ours, what, file string }{
		{gqlgenSlots, oursSlots, "the Slot list marshaller", "graph/slots.go"},
		{gqlgenProducts, oursProducts, "the ProductConnection marshaller", "graph/listing.go"},
	} {
		if n := bytes.Count(src, []byte(r.gqlgen)); n != 1 {
			return nil, fmt.Errorf("%s calls %s %d times, want once: check %s against this gqlgen version", executor, r.what, n, r.file)
		}
		src = bytes.Replace(src, []byte(r.gqlgen), []byte(r.ours), 1)
	}
	return src, nil
}

// sequential is a gqlgen plugin that turns off concurrent field
// resolution for the inOrder types before the executor is written.
type sequential struct{}

func (sequential) Name() string { return "sequential" }

func (sequential) GenerateCode(data *codegen.Data) error {
	found := map[string]bool{}
	for _, o := range data.Objects {
		for _, name := range inOrder {
			if o.Name == name {
				o.DisableConcurrency = true
				found[name] = true
			}
		}
	}
	for _, name := range inOrder {
		if !found[name] {
			return fmt.Errorf("sequential: the schema has no object %s", name)
		}
	}
	return nil
}
