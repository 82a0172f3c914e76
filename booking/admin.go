package booking

import (
	"context"
	"fmt"
	"strings"
	"time"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/appointmentstatechange"
	"frontdesk/ent/dateoverride"
	"frontdesk/ent/service"
	"frontdesk/ent/weeklyhours"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/text"
)

// Administration of practitioners, their hours and services. Every
// function here needs identity.ManageBookings.

// PractitionerInput creates or changes a practitioner; nil fields are left
// as they are on update.
type PractitionerInput struct {
	Name        *string
	TimeZone    *string
	Bio         *string
	PhotoURL    *string
	StaffUserID *gid.ID
	Active      *bool
}

// validate checks in and replaces its texts by their cleaned form (NFC,
// trimmed: text.Clean), which is what is stored.
func (in *PractitionerInput) validate(create bool) error {
	var errs errcode.UserErrors
	if in.Name != nil || create {
		k := len(errs)
		if in.Name == nil {
			in.Name = new(string)
		}
		if text.CheckInPlace(&errs, text.SingleLine, "name", in.Name, 200); *in.Name == "" && len(errs) == k {
			errs = append(errs, errcode.Invalidf(errcode.Required, "name", "enter a name of at most 200 characters"))
		}
	}
	if in.TimeZone != nil || create {
		if _, err := loadZone(deref(in.TimeZone)); err != nil {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "timeZone", "expected an IANA time zone such as Australia/Sydney"))
		}
	}
	if in.PhotoURL != nil && *in.PhotoURL != "" && !strings.HasPrefix(*in.PhotoURL, "https://") && !strings.HasPrefix(*in.PhotoURL, "/") {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "photoUrl", "use an https:// URL or a /media path"))
	}
	text.CheckInPlace(&errs, text.MultiLine, "bio", in.Bio, 10000)
	return errs.OrNil()
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// CreatePractitioner adds a practitioner.
func (e *Engine) CreatePractitioner(ctx context.Context, in PractitionerInput) (*ent.Practitioner, error) {
	if _, err := identity.Require(ctx, identity.ManageBookings); err != nil {
		return nil, err
	}
	if err := in.validate(true); err != nil {
		return nil, err
	}
	return e.Client.Practitioner.Create().SetName(*in.Name).SetTimeZone(*in.TimeZone).
		SetNillableBio(in.Bio).SetNillablePhotoURL(in.PhotoURL).SetNillableStaffUserID(in.StaffUserID).
		SetNillableActive(in.Active).Save(ctx)
}

// UpdatePractitioner changes a practitioner.
func (e *Engine) UpdatePractitioner(ctx context.Context, id gid.ID, in PractitionerInput) (*ent.Practitioner, error) {
	if _, err := identity.Require(ctx, identity.ManageBookings); err != nil {
		return nil, err
	}
	if err := in.validate(false); err != nil {
		return nil, err
	}
	u := e.Client.Practitioner.UpdateOneID(id).SetNillableTimeZone(in.TimeZone).SetNillableBio(in.Bio).
		SetNillablePhotoURL(in.PhotoURL).SetNillableStaffUserID(in.StaffUserID).SetNillableActive(in.Active)
	if in.Name != nil {
		u.SetName(*in.Name)
	}
	p, err := u.Save(ctx)
	if ent.IsNotFound(err) {
		return nil, errcode.Invalidf(errcode.Missing, "id", "no such practitioner")
	}
	return p, err
}

