package booking

import (
	"context"
	"fmt"
	"strings"
	"time"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/holderholds"
	"frontdesk/ent/practitionerday"
	"frontdesk/ent/predicate"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
)

// The service's daily limit per practitioner and the caps on active holds
// (per signed-in person, and per client network for anonymous callers)
// are enforced by the database, so two replicas cannot race
// past them: each is a counter row that the transaction taking the time
// increments with a conditional UPDATE (`SET n = n + 1 WHERE n < limit`),
// which locks the row until commit. The availability engine's checks
// (DayCounts, the hold count) only keep the offered slots honest.
//
// Counters count rows, not time: an expired hold counts until it is
// cancelled, so when a counter is full its stale holds are cancelled in
// the same transaction and the increment is tried once more.
//
// Lock order, to keep deadlocks rare: holder row, then day row, then slot
// claims.

// dayKey is the local date under which an appointment starting at start
// counts towards its practitioner's day.
func dayKey(start time.Time, loc *time.Location) string { return start.In(loc).Format(time.DateOnly) }

// ensureCounters creates the counter rows a hold will update, outside its
// transaction: inside, two transactions inserting the same missing row
// would take gap locks and deadlock on MySQL, while an UPDATE of an
// existing row only waits for the row lock. A duplicate means another
// request created it first.
func (e *Engine) ensureCounters(ctx context.Context, holder string, practitionerID, serviceID gid.ID, day string) error {
	// An INSERT can also deadlock with the nightly counter sweep's DELETE
	// (retention.go) on MySQL; the statement stands alone, so it is run
	// again after a pause.
	ignoreDup := func(create func() error) error {
		err := database.Retry(ctx, create)
		if err != nil && (ent.IsConstraintError(err) || isDuplicate(err)) {
			return nil
		}
		return err
	}
	if holder != "" {
		ok, err := e.Client.HolderHolds.Query().Where(holderholds.HolderKey(holder)).Exist(ctx)
		if err == nil && !ok {
			err = ignoreDup(func() error { return e.Client.HolderHolds.Create().SetHolderKey(holder).Exec(ctx) })
		}
		if err != nil {
			return fmt.Errorf("create hold counter: %w", err)
		}
	}
	ok, err := e.Client.PractitionerDay.Query().Where(practitionerday.PractitionerID(practitionerID),
		practitionerday.ServiceID(serviceID), practitionerday.Day(day)).Exist(ctx)
	if err == nil && !ok {
		err = ignoreDup(func() error {
			return e.Client.PractitionerDay.Create().SetPractitionerID(practitionerID).SetServiceID(serviceID).
				SetDay(day).Exec(ctx)
		})
	}
	if err != nil {
		return fmt.Errorf("create day counter: %w", err)
	}
	return nil
}

// bump adds 1 to a counter row, creating it when missing, unless limit > 0
// and it already reached limit; it reports whether it counted. update
// runs the conditional UPDATE and create inserts the row with n = 1.
func bump(ctx context.Context, update func() (int, error), create func() error) (bool, error) {
	for range 2 {
		n, err := update()
		if err != nil || n > 0 {
			return n > 0, err
		}
		// Nothing updated: the counter is full, or has no row yet.
		err = create()
		if err == nil {
			return true, nil
		}
		if !ent.IsConstraintError(err) && !isDuplicate(err) {
			return false, err
		}
		// Another transaction created the row meanwhile: the UPDATE
		// (a locking read) sees it now.
	}
	return false, nil
}

// anonymousPrefix starts the holder_key of holds made without signing in;
// user ids (usr_…) never start with it.
const anonymousPrefix = "ip:"

// anonymousHolder is the holder_key of an anonymous caller: their client
// network, so that one client cannot hold every slot. It is empty (not
// counted) only for calls that did not come through the HTTP middleware,
// which records the client of every request.
func anonymousHolder(ctx context.Context) string {
	n := identity.ClientFrom(ctx).Network()
	if n == "" {
		return ""
	}
	return anonymousPrefix + n
}

func isAnonymousHolder(key string) bool {
	return key == "" || strings.HasPrefix(key, anonymousPrefix)
}

