// Package ehrtest holds EHR doubles for tests: a MediRecords server and a
// FHIR R4 server on 127.0.0.1 that speak the request and response shapes
// the clients in package ehr use, keep what they are sent, and check the
// bearer token.
package ehrtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"frontdesk/integrations/ehr"
)

// Token is the bearer token both doubles accept.
const Token = "ehr-token"

// Note is an attached note.
type Note struct {
	PatientID, AppointmentID, Key, Title, Text string
}

// MediRecords is the MediRecords double.
type MediRecords struct {
	URL      string
	Practice string

	mu           sync.Mutex
	seq          int
	Patients     map[string]ehr.MRPatient
	Appointments map[string]ehr.MRAppointment
	Notes        []Note
	// PatientUpdates are the PATCH /v1/patients/{id} bodies received, in
	// order, with ID set to the patient patched.
	PatientUpdates []ehr.MRPatient
	// FailNext answers the next n requests with 503, with Retry-After
	// when RetryAfter is set.
	FailNext   int
	RetryAfter string
}

// NewMediRecords starts a MediRecords double for practice.
func NewMediRecords(t testing.TB, practice string) *MediRecords {
	m := &MediRecords{Practice: practice, Patients: map[string]ehr.MRPatient{}, Appointments: map[string]ehr.MRAppointment{}}
	srv := httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v) // the client may have gone
	}
}

func (m *MediRecords) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+Token {
		reply(w, http.StatusUnauthorized, map[string]string{"message": "invalid token"})
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.FailNext > 0 {
		m.FailNext--
		if m.RetryAfter != "" {
			w.Header().Set("Retry-After", m.RetryAfter)
		}
		reply(w, http.StatusServiceUnavailable, map[string]string{"message": "maintenance"})
		return
	}
	apts := "/v1/practices/" + m.Practice + "/appointments"
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/patients/search":
		var out []ehr.MRPatient
		for _, p := range m.Patients {
			if q.Get("practiceId") != m.Practice {
				continue
			}
			if v := q.Get("externalId"); v != "" && p.ExternalID != v {
				continue
			}
			if v := q.Get("dob"); v != "" && (p.DateOfBirth != v || !strings.EqualFold(p.FirstName, q.Get("firstName")) || !strings.EqualFold(p.LastName, q.Get("lastName"))) {
				continue
			}
			out = append(out, p)
		}
		reply(w, http.StatusOK, map[string]any{"data": out})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/patients":
		var p ehr.MRPatient
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil || p.FirstName == "" || p.PracticeID != m.Practice {
			reply(w, http.StatusBadRequest, map[string]string{"message": "bad patient"})
			return
		}
		m.seq++
		p.ID = fmt.Sprintf("pat-%d", m.seq)
		m.Patients[p.ID] = p
		reply(w, http.StatusCreated, p)
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/v1/patients/") && strings.Count(r.URL.Path, "/") == 3:
		id := strings.TrimPrefix(r.URL.Path, "/v1/patients/")
		cur, ok := m.Patients[id]
		if !ok {
			reply(w, http.StatusNotFound, map[string]string{"message": "not found"})
			return
		}
		var p ehr.MRPatient
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil || p.ID != "" || p.PracticeID != "" {
			reply(w, http.StatusBadRequest, map[string]string{"message": "bad patient patch"})
			return
		}
		// A PATCH changes only the fields it carries.
		for dst, src := range map[*string]string{&cur.FirstName: p.FirstName, &cur.LastName: p.LastName, &cur.DateOfBirth: p.DateOfBirth,
			&cur.Email: p.Email, &cur.MobilePhone: p.MobilePhone, &cur.ExternalID: p.ExternalID} {
			if src != "" {
				*dst = src
			}
		}
		m.Patients[id] = cur
		p.ID = id
		m.PatientUpdates = append(m.PatientUpdates, p)
		reply(w, http.StatusOK, cur)
	case r.Method == http.MethodGet && r.URL.Path == apts:
		var out []ehr.MRAppointment
		for _, a := range m.Appointments {
			if a.PatientID == q.Get("patientId") && strings.HasPrefix(a.ScheduleTime, q.Get("date")) {
				out = append(out, a)
			}
		}
		reply(w, http.StatusOK, map[string]any{"data": out})
	case r.Method == http.MethodPost && r.URL.Path == apts:
		var a ehr.MRAppointment
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil || strings.ContainsAny(a.ScheduleTime[min(len(a.ScheduleTime), 19):], "Z+-") || len(a.ScheduleTime) != 19 {
			reply(w, http.StatusBadRequest, map[string]string{"message": "scheduleTime must be yyyy-MM-ddTHH:mm:ss without a zone"})
			return
		}
		if _, ok := m.Patients[a.PatientID]; !ok {
			reply(w, http.StatusBadRequest, map[string]string{"message": "unknown patient"})
			return
		}
		m.seq++
		a.ID = fmt.Sprintf("apt-%d", m.seq)
		m.Appointments[a.ID] = a
		reply(w, http.StatusCreated, a)
	case (r.Method == http.MethodPut || r.Method == http.MethodPatch) && strings.HasPrefix(r.URL.Path, apts+"/"):
		id := strings.TrimPrefix(r.URL.Path, apts+"/")
		cur, ok := m.Appointments[id]
		if !ok {
			reply(w, http.StatusNotFound, map[string]string{"message": "not found"})
			return
		}
		if r.Method == http.MethodPut {
			var a ehr.MRAppointment
			if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
				reply(w, http.StatusBadRequest, nil)
				return
			}
			a.ID = id
			cur = a
		} else {
			var p map[string]string
			if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
				reply(w, http.StatusBadRequest, nil)
				return
			}
			cur.Status, cur.CancelReason = p["status"], p["cancellationReason"]
		}
		m.Appointments[id] = cur
		reply(w, http.StatusOK, cur)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/patients/") && strings.HasSuffix(r.URL.Path, "/notes"):
		var n map[string]string
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			reply(w, http.StatusBadRequest, nil)
			return
		}
		for _, x := range m.Notes {
			if x.Key == n["externalReference"] {
				reply(w, http.StatusConflict, map[string]string{"message": "duplicate externalReference"})
				return
			}
		}
		pid := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/patients/"), "/notes")
		m.Notes = append(m.Notes, Note{pid, n["appointmentId"], n["externalReference"], n["title"], n["text"]})
		reply(w, http.StatusCreated, map[string]string{"id": fmt.Sprint(len(m.Notes))})
	case r.Method == http.MethodGet && r.URL.Path == "/v1/practices/"+m.Practice+"/appointment-types":
		reply(w, http.StatusOK, map[string]any{"data": []ehr.MRAppointmentType{{ID: "type-initial", Name: "Initial", Duration: 60}, {ID: "type-follow", Name: "Follow-up", Duration: 30}}})
	default:
		reply(w, http.StatusNotFound, map[string]string{"message": "no route " + r.Method + " " + r.URL.Path})
	}
}

