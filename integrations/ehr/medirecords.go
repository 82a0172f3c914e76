package ehr

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MediRecords is the MediRecords REST API, as far as it is known: a bearer
// token per practice, /v1/patients, /v1/patients/search,
// /v1/practices/{practiceId}/appointments and /appointment-types.
// scheduleTime is a local date-time without a zone, so times are
// converted to the practice's zone explicitly.
type MediRecords struct {
	rest
	practice string
	loc      *time.Location
}

// MediRecords appointment status codes.
const (
	MRStatusBooked    = "BOOKED"
	MRStatusCancelled = "CANCELLED"
)

// mrScheduleLayout is scheduleTime's format: local wall-clock, no zone.
const mrScheduleLayout = "2006-01-02T15:04:05"

// NewMediRecords returns a client for one practice.
func NewMediRecords(baseURL, token, practiceID string, loc *time.Location, h *http.Client) *MediRecords {
	return &MediRecords{rest: newRest(baseURL, token, "application/json", h), practice: practiceID, loc: loc}
}

// MRPatient is a MediRecords patient.
type MRPatient struct {
	ID          string `json:"id,omitempty"`
	PracticeID  string `json:"practiceId,omitempty"`
	ExternalID  string `json:"externalId,omitempty"`
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	DateOfBirth string `json:"dob,omitempty"`
	Email       string `json:"email,omitempty"`
	MobilePhone string `json:"mobilePhone,omitempty"`
}

// MRAppointment is a MediRecords appointment.
type MRAppointment struct {
	ID                string `json:"id,omitempty"`
	PatientID         string `json:"patientId"`
	ProviderID        string `json:"providerId"`
	AppointmentTypeID string `json:"appointmentTypeId,omitempty"`
	ScheduleTime      string `json:"scheduleTime"`
	Duration          int    `json:"duration"` // minutes
	Status            string `json:"status"`
	Notes             string `json:"notes,omitempty"`
	ExternalReference string `json:"externalReference,omitempty"`
	CancelReason      string `json:"cancellationReason,omitempty"`
}

// MRAppointmentType is an appointment type of the practice.
type MRAppointmentType struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Duration int    `json:"duration"`
}

func (m *MediRecords) search(ctx context.Context, q url.Values) ([]MRPatient, error) {
	q.Set("practiceId", m.practice)
	var out struct {
		Data []MRPatient `json:"data"`
	}
	err := m.do(ctx, http.MethodGet, "/v1/patients/search?"+q.Encode(), nil, &out)
	return out.Data, err
}

// FindOrCreatePatient implements EHR.
func (m *MediRecords) FindOrCreatePatient(ctx context.Context, p Patient) (string, error) {
	if p.Identifier != "" {
		found, err := m.search(ctx, url.Values{"externalId": {p.Identifier}})
		if err != nil {
			return "", err
		}
		if len(found) > 0 {
			return found[0].ID, nil
		}
	}
	if p.BirthDate != "" {
		found, err := m.search(ctx, url.Values{"firstName": {p.GivenName}, "lastName": {p.FamilyName}, "dob": {p.BirthDate}})
		if err != nil {
			return "", err
		}
		for _, c := range found {
			if contactMatches(p, c.Email, c.MobilePhone) {
				return c.ID, nil
			}
		}
	}
	var created MRPatient
	err := m.do(ctx, http.MethodPost, "/v1/patients", MRPatient{PracticeID: m.practice, ExternalID: p.Identifier,
		FirstName: p.GivenName, LastName: p.FamilyName, DateOfBirth: p.BirthDate, Email: p.Email, MobilePhone: p.Phone}, &created)
	return created.ID, err
}

