package graph_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"frontdesk/cache"
	"frontdesk/calendarsync"
	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ehrsync"
	"frontdesk/graph"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

func syncClient(t *testing.T, db *database.DB, v *identity.Viewer) *client.Client {
	r := &graph.Resolver{Client: db.Client, Calendar: calendarsync.New(db.Client, nil, calendarsync.Options{}),
		EHR:     ehrsync.New(db.Client, nil, slog.New(slog.NewTextHandler(io.Discard, nil))),
		Catalog: catalog.New(db.Client, db.Dialect, cache.NewMemory(), nil, catalog.Options{})}
	return as(serve(t, graph.MustSchema(t, r), map[string]*identity.Viewer{"v": v}), "v")
}

func TestSyncAdminAPI(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	prac := db.Client.Practitioner.Create().SetName("Dr Ada").SetTimeZone("Australia/Sydney").SaveX(context.Background())
	admin := syncClient(t, db, &identity.Viewer{UserID: "usr_admin", Role: identity.RoleAdmin})

	var link struct {
		LinkPractitionerCalendar struct {
			Link       *struct{ ID, Mailbox string }
			UserErrors []struct {
				Field []string
				Code  string
			}
		}
	}
	admin.MustPost(`mutation($p: ID!) { linkPractitionerCalendar(input: {practitionerId: $p, mailbox: "dr.ada@clinic.example"}) {
		link { id mailbox } userErrors { field code } } }`, &link, client.Var("p", prac.ID))
	if link.LinkPractitionerCalendar.Link == nil || link.LinkPractitionerCalendar.Link.Mailbox != "dr.ada@clinic.example" {
		t.Fatalf("link: %+v", link)
	}
	link.LinkPractitionerCalendar.Link = nil
	admin.MustPost(`mutation($p: ID!) { linkPractitionerCalendar(input: {practitionerId: $p, mailbox: "not a mailbox"}) {
		link { id } userErrors { field code } } }`, &link, client.Var("p", prac.ID))
	if link.LinkPractitionerCalendar.Link != nil || len(link.LinkPractitionerCalendar.UserErrors) != 1 || strings.Join(link.LinkPractitionerCalendar.UserErrors[0].Field, ".") != "mailbox" {
		t.Fatalf("bad mailbox: %+v", link)
	}

	var status struct {
		CalendarSyncStatus []struct {
			Link         struct{ PractitionerID, Mailbox string }
			Subscription struct{ State string }
			Alerting     bool
		}
	}
	admin.MustPost(`{ calendarSyncStatus { link { practitionerId mailbox } subscription { state } alerting } }`, &status)
	if len(status.CalendarSyncStatus) != 1 || status.CalendarSyncStatus[0].Subscription.State != "PENDING" || status.CalendarSyncStatus[0].Link.PractitionerID != prac.ID.String() {
		t.Fatalf("status: %+v", status)
	}

	var set struct {
		SetEHRMapping struct {
			Mapping    *struct{ ID, Kind, ExternalID string }
			UserErrors []struct{ Field []string }
		}
	}
	admin.MustPost(`mutation($p: ID!) { setEHRMapping(input: {kind: PRACTITIONER, localId: $p, externalId: "prov-7"}) {
		mapping { id kind externalId } userErrors { field } } }`, &set, client.Var("p", prac.ID))
	if set.SetEHRMapping.Mapping == nil || set.SetEHRMapping.Mapping.ExternalID != "prov-7" {
		t.Fatalf("set mapping: %+v", set)
	}
	var list struct{ EhrMappings []struct{ ExternalID string } }
	admin.MustPost(`{ ehrMappings { externalId } }`, &list)
	if len(list.EhrMappings) != 1 {
		t.Fatalf("mappings: %+v", list)
	}
	var del struct{ DeleteEHRMapping struct{ DeletedID *string } }
	admin.MustPost(`mutation($id: ID!) { deleteEHRMapping(input: {id: $id}) { deletedId } }`, &del, client.Var("id", set.SetEHRMapping.Mapping.ID))
	if del.DeleteEHRMapping.DeletedID == nil {
		t.Fatalf("delete: %+v", del)
	}

	customer := syncClient(t, db, &identity.Viewer{UserID: "usr_c", Role: identity.RoleCustomer})
	err := customer.Post(`{ calendarSyncStatus { alerting } }`, &status)
	if err == nil || !strings.Contains(err.Error(), "FORBIDDEN") {
		t.Fatalf("customer read sync status: %v", err)
	}
}
