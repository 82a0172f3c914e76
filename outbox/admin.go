package outbox

import (
	"context"
	"fmt"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/job"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
)

// States lists every job state in lifecycle order.
var States = []job.State{job.StatePENDING, job.StateRUNNING, job.StateSUCCEEDED, job.StateDEAD, job.StateCANCELLED}

// RetryBudget is how many more attempts an admin retry gives a job.
const RetryBudget = 3

// ErrJobNotFound is returned for IDs that name no job.
var ErrJobNotFound = errcode.New(errcode.NotFound, "job not found")

// Filter narrows a job listing.
type Filter struct {
	States []job.State
	Kinds  []string
}

// Query returns the jobs matching f, for the admin API. The caller needs
// identity.ManageJobs.
func Query(ctx context.Context, client *ent.Client, f Filter) (*ent.JobQuery, error) {
	if _, err := identity.Require(ctx, identity.ManageJobs); err != nil {
		return nil, err
	}
	q := client.Job.Query()
	if len(f.States) > 0 {
		q = q.Where(job.StateIn(f.States...))
	}
	if len(f.Kinds) > 0 {
		q = q.Where(job.KindIn(f.Kinds...))
	}
	return q, nil
}

// Get returns one job. The caller needs identity.ManageJobs.
func Get(ctx context.Context, client *ent.Client, id gid.ID) (*ent.Job, error) {
	if _, err := identity.Require(ctx, identity.ManageJobs); err != nil {
		return nil, err
	}
	j, err := client.Job.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, ErrJobNotFound
	}
	return j, err
}

// Counts returns how many jobs are in each state (every state is
// present, zero when empty), for dashboards and alerts on DEAD.
func Counts(ctx context.Context, client *ent.Client) (map[job.State]int, error) {
	if _, err := identity.Require(ctx, identity.ManageJobs); err != nil {
		return nil, err
	}
	var rows []struct {
		State job.State `json:"state"`
		Count int       `json:"count"`
	}
	if err := client.Job.Query().GroupBy(job.FieldState).Aggregate(ent.Count()).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	out := map[job.State]int{}
	for _, s := range States {
		out[s] = 0
	}
	for _, r := range rows {
		out[r.State] = r.Count
	}
	return out, nil
}

// Retry puts a DEAD or CANCELLED job back to PENDING, due now, with
// RetryBudget more attempts.
func Retry(ctx context.Context, client *ent.Client, id gid.ID) (*ent.Job, error) {
	return transition(ctx, client, id, []job.State{job.StateDEAD, job.StateCANCELLED},
		"only dead or cancelled jobs can be retried", func(u *ent.JobUpdateOne, j *ent.Job) {
			u.SetMaxAttempts(j.Attempts + RetryBudget).ClearFinishedAt()
		})
}

// RunNow makes a PENDING job (a delayed one or one waiting to retry) or a
// DEAD one due at once; a dead job also gets RetryBudget more attempts.
func RunNow(ctx context.Context, client *ent.Client, id gid.ID) (*ent.Job, error) {
	return transition(ctx, client, id, []job.State{job.StatePENDING, job.StateDEAD},
		"only pending or dead jobs can be run now", func(u *ent.JobUpdateOne, j *ent.Job) {
			if j.State == job.StateDEAD {
				u.SetMaxAttempts(j.Attempts + RetryBudget).ClearFinishedAt()
			}
		})
}

// Cancel stops a PENDING or DEAD job from ever running. A RUNNING job
// cannot be cancelled: its handler may already have had its effect.
func Cancel(ctx context.Context, client *ent.Client, id gid.ID) (*ent.Job, error) {
	return transition(ctx, client, id, []job.State{job.StatePENDING, job.StateDEAD},
		"only pending or dead jobs can be cancelled", func(u *ent.JobUpdateOne, _ *ent.Job) {
			u.SetState(job.StateCANCELLED).SetFinishedAt(dbTime(time.Now()))
		})
}

// transition applies change to job id when it is in one of from. The
// update is conditional on the state read, so a worker claiming the job
// at the same moment makes it a CONFLICT instead of a lost update.
func transition(ctx context.Context, client *ent.Client, id gid.ID, from []job.State, conflict string,
	change func(*ent.JobUpdateOne, *ent.Job)) (*ent.Job, error) {
	if _, err := identity.Require(ctx, identity.ManageJobs); err != nil {
		return nil, err
	}
	j, err := client.Job.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, errcode.Invalidf(errcode.Missing, "id", "no job has this ID")
	}
	if err != nil {
		return nil, err
	}
	allowed := false
	for _, s := range from {
		allowed = allowed || j.State == s
	}
	if !allowed {
		return nil, errcode.Invalidf(errcode.Conflict, "id", fmt.Sprintf("%s (this job is %s)", conflict, j.State))
	}
	now := dbTime(time.Now())
	u := client.Job.UpdateOne(j).
		Where(job.StateEQ(j.State), job.Attempts(j.Attempts)).
		SetState(job.StatePENDING).
		SetRunAt(now).
		SetUpdatedAt(now)
	change(u, j)
	updated, err := u.Save(ctx)
	if ent.IsNotFound(err) {
		return nil, errcode.Invalidf(errcode.Conflict, "id", "the job changed meanwhile; reload and try again")
	}
	if err != nil {
		return nil, err
	}
	wake(updated.Kind)
	return updated, nil
}

// CanView reports whether the viewer may see jobs by ID (node(id:)):
// admins with MANAGE_JOBS, as for Get.
func CanView(ctx context.Context) bool { return identity.ViewerFrom(ctx).Can(identity.ManageJobs) }