// Updates returns a copy of PatientUpdates.
func (m *MediRecords) Updates() []ehr.MRPatient {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]ehr.MRPatient(nil), m.PatientUpdates...)
}

// Counts returns how many patients and appointments exist.
func (m *MediRecords) Counts() (patients, appointments int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.Patients), len(m.Appointments)
}

// FHIR is the FHIR R4 double: Patient, Appointment and DocumentReference
// with search by identifier (and Patient by family, given, birthdate),
// conditional create through If-None-Exist, and versioned updates
// (meta.versionId, If-Match answered with 412 when stale).
type FHIR struct {
	URL string

	mu        sync.Mutex
	seq       int
	Resources map[string]map[string]json.RawMessage // type → id → resource
	// Updates lists every accepted PUT as "Type/id", in order.
	Updates []string
	// FailNext answers the next n requests with 503.
	FailNext int
}

// NewFHIR starts a FHIR double.
func NewFHIR(t testing.TB) *FHIR {
	f := &FHIR{Resources: map[string]map[string]json.RawMessage{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Updated returns a copy of Updates.
func (f *FHIR) Updated() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.Updates...)
}

// Put stores a resource as if edited in the EHR itself, bumping its
// version.
func (f *FHIR) Put(typ, id string, v any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var res map[string]any
	if err := json.Unmarshal(b, &res); err != nil {
		return err
	}
	f.store(typ, id, res)
	return nil
}

// store saves res under typ/id with the next meta.versionId.
func (f *FHIR) store(typ, id string, res map[string]any) json.RawMessage {
	version := 1
	var old struct {
		Meta struct {
			VersionID string `json:"versionId"`
		} `json:"meta"`
	}
	if raw, ok := f.Resources[typ][id]; ok && json.Unmarshal(raw, &old) == nil {
		_, _ = fmt.Sscan(old.Meta.VersionID, &version) // stored versions are numbers
		version++
	}
	res["id"] = id
	res["meta"] = map[string]any{"versionId": fmt.Sprint(version)}
	raw, _ := json.Marshal(res) // decoded JSON always encodes
	if f.Resources[typ] == nil {
		f.Resources[typ] = map[string]json.RawMessage{}
	}
	f.Resources[typ][id] = raw
	return raw
}

func (f *FHIR) version(typ, id string) string {
	var cur struct {
		Meta struct {
			VersionID string `json:"versionId"`
		} `json:"meta"`
	}
	_ = json.Unmarshal(f.Resources[typ][id], &cur) // stored resources always decode
	return cur.Meta.VersionID
}

// Count returns how many resources of a type exist.
func (f *FHIR) Count(typ string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.Resources[typ])
}

