package booking

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"frontdesk/booking/intake"
	"frontdesk/ent"
	"frontdesk/ent/appointment"
	"frontdesk/ent/service"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/text"
	"frontdesk/webhooks"
)

// Token purposes. A hold token lets whoever held a slot book it; a manage
// token lets a guest view, reschedule and cancel their appointment.
const (
	purposeHold   = "hold"
	purposeManage = "manage"
)

func (e *Engine) token(purpose string, id gid.ID) string {
	if len(e.ManageKey) == 0 {
		// Only reachable if New was bypassed; never sign with an empty key.
		e.ManageKey = make([]byte, 32)
		_, _ = rand.Read(e.ManageKey)
	}
	mac := hmac.New(sha256.New, e.ManageKey)
	mac.Write([]byte(purpose + "|" + string(id)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (e *Engine) validToken(purpose string, id gid.ID, tok string) bool {
	return tok != "" && hmac.Equal([]byte(tok), []byte(e.token(purpose, id)))
}

// ManageToken returns the signed token that lets a guest manage an
// appointment without an account (it goes into their manage link).
func (e *Engine) ManageToken(id gid.ID) string { return e.token(purposeManage, id) }

// HoldInput asks to hold a slot returned by AvailableSlots.
type HoldInput struct {
	ServiceID      gid.ID
	PractitionerID gid.ID
	Start          time.Time
	// IdempotencyKey makes a retried request return the same hold.
	IdempotencyKey string
}

// Hold is a held slot and the token that books it.
type Hold struct {
	Appointment *ent.Appointment
	Token       string
}

// HoldSlot reserves a slot for HoldTTL. Anyone may hold; a signed-in
// patient may hold at most MaxActiveHolds slots at once, and anonymous
// callers from one client network at most MaxAnonymousHolds. Staff may
// hold inside the minimum notice, without the cap; a practitioner only on
// their own calendar (on another's they hold as anyone signed in does).
func (e *Engine) HoldSlot(ctx context.Context, in HoldInput) (*Hold, error) {
	v := identity.ViewerFrom(ctx)
	staff := actsAsStaff(ctx, e.Client, v, &in.PractitionerID)
	holder := ""
	if v != nil {
		holder = string(v.UserID)
	}
	// counted is the holder_key the hold is recorded and capped under: the
	// user, or for anonymous callers their client network.
	counted, limit := holder, e.MaxActiveHolds
	if v == nil {
		counted, limit = anonymousHolder(ctx), e.MaxAnonymousHolds
	}
	if staff {
		limit = 0
	}
	// Trimmed as checkout's key is: MariaDB ignores trailing spaces when it
	// compares keys, so "k " and "k" must be one key on every database.
	in.IdempotencyKey = strings.TrimSpace(in.IdempotencyKey)
	if len(in.IdempotencyKey) > 128 {
		return nil, errcode.Invalidf(errcode.TooLong, "idempotencyKey", "use at most 128 characters")
	}
	if in.IdempotencyKey != "" {
		if h, err := e.holdByKey(ctx, in.IdempotencyKey, holder); h != nil || err != nil {
			return h, err
		}
	}
	start := in.Start.UTC()
	svc, _, plans, err := e.loadPlans(ctx, in.ServiceID, &in.PractitionerID, start, start.Add(time.Minute), staff, false, "")
	switch {
	case errors.Is(err, ErrServiceNotFound):
		return nil, errcode.Invalidf(errcode.Missing, "serviceId", "no such service")
	case errors.Is(err, ErrPractitionerNotFound):
		return nil, errcode.Invalidf(errcode.Missing, "practitionerId", "this practitioner does not offer the service")
	case err != nil:
		return nil, err
	}
	rules := RulesOf(svc)
	now := e.now()
	slots := rules.slotsOf(plans[0], Query{From: start, To: start.Add(time.Minute), Now: now, IgnoreNotice: staff})
	if len(slots) == 0 || !slots[0].Start.Equal(start) {
		return nil, errSlotUnavailable("start")
	}
	if !staff {
		if holder == "" && svc.RequiresServiceID != nil {
			return nil, errcode.Invalidf(errcode.NotEligible, "serviceId", "sign in to book this service: it follows an earlier appointment")
		}
		if holder != "" {
			if err := e.checkEligible(ctx, svc, v.UserID, in.PractitionerID); err != nil {
				return nil, err
			}
		}
	}
	span := rules.Span(start)
	day := dayKey(start, plans[0].loc)
	if err := e.ensureCounters(ctx, counted, in.PractitionerID, svc.ID, day); err != nil {
		return nil, err
	}
	var held *ent.Appointment
	err = e.inTx(ctx, "start", func(tx *ent.Tx, done *[]Change) error {
		if err := e.expireOverlapping(ctx, tx, done, in.PractitionerID, span); err != nil {
			return err
		}
		// The hold caps and the daily limit are counter rows (limits.go);
		// staff are not capped but counted, so the counts stay right.
		if counted != "" {
			if err := e.countHold(ctx, tx, done, counted, limit); err != nil {
				return err
			}
		}
		if err := e.countDay(ctx, tx, done, in.PractitionerID, svc.ID, day, rules.DailyLimit, "start"); err != nil {
			return err
		}
		c := tx.Appointment.Create().SetDayKey(day).
			SetServiceID(svc.ID).SetPractitionerID(in.PractitionerID).
			SetStartAt(start).SetEndAt(start.Add(rules.Duration)).
			SetBlockedStart(span.Start).SetBlockedEnd(span.End).
			SetState(appointment.StateHELD).SetHoldExpiresAt(now.Add(e.HoldTTL)).
			SetHolderKey(counted).SetPriceAmount(svc.PriceAmount).SetCurrency(svc.Currency)
		if in.IdempotencyKey != "" {
			c.SetIdempotencyKey(in.IdempotencyKey)
		}
		a, err := c.Save(ctx)
		if err != nil {
			if ent.IsConstraintError(err) || isDuplicate(err) {
				// Either the idempotency key raced with a twin request,
				// or (impossibly) the id collided; both are conflicts.
				return errcode.Invalidf(errcode.Conflict, "idempotencyKey", "a request with this idempotency key is already in progress")
			}
			return fmt.Errorf("create hold: %w", err)
		}
		if err := claim(ctx, tx, in.PractitionerID, a.ID, span); err != nil {
			return err
		}
		held = a
		return e.record(ctx, tx, done, Change{Appointment: a, To: appointment.StateHELD}, holder, "held")
	})
	if err != nil {
		return nil, err
	}
	held = held.Unwrap()
	identity.Grant(ctx, held.ID) // the holder sees their hold in the payload
	return &Hold{Appointment: held, Token: e.token(purposeHold, held.ID)}, nil
}

// holdByKey returns the hold an earlier request with the same idempotency
// key made, or nil when there is none.
func (e *Engine) holdByKey(ctx context.Context, key, holder string) (*Hold, error) {
	a, err := e.Client.Appointment.Query().Where(appointment.IdempotencyKey(key)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find idempotent hold: %w", err)
	}
	// A signed-in holder must be the same user; an anonymous retry matches
	// any anonymous hold, as a guest may change networks between tries.
	if a.HolderKey != holder && !(holder == "" && isAnonymousHolder(a.HolderKey)) {
		return nil, errcode.Invalidf(errcode.Conflict, "idempotencyKey", "this idempotency key was used for another request")
	}
	identity.Grant(ctx, a.ID)
	return &Hold{Appointment: a, Token: e.token(purposeHold, a.ID)}, nil
}

// expireOverlapping cancels holds and unpaid bookings of the practitioner
// whose time overlaps span and has run out, so their claims do not block a
// new hold before the sweeper (ExpireHolds) gets to them.
func (e *Engine) expireOverlapping(ctx context.Context, tx *ent.Tx, done *[]Change, practitionerID gid.ID, span Interval) error {
	return e.expireStale(ctx, tx, done, appointment.PractitionerID(practitionerID),
		appointment.BlockedStartLT(span.End), appointment.BlockedEndGT(span.Start))
}

const reasonExpired = "hold expired"

// ExpireHolds cancels every hold and unpaid booking whose time ran out and
// releases their slots. A recurring job calls it; it returns how many it
// cancelled. Only staff and the system may run it.
func (e *Engine) ExpireHolds(ctx context.Context) (int, error) {
	if _, err := identity.Require(ctx, identity.ManageBookings); err != nil {
		return 0, err
	}
	total := 0
	for {
		stale, err := e.Client.Appointment.Query().Where(
			appointment.StateIn(appointment.StateHELD, appointment.StatePENDING_PAYMENT),
			appointment.HoldExpiresAtLTE(e.now()),
		).Limit(100).All(ctx)
		if err != nil {
			return total, fmt.Errorf("find expired holds: %w", err)
		}
		for _, a := range stale {
			err := e.inTx(ctx, "", func(tx *ent.Tx, done *[]Change) error {
				_, err := e.transition(ctx, tx, done, a, appointment.StateCANCELLED, "", reasonExpired, nil)
				return err
			})
			if _, isUser := errcode.AsUserErrors(err); err != nil && !isUser {
				return total, err
			}
			if err == nil {
				total++
			}
		}
		if len(stale) < 100 {
			return total, nil
		}
	}
}

// Guest is a patient booking without an account.
type Guest struct {
	Name, Email, Phone string
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (g *Guest) validate() (Guest, error) {
	var errs errcode.UserErrors
	out := Guest{Email: strings.ToLower(strings.TrimSpace(g.Email)), Phone: strings.ReplaceAll(g.Phone, " ", "")}
	// The name goes into the confirmation email and SMS: one line of plain
	// text, so a CR/LF cannot add a "Bcc:" line (see package text).
	n := len(errs)
	if out.Name = text.Check(&errs, text.SingleLine, "guest.name", g.Name, 200); out.Name == "" && len(errs) == n {
		errs = append(errs, errcode.Invalidf(errcode.Required, "guest.name", "enter a name of at most 200 characters"))
	}
	at := strings.LastIndexByte(out.Email, '@')
	if at < 1 || !strings.Contains(out.Email[at:], ".") || len(out.Email) > 254 || strings.ContainsAny(out.Email, " <>") {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "guest.email", "enter an email address such as jo@example.com"))
	}
	if !e164.MatchString(out.Phone) {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "guest.phone", "enter a phone number in international format, such as +61412345678"))
	}
	return out, errs.OrNil()
}

