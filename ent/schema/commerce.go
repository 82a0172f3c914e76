package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"frontdesk/commerce/address"
	"frontdesk/gid"
)

// The commerce schemas: carts, orders with their lines and history, and the
// pricing rules (shipping methods, tax rates, discount codes). Package
// commerce owns their rules; see docs/checkout.md.

// OrderStates lists the order states; the allowed transitions between them
// are declared once, in package commerce.
var OrderStates = []string{"PENDING_PAYMENT", "PAID", "FULFILLED", "DELIVERED", "CANCELLED", "REFUNDED", "PARTIALLY_REFUNDED"}

// Cart is a shopping cart: a guest's (found by the hash of its token) or a
// signed-in customer's. Checkout details are kept on it until the order is
// placed.
type Cart struct{ ent.Schema }

// Mixin of the Cart.
func (Cart) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "cart"}, TimeMixin{}} }

// Fields of the Cart.
func (Cart) Fields() []ent.Field {
	return []ent.Field{
		// token_hash is the SHA-256 of the guest cart token; the token itself
		// is only ever known to the client.
		field.String("token_hash").MaxLen(64).Optional().Nillable().Immutable(),
		field.String("user_id").GoType(gid.ID("")).MaxLen(32).Optional().Nillable(),
		field.String("currency").MaxLen(3),
		field.String("email").MaxLen(254).Default(""),
		field.JSON("shipping_address", &address.Address{}).Optional(),
		field.JSON("billing_address", &address.Address{}).Optional(),
		field.String("shipping_method_id").GoType(gid.ID("")).MaxLen(32).Optional().Nillable(),
		field.String("discount_code").MaxLen(64).Default(""),
		// order_id is set when the cart became an order; the cart is then
		// read-only.
		field.String("order_id").GoType(gid.ID("")).MaxLen(32).Optional().Nillable(),
	}
}

// Edges of the Cart.
func (Cart) Edges() []ent.Edge {
	return []ent.Edge{edge.To("lines", CartLine.Type).Annotations(entsql.OnDelete(entsql.Cascade))}
}

// Indexes of the Cart.
func (Cart) Indexes() []ent.Index {
	// (user_id, order_id, updated_at) finds a customer's open cart and, for
	// the retention sweep, guest carts never ordered and left unchanged.
	return []ent.Index{index.Fields("token_hash").Unique(), index.Fields("user_id", "order_id", "updated_at")}
}

// CartLine is a quantity of one variant in a cart, with the unit price the
// customer saw when adding it, so the cart can say when it changed.
type CartLine struct{ ent.Schema }

// Mixin of the CartLine.
func (CartLine) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "cln"}, TimeMixin{}} }

// Fields of the CartLine.
func (CartLine) Fields() []ent.Field {
	return []ent.Field{
		field.String("cart_id").GoType(gid.ID("")).MaxLen(32),
		field.String("variant_id").GoType(gid.ID("")).MaxLen(32),
		field.Int("quantity").Positive(),
		field.Int64("unit_price_seen"),
	}
}

// Edges of the CartLine.
func (CartLine) Edges() []ent.Edge {
	return []ent.Edge{edge.From("cart", Cart.Type).Ref("lines").Field("cart_id").Unique().Required()}
}

// Indexes of the CartLine.
func (CartLine) Indexes() []ent.Index {
	return []ent.Index{index.Fields("cart_id", "variant_id").Unique()}
}

// Order is a placed order. Its amounts are computed by the server when it
// is placed and never change afterwards, except the refunded amount.
type Order struct{ ent.Schema }

// Mixin of the Order.
func (Order) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "ord"}, TimeMixin{}} }