// countHold takes one of holder's active-hold places; a limit of 0 counts
// without a cap (staff).
func (e *Engine) countHold(ctx context.Context, tx *ent.Tx, done *[]Change, holder string, limit int) error {
	try := func() (bool, error) {
		return bump(ctx, func() (int, error) {
			u := tx.HolderHolds.Update().Where(holderholds.HolderKey(holder))
			if limit > 0 {
				u.Where(holderholds.HoldsLT(limit))
			}
			return u.AddHolds(1).Save(ctx)
		}, func() error {
			return tx.HolderHolds.Create().SetHolderKey(holder).SetHolds(1).Exec(ctx)
		})
	}
	ok, err := try()
	if err == nil && !ok {
		if err = e.expireStale(ctx, tx, done, appointment.HolderKey(holder), appointment.StateEQ(appointment.StateHELD)); err == nil {
			ok, err = try()
		}
	}
	if err != nil {
		return fmt.Errorf("count holds: %w", err)
	}
	if !ok && isAnonymousHolder(holder) {
		return errcode.Invalidf(errcode.HoldLimit, "", fmt.Sprintf("%d times are already held from your network; book or release one first, or sign in", limit))
	}
	if !ok {
		return errcode.Invalidf(errcode.HoldLimit, "", fmt.Sprintf("you already hold %d times; book or release one first", limit))
	}
	return nil
}

// countDay takes one of the day's places of a service with a practitioner;
// a limit of 0 counts without a cap, so the counts are right if a limit is
// set later. A full day is the SLOT_UNAVAILABLE user error for field.
func (e *Engine) countDay(ctx context.Context, tx *ent.Tx, done *[]Change, practitionerID, serviceID gid.ID, day string, limit int, field string) error {
	try := func() (bool, error) {
		return bump(ctx, func() (int, error) {
			u := tx.PractitionerDay.Update().Where(practitionerday.PractitionerID(practitionerID),
				practitionerday.ServiceID(serviceID), practitionerday.Day(day))
			if limit > 0 {
				u.Where(practitionerday.AppointmentsLT(limit))
			}
			return u.AddAppointments(1).Save(ctx)
		}, func() error {
			return tx.PractitionerDay.Create().SetPractitionerID(practitionerID).SetServiceID(serviceID).
				SetDay(day).SetAppointments(1).Exec(ctx)
		})
	}
	ok, err := try()
	if err == nil && !ok {
		err = e.expireStale(ctx, tx, done, appointment.PractitionerID(practitionerID), appointment.ServiceID(serviceID),
			appointment.DayKey(day), appointment.StateIn(appointment.StateHELD, appointment.StatePENDING_PAYMENT))
		if err == nil {
			ok, err = try()
		}
	}
	if err != nil {
		return fmt.Errorf("count day: %w", err)
	}
	if !ok {
		return errcode.Invalidf(errcode.SlotUnavailable, field, "this day is fully booked for this service; please choose another day")
	}
	return nil
}

// uncount gives back the places an appointment held in the counters when
// it moves from state from to state to.
func uncount(ctx context.Context, tx *ent.Tx, a *ent.Appointment, from, to appointment.State) error {
	if from == appointment.StateHELD && to != appointment.StateHELD && a.HolderKey != "" {
		_, err := tx.HolderHolds.Update().Where(holderholds.HolderKey(a.HolderKey), holderholds.HoldsGT(0)).
			AddHolds(-1).Save(ctx)
		if err != nil {
			return fmt.Errorf("uncount hold: %w", err)
		}
	}
	if to == appointment.StateCANCELLED && a.DayKey != "" {
		if err := uncountDay(ctx, tx, a.PractitionerID, a.ServiceID, a.DayKey); err != nil {
			return err
		}
	}
	return nil
}

func uncountDay(ctx context.Context, tx *ent.Tx, practitionerID, serviceID gid.ID, day string) error {
	_, err := tx.PractitionerDay.Update().Where(practitionerday.PractitionerID(practitionerID),
		practitionerday.ServiceID(serviceID), practitionerday.Day(day), practitionerday.AppointmentsGT(0)).
		AddAppointments(-1).Save(ctx)
	if err != nil {
		return fmt.Errorf("uncount day: %w", err)
	}
	return nil
}

// expireStale cancels the holds and unpaid bookings matching where whose
// time ran out (which gives their places back).
func (e *Engine) expireStale(ctx context.Context, tx *ent.Tx, done *[]Change, where ...predicate.Appointment) error {
	stale, err := tx.Appointment.Query().Where(where...).Where(
		appointment.StateIn(appointment.StateHELD, appointment.StatePENDING_PAYMENT),
		appointment.HoldExpiresAtLTE(e.now())).All(ctx)
	if err != nil {
		return fmt.Errorf("find expired holds: %w", err)
	}
	for _, a := range stale {
		if _, err := e.transition(ctx, tx, done, a, appointment.StateCANCELLED, "", reasonExpired, nil); err != nil {
			return err
		}
	}
	return nil
}
