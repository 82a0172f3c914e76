package graph_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"entgo.io/contrib/entgql"

	"frontdesk/booking"
	"frontdesk/cache"
	"frontdesk/catalog"
	"frontdesk/commerce/address"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/job"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/graph"
	"frontdesk/graph/model"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// leaky stands in for resolvers that forgot their read checks: its
// connections, lists and payloads return rows of anyone. Only the view
// rules stand between them and the viewer.
type leaky struct {
	*graph.Resolver
	client *ent.Client
}

func (l leaky) Query() graph.QueryResolver { return leakyQuery{l.Resolver.Query(), l.client} }
func (l leaky) Mutation() graph.MutationResolver {
	return leakyMutation{l.Resolver.Mutation(), l.client}
}

type leakyQuery struct {
	graph.QueryResolver
	client *ent.Client
}

func (q leakyQuery) MyOrders(ctx context.Context, first *int, after *entgql.Cursor[gid.ID], last *int, before *entgql.Cursor[gid.ID]) (*ent.OrderConnection, error) {
	return q.client.Order.Query().Paginate(ctx, after, first, before, last)
}

func (q leakyQuery) MyAppointmentsConnection(ctx context.Context, _ bool, first *int, after *entgql.Cursor[gid.ID], last *int, before *entgql.Cursor[gid.ID]) (*ent.AppointmentConnection, error) {
	return q.client.Appointment.Query().Paginate(ctx, after, first, before, last)
}

func (q leakyQuery) Sessions(ctx context.Context) ([]*ent.Session, error) {
	return q.client.Session.Query().All(ctx)
}

func (q leakyQuery) Jobs(ctx context.Context, first *int, after *entgql.Cursor[gid.ID], last *int, before *entgql.Cursor[gid.ID], _ []job.State, _ []string) (*ent.JobConnection, error) {
	return q.client.Job.Query().Paginate(ctx, after, first, before, last)
}

type leakyMutation struct {
	graph.MutationResolver
	client *ent.Client
}

func (m leakyMutation) CancelAppointment(ctx context.Context, in model.CancelAppointmentInput) (*model.AppointmentPayload, error) {
	a, err := m.client.Appointment.Get(ctx, in.AppointmentID)
	return &model.AppointmentPayload{Appointment: a, UserErrors: []*errcode.UserError{}}, err
}

func (m leakyMutation) PlaceOrder(ctx context.Context, in model.PlaceOrderInput) (*model.PlaceOrderPayload, error) {
	o, err := m.client.Order.Get(ctx, gid.ID(in.IdempotencyKey))
	return &model.PlaceOrderPayload{Order: o, UserErrors: []*errcode.UserError{}}, err
}

func (m leakyMutation) RevokeSession(ctx context.Context, in model.RevokeSessionInput) (*model.RevokeSessionPayload, error) {
	s, err := m.client.Session.Get(ctx, in.SessionID)
	return &model.RevokeSessionPayload{Session: s, UserErrors: []*errcode.UserError{}}, err
}

func (m leakyMutation) RetryJob(ctx context.Context, in model.JobActionInput) (*model.JobPayload, error) {
	j, err := m.client.Job.Get(ctx, in.ID)
	return &model.JobPayload{Job: j, UserErrors: []*errcode.UserError{}}, err
}