// SetWeeklyHours replaces a practitioner's weekly hours.
func (e *Engine) SetWeeklyHours(ctx context.Context, practitionerID gid.ID, hours map[time.Weekday][]MinuteRange) ([]*ent.WeeklyHours, error) {
	if _, err := identity.Require(ctx, identity.ManageBookings); err != nil {
		return nil, err
	}
	var errs errcode.UserErrors
	for d, rs := range hours {
		if d < time.Sunday || d > time.Saturday {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "hours", "weekday is 0 (Sunday) to 6 (Saturday)"))
		}
		for _, r := range rs {
			if err := validRange(r, "hours"); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errs.OrNil(); err != nil {
		return nil, err
	}
	var out []*ent.WeeklyHours
	err := database.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		if ok, err := PractitionerExists(ctx, tx.Client(), practitionerID); err != nil || !ok {
			if err != nil {
				return err
			}
			return errcode.Invalidf(errcode.Missing, "practitionerId", "no such practitioner")
		}
		if _, err := tx.WeeklyHours.Delete().Where(weeklyhours.PractitionerID(practitionerID)).Exec(ctx); err != nil {
			return fmt.Errorf("clear weekly hours: %w", err)
		}
		var creates []*ent.WeeklyHoursCreate
		for d := time.Sunday; d <= time.Saturday; d++ {
			for _, r := range mergeRanges(hours[d]) {
				creates = append(creates, tx.WeeklyHours.Create().SetPractitionerID(practitionerID).
					SetWeekday(int(d)).SetStartMinute(r.Start).SetEndMinute(r.End))
			}
		}
		var err error
		out, err = tx.WeeklyHours.CreateBulk(creates...).Save(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i] = out[i].Unwrap()
	}
	return out, nil
}

func validRange(r MinuteRange, field string) *errcode.UserError {
	unit := int(ClaimUnit / time.Minute)
	if r.Start < 0 || r.End > 1440 || r.Start >= r.End || r.Start%unit != 0 || r.End%unit != 0 {
		return errcode.Invalidf(errcode.Invalid, field, "an interval is startMinute < endMinute within 0..1440, in multiples of 5")
	}
	return nil
}

// OverrideInput adds a date override.
type OverrideInput struct {
	PractitionerID gid.ID
	Date           string
	Open           bool
	Range          *MinuteRange
	Reason         string
}

// AddDateOverride opens extra hours or closes (part of) a local date.
func (e *Engine) AddDateOverride(ctx context.Context, in OverrideInput) (*ent.DateOverride, error) {
	if _, err := identity.Require(ctx, identity.ManageBookings); err != nil {
		return nil, err
	}
	var errs errcode.UserErrors
	if _, err := time.Parse(time.DateOnly, in.Date); err != nil {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "date", "expected a date such as 2026-12-25"))
	}
	if in.Open && in.Range == nil {
		errs = append(errs, errcode.Invalidf(errcode.Required, "startMinute", "extra hours need an interval"))
	}
	if in.Range != nil {
		if err := validRange(*in.Range, "startMinute"); err != nil {
			errs = append(errs, err)
		}
	}
	in.Reason = text.Check(&errs, text.SingleLine, "reason", in.Reason, 200)
	if err := errs.OrNil(); err != nil {
		return nil, err
	}
	kind := dateoverride.KindCLOSED
	if in.Open {
		kind = dateoverride.KindOPEN
	}
	c := e.Client.DateOverride.Create().SetPractitionerID(in.PractitionerID).SetDate(in.Date).SetKind(kind).SetReason(in.Reason)
	if in.Range != nil {
		c.SetStartMinute(in.Range.Start).SetEndMinute(in.Range.End)
	}
	o, err := c.Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, errcode.Invalidf(errcode.Missing, "practitionerId", "no such practitioner")
	}
	return o, err
}

// DeleteDateOverride removes an override and returns the practitioner it
// belonged to. Overrides are public, so a missing one is a user error
// before the permission check, as it always was.
func (e *Engine) DeleteDateOverride(ctx context.Context, id gid.ID) (gid.ID, error) {
	o, err := e.Client.DateOverride.Get(ctx, id)
	if ent.IsNotFound(err) {
		return "", errcode.Invalidf(errcode.Missing, "id", "no such date override")
	}
	if err != nil {
		return "", fmt.Errorf("load date override: %w", err)
	}
	if _, err := identity.Require(ctx, identity.ManageBookings); err != nil {
		return o.PractitionerID, err
	}
	err = e.Client.DateOverride.DeleteOneID(id).Exec(ctx)
	if ent.IsNotFound(err) {
		return o.PractitionerID, errcode.Invalidf(errcode.Missing, "id", "no such date override")
	}
	return o.PractitionerID, err
}

// PractitionerByID returns a practitioner (public, like every
// practitioner) by ID.
func (e *Engine) PractitionerByID(ctx context.Context, id gid.ID) (*ent.Practitioner, error) {
	p, err := e.Client.Practitioner.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load practitioner: %w", err)
	}
	return p, nil
}

