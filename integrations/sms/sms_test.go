package sms_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"frontdesk/integrations/sms"
)

func TestParsePhone(t *testing.T) {
	for in, want := range map[string]sms.Phone{
		"+61400000000":      "+61400000000",
		"+61 400 000 000":   "+61400000000",
		"+1 (415) 555-0100": "+14155550100",
	} {
		got, err := sms.ParsePhone(in)
		if err != nil || got != want {
			t.Errorf("ParsePhone(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0400000000", "+0400000000", "+614000000001234567", "+61abc", "61400000000", "+12345"} {
		if _, err := sms.ParsePhone(in); !errors.Is(err, sms.ErrInvalidPhone) {
			t.Errorf("ParsePhone(%q) accepted", in)
		}
	}
}

func TestSegments(t *testing.T) {
	tests := []struct {
		body     string
		enc      sms.Encoding
		segments int
	}{
		{strings.Repeat("a", 160), sms.GSM7, 1},
		{strings.Repeat("a", 161), sms.GSM7, 2},
		{strings.Repeat("a", 306), sms.GSM7, 2},
		{strings.Repeat("a", 307), sms.GSM7, 3},
		{strings.Repeat("€", 80), sms.GSM7, 1}, // two septets each
		{strings.Repeat("€", 81), sms.GSM7, 2},
		{strings.Repeat("é", 160), sms.GSM7, 1}, // é is in the GSM alphabet
		{strings.Repeat("ê", 70), sms.UCS2, 1},  // ê is not
		{strings.Repeat("ê", 71), sms.UCS2, 2},
		{strings.Repeat("a", 133) + "😀", sms.UCS2, 3}, // 135 UTF-16 units
	}
	for _, tt := range tests {
		enc, n := sms.Segments(tt.body)
		if enc != tt.enc || n != tt.segments {
			t.Errorf("Segments(%d runes of %q…) = %s, %d; want %s, %d", len([]rune(tt.body)), tt.body[:1], enc, n, tt.enc, tt.segments)
		}
	}
	if err := sms.CheckLength(strings.Repeat("a", 613), 4); !errors.Is(err, sms.ErrTooLong) {
		t.Fatalf("613 GSM-7 characters in 4 segments: %v", err)
	}
	if err := sms.CheckLength(strings.Repeat("a", 612), 4); err != nil {
		t.Fatal(err)
	}
}

// The exact request a Twilio-compatible API receives.
func TestTwilioRequest(t *testing.T) {
	type seen struct {
		Method, Path, ContentType, User, Pass string
		Form                                  url.Values
	}
	var got seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		user, pass, _ := r.BasicAuth()
		got = seen{r.Method, r.URL.Path, r.Header.Get("Content-Type"), user, pass, form}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}`)
	}))
	defer srv.Close()
	p := &sms.Twilio{BaseURL: srv.URL, AccountSID: "AC123", AuthToken: "tok", From: "+61400000001",
		StatusCallback: "https://api.clinic.example/webhooks/sms", HTTP: srv.Client()}
	id, err := p.Send(context.Background(), sms.Message{To: "+61400000002", Body: "Reminder: Initial consultation tomorrow 09:30 & bring ID"})
	if err != nil {
		t.Fatal(err)
	}
	if id != "SM0123456789abcdef0123456789abcdef" {
		t.Fatalf("id = %q", id)
	}
	want := seen{
		Method: "POST", Path: "/2010-04-01/Accounts/AC123/Messages.json",
		ContentType: "application/x-www-form-urlencoded", User: "AC123", Pass: "tok",
		Form: url.Values{
			"To":             {"+61400000002"},
			"From":           {"+61400000001"},
			"Body":           {"Reminder: Initial consultation tomorrow 09:30 & bring ID"},
			"StatusCallback": {"https://api.clinic.example/webhooks/sms"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("request (-want +got):\n%s", diff)
	}
}

func TestTwilioErrors(t *testing.T) {
	status := http.StatusBadRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"code":21211,"message":"The 'To' number is not a valid phone number.","status":400}`)
	}))
	defer srv.Close()
	p := &sms.Twilio{BaseURL: srv.URL, AccountSID: "AC1", AuthToken: "t", From: "+61400000001"}
	_, err := p.Send(context.Background(), sms.Message{To: "+61400000002", Body: "x"})
	var apiErr *sms.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 21211 || !apiErr.Permanent() {
		t.Fatalf("err = %#v", err)
	}
	status = http.StatusServiceUnavailable
	_, err = p.Send(context.Background(), sms.Message{To: "+61400000002", Body: "x"})
	if !errors.As(err, &apiErr) || apiErr.Permanent() {
		t.Fatalf("503 must be retried: %v", err)
	}
}
