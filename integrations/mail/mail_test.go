package mail_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"frontdesk/integrations/mail"
)

// received is one message the test SMTP server accepted.
type received struct {
	user, from string
	to         []string
	data       []byte
}

type backend struct {
	mu   sync.Mutex
	msgs []received
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

type session struct {
	b   *backend
	cur received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "mailer" || password != "s3cret" {
			return errors.New("invalid credentials")
		}
		s.cur.user = username
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.cur.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasSuffix(to, "@invalid.example") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = received{user: s.cur.user} }
func (s *session) Logout() error { return nil }

// certificate makes a self-signed certificate for 127.0.0.1 and a pool
// that trusts it.
func certificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// startSMTP runs a real SMTP server on loopback, with STARTTLS or
// implicit TLS, and returns a sender configured for it.
func startSMTP(t *testing.T, security mail.Security) (*mail.SMTP, *backend) {
	t.Helper()
	cert, pool := certificate(t)
	be := &backend{}
	srv := smtp.NewServer(be)
	srv.Domain = "127.0.0.1"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if security == mail.ImplicitTLS {
		ln = tls.NewListener(ln, tlsCfg)
	} else {
		srv.TLSConfig = tlsCfg
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &mail.SMTP{
		Addr:     ln.Addr().String(),
		Security: security,
		Username: "mailer",
		Password: "s3cret",
		TLS:      &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"},
	}, be
}

func bookingData() map[string]any {
	return map[string]any{
		"name":         "Ada Lovelace",
		"service":      "Initial consultation",
		"practitioner": "Dr Grace Hopper",
		"start":        "2026-03-02T09:30:00+11:00",
		"location":     "Suite 4, 10 Example St, Sydney",
		"manageLink":   "https://clinic.example/bookings/apt_01?token=abc&x=1",
	}
}

func TestBookingConfirmationOverSMTP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		security mail.Security
	}{{"starttls", mail.StartTLS}, {"implicit-tls", mail.ImplicitTLS}} {
		t.Run(tc.name, func(t *testing.T) {
			sender, be := startSMTP(t, tc.security)
			tpl, err := mail.NewTemplates("")
			if err != nil {
				t.Fatal(err)
			}
			r, err := tpl.Render(mail.BookingConfirmation, bookingData())
			if err != nil {
				t.Fatal(err)
			}
			start := time.Date(2026, 3, 1, 22, 30, 0, 0, time.UTC)
			ics := mail.ICS(mail.CalendarEvent{
				UID: "apt_01@frontdesk", Start: start, End: start.Add(45 * time.Minute),
				Summary:     "Initial consultation, Dr Grace Hopper",
				Description: "Bring your referral; arrive 10 minutes early.\nParking; level 2.",
				Location:    "Suite 4, 10 Example St, Sydney",
				Organizer:   "bookings@clinic.example", Attendee: "ada@example.com",
			}, start.Add(-48*time.Hour))
			msg, err := mail.Build(&mail.Message{
				From: "Clinic <bookings@clinic.example>", To: "Ada Lovelace <ada@example.com>",
				Subject: r.Subject, Text: r.Text, HTML: r.HTML, MessageID: "job_123@clinic.example",
				Date: start.Add(-48 * time.Hour),
				Attachments: []mail.Attachment{{Filename: "invite.ics",
					ContentType: "text/calendar; charset=utf-8; method=REQUEST", Data: ics}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := sender.Send(context.Background(), "Clinic <bookings@clinic.example>", "ada@example.com", msg); err != nil {
				t.Fatal(err)
			}
			if len(be.msgs) != 1 {
				t.Fatalf("server got %d messages", len(be.msgs))
			}
			got := be.msgs[0]
			if got.user != "mailer" || got.from != "bookings@clinic.example" || !cmp.Equal(got.to, []string{"ada@example.com"}) {
				t.Fatalf("envelope = %+v", got)
			}
			checkBookingMessage(t, got.data)
		})
	}
}

func checkBookingMessage(t *testing.T, raw []byte) {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{
		"From":       m.Header.Get("From"),
		"To":         m.Header.Get("To"),
		"Subject":    subject,
		"Message-ID": m.Header.Get("Message-ID"),
		"Date":       m.Header.Get("Date"),
	}
	want := map[string]string{
		"From":       `"Clinic" <bookings@clinic.example>`,
		"To":         `"Ada Lovelace" <ada@example.com>`,
		"Subject":    "Booked: Initial consultation on Monday 2 March 2026, 09:30 (UTC+11:00)",
		"Message-ID": "<job_123@clinic.example>",
		"Date":       "Fri, 27 Feb 2026 22:30:00 +0000",
	}
	if diff := cmp.Diff(want, headers); diff != "" {
		t.Fatalf("headers (-want +got):\n%s", diff)
	}
	parts := map[string]string{}
	var filename string
	walk(t, m.Header.Get("Content-Type"), m.Body, func(ct string, disp string, body []byte) {
		mt, params, _ := mime.ParseMediaType(ct)
		if _, dp, err := mime.ParseMediaType(disp); err == nil {
			filename = dp["filename"]
		}
		if mt == "text/calendar" && params["method"] != "REQUEST" {
			t.Errorf("calendar method = %q", params["method"])
		}
		parts[mt] = string(body)
	})
	text, html, ics := parts["text/plain"], parts["text/html"], parts["text/calendar"]
	for _, s := range []string{"Hello Ada Lovelace,", "Initial consultation with Dr Grace Hopper", "https://clinic.example/bookings/apt_01?token=abc&x=1"} {
		if !strings.Contains(text, s) {
			t.Errorf("text part lacks %q:\n%s", s, text)
		}
	}
	if !strings.Contains(html, `<a href="https://clinic.example/bookings/apt_01?token=abc&amp;x=1"`) || !strings.Contains(html, "<strong>Initial consultation</strong>") {
		t.Errorf("html part:\n%s", html)
	}
	if filename != "invite.ics" {
		t.Errorf("attachment filename = %q", filename)
	}
	for _, s := range []string{
		"BEGIN:VCALENDAR\r\n", "METHOD:REQUEST\r\n", "UID:apt_01@frontdesk\r\n",
		"DTSTART:20260301T223000Z\r\n", "DTEND:20260301T231500Z\r\n",
		"SUMMARY:Initial consultation\\, Dr Grace Hopper\r\n",
		"DESCRIPTION:Bring your referral\\; arrive 10 minutes early.\\nParking\\; level\r\n  2.\r\n",
		"LOCATION:Suite 4\\, 10 Example St\\, Sydney\r\n", "END:VCALENDAR\r\n",
	} {
		if !strings.Contains(ics, s) {
			t.Errorf("ics lacks %q:\n%s", s, ics)
		}
	}
	for _, l := range strings.Split(ics, "\r\n") {
		if len(l) > 75 {
			t.Errorf("ics line longer than 75 octets: %q", l)
		}
	}
}

// walk calls fn for every leaf part, decoding transfer encodings.
func walk(t *testing.T, ct string, body io.Reader, fn func(ct, disp string, body []byte)) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("expected multipart, got %s", mt)
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable itself
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		pct := p.Header.Get("Content-Type")
		if strings.HasPrefix(pct, "multipart/") {
			walk(t, pct, p, fn)
			continue
		}
		var r io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			r = base64Reader(p)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		fn(pct, p.Header.Get("Content-Disposition"), b)
	}
}

func TestPermanentRejection(t *testing.T) {
	sender, _ := startSMTP(t, mail.StartTLS)
	msg, err := mail.Build(&mail.Message{From: "a@clinic.example", To: "nobody@invalid.example", Subject: "x", Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	err = sender.Send(context.Background(), "a@clinic.example", "nobody@invalid.example", msg)
	if err == nil || !mail.IsPermanent(err) {
		t.Fatalf("err = %v, permanent = %v", err, mail.IsPermanent(err))
	}
}

func TestWrongPasswordFails(t *testing.T) {
	sender, be := startSMTP(t, mail.ImplicitTLS)
	sender.Password = "wrong"
	msg, _ := mail.Build(&mail.Message{From: "a@clinic.example", To: "b@example.com", Subject: "x", Text: "x"})
	if err := sender.Send(context.Background(), "a@clinic.example", "b@example.com", msg); err == nil {
		t.Fatal("sent with a wrong password")
	}
	if len(be.msgs) != 0 {
		t.Fatal("server accepted a message")
	}
}

func TestEveryKindRenders(t *testing.T) {
	tpl, err := mail.NewTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	data := bookingData()
	for k, v := range map[string]any{"link": "https://x.example/l", "orderNumber": "1001", "total": 12345, "amount": 500, "currency": "AUD"} {
		data[k] = v
	}
	for _, k := range mail.Kinds {
		r, err := tpl.Render(k, data)
		if err != nil {
			t.Errorf("%s: %v", k, err)
			continue
		}
		if r.Subject == "" || r.Text == "" || !strings.Contains(r.HTML, "<html") || strings.Contains(r.Text+r.HTML, "no value") {
			t.Errorf("%s rendered %+v", k, r)
		}
	}
	r, err := tpl.Render(mail.OrderConfirmation, data)
	if err != nil || !strings.Contains(r.Text, "Total: AUD 123.45") {
		t.Fatalf("order confirmation: %v %q", err, r.Text)
	}
	if _, err := tpl.Render(mail.PasswordReset, map[string]any{"name": "x"}); err == nil {
		t.Fatal("rendered without the link")
	}
}

func TestOverrideDirectoryReplacesOneFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "password_reset.subject.txt"), []byte("Your {{.name}} reset"), 0o600); err != nil {
		t.Fatal(err)
	}
	tpl, err := mail.NewTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tpl.Render(mail.PasswordReset, map[string]any{"name": "Ada", "link": "https://x.example/r"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Your Ada reset" || !strings.Contains(r.Text, "https://x.example/r") {
		t.Fatalf("%+v", r)
	}
	if err := os.WriteFile(filepath.Join(dir, "refund.html"), []byte("{{.broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := mail.NewTemplates(dir); err == nil {
		t.Fatal("a broken override was accepted")
	}
}

func TestICSFoldingKeepsUTF8Whole(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ics := string(mail.ICS(mail.CalendarEvent{UID: "u", Start: start, End: start.Add(time.Hour),
		Summary: strings.Repeat("é", 60), Cancelled: true}, start))
	if !strings.Contains(ics, "METHOD:CANCEL\r\n") || !strings.Contains(ics, "STATUS:CANCELLED\r\n") {
		t.Fatal(ics)
	}
	var unfolded strings.Builder
	for _, l := range strings.Split(ics, "\r\n") {
		if len(l) > 75 {
			t.Fatalf("line of %d octets", len(l))
		}
		if !strings.ContainsRune(l, 0xFFFD) && strings.HasPrefix(l, " ") {
			unfolded.WriteString(l[1:])
		} else {
			unfolded.WriteString("\n" + l)
		}
	}
	if !strings.Contains(unfolded.String(), "SUMMARY:"+strings.Repeat("é", 60)) {
		t.Fatalf("unfolded:\n%s", unfolded.String())
	}
}

// Observe hears how each delivery ended, by SMTP reply code: accepted,
// refused, or no server at all.
func TestObserveReportsReplyCodes(t *testing.T) {
	sender, _ := startSMTP(t, mail.StartTLS)
	var codes []string
	sender.Observe = func(code string, d time.Duration) {
		if d <= 0 {
			t.Errorf("delivery took %v", d)
		}
		codes = append(codes, code)
	}
	msg, _ := mail.Build(&mail.Message{From: "a@clinic.example", To: "b@example.com", Subject: "x", Text: "x"})
	ctx := context.Background()
	_ = sender.Send(ctx, "a@clinic.example", "b@example.com", msg)
	_ = sender.Send(ctx, "a@clinic.example", "nobody@invalid.example", msg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sender.Addr = ln.Addr().String()
	ln.Close() // nothing answers there now
	_ = sender.Send(ctx, "a@clinic.example", "b@example.com", msg)
	if strings.Join(codes, " ") != "250 550 error" {
		t.Fatalf("observed %v, want [250 550 error]", codes)
	}
}

// smtp:// needs the server to offer STARTTLS: one that does not gets
// neither the password nor the message.
func TestStartTLSIsRequired(t *testing.T) {
	be := &backend{}
	srv := smtp.NewServer(be)
	srv.Domain = "127.0.0.1"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	sender := &mail.SMTP{Addr: ln.Addr().String(), Security: mail.StartTLS, Username: "mailer", Password: "s3cret"}
	msg, _ := mail.Build(&mail.Message{From: "a@clinic.example", To: "b@example.com", Subject: "x", Text: "x"})
	err = sender.Send(context.Background(), "a@clinic.example", "b@example.com", msg)
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a STARTTLS refusal", err)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.msgs) != 0 {
		t.Fatal("a message went out in plain text")
	}
}
