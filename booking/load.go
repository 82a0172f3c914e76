package booking

import (
	"context"
	"fmt"
	"sync"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/dateoverride"
	"frontdesk/ent/externalbusyblock"
	"frontdesk/ent/practitioner"
	"frontdesk/ent/predicate"
	"frontdesk/ent/service"
	"frontdesk/gid"
	"frontdesk/identity"
)

// blockingStates are the states whose appointments occupy their time.
// HELD and PENDING_PAYMENT do so only until hold_expires_at.
var blockingStates = []appointment.State{
	appointment.StateHELD, appointment.StatePENDING_PAYMENT, appointment.StateCONFIRMED,
	appointment.StateCOMPLETED, appointment.StateNO_SHOW,
}

// maxSpan bounds an appointment's blocked span: a duration and two
// buffers of at most a day each (see ServiceInput validation).
const maxSpan = 3 * 24 * time.Hour

// RulesOf returns the slot-shaping rules of a service.
func RulesOf(s *ent.Service) Rules {
	return Rules{
		Duration:     time.Duration(s.DurationMinutes) * time.Minute,
		BufferBefore: time.Duration(s.BufferBeforeMinutes) * time.Minute,
		BufferAfter:  time.Duration(s.BufferAfterMinutes) * time.Minute,
		Interval:     time.Duration(s.SlotIntervalMinutes) * time.Minute,
		MinNotice:    time.Duration(s.MinNoticeMinutes) * time.Minute,
		HorizonDays:  s.HorizonDays,
		DailyLimit:   s.DailyLimit,
	}
}

// SlotsInput is an availability question from a client.
type SlotsInput struct {
	ServiceID gid.ID
	// PractitionerID is nil for "any practitioner".
	PractitionerID *gid.ID
	From, To       time.Time
	// TimeZone is the IANA zone the slots are rendered in.
	TimeZone string
}

// AvailableSlots answers an availability question. Anyone may ask, signed
// in or not; staff (identity.ManageBookings) also see times inside the
// minimum notice, because they may book them (a practitioner only on their
// own calendar, asked for by PractitionerID).
func (e *Engine) AvailableSlots(ctx context.Context, in SlotsInput) ([]Slot, error) {
	a, err := e.answer(ctx, in)
	if err != nil {
		return nil, err
	}
	slots := make([]Slot, len(a.wins))
	for k, w := range a.wins {
		t := time.Unix(w.start, 0).In(a.out)
		slots[k] = Slot{Start: t, End: t.Add(a.duration), PractitionerID: a.pracs[w.cal].ID}
	}
	return slots, nil
}

// answer is a computed availability question: the winning starts, each
// with the index of its practitioner in pracs.
type answer struct {
	wins     []win
	pracs    []*ent.Practitioner
	duration time.Duration
	out      *time.Location
}

// answer validates in, loads the calendars and computes the free slots.
func (e *Engine) answer(ctx context.Context, in SlotsInput) (answer, error) {
	out, err := loadZone(in.TimeZone)
	if err != nil {
		return answer{}, err
	}
	if !in.From.Before(in.To) || in.To.Sub(in.From) > MaxRange {
		return answer{}, ErrBadRange
	}
	staff := actsAsStaff(ctx, e.Client, identity.ViewerFrom(ctx), in.PractitionerID)
	svc, pracs, plans, err := e.loadPlans(ctx, in.ServiceID, in.PractitionerID, in.From, in.To, staff, true, "")
	if err != nil {
		return answer{}, err
	}
	q := Query{From: in.From, To: in.To, Now: e.now(), IgnoreNotice: staff}
	rules := RulesOf(svc)
	return answer{wins: rules.winners(plans, q), pracs: pracs, duration: rules.Duration, out: out}, nil
}

func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, ErrBadTimeZone
	}
	loc, err := cachedZone(name)
	if err != nil {
		return nil, ErrBadTimeZone
	}
	return loc, nil
}

// zones caches loaded locations: time.LoadLocation reads and parses the
// zone file on every call.
var zones sync.Map

func cachedZone(name string) (*time.Location, error) {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}

