package calendarsync

import (
	"context"
	"testing"
	"time"

	"frontdesk/database"
	"frontdesk/ent/calendarsubscription"
	"frontdesk/gid"
	"frontdesk/internal/testenv"
)

// SubscriptionStats counts every state (zero included) and reports the
// first expiry among ACTIVE and FAILING subscriptions only.
func TestSubscriptionStats(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	ctx := context.Background()
	s := New(db.Client, nil, Options{})
	expiry := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	for i, st := range []calendarsubscription.State{calendarsubscription.StatePENDING, calendarsubscription.StateFAILING,
		calendarsubscription.StateACTIVE, calendarsubscription.StateACTIVE} {
		create := db.Client.CalendarSubscription.Create().SetLinkID(gid.New("cal")).SetClientState("s").SetState(st)
		// The PENDING one expires first but has no live subscription.
		create.SetExpiresAt(expiry.Add(time.Duration(i-3) * time.Hour))
		create.ExecX(ctx)
	}
	got, err := s.SubscriptionStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.ByState["ACTIVE"] != 2 || got.ByState["FAILING"] != 1 || got.ByState["PENDING"] != 1 {
		t.Errorf("by state: %v", got.ByState)
	}
	if !got.NextExpiry.Equal(expiry.Add(-2 * time.Hour)) {
		t.Errorf("next expiry %v, want the FAILING one's %v", got.NextExpiry, expiry.Add(-2*time.Hour))
	}
}
