package booking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/slotclaim"
	"frontdesk/gid"
)

// claimUnits returns the ClaimUnit starts (minutes since the Unix epoch)
// that cover span, rounding outwards.
func claimUnits(span Interval) []int64 {
	unit := int64(ClaimUnit / time.Minute)
	first := floorDiv(span.Start.Unix()/60, unit) * unit
	lastEnd := span.End.Unix() / 60
	if span.End.Unix()%60 != 0 {
		lastEnd++
	}
	var out []int64
	for m := first; m < lastEnd; m += unit {
		out = append(out, m)
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// claim inserts the claims of an appointment's span in tx. A unique
// violation means another appointment holds part of the span, in which
// case the caller's transaction must roll back: it returns
// errSlotTaken.
func claim(ctx context.Context, tx *ent.Tx, practitionerID, appointmentID gid.ID, span Interval) error {
	units := claimUnits(span)
	builders := make([]*ent.SlotClaimCreate, len(units))
	for i, m := range units {
		builders[i] = tx.SlotClaim.Create().
			SetPractitionerID(practitionerID).SetSlotStartMinute(m).SetAppointmentID(appointmentID)
	}
	if err := tx.SlotClaim.CreateBulk(builders...).Exec(ctx); err != nil {
		if ent.IsConstraintError(err) || isDuplicate(err) {
			return errSlotTaken
		}
		return fmt.Errorf("claim slot: %w", err)
	}
	return nil
}

// release deletes an appointment's claims so its time can be booked again.
func release(ctx context.Context, tx *ent.Tx, appointmentIDs ...gid.ID) error {
	if _, err := tx.SlotClaim.Delete().Where(slotclaim.AppointmentIDIn(appointmentIDs...)).Exec(ctx); err != nil {
		return fmt.Errorf("release slot: %w", err)
	}
	return nil
}

// errSlotTaken is raised inside a transaction when a claim collides; the
// transaction helper turns it into the SLOT_UNAVAILABLE user error.
var errSlotTaken = errors.New("slot already claimed")

func isDuplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

// inTx runs fn in a transaction (database.WithTx, which retries it on a
// deadlock) and runs the committed hooks after commit. A claim collision
// anywhere in fn becomes the SLOT_UNAVAILABLE user error for field.
func (e *Engine) inTx(ctx context.Context, field string, fn func(tx *ent.Tx, done *[]Change) error) error {
	var changes []Change
	err := database.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		changes = changes[:0] // a retried transaction reports its own changes only
		return fn(tx, &changes)
	})
	if errors.Is(err, errSlotTaken) {
		return errSlotUnavailable(field)
	}
	if err != nil {
		return err
	}
	for _, c := range changes {
		e.Changes.Committed(ctx, c)
	}
	return nil
}