// UpdatePatient implements EHR with a PATCH that carries only the fields
// Frontdesk knows, so MediRecords keeps the rest (address, Medicare
// number, notes).
func (m *MediRecords) UpdatePatient(ctx context.Context, id string, p Patient) error {
	body := map[string]string{"firstName": p.GivenName, "lastName": p.FamilyName}
	for k, v := range map[string]string{"dob": p.BirthDate, "email": p.Email, "mobilePhone": p.Phone} {
		if v != "" {
			body[k] = v
		}
	}
	return m.do(ctx, http.MethodPatch, "/v1/patients/"+url.PathEscape(id), body, nil)
}

func (m *MediRecords) appointmentsPath() string {
	return "/v1/practices/" + url.PathEscape(m.practice) + "/appointments"
}

func (m *MediRecords) toMR(a Appointment, status string) MRAppointment {
	return MRAppointment{PatientID: a.PatientID, ProviderID: a.ProviderID, AppointmentTypeID: a.TypeID,
		ScheduleTime: a.Start.In(m.loc).Format(mrScheduleLayout), Duration: int(a.End.Sub(a.Start) / time.Minute),
		Status: status, Notes: a.Notes, ExternalReference: a.Key}
}

// CreateAppointment implements EHR. MediRecords has no idempotency key,
// so the patient's appointments that day are searched for the key first.
func (m *MediRecords) CreateAppointment(ctx context.Context, a Appointment) (string, error) {
	day := a.Start.In(m.loc).Format(time.DateOnly)
	var list struct {
		Data []MRAppointment `json:"data"`
	}
	q := url.Values{"patientId": {a.PatientID}, "date": {day}}
	if err := m.do(ctx, http.MethodGet, m.appointmentsPath()+"?"+q.Encode(), nil, &list); err != nil {
		return "", err
	}
	for _, x := range list.Data {
		if x.ExternalReference == a.Key {
			return x.ID, nil
		}
	}
	var created MRAppointment
	err := m.do(ctx, http.MethodPost, m.appointmentsPath(), m.toMR(a, MRStatusBooked), &created)
	return created.ID, err
}

// UpdateAppointment implements EHR.
func (m *MediRecords) UpdateAppointment(ctx context.Context, id string, a Appointment) error {
	return m.do(ctx, http.MethodPut, m.appointmentsPath()+"/"+url.PathEscape(id), m.toMR(a, MRStatusBooked), nil)
}

// CancelAppointment implements EHR.
func (m *MediRecords) CancelAppointment(ctx context.Context, id, reason string) error {
	body := map[string]string{"status": MRStatusCancelled, "cancellationReason": reason}
	err := m.do(ctx, http.MethodPatch, m.appointmentsPath()+"/"+url.PathEscape(id), body, nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// AttachNote implements EHR as a patient note keyed by key.
func (m *MediRecords) AttachNote(ctx context.Context, patientID, appointmentID, key, title, text string) error {
	body := map[string]string{"title": title, "text": text, "appointmentId": appointmentID, "externalReference": key}
	err := m.do(ctx, http.MethodPost, "/v1/patients/"+url.PathEscape(patientID)+"/notes", body, nil)
	if e, ok := err.(*Error); ok && e.Status == http.StatusConflict {
		return nil // already attached under this key
	}
	return err
}

// AppointmentTypes lists the practice's appointment types, for admins
// filling the mapping table.
func (m *MediRecords) AppointmentTypes(ctx context.Context) ([]MRAppointmentType, error) {
	var out struct {
		Data []MRAppointmentType `json:"data"`
	}
	err := m.do(ctx, http.MethodGet, "/v1/practices/"+url.PathEscape(m.practice)+"/appointment-types", nil, &out)
	return out.Data, err
}

var _ EHR = (*MediRecords)(nil)

func splitName(full string) (given, family string) {
	full = strings.TrimSpace(full)
	i := strings.LastIndexByte(full, ' ')
	if i < 0 {
		return full, full
	}
	return strings.TrimSpace(full[:i]), strings.TrimSpace(full[i+1:])
}

// SplitName splits a display name into given and family names, the last
// word being the family name (a one-word name is both).
func SplitName(full string) (given, family string) { return splitName(full) }
