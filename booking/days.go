package booking

import (
	"math"
	"time"
)

// Civil days and wall clocks without time.Time in the hot loop. A local
// date is numbered as days since 1970-01-01 (a "civil day"), so walking a
// range, finding its weekday and matching overrides are integer
// operations; converting a wall-clock minute to an instant is an addition
// on every day that lies well inside one zone period, and falls back to
// time.Date (wallClock) on the few days around a clock change.

const secondsPerDay = 86400

// civilDay returns the day number of the date (y, m, d).
func civilDay(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay
}

// civilDate returns the date of a day number.
func civilDate(day int64) (int, time.Month, int) {
	return time.Unix(day*secondsPerDay, 0).UTC().Date()
}

// weekdayOf returns the weekday of a day number (1970-01-01 was a Thursday).
func weekdayOf(day int64) time.Weekday {
	return time.Weekday(((day+int64(time.Thursday))%7 + 7) % 7)
}

// parseDay reads a YYYY-MM-DD key as a day number. Keys that are not
// dates report false and match no day, as they never matched before.
func parseDay(s string) (int64, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	n := func(s string) (int, bool) {
		v := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			v = v*10 + int(s[i]-'0')
		}
		return v, true
	}
	y, ok1 := n(s[:4])
	m, ok2 := n(s[5:7])
	d, ok3 := n(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, false
	}
	day := civilDay(y, time.Month(m), d)
	if yy, mm, dd := civilDate(day); yy != y || int(mm) != m || dd != d { // 2026-02-31
		return 0, false
	}
	return day, true
}

// dayOf returns the civil day of t in loc.
func dayOf(t time.Time, loc *time.Location) int64 {
	return civilDay(t.In(loc).Date())
}

// zoneDays maps wall-clock minutes of successive days of one zone to Unix
// seconds, remembering the zone period (constant offset) it last saw.
type zoneDays struct {
	loc        *time.Location
	valid      bool
	offset     int64
	start, end int64 // the period [start, end) in Unix seconds
}

// midnight returns the Unix second of the day's 00:00 when every
// wall-clock minute of the day (0 to 1440) is midnight + 60·minute, which
// is what time.Date gives as long as the day and a day either side lie in
// one zone period: then time.Date's first lookup already lands in that
// period. Days near a clock change report false; use wallClock for them.
func (z *zoneDays) midnight(day int64) (int64, bool) {
	if z.valid {
		if t := day*secondsPerDay - z.offset; z.covers(t) {
			return t, true
		}
	}
	y, m, d := civilDate(day)
	t0 := time.Date(y, m, d, 0, 0, 0, 0, z.loc)
	_, off := t0.Zone()
	start, end := t0.ZoneBounds()
	z.valid, z.offset, z.start, z.end = true, int64(off), math.MinInt64, math.MaxInt64
	if !start.IsZero() {
		z.start = start.Unix()
	}
	if !end.IsZero() {
		z.end = end.Unix()
	}
	if t := day*secondsPerDay - z.offset; t == t0.Unix() && z.covers(t) {
		return t, true
	}
	return 0, false
}

func (z *zoneDays) covers(t int64) bool {
	return z.start <= t-secondsPerDay && t+2*secondsPerDay < z.end
}
