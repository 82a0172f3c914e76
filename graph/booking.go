package graph

import (
	"context"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"

	"frontdesk/booking"
	"frontdesk/ent"
	"frontdesk/ent/service"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/graph/model"
	"frontdesk/money"
)

// Translation between booking's GraphQL inputs/payloads and the booking
// package. No rules live here.

// bookingErrors splits a domain error into the payload's userErrors (nil
// error) or a top-level error.
func bookingErrors(err error) ([]*errcode.UserError, error) {
	if err == nil {
		return []*errcode.UserError{}, nil
	}
	if l, ok := errcode.AsUserErrors(err); ok {
		return l, nil
	}
	return nil, err
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func appointmentPayload(a *ent.Appointment, err error) (*model.AppointmentPayload, error) {
	ue, err := bookingErrors(err)
	if err != nil || len(ue) > 0 {
		return &model.AppointmentPayload{UserErrors: ue}, err
	}
	return &model.AppointmentPayload{Appointment: a, UserErrors: ue}, nil
}

func practitionerPayload(p *ent.Practitioner, err error) (*model.PractitionerPayload, error) {
	ue, err := bookingErrors(err)
	if err != nil || len(ue) > 0 {
		return &model.PractitionerPayload{UserErrors: ue}, err
	}
	return &model.PractitionerPayload{Practitioner: p, UserErrors: ue}, nil
}

func hoursPayload(ctx context.Context, eng *booking.Engine, practitionerID gid.ID, err error) (*model.PractitionerHoursPayload, error) {
	ue, err := bookingErrors(err)
	if err != nil || len(ue) > 0 {
		return &model.PractitionerHoursPayload{UserErrors: ue}, err
	}
	p, err := eng.PractitionerByID(ctx, practitionerID)
	if err != nil {
		return nil, err
	}
	return &model.PractitionerHoursPayload{Practitioner: p, UserErrors: ue}, nil
}

func servicePayload(s *ent.Service, err error) (*model.ServicePayload, error) {
	ue, err := bookingErrors(err)
	if err != nil || len(ue) > 0 {
		return &model.ServicePayload{UserErrors: ue}, err
	}
	return &model.ServicePayload{Service: s, UserErrors: ue}, nil
}

func practitionerInput(in *model.PractitionerInput) booking.PractitionerInput {
	if in == nil {
		return booking.PractitionerInput{}
	}
	return booking.PractitionerInput{Name: in.Name, TimeZone: in.TimeZone, Bio: in.Bio, PhotoURL: in.PhotoURL,
		StaffUserID: in.StaffUserID, Active: in.Active}
}

func weeklyHours(in []*model.WeeklyHoursInput) map[time.Weekday][]booking.MinuteRange {
	out := map[time.Weekday][]booking.MinuteRange{}
	for _, h := range in {
		d := time.Weekday(h.Weekday)
		out[d] = append(out[d], booking.MinuteRange{Start: h.StartMinute, End: h.EndMinute})
	}
	return out
}

func serviceInput(in *model.ServiceInput) booking.ServiceInput {
	if in == nil {
		return booking.ServiceInput{}
	}
	out := booking.ServiceInput{
		Name: in.Name, Slug: in.Slug, Description: in.Description, DurationMinutes: in.DurationMinutes,
		BufferBefore: in.BufferBeforeMinutes, BufferAfter: in.BufferAfterMinutes, MinNotice: in.MinNoticeMinutes,
		SlotInterval: in.SlotIntervalMinutes, CancelCutoff: in.CancelCutoffMinutes,
		RescheduleCutoff: in.RescheduleCutoffMinutes, HorizonDays: in.HorizonDays, DailyLimit: in.DailyLimit,
		Location: in.Location, VideoURL: in.VideoURL, RefundOnCancel: in.RefundOnCancel,
		IntakeRequired: in.IntakeRequired, Active: in.Active, PractitionerIDs: in.PractitionerIds,
	}
	if in.Price != nil {
		amount := int64(in.Price.Amount)
		out.PriceAmount, out.Currency = &amount, &in.Price.Currency
	}
	if in.IntakeFormKey != nil {
		if *in.IntakeFormKey == "" {
			out.ClearIntakeForm = true
		} else {
			out.IntakeFormKey = in.IntakeFormKey
		}
	}
	if in.RequiresServiceID != nil {
		if *in.RequiresServiceID == "" {
			out.ClearRequiresService = true
		} else {
			id := gid.ID(*in.RequiresServiceID)
			out.RequiresServiceID = &id
		}
	}
	if in.EligibilityScope != nil {
		same := *in.EligibilityScope == service.EligibilityScopeSAME_PRACTITIONER
		out.EligibilitySamePractitioner = &same
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// values copies a list of input objects into values.
func values[T any](in []*T) []T {
	out := make([]T, 0, len(in))
	for _, v := range in {
		if v != nil {
			out = append(out, *v)
		}
	}
	return out
}

// byStart orders appointment connections by start, then ID (the cursor
// carries both, so pages stay stable when starts tie).
func byStart(dir entgql.OrderDirection) ent.AppointmentPaginateOption {
	return ent.WithAppointmentOrder(&ent.AppointmentOrder{Direction: dir, Field: ent.AppointmentOrderFieldStartAt})
}

// price is a stored amount as Money; nil for free.
func price(amount int64, currency string) *money.Money {
	if amount == 0 {
		return nil
	}
	return &money.Money{Amount: amount, Currency: currency}
}

// appointmentFilter translates the staff search's filter.
func appointmentFilter(f *model.AppointmentFilter) booking.AppointmentFilter {
	if f == nil {
		return booking.AppointmentFilter{}
	}
	out := booking.AppointmentFilter{States: f.States, PractitionerIDs: f.PractitionerIds, ServiceIDs: f.ServiceIds,
		StartFrom: deref(f.StartFrom), StartTo: deref(f.StartTo), PatientID: deref(f.PatientID), Patient: deref(f.Patient),
		CreatedFrom: deref(f.CreatedFrom), CreatedTo: deref(f.CreatedTo)}
	if f.IntakeStatus != nil {
		out.Intake = booking.IntakeStatus(*f.IntakeStatus)
	}
	return out
}

// appointmentOrder is the staff search's order: by start (the default)
// or by when the appointment was made, which is ID order (IDs are
// time-ordered ULIDs).
func appointmentOrder(o *model.AppointmentOrder) ent.AppointmentPaginateOption {
	if o == nil {
		return byStart(entgql.OrderDirectionAsc)
	}
	dir := o.Direction
	if dir == "" {
		dir = entgql.OrderDirectionAsc
	}
	if o.Field == model.AppointmentSortFieldCreatedAt {
		return ent.WithAppointmentOrder(&ent.AppointmentOrder{Direction: dir, Field: ent.DefaultAppointmentOrder.Field})
	}
	return byStart(dir)
}

// BookingLoaders puts booking's per-request loaders into the context of
// every operation, so a page of appointments reads its patients' names
// in one query.
type BookingLoaders struct{ Booking *booking.Engine }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = BookingLoaders{}

// ExtensionName implements graphql.HandlerExtension.
func (BookingLoaders) ExtensionName() string { return "BookingLoaders" }

// Validate implements graphql.HandlerExtension.
func (BookingLoaders) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation implements graphql.OperationInterceptor.
func (b BookingLoaders) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return next(b.Booking.WithLoaders(ctx))
}
