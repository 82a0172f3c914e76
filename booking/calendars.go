package booking

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"frontdesk/cache"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/gid"
)

// Availability questions read their calendars through a versioned cache,
// the same mechanism as the catalog's reads (cache.Version, cache.Local):
// the service with its practitioners, and each practitioner's hours,
// overrides, appointments, holds and busy blocks over a day-aligned
// window, kept decoded in this process under the availability version.
// Every committed write that can change a calendar replaces the version in
// the shared store (an ent hook on each of those tables, so no writer can
// forget it: bookings, holds, cancellations, reschedules, hours,
// overrides, calendar sync's busy blocks, services and practitioners), and
// every question reads the version first, so a hold made on one replica is
// seen by the very next question on any other.
//
// What changes with the clock alone is never frozen in the cache: a hold's
// expiry is kept as a time and compared with now on every question, and
// the notice, the horizon and the practitioner counted as least booked
// are worked out per question from the cached rows.
//
// When the shared store fails the version cannot be read, and questions
// read the database directly, as they did before the cache (the Redis
// breaker makes that cost nothing while Redis is down). A bump that failed
// is made by the first version read that reaches Redis again, on any
// replica that saw the outage; CalendarTTL bounds anything else.

// AvailabilityVersionKey is the availability version in the shared store.
// Replacing its value (any new value) retires every replica's cached
// calendars, as a write does.
const AvailabilityVersionKey = "booking:availability-version"

// CalendarTTL bounds how long a cached calendar lives, whatever the
// version says (the bound should a bump be lost).
const CalendarTTL = time.Minute

// The in-process cache's bounds: a practitioner's 63 days come to a few
// kilobytes, so a clinic's calendars for several windows fit many times.
const (
	calendarCacheItems = 4096
	calendarCacheBytes = 16 << 20
)

// calendars is the versioned calendar cache of an Engine.
type calendars struct {
	version *cache.Version
	local   *cache.Local
	// txs are the transactions that will replace the version when they
	// commit (one bump however many rows a transaction writes).
	txs database.CommitOnce
}

func newCalendars(store cache.Store) *calendars {
	return &calendars{version: cache.NewVersion(store, AvailabilityVersionKey),
		local: cache.NewLocal(calendarCacheItems, calendarCacheBytes)}
}

// current returns the availability version, or "" when the shared store
// fails (the question then reads the database).
func (c *calendars) current(ctx context.Context) string {
	v, err := c.version.Current(ctx)
	if err != nil {
		if !errors.Is(err, cache.ErrUnavailable) {
			slog.WarnContext(ctx, "availability version unavailable; reading calendars from the database", "error", err.Error())
		}
		return ""
	}
	return v
}

// changed replaces the version, now or, inside a transaction, once it
// commits (never before: a question between the bump and the commit would
// keep the old rows under the new version).
func (c *calendars) changed(ctx context.Context, tx *ent.Tx) {
	if tx == nil {
		c.bump(ctx)
		return
	}
	c.txs.After(tx, c.bump)
}

func (c *calendars) bump(ctx context.Context) {
	if err := c.version.Bump(context.WithoutCancel(ctx)); err != nil {
		// The write is committed; the first version read that reaches the
		// store again replaces the version (cache.Version).
		slog.ErrorContext(ctx, "availability version not replaced; replaced once Redis answers", "error", err.Error())
	}
}

// availabilityHook replaces the availability version after every write to
// a table the calendars are read from. relevant filters updates that
// cannot change a calendar (a reminder sent, a payment intent recorded),
// so they do not retire the cache.
func (c *calendars) availabilityHook(relevant func(ent.Mutation) bool) ent.Hook {
	type inTx interface{ Tx() (*ent.Tx, error) }
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			v, err := next.Mutate(ctx, m)
			if err != nil || (relevant != nil && !m.Op().Is(ent.OpCreate|ent.OpDelete|ent.OpDeleteOne) && !relevant(m)) {
				return v, err
			}
			var tx *ent.Tx
			if t, ok := m.(inTx); ok {
				tx, _ = t.Tx() // an error means the mutation ran outside a transaction
			}
			c.changed(ctx, tx)
			return v, err
		})
	}
}