// RequiredService is the service s follows (booked only after it), or
// nil.
func (e *Engine) RequiredService(ctx context.Context, s *ent.Service) (*ent.Service, error) {
	if s.RequiresServiceID == nil {
		return nil, nil
	}
	req, err := e.Client.Service.Get(ctx, *s.RequiresServiceID)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load required service: %w", err)
	}
	return req, nil
}

// History is an appointment's state changes, oldest first.
func (e *Engine) History(ctx context.Context, a *ent.Appointment) ([]*ent.AppointmentStateChange, error) {
	out, err := a.QueryHistory().Order(ent.Asc(appointmentstatechange.FieldCreatedAt), ent.Asc(appointmentstatechange.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load appointment history: %w", err)
	}
	return out, nil
}

// ServiceInput creates or changes a service; nil fields are left as they
// are on update. Durations are minutes.
type ServiceInput struct {
	Name, Slug, Description                   *string
	DurationMinutes                           *int
	PriceAmount                               *int64
	Currency                                  *string
	BufferBefore, BufferAfter                 *int
	MinNotice, SlotInterval, CancelCutoff     *int
	RescheduleCutoff, HorizonDays, DailyLimit *int
	Location, VideoURL                        *string
	RefundOnCancel, IntakeRequired, Active    *bool
	IntakeFormKey                             *string
	RequiresServiceID                         *gid.ID
	EligibilitySamePractitioner               *bool
	PractitionerIDs                           []gid.ID
	ClearRequiresService, ClearIntakeForm     bool
}

// validate checks in and replaces its texts by their cleaned form (NFC,
// trimmed: text.Clean), which is what is stored.
func (in *ServiceInput) validate(create bool) error {
	var errs errcode.UserErrors
	need := func(set bool) bool { return set || create }
	if need(in.Name != nil) {
		k := len(errs)
		if in.Name == nil {
			in.Name = new(string)
		}
		if text.CheckInPlace(&errs, text.SingleLine, "name", in.Name, 200); *in.Name == "" && len(errs) == k {
			errs = append(errs, errcode.Invalidf(errcode.Required, "name", "enter a name of at most 200 characters"))
		}
	}
	text.CheckInPlace(&errs, text.MultiLine, "description", in.Description, 10000)
	text.CheckInPlace(&errs, text.SingleLine, "location", in.Location, 500)
	if need(in.Slug != nil) && (!slugPattern.MatchString(deref(in.Slug)) || len(deref(in.Slug)) > 100) {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "slug", "use lower-case letters, digits and dashes"))
	}
	unit := int(ClaimUnit / time.Minute)
	minutes := []struct {
		field    string
		v        *int
		required bool
		min      int
	}{
		{"durationMinutes", in.DurationMinutes, true, unit},
		{"bufferBeforeMinutes", in.BufferBefore, false, 0},
		{"bufferAfterMinutes", in.BufferAfter, false, 0},
		{"slotIntervalMinutes", in.SlotInterval, false, unit},
	}
	for _, m := range minutes {
		if m.v == nil {
			if m.required && create {
				errs = append(errs, errcode.Invalidf(errcode.Required, m.field, "required"))
			}
			continue
		}
		if *m.v < m.min || *m.v%unit != 0 || *m.v > 24*60 {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, m.field, "use a multiple of 5 minutes, at most a day"))
		}
	}
	for field, v := range map[string]*int{"minNoticeMinutes": in.MinNotice, "cancelCutoffMinutes": in.CancelCutoff,
		"rescheduleCutoffMinutes": in.RescheduleCutoff, "dailyLimit": in.DailyLimit} {
		if v != nil && *v < 0 {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, field, "must not be negative"))
		}
	}
	if in.HorizonDays != nil && (*in.HorizonDays < 1 || *in.HorizonDays > 730) {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "horizonDays", "use 1 to 730 days"))
	}
	if in.PriceAmount != nil && *in.PriceAmount < 0 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "price.amount", "must not be negative"))
	}
	if in.PriceAmount != nil && *in.PriceAmount > 0 && len(deref(in.Currency)) != 3 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "price.currency", "a paid service needs an ISO 4217 currency such as AUD"))
	}
	if in.VideoURL != nil && *in.VideoURL != "" && !strings.HasPrefix(*in.VideoURL, "https://") {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "videoUrl", "use an https:// URL"))
	}
	return errs.OrNil()
}

