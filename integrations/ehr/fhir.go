package ehr

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// FHIR systems of Frontdesk's identifiers.
const (
	PatientSystem     = "urn:frontdesk:patient"
	AppointmentSystem = "urn:frontdesk:appointment"
	NoteSystem        = "urn:frontdesk:note"
)

// FHIR is an EHR speaking FHIR R4. Creates are conditional
// (If-None-Exist on Frontdesk's identifier), so a retry never duplicates.
type FHIR struct{ rest }

// NewFHIR returns a client for the FHIR R4 base URL.
func NewFHIR(baseURL, token string, h *http.Client) *FHIR {
	return &FHIR{newRest(baseURL, token, "application/fhir+json", h)}
}

// Identifier is a FHIR Identifier.
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// Reference is a FHIR Reference.
type Reference struct {
	Reference string `json:"reference"`
}

// HumanName is a FHIR HumanName.
type HumanName struct {
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

// ContactPoint is a FHIR ContactPoint.
type ContactPoint struct {
	System string `json:"system"` // email, phone
	Value  string `json:"value"`
}

// FHIRPatient is a FHIR Patient.
type FHIRPatient struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id,omitempty"`
	Identifier   []Identifier   `json:"identifier,omitempty"`
	Name         []HumanName    `json:"name,omitempty"`
	BirthDate    string         `json:"birthDate,omitempty"`
	Telecom      []ContactPoint `json:"telecom,omitempty"`
}

// Coding is a FHIR Coding.
type Coding struct {
	System string `json:"system,omitempty"`
	Code   string `json:"code"`
}

// CodeableConcept is a FHIR CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Participant is a FHIR Appointment.participant.
type Participant struct {
	Actor  Reference `json:"actor"`
	Status string    `json:"status"` // accepted
}

// FHIRAppointment is a FHIR Appointment.
type FHIRAppointment struct {
	ResourceType      string           `json:"resourceType"`
	ID                string           `json:"id,omitempty"`
	Identifier        []Identifier     `json:"identifier,omitempty"`
	Status            string           `json:"status"` // booked, cancelled
	AppointmentType   *CodeableConcept `json:"appointmentType,omitempty"`
	CancelationReason *CodeableConcept `json:"cancelationReason,omitempty"`
	Start             string           `json:"start"`
	End               string           `json:"end"`
	MinutesDuration   int              `json:"minutesDuration,omitempty"`
	Comment           string           `json:"comment,omitempty"`
	Participant       []Participant    `json:"participant"`
}

type bundle[T any] struct {
	ResourceType string `json:"resourceType"`
	Entry        []struct {
		Resource T `json:"resource"`
	} `json:"entry"`
}

func (f *FHIR) searchPatients(ctx context.Context, q url.Values) ([]FHIRPatient, error) {
	var b bundle[FHIRPatient]
	if err := f.do(ctx, http.MethodGet, "/Patient?"+q.Encode(), nil, &b); err != nil {
		return nil, err
	}
	out := make([]FHIRPatient, len(b.Entry))
	for i, e := range b.Entry {
		out[i] = e.Resource
	}
	return out, nil
}

// FindOrCreatePatient implements EHR.
func (f *FHIR) FindOrCreatePatient(ctx context.Context, p Patient) (string, error) {
	ident := PatientSystem + "|" + p.Identifier
	if p.Identifier != "" {
		found, err := f.searchPatients(ctx, url.Values{"identifier": {ident}})
		if err != nil {
			return "", err
		}
		if len(found) > 0 {
			return found[0].ID, nil
		}
	}
	if p.BirthDate != "" {
		found, err := f.searchPatients(ctx, url.Values{"family": {p.FamilyName}, "given": {p.GivenName}, "birthdate": {p.BirthDate}})
		if err != nil {
			return "", err
		}
		for _, c := range found {
			var email, phone string
			for _, t := range c.Telecom {
				switch t.System {
				case "email":
					email = t.Value
				case "phone", "sms":
					phone = t.Value
				}
			}
			if contactMatches(p, email, phone) {
				return c.ID, nil
			}
		}
	}
	res := FHIRPatient{ResourceType: "Patient", Name: []HumanName{{Family: p.FamilyName, Given: []string{p.GivenName}}}, BirthDate: p.BirthDate}
	if p.Identifier != "" {
		res.Identifier = []Identifier{{System: PatientSystem, Value: p.Identifier}}
	}
	if p.Email != "" {
		res.Telecom = append(res.Telecom, ContactPoint{System: "email", Value: p.Email})
	}
	if p.Phone != "" {
		res.Telecom = append(res.Telecom, ContactPoint{System: "phone", Value: p.Phone})
	}
	var created FHIRPatient
	var hdr []string
	if p.Identifier != "" {
		hdr = []string{"If-None-Exist", "identifier=" + ident}
	}
	err := f.do(ctx, http.MethodPost, "/Patient", res, &created, hdr...)
	return created.ID, err
}

