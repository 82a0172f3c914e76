// Package sms sends text messages through a provider behind the small
// Provider interface: a client for Twilio's REST API (and compatible
// services) in production, a logging stand-in in development. Numbers are
// E.164 values checked when parsed, and a message's length is counted in
// segments the way carriers bill it.
package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf16"
)

// Phone is a number in E.164 form, such as +61400000000.
type Phone string

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// ErrInvalidPhone is returned by ParsePhone.
var ErrInvalidPhone = errors.New("sms: phone number must be in E.164 form, such as +61400000000")

// ParsePhone validates s as E.164; spaces, dashes, dots and brackets
// people type are removed first.
func ParsePhone(s string) (Phone, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if !e164.MatchString(clean) {
		return "", ErrInvalidPhone
	}
	return Phone(clean), nil
}

// Message is one SMS.
type Message struct {
	To   Phone
	Body string
	// IdempotencyKey identifies the send for logs and the sent-messages
	// record. Twilio has no idempotency header, so a job that crashes
	// between the API call and recording success can send twice; the
	// Messages resource is not deduplicated by the provider.
	IdempotencyKey string
}

// Provider sends SMS.
type Provider interface {
	// Send returns the provider's message id.
	Send(ctx context.Context, m Message) (id string, err error)
	// Name is recorded as the transport of sent messages.
	Name() string
}

// Encoding is how a message is encoded on the air.
type Encoding string

const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// gsmBasic and gsmExtended are the GSM 03.38 default alphabet and its
// extension table (extension characters take two septets).
const (
	gsmBasic    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtended = "^{}\\[~]|€\f"
)

// Segments returns how a body is encoded and how many segments it takes:
// GSM-7 fits 160 septets in one segment and 153 per segment when split;
// anything outside GSM-7 makes the whole message UCS-2, 70 UTF-16 units
// in one segment and 67 when split.
func Segments(body string) (Encoding, int) {
	septets, gsm := 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			septets++
		case strings.ContainsRune(gsmExtended, r):
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		if septets <= 160 {
			return GSM7, 1
		}
		return GSM7, (septets + 152) / 153
	}
	units := len(utf16.Encode([]rune(body)))
	if units <= 70 {
		return UCS2, 1
	}
	return UCS2, (units + 66) / 67
}

// ErrTooLong is returned for messages above the configured segment limit.
var ErrTooLong = errors.New("sms: message is longer than the allowed number of segments")

// CheckLength refuses bodies that are empty or need more than
// maxSegments segments.
func CheckLength(body string, maxSegments int) error {
	if strings.TrimSpace(body) == "" {
		return errors.New("sms: empty message")
	}
	enc, n := Segments(body)
	if n > maxSegments {
		return fmt.Errorf("%w: %d %s segments, limit %d", ErrTooLong, n, enc, maxSegments)
	}
	return nil
}

// Twilio sends through the Messages resource of Twilio's REST API or a
// compatible one: POST {BaseURL}/2010-04-01/Accounts/{SID}/Messages.json,
// HTTP basic auth with the account SID and auth token, form-encoded To,
// From, Body and optional StatusCallback.
type Twilio struct {
	BaseURL        string // https://api.twilio.com
	AccountSID     string
	AuthToken      string
	From           string
	StatusCallback string
	HTTP           *http.Client
}

// Name implements Provider.
func (t *Twilio) Name() string { return "twilio" }

// APIError is an error answer from the API.
type APIError struct {
	Status   int    `json:"-"` // HTTP status
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("sms: provider answered %d: %s (code %d)", e.Status, e.Message, e.Code)
}

// Permanent reports whether retrying cannot help: the request itself was
// refused (4xx other than 429 rate limiting).
func (e *APIError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests
}

// Send implements Provider.
func (t *Twilio) Send(ctx context.Context, m Message) (string, error) {
	form := url.Values{}
	form.Set("To", string(m.To))
	form.Set("From", t.From)
	form.Set("Body", m.Body)
	if t.StatusCallback != "" {
		form.Set("StatusCallback", t.StatusCallback)
	}
	endpoint := strings.TrimRight(t.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("sms: %w", err)
	}
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	client := t.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("sms: send: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("sms: read answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		apiErr := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(body, apiErr) != nil || apiErr.Message == "" {
			apiErr.Message = http.StatusText(resp.StatusCode)
		}
		return "", apiErr
	}
	var ok struct {
		SID    string `json:"sid"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &ok); err != nil || ok.SID == "" {
		return "", fmt.Errorf("sms: unexpected answer %.200q", body)
	}
	return ok.SID, nil
}

// Log is the development provider: it sends nothing and only logs.
type Log struct {
	Logf func(format string, args ...any)
}

// Name implements Provider.
func (l *Log) Name() string { return "log" }

// Send implements Provider.
func (l *Log) Send(_ context.Context, m Message) (string, error) {
	if l.Logf != nil {
		l.Logf("sms (development, not sent) to %s: %s", m.To, m.Body)
	}
	return "", nil
}
