package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"frontdesk/gid"
)

// The catalog: products with options and variants, a category tree,
// hand-picked collections, inventory per variant and product images. The
// catalog package owns the rules; these schemas only describe storage.

// gidField is a foreign key holding a global ID.
func gidField(name string) ent.Field {
	return field.String(name).GoType(gid.ID("")).MaxLen(32)
}

// optGIDField is an optional foreign key holding a global ID.
func optGIDField(name string) ent.Field {
	return field.String(name).GoType(gid.ID("")).MaxLen(32).Optional().Nillable()
}

// textType makes long text a TEXT column on MySQL, whatever its length.
var textType = map[string]string{dialect.MySQL: "mediumtext"}

// Product is something the shop sells, in one or more variants.
type Product struct {
	ent.Schema
}

// Mixin of the Product.
func (Product) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "prd"}, TimeMixin{}}
}

// Fields of the Product.
func (Product) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("status").Values("DRAFT", "ACTIVE", "ARCHIVED").Default("DRAFT"),
		field.String("slug").MaxLen(200).NotEmpty(),
		field.String("title").MaxRuneLen(255).NotEmpty(),
		// sort_title is the title lower-cased: tables use a binary
		// collation, and sorting must ignore case on both databases.
		field.String("sort_title").MaxLen(255),
		// description is the Markdown the staff wrote; description_html is
		// its sanitised rendering, made once on write rather than per read.
		field.Text("description").SchemaType(textType),
		field.Text("description_html").SchemaType(textType),
		field.String("seo_title").MaxLen(255).Default(""),
		field.String("seo_description").MaxLen(500).Default(""),
		field.JSON("tags", []string{}).Optional(),
		// tag_key is the tags as "|a|b|", so a tag filter is a LIKE that
		// works the same on every database.
		field.String("tag_key").MaxLen(1000).Default(""),
		// search_text is what text search matches: title, plain
		// description, SKUs and tags, lower-cased (the column collation is
		// binary), kept by the catalog package. MySQL indexes it FULLTEXT;
		// SQLite mirrors it into an FTS5 table through triggers.
		field.Text("search_text").SchemaType(textType),
		optGIDField("category_id"),
		// price_min/price_max/currency summarise the variants so that
		// price filters and sorts need no join.
		field.Int64("price_min").Default(0),
		field.Int64("price_max").Default(0),
		field.String("currency").MaxLen(3).Default(""),
		field.Time("archived_at").Optional().Nillable().SchemaType(DateTime6),
	}
}

// Edges of the Product.
func (Product) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("category", Category.Type).Field("category_id").Unique(),
		edge.To("options", ProductOption.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("variants", Variant.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("images", ProductImage.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Product.
func (Product) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("slug").Unique(),
		index.Fields("status", "created_at"),
		index.Fields("status", "price_min"),
		index.Fields("status", "sort_title"),
		index.Fields("category_id"),
		// updated_at tells the search index which products were written
		// since it last looked (catalog/searchindex.go).
		index.Fields("updated_at"),
		index.Fields("search_text").
			Annotations(entsql.IndexTypes(map[string]string{dialect.MySQL: "FULLTEXT"})),
	}
}

// ProductOption is one axis a product varies on, such as size, with its
// values in display order.
type ProductOption struct {
	ent.Schema
}

// Mixin of the ProductOption.
func (ProductOption) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "opt"}, TimeMixin{}}
}

// Fields of the ProductOption.
func (ProductOption) Fields() []ent.Field {
	return []ent.Field{
		gidField("product_id"),
		field.String("name").MaxRuneLen(100).NotEmpty(),
		field.JSON("values", []string{}),
		field.Int("position").Default(0),
	}
}

// Edges of the ProductOption.
func (ProductOption) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("product", Product.Type).Ref("options").Field("product_id").Unique().Required(),
	}
}

// Indexes of the ProductOption.
func (ProductOption) Indexes() []ent.Index {
	return []ent.Index{index.Fields("product_id", "name").Unique()}
}

// OptionValue is one option's value on a variant.
type OptionValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Variant is one purchasable version of a product, with its own SKU and
// price.
type Variant struct {
	ent.Schema
}

// Mixin of the Variant.
func (Variant) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "var"}, TimeMixin{}}
}

// Fields of the Variant.
func (Variant) Fields() []ent.Field {
	return []ent.Field{
		gidField("product_id"),
		field.String("sku").MaxLen(64).NotEmpty(),
		field.String("title").MaxRuneLen(255).Default(""),
		field.JSON("option_values", []OptionValue{}).Optional(),
		// Money in minor units of currency (ISO 4217).
		field.Int64("price"),
		field.String("currency").MaxLen(3),
		field.Int64("compare_at_price").Optional().Nillable(),
		field.Int("weight_grams").Default(0),
		field.String("barcode").MaxLen(64).Default(""),
		field.Int("position").Default(0),
	}
}

// Edges of the Variant.
func (Variant) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("product", Product.Type).Ref("variants").Field("product_id").Unique().Required(),
		edge.To("inventory", Inventory.Type).Unique().Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Variant.
