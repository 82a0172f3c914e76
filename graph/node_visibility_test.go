package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"frontdesk/commerce/address"
	"frontdesk/ent/appointment"
	"frontdesk/ent/product"
	"frontdesk/gid"
	"frontdesk/graph"
)

// nodeViewers are the viewers of the node table, as in staffViewers; ""
// is anonymous.
var nodeViewers = []string{"", "customer", "patient", "practitioner", "practitionerB", "staff", "admin"}

// TestNodeVisibilityEveryType fetches an object of every type that
// implements Node with node(id:) and nodes(ids:) as each kind of viewer.
// Each is visible exactly to those its domain shows it to; to everyone
// else the answer is null with NOT_FOUND, word for word the answer for an
// ID of the same type that does not exist.
func TestNodeVisibilityEveryType(t *testing.T) {
	ts, client, _ := staffServer(t, true)
	c := newClinic(t, client)
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

	own := c.add(t, appt{prac: c.pracA, svc: c.initial, day: 1, hour: 9, state: appointment.StateCONFIRMED, patient: c.patient, intake: true})
	guest := c.add(t, appt{prac: c.pracB, svc: c.follow, day: 1, hour: 10, state: appointment.StateCONFIRMED,
		guest: [3]string{"Jo Citizen", "jo@example.com", "+61499888777"}})
	sub := client.IntakeSubmission.Query().OnlyX(ctx)
	hours := client.WeeklyHours.Create().SetPractitionerID(c.pracA.ID).SetWeekday(1).SetStartMinute(540).SetEndMinute(720).SaveX(ctx)
	override := client.DateOverride.Create().SetPractitionerID(c.pracA.ID).SetDate("2026-05-11").SetKind("CLOSED").SaveX(ctx)
	session := client.Session.Create().SetUserID(patientID).SetTokenHash("h-session").SetExpiresAt(now.AddDate(0, 1, 0)).SetLastUsedAt(now).SaveX(ctx)
	adminKey := client.APIKey.Create().SetName("partner").SetPrefix("fdk_a").SetTokenHash("h-key-a").SetScopes([]string{"MANAGE_ORDERS"}).SetCreatorID(adminID).SaveX(ctx)
	staffKey := client.APIKey.Create().SetName("staff's").SetPrefix("fdk_s").SetTokenHash("h-key-s").SetScopes([]string{"MANAGE_ORDERS"}).SetCreatorID(staffID).SaveX(ctx)
	audit := client.AuditEntry.Create().SetAction("user.set_role").SaveX(ctx)
	addr := address.Address{Name: "Patricia", Line1: "1 Main St", City: "Sydney", PostalCode: "2000", Country: "AU"}
	order := client.Order.Create().SetNumber("FD-1001").SetIdempotencyKey("o1").SetUserID(patientID).SetEmail("pat.kowalski@example.com").
		SetShippingAddress(addr).SetBillingAddress(addr).SetSubtotal(1000).SetDiscountTotal(0).SetShippingTotal(0).SetTaxTotal(0).
		SetTotal(1000).SetCurrency("AUD").SetReservedUntil(now).SaveX(ctx)
	line := client.OrderLine.Create().SetOrderID(order.ID).SetVariantID(gid.New("var")).SetTitle("Jar").SetSku("JAR").
		SetUnitPrice(1000).SetQuantity(1).SetLineTotal(1000).SaveX(ctx)
	event := client.OrderEvent.Create().SetOrderID(order.ID).SetToState("PENDING_PAYMENT").SetActor("system").SaveX(ctx)
	ship := client.ShippingMethod.Create().SetName("Post").SetKind("FLAT").SetCountry("AU").SetCurrency("AUD").SaveX(ctx)
	tax := client.TaxRate.Create().SetName("GST").SetCountry("AU").SetRateBp(1000).SaveX(ctx)
	code := client.DiscountCode.Create().SetCode("WELCOME").SetKind("PERCENT").SetValue(1000).SaveX(ctx)
	job := client.Job.Create().SetKind("notify.email").SetRunAt(now).SetIdempotencyKey("j1").SaveX(ctx)
	msg := client.SentMessage.Create().SetChannel("EMAIL").SetKind("booking_confirmation").SetRecipient("jo@example.com").
		SetTransport("log").SetIdempotencyKey("m1").SaveX(ctx)
	link := client.CalendarLink.Create().SetPractitionerID(c.pracA.ID).SetMailbox("alpha@clinic.example").SaveX(ctx)
	csub := client.CalendarSubscription.Create().SetLinkID(link.ID).SetClientState("secret").SaveX(ctx)
	ehr := client.EHRMapping.Create().SetKind("SERVICE").SetLocalID(c.initial.ID).SetExternalID("type-1").SaveX(ctx)
	hook := client.WebhookEndpoint.Create().SetURL("https://partner.example/hooks").SetEvents([]string{"order.paid"}).
		SetSecret("whsec_c2VjcmV0").SetOwnerID(adminID).SaveX(ctx)
	delivery := client.WebhookDelivery.Create().SetEndpointID(hook.ID).SetEventID("evt_1").SetEventType("order.paid").
		SetOccurredAt(now).SaveX(ctx)
	draft := client.Product.Create().SetTitle("Draft jar").SetSortTitle("draft jar").SetSlug("draft-jar").SetDescription("").SetDescriptionHTML("").SetSearchText("").SetStatus(product.StatusDRAFT).SaveX(ctx)

	everyone := nodeViewers
	staffOnly := []string{"staff", "admin"}
	bookingAdmins := []string{"practitioner", "practitionerB", "staff", "admin"}
	cases := []struct {
		typename string
		id       gid.ID
		visible  []string
	}{
		{"Appointment", own.ID, []string{"patient", "practitioner", "staff", "admin"}},
		{"Appointment", guest.ID, []string{"practitionerB", "staff", "admin"}},
		{"IntakeSubmission", sub.ID, []string{"patient", "practitioner", "staff", "admin"}},
		{"Practitioner", c.pracA.ID, everyone},
		{"Service", c.initial.ID, everyone},
		{"WeeklyHours", hours.ID, everyone},
		{"DateOverride", override.ID, everyone},
		{"User", patientID, []string{"patient", "admin"}},
		{"Session", session.ID, []string{"patient"}},
		{"ApiKey", adminKey.ID, []string{"admin"}},
		{"ApiKey", staffKey.ID, []string{"staff", "admin"}},
		{"AuditEntry", audit.ID, []string{"admin"}},
		{"Order", order.ID, []string{"patient", "staff", "admin"}},
		{"OrderLine", line.ID, []string{"patient", "staff", "admin"}},
		{"OrderEvent", event.ID, []string{"patient", "staff", "admin"}},
		{"ShippingMethod", ship.ID, staffOnly},
		{"TaxRate", tax.ID, staffOnly},
		{"DiscountCode", code.ID, staffOnly},
		{"Job", job.ID, []string{"admin"}},
		{"SentMessage", msg.ID, staffOnly},
		{"CalendarLink", link.ID, bookingAdmins},
		{"CalendarSubscription", csub.ID, bookingAdmins},
		{"EHRMapping", ehr.ID, bookingAdmins},
		{"Product", draft.ID, staffOnly},
		{"WebhookEndpoint", hook.ID, []string{"admin"}},
		{"WebhookDelivery", delivery.ID, []string{"admin"}},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.typename] = true
	}
	for _, name := range graph.NodeTypeNames() {
		if !covered[name] && !slices.Contains([]string{"Variant", "ProductImage", "ProductOption", "Category", "Collection", "IntakeForm"}, name) {
			t.Errorf("Node type %s has no row in this table", name)
		}
	}

	const nodeQ = `query($id: ID!) { node(id: $id) { id __typename } }`
	type nodeOut struct {
		Node *struct {
			ID       string
			Typename string `json:"__typename"`
		}
	}
	// hidden is the answer for an ID of the type that does not exist.
	hidden := func(prefix string) string {
		var out nodeOut
		res := gql(t, ts, "admin", nodeQ, map[string]any{"id": gid.New(prefix)}, &out)
		raw, _ := json.Marshal(res)
		return string(raw)
	}
	for _, tc := range cases {
		for _, viewer := range nodeViewers {
			t.Run(fmt.Sprintf("%s/%s/%q", tc.typename, tc.id, viewer), func(t *testing.T) {
				var out nodeOut
				res := gql(t, ts, viewer, nodeQ, map[string]any{"id": tc.id}, &out)
				if slices.Contains(tc.visible, viewer) {
					if len(res.Errors) > 0 || out.Node == nil || out.Node.ID != string(tc.id) || out.Node.Typename != tc.typename {
						t.Fatalf("want the %s: got %+v, %+v", tc.typename, out.Node, res.Errors)
					}
					return
				}
				raw, _ := json.Marshal(res)
				if want := hidden(tc.id.Prefix()); string(raw) != want {
					t.Fatalf("hidden %s: got %s, want the answer for a missing ID, %s", tc.typename, raw, want)
				}
				if out.Node != nil || len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != "NOT_FOUND" {
					t.Fatalf("hidden %s: got %+v, %+v", tc.typename, out.Node, res.Errors)
				}
			})
		}
	}

	// nodes(ids:): every case at once, in order, plus a missing ID.
	var all []gid.ID
	for _, tc := range cases {
		all = append(all, tc.id)
	}
	all = append(all, gid.New("apt"))
	for _, viewer := range nodeViewers {
		var out struct {
			Nodes []*struct {
				ID       string
				Typename string `json:"__typename"`
			}
		}
		res := gql(t, ts, viewer, `query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }`, map[string]any{"ids": all}, &out)
		if len(out.Nodes) != len(all) {
			t.Fatalf("nodes as %q: %d entries for %d IDs (%+v)", viewer, len(out.Nodes), len(all), res.Errors)
		}
		var wantMissing []int
		for i, id := range all {
			shown := i < len(cases) && slices.Contains(cases[i].visible, viewer)
			if !shown {
				wantMissing = append(wantMissing, i)
			}
			if got := out.Nodes[i]; shown != (got != nil) || (got != nil && got.ID != string(id)) {
				t.Errorf("nodes as %q, entry %d (%s): got %+v, visible %v", viewer, i, id, got, shown)
			}
		}
		var gotMissing []int
		for _, e := range res.Errors {
			if e.Extensions["code"] != "NOT_FOUND" {
				t.Errorf("nodes as %q: error %+v", viewer, e)
			}
		}
		for i := range out.Nodes {
			if out.Nodes[i] == nil {
				gotMissing = append(gotMissing, i)
			}
		}
		if !slices.Equal(gotMissing, wantMissing) || len(res.Errors) != len(wantMissing) {
			t.Errorf("nodes as %q: null at %v with %d errors, want null at %v", viewer, gotMissing, len(res.Errors), wantMissing)
		}
	}
}