// Fields of the Order.
func (Order) Fields() []ent.Field {
	return []ent.Field{
		field.String("number").MaxLen(20).NotEmpty().Immutable(),
		// idempotency_key is scoped by the cart (cart id + client key), so a
		// retried placeOrder finds the order it already created.
		field.String("idempotency_key").MaxLen(200).NotEmpty().Immutable(),
		field.String("cart_id").GoType(gid.ID("")).MaxLen(32).Optional().Nillable(),
		field.String("user_id").GoType(gid.ID("")).MaxLen(32).Optional().Nillable(),
		field.String("email").MaxLen(254),
		field.String("guest_token_hash").MaxLen(64).Optional().Nillable(),
		field.JSON("shipping_address", address.Address{}),
		field.JSON("billing_address", address.Address{}),
		field.String("shipping_method_id").GoType(gid.ID("")).MaxLen(32).Optional().Nillable(),
		field.String("shipping_method_name").MaxLen(200).Default(""),
		field.String("discount_code").MaxLen(64).Default(""),
		field.String("discount_code_id").GoType(gid.ID("")).MaxLen(32).Optional().Nillable(),
		field.Int64("subtotal"),
		field.Int64("discount_total"),
		field.Int64("shipping_total"),
		field.Int64("tax_total"),
		field.Bool("tax_inclusive").Default(false),
		field.Int64("total"),
		field.Int64("amount_refunded").Default(0),
		// refund_requested is what staff and the system asked to refund so far;
		// raised by a conditional UPDATE so concurrent refunds cannot exceed
		// the total.
		field.Int64("refund_requested").Default(0),
		field.String("currency").MaxLen(3),
		field.Enum("state").Values(OrderStates...).Default("PENDING_PAYMENT"),
		field.Enum("reservation").Values("HELD", "RELEASED", "COMMITTED").Default("HELD"),
		field.Time("reserved_until").SchemaType(DateTime6),
		field.String("payment_intent_id").MaxLen(255).Optional().Nillable(),
		field.String("payment_failure").MaxLen(500).Default(""),
		field.String("carrier").MaxRuneLen(100).Default(""),
		field.String("tracking_number").MaxLen(100).Default(""),
		field.String("tracking_url").MaxLen(2048).Default(""),
		field.Time("paid_at").Optional().Nillable().SchemaType(DateTime6),
		field.Time("fulfilled_at").Optional().Nillable().SchemaType(DateTime6),
		field.Time("delivered_at").Optional().Nillable().SchemaType(DateTime6),
		field.Time("cancelled_at").Optional().Nillable().SchemaType(DateTime6),
	}
}

// Edges of the Order.
func (Order) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("lines", OrderLine.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("events", OrderEvent.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Order.
func (Order) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("number").Unique(),
		index.Fields("idempotency_key").Unique(),
		index.Fields("payment_intent_id").Unique(),
		index.Fields("user_id", "created_at"),
		index.Fields("state", "created_at"),
		index.Fields("reservation", "reserved_until"),
		index.Fields("email"),
		index.Fields("created_at"),
	}
}

// OrderLine is a snapshot of what was bought: titles, SKU and price as they
// were when the order was placed.
type OrderLine struct{ ent.Schema }

// Mixin of the OrderLine.
func (OrderLine) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "oln"}} }

// Fields of the OrderLine.
func (OrderLine) Fields() []ent.Field {
	return []ent.Field{
		field.String("order_id").GoType(gid.ID("")).MaxLen(32),
		field.String("variant_id").GoType(gid.ID("")).MaxLen(32),
		field.String("product_id").GoType(gid.ID("")).MaxLen(32).Optional().Nillable(),
		field.String("title").MaxRuneLen(255),
		field.String("variant_title").MaxLen(255).Default(""),
		field.String("sku").MaxLen(64),
		field.Int64("unit_price"),
		field.Int("quantity").Positive(),
		field.Int64("line_total"),
	}
}

// Edges of the OrderLine.
func (OrderLine) Edges() []ent.Edge {
	return []ent.Edge{edge.From("order", Order.Type).Ref("lines").Field("order_id").Unique().Required()}
}

// OrderEvent is one change of an order's state: from, to, who and why.
type OrderEvent struct{ ent.Schema }

// Mixin of the OrderEvent.
func (OrderEvent) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "ordev"}} }

// Fields of the OrderEvent.
func (OrderEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("order_id").GoType(gid.ID("")).MaxLen(32),
		field.String("from_state").MaxLen(32).Default(""),
		field.String("to_state").MaxLen(32),
		// actor is a user id, "customer", "payment" (provider webhooks) or
		// "system" (scheduled jobs).
		field.String("actor").MaxLen(64),
		field.String("reason").MaxRuneLen(500).Default(""),
		field.Time("created_at").Default(now).Immutable().SchemaType(DateTime6),
	}
}

// Edges of the OrderEvent.
func (OrderEvent) Edges() []ent.Edge {
	return []ent.Edge{edge.From("order", Order.Type).Ref("events").Field("order_id").Unique().Required()}
}

// Indexes of the OrderEvent.
func (OrderEvent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("order_id", "created_at")}
}

// RefundRequest is one refund staff asked for (refundOrder). Its unique
// idempotency key makes a retried request find the refund it already made
// instead of refunding again; the requested amount and reason are kept so
// a key reused for a different refund is refused.
type RefundRequest struct{ ent.Schema }

// Mixin of the RefundRequest.
func (RefundRequest) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "rfd"}} }

// Fields of the RefundRequest.
func (RefundRequest) Fields() []ent.Field {
	return []ent.Field{
		field.String("order_id").GoType(gid.ID("")).MaxLen(32).Immutable(),
		// idempotency_key is the client's key; null when it sent none.
		field.String("idempotency_key").MaxLen(100).Optional().Nillable().Immutable(),
		// amount_requested is the amount as asked (0: the rest); amount is
		// what it came to, and cumulative the order's refunds with it.
		field.Int64("amount_requested").Immutable(),
		field.Int64("amount").Immutable(),
		field.Int64("cumulative").Immutable(),
		field.String("reason").MaxRuneLen(500).Immutable(),
		field.String("actor").MaxLen(64).Immutable(),
		field.Time("created_at").Default(now).Immutable().SchemaType(DateTime6),
	}
}