// UpdatePatient implements EHR as a read, change and conditional write:
// the Patient is read whole, its first name and its first email and phone
// are replaced (everything else is kept as the EHR has it) and it is
// written back with If-Match on the version read, so an edit made in the
// EHR meanwhile is never overwritten blind. A version conflict (412) reads
// again, a few times, before giving up.
func (f *FHIR) UpdatePatient(ctx context.Context, id string, p Patient) error {
	path := "/Patient/" + url.PathEscape(id)
	var err error
	for range 3 {
		var res map[string]any
		if err = f.do(ctx, http.MethodGet, path, nil, &res); err != nil {
			return err
		}
		patchPatient(res, p)
		var hdr []string
		if meta, ok := res["meta"].(map[string]any); ok {
			if v, ok := meta["versionId"].(string); ok && v != "" {
				hdr = []string{"If-Match", `W/"` + v + `"`}
			}
		}
		err = f.do(ctx, http.MethodPut, path, res, nil, hdr...)
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusPreconditionFailed {
			return err
		}
	}
	return err
}

// patchPatient writes p onto a Patient resource decoded as JSON.
func patchPatient(res map[string]any, p Patient) {
	names, _ := res["name"].([]any)
	name := map[string]any{}
	if len(names) > 0 {
		if n, ok := names[0].(map[string]any); ok {
			name = n
		}
	} else {
		names = []any{name}
	}
	name["family"], name["given"] = p.FamilyName, []any{p.GivenName}
	delete(name, "text") // would disagree with the new parts
	names[0] = name
	res["name"] = names
	if p.BirthDate != "" {
		res["birthDate"] = p.BirthDate
	}
	telecom, _ := res["telecom"].([]any)
	setContact := func(value string, systems ...string) {
		if value == "" {
			return
		}
		for _, t := range telecom {
			c, _ := t.(map[string]any)
			if sys, _ := c["system"].(string); c != nil && slices.Contains(systems, sys) {
				c["value"] = value
				return
			}
		}
		telecom = append(telecom, map[string]any{"system": systems[0], "value": value})
	}
	setContact(p.Email, "email")
	setContact(p.Phone, "phone", "sms")
	if len(telecom) > 0 {
		res["telecom"] = telecom
	}
	if p.Identifier != "" {
		idents, _ := res["identifier"].([]any)
		for _, i := range idents {
			if m, ok := i.(map[string]any); ok && m["system"] == PatientSystem {
				return
			}
		}
		res["identifier"] = append(idents, map[string]any{"system": PatientSystem, "value": p.Identifier})
	}
}

func (f *FHIR) toFHIR(a Appointment, status string) FHIRAppointment {
	r := FHIRAppointment{ResourceType: "Appointment", Status: status,
		Identifier:      []Identifier{{System: AppointmentSystem, Value: a.Key}},
		Start:           a.Start.UTC().Format(time.RFC3339),
		End:             a.End.UTC().Format(time.RFC3339),
		MinutesDuration: int(a.End.Sub(a.Start) / time.Minute),
		Comment:         a.Notes,
		Participant:     []Participant{{Actor: Reference{"Patient/" + a.PatientID}, Status: "accepted"}},
	}
	if a.ProviderID != "" {
		r.Participant = append(r.Participant, Participant{Actor: Reference{"Practitioner/" + a.ProviderID}, Status: "accepted"})
	}
	if a.TypeID != "" {
		r.AppointmentType = &CodeableConcept{Coding: []Coding{{Code: a.TypeID}}}
	}
	return r
}

// CreateAppointment implements EHR with a conditional create.
func (f *FHIR) CreateAppointment(ctx context.Context, a Appointment) (string, error) {
	var created FHIRAppointment
	err := f.do(ctx, http.MethodPost, "/Appointment", f.toFHIR(a, "booked"), &created,
		"If-None-Exist", "identifier="+AppointmentSystem+"|"+a.Key)
	return created.ID, err
}

// UpdateAppointment implements EHR.
func (f *FHIR) UpdateAppointment(ctx context.Context, id string, a Appointment) error {
	r := f.toFHIR(a, "booked")
	r.ID = id
	return f.do(ctx, http.MethodPut, "/Appointment/"+url.PathEscape(id), r, nil)
}

// CancelAppointment implements EHR: status cancelled with the reason.
func (f *FHIR) CancelAppointment(ctx context.Context, id, reason string) error {
	var cur FHIRAppointment
	if err := f.do(ctx, http.MethodGet, "/Appointment/"+url.PathEscape(id), nil, &cur); err != nil {
		if IsNotFound(err) {
			return nil
		}
		return err
	}
	cur.Status = "cancelled"
	if reason != "" {
		cur.CancelationReason = &CodeableConcept{Text: reason}
	}
	return f.do(ctx, http.MethodPut, "/Appointment/"+url.PathEscape(id), cur, nil)
}

// AttachNote implements EHR as a DocumentReference, created
// conditionally on key.
func (f *FHIR) AttachNote(ctx context.Context, patientID, appointmentID, key, title, text string) error {
	doc := map[string]any{
		"resourceType": "DocumentReference",
		"status":       "current",
		"identifier":   []Identifier{{System: NoteSystem, Value: key}},
		"subject":      Reference{"Patient/" + patientID},
		"description":  title,
		"content": []map[string]any{{"attachment": map[string]string{
			"contentType": "text/plain; charset=utf-8", "title": title,
			"data": base64.StdEncoding.EncodeToString([]byte(text)),
		}}},
		"context": map[string]any{"related": []Reference{{"Appointment/" + appointmentID}}},
	}
	return f.do(ctx, http.MethodPost, "/DocumentReference", doc, nil, "If-None-Exist", "identifier="+NoteSystem+"|"+key)
}

var _ EHR = (*FHIR)(nil)
