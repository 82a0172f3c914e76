package booking

import (
	"slices"
	"sort"
	"time"

	"frontdesk/gid"
)

// This file is the availability engine proper: pure functions from a
// service's rules and each practitioner's calendar to bookable slots. It
// touches no database, so its DST behaviour is pinned by table tests.

// ClaimUnit is the granularity of slot claims (see claims.go). Service
// durations, buffers, slot intervals and opening hours are multiples of it,
// so a slot always covers whole units.
const ClaimUnit = 5 * time.Minute

// MinuteRange is an interval of local wall-clock minutes within one day,
// [Start, End), with 0 ≤ Start < End ≤ 1440.
type MinuteRange struct{ Start, End int }

// Interval is an absolute time interval [Start, End).
type Interval struct{ Start, End time.Time }

func (i Interval) overlaps(o Interval) bool { return i.Start.Before(o.End) && o.Start.Before(i.End) }

// Override changes one local date: Open adds Range; a closing override
// removes Range, or the whole day when Range is nil.
type Override struct {
	Open  bool
	Range *MinuteRange
}

// Rules are the parts of a service that shape its slots.
type Rules struct {
	Duration     time.Duration
	BufferBefore time.Duration
	BufferAfter  time.Duration
	Interval     time.Duration
	MinNotice    time.Duration
	HorizonDays  int
	// DailyLimit caps appointments of this service per practitioner and
	// local day; 0 means no cap.
	DailyLimit int
}

// Calendar is everything the engine needs to know about one practitioner
// for one query.
type Calendar struct {
	PractitionerID gid.ID
	Location       *time.Location
	// Weekly holds each weekday's opening intervals, indexed by time.Weekday.
	Weekly [7][]MinuteRange
	// Overrides by local date (YYYY-MM-DD).
	Overrides map[string][]Override
	// Busy is time already taken: appointments widened by their buffers,
	// active holds and external busy blocks. Any order, may overlap.
	Busy []Interval
	// DayCounts is the number of active appointments of the queried
	// service per local date, for the daily limit.
	DayCounts map[string]int
	// Booked is the practitioner's number of active appointments in the
	// queried period; "any practitioner" prefers the least booked.
	Booked int
}

// Slot is a bookable time with a practitioner.
type Slot struct {
	Start, End     time.Time
	PractitionerID gid.ID
}

// Query is one availability question.
type Query struct {
	From, To time.Time
	Now      time.Time
	// Staff bookings may ignore the minimum notice.
	IgnoreNotice bool
}

// Span returns the interval a slot starting at start blocks: the slot
// widened by the service's buffers. Claims and the busy check both use it,
// so what the engine offers and what the database accepts agree.
func (r Rules) Span(start time.Time) Interval {
	return Interval{Start: start.Add(-r.BufferBefore), End: start.Add(r.Duration + r.BufferAfter)}
}

// window returns the range of slot starts allowed by notice and horizon.
func (r Rules) window(q Query) (lo, hi time.Time) {
	lo, hi = q.From, q.To
	if !q.IgnoreNotice {
		if n := q.Now.Add(r.MinNotice); n.After(lo) {
			lo = n
		}
	}
	if h := q.Now.AddDate(0, 0, r.HorizonDays); h.Before(hi) {
		hi = h
	}
	return lo, hi
}

// OpenIntervals returns the practitioner's opening hours on the local date
// (year, month, day) as absolute intervals, sorted and disjoint. Wall-clock
// minutes are converted in the practitioner's zone on that date, so a day
// on which clocks change is shorter or longer in real time, as it is for
// the people working it.
func (c *Calendar) OpenIntervals(y int, m time.Month, d int) []Interval {
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	ranges := slices.Clone(c.Weekly[date.Weekday()])
	overrides := c.Overrides[date.Format(time.DateOnly)]
	for _, o := range overrides {
		if o.Open && o.Range != nil {
			ranges = append(ranges, *o.Range)
		}
	}
	ranges = mergeRanges(ranges)
	for _, o := range overrides {
		if o.Open {
			continue
		}
		if o.Range == nil {
			return nil
		}
		ranges = subtractRange(ranges, *o.Range)
	}
	out := make([]Interval, 0, len(ranges))
	for _, r := range ranges {
		start := wallClock(y, m, d, r.Start, c.Location)
		end := wallClock(y, m, d, r.End, c.Location)
		if start.Before(end) {
			out = append(out, Interval{Start: start, End: end})
		}
	}
	return out
}

