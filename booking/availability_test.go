package booking

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"frontdesk/gid"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// starts renders slot starts as the API does: RFC 3339 with offset.
func starts(slots []Slot) []string {
	out := []string{}
	for _, s := range slots {
		out = append(out, s.Start.Format(time.RFC3339))
	}
	return out
}

func everyDay(r MinuteRange) [7][]MinuteRange {
	var w [7][]MinuteRange
	for d := range w {
		w[d] = []MinuteRange{r}
	}
	return w
}

var hourly = Rules{Duration: time.Hour, Interval: time.Hour, HorizonDays: 365}

// TestSlotsAcrossDST pins slot times on the days clocks change in Sydney
// and New York, for a practitioner working midnight to 06:00 local: a
// spring-forward night has five real hours, a fall-back night seven.
func TestSlotsAcrossDST(t *testing.T) {
	night := MinuteRange{0, 360}
	tests := []struct {
		name     string
		zone     string
		from, to string
		want     []string
	}{
		{
			name: "New York spring forward (second Sunday of March)",
			zone: "America/New_York", from: "2026-03-08T00:00:00-05:00", to: "2026-03-08T12:00:00-04:00",
			want: []string{"2026-03-08T00:00:00-05:00", "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00",
				"2026-03-08T04:00:00-04:00", "2026-03-08T05:00:00-04:00"},
		},
		{
			name: "New York fall back (first Sunday of November)",
			zone: "America/New_York", from: "2026-11-01T00:00:00-04:00", to: "2026-11-01T12:00:00-05:00",
			want: []string{"2026-11-01T00:00:00-04:00", "2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00",
				"2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00", "2026-11-01T04:00:00-05:00", "2026-11-01T05:00:00-05:00"},
		},
		{
			name: "Sydney daylight saving ends (first Sunday of April)",
			zone: "Australia/Sydney", from: "2026-04-05T00:00:00+11:00", to: "2026-04-05T12:00:00+10:00",
			want: []string{"2026-04-05T00:00:00+11:00", "2026-04-05T01:00:00+11:00", "2026-04-05T02:00:00+11:00",
				"2026-04-05T02:00:00+10:00", "2026-04-05T03:00:00+10:00", "2026-04-05T04:00:00+10:00", "2026-04-05T05:00:00+10:00"},
		},
		{
			name: "Sydney daylight saving starts (first Sunday of October)",
			zone: "Australia/Sydney", from: "2026-10-04T00:00:00+10:00", to: "2026-10-04T12:00:00+11:00",
			want: []string{"2026-10-04T00:00:00+10:00", "2026-10-04T01:00:00+10:00", "2026-10-04T03:00:00+11:00",
				"2026-10-04T04:00:00+11:00", "2026-10-04T05:00:00+11:00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustZone(t, tt.zone)
			cal := &Calendar{PractitionerID: "prac_a", Location: loc, Weekly: everyDay(night)}
			q := Query{From: ts(t, tt.from), To: ts(t, tt.to), Now: ts(t, "2026-01-01T00:00:00Z")}
			got := starts(hourly.Available([]*Calendar{cal}, q, loc))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("slots (-want +got):\n%s", diff)
			}
			for _, s := range hourly.Slots(cal, q) {
				if d := s.End.Sub(s.Start); d != time.Hour {
					t.Errorf("slot %s lasts %s, want 1h", s.Start, d)
				}
			}
		})
	}
}

