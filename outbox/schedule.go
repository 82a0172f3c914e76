package outbox

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed recurring schedule. Two forms are accepted:
//
//   - five cron fields "minute hour day-of-month month day-of-week", each
//     "*", a number, a range "a-b", a list "a,b" or a step "*/n" or "a-b/n"
//     (day-of-week 0-7, 0 and 7 both Sunday; when both day fields are
//     restricted a day matching either fires, as in Vixie cron), and the
//     shorthands @hourly, @daily (midnight), @weekly (Sunday midnight) and
//     @monthly;
//   - "@every <duration>", such as "@every 15m", for periods counted from
//     the Unix epoch (so every replica agrees on where a period starts).
//
// Times are evaluated in the schedule's location (UTC unless set).
type Schedule struct {
	spec                       string
	minute, hour, dom, mon, dw uint64
	domStar, dowStar           bool
	every                      time.Duration
	loc                        *time.Location
}

// ParseSchedule parses spec in loc (nil means UTC).
func ParseSchedule(spec string, loc *time.Location) (Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	s := Schedule{spec: spec, loc: loc}
	spec = strings.TrimSpace(spec)
	switch spec {
	case "@hourly":
		spec = "0 * * * *"
	case "@daily", "@midnight":
		spec = "0 0 * * *"
	case "@weekly":
		spec = "0 0 * * 0"
	case "@monthly":
		spec = "0 0 1 * *"
	}
	if rest, ok := strings.CutPrefix(spec, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d < time.Minute || d%time.Minute != 0 {
			return s, fmt.Errorf("schedule %q: @every needs a whole number of minutes, at least 1m", s.spec)
		}
		s.every = d
		return s, nil
	}
	fields := strings.Fields(spec)
	if len(fields) != 5 {
		return s, fmt.Errorf("schedule %q: want 5 fields (minute hour day month weekday) or @every <duration>", s.spec)
	}
	var err error
	parse := func(i int, lo, hi int) uint64 {
		if err != nil {
			return 0
		}
		var set uint64
		set, err = parseField(fields[i], lo, hi)
		if err != nil {
			err = fmt.Errorf("schedule %q: field %d: %w", s.spec, i+1, err)
		}
		return set
	}
	s.minute = parse(0, 0, 59)
	s.hour = parse(1, 0, 23)
	s.dom = parse(2, 1, 31)
	s.mon = parse(3, 1, 12)
	s.dw = parse(4, 0, 7)
	if err != nil {
		return s, err
	}
	if s.dw&(1<<7) != 0 {
		s.dw |= 1 // 7 is Sunday too
	}
	s.domStar = fields[2] == "*"
	s.dowStar = fields[4] == "*"
	return s, nil
}

func parseField(f string, lo, hi int) (uint64, error) {
	var set uint64
	for _, part := range strings.Split(f, ",") {
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("bad step %q", stepStr)
			}
			step = n
		}
		a, b := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			x, y, _ := strings.Cut(rng, "-")
			var err1, err2 error
			a, err1 = strconv.Atoi(x)
			b, err2 = strconv.Atoi(y)
			if err1 != nil || err2 != nil || a > b {
				return 0, fmt.Errorf("bad range %q", rng)
			}
		default:
			n, err := strconv.Atoi(rng)
			if err != nil {
				return 0, fmt.Errorf("bad value %q", rng)
			}
			a, b = n, n
			if hasStep {
				b = hi
			}
		}
		if a < lo || b > hi {
			return 0, fmt.Errorf("%q is outside %d-%d", part, lo, hi)
		}
		for v := a; v <= b; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

func has(set uint64, v int) bool { return set&(1<<v) != 0 }

func (s Schedule) dayMatches(t time.Time) bool {
	d, w := has(s.dom, t.Day()), has(s.dw, int(t.Weekday()))
	if s.domStar || s.dowStar {
		return d && w
	}
	return d || w
}

// Prev returns the latest time the schedule fires at or before t, which
// identifies the period t falls in. ok is false when none lies within the
// previous five years (a schedule such as "0 0 31 2 *" never fires).
func (s Schedule) Prev(t time.Time) (time.Time, bool) {
	if s.every > 0 {
		return t.Truncate(s.every), true
	}
	t = t.In(s.loc)
	limit := t.AddDate(-5, 0, 0)
	c := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, s.loc)
	for c.After(limit) {
		switch {
		case !has(s.mon, int(c.Month())):
			// Last minute of the previous month.
			c = time.Date(c.Year(), c.Month(), 1, 0, 0, 0, 0, s.loc).Add(-time.Minute)
		case !s.dayMatches(c):
			c = time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, s.loc).Add(-time.Minute)
		case !has(s.hour, c.Hour()):
			c = time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), 0, 0, 0, s.loc).Add(-time.Minute)
		case !has(s.minute, c.Minute()):
			// Jump to the closest earlier allowed minute in this hour.
			below := s.minute & (1<<c.Minute() - 1)
			if below == 0 {
				c = time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), 0, 0, 0, s.loc).Add(-time.Minute)
			} else {
				m := 63 - bits.LeadingZeros64(below)
				c = time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), m, 0, 0, s.loc)
			}
		default:
			return c, true
		}
	}
	return time.Time{}, false
}

// String returns the spec as written.
func (s Schedule) String() string { return s.spec }

// Task is a recurring job declared in code.
type Task struct {
	// Name identifies the task in idempotency keys; keep it stable.
	Name     string
	Schedule Schedule
	// Kind is the job kind enqueued each period; Payload its payload.
	Kind    string
	Payload any
}

// Every declares a recurring task that enqueues a job of kind k.Name on
// spec (see Schedule; evaluated in UTC), and registers k. Each period's
// job has the idempotency key "cron:<name>:<period start>", so however
// many replicas run a scheduler, the database's unique index lets one
// job per period through. A period missed while no worker ran is caught
// up once, when the next worker starts.
func (r *Registry) Every(spec string, k Kind) {
	s, err := ParseSchedule(spec, time.UTC)
	if err != nil {
		panic("outbox: " + err.Error())
	}
	r.Register(k)
	r.tasks = append(r.tasks, Task{Name: k.Name, Schedule: s, Kind: k.Name})
}

// Tasks returns the recurring tasks declared with Every.
func (r *Registry) Tasks() []Task { return append([]Task(nil), r.tasks...) }

// schedule enqueues the current period's job of every recurring task.
func (w *Worker) schedule(ctx context.Context) error {
	now := w.opts.Now()
	var errs []error
	for _, t := range w.reg.tasks {
		at, ok := t.Schedule.Prev(now)
		if !ok {
			continue
		}
		key := "cron:" + t.Name + ":" + at.UTC().Format(time.RFC3339)
		if _, err := EnqueueDirect(ctx, w.client, Job{Kind: t.Kind, Payload: t.Payload, IdempotencyKey: key, RunAt: at, MaxAttempts: 3}); err != nil {
			errs = append(errs, fmt.Errorf("schedule %s: %w", t.Name, err))
		}
	}
	return errors.Join(errs...)
}
