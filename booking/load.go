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
	slots, _, err := e.slots(ctx, in)
	return slots, err
}

// slots validates in, loads the calendars and computes the free slots; it
// also returns the service, whose practitioners the slots refer to.
func (e *Engine) slots(ctx context.Context, in SlotsInput) ([]Slot, *ent.Service, error) {
	out, err := loadZone(in.TimeZone)
	if err != nil {
		return nil, nil, err
	}
	if !in.From.Before(in.To) || in.To.Sub(in.From) > MaxRange {
		return nil, nil, ErrBadRange
	}
	staff := actsAsStaff(ctx, e.Client, identity.ViewerFrom(ctx), in.PractitionerID)
	svc, cals, err := e.loadCalendars(ctx, e.Client, in.ServiceID, in.PractitionerID, in.From, in.To, staff, "")
	if err != nil {
		return nil, nil, err
	}
	q := Query{From: in.From, To: in.To, Now: e.now(), IgnoreNotice: staff}
	return RulesOf(svc).Available(cals, q, out), svc, nil
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

// loadCalendars loads a service and the calendars of the practitioners
// who offer it (or of one of them) for [from, to) in six queries, however
// long the range and however many practitioners: the service with its
// practitioners (2), weekly hours, date overrides, appointments and busy
// blocks (1 each).
func (e *Engine) loadCalendars(ctx context.Context, client *ent.Client, serviceID gid.ID, practitionerID *gid.ID,
	from, to time.Time, staff bool, exclude gid.ID,
) (*ent.Service, []*Calendar, error) {
	sq := client.Service.Query().Where(service.ID(serviceID))
	if !staff {
		sq = sq.Where(service.Active(true))
	}
	svc, err := sq.WithPractitioners(func(q *ent.PractitionerQuery) {
		q.Where(practitioner.Active(true)).Order(practitioner.ByID())
		if practitionerID != nil {
			q.Where(practitioner.ID(*practitionerID))
		}
	}).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil, ErrServiceNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load service: %w", err)
	}
	pracs := svc.Edges.Practitioners
	if len(pracs) == 0 {
		if practitionerID != nil {
			return nil, nil, ErrPractitionerNotFound
		}
		return svc, nil, nil
	}
	ids := make([]gid.ID, len(pracs))
	cals := make([]*Calendar, len(pracs))
	byID := map[gid.ID]*Calendar{}
	for i, p := range pracs {
		loc, err := cachedZone(p.TimeZone)
		if err != nil {
			return nil, nil, fmt.Errorf("practitioner %s time zone: %w", p.ID, err)
		}
		ids[i] = p.ID
		cals[i] = &Calendar{PractitionerID: p.ID, Location: loc, Overrides: map[string][]Override{}, DayCounts: map[string]int{}}
		byID[p.ID] = cals[i]
	}

	if err := readWeeklyHours(ctx, client, byID, ids); err != nil {
		return nil, nil, fmt.Errorf("load weekly hours: %w", err)
	}

	// Local dates differ from UTC dates by at most a day either way.
	fromDate := from.UTC().AddDate(0, 0, -2).Format(time.DateOnly)
	toDate := to.UTC().AddDate(0, 0, 2).Format(time.DateOnly)
	ovrs, err := client.DateOverride.Query().
		Where(dateoverride.PractitionerIDIn(ids...), dateoverride.DateGTE(fromDate), dateoverride.DateLTE(toDate)).
		All(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("load date overrides: %w", err)
	}
	for _, o := range ovrs {
		ov := Override{Open: o.Kind == dateoverride.KindOPEN}
		if o.StartMinute != nil && o.EndMinute != nil {
			ov.Range = &MinuteRange{*o.StartMinute, *o.EndMinute}
		}
		byID[o.PractitionerID].Overrides[o.Date] = append(byID[o.PractitionerID].Overrides[o.Date], ov)
	}

	// Appointments are read a day and a half beyond the range: wide enough
	// for any buffer and for the daily counts of the local days the range
	// touches.
	now := e.now()
	lo, hi := from.Add(-36*time.Hour), to.Add(36*time.Hour)
	where := []predicate.Appointment{
		appointment.PractitionerIDIn(ids...),
		// The lower bound on blocked_start lets the (practitioner_id,
		// blocked_start) index range-scan the window instead of every
		// earlier appointment; no appointment spans more than maxSpan.
		appointment.BlockedStartGT(lo.Add(-maxSpan)), appointment.BlockedStartLT(hi),
		appointment.BlockedEndGT(lo),
		appointment.StateIn(blockingStates...),
		appointment.Or(appointment.HoldExpiresAtIsNil(), appointment.HoldExpiresAtGT(now)),
	}
	if exclude != "" {
		// A rescheduled appointment does not block its own new time.
		where = append(where, appointment.IDNEQ(exclude))
	}
	// Day keys are formatted once per local date, not per appointment.
	keys := map[int64]string{}
	err = readAppointments(ctx, client, byID, svc.ID, where, func(a busyRow) {
		c := a.practitioner
		c.Busy = append(c.Busy, Interval{a.blockedStart, a.blockedEnd})
		if a.sameService {
			day := dayOf(a.start, c.Location)
			k, ok := keys[day]
			if !ok {
				k = a.start.In(c.Location).Format(time.DateOnly)
				keys[day] = k
			}
			c.DayCounts[k]++
		}
		if !a.start.Before(from) && a.start.Before(to) {
			c.Booked++
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load appointments: %w", err)
	}

	busy, err := client.ExternalBusyBlock.Query().
		Where(externalbusyblock.PractitionerIDIn(ids...), externalbusyblock.StartAtLT(hi), externalbusyblock.EndAtGT(lo)).
		Select(externalbusyblock.FieldPractitionerID, externalbusyblock.FieldStartAt, externalbusyblock.FieldEndAt).
		All(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("load busy blocks: %w", err)
	}
	for _, b := range busy {
		byID[b.PractitionerID].Busy = append(byID[b.PractitionerID].Busy, Interval{b.StartAt, b.EndAt})
	}
	return svc, cals, nil
}
