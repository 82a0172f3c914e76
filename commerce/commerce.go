// Package commerce holds the shop's rules in one place: carts, pricing,
// checkout, the order state machine, payments as they arrive from the
// provider's webhooks, stock reservation through the catalog, refunds and
// the jobs that release expired reservations. GraphQL resolvers, webhooks
// and workers all call it.
package commerce

import (
	"context"
	"log/slog"
	"time"

	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/order"
	"frontdesk/errcode"
	"frontdesk/events"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/payments"
)

// Catalog is what commerce needs from the product catalog: variants as
// they are now, and stock moves that the database guards with conditional
// UPDATEs inside the caller's transaction (so no oversell across
// replicas). *catalog.Service implements it; the catalog's tables are
// read and written only there.
type Catalog interface {
	// SaleVariants returns the variants with the given ids that exist.
	SaleVariants(ctx context.Context, client *ent.Client, ids []gid.ID) (map[gid.ID]Variant, error)
	Reserve(ctx context.Context, tx *ent.Tx, variantID gid.ID, qty int) error
	Release(ctx context.Context, tx *ent.Tx, variantID gid.ID, qty int) error
	Commit(ctx context.Context, tx *ent.Tx, variantID gid.ID, qty int) error
	// Restock puts sold units back on hand (a paid order cancelled before
	// it shipped); catalog.ErrVariantNotFound when the variant is gone.
	Restock(ctx context.Context, tx *ent.Tx, variantID gid.ID, qty int, reason string) error
}

// Variant is a purchasable variant as the catalog shows it now.
type Variant = catalog.SaleVariant

// Options tune the service.
type Options struct {
	// ReservationTTL is how long placed orders hold stock while payment is
	// pending (default 30 minutes).
	ReservationTTL time.Duration
	// Now is the clock (tests).
	Now func() time.Time
	// OrderURL builds the link to an order in customer messages, such as
	// "https://shop.example/orders/%s" (the order number replaces %s).
	OrderURL string
}

// Service runs the shop.
type Service struct {
	client  *ent.Client
	catalog Catalog
	gateway payments.Gateway
	bus     events.Bus
	log     *slog.Logger
	opts    Options
}

// New returns a service. gateway creates PaymentIntents and refunds; bus
// carries live order status (nil disables it).
func New(client *ent.Client, cat Catalog, gateway payments.Gateway, bus events.Bus, log *slog.Logger, opts Options) *Service {
	if opts.ReservationTTL <= 0 {
		opts.ReservationTTL = 30 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// Order queries that narrow their columns (GraphQL field collection)
	// still load the owner the view rule (ViewRules) decides from, so a
	// page of `{ id number }` costs no read per row.
	client.Order.Intercept(database.AlwaysLoad(order.FieldUserID))
	return &Service{client: client, catalog: cat, gateway: gateway, bus: bus, log: log, opts: opts}
}

// Gateway returns the payment gateway in use.
func (s *Service) Gateway() payments.Gateway { return s.gateway }

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// Errors returned by commerce functions.
var (
	ErrOrderNotFound  = errcode.New(errcode.NotFound, "no order with this ID")
	ErrCartNotFound   = errcode.New(errcode.NotFound, "no cart with this token")
	ErrNotDevelopment = errcode.New(errcode.Forbidden, "payments can only be completed by hand with the development gateway")
)

// actor names the viewer in order history.
func actor(ctx context.Context) string {
	v := identity.ViewerFrom(ctx)
	switch {
	case v == nil:
		return ActorCustomer
	case v.System:
		return ActorSystem
	default:
		return string(v.UserID)
	}
}
