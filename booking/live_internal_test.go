package booking

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"frontdesk/ent"
	"frontdesk/events"
	"frontdesk/gid"
)

// A watcher of a service's availability gets the changes of its
// practitioners only, and on a resync one change per practitioner over
// the whole horizon at once, instead of waiting for the next change.
func TestAvailabilityChanges(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	p1, p2, other := gid.ID("prc_1"), gid.ID("prc_2"), gid.ID("prc_3")
	svc := &ent.Service{ID: "svc_1", HorizonDays: 60}
	w := &availabilityWatch{service: svc.ID, horizon: 60, offered: map[gid.ID]bool{p1: true, p2: true}, practitioners: []gid.ID{p1, p2}}
	change := func(p gid.ID) events.Event {
		data, err := json.Marshal(AvailabilityChange{PractitionerID: p, ServiceID: svc.ID, From: now, To: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return events.Event{Topic: topicAvailability, Data: data}
	}
	for _, tc := range []struct {
		name string
		ev   events.Event
		want []*AvailabilityChange
	}{
		{"a change of an offering practitioner", change(p1),
			[]*AvailabilityChange{{PractitionerID: p1, ServiceID: svc.ID, From: now, To: now.Add(time.Hour)}}},
		{"a change of another practitioner", change(other), nil},
		{"an undecodable event", events.Event{Topic: topicAvailability, Data: []byte("{")}, nil},
		{"a resync: every practitioner, the whole horizon", events.Event{Topic: topicAvailability, Resync: true},
			[]*AvailabilityChange{
				{PractitionerID: p1, ServiceID: svc.ID, From: now, To: now.AddDate(0, 0, 60)},
				{PractitionerID: p2, ServiceID: svc.ID, From: now, To: now.AddDate(0, 0, 60)},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := availabilityChanges(tc.ev, w, now)
			if ok != (tc.want != nil) {
				t.Fatalf("ok = %v", ok)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
	// The same event is decoded once for all its watchers, which share
	// the value; another event with the same bytes is decoded afresh.
	ev := change(p1)
	a, _ := availabilityChanges(ev, w, now)
	b, _ := availabilityChanges(ev, w, now)
	c, _ := availabilityChanges(change(p1), w, now)
	if a[0] != b[0] || a[0] == c[0] || *a[0] != *c[0] {
		t.Errorf("decoding: same event shared %v, new event shared %v", a[0] == b[0], a[0] == c[0])
	}
}
