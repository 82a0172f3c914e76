package graph

import (
	"context"
	"fmt"
	"reflect"

	"github.com/99designs/gqlgen/graphql"

	"frontdesk/booking"
	"frontdesk/calendarsync"
	"frontdesk/commerce"
	"frontdesk/ehrsync"
	"frontdesk/ent"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/notify"
	"frontdesk/outbox"
	"frontdesk/webhooks"
)

// nodeRule decides whether the viewer may see an object fetched by ID,
// through the owning domain's read rule, so node/nodes cannot show what
// the domain's own queries would hide (a draft product to the public, an
// appointment to another practitioner). Rules that need columns read the
// row again: node(id:) selects only the fields the query asked for.
type nodeRule func(r *Resolver, ctx context.Context, n ent.Noder) bool

func public(*Resolver, context.Context, ent.Noder) bool { return true }

func catalogRule(r *Resolver, ctx context.Context, n ent.Noder) bool {
	return r.Catalog == nil || r.Catalog.Visible(ctx, n)
}

// nodeRules has one rule per GraphQL type that implements Node, by the
// name of its Go type; an entity whose type has none is internal and
// never returned by node/nodes.
var nodeRules = map[string]nodeRule{
	// Catalog: what the storefront shows; drafts and stock only to staff.
	"Product": catalogRule, "Variant": catalogRule, "ProductImage": catalogRule,
	"ProductOption": catalogRule, "Category": catalogRule, "Collection": catalogRule,
	// Booking's public side: who and what can be booked, and when.
	"Practitioner": public, "Service": public, "IntakeForm": public, "WeeklyHours": public, "DateOverride": public,
	"Appointment": func(r *Resolver, ctx context.Context, n ent.Noder) bool {
		return booking.CanViewAppointment(ctx, r.Client, n.(*ent.Appointment).ID)
	},
	"IntakeSubmission": func(r *Resolver, ctx context.Context, n ent.Noder) bool {
		return booking.CanViewIntakeSubmission(ctx, r.Client, n.(*ent.IntakeSubmission).ID)
	},
	// Identity.
	"User": func(_ *Resolver, ctx context.Context, n ent.Noder) bool {
		return identity.CanViewUser(ctx, n.(*ent.User))
	},
	"Session": func(r *Resolver, ctx context.Context, n ent.Noder) bool {
		return identity.CanViewSession(ctx, r.Client, n.(*ent.Session).ID)
	},
	"APIKey": func(r *Resolver, ctx context.Context, n ent.Noder) bool {
		return identity.CanViewAPIKey(ctx, r.Client, n.(*ent.APIKey).ID)
	},
	"AuditEntry": func(_ *Resolver, ctx context.Context, _ ent.Noder) bool { return identity.CanViewAuditEntry(ctx) },
	// Commerce.
	"Order": func(r *Resolver, ctx context.Context, n ent.Noder) bool {
		return commerce.CanViewOrder(ctx, r.Client, n.(*ent.Order).ID)
	},
	"OrderLine": func(r *Resolver, ctx context.Context, n ent.Noder) bool {
		return commerce.CanViewOrderLine(ctx, r.Client, n.(*ent.OrderLine).ID)
	},
	"OrderEvent": func(r *Resolver, ctx context.Context, n ent.Noder) bool {
		return commerce.CanViewOrderEvent(ctx, r.Client, n.(*ent.OrderEvent).ID)
	},
	"ShippingMethod": pricingRule, "TaxRate": pricingRule, "DiscountCode": pricingRule,
	// Operations.
	"Job":                  func(_ *Resolver, ctx context.Context, _ ent.Noder) bool { return outbox.CanView(ctx) },
	"SentMessage":          func(_ *Resolver, ctx context.Context, _ ent.Noder) bool { return notify.CanView(ctx) },
	"CalendarLink":         syncRule,
	"CalendarSubscription": syncRule,
	"EHRMapping":           func(_ *Resolver, ctx context.Context, _ ent.Noder) bool { return ehrsync.CanView(ctx) },
	"WebhookEndpoint": func(r *Resolver, ctx context.Context, n ent.Noder) bool {
		return webhooks.CanView(ctx, r.Client, n.(*ent.WebhookEndpoint).ID)
	},
	"WebhookDelivery": func(r *Resolver, ctx context.Context, n ent.Noder) bool {
		return webhooks.CanViewDelivery(ctx, r.Client, n.(*ent.WebhookDelivery).ID)
	},
}

