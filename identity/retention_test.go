package identity_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/onetimetoken"
	"frontdesk/ent/session"
	"frontdesk/outbox"
)

const day = 24 * time.Hour

// TestSweepSessions: sessions that ended (expired, idle past the idle
// timeout, signed out) more than the retention ago are deleted, at most
// limit per batch; live sessions and those that ended recently are kept.
func TestSweepSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := e.register(t, "kept@example.com") // a live session
	now := time.Now().UTC()
	at := func(d time.Duration) time.Time { return now.Add(d) }
	// The idle timeout is the default 7 days; the retention 30 days.
	for i, s := range []struct {
		label             string
		expires, lastUsed time.Time
		revoked           *time.Time
	}{
		{"live", at(20 * day), at(-time.Hour), nil},
		{"expired 31 days ago", at(-31 * day), at(-32 * day), nil},
		{"expired yesterday", at(-day), at(-2 * day), nil},
		{"signed out 31 days ago", at(300 * day), at(-31 * day), ptr(at(-31 * day))},
		{"signed out yesterday", at(300 * day), at(-day), ptr(at(-day))},
		{"idle, ended 31 days ago", at(300 * day), at(-38 * day), nil},
		{"idle, ended 29 days ago", at(300 * day), at(-36 * day), nil},
	} {
		c := e.client.Session.Create().SetUserID(in.User.ID).SetTokenHash(fmt.Sprintf("%064d", i)).
			SetUserAgent(s.label).SetExpiresAt(s.expires).SetLastUsedAt(s.lastUsed).SetNillableRevokedAt(s.revoked)
		if err := c.Exec(ctx); err != nil {
			t.Fatalf("%s: %v", s.label, err)
		}
	}
	left := func() []string {
		var out []string
		for _, s := range e.client.Session.Query().Order(ent.Asc(session.FieldUserAgent)).AllX(ctx) {
			out = append(out, s.UserAgent)
		}
		return out
	}
	before := now.Add(-30 * day)
	// One batch deletes no more than its limit, however many rows qualify.
	if n, err := e.svc.SweepSessions(ctx, before, 2); err != nil || n != 2 {
		t.Fatalf("one batch of 2: deleted %d, %v", n, err)
	}
	if got := len(left()); got != 6 {
		t.Fatalf("%d sessions after one batch of 2, want 6", got)
	}
	if n, err := outbox.Drain(ctx, e.svc.SweepSessions, before, 2); err != nil || n != 1 {
		t.Fatalf("drain: deleted %d, %v", n, err)
	}
	want := []string{"expired yesterday", "idle, ended 29 days ago", "live", "signed out yesterday", "test"}
	if got := left(); !slices.Equal(got, want) {
		t.Fatalf("sessions left %q, want %q", got, want)
	}
	// The live session still works.
	if _, err := e.svc.Authenticate(ctx, in.Token); err != nil {
		t.Fatalf("the live session after the sweep: %v", err)
	}
}

// TestSweepTokens: emailed-link tokens spent or expired more than the
// retention ago are deleted in bounded batches; the rest are kept.
func TestSweepTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := e.register(t, "pat@example.com") // also mails a verification token
	now := time.Now().UTC()
	at := func(d time.Duration) time.Time { return now.Add(d) }
	for i, tok := range []struct {
		label   string
		expires time.Time
		used    *time.Time
	}{
		{"unused", at(time.Hour), nil},
		{"used 31 days ago", at(-30*day + time.Hour), ptr(at(-31 * day))},
		{"used yesterday", at(time.Hour), ptr(at(-day))},
		{"expired 31 days ago", at(-31 * day), nil},
		{"expired 32 days ago", at(-32 * day), nil},
		{"expired yesterday", at(-day), nil},
	} {
		err := e.client.OneTimeToken.Create().SetUserID(in.User.ID).SetPurpose(onetimetoken.PurposeRESET_PASSWORD).
			SetTokenHash(fmt.Sprintf("%064d", i)).SetEmail(tok.label).SetExpiresAt(tok.expires).SetNillableUsedAt(tok.used).Exec(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tok.label, err)
		}
	}
	before := now.Add(-30 * day)
	if n, err := e.svc.SweepTokens(ctx, before, 2); err != nil || n != 2 {
		t.Fatalf("one batch of 2: deleted %d, %v", n, err)
	}
	if n, err := outbox.Drain(ctx, e.svc.SweepTokens, before, 2); err != nil || n != 1 {
		t.Fatalf("drain: deleted %d, %v", n, err)
	}
	var got []string
	for _, tok := range e.client.OneTimeToken.Query().Order(ent.Asc(onetimetoken.FieldEmail)).AllX(ctx) {
		got = append(got, tok.Email)
	}
	want := []string{"expired yesterday", "pat@example.com", "unused", "used yesterday"}
	if !slices.Equal(got, want) {
		t.Fatalf("tokens left %q, want %q", got, want)
	}
}

func ptr[T any](v T) *T { return &v }
