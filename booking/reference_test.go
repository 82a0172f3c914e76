package booking

import (
	"cmp"
	"slices"
	"sort"
	"time"
)

// The engine as it was before it walked civil days and claimed starts in
// a bitmap, kept verbatim (renamed) as the reference that
// TestEngineMatchesReference compares the current engine with.

// OpenIntervals returns the practitioner's opening hours on the local date
// (year, month, day) as absolute intervals, sorted and disjoint. Wall-clock
// minutes are converted in the practitioner's zone on that date, so a day
// on which clocks change is shorter or longer in real time, as it is for
// the people working it.
func refOpenIntervals(c *Calendar, y int, m time.Month, d int) []Interval {
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	ranges := slices.Clone(c.Weekly[date.Weekday()])
	overrides := c.Overrides[date.Format(time.DateOnly)]
	for _, o := range overrides {
		if o.Open && o.Range != nil {
			ranges = append(ranges, *o.Range)
		}
	}
	ranges = refMergeRanges(ranges)
	for _, o := range overrides {
		if o.Open {
			continue
		}
		if o.Range == nil {
			return nil
		}
		ranges = refSubtractRange(ranges, *o.Range)
	}
	out := make([]Interval, 0, len(ranges))
	for _, r := range ranges {
		start := refWallClock(y, m, d, r.Start, c.Location)
		end := refWallClock(y, m, d, r.End, c.Location)
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
func refWallClock(y int, m time.Month, d, minute int, loc *time.Location) time.Time {
	return time.Date(y, m, d, minute/60, minute%60, 0, 0, loc)
}

// Slots returns the free slots of one practitioner, in start order.
func refSlots(r Rules, c *Calendar, q Query) []Slot {
	starts := refAppendStarts(r, nil, c, q)
	out := make([]Slot, len(starts))
	for i, s := range starts {
		t := time.Unix(s, 0).UTC()
		out[i] = Slot{Start: t, End: t.Add(r.Duration), PractitionerID: c.PractitionerID}
	}
	return out
}

// appendStarts appends the Unix start seconds of one practitioner's free
// slots to dst, in order.
func refAppendStarts(r Rules, dst []int64, c *Calendar, q Query) []int64 {
	lo, hi := r.window(q)
	if !lo.Before(hi) || r.Interval <= 0 || r.Duration <= 0 {
		return dst
	}
	merged := refMergeIntervals(c.Busy)
	busy := make([]span, len(merged))
	for i, b := range merged {
		busy[i] = span{b.Start.Unix(), b.End.Unix()}
	}
	loS, hiS := lo.Unix(), hi.Unix()
	dur, step := int64(r.Duration/time.Second), int64(r.Interval/time.Second)
	before, after := int64(r.BufferBefore/time.Second), int64(r.BufferAfter/time.Second)
	next := 0 // busy intervals ending before the current slot are behind us
	// Walk local dates from the one before lo (an interval may cross
	// midnight in UTC terms) to the one of hi.
	first := lo.In(c.Location).AddDate(0, 0, -1)
	last := hi.In(c.Location)
	lastDay := time.Date(last.Year(), last.Month(), last.Day(), 12, 0, 0, 0, time.UTC)
	for day := time.Date(first.Year(), first.Month(), first.Day(), 12, 0, 0, 0, time.UTC); !day.After(lastDay); day = day.AddDate(0, 0, 1) {
		if r.DailyLimit > 0 && c.DayCounts[day.Format(time.DateOnly)] >= r.DailyLimit {
			continue
		}
		for _, open := range refOpenIntervals(c, day.Year(), day.Month(), day.Day()) {
			// Slots step in real time from the interval's start, so on a
			// change day they stay the duration long and never start in a
			// wall-clock hour that does not exist.
			end := open.End.Unix()
			for t := open.Start.Unix(); t+dur <= end; t += step {
				if t < loS || t >= hiS {
					continue
				}
				s, e := t-before, t+dur+after
				for next < len(busy) && busy[next].end <= s {
					next++
				}
				if next < len(busy) && busy[next].start < e {
					continue
				}
				dst = append(dst, t)
			}
		}
	}
	return dst
}

// Available returns the slots of a service across calendars. With one
// calendar it is that practitioner's slots; with several ("any
// practitioner") each start time appears once, given to the least booked
// practitioner free then (ties go to the lower ID, so the answer is
// stable). Times are returned in zone out.
func refAvailable(r Rules, cals []*Calendar, q Query, out *time.Location) []Slot {
	if len(cals) > refMaxCalendars {
		cals = cals[:refMaxCalendars]
	}
	// rank orders calendars by practitioner ID for the tie-break.
	order := make([]int, len(cals))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(cals[a].PractitionerID, cals[b].PractitionerID) })
	rank := make([]uint64, len(cals))
	for r, i := range order {
		rank[i] = uint64(r)
	}
	// Each candidate is packed into one integer, start seconds | booked |
	// rank, so that sorting plain integers orders by start, then least
	// booked, then ID: much cheaper than sorting structs with a callback
	// when twenty calendars offer tens of thousands of candidates.
	var keys []uint64
	var buf []int64
	for i, c := range cals {
		booked := uint64(min(max(c.Booked, 0), 1<<refBookedBits-1))
		buf = refAppendStarts(r, buf[:0], c, q)
		for _, s := range buf {
			keys = append(keys, uint64(s)<<(refBookedBits+refRankBits)|booked<<refRankBits|rank[i])
		}
	}
	slices.Sort(keys)
	slots := make([]Slot, 0, len(keys)/max(len(cals), 1)+1)
	prev := int64(-1)
	for _, k := range keys {
		start := int64(k >> (refBookedBits + refRankBits))
		if start == prev {
			continue
		}
		prev = start
		c := cals[order[k&(1<<refRankBits-1)]]
		t := time.Unix(start, 0).In(out)
		slots = append(slots, Slot{Start: t, End: t.Add(r.Duration), PractitionerID: c.PractitionerID})
	}
	return slots
}

// Packing of Available's sort keys: 34 bits of Unix seconds (until the
// year 2514), 20 of booked count, 10 of practitioner rank.
const (
	refBookedBits   = 20
	refRankBits     = 10
	refMaxCalendars = 1 << refRankBits
)

func refMergeIntervals(in []Interval) []Interval {
	s := slices.Clone(in)
	slices.SortFunc(s, func(a, b Interval) int { return a.Start.Compare(b.Start) })
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

func refMergeRanges(in []MinuteRange) []MinuteRange {
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

func refSubtractRange(in []MinuteRange, cut MinuteRange) []MinuteRange {
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