// loadPlans loads a service and the calendars of the practitioners who
// offer it (or of one of them) for [from, to) and plans them for the
// question. With cached, the service and the calendars come from the
// versioned cache (calendars.go) when the availability version can be
// read; otherwise, and for the checks of the write paths (a hold, a
// reschedule, which must see the database as it is), they are read in
// six queries however long the range and however many practitioners:
// the service with its practitioners (2), weekly hours, date overrides,
// appointments and busy blocks (1 each). exclude names an appointment
// whose own time does not count as taken (a reschedule).
func (e *Engine) loadPlans(ctx context.Context, serviceID gid.ID, practitionerID *gid.ID,
	from, to time.Time, staff, cached bool, exclude gid.ID,
) (*ent.Service, []*ent.Practitioner, []*plan, error) {
	version := ""
	if cached && exclude == "" && e.cals != nil {
		version = e.cals.current(ctx)
	}
	svc, err := e.offer(ctx, version, serviceID)
	if err != nil {
		return nil, nil, nil, err
	}
	if !staff && !svc.Active {
		return nil, nil, nil, ErrServiceNotFound
	}
	pracs := svc.Edges.Practitioners
	if practitionerID != nil {
		pracs = nil
		for _, p := range svc.Edges.Practitioners {
			if p.ID == *practitionerID {
				pracs = []*ent.Practitioner{p}
			}
		}
		if len(pracs) == 0 {
			return nil, nil, nil, ErrPractitionerNotFound
		}
	}
	if len(pracs) == 0 {
		return svc, nil, nil, nil
	}
	locs := make([]*time.Location, len(pracs))
	for i, p := range pracs {
		if locs[i], err = cachedZone(p.TimeZone); err != nil {
			return nil, nil, nil, fmt.Errorf("practitioner %s time zone: %w", p.ID, err)
		}
	}
	lo, hi := window(from, to)
	datas, err := e.calendarsOf(ctx, version, pracs, locs, lo, hi, exclude)
	if err != nil {
		return nil, nil, nil, err
	}
	now := e.now()
	plans := make([]*plan, len(pracs))
	for i, p := range pracs {
		plans[i] = datas[i].plan(p.ID, locs[i], svc.ID, from, to, now)
	}
	return svc, pracs, plans, nil
}

// offer returns the service with its active practitioners, ordered by ID,
// kept under version when there is one. The rows are shared by every
// question that hits them and are never modified.
func (e *Engine) offer(ctx context.Context, version string, serviceID gid.ID) (*ent.Service, error) {
	key := offerKey(serviceID)
	if version != "" {
		if v, ok := e.cals.local.Get(version, key); ok {
			return v.(*ent.Service), nil
		}
	}
	svc, err := e.Client.Service.Query().Where(service.ID(serviceID)).WithPractitioners(func(q *ent.PractitionerQuery) {
		q.Where(practitioner.Active(true)).Order(practitioner.ByID())
	}).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrServiceNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load service: %w", err)
	}
	if version != "" {
		e.cals.local.Put(version, key, svc, 1024+len(svc.Edges.Practitioners)*512, CalendarTTL)
	}
	return svc, nil
}