func (Variant) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("sku").Unique(),
		index.Fields("product_id", "position"),
	}
}

// Inventory is the stock of one variant. The database guards it: a
// reservation is a conditional UPDATE, so no two checkouts oversell.
type Inventory struct {
	ent.Schema
}

// Mixin of the Inventory.
func (Inventory) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "stk"}, TimeMixin{}}
}

// Fields of the Inventory.
func (Inventory) Fields() []ent.Field {
	return []ent.Field{
		gidField("variant_id"),
		field.Int("on_hand").Default(0),
		field.Int("reserved").Default(0),
		field.Bool("tracked").Default(true),
		field.Bool("allow_backorder").Default(false),
	}
}

// Edges of the Inventory.
func (Inventory) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("variant", Variant.Type).Ref("inventory").Field("variant_id").Unique().Required(),
	}
}

// Indexes of the Inventory.
func (Inventory) Indexes() []ent.Index {
	return []ent.Index{index.Fields("variant_id").Unique()}
}

// StockAdjustment records one change of a variant's stock and why.
type StockAdjustment struct {
	ent.Schema
}

// Mixin of the StockAdjustment.
func (StockAdjustment) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "adj"}}
}

// Fields of the StockAdjustment.
func (StockAdjustment) Fields() []ent.Field {
	return []ent.Field{
		gidField("variant_id"),
		// kind is SET, ADJUST, RESERVE, RELEASE or COMMIT.
		field.String("kind").MaxLen(16),
		field.Int("delta"),
		field.Int("on_hand_after"),
		field.String("reason").MaxRuneLen(500).Default(""),
		optGIDField("actor_id"),
		field.Time("created_at").Default(now).Immutable().SchemaType(DateTime6),
	}
}

// Indexes of the StockAdjustment.
func (StockAdjustment) Indexes() []ent.Index {
	return []ent.Index{index.Fields("variant_id", "created_at")}
}

// Category is a node of the category tree. path is the chain of ancestor
// IDs ("/cat_a/cat_b/"), so descendants are one indexed prefix match.
type Category struct {
	ent.Schema
}

// Mixin of the Category.
func (Category) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cat"}, TimeMixin{}}
}

// Fields of the Category.
func (Category) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(200).NotEmpty(),
		field.String("slug").MaxLen(200).NotEmpty(),
		field.String("description").MaxRuneLen(2000).Default(""),
		optGIDField("parent_id"),
		field.String("path").MaxLen(700),
		field.Int("position").Default(0),
	}
}

// Edges of the Category.
func (Category) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("children", Category.Type).From("parent").Field("parent_id").Unique(),
	}
}

// Indexes of the Category.
func (Category) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("slug").Unique(),
		index.Fields("path"),
	}
}

// Collection is a hand-picked, ordered list of products.
type Collection struct {
	ent.Schema
}

// Mixin of the Collection.
func (Collection) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "col"}, TimeMixin{}}
}

// Fields of the Collection.
func (Collection) Fields() []ent.Field {
	return []ent.Field{
		field.String("title").MaxRuneLen(200).NotEmpty(),
		field.String("slug").MaxLen(200).NotEmpty(),
		field.String("description").MaxRuneLen(2000).Default(""),
	}
}

// Indexes of the Collection.
func (Collection) Indexes() []ent.Index {
	return []ent.Index{index.Fields("slug").Unique()}
}

// CollectionProduct is one product's place in a collection.
type CollectionProduct struct {
	ent.Schema
}

// Mixin of the CollectionProduct.
func (CollectionProduct) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cpr"}}
}

// Fields of the CollectionProduct.
func (CollectionProduct) Fields() []ent.Field {
	return []ent.Field{
		gidField("collection_id"),
		gidField("product_id"),
		field.Int("position").Default(0),
	}
}

// Edges of the CollectionProduct.
func (CollectionProduct) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("collection", Collection.Type).Field("collection_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("product", Product.Type).Field("product_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the CollectionProduct.
func (CollectionProduct) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("collection_id", "product_id").Unique(),
		index.Fields("product_id"),
	}
}

// Rendition is a resized copy of an image.
type Rendition struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Key    string `json:"key"`
}

// ProductImage is a picture of a product, stored through
// integrations/storage under key.
type ProductImage struct {
	ent.Schema
}

// Mixin of the ProductImage.
func (ProductImage) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "img"}, TimeMixin{}}
}

// Fields of the ProductImage.
func (ProductImage) Fields() []ent.Field {
	return []ent.Field{
		gidField("product_id"),
		field.String("key").MaxLen(300),
		field.String("content_type").MaxLen(100),
		field.Int64("size_bytes").Default(0),
		field.Int("width").Default(0),
		field.Int("height").Default(0),
		field.String("alt").MaxLen(500).Default(""),
		field.Int("position").Default(0),
		field.JSON("renditions", []Rendition{}).Optional(),
	}
}

// Edges of the ProductImage.
func (ProductImage) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("product", Product.Type).Ref("images").Field("product_id").Unique().Required(),
	}
}

// Indexes of the ProductImage.
func (ProductImage) Indexes() []ent.Index {
	return []ent.Index{index.Fields("product_id", "position")}
}
