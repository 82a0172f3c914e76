package graph

import (
	"frontdesk/ent"
	"frontdesk/errcode"
	"frontdesk/graph/model"
)

// jobPayload turns the outcome of a job mutation into its payload:
// business refusals go to userErrors, anything else is a top-level error.
func jobPayload(j *ent.Job, err error) (*model.JobPayload, error) {
	if err == nil {
		return &model.JobPayload{Job: j, UserErrors: []*errcode.UserError{}}, nil
	}
	if list, ok := errcode.AsUserErrors(err); ok {
		return &model.JobPayload{UserErrors: list}, nil
	}
	return nil, err
}

func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
