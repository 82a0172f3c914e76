package app_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"frontdesk/config"
	"frontdesk/ehrsync"
	"frontdesk/ent/appointment"
	"frontdesk/ent/job"
	"frontdesk/integrations/ehr/ehrtest"
)

// updateProfile through GraphQL queues the EHR patient update in its
// transaction when an EHR is configured and the account has booked (the
// wiring in app.New; the job itself is tested in package ehrsync).
func TestUpdateProfileQueuesEHRPatientUpdate(t *testing.T) {
	mr := ehrtest.NewMediRecords(t, "prac-1")
	s := start(t, func(c *config.Config) {
		c.EHRKind, c.EHRURL, c.EHRToken, c.EHRPracticeID, c.EHRTimeZone = "medirecords", mr.URL, ehrtest.Token, "prac-1", "Australia/Sydney"
	})
	ctx := context.Background()
	c := s.app.DB.Client
	patient := s.signUp(t, "patient@example.com", "")
	shopper := s.signUp(t, "shopper@example.com", "")
	prac := c.Practitioner.Create().SetName("Dr Ada").SetTimeZone("Australia/Sydney").SaveX(ctx)
	svc := c.Service.Create().SetName("Follow-up").SetSlug("follow-up").SetDurationMinutes(30).AddPractitioners(prac).SaveX(ctx)
	at := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Hour)
	c.Appointment.Create().SetServiceID(svc.ID).SetPractitionerID(prac.ID).SetPatientID(patient.id).SetState(appointment.StateCONFIRMED).
		SetStartAt(at).SetEndAt(at.Add(30 * time.Minute)).SetBlockedStart(at).SetBlockedEnd(at.Add(30 * time.Minute)).ExecX(ctx)

	const op = `mutation($in: UpdateProfileInput!) { updateProfile(input: $in) { user { name } userErrors { code } } }`
	for _, a := range []account{patient, shopper} {
		r := s.gqlAs(t, op, map[string]any{"in": map[string]any{"name": "New Name", "phone": "+61400000001"}}, bearer(a.token)...)
		if len(r.Errors) > 0 || field(r, "updateProfile.user.name") != "New Name" {
			t.Fatalf("updateProfile: %+v %v", r.Errors, r.Data)
		}
	}
	jobs := c.Job.Query().Where(job.Kind(ehrsync.KindPatient)).AllX(ctx)
	var p struct{ Patient string }
	if len(jobs) != 1 || json.Unmarshal(jobs[0].Payload, &p) != nil || p.Patient != string(patient.id) {
		t.Fatalf("ehr.patient jobs %+v, want one for the patient and none for the shopper", jobs)
	}
}