// Indexes of the RefundRequest.
func (RefundRequest) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("idempotency_key").Unique(),
		index.Fields("order_id"),
	}
}

// ShippingMethod is a way to ship an order to a country (or one region of
// it): a flat rate, a flat rate that is free over a subtotal, or pickup.
type ShippingMethod struct{ ent.Schema }

// Mixin of the ShippingMethod.
func (ShippingMethod) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "shp"}, TimeMixin{}} }

// Fields of the ShippingMethod.
func (ShippingMethod) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(200).NotEmpty(),
		field.Enum("kind").Values("FLAT", "FREE_OVER", "PICKUP"),
		field.String("country").MaxLen(2),
		// region "" applies to the whole country.
		field.String("region").MaxLen(3).Default(""),
		field.Int64("price").NonNegative().Default(0),
		field.Int64("free_over").NonNegative().Default(0),
		field.String("currency").MaxLen(3),
		field.Bool("active").Default(true),
	}
}

// Indexes of the ShippingMethod.
func (ShippingMethod) Indexes() []ent.Index {
	return []ent.Index{index.Fields("country", "region")}
}

// TaxRate is the tax charged in a country or one of its regions, in basis
// points, and whether catalog prices there already include it.
type TaxRate struct{ ent.Schema }

// Mixin of the TaxRate.
func (TaxRate) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "tax"}, TimeMixin{}} }

// Fields of the TaxRate.
func (TaxRate) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(100),
		field.String("country").MaxLen(2),
		field.String("region").MaxLen(3).Default(""),
		field.Int("rate_bp").Range(0, 10000),
		field.Bool("inclusive").Default(false),
	}
}

// Indexes of the TaxRate.
func (TaxRate) Indexes() []ent.Index {
	return []ent.Index{index.Fields("country", "region").Unique()}
}

// DiscountCode is a code customers enter for a percentage or fixed amount
// off. used_count is raised by a conditional UPDATE, so the overall limit
// holds across replicas.
type DiscountCode struct{ ent.Schema }

// Mixin of the DiscountCode.
func (DiscountCode) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "dsc"}, TimeMixin{}} }

// Fields of the DiscountCode.
func (DiscountCode) Fields() []ent.Field {
	return []ent.Field{
		// code is stored upper-case; customers may type it in any case.
		field.String("code").MaxLen(64).NotEmpty(),
		field.Enum("kind").Values("PERCENT", "FIXED"),
		// value is basis points for PERCENT (1000 = 10%) and minor units
		// of currency for FIXED.
		field.Int64("value").Positive(),
		field.String("currency").MaxLen(3).Default(""),
		field.Int64("min_subtotal").NonNegative().Default(0),
		field.Time("starts_at").Optional().Nillable().SchemaType(DateTime6),
		field.Time("ends_at").Optional().Nillable().SchemaType(DateTime6),
		field.Int("usage_limit").Optional().Nillable(),
		field.Int("per_customer_limit").Optional().Nillable(),
		field.Int("used_count").Default(0),
		field.Bool("active").Default(true),
	}
}

// Indexes of the DiscountCode.
func (DiscountCode) Indexes() []ent.Index {
	return []ent.Index{index.Fields("code").Unique()}
}

// DiscountRedemption records one use of a code by one customer. The unique
// (code, customer, seq) index makes the per-customer limit hold under
// concurrency: two checkouts computing the same seq cannot both insert.
type DiscountRedemption struct{ ent.Schema }

// Mixin of the DiscountRedemption.
func (DiscountRedemption) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "dsr"}} }

// Fields of the DiscountRedemption.
func (DiscountRedemption) Fields() []ent.Field {
	return []ent.Field{
		field.String("discount_code_id").GoType(gid.ID("")).MaxLen(32),
		field.String("order_id").GoType(gid.ID("")).MaxLen(32),
		// customer is the user id, or the lower-cased email of a guest.
		field.String("customer").MaxLen(254),
		// seq counts a customer's uses of a code with a per-customer limit;
		// it is null for codes without one, so their uses never collide.
		field.Int("seq").Positive().Optional().Nillable(),
		field.Time("created_at").Default(now).Immutable().SchemaType(DateTime6),
	}
}

// Indexes of the DiscountRedemption.
func (DiscountRedemption) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("discount_code_id", "customer", "seq").Unique(),
		index.Fields("order_id").Unique(),
	}
}
