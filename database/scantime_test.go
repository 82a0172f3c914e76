package database

import (
	"testing"
	"time"
)

// TestScanTimeMatchesDriverLayouts: the fast parse of SQLite's time text
// gives the instant time.Parse gives for every layout it accepts, and
// leaves anything else to the layouts the driver tries.
func TestScanTimeMatchesDriverLayouts(t *testing.T) {
	for _, tc := range []struct{ text, layout string }{
		{"2026-12-08 09:00:00+00:00", "2006-01-02 15:04:05.999999999-07:00"},
		{"2026-12-08 09:00:00.5+11:00", "2006-01-02 15:04:05.999999999-07:00"},
		{"2026-03-01 23:59:59.123456789-05:45", "2006-01-02 15:04:05.999999999-07:00"},
		{"2028-02-29T00:00:00-03:30", "2006-01-02T15:04:05.999999999-07:00"},
		{"1969-12-31 23:59:59.000001+00:00", "2006-01-02 15:04:05.999999999-07:00"},
		{"2026-12-08 09:00:00", "2006-01-02 15:04:05.999999999"},
		{"2026-12-08T09:00:00Z", "2006-01-02T15:04:05.999999999Z07:00"},
		{"2026-12-08 09:00:00.000000", "2006-01-02 15:04:05.999999999"},
		// Not the fast layout: parsed by the driver's other layouts.
		{"2026-12-08 09:00:00.5 +1100 AEDT", "2006-01-02 15:04:05.999999999 -0700 MST"},
		{"2026-12-08 09:00", "2006-01-02 15:04"},
		{"2026-12-08", "2006-01-02"},
	} {
		want, err := time.Parse(tc.layout, tc.text)
		if err != nil {
			t.Fatalf("%s: %v", tc.text, err)
		}
		var s Time
		if err := s.Scan(tc.text); err != nil || !s.T.Equal(want) {
			t.Errorf("%s: %v (%v), want %v", tc.text, s.T, err, want)
		}
		if err := s.Scan([]byte(tc.text)); err != nil || !s.T.Equal(want) {
			t.Errorf("%s as bytes: %v (%v), want %v", tc.text, s.T, err, want)
		}
	}
	for _, bad := range []string{"", "2026-02-30 09:00:00+00:00", "2026-12-08 24:00:00", "2026-12-08 09:00:00+1100", "not a time"} {
		var s Time
		if err := s.Scan(bad); err == nil {
			t.Errorf("%q scanned as %v", bad, s.T)
		}
	}
	now := time.Now()
	var s Time
	if err := s.Scan(now); err != nil || !s.T.Equal(now) {
		t.Errorf("a driver's time.Time: %v (%v)", s.T, err)
	}
}
