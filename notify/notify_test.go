package notify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/sentmessage"
	"frontdesk/identity"
	"frontdesk/integrations/mail"
	"frontdesk/integrations/sms"
	"frontdesk/internal/testenv"
	"frontdesk/notify"
	"frontdesk/outbox"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type inbox struct {
	mu   sync.Mutex
	msgs []string
}

func (b *inbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &sess{b: b}, nil }

type sess struct{ b *inbox }

func (s *sess) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sess) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *sess) Data(r io.Reader) error {
	d, err := io.ReadAll(r)
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, string(d))
	s.b.mu.Unlock()
	return err
}
func (s *sess) Reset()        {}
func (s *sess) Logout() error { return nil }

// run starts a worker for svc and stops it when the test ends.
func run(t *testing.T, db *database.DB, svc *notify.Service) {
	reg := outbox.NewRegistry()
	svc.Register(reg)
	w := outbox.NewWorker(db.Client, reg, outbox.Options{Dialect: db.Dialect, Log: quiet, PollInterval: 20 * time.Millisecond})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func inTx(t *testing.T, client *ent.Client, fn func(tx *ent.Tx) error) {
	t.Helper()
	ctx := context.Background()
	tx, err := client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fn(tx); err != nil {
		t.Fatal(errors.Join(err, tx.Rollback()))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func waitSent(t *testing.T, client *ent.Client, n int) []*ent.SentMessage {
	t.Helper()
	var msgs []*ent.SentMessage
	testenv.Eventually(t, time.Minute, fmt.Sprintf("%d messages recorded", n), func() bool {
		var err error
		if msgs, err = client.SentMessage.Query().Order(sentmessage.ByCreatedAt()).All(context.Background()); err != nil {
			t.Fatal(err)
		}
		return len(msgs) >= n
	})
	return msgs
}

func TestEmailThroughOutboxAndSMTP(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	box := &inbox{}
	srv := smtp.NewServer(box)
	srv.Domain = "127.0.0.1"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	sender, err := mail.ParseSMTPURL("smtp+insecure://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := mail.NewTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	run(t, db, &notify.Service{Client: db.Client, Templates: tpl, From: "Clinic <bookings@clinic.example>", SMTP: sender, Log: quiet})

	start := time.Date(2026, 3, 1, 22, 30, 0, 0, time.UTC)
	data := map[string]any{"name": "Ada", "service": "Initial consultation", "practitioner": "Dr Hopper",
		"start": "2026-03-02T09:30:00+11:00", "location": "Suite 4", "manageLink": "https://clinic.example/b/apt_1"}
	for range 2 { // the same key twice sends once
		inTx(t, db.Client, func(tx *ent.Tx) error {
			_, err := notify.Email(context.Background(), tx, mail.BookingConfirmation, "Ada <Ada@Example.com>", data,
				notify.Key("booking_confirmation:apt_1"),
				notify.Calendar(mail.CalendarEvent{UID: "apt_1@clinic.example", Start: start, End: start.Add(time.Hour), Summary: "Initial consultation"}))
			return err
		})
	}
	msgs := waitSent(t, db.Client, 1)
	m := msgs[0]
	if m.Channel != sentmessage.ChannelEMAIL || m.Recipient != "ada@example.com" || m.Transport != "smtp" ||
		m.Kind != "booking_confirmation" || !strings.HasPrefix(m.Subject, "Booked: Initial consultation") ||
		m.ProviderID != "email.booking_confirmation.apt_1@clinic.example" {
		t.Fatalf("recorded %+v", m)
	}
	box.mu.Lock()
	defer box.mu.Unlock()
	if len(box.msgs) != 1 {
		t.Fatalf("SMTP server got %d messages", len(box.msgs))
	}
	raw := box.msgs[0]
	for _, s := range []string{"Message-ID: <email.booking_confirmation.apt_1@clinic.example>", "multipart/mixed", "text/calendar; charset=utf-8; method=REQUEST", "filename=\"invite.ics\""} {
		if !strings.Contains(raw, s) {
			t.Errorf("message lacks %q", s)
		}
	}
}

func TestDevelopmentModeRecordsAndRollbackSendsNothing(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	tpl, err := mail.NewTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	var twilioForm url.Values
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		twilioForm = r.PostForm
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"sid":"SM1","status":"queued"}`)
	}))
	defer api.Close()
	run(t, db, &notify.Service{Client: db.Client, Templates: tpl, From: "no-reply@clinic.example", Log: quiet,
		SMS: &sms.Twilio{BaseURL: api.URL, AccountSID: "AC1", AuthToken: "t", From: "+61400000001"}})
	ctx := context.Background()

	// A rolled-back change owes nothing.
	tx, err := db.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notify.Email(ctx, tx, mail.PasswordReset, "rolled@example.com", map[string]any{"name": "x", "link": "https://x"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	inTx(t, db.Client, func(tx *ent.Tx) error {
		if _, err := notify.Email(ctx, tx, mail.PasswordReset, "bob@example.com", struct {
			Name string `json:"name"`
			Link string `json:"link"`
		}{"Bob", "https://clinic.example/reset?token=t1"}); err != nil {
			return err
		}
		_, err := notify.SMS(ctx, tx, "booking_reminder", "+61400000002", "See you tomorrow at 09:30: https://clinic.example/manage?appointment=apt_1&token=t2")
		return err
	})
	msgs := waitSent(t, db.Client, 2)
	byChannel := map[sentmessage.Channel]*ent.SentMessage{}
	for _, m := range msgs {
		byChannel[m.Channel] = m
	}
	e, s := byChannel[sentmessage.ChannelEMAIL], byChannel[sentmessage.ChannelSMS]
	// The record keeps the message but not the link's token: reading sent
	// messages must not let anyone reset Bob's password.
	if e == nil || e.Transport != "log" || e.Recipient != "bob@example.com" || !strings.Contains(e.BodyText, "https://clinic.example/reset?token=[redacted]") ||
		!strings.Contains(e.BodyHTML, "<html") || strings.Contains(e.BodyText+e.BodyHTML, "t1") {
		t.Fatalf("email record %+v", e)
	}
	// The recipient still gets the real link; only the record is redacted.
	if s == nil || s.Transport != "twilio" || s.ProviderID != "SM1" || s.Recipient != "+61400000002" ||
		twilioForm.Get("Body") != "See you tomorrow at 09:30: https://clinic.example/manage?appointment=apt_1&token=t2" ||
		s.BodyText != "See you tomorrow at 09:30: https://clinic.example/manage?appointment=apt_1&token=[redacted]" {
		t.Fatalf("sms record %+v, form %v", s, twilioForm)
	}

	// Staff may read the list; customers may not.
	staff := identity.WithViewer(ctx, &identity.Viewer{UserID: "usr_s", Role: identity.RoleStaff})
	q, err := notify.SentMessages(staff, db.Client, "BOB@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if n := q.CountX(ctx); n != 1 {
		t.Fatalf("staff sees %d messages to bob", n)
	}
	// Staff see the envelope only; admins (VIEW_MESSAGE_BODIES) the
	// redacted body.
	admin := identity.WithViewer(ctx, &identity.Viewer{UserID: "usr_a", Role: identity.RoleAdmin})
	if got := notify.Shown(staff, s.BodyText); got != "" {
		t.Errorf("staff read a body: %q", got)
	}
	if got := notify.Shown(admin, s.BodyText); got != s.BodyText {
		t.Errorf("admin reads %q", got)
	}
	customer := identity.WithViewer(ctx, &identity.Viewer{UserID: "usr_c", Role: identity.RoleCustomer})
	if _, err := notify.SentMessages(customer, db.Client, ""); !errors.Is(err, identity.ErrForbidden) {
		t.Fatalf("customer: %v", err)
	}
}

func TestInvalidInputIsRefusedAtEnqueue(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	ctx := context.Background()
	tx, err := db.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := notify.Email(ctx, tx, "no_such_kind", "a@example.com", nil); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := notify.Email(ctx, tx, mail.Refund, "not an address", nil); err == nil {
		t.Error("bad address accepted")
	}
	if _, err := notify.SMS(ctx, tx, "x", "0400000000", "hi"); !errors.Is(err, sms.ErrInvalidPhone) {
		t.Errorf("non-E.164 number: %v", err)
	}
}