// TestSlotsForClientInAnotherZone renders a practitioner's 09:00 in the
// client's zone on both sides of a change in either zone.
func TestSlotsForClientInAnotherZone(t *testing.T) {
	workday := MinuteRange{9 * 60, 10 * 60}
	tests := []struct {
		name, practitionerZone, clientZone string
		from, to                           string
		want                               []string
	}{
		{
			name:             "Sydney practitioner, New York client, across Sydney's April change",
			practitionerZone: "Australia/Sydney", clientZone: "America/New_York",
			from: "2026-04-02T00:00:00Z", to: "2026-04-07T00:00:00Z",
			// 09:00 AEDT (+11) is 18:00 EDT the day before; from Sunday 5
			// April 09:00 AEST (+10) is 19:00 EDT.
			want: []string{"2026-04-02T18:00:00-04:00", "2026-04-03T18:00:00-04:00",
				"2026-04-04T19:00:00-04:00", "2026-04-05T19:00:00-04:00", "2026-04-06T19:00:00-04:00"},
		},
		{
			name:             "New York practitioner, Sydney client, across New York's March change",
			practitionerZone: "America/New_York", clientZone: "Australia/Sydney",
			from: "2026-03-06T00:00:00Z", to: "2026-03-10T00:00:00Z",
			// 09:00 EST (-5) is 01:00 AEDT (+11) the next day; after 8
			// March 09:00 EDT (-4) is 00:00 AEDT.
			want: []string{"2026-03-07T01:00:00+11:00", "2026-03-08T01:00:00+11:00",
				"2026-03-09T00:00:00+11:00", "2026-03-10T00:00:00+11:00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal := &Calendar{PractitionerID: "prac_a", Location: mustZone(t, tt.practitionerZone), Weekly: everyDay(workday)}
			q := Query{From: ts(t, tt.from), To: ts(t, tt.to), Now: ts(t, "2026-01-01T00:00:00Z")}
			got := starts(hourly.Available([]*Calendar{cal}, q, mustZone(t, tt.clientZone)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("slots (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSlotRules covers everything but time zones, on UTC for readability.
func TestSlotRules(t *testing.T) {
	day := MinuteRange{9 * 60, 12 * 60}
	base := Rules{Duration: 30 * time.Minute, Interval: 30 * time.Minute, HorizonDays: 30}
	from, to := ts(t, "2026-05-04T00:00:00Z"), ts(t, "2026-05-05T00:00:00Z") // a Monday
	now := ts(t, "2026-05-01T00:00:00Z")
	iv := func(a, b string) Interval { return Interval{ts(t, a), ts(t, b)} }
	rng := func(a, b int) *MinuteRange { return &MinuteRange{a, b} }
	tests := []struct {
		name  string
		rules Rules
		cal   Calendar
		query Query
		want  []string
	}{
		{
			name: "open hours in interval steps", rules: base,
			want: []string{"2026-05-04T09:00:00Z", "2026-05-04T09:30:00Z", "2026-05-04T10:00:00Z",
				"2026-05-04T10:30:00Z", "2026-05-04T11:00:00Z", "2026-05-04T11:30:00Z"},
		},
		{
			name: "appointment blocks its time", rules: base,
			cal: Calendar{Busy: []Interval{iv("2026-05-04T10:00:00Z", "2026-05-04T10:30:00Z")}},
			want: []string{"2026-05-04T09:00:00Z", "2026-05-04T09:30:00Z", "2026-05-04T10:30:00Z",
				"2026-05-04T11:00:00Z", "2026-05-04T11:30:00Z"},
		},
		{
			name:  "buffers keep a gap around busy time",
			rules: func() Rules { r := base; r.BufferBefore, r.BufferAfter = 15*time.Minute, 15*time.Minute; return r }(),
			cal:   Calendar{Busy: []Interval{iv("2026-05-04T10:00:00Z", "2026-05-04T10:30:00Z")}},
			want:  []string{"2026-05-04T09:00:00Z", "2026-05-04T11:00:00Z", "2026-05-04T11:30:00Z"},
		},
		{
			name: "minimum notice", rules: func() Rules { r := base; r.MinNotice = 2 * time.Hour; return r }(),
			query: Query{Now: ts(t, "2026-05-04T08:45:00Z")},
			want:  []string{"2026-05-04T11:00:00Z", "2026-05-04T11:30:00Z"},
		},
		{
			name: "staff ignore the minimum notice", rules: func() Rules { r := base; r.MinNotice = 2 * time.Hour; return r }(),
			query: Query{Now: ts(t, "2026-05-04T08:45:00Z"), IgnoreNotice: true},
			want: []string{"2026-05-04T09:00:00Z", "2026-05-04T09:30:00Z", "2026-05-04T10:00:00Z",
				"2026-05-04T10:30:00Z", "2026-05-04T11:00:00Z", "2026-05-04T11:30:00Z"},
		},
		{
			name: "staff never get a start that has passed", rules: func() Rules { r := base; r.MinNotice = 2 * time.Hour; return r }(),
			query: Query{Now: ts(t, "2026-05-04T10:10:00Z"), IgnoreNotice: true},
			want:  []string{"2026-05-04T10:30:00Z", "2026-05-04T11:00:00Z", "2026-05-04T11:30:00Z"},
		},
		{
			name: "booking horizon", rules: func() Rules { r := base; r.HorizonDays = 3; return r }(),
			query: Query{Now: ts(t, "2026-05-01T10:15:00Z")},
			want:  []string{"2026-05-04T09:00:00Z", "2026-05-04T09:30:00Z", "2026-05-04T10:00:00Z"},
		},
		{
			name: "daily limit reached", rules: func() Rules { r := base; r.DailyLimit = 2; return r }(),
			cal:  Calendar{DayCounts: map[string]int{"2026-05-04": 2}},
			want: []string{},
		},
		{
			name: "daily limit not reached", rules: func() Rules { r := base; r.DailyLimit = 2; r.Interval = time.Hour; return r }(),
			cal:  Calendar{DayCounts: map[string]int{"2026-05-04": 1}},
			want: []string{"2026-05-04T09:00:00Z", "2026-05-04T10:00:00Z", "2026-05-04T11:00:00Z"},
		},
		{
			name: "closed all day (public holiday)", rules: base,
			cal:  Calendar{Overrides: map[string][]Override{"2026-05-04": {{Open: false}}}},
			want: []string{},
		},
		{
			name: "closed for part of the day (a break)", rules: base,
			cal:  Calendar{Overrides: map[string][]Override{"2026-05-04": {{Range: rng(600, 690)}}}},
			want: []string{"2026-05-04T09:00:00Z", "2026-05-04T09:30:00Z", "2026-05-04T11:30:00Z"},
		},
		{
			name: "extra hours", rules: base,
			cal: Calendar{Overrides: map[string][]Override{"2026-05-04": {{Open: true, Range: rng(12*60, 13*60)}}}},
			want: []string{"2026-05-04T09:00:00Z", "2026-05-04T09:30:00Z", "2026-05-04T10:00:00Z", "2026-05-04T10:30:00Z",
				"2026-05-04T11:00:00Z", "2026-05-04T11:30:00Z", "2026-05-04T12:00:00Z", "2026-05-04T12:30:00Z"},
		},
		{
			name: "slot must end within open hours", rules: func() Rules { r := base; r.Duration = 45 * time.Minute; return r }(),
			want: []string{"2026-05-04T09:00:00Z", "2026-05-04T09:30:00Z", "2026-05-04T10:00:00Z",
				"2026-05-04T10:30:00Z", "2026-05-04T11:00:00Z"},
		},
		{
			name: "several intervals a day", rules: base,
			cal: Calendar{Weekly: func() [7][]MinuteRange {
				var w [7][]MinuteRange
				w[time.Monday] = []MinuteRange{{540, 600}, {780, 840}}
				return w
			}()},
			want: []string{"2026-05-04T09:00:00Z", "2026-05-04T09:30:00Z", "2026-05-04T13:00:00Z", "2026-05-04T13:30:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal := tt.cal
			cal.PractitionerID = "prac_a"
			cal.Location = time.UTC
			if slices.IndexFunc(cal.Weekly[:], func(r []MinuteRange) bool { return r != nil }) < 0 {
				cal.Weekly = everyDay(day)
			}
			q := tt.query
			q.From, q.To = from, to
			if q.Now.IsZero() {
				q.Now = now
			}
			got := starts(tt.rules.Available([]*Calendar{&cal}, q, time.UTC))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("slots (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAnyPractitionerPrefersLeastBooked checks the round robin: each time
// goes to the least booked practitioner who is free then.
func TestAnyPractitionerPrefersLeastBooked(t *testing.T) {
	from, to := ts(t, "2026-05-04T09:00:00Z"), ts(t, "2026-05-04T11:00:00Z")
	busyA := &Calendar{PractitionerID: gid.ID("prac_a"), Location: time.UTC, Weekly: everyDay(MinuteRange{540, 660}), Booked: 5}
	quietB := &Calendar{PractitionerID: gid.ID("prac_b"), Location: time.UTC, Weekly: everyDay(MinuteRange{540, 600}), Booked: 1}
	q := Query{From: from, To: to, Now: ts(t, "2026-05-01T00:00:00Z")}
	var got []string
	for _, s := range hourly.Available([]*Calendar{busyA, quietB}, q, time.UTC) {
		got = append(got, s.Start.Format("15:04")+" "+string(s.PractitionerID))
	}
	// 09:00 both are free and B is less booked; 10:00 only A works.
	want := []string{"09:00 prac_b", "10:00 prac_a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
