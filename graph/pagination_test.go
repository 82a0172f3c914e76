package graph_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"frontdesk/graph"
)

// boundedLists are the list fields that are not connections, each with
// the bound that keeps it small. A new list field fails
// TestEveryListIsBounded until it is paged as a connection or added here
// with its bound (and docs/security.md, "Every list is bounded").
var boundedLists = map[string]string{
	// Fixed by the schema or a hard cap in code.
	"ApiKey.scopes":              "fixed: one per Permission",
	"User.permissions":           "fixed: one per Permission",
	"UserError.field":            "fixed: the input path of one field",
	"Job.attemptLog":             "capped: one per attempt, at most the job's maxAttempts",
	"IntakeForm.fields":          "capped: intake forms have at most 100 fields",
	"IntakeSubmission.answers":   "capped: one per form field (100)",
	"Product.images":             "capped: MaxImagesPerProduct (20)",
	"ProductImage.renditions":    "capped: one per configured rendition width",
	"Query.sessions":             "capped: identity.MaxListedSessions (100)",
	"Query.services":             "capped: 500 (deprecated for servicesConnection)",
	"Query.practitioners":        "capped: 500 (deprecated for practitionersConnection)",
	"Query.practitionerAgenda":   "capped: a 31-day window, at most 1000 appointments",
	"Query.availableSlots":       "capped: a window of at most booking.MaxRange (92 days)",
	"Variant.selectedOptions":    "capped: one per option of the product",
	"IntakeAnswer.choices":       "capped: a subset of the field's options",
	"Category.ancestors":         "capped: the depth of the category tree",
	"Order.lines":                "capped: copied from the cart when the order was placed",
	"WebhookEndpoint.events":     "fixed: one per WebhookEventType",
	"WebhookDelivery.attemptLog": "capped: webhooks.DeliverAttempts (17) plus one per admin redelivery",
	// Written only by staff or admins (catalog, clinic set-up): no hard
	// cap, small by nature, and nobody outside can make them grow.
	"IntakeField.options":        "staff-written: a form definition",
	"Product.tags":               "staff-written",
	"Product.options":            "staff-written",
	"Product.variants":           "staff-written",
	"Product.collections":        "staff-written",
	"ProductOption.values":       "staff-written",
	"Practitioner.services":      "staff-written",
	"Practitioner.weeklyHours":   "staff-written",
	"Practitioner.dateOverrides": "staff-written",
	"Service.practitioners":      "staff-written",
	"Category.children":          "staff-written",
	"Cart.shippingMethods":       "staff-written: the methods for one country",
	"Query.categories":           "staff-written: the category tree",
	"Query.collections":          "staff-written",
	"Query.calendarSyncStatus":   "staff-written: one per linked practitioner calendar",
	"Query.ehrMappings":          "staff-written: one per service and practitioner",
	"Query.webhookEndpoints":     "admin-written: endpoints admins and webhook-scoped API keys create",
	// Grown only by the one customer or appointment they belong to, one
	// request (rate limited) per entry.
	"Cart.lines":          "owner-written: one per variant the cart's owner added",
	"Order.history":       "one per state change or refund of one order",
	"Appointment.history": "one per state change of one appointment",
}

// TestEveryListIsBounded walks the executable schema, as introspection
// shows it, and proves every field that returns many things is bounded:
// a connection takes first/last, so Pagination gives it the default page
// size and Limits refuses more than the maximum; a list field takes ids
// (bounded by Limits) or is in boundedLists with its bound. Entries in
// boundedLists that no longer exist fail too, so the list stays true.
func TestEveryListIsBounded(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}}).Schema()
	names := make([]string, 0, len(schema.Types))
	for name := range schema.Types {
		names = append(names, name)
	}
	slices.Sort(names)
	seen := map[string]bool{}
	connections := 0
	for _, name := range names {
		def := schema.Types[name]
		if strings.HasPrefix(name, "__") || (def.Kind != ast.Object && def.Kind != ast.Interface) {
			continue
		}
		for _, f := range def.Fields {
			key := name + "." + f.Name
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			if f.Type.Elem == nil && strings.HasSuffix(f.Type.Name(), "Connection") {
				connections++
				if !graph.IsConnectionField(f) {
					t.Errorf("%s returns a connection without Int first and last: Pagination cannot bound it", key)
				}
				continue
			}
			if f.Type.Elem == nil {
				continue
			}
			switch {
			case strings.HasSuffix(name, "Connection") && f.Name == "edges":
				// One page, bounded by the connection field.
			case f.Name == "userErrors" || f.Name == "problems":
				// One entry per problem with the input, bounded by its size.
			case f.Arguments.ForName("ids") != nil:
				// Limits refuses more ids than the maximum page size.
			case f.Arguments.ForName("first") != nil:
				// Limits refuses a first above the maximum page size, and
				// the argument has a schema default.
				if a := f.Arguments.ForName("first"); a.DefaultValue == nil {
					t.Errorf("%s takes first without a default: a query without it is unbounded", key)
				}
			default:
				if _, ok := boundedLists[key]; !ok {
					t.Errorf("%s returns a list with no bound: page it as a connection, or add it to boundedLists with its bound", key)
				}
				seen[key] = true
			}
		}
	}
	for key := range boundedLists {
		if !seen[key] {
			t.Errorf("boundedLists names %s, which is not a list field of the schema", key)
		}
	}
	if connections < 10 {
		t.Fatalf("found only %d connection fields: the walk is broken", connections)
	}
}
