// Package ehr pushes patients and appointments into an electronic health
// record. EHR is the small interface the sync uses; MediRecords (its REST
// API) and any FHIR R4 server implement it, chosen by configuration. Calls
// are not retried here: failures come back as errors the outbox job
// retries, and Retryable says which are worth it.
package ehr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"frontdesk/integrations/httpretry"
)

// Patient is who an appointment is for. Identifier is Frontdesk's own key
// for the person (a user id, or "guest:<email>"), stored in the EHR so the
// next search finds them by it.
type Patient struct {
	Identifier string
	GivenName  string
	FamilyName string
	// BirthDate is YYYY-MM-DD, or empty when unknown.
	BirthDate string
	Email     string
	Phone     string // E.164
}

// Appointment is an appointment as the EHR sees it.
type Appointment struct {
	// Key is Frontdesk's appointment id: stored in the EHR so a retried
	// create finds the appointment instead of making a second one.
	Key        string
	PatientID  string
	ProviderID string
	TypeID     string
	Start, End time.Time
	// Notes carries no clinical detail: where and how to join.
	Notes string
}

// EHR is an electronic health record.
type EHR interface {
	// FindOrCreatePatient matches by identifier, then by name, birth date
	// and email or phone, and creates the patient only when nothing
	// matches; it returns the EHR's patient id.
	FindOrCreatePatient(ctx context.Context, p Patient) (string, error)
	// UpdatePatient writes p's name, birth date, email and phone onto the
	// EHR's patient id, leaving everything else the EHR holds alone. An
	// empty field is not sent: Frontdesk never erases what reception
	// entered. Writing the same values twice is harmless.
	UpdatePatient(ctx context.Context, id string, p Patient) error
	// CreateAppointment creates a, or returns the one already created
	// with a.Key.
	CreateAppointment(ctx context.Context, a Appointment) (string, error)
	UpdateAppointment(ctx context.Context, id string, a Appointment) error
	CancelAppointment(ctx context.Context, id, reason string) error
	// AttachNote attaches a text document to the patient's record, once
	// per key.
	AttachNote(ctx context.Context, patientID, appointmentID, key, title, text string) error
}

// Error is a failed EHR call.
type Error struct {
	Status  int
	Message string
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
}

// RetryDelay is the server's Retry-After; the outbox waits at least this
// long before the next attempt.
func (e *Error) RetryDelay() time.Duration { return e.RetryAfter }

func (e *Error) Error() string { return fmt.Sprintf("ehr: HTTP %d: %s", e.Status, e.Message) }

// Retryable reports whether the call may succeed later.
func Retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return httpretry.Status(e.Status)
	}
	return err != nil
}

// IsNotFound reports a 404 (or FHIR's 410 for a deleted resource).
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Status == http.StatusNotFound || e.Status == http.StatusGone)
}

// rest is the JSON-over-HTTP plumbing both clients share.
type rest struct {
	base   string
	token  string
	http   *http.Client
	accept string
}

func newRest(base, token, accept string, h *http.Client) rest {
	if h == nil {
		h = &http.Client{Timeout: 30 * time.Second}
	}
	return rest{base: strings.TrimRight(base, "/"), token: token, http: h, accept: accept}
}

func (r rest) do(ctx context.Context, method, path string, in, out any, headers ...string) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("ehr: encode: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Accept", r.accept)
	if in != nil {
		req.Header.Set("Content-Type", r.accept)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("ehr: %s %s: %w", method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("ehr: %s %s: %w", method, req.URL.Path, err)
	}
	if resp.StatusCode >= 300 {
		msg := strings.TrimSpace(string(data))
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return &Error{Status: resp.StatusCode, Message: msg, RetryAfter: httpretry.After(resp, time.Now())}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("ehr: %s %s: decode: %w", method, req.URL.Path, err)
		}
	}
	return nil
}

func normPhone(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// contactMatches: a name and birth date match is a different person
// unless an email or a phone agrees too.
func contactMatches(p Patient, email, phone string) bool {
	if p.Email != "" && strings.EqualFold(p.Email, email) {
		return true
	}
	a, b := lastDigits(p.Phone), lastDigits(phone)
	return a != "" && a == b
}

// lastDigits is a phone's last nine digits, so +61 412 345 678 and
// 0412 345 678 agree; shorter numbers do not count.
func lastDigits(s string) string {
	d := normPhone(s)
	if len(d) < 9 {
		return ""
	}
	return d[len(d)-9:]
}
