package app_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"frontdesk/ent/job"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
	"frontdesk/outbox"
)

// TestRetentionTasks: the app declares the nightly retention tasks, and
// their jobs, run by the real worker, delete what outlived its retention
// and keep the rest.
func TestRetentionTasks(t *testing.T) {
	s := start(t, nil)
	ctx := context.Background()
	c := s.app.DB.Client
	kinds := []string{"identity.prune_sessions", "identity.prune_tokens", "payments.prune_webhook_events", "commerce.prune_carts",
		"booking.prune_counters"}
	var declared []string
	for _, task := range s.app.Jobs.Tasks() {
		declared = append(declared, task.Name)
	}
	for _, k := range kinds {
		if !slices.Contains(declared, k) {
			t.Fatalf("task %s not declared; have %v", k, declared)
		}
	}
	in, err := s.app.Identity.Register(identity.WithClient(ctx, identity.Client{IP: "10.0.0.1", UserAgent: "live"}),
		identity.RegisterInput{Email: "pat@example.com", Password: "a long passphrase", Name: "Pat"})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().UTC().Add(-60 * 24 * time.Hour)
	c.Session.Create().SetUserID(in.User.ID).SetTokenHash("0000000000000000000000000000000000000000000000000000000000000001").
		SetUserAgent("old").SetExpiresAt(old).SetLastUsedAt(old).ExecX(ctx)
	c.OneTimeToken.Create().SetUserID(in.User.ID).SetPurpose("RESET_PASSWORD").SetEmail("old").
		SetTokenHash("0000000000000000000000000000000000000000000000000000000000000002").SetExpiresAt(old).ExecX(ctx)
	c.WebhookEvent.Create().SetProvider("stripe").SetEventID("evt_old").SetType("x").SetCreatedAt(old).ExecX(ctx)
	c.WebhookEvent.Create().SetProvider("stripe").SetEventID("evt_new").SetType("x").ExecX(ctx)
	c.Cart.Create().SetCurrency("AUD").SetTokenHash("old").SetEmail("old").SetCreatedAt(old).SetUpdatedAt(old).ExecX(ctx)
	c.Cart.Create().SetCurrency("AUD").SetTokenHash("new").SetEmail("new").ExecX(ctx)
	c.HolderHolds.Create().SetHolderKey("ip:198.51.100.0/24").SetUpdatedAt(old).ExecX(ctx)
	c.HolderHolds.Create().SetHolderKey("usr_holding").SetHolds(1).SetUpdatedAt(old).ExecX(ctx)
	c.PractitionerDay.Create().SetPractitionerID("prc_x").SetServiceID("svc_x").SetDay(old.Format(time.DateOnly)).ExecX(ctx)
	c.PractitionerDay.Create().SetPractitionerID("prc_x").SetServiceID("svc_x").SetDay(time.Now().UTC().Format(time.DateOnly)).ExecX(ctx)

	for _, k := range kinds {
		if _, err := outbox.EnqueueDirect(ctx, c, outbox.Job{Kind: k, Payload: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 30*time.Second, "retention jobs done", func() bool {
		return c.Job.Query().Where(job.KindIn(kinds...), job.StateNEQ(job.StateSUCCEEDED)).CountX(ctx) == 0
	})
	var sessions, carts, events []string
	for _, x := range c.Session.Query().AllX(ctx) {
		sessions = append(sessions, x.UserAgent)
	}
	for _, x := range c.Cart.Query().AllX(ctx) {
		carts = append(carts, x.Email)
	}
	for _, x := range c.WebhookEvent.Query().AllX(ctx) {
		events = append(events, x.EventID)
	}
	tokens := c.OneTimeToken.Query().AllX(ctx)
	if h := c.HolderHolds.Query().AllX(ctx); len(h) != 1 || h[0].HolderKey != "usr_holding" {
		t.Fatalf("hold counters left: %v", h)
	}
	if d := c.PractitionerDay.Query().AllX(ctx); len(d) != 1 || d[0].Day != time.Now().UTC().Format(time.DateOnly) {
		t.Fatalf("day counters left: %v", d)
	}
	if !slices.Equal(sessions, []string{"live"}) || !slices.Equal(carts, []string{"new"}) || !slices.Equal(events, []string{"evt_new"}) ||
		len(tokens) != 1 || tokens[0].Email != "pat@example.com" {
		t.Fatalf("left: sessions %q, carts %q, webhook events %q, %d tokens", sessions, carts, events, len(tokens))
	}
}