// appointmentFields are the appointment columns a calendar reads.
var appointmentFields = []string{
	appointment.FieldState, appointment.FieldStartAt, appointment.FieldBlockedStart, appointment.FieldBlockedEnd,
	appointment.FieldHoldExpiresAt, appointment.FieldPractitionerID, appointment.FieldServiceID,
}

func changesAppointment(m ent.Mutation) bool {
	for _, f := range append(m.Fields(), m.ClearedFields()...) {
		if slices.Contains(appointmentFields, f) {
			return true
		}
	}
	return len(m.AddedEdges()) > 0 || len(m.ClearedEdges()) > 0 || len(m.RemovedEdges()) > 0
}

// watch registers the hooks on client.
func (c *calendars) watch(client *ent.Client) {
	client.Appointment.Use(c.availabilityHook(changesAppointment))
	client.WeeklyHours.Use(c.availabilityHook(nil))
	client.DateOverride.Use(c.availabilityHook(nil))
	client.ExternalBusyBlock.Use(c.availabilityHook(nil))
	client.Service.Use(c.availabilityHook(nil))
	client.Practitioner.Use(c.availabilityHook(nil))
}

// calData is what one practitioner's calendar holds over a window, in the
// form the engine needs: integers, sorted, with nothing that depends on
// the clock or on the question decided yet.
type calData struct {
	weekly    [7][]MinuteRange
	overrides []dayNote // by civil day, sorted; count unused
	appts     []apptRow // by blocked start
	blocks    []span    // external busy blocks, by start
	services  []gid.ID  // the services appts refer to, by index
	// byDay lists, for each service, its appointments (indexes in appts)
	// in order of their local day, for the daily counts.
	byDay [][]int32
}

// apptRow is an appointment as the engine sees it.
type apptRow struct {
	blockedStart, blockedEnd int64 // Unix seconds
	start                    int64 // Unix seconds
	day                      int64 // civil day of the start in the practitioner's zone
	holdExpires              int64 // Unix microseconds; 0 when it does not expire
	service                  int32 // index in calData.services
}

// size estimates the heap the calendar holds, for the cache's byte cap.
func (d *calData) size() int {
	n := 512 + len(d.overrides)*64 + len(d.appts)*52 + len(d.blocks)*16 + len(d.services)*72
	for _, w := range d.weekly {
		n += 24 + len(w)*16
	}
	return n
}

// service returns the index of id in d.services, or -1.
func (d *calData) service(id gid.ID) int32 {
	for i, s := range d.services {
		if s == id {
			return int32(i)
		}
	}
	return -1
}

// plan builds the engine's view of the calendar for one question: the
// appointments and holds that still block at now (a hold expires by the
// clock, so this is decided here, never in the cache), merged with the
// busy blocks; the overrides and the day counts of service; and the
// number of appointments in [from, to).
func (d *calData) plan(id gid.ID, loc *time.Location, service gid.ID, from, to, now time.Time) *plan {
	nowMicro, fromS, toS := now.UnixMicro(), from.Unix(), to.Unix()
	svc := d.service(service)
	p := &plan{id: id, loc: loc, weekly: &d.weekly, busy: make([]span, 0, len(d.appts)+len(d.blocks))}
	a, b := d.appts, d.blocks
	for len(a) > 0 || len(b) > 0 {
		var s span
		if len(b) == 0 || (len(a) > 0 && a[0].blockedStart <= b[0].start) {
			r := &a[0]
			a = a[1:]
			if r.expired(nowMicro) {
				continue
			}
			if r.start >= fromS && r.start < toS {
				p.booked++
			}
			s = span{r.blockedStart, r.blockedEnd}
		} else {
			s = b[0]
			b = b[1:]
		}
		if s.start >= s.end {
			continue
		}
		if k := len(p.busy); k > 0 && s.start <= p.busy[k-1].end {
			p.busy[k-1].end = max(p.busy[k-1].end, s.end)
			continue
		}
		p.busy = append(p.busy, s)
	}
	p.notes = d.notes(svc, nowMicro)
	return p
}