// Get decodes a resource into v.
func (f *FHIR) Get(typ, id string, v any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	raw, ok := f.Resources[typ][id]
	if !ok {
		return fmt.Errorf("no %s/%s", typ, id)
	}
	return json.Unmarshal(raw, v)
}

type generic struct {
	ID         string           `json:"id"`
	Identifier []ehr.Identifier `json:"identifier"`
	Name       []ehr.HumanName  `json:"name"`
	BirthDate  string           `json:"birthDate"`
}

func (f *FHIR) match(typ string, q map[string]string) []json.RawMessage {
	var out []json.RawMessage
	for _, raw := range f.Resources[typ] {
		var g generic
		_ = json.Unmarshal(raw, &g) // stored resources always decode
		ok := true
		if v, has := q["identifier"]; has {
			sys, val, _ := strings.Cut(v, "|")
			found := false
			for _, id := range g.Identifier {
				found = found || (id.System == sys && id.Value == val)
			}
			ok = found
		}
		if v, has := q["birthdate"]; has {
			ok = ok && g.BirthDate == v && len(g.Name) > 0 && strings.EqualFold(g.Name[0].Family, q["family"]) &&
				len(g.Name[0].Given) > 0 && strings.EqualFold(g.Name[0].Given[0], q["given"])
		}
		if ok {
			out = append(out, raw)
		}
	}
	return out
}

func (f *FHIR) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+Token {
		reply(w, http.StatusUnauthorized, map[string]any{"resourceType": "OperationOutcome"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.FailNext > 0 {
		f.FailNext--
		reply(w, http.StatusServiceUnavailable, map[string]any{"resourceType": "OperationOutcome"})
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	typ := parts[0]
	if f.Resources[typ] == nil {
		f.Resources[typ] = map[string]json.RawMessage{}
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		q := map[string]string{}
		for k, v := range r.URL.Query() {
			q[k] = v[0]
		}
		entries := []map[string]json.RawMessage{}
		for _, raw := range f.match(typ, q) {
			entries = append(entries, map[string]json.RawMessage{"resource": raw})
		}
		reply(w, http.StatusOK, map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries})
	case len(parts) == 1 && r.Method == http.MethodPost:
		if cond := r.Header.Get("If-None-Exist"); cond != "" {
			k, v, _ := strings.Cut(cond, "=")
			if found := f.match(typ, map[string]string{k: v}); len(found) > 0 {
				reply(w, http.StatusOK, found[0])
				return
			}
		}
		var res map[string]any
		if err := json.NewDecoder(r.Body).Decode(&res); err != nil || res["resourceType"] != typ {
			reply(w, http.StatusBadRequest, map[string]any{"resourceType": "OperationOutcome"})
			return
		}
		f.seq++
		raw := f.store(typ, fmt.Sprint(f.seq), res)
		w.Header().Set("Location", fmt.Sprintf("%s/%d/_history/1", typ, f.seq))
		reply(w, http.StatusCreated, json.RawMessage(raw))
	case len(parts) == 2 && r.Method == http.MethodGet:
		raw, ok := f.Resources[typ][parts[1]]
		if !ok {
			reply(w, http.StatusNotFound, map[string]any{"resourceType": "OperationOutcome"})
			return
		}
		reply(w, http.StatusOK, json.RawMessage(raw))
	case len(parts) == 2 && r.Method == http.MethodPut:
		if _, ok := f.Resources[typ][parts[1]]; !ok {
			reply(w, http.StatusNotFound, map[string]any{"resourceType": "OperationOutcome"})
			return
		}
		if m := r.Header.Get("If-Match"); m != "" && m != `W/"`+f.version(typ, parts[1])+`"` {
			reply(w, http.StatusPreconditionFailed, map[string]any{"resourceType": "OperationOutcome"})
			return
		}
		var res map[string]any
		if err := json.NewDecoder(r.Body).Decode(&res); err != nil || res["id"] != parts[1] || res["resourceType"] != typ {
			reply(w, http.StatusBadRequest, map[string]any{"resourceType": "OperationOutcome"})
			return
		}
		raw := f.store(typ, parts[1], res)
		f.Updates = append(f.Updates, typ+"/"+parts[1])
		reply(w, http.StatusOK, json.RawMessage(raw))
	default:
		reply(w, http.StatusNotFound, map[string]any{"resourceType": "OperationOutcome"})
	}
}
