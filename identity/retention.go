package identity

import (
	"context"
	"fmt"
	"time"

	"frontdesk/ent/onetimetoken"
	"frontdesk/ent/session"
)

// SweepSessions deletes at most limit sessions that ended before the
// given time: past their absolute expiry, idle for longer than
// IdleTimeout, or signed out (revoked). A session that ended can never be
// used again, so its row only answers "which devices were signed in", and
// only for the retention window. It is an outbox.Sweep.
func (s *Service) SweepSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	before = before.UTC()
	ids, err := s.client.Session.Query().Where(session.Or(
		session.ExpiresAtLT(before),
		session.RevokedAtLT(before),
		session.LastUsedAtLT(before.Add(-s.opts.IdleTimeout)),
	)).Limit(limit).IDs(ctx)
	if err != nil || len(ids) == 0 {
		return 0, sweepErr("find ended sessions", err)
	}
	n, err := s.client.Session.Delete().Where(session.IDIn(ids...)).Exec(ctx)
	return n, sweepErr("delete ended sessions", err)
}

// SweepTokens deletes at most limit emailed-link tokens (email
// verification, password reset) spent or expired before the given time;
// neither can be used again. It is an outbox.Sweep.
func (s *Service) SweepTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	before = before.UTC()
	ids, err := s.client.OneTimeToken.Query().Where(onetimetoken.Or(
		onetimetoken.ExpiresAtLT(before),
		onetimetoken.UsedAtLT(before),
	)).Limit(limit).IDs(ctx)
	if err != nil || len(ids) == 0 {
		return 0, sweepErr("find spent tokens", err)
	}
	n, err := s.client.OneTimeToken.Delete().Where(onetimetoken.IDIn(ids...)).Exec(ctx)
	return n, sweepErr("delete spent tokens", err)
}

func sweepErr(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
