//go:build ignore

// entc.go generates the ent client. Run it from the module root through
// `make generate`, which also runs gqlgen afterwards.
package main

import (
	"log"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
)

func main() {
	ex, err := entgql.NewExtension(
		// The public schema is written by hand in graph/schema/*.graphqls
		// (schema.graphqls at the root is its committed snapshot, written
		// by `make schema`, never by this program); entgql only
		// contributes its Go templates: node resolution, cursor
		// pagination, field collection and the transactioner.
		entgql.WithConfigPath("./gqlgen.yml"),
		entgql.WithTemplates(
			entgql.CollectionTemplate,
			entgql.EnumTemplate,
			entgql.NodeTemplate,
			entgql.PaginationTemplate,
			entgql.TransactionTemplate,
			entgql.EdgeTemplate,
		),
	)
	if err != nil {
		log.Fatalf("entgql extension: %v", err)
	}
	err = entc.Generate("./ent/schema", &gen.Config{
		Features: []gen.Feature{
			gen.FeatureVersionedMigration,
			gen.FeatureLock,
			gen.FeatureUpsert,
			gen.FeatureExecQuery,
			gen.FeatureModifier,
			gen.FeatureIntercept,
		},
		Templates: []*gen.Template{
			gen.MustParse(gen.NewTemplate("gid").ParseFiles("./ent/template/gid.tmpl")),
		},
	}, entc.Extensions(ex))
	if err != nil {
		log.Fatalf("ent codegen: %v", err)
	}
}