// wallClock returns the instant the practitioner's clock shows minute of
// the local date. Minute 1440 is the next midnight. A wall-clock time that
// does not exist (skipped by a spring-forward change) resolves the way
// time.Date does, to the instant just after the gap.
func wallClock(y int, m time.Month, d, minute int, loc *time.Location) time.Time {
	return time.Date(y, m, d, minute/60, minute%60, 0, 0, loc)
}

// Slots returns the free slots of one practitioner, in start order.
func (r Rules) Slots(c *Calendar, q Query) []Slot {
	lo, hi := r.window(q)
	if !lo.Before(hi) || r.Interval <= 0 || r.Duration <= 0 {
		return nil
	}
	busy := mergeIntervals(c.Busy)
	var out []Slot
	// Walk local dates from the one before lo (an interval may cross
	// midnight in UTC terms) to the one of hi.
	first := lo.In(c.Location).AddDate(0, 0, -1)
	last := hi.In(c.Location)
	for day := time.Date(first.Year(), first.Month(), first.Day(), 12, 0, 0, 0, time.UTC); ; day = day.AddDate(0, 0, 1) {
		if day.After(time.Date(last.Year(), last.Month(), last.Day(), 12, 0, 0, 0, time.UTC)) {
			break
		}
		dateKey := day.Format(time.DateOnly)
		if r.DailyLimit > 0 && c.DayCounts[dateKey] >= r.DailyLimit {
			continue
		}
		for _, open := range c.OpenIntervals(day.Year(), day.Month(), day.Day()) {
			// Slots step in real time from the interval's start, so on a
			// change day they stay the duration long and never start in a
			// wall-clock hour that does not exist.
			for t := open.Start; !t.Add(r.Duration).After(open.End); t = t.Add(r.Interval) {
				if t.Before(lo) || !t.Before(hi) {
					continue
				}
				if isBusy(busy, r.Span(t)) {
					continue
				}
				out = append(out, Slot{Start: t, End: t.Add(r.Duration), PractitionerID: c.PractitionerID})
			}
		}
	}
	return out
}

// Available returns the slots of a service across calendars. With one
// calendar it is that practitioner's slots; with several ("any
// practitioner") each start time appears once, given to the least booked
// practitioner free then (ties go to the lower ID, so the answer is
// stable). Times are returned in zone out.
func (r Rules) Available(cals []*Calendar, q Query, out *time.Location) []Slot {
	type pick struct {
		slot   Slot
		booked int
	}
	best := map[int64]pick{}
	for _, c := range cals {
		for _, s := range r.Slots(c, q) {
			k := s.Start.Unix()
			p, ok := best[k]
			if !ok || c.Booked < p.booked || (c.Booked == p.booked && s.PractitionerID < p.slot.PractitionerID) {
				best[k] = pick{slot: s, booked: c.Booked}
			}
		}
	}
	slots := make([]Slot, 0, len(best))
	for _, p := range best {
		p.slot.Start = p.slot.Start.In(out)
		p.slot.End = p.slot.End.In(out)
		slots = append(slots, p.slot)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].Start.Before(slots[j].Start) })
	return slots
}

// isBusy reports whether span overlaps any interval of busy, which is
// sorted and disjoint.
func isBusy(busy []Interval, span Interval) bool {
	i := sort.Search(len(busy), func(i int) bool { return busy[i].End.After(span.Start) })
	return i < len(busy) && busy[i].Start.Before(span.End)
}

func mergeIntervals(in []Interval) []Interval {
	s := slices.Clone(in)
	sort.Slice(s, func(i, j int) bool { return s[i].Start.Before(s[j].Start) })
	var out []Interval
	for _, iv := range s {
		if !iv.Start.Before(iv.End) {
			continue
		}
		if n := len(out); n > 0 && !iv.Start.After(out[n-1].End) {
			if iv.End.After(out[n-1].End) {
				out[n-1].End = iv.End
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

func mergeRanges(in []MinuteRange) []MinuteRange {
	s := slices.Clone(in)
	sort.Slice(s, func(i, j int) bool { return s[i].Start < s[j].Start })
	var out []MinuteRange
	for _, r := range s {
		if r.Start >= r.End {
			continue
		}
		if n := len(out); n > 0 && r.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

func subtractRange(in []MinuteRange, cut MinuteRange) []MinuteRange {
	var out []MinuteRange
	for _, r := range in {
		if cut.End <= r.Start || cut.Start >= r.End {
			out = append(out, r)
			continue
		}
		if r.Start < cut.Start {
			out = append(out, MinuteRange{r.Start, cut.Start})
		}
		if cut.End < r.End {
			out = append(out, MinuteRange{cut.End, r.End})
		}
	}
	return out
}
