package calendarsync

import (
	"context"
	"fmt"

	"frontdesk/ent/calendarsubscription"
	"frontdesk/telemetry"
)

// SubscriptionStats counts the Graph change-notification subscriptions by
// state and finds the first to expire, for /metrics. There is one
// subscription per synced mailbox: a few rows at most.
func (s *Sync) SubscriptionStats(ctx context.Context) (telemetry.SubscriptionStats, error) {
	subs, err := s.client.CalendarSubscription.Query().
		Select(calendarsubscription.FieldState, calendarsubscription.FieldExpiresAt).All(ctx)
	if err != nil {
		return telemetry.SubscriptionStats{}, fmt.Errorf("read calendar subscriptions: %w", err)
	}
	stats := telemetry.SubscriptionStats{ByState: map[string]int{}}
	for _, st := range []calendarsubscription.State{calendarsubscription.StatePENDING, calendarsubscription.StateACTIVE, calendarsubscription.StateFAILING} {
		stats.ByState[string(st)] = 0
	}
	for _, sub := range subs {
		stats.ByState[string(sub.State)]++
		if sub.State != calendarsubscription.StatePENDING && sub.ExpiresAt != nil &&
			(stats.NextExpiry.IsZero() || sub.ExpiresAt.Before(stats.NextExpiry)) {
			stats.NextExpiry = *sub.ExpiresAt
		}
	}
	return stats, nil
}