// BookInput turns a hold into an appointment.
type BookInput struct {
	AppointmentID gid.ID
	// HoldToken is the token HoldSlot returned; a signed-in viewer who
	// made the hold may leave it out.
	HoldToken string
	// PatientID lets staff book for a patient account (a practitioner
	// only on their own calendar; on another's it is FORBIDDEN).
	PatientID *gid.ID
	// Guest books without an account.
	Guest *Guest
	// Answers are intake answers given at booking time, if any.
	Answers []intake.Answer
}

// Booking is the result of Book.
type Booking struct {
	Appointment *ent.Appointment
	// ManageToken lets a guest manage the appointment; empty for accounts.
	ManageToken string
	// PaymentClientSecret is set when the appointment waits for payment.
	PaymentClientSecret string
}

// Book books a held slot. A free service is confirmed at once; a paid one
// waits for payment in PENDING_PAYMENT, keeping its time for another
// HoldTTL, and is confirmed by the payment webhook (webhooks.go).
func (e *Engine) Book(ctx context.Context, in BookInput) (*Booking, error) {
	v := identity.ViewerFrom(ctx)
	a, err := AppointmentWithService(ctx, e.Client, in.AppointmentID)
	if ent.IsNotFound(err) {
		return nil, errcode.Invalidf(errcode.Missing, "appointmentId", "no such hold")
	}
	if err != nil {
		return nil, fmt.Errorf("load hold: %w", err)
	}
	if !(v != nil && v.UserID != "" && string(v.UserID) == a.HolderKey) && !e.validToken(purposeHold, a.ID, in.HoldToken) {
		return nil, errcode.Invalidf(errcode.Missing, "appointmentId", "no such hold")
	}
	identity.Grant(ctx, a.ID) // the holder sees what they booked, a guest included
	// Booking for a patient is a staff power; a practitioner has it on
	// their own calendar only.
	staff := actsAsStaff(ctx, e.Client, v, &a.PractitionerID)
	if in.PatientID != nil && v.Can(identity.ManageBookings) && !staff {
		return nil, identity.ErrForbidden
	}
	svc := a.Edges.Service
	if a.State != appointment.StateHELD {
		return e.alreadyBooked(ctx, a)
	}
	if !a.HoldExpiresAt.After(e.now()) {
		return nil, errcode.Invalidf(errcode.SlotUnavailable, "appointmentId", "the hold has expired; please choose a time again")
	}

	var patient *gid.ID
	var guest Guest
	switch {
	case staff && in.PatientID != nil:
		patient = in.PatientID
	case v != nil && v.UserID != "" && !staff:
		id := v.UserID
		patient = &id
	case in.Guest != nil:
		if guest, err = in.Guest.validate(); err != nil {
			return nil, err
		}
		if svc.RequiresServiceID != nil {
			return nil, errcode.Invalidf(errcode.NotEligible, "guest", "sign in to book this service: it follows an earlier appointment")
		}
	default:
		return nil, errcode.Invalidf(errcode.Required, "guest", "sign in or give your name, email and phone")
	}
	if patient != nil && !staff {
		if err := e.checkEligible(ctx, svc, *patient, a.PractitionerID); err != nil {
			return nil, err
		}
	}
	var form *ent.IntakeForm
	var answers []intake.Answer
	if len(in.Answers) > 0 {
		if form, err = e.currentForm(ctx, svc); err != nil {
			return nil, err
		}
		if answers, err = intake.Validate(form.Fields, in.Answers); err != nil {
			return nil, err
		}
	}

	paid := svc.PriceAmount > 0
	var intent Intent
	if paid {
		// The intent is created before the transaction (never call out
		// while holding locks); its idempotency key is the appointment, so
		// a retry gets the same intent and nobody pays twice.
		intent, err = e.Payments.CreateIntent(ctx, a.PriceAmount, a.Currency, "book:"+string(a.ID),
			map[string]string{"appointment_id": string(a.ID), "service_id": string(svc.ID)})
		if err != nil {
			return nil, fmt.Errorf("create payment intent: %w", err)
		}
	}
	actor := ""
	if v != nil {
		actor = string(v.UserID)
	}
	var booked *ent.Appointment
	err = e.inTx(ctx, "appointmentId", func(tx *ent.Tx, done *[]Change) error {
		to := appointment.StateCONFIRMED
		if paid {
			to = appointment.StatePENDING_PAYMENT
		}
		// The update is conditional on the hold still being live, so a hold
		// that expires meanwhile is never booked.
		n, err := tx.Appointment.Update().Where(appointment.ID(a.ID), appointment.StateEQ(appointment.StateHELD),
			appointment.HoldExpiresAtGT(e.now())).SetUpdatedAt(e.now()).Save(ctx)
		if err != nil {
			return fmt.Errorf("check hold: %w", err)
		}
		if n == 0 {
			return errcode.Invalidf(errcode.SlotUnavailable, "appointmentId", "the hold has expired; please choose a time again")
		}
		booked, err = e.transition(ctx, tx, done, a, to, actor, "booked", func(u *ent.AppointmentUpdate) {
			u.SetNillablePatientID(patient).SetGuestName(guest.Name).SetGuestEmail(guest.Email).SetGuestPhone(guest.Phone)
			if paid {
				u.SetPaymentIntentID(intent.ID).SetHoldExpiresAt(e.now().Add(e.HoldTTL))
			}
		})
		if err != nil {
			return err
		}
		if form != nil {
			sub, err := tx.IntakeSubmission.Create().SetAppointmentID(a.ID).SetFormID(form.ID).
				SetAnswers(answers).SetSubmittedBy(actor).Save(ctx)
			if err != nil {
				return err
			}
			return webhooks.Emit(ctx, tx, webhooks.IntakeSubmitted, webhooks.Data{SubmissionID: sub.ID, AppointmentID: a.ID})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &Booking{Appointment: booked.Unwrap(), PaymentClientSecret: intent.ClientSecret}
	if patient == nil {
		out.ManageToken = e.ManageToken(booked.ID)
	}
	return out, nil
}

// alreadyBooked answers a repeated Book call for a hold that was booked:
// the same result again, so a client that lost the response can retry.
func (e *Engine) alreadyBooked(ctx context.Context, a *ent.Appointment) (*Booking, error) {
	switch a.State {
	case appointment.StateCONFIRMED, appointment.StatePENDING_PAYMENT:
	default:
		return nil, errcode.Invalidf(errcode.SlotUnavailable, "appointmentId", "the hold has expired; please choose a time again")
	}
	out := &Booking{Appointment: a}
	if a.PatientID == nil {
		out.ManageToken = e.ManageToken(a.ID)
	}
	if a.State == appointment.StatePENDING_PAYMENT {
		intent, err := e.Payments.CreateIntent(ctx, a.PriceAmount, a.Currency, "book:"+string(a.ID),
			map[string]string{"appointment_id": string(a.ID), "service_id": string(a.ServiceID)})
		if err != nil {
			return nil, fmt.Errorf("create payment intent: %w", err)
		}
		out.PaymentClientSecret = intent.ClientSecret
	}
	return out, nil
}

// checkEligible refuses a service that requires an earlier completed
// appointment the patient does not have.
func (e *Engine) checkEligible(ctx context.Context, svc *ent.Service, patientID, practitionerID gid.ID) error {
	if svc.RequiresServiceID == nil {
		return nil
	}
	q := e.Client.Appointment.Query().Where(appointment.ServiceID(*svc.RequiresServiceID),
		appointment.PatientID(patientID), appointment.StateEQ(appointment.StateCOMPLETED))
	if svc.EligibilityScope == service.EligibilityScopeSAME_PRACTITIONER {
		q = q.Where(appointment.PractitionerID(practitionerID))
	}
	ok, err := q.Exist(ctx)
	if err != nil {
		return fmt.Errorf("check eligibility: %w", err)
	}
	if ok {
		return nil
	}
	name := "an earlier appointment"
	if req, err := e.Client.Service.Get(ctx, *svc.RequiresServiceID); err == nil {
		name = req.Name
	} else if !ent.IsNotFound(err) {
		return fmt.Errorf("load required service: %w", err)
	}
	msg := "this service is for patients who have completed " + name
	if svc.EligibilityScope == service.EligibilityScopeSAME_PRACTITIONER {
		msg += " with this practitioner"
	}
	return errcode.Invalidf(errcode.NotEligible, "serviceId", msg)
}

// ChangeInput names an appointment to change and proves the right to: a
// signed-in patient or staff need nothing else; a guest gives the manage
// token (or, while the slot is only held, the hold token).
type ChangeInput struct {
	AppointmentID gid.ID
	Token         string
	Reason        string
}

// authorizeChange loads the appointment and decides whether the viewer
// may change it, and whether as staff (no cut-offs). Appointments the
// viewer may not change look missing.
func (e *Engine) authorizeChange(ctx context.Context, in ChangeInput) (*ent.Appointment, bool, string, error) {
	v := identity.ViewerFrom(ctx)
	a, err := AppointmentWithService(ctx, e.Client, in.AppointmentID)
	if ent.IsNotFound(err) {
		return nil, false, "", ErrAppointmentNotFound
	}
	if err != nil {
		return nil, false, "", fmt.Errorf("load appointment: %w", err)
	}
	actor := ""
	if v != nil {
		actor = string(v.UserID)
	}
	// Staff act on any appointment; a practitioner on those booked with
	// them (to others, another practitioner's appointment does not exist).
	if v.Can(identity.ManageBookings) && (v.ClinicWide() || ownPractitioner(ctx, e.Client, v, a.PractitionerID)) {
		return a, true, actor, nil
	}
	own := v != nil && v.UserID != "" && ((a.PatientID != nil && *a.PatientID == v.UserID) || a.HolderKey == string(v.UserID))
	if own || e.validToken(purposeManage, a.ID, in.Token) || (a.State == appointment.StateHELD && e.validToken(purposeHold, a.ID, in.Token)) {
		identity.Grant(ctx, a.ID) // a token holder sees the appointment they changed
		return a, false, actor, nil
	}
	return nil, false, "", ErrAppointmentNotFound
}

// Cancel cancels an appointment (or releases a hold) and frees its time.
// Patients may cancel until the service's cut-off; staff at any time. A
// paid appointment is refunded when staff cancel it or the service
// refunds patient cancellations.
func (e *Engine) Cancel(ctx context.Context, in ChangeInput) (*ent.Appointment, error) {
	a, staff, actor, err := e.authorizeChange(ctx, in)
	if err != nil {
		return nil, err
	}
	svc := a.Edges.Service
	cutoff := a.StartAt.Add(-time.Duration(svc.CancelCutoffMinutes) * time.Minute)
	if !staff && a.State == appointment.StateCONFIRMED && e.now().After(cutoff) {
		return nil, errcode.Invalidf(errcode.TooLate, "", "online cancellation closed at "+cutoff.Format(time.RFC3339)+"; contact the clinic")
	}
	if _, ue := text.HumanMultiLine("reason", in.Reason, 500); ue != nil {
		return nil, ue
	}
	reason := in.Reason
	if reason == "" {
		reason = "cancelled"
	}
	var out *ent.Appointment
	err = e.inTx(ctx, "", func(tx *ent.Tx, done *[]Change) error {
		if out, err = e.transition(ctx, tx, done, a, appointment.StateCANCELLED, actor, reason, nil); err != nil {
			return err
		}
		if a.State == appointment.StateCONFIRMED && a.PaymentIntentID != nil && (staff || svc.RefundOnCancel) {
			// Retried from the outbox until the gateway accepts it.
			return e.enqueueRefund(ctx, tx, out, *a.PaymentIntentID, a.PriceAmount, a.Currency, false)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out.Unwrap(), nil
}

// RescheduleInput moves an appointment to another start with the same
// practitioner.
type RescheduleInput struct {
	ChangeInput
	Start time.Time
}

// Reschedule moves a confirmed (or pending payment) appointment to a free
// slot of the same practitioner. Patients may do so until the service's
// cut-off; staff at any time. The payment stays with the appointment, so
// rescheduling never charges again.
func (e *Engine) Reschedule(ctx context.Context, in RescheduleInput) (*ent.Appointment, error) {
	a, staff, actor, err := e.authorizeChange(ctx, in.ChangeInput)
	if err != nil {
		return nil, err
	}
	if a.State != appointment.StateCONFIRMED && a.State != appointment.StatePENDING_PAYMENT {
		return nil, errcode.Invalidf(errcode.Conflict, "", "only a booked appointment can be rescheduled")
	}
	svc := a.Edges.Service
	cutoff := a.StartAt.Add(-time.Duration(svc.RescheduleCutoffMinutes) * time.Minute)
	if !staff && e.now().After(cutoff) {
		return nil, errcode.Invalidf(errcode.TooLate, "", "online rescheduling closed at "+cutoff.Format(time.RFC3339)+"; contact the clinic")
	}
	start := in.Start.UTC()
	svc, _, plans, err := e.loadPlans(ctx, a.ServiceID, &a.PractitionerID, start, start.Add(time.Minute), true, false, a.ID)
	if err != nil {
		if errors.Is(err, ErrPractitionerNotFound) {
			return nil, errSlotUnavailable("start")
		}
		return nil, err
	}
	rules := RulesOf(svc)
	slots := rules.slotsOf(plans[0], Query{From: start, To: start.Add(time.Minute), Now: e.now(), IgnoreNotice: staff})
	if len(slots) == 0 || !slots[0].Start.Equal(start) {
		return nil, errSlotUnavailable("start")
	}
	span := rules.Span(start)
	day := dayKey(start, plans[0].loc)
	if day != a.DayKey {
		if err := e.ensureCounters(ctx, "", a.PractitionerID, a.ServiceID, day); err != nil {
			return nil, err
		}
	}
	var out *ent.Appointment
	err = e.inTx(ctx, "start", func(tx *ent.Tx, done *[]Change) error {
		if err := e.expireOverlapping(ctx, tx, done, a.PractitionerID, span); err != nil {
			return err
		}
		// A move to another local date takes a place on that day first.
		if day != a.DayKey {
			if err := e.countDay(ctx, tx, done, a.PractitionerID, a.ServiceID, day, rules.DailyLimit, "start"); err != nil {
				return err
			}
			if a.DayKey != "" {
				if err := uncountDay(ctx, tx, a.PractitionerID, a.ServiceID, a.DayKey); err != nil {
					return err
				}
			}
		}
		n, err := tx.Appointment.Update().
			Where(appointment.ID(a.ID), appointment.StateEQ(a.State), appointment.StartAt(a.StartAt)).
			SetStartAt(start).SetEndAt(start.Add(rules.Duration)).SetDayKey(day).
			SetBlockedStart(span.Start).SetBlockedEnd(span.End).SetUpdatedAt(e.now()).
			Save(ctx)
		if err != nil {
			return fmt.Errorf("move appointment: %w", err)
		}
		if n == 0 {
			return errcode.Invalidf(errcode.Conflict, "", "the appointment changed meanwhile; reload it and try again")
		}
		if err := release(ctx, tx, a.ID); err != nil {
			return err
		}
		if err := claim(ctx, tx, a.PractitionerID, a.ID, span); err != nil {
			return err
		}
		if out, err = tx.Appointment.Get(ctx, a.ID); err != nil {
			return fmt.Errorf("reload appointment: %w", err)
		}
		reason := "rescheduled from " + a.StartAt.UTC().Format(time.RFC3339)
		return e.record(ctx, tx, done, Change{Appointment: out, From: a.State, To: a.State, Rescheduled: true, Previous: a.StartAt}, actor, reason)
	})
	if err != nil {
		return nil, err
	}
	return out.Unwrap(), nil
}

// Mark records that a confirmed appointment took place (COMPLETED) or the
// patient did not come (NO_SHOW), once it has started: staff, or the
// practitioner it is booked with (others are told it does not exist).
func (e *Engine) Mark(ctx context.Context, id gid.ID, to appointment.State) (*ent.Appointment, error) {
	v, err := identity.Require(ctx, identity.ManageBookings)
	if err != nil {
		return nil, err
	}
	if to != appointment.StateCOMPLETED && to != appointment.StateNO_SHOW {
		return nil, errcode.Invalidf(errcode.Invalid, "state", "mark an appointment COMPLETED or NO_SHOW")
	}
	a, err := e.Client.Appointment.Get(ctx, id)
	if ent.IsNotFound(err) || (err == nil && !v.ClinicWide() && !ownPractitioner(ctx, e.Client, v, a.PractitionerID)) {
		return nil, ErrAppointmentNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load appointment: %w", err)
	}
	if e.now().Before(a.StartAt) {
		return nil, errcode.Invalidf(errcode.Conflict, "", "an appointment can be marked only once it has started")
	}
	var out *ent.Appointment
	err = e.inTx(ctx, "", func(tx *ent.Tx, done *[]Change) error {
		out, err = e.transition(ctx, tx, done, a, to, string(v.UserID), "marked "+strings.ToLower(string(to)), nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out.Unwrap(), nil
}