// calendarsOf returns the calendars of pracs over [lo, hi): those kept
// under version, and the others read together in four queries (and kept).
func (e *Engine) calendarsOf(ctx context.Context, version string, pracs []*ent.Practitioner, locs []*time.Location,
	lo, hi time.Time, exclude gid.ID,
) ([]*calData, error) {
	out := make([]*calData, len(pracs))
	var missing []int
	win := windowKey(lo, hi)
	for i, p := range pracs {
		if version != "" {
			if v, ok := e.cals.local.Get(version, calendarKey(p.ID, win)); ok {
				out[i] = v.(*calData)
				continue
			}
		}
		missing = append(missing, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	byID := make(map[gid.ID]*calData, len(missing))
	zones := make(map[gid.ID]*time.Location, len(missing))
	ids := make([]gid.ID, len(missing))
	for k, i := range missing {
		d := &calData{}
		out[i], byID[pracs[i].ID], zones[pracs[i].ID], ids[k] = d, d, locs[i], pracs[i].ID
	}
	if err := e.readCalendars(ctx, byID, zones, ids, lo, hi, exclude); err != nil {
		return nil, err
	}
	for _, i := range missing {
		sortCalData(out[i])
		if version != "" {
			e.cals.local.Put(version, calendarKey(pracs[i].ID, win), out[i], out[i].size(), CalendarTTL)
		}
	}
	return out, nil
}

// readCalendars reads the hours, overrides, appointments and holds (those
// not yet expired, each with its expiry) and busy blocks of the calendars
// in byID over [lo, hi).
func (e *Engine) readCalendars(ctx context.Context, byID map[gid.ID]*calData, zones map[gid.ID]*time.Location,
	ids []gid.ID, lo, hi time.Time, exclude gid.ID,
) error {
	client := e.Client
	if err := readWeeklyHours(ctx, client, byID, ids); err != nil {
		return fmt.Errorf("load weekly hours: %w", err)
	}

	// Local dates differ from UTC dates by at most a day either way.
	fromDate := lo.AddDate(0, 0, -1).Format(time.DateOnly)
	toDate := hi.AddDate(0, 0, 1).Format(time.DateOnly)
	ovrs, err := client.DateOverride.Query().
		Where(dateoverride.PractitionerIDIn(ids...), dateoverride.DateGTE(fromDate), dateoverride.DateLTE(toDate)).
		All(ctx)
	if err != nil {
		return fmt.Errorf("load date overrides: %w", err)
	}
	for _, o := range ovrs {
		day, ok := parseDay(o.Date)
		d := byID[o.PractitionerID]
		if !ok || d == nil {
			continue
		}
		ov := Override{Open: o.Kind == dateoverride.KindOPEN}
		if o.StartMinute != nil && o.EndMinute != nil {
			ov.Range = &MinuteRange{*o.StartMinute, *o.EndMinute}
		}
		d.overrides = append(d.overrides, dayNote{day: day, overrides: []Override{ov}})
	}

	now := e.now()
	where := []predicate.Appointment{
		appointment.PractitionerIDIn(ids...),
		// The lower bound on blocked_start lets the availability index
		// range-scan the window instead of every earlier appointment; no
		// appointment spans more than maxSpan.
		appointment.BlockedStartGT(lo.Add(-maxSpan)), appointment.BlockedStartLT(hi),
		appointment.BlockedEndGT(lo),
		appointment.StateIn(blockingStates...),
		// Holds expired now stay expired (a write that extends one
		// replaces the version); the others keep their expiry, which
		// each question compares with its own now.
		appointment.Or(appointment.HoldExpiresAtIsNil(), appointment.HoldExpiresAtGT(now)),
	}
	if exclude != "" {
		// A rescheduled appointment does not block its own new time.
		where = append(where, appointment.IDNEQ(exclude))
	}
	err = readAppointments(ctx, client, where, func(pid, svc []byte, r apptRow, start time.Time) {
		d := byID[gid.ID(pid)]
		if d == nil {
			return
		}
		r.day = dayOf(start, zones[gid.ID(pid)])
		r.service = -1
		for i, s := range d.services {
			if string(s) == string(svc) {
				r.service = int32(i)
			}
		}
		if r.service < 0 {
			r.service = int32(len(d.services))
			d.services = append(d.services, gid.ID(svc))
		}
		d.appts = append(d.appts, r)
	})
	if err != nil {
		return fmt.Errorf("load appointments: %w", err)
	}

	busy, err := client.ExternalBusyBlock.Query().
		Where(externalbusyblock.PractitionerIDIn(ids...), externalbusyblock.StartAtLT(hi), externalbusyblock.EndAtGT(lo)).
		Select(externalbusyblock.FieldPractitionerID, externalbusyblock.FieldStartAt, externalbusyblock.FieldEndAt).
		All(ctx)
	if err != nil {
		return fmt.Errorf("load busy blocks: %w", err)
	}
	for _, b := range busy {
		if d := byID[b.PractitionerID]; d != nil {
			d.blocks = append(d.blocks, span{b.StartAt.Unix(), b.EndAt.Unix()})
		}
	}
	return nil
}
