package graph_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/google/go-cmp/cmp"

	"frontdesk/cache"
	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent/job"
	"frontdesk/ent/sentmessage"
	"frontdesk/graph"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// jobsClient drives the real executable schema as viewer v.
func jobsClient(t *testing.T, db *database.DB, v *identity.Viewer) *client.Client {
	schema := graph.MustSchema(t, &graph.Resolver{Client: db.Client,
		Catalog: catalog.New(db.Client, db.Dialect, cache.NewMemory(), nil, catalog.Options{})})
	return as(serve(t, schema, map[string]*identity.Viewer{"v": v}), "v")
}

func TestJobsAdminAPI(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	dead := db.Client.Job.Create().SetKind("notify.email").SetIdempotencyKey("k-dead").SetRunAt(now).
		SetState(job.StateDEAD).SetAttempts(3).SetMaxAttempts(3).SetLastError("550 no such user").SetPayload(json.RawMessage(`{"to":"a@example.com"}`)).SaveX(ctx)
	db.Client.JobAttempt.Create().SetJobID(dead.ID).SetNumber(1).SetStartedAt(now).SetFinishedAt(now).SetError("550 no such user").ExecX(ctx)
	db.Client.Job.Create().SetKind("notify.sms").SetIdempotencyKey("k-pending").SetRunAt(now.Add(time.Hour)).ExecX(ctx)
	db.Client.SentMessage.Create().SetChannel(sentmessage.ChannelSMS).SetKind("booking_reminder").SetRecipient("+61400000002").
		SetBodyText("See you").SetTransport("log").SetIdempotencyKey("k-sms").ExecX(ctx)

	admin := jobsClient(t, db, &identity.Viewer{UserID: "usr_admin", Role: identity.RoleAdmin})
	var list struct {
		Jobs struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					ID, Kind, State, LastError, Payload string
					Attempts                            int
					AttemptLog                          []struct {
						Number int
						Error  string
					}
				}
			}
		}
		JobCounts struct{ Pending, Running, Succeeded, Dead, Cancelled int }
	}
	admin.MustPost(`query { jobs(states: [DEAD], kinds: ["notify.email"]) { totalCount edges { node { id kind state lastError payload attempts attemptLog { number error } } } }
		jobCounts { pending running succeeded dead cancelled } }`, &list)
	if list.Jobs.TotalCount != 1 || len(list.Jobs.Edges) != 1 {
		t.Fatalf("jobs = %+v", list.Jobs)
	}
	n := list.Jobs.Edges[0].Node
	if n.ID != string(dead.ID) || n.State != "DEAD" || n.LastError != "550 no such user" || n.Payload != `{"to":"a@example.com"}` || len(n.AttemptLog) != 1 {
		t.Fatalf("node = %+v", n)
	}
	if diff := cmp.Diff(struct{ Pending, Running, Succeeded, Dead, Cancelled int }{Pending: 1, Dead: 1}, list.JobCounts); diff != "" {
		t.Fatalf("counts (-want +got):\n%s", diff)
	}

	var retried struct {
		RetryJob struct {
			Job struct {
				State       string
				MaxAttempts int
			}
			UserErrors []struct {
				Code  string
				Field []string
			}
		}
	}
	admin.MustPost(`mutation($id: ID!) { retryJob(input: {id: $id}) { job { state maxAttempts } userErrors { code field } } }`, &retried, client.Var("id", dead.ID))
	if retried.RetryJob.Job.State != "PENDING" || retried.RetryJob.Job.MaxAttempts != 6 || len(retried.RetryJob.UserErrors) != 0 {
		t.Fatalf("retry = %+v", retried)
	}
	// Retrying a pending job is a CONFLICT user error, not a top-level one.
	admin.MustPost(`mutation($id: ID!) { retryJob(input: {id: $id}) { job { state maxAttempts } userErrors { code field } } }`, &retried, client.Var("id", dead.ID))
	if len(retried.RetryJob.UserErrors) != 1 || retried.RetryJob.UserErrors[0].Code != "CONFLICT" {
		t.Fatalf("second retry = %+v", retried)
	}
	var cancelled struct {
		CancelJob struct{ Job struct{ State string } }
	}
	admin.MustPost(`mutation($id: ID!) { cancelJob(input: {id: $id}) { job { state } } }`, &cancelled, client.Var("id", dead.ID))
	if cancelled.CancelJob.Job.State != "CANCELLED" {
		t.Fatalf("cancel = %+v", cancelled)
	}

	// Staff read sent messages but may not manage jobs.
	staff := jobsClient(t, db, &identity.Viewer{UserID: "usr_staff", Role: identity.RoleStaff})
	var msgs struct {
		SentMessages struct {
			TotalCount int
			Edges      []struct {
				Node struct{ Channel, Recipient, BodyText, Transport string }
			}
		}
	}
	staff.MustPost(`{ sentMessages(first: 10, recipient: "+61400000002") { totalCount edges { node { channel recipient bodyText transport } } } }`, &msgs)
	if msgs.SentMessages.TotalCount != 1 || msgs.SentMessages.Edges[0].Node.Channel != "SMS" {
		t.Fatalf("sentMessages = %+v", msgs)
	}
	var none struct{ JobCounts *struct{ Dead int } }
	err := staff.Post(`{ jobCounts { dead } }`, &none)
	if err == nil || !strings.Contains(err.Error(), "FORBIDDEN") {
		t.Fatalf("staff jobCounts: %v", err)
	}
	anon := jobsClient(t, db, nil)
	err = anon.Post(`{ sentMessages { totalCount } }`, &msgs)
	if err == nil || !strings.Contains(err.Error(), "UNAUTHENTICATED") {
		t.Fatalf("anonymous sentMessages: %v", err)
	}
	var one struct{ Job *struct{ ID string } }
	admin.MustPost(`query($id: ID!) { job(id: $id) { id } }`, &one, client.Var("id", "job_01HZZZZZZZZZZZZZZZZZZZZZZZ"))
	if one.Job != nil {
		t.Fatalf("job for unknown id: %+v", one.Job)
	}
}