// expired reports whether the appointment is a hold (or unpaid booking)
// whose time ran out at now.
func (r *apptRow) expired(nowMicro int64) bool {
	return r.holdExpires != 0 && r.holdExpires <= nowMicro
}

// notes merges the overrides with the day counts of service svc at now,
// both already in day order.
func (d *calData) notes(svc int32, nowMicro int64) []dayNote {
	if svc < 0 || int(svc) >= len(d.byDay) || len(d.byDay[svc]) == 0 {
		return d.overrides
	}
	idx := d.byDay[svc]
	out := make([]dayNote, 0, len(d.overrides)+len(idx))
	o := d.overrides
	for _, i := range idx {
		r := &d.appts[i]
		if r.expired(nowMicro) {
			continue
		}
		for len(o) > 0 && o[0].day < r.day {
			out, o = append(out, o[0]), o[1:]
		}
		switch k := len(out); {
		case k > 0 && out[k-1].day == r.day:
			out[k-1].count++
		case len(o) > 0 && o[0].day == r.day:
			n := o[0]
			n.count = 1
			out, o = append(out, n), o[1:]
		default:
			out = append(out, dayNote{day: r.day, count: 1})
		}
	}
	return append(out, o...)
}

// window is the day-aligned span of appointments and busy blocks a
// question over [from, to) reads: a day and a half beyond the range
// (wide enough for any buffer and for the daily counts of the local days
// the range touches), rounded out to whole UTC days so that questions
// asked from "now" share their calendars for a day.
func window(from, to time.Time) (lo, hi time.Time) {
	lo = from.Add(-36 * time.Hour).UTC().Truncate(24 * time.Hour)
	hi = to.Add(36 * time.Hour).UTC()
	if t := hi.Truncate(24 * time.Hour); !t.Equal(hi) {
		hi = t.Add(24 * time.Hour)
	}
	return lo, hi
}

// windowKey names a window in the cache keys of its calendars.
func windowKey(lo, hi time.Time) string {
	return ":" + lo.Format(time.DateOnly) + ":" + hi.Format(time.DateOnly)
}

// calendarKey is the cache key of a practitioner's calendar over the
// window named by windowKey.
func calendarKey(id gid.ID, window string) string { return "cal:" + string(id) + window }

// offerKey is the cache key of a service with its active practitioners.
func offerKey(id gid.ID) string { return "offer:" + string(id) }

// sortCalData puts a freshly read calendar in the order plan walks it.
func sortCalData(d *calData) {
	slices.SortFunc(d.appts, func(a, b apptRow) int { return cmp.Compare(a.blockedStart, b.blockedStart) })
	slices.SortFunc(d.blocks, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i, w := range d.weekly {
		d.weekly[i] = mergeRanges(w) // the fast path of dayRanges wants them sorted and disjoint
	}
	slices.SortStableFunc(d.overrides, func(a, b dayNote) int { return cmp.Compare(a.day, b.day) })
	// Overrides of one day are kept together, in the order read.
	out := d.overrides[:0]
	for _, n := range d.overrides {
		if k := len(out); k > 0 && out[k-1].day == n.day {
			out[k-1].overrides = append(out[k-1].overrides, n.overrides...)
			continue
		}
		out = append(out, n)
	}
	d.overrides = out
	d.byDay = make([][]int32, len(d.services))
	for i := range d.appts {
		svc := d.appts[i].service
		d.byDay[svc] = append(d.byDay[svc], int32(i))
	}
	for _, idx := range d.byDay {
		slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(d.appts[a].day, d.appts[b].day) })
	}
}