func pricingRule(_ *Resolver, ctx context.Context, _ ent.Noder) bool {
	return commerce.CanViewPricingRules(ctx)
}

func syncRule(_ *Resolver, ctx context.Context, _ ent.Noder) bool { return calendarsync.CanView(ctx) }

// goNames maps the GraphQL names of Node types whose Go type is spelt
// differently.
var goNames = map[string]string{"ApiKey": "APIKey"}

// nodeTypeRules checks, when the package loads, that every GraphQL type
// implementing Node has a rule and every rule a type, so a type cannot
// become fetchable by ID without one: the server does not start.
var nodeTypeRules = func() map[string]nodeRule {
	var names []string
	for _, d := range parsedSchema.GetPossibleTypes(parsedSchema.Types["Node"]) {
		names = append(names, d.Name)
	}
	if err := checkNodeRules(names, nodeRules); err != nil {
		panic("graph: " + err.Error())
	}
	return nodeRules
}()

// checkNodeRules reports a Node type (by GraphQL name) without a rule, or
// a rule for a type that does not implement Node.
func checkNodeRules(graphqlNames []string, rules map[string]nodeRule) error {
	seen := map[string]bool{}
	for _, name := range graphqlNames {
		goName := name
		if g, ok := goNames[name]; ok {
			goName = g
		}
		if rules[goName] == nil {
			return fmt.Errorf("Node type %s has no visibility rule in nodeRules", name)
		}
		seen[goName] = true
	}
	for name := range rules {
		if !seen[name] {
			return fmt.Errorf("nodeRules has a rule for %s, which does not implement Node", name)
		}
	}
	return nil
}

// visible returns n when its type implements Node and its domain lets
// the viewer see it, and nil otherwise.
func (r *Resolver) visible(ctx context.Context, n ent.Noder) ent.Noder {
	if n == nil {
		return nil
	}
	t := reflect.TypeOf(n)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if rule := nodeTypeRules[t.Name()]; rule == nil || !rule(r, ctx, n) {
		return nil
	}
	return n
}

// errNodeNotFound is returned for IDs that are well formed but name no
// object the viewer can see; missing and hidden look the same.
var errNodeNotFound = errcode.New(errcode.NotFound, "no object with this ID")

// node loads one object by global ID. Malformed IDs never reach here: gid
// rejects them while the arguments are parsed.
func (r *Resolver) node(ctx context.Context, id gid.ID) (ent.Noder, error) {
	n, err := r.Client.Noder(ctx, id, ent.WithNodeType(ent.TableOf))
	if ent.IsNotFound(err) {
		return nil, errNodeNotFound
	}
	if err != nil {
		return nil, err
	}
	if n = r.visible(ctx, n); n == nil {
		return nil, errNodeNotFound
	}
	return n, nil
}

// nodes loads several objects in one query per type, keeping the order
// asked for; an entry that is missing or invisible is null with a
// NOT_FOUND error at its index.
func (r *Resolver) nodes(ctx context.Context, ids []gid.ID) ([]ent.Noder, error) {
	found, err := r.Client.Noders(ctx, ids, ent.WithNodeType(ent.TableOf))
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	out := make([]ent.Noder, len(ids))
	for i := range found {
		out[i] = r.visible(ctx, found[i])
		if out[i] == nil && found[i] != nil {
			graphql.AddError(graphql.WithPathContext(ctx, graphql.NewPathWithIndex(i)), errNodeNotFound)
		}
	}
	return out, nil
}
