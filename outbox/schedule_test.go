package outbox

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/database"
	"frontdesk/ent/job"
	"frontdesk/internal/testenv"
)

func TestSchedulePrev(t *testing.T) {
	sydney, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		spec string
		loc  *time.Location
		now  string
		want string
	}{
		{"*/5 * * * *", nil, "2026-03-01T10:07:30Z", "2026-03-01T10:05:00Z"},
		{"*/5 * * * *", nil, "2026-03-01T10:05:00Z", "2026-03-01T10:05:00Z"},
		{"0 2 * * *", nil, "2026-03-01T01:59:00Z", "2026-02-28T02:00:00Z"},
		{"@daily", nil, "2026-03-01T13:00:00Z", "2026-03-01T00:00:00Z"},
		{"@hourly", nil, "2026-03-01T13:59:59Z", "2026-03-01T13:00:00Z"},
		{"30 9 * * 1-5", nil, "2026-03-01T12:00:00Z", "2026-02-27T09:30:00Z"}, // Sunday -> Friday
		{"0 0 1 * *", nil, "2026-03-15T00:00:00Z", "2026-03-01T00:00:00Z"},
		{"0 0 29 2 *", nil, "2026-03-15T00:00:00Z", "2024-02-29T00:00:00Z"},
		{"15,45 8-10 * * *", nil, "2026-03-01T10:20:00Z", "2026-03-01T10:15:00Z"},
		{"0 0 13 * 5", nil, "2026-03-14T00:00:00Z", "2026-03-13T00:00:00Z"}, // 13th or Friday
		{"0 0 * * 7", nil, "2026-03-03T00:00:00Z", "2026-03-01T00:00:00Z"},  // 7 is Sunday
		{"@every 15m", nil, "2026-03-01T10:29:00Z", "2026-03-01T10:15:00Z"},
		// 02:30 local does not exist on 2026-10-04 in Sydney (clocks jump
		// 02:00 -> 03:00): the latest firing is the day before.
		{"30 2 * * *", sydney, "2026-10-04T03:30:00+11:00", "2026-10-03T02:30:00+10:00"},
		{"0 9 * * *", sydney, "2026-01-10T08:00:00+11:00", "2026-01-09T09:00:00+11:00"},
	}
	for _, tt := range tests {
		s, err := ParseSchedule(tt.spec, tt.loc)
		if err != nil {
			t.Fatalf("%s: %v", tt.spec, err)
		}
		got, ok := s.Prev(at(tt.now))
		if !ok || !got.Equal(at(tt.want)) {
			t.Errorf("Prev(%q, %s) = %s, %v; want %s", tt.spec, tt.now, got, ok, tt.want)
		}
	}
	never, err := ParseSchedule("0 0 31 2 *", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := never.Prev(at("2026-03-01T00:00:00Z")); ok {
		t.Errorf("31 February fired at %s", got)
	}
}

func TestParseScheduleRejects(t *testing.T) {
	for _, spec := range []string{"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "5-1 * * * *", "*/0 * * * *", "@every 30s", "@every 90s", "@yearly-ish", "a * * * *"} {
		if _, err := ParseSchedule(spec, nil); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", spec)
		}
	}
}

// Two replicas ticking in the same period enqueue one job; the next
// period gets its own.
func TestRecurringTaskRunsOncePerPeriodAcrossReplicas(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	ctx := context.Background()
	var runs atomic.Int32
	reg := NewRegistry()
	reg.Every("0 3 * * *", Kind{Name: "nightly", Handler: func(ctx context.Context, r *Running) error { runs.Add(1); return nil }})
	day1 := time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	var clock atomic.Pointer[time.Time]
	clock.Store(&day1)
	now := func() time.Time { return *clock.Load() }
	a := newWorker(db, reg, Options{ID: "a", Now: now})
	b := newWorker(db, reg, Options{ID: "b", Now: now})
	for range 3 {
		for _, w := range []*Worker{a, b} {
			if err := w.schedule(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	drain(t, a)
	drain(t, b)
	clock.Store(&day2)
	for _, w := range []*Worker{a, b} {
		if err := w.schedule(ctx); err != nil {
			t.Fatal(err)
		}
		drain(t, w)
	}
	if runs.Load() != 2 {
		t.Fatalf("nightly ran %d times over two days", runs.Load())
	}
	keys := db.Client.Job.Query().Where(job.Kind("nightly")).Order(job.ByRunAt()).Select(job.FieldIdempotencyKey).StringsX(ctx)
	want := []string{"cron:nightly:2026-03-01T03:00:00Z", "cron:nightly:2026-03-02T03:00:00Z"}
	if len(keys) != 2 || keys[0] != want[0] || keys[1] != want[1] {
		t.Fatalf("keys = %v, want %v", keys, want)
	}
}

func TestPruneKeepsDeadAndRecentJobs(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	ctx := context.Background()
	old := dbTime(time.Now().Add(-30 * 24 * time.Hour))
	mk := func(key string, state job.State, finished time.Time) {
		db.Client.Job.Create().SetKind("k").SetIdempotencyKey(key).SetRunAt(old).SetState(state).SetFinishedAt(finished).ExecX(ctx)
	}
	mk("old-done", job.StateSUCCEEDED, old)
	mk("old-cancelled", job.StateCANCELLED, old)
	mk("old-dead", job.StateDEAD, old)
	mk("new-done", job.StateSUCCEEDED, dbTime(time.Now()))
	mk("cron:x:2026", job.StateSUCCEEDED, old)
	n, err := Prune(ctx, db.Client, time.Now().Add(-7*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	left := db.Client.Job.Query().Order(job.ByIdempotencyKey()).Select(job.FieldIdempotencyKey).StringsX(ctx)
	if len(left) != 3 || left[0] != "cron:x:2026" || left[1] != "new-done" || left[2] != "old-dead" {
		t.Fatalf("left %v", left)
	}
}
