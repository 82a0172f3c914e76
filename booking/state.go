package booking

import (
	"context"
	"fmt"
	"slices"

	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/errcode"
)

// transitions is the one list of allowed appointment state changes.
//
//	HELD ─▶ PENDING_PAYMENT ─▶ CONFIRMED ─▶ COMPLETED | NO_SHOW
//	  │            │               │
//	  └────────────┴───────────────┴──▶ CANCELLED
var transitions = map[appointment.State][]appointment.State{
	appointment.StateHELD:            {appointment.StatePENDING_PAYMENT, appointment.StateCONFIRMED, appointment.StateCANCELLED},
	appointment.StatePENDING_PAYMENT: {appointment.StateCONFIRMED, appointment.StateCANCELLED},
	appointment.StateCONFIRMED:       {appointment.StateCOMPLETED, appointment.StateNO_SHOW, appointment.StateCANCELLED},
	appointment.StateCOMPLETED:       nil,
	appointment.StateNO_SHOW:         nil,
	appointment.StateCANCELLED:       nil,
}

// CanTransition reports whether an appointment may go from one state to
// another.
func CanTransition(from, to appointment.State) bool {
	return slices.Contains(transitions[from], to)
}

// releasesTime lists the states whose appointments give their time back.
func releasesTime(s appointment.State) bool { return s == appointment.StateCANCELLED }

// transition moves a to state to inside tx, with a history row, and
// records the change for the sinks. The update is conditional on the state
// a was read in, so two concurrent changes cannot both win: the loser gets
// a CONFLICT user error. set applies the other field changes.
func (e *Engine) transition(ctx context.Context, tx *ent.Tx, done *[]Change, a *ent.Appointment, to appointment.State,
	actor, reason string, set func(*ent.AppointmentUpdate),
) (*ent.Appointment, error) {
	if !CanTransition(a.State, to) {
		return nil, errcode.Invalidf(errcode.Conflict, "", fmt.Sprintf("an appointment that is %s cannot become %s", a.State, to))
	}
	now := e.now()
	u := tx.Appointment.Update().Where(appointment.ID(a.ID), appointment.StateEQ(a.State)).SetState(to).SetUpdatedAt(now)
	switch to {
	case appointment.StateCONFIRMED:
		u.SetConfirmedAt(now).ClearHoldExpiresAt()
	case appointment.StateCANCELLED:
		u.SetCancelledAt(now).SetCancelReason(reason)
	}
	if set != nil {
		set(u)
	}
	n, err := u.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("update appointment: %w", err)
	}
	if n == 0 {
		return nil, errcode.Invalidf(errcode.Conflict, "", "the appointment changed meanwhile; reload it and try again")
	}
	if releasesTime(to) {
		if err := release(ctx, tx, a.ID); err != nil {
			return nil, err
		}
	}
	if err := uncount(ctx, tx, a, a.State, to); err != nil {
		return nil, err
	}
	updated, err := tx.Appointment.Get(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("reload appointment: %w", err)
	}
	if err := e.record(ctx, tx, done, Change{Appointment: updated, From: a.State, To: to}, actor, reason); err != nil {
		return nil, err
	}
	return updated, nil
}

// record writes a history row for c and hands c to the change sink.
func (e *Engine) record(ctx context.Context, tx *ent.Tx, done *[]Change, c Change, actor, reason string) error {
	err := tx.AppointmentStateChange.Create().
		SetAppointmentID(c.Appointment.ID).
		SetFromState(string(c.From)).
		SetToState(string(c.To)).
		SetActorID(actor).
		SetReason(reason).
		SetStartAt(c.Appointment.StartAt).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("record appointment history: %w", err)
	}
	if err := e.Changes.InTx(ctx, tx, c); err != nil {
		return fmt.Errorf("appointment change hooks: %w", err)
	}
	*done = append(*done, c)
	return nil
}