// TestViewRulesRefuseAnotherViewersObjects is the matrix of issue 17: for
// each kind of viewer, another person's order, appointment, session and a
// job, reached by node, nodes, a connection (or list) and a payload edge
// of resolvers that forgot their checks, are refused (null with
// NOT_FOUND, the ID nowhere in the data); the viewers the domains show
// them to still see them. Without the view rules it fails.
func TestViewRulesRefuseAnotherViewersObjects(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	client := db.Client
	eng := booking.New(client, booking.Options{ManageKey: []byte("k")})
	r := &graph.Resolver{Client: client, Booking: eng, Catalog: catalog.New(client, db.Dialect, cache.NewMemory(), nil, catalog.Options{})}
	keyID := gid.New("key")
	ts := serve(t, graph.SchemaWithRoot(t, r, leaky{r, client}), map[string]*identity.Viewer{
		"owner":         {UserID: patientID, Role: identity.RoleCustomer},
		"customer":      {UserID: otherID, Role: identity.RoleCustomer},
		"practitioner":  {UserID: pracAUser, Role: identity.RolePractitioner},
		"practitionerB": {UserID: pracBUser, Role: identity.RolePractitioner},
		"staff":         {UserID: staffID, Role: identity.RoleStaff},
		"admin":         {UserID: adminID, Role: identity.RoleAdmin},
		// An admin's partner key scoped to webhooks only.
		"apiKey": {UserID: adminID, Role: identity.RoleAdmin, APIKeyID: keyID, Scopes: []identity.Permission{identity.ManageWebhooks}},
	})

	ctx := context.Background()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	c := newClinic(t, client)
	visit := c.add(t, appt{prac: c.pracA, svc: c.initial, day: 1, hour: 9, state: appointment.StateCONFIRMED, patient: c.patient})
	addr := address.Address{Name: "Patricia", Line1: "1 Main St", City: "Sydney", PostalCode: "2000", Country: "AU"}
	order := client.Order.Create().SetNumber("FD-1001").SetIdempotencyKey("o1").SetUserID(patientID).SetEmail("pat.kowalski@example.com").
		SetShippingAddress(addr).SetBillingAddress(addr).SetSubtotal(1000).SetDiscountTotal(0).SetShippingTotal(0).SetTaxTotal(0).
		SetTotal(1000).SetCurrency("AUD").SetReservedUntil(now).SaveX(ctx)
	session := client.Session.Create().SetUserID(patientID).SetTokenHash("h-session").SetExpiresAt(now.AddDate(0, 1, 0)).SetLastUsedAt(now).SaveX(ctx)
	jobRow := client.Job.Create().SetKind("notify.email").SetRunAt(now).SetIdempotencyKey("j1").SaveX(ctx)

	objects := []struct {
		name    string
		id      gid.ID
		seenBy  []string
		list    string // a connection or list of every row
		payload string // a mutation whose payload shows the row
	}{
		{"order", order.ID, []string{"owner", "staff", "admin"},
			`{ myOrders(first: 10) { edges { node { id } } } }`,
			`mutation($id: String!) { placeOrder(input: {idempotencyKey: $id}) { order { id } } }`},
		{"appointment", visit.ID, []string{"owner", "practitioner", "staff", "admin"},
			`{ myAppointmentsConnection(upcoming: true, first: 10) { edges { node { id } } } }`,
			`mutation($id: ID!) { cancelAppointment(input: {appointmentId: $id}) { appointment { id } } }`},
		{"session", session.ID, []string{"owner"},
			`{ sessions { id } }`,
			`mutation($id: ID!) { revokeSession(input: {sessionId: $id}) { session { id } } }`},
		{"job", jobRow.ID, []string{"admin"},
			`{ jobs(first: 10) { edges { node { id } } } }`,
			`mutation($id: ID!) { retryJob(input: {id: $id}) { job { id } } }`},
	}
	for _, o := range objects {
		paths := map[string]struct {
			query string
			vars  map[string]any
		}{
			"node":       {`query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": o.id}},
			"nodes":      {`query($id: ID!) { nodes(ids: [$id]) { id } }`, map[string]any{"id": o.id}},
			"connection": {o.list, nil},
			"payload":    {o.payload, map[string]any{"id": o.id}},
		}
		for _, viewer := range []string{"", "owner", "customer", "practitioner", "practitionerB", "staff", "admin", "apiKey"} {
			seen := viewer != "" && strings.Contains(" "+strings.Join(o.seenBy, " ")+" ", " "+viewer+" ")
			for path, p := range paths {
				data, codes := post(t, ts, viewer, p.query, p.vars)
				shown := strings.Contains(data, string(o.id))
				switch {
				case seen && (!shown || len(codes) > 0):
					t.Errorf("%s by %s as %q: not shown (%s, %v); its domain shows it to them", o.name, path, viewer, data, codes)
				case !seen && shown:
					t.Errorf("%s by %s as %q: shown (%s); want it refused", o.name, path, viewer, data)
				case !seen && !strings.Contains(strings.Join(codes, " "), "NOT_FOUND"):
					t.Errorf("%s by %s as %q: errors %v; want NOT_FOUND", o.name, path, viewer, codes)
				}
			}
		}
	}
}

// post runs one operation as viewer and returns its data as JSON text and
// its error codes.
func post(t *testing.T, ts *httptest.Server, viewer, query string, vars map[string]any) (string, []string) {
	t.Helper()
	res := gql(t, ts, viewer, query, vars, nil)
	data, err := json.Marshal(res.Data)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, e := range res.Errors {
		code, _ := e.Extensions["code"].(string)
		codes = append(codes, code+": "+e.Message)
	}
	return string(data), codes
}
