package booking

import (
	"cmp"
	"math/bits"
	"slices"
	"sync"
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
	// Staff bookings may ignore the minimum notice, though never book a
	// start that has already passed.
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
	earliest := q.Now
	if !q.IgnoreNotice {
		earliest = q.Now.Add(r.MinNotice)
	}
	if earliest.After(lo) {
		lo = earliest
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
// the people working it. The engine's hot loop (appendStarts) computes the
// same intervals in Unix seconds; TestEngineMatchesReference pins that.
func (c *Calendar) OpenIntervals(y int, m time.Month, d int) []Interval {
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	ranges := dayRanges(c.Weekly[date.Weekday()], c.Overrides[date.Format(time.DateOnly)])
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

// dayRanges returns a day's opening minutes, sorted and disjoint: the
// weekday's hours plus opening overrides, minus closing ones; nil when
// an override closes the whole day.
func dayRanges(weekly []MinuteRange, overrides []Override) []MinuteRange {
	if len(overrides) == 0 && sortedDisjoint(weekly) {
		return weekly
	}
	for _, o := range overrides {
		if !o.Open && o.Range == nil {
			return nil // closed all day, whatever else the day says
		}
	}
	ranges := slices.Clone(weekly)
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
	return ranges
}

// sortedDisjoint reports whether mergeRanges would return rs unchanged
// (the usual shape of stored weekly hours), so it need not be copied.
func sortedDisjoint(rs []MinuteRange) bool {
	for i, r := range rs {
		if r.Start >= r.End || (i > 0 && rs[i-1].End >= r.Start) {
			return false
		}
	}
	return true
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
	return r.slotsOf(c.plan(), q)
}

// slotsOf returns the free slots of one planned calendar, in start order.
func (r Rules) slotsOf(p *plan, q Query) []Slot {
	starts := r.appendStarts(nil, p, q)
	out := make([]Slot, len(starts))
	for i, s := range starts {
		t := time.Unix(s, 0).UTC()
		out[i] = Slot{Start: t, End: t.Add(r.Duration), PractitionerID: p.id}
	}
	return out
}

// span is an interval in Unix seconds; the hot loop works on integers
// rather than time.Time values.
type span struct{ start, end int64 }

// plan is a calendar in the form the engine walks: busy time in Unix
// seconds, sorted and merged, and the days that differ from the weekly
// hours by civil day, sorted. Calendar.plan builds it from a Calendar; an
// availability question builds it from the cached rows of a practitioner
// (calendars.go) without going through maps and time.Time values.
type plan struct {
	id     gid.ID
	loc    *time.Location
	weekly *[7][]MinuteRange
	notes  []dayNote
	busy   []span
	booked int
}

// dayNote is what a calendar says about one local date beyond its weekly
// hours: overrides and the count of appointments for the daily limit.
type dayNote struct {
	day       int64
	overrides []Override
	count     int
}

// plan converts the calendar.
func (c *Calendar) plan() *plan {
	return &plan{id: c.PractitionerID, loc: c.Location, weekly: &c.Weekly, notes: c.notes(), busy: c.busySpans(), booked: c.Booked}
}

// notes returns the calendar's overrides and day counts by civil day,
// sorted, so the day walk matches them with a moving index.
func (c *Calendar) notes() []dayNote {
	var dst []dayNote
	for k, ovs := range c.Overrides {
		if d, ok := parseDay(k); ok {
			dst = append(dst, dayNote{day: d, overrides: ovs})
		}
	}
	for k, n := range c.DayCounts {
		if d, ok := parseDay(k); ok {
			dst = append(dst, dayNote{day: d, count: n})
		}
	}
	return foldNotes(dst)
}

// foldNotes sorts notes by day and folds those of one day (a day with
// both overrides and a count appears twice).
func foldNotes(dst []dayNote) []dayNote {
	slices.SortStableFunc(dst, func(a, b dayNote) int { return cmp.Compare(a.day, b.day) })
	out := dst[:0]
	for _, n := range dst {
		if k := len(out); k > 0 && out[k-1].day == n.day {
			if len(n.overrides) > 0 {
				out[k-1].overrides = n.overrides
			}
			out[k-1].count += n.count
			continue
		}
		out = append(out, n)
	}
	return out
}

// busySpans returns the calendar's busy time in Unix seconds, sorted and
// merged.
func (c *Calendar) busySpans() []span {
	dst := make([]span, 0, len(c.Busy))
	for _, b := range c.Busy {
		if b.Start.Before(b.End) {
			dst = append(dst, span{b.Start.Unix(), b.End.Unix()})
		}
	}
	slices.SortFunc(dst, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	return mergeSpans(dst)
}

// mergeSpans merges overlapping and touching spans, sorted by start, in
// place.
func mergeSpans(dst []span) []span {
	out := dst[:0]
	for _, s := range dst {
		if k := len(out); k > 0 && s.start <= out[k-1].end {
			out[k-1].end = max(out[k-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// appendStarts appends the Unix start seconds of one practitioner's free
// slots to dst, in order.
func (r Rules) appendStarts(dst []int64, p *plan, q Query) []int64 {
	lo, hi := r.window(q)
	if !lo.Before(hi) || r.Interval <= 0 || r.Duration <= 0 {
		return dst
	}
	busy, notes := p.busy, p.notes
	loS, hiS := lo.Unix(), hi.Unix()
	dur, step := int64(r.Duration/time.Second), int64(r.Interval/time.Second)
	before, after := int64(r.BufferBefore/time.Second), int64(r.BufferAfter/time.Second)
	next := 0 // busy intervals ending before the current slot are behind us
	note := 0 // notes of earlier days are behind us
	zone := zoneDays{loc: p.loc}
	// Walk local dates from the one before lo (an interval may cross
	// midnight in UTC terms) to the one of hi.
	for day, last := dayOf(lo, p.loc)-1, dayOf(hi, p.loc); day <= last; day++ {
		for note < len(notes) && notes[note].day < day {
			note++
		}
		var overrides []Override
		if note < len(notes) && notes[note].day == day {
			if r.DailyLimit > 0 && notes[note].count >= r.DailyLimit {
				continue
			}
			overrides = notes[note].overrides
		}
		ranges := dayRanges(p.weekly[weekdayOf(day)], overrides)
		if len(ranges) == 0 {
			continue
		}
		midnight, plain := zone.midnight(day)
		for _, mr := range ranges {
			var start, end int64
			if plain {
				start, end = midnight+int64(mr.Start)*60, midnight+int64(mr.End)*60
			} else {
				y, m, d := civilDate(day)
				start, end = wallClock(y, m, d, mr.Start, p.loc).Unix(), wallClock(y, m, d, mr.End, p.loc).Unix()
				if start >= end {
					continue
				}
			}
			// Slots step in real time from the interval's start, so on a
			// change day they stay the duration long and never start in a
			// wall-clock hour that does not exist.
			for t := start; t+dur <= end; t += step {
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
func (r Rules) Available(cals []*Calendar, q Query, out *time.Location) []Slot {
	if len(cals) > maxCalendars {
		cals = cals[:maxCalendars]
	}
	plans := make([]*plan, len(cals))
	for i, c := range cals {
		plans[i] = c.plan()
	}
	wins := r.winners(plans, q)
	slots := make([]Slot, len(wins))
	for k, w := range wins {
		t := time.Unix(w.start, 0).In(out)
		slots[k] = Slot{Start: t, End: t.Add(r.Duration), PractitionerID: plans[w.cal].id}
	}
	return slots
}

// win is a slot start and the index of the calendar it went to.
type win struct {
	start int64
	cal   int
}

// winners returns each free start of plans once, with the calendar it
// goes to, in start order. Calendars are visited in order of preference
// and each start goes to the first one that offers it, recorded by the
// window's minute in an owner table (slot starts fall on whole minutes in
// every current zone); reading the table's marked minutes in order gives
// the winners sorted, with nothing hashed or sorted per start. Starts off
// the minute grid (historical zone offsets) take a merge of the
// calendars' sorted starts instead.
func (r Rules) winners(plans []*plan, q Query) []win {
	if len(plans) > maxCalendars {
		plans = plans[:maxCalendars]
	}
	order := make([]int, len(plans))
	for i := range order {
		order[i] = i
	}
	booked := func(p *plan) int { return min(max(p.booked, 0), maxBooked) }
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(booked(plans[a]), booked(plans[b])),
			cmp.Compare(plans[a].id, plans[b].id), cmp.Compare(a, b))
	})
	// All the calendars' starts in one buffer, in order of preference;
	// heads[k] and ends[k] delimit the k-th preferred calendar's. The
	// buffers are reused (twenty calendars over sixty days: about 100 KB
	// of starts and 190 KB of table).
	sc := winnersPool.Get().(*winnersScratch)
	defer winnersPool.Put(sc)
	buf := sc.starts[:0]
	defer func() { sc.starts = buf[:0] }()
	heads, ends := make([]int, len(order)), make([]int, len(order))
	for k, i := range order {
		heads[k] = len(buf)
		buf = r.appendStarts(buf, plans[i], q)
		ends[k] = len(buf)
	}
	lo, hi := r.window(q)
	base := lo.Unix() - ((lo.Unix()%60)+60)%60
	minutes := (hi.Unix()-base)/60 + 1
	onGrid := minutes > 0 && minutes <= maxTableMinutes
	for i := 0; onGrid && i < len(buf); i++ {
		onGrid = (buf[i]-base)%60 == 0 && buf[i] >= base && (buf[i]-base)/60 < minutes
	}
	if !onGrid || mergeOnly {
		return mergeWinners(buf, heads, ends, order)
	}
	if int64(len(sc.owner)) < minutes {
		sc.owner = make([]uint16, minutes)
		sc.marks = make([]uint64, minutes/64+1)
	}
	n := 0
	for k := range order {
		for _, s := range buf[heads[k]:ends[k]] {
			m := (s - base) / 60
			if sc.owner[m] == 0 {
				sc.owner[m] = uint16(k + 1)
				sc.marks[m/64] |= 1 << (m % 64)
				n++
			}
		}
	}
	wins := make([]win, 0, n)
	for w := range sc.marks[:minutes/64+1] {
		for word := sc.marks[w]; word != 0; word &= word - 1 {
			m := int64(w)*64 + int64(bits.TrailingZeros64(word))
			wins = append(wins, win{base + m*60, order[sc.owner[m]-1]})
			sc.owner[m] = 0 // the table goes back clean
		}
		sc.marks[w] = 0
	}
	return wins
}

// mergeOnly makes winners always merge; tests compare the two ways.
var mergeOnly bool

// maxTableMinutes bounds the owner table (a little over a year: 1 MB).
const maxTableMinutes = 370 * 24 * 60

// winnersScratch is what winners reuses between questions: the owner
// table and its marks are all zero between uses.
type winnersScratch struct {
	starts []int64
	owner  []uint16
	marks  []uint64
}

var winnersPool = sync.Pool{New: func() any { return &winnersScratch{} }}

// mergeWinners merges the calendars' starts (buf[heads[k]:ends[k]] for
// the k-th preferred): at every step the smallest head wins, and of equal
// heads the calendar first in order of preference; the others drop that
// start.
func mergeWinners(buf []int64, heads, ends, order []int) []win {
	for k := range heads {
		slices.Sort(buf[heads[k]:ends[k]])
	}
	var wins []win
	for {
		best := -1
		var start int64
		for k := range heads {
			if heads[k] < ends[k] && (best < 0 || buf[heads[k]] < start) {
				best, start = k, buf[heads[k]]
			}
		}
		if best < 0 {
			return wins
		}
		wins = append(wins, win{start, order[best]})
		for k := range heads {
			for heads[k] < ends[k] && buf[heads[k]] == start {
				heads[k]++
			}
		}
	}
}

// maxCalendars bounds the calendars of one query and maxBooked the booked
// count the round robin tells apart (the limits of the earlier packed
// sort keys, kept so that answers do not change).
const (
	maxCalendars = 1 << 10
	maxBooked    = 1<<20 - 1
)

func mergeRanges(in []MinuteRange) []MinuteRange {
	s := slices.Clone(in)
	slices.SortFunc(s, func(a, b MinuteRange) int { return cmp.Compare(a.Start, b.Start) })
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
