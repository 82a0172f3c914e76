package graph

import (
	"strconv"
	"testing"
	"time"
)

// TestTimeWriterMatchesTimeScalar: the slot writer's clock formats every
// time as gqlgen's Time scalar does, across clock changes, half-hour and
// 45-minute offsets, negative offsets, UTC and fractional seconds, in
// order and out of order.
func TestTimeWriterMatchesTimeScalar(t *testing.T) {
	var w timeWriter
	start := time.Date(2025, 12, 25, 0, 0, 0, 0, time.UTC)
	for _, zone := range []string{"Australia/Lord_Howe", "America/New_York", "Asia/Kathmandu", "Pacific/Apia", "America/St_Johns", "UTC"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		check := func(at time.Time) {
			got := string(w.appendQuoted(nil, at))
			if want := strconv.Quote(at.Format(time.RFC3339Nano)); got != want {
				t.Fatalf("%s: %s, want %s", zone, got, want)
			}
		}
		for s := int64(0); s < 400*86400; s += 7*60 + 13 {
			check(start.Add(time.Duration(s) * time.Second).In(loc))
		}
		for s := int64(400 * 86400); s > 0; s -= 86400*3 + 3607 {
			check(start.Add(time.Duration(s) * time.Second).In(loc))
		}
		check(start.Add(1500 * time.Millisecond).In(loc))
	}
}