// CreateService adds a service offered by the given practitioners.
func (e *Engine) CreateService(ctx context.Context, in ServiceInput) (*ent.Service, error) {
	if _, err := identity.Require(ctx, identity.ManageBookings); err != nil {
		return nil, err
	}
	if err := in.validate(true); err != nil {
		return nil, err
	}
	c := e.Client.Service.Create().SetName(*in.Name).SetSlug(*in.Slug).
		SetDurationMinutes(*in.DurationMinutes).AddPractitionerIDs(in.PractitionerIDs...)
	applyService(c.Mutation(), in)
	s, err := c.Save(ctx)
	return s, serviceSaveError(err)
}

// UpdateService changes a service. PractitionerIDs, when not nil,
// replaces the practitioners who offer it.
func (e *Engine) UpdateService(ctx context.Context, id gid.ID, in ServiceInput) (*ent.Service, error) {
	if _, err := identity.Require(ctx, identity.ManageBookings); err != nil {
		return nil, err
	}
	if err := in.validate(false); err != nil {
		return nil, err
	}
	u := e.Client.Service.UpdateOneID(id)
	m := u.Mutation()
	if in.Name != nil {
		m.SetName(*in.Name)
	}
	if in.Slug != nil {
		m.SetSlug(*in.Slug)
	}
	if in.DurationMinutes != nil {
		m.SetDurationMinutes(*in.DurationMinutes)
	}
	if in.PractitionerIDs != nil {
		u.ClearPractitioners().AddPractitionerIDs(in.PractitionerIDs...)
	}
	if in.ClearRequiresService {
		u.ClearRequiresServiceID()
	}
	if in.ClearIntakeForm {
		u.ClearIntakeFormKey()
	}
	applyService(m, in)
	s, err := u.Save(ctx)
	if ent.IsNotFound(err) {
		return nil, errcode.Invalidf(errcode.Missing, "id", "no such service")
	}
	return s, serviceSaveError(err)
}

func applyService(m *ent.ServiceMutation, in ServiceInput) {
	set := func(v *int, f func(int)) {
		if v != nil {
			f(*v)
		}
	}
	setS := func(v *string, f func(string)) {
		if v != nil {
			f(*v)
		}
	}
	setB := func(v *bool, f func(bool)) {
		if v != nil {
			f(*v)
		}
	}
	setS(in.Description, m.SetDescription)
	if in.PriceAmount != nil {
		m.SetPriceAmount(*in.PriceAmount)
	}
	setS(in.Currency, func(c string) { m.SetCurrency(strings.ToUpper(c)) })
	set(in.BufferBefore, m.SetBufferBeforeMinutes)
	set(in.BufferAfter, m.SetBufferAfterMinutes)
	set(in.MinNotice, m.SetMinNoticeMinutes)
	set(in.SlotInterval, m.SetSlotIntervalMinutes)
	set(in.CancelCutoff, m.SetCancelCutoffMinutes)
	set(in.RescheduleCutoff, m.SetRescheduleCutoffMinutes)
	set(in.HorizonDays, m.SetHorizonDays)
	set(in.DailyLimit, m.SetDailyLimit)
	setS(in.Location, m.SetLocation)
	setS(in.VideoURL, m.SetVideoURL)
	setB(in.RefundOnCancel, m.SetRefundOnCancel)
	setB(in.IntakeRequired, m.SetIntakeRequired)
	setB(in.Active, m.SetActive)
	setS(in.IntakeFormKey, m.SetIntakeFormKey)
	if in.RequiresServiceID != nil {
		m.SetRequiresServiceID(*in.RequiresServiceID)
	}
	if in.EligibilitySamePractitioner != nil {
		scope := service.EligibilityScopeANY_PRACTITIONER
		if *in.EligibilitySamePractitioner {
			scope = service.EligibilityScopeSAME_PRACTITIONER
		}
		m.SetEligibilityScope(scope)
	}
}

func serviceSaveError(err error) error {
	if err == nil {
		return nil
	}
	if ent.IsConstraintError(err) || isDuplicate(err) {
		if strings.Contains(err.Error(), "slug") {
			return errcode.Invalidf(errcode.Taken, "slug", "another service uses this slug")
		}
		return errcode.Invalidf(errcode.Missing, "practitionerIds", "no such practitioner")
	}
	return err
}
