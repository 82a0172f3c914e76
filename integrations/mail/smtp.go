package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Security is how an SMTP connection is protected.
type Security int

const (
	// StartTLS connects in plain text and upgrades with STARTTLS, which
	// the server must offer (port 587).
	StartTLS Security = iota
	// ImplicitTLS speaks TLS from the first byte (port 465).
	ImplicitTLS
	// Insecure never uses TLS; for a relay on localhost only.
	Insecure
)

// SMTP delivers messages to one SMTP server.
type SMTP struct {
	Addr     string // host:port
	Security Security
	Username string // empty: no AUTH
	Password string
	// TLS is the client TLS configuration; nil verifies the server's
	// certificate against the system roots for the host in Addr.
	TLS *tls.Config
	// Timeout bounds one delivery when ctx has no earlier deadline.
	Timeout time.Duration
	// Observe, when set, is told how each delivery ended (ReplyCode) and
	// how long it took, for the outbound-call metrics.
	Observe func(code string, d time.Duration)
}

// ParseSMTPURL reads smtp://user:pass@host:587 (STARTTLS),
// smtps://user:pass@host:465 (implicit TLS) or smtp+insecure://host:25.
func ParseSMTPURL(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil, errors.New("mail: SMTP URL must look like smtp://user:password@host:587")
	}
	s := &SMTP{Timeout: 30 * time.Second}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		s.Security, port = StartTLS, or(port, "587")
	case "smtps":
		s.Security, port = ImplicitTLS, or(port, "465")
	case "smtp+insecure":
		s.Security, port = Insecure, or(port, "25")
	default:
		return nil, fmt.Errorf("mail: unknown SMTP scheme %q", u.Scheme)
	}
	s.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Send delivers a built message (see Build) from envelope sender from to
// the recipient to. A failure is returned as is for the job to retry;
// 5xx rejections of the recipient are wrapped as permanent by the caller
// through IsPermanent.
func (s *SMTP) Send(ctx context.Context, from, to string, msg []byte) (err error) {
	if s.Observe != nil {
		start := time.Now()
		defer func() { s.Observe(ReplyCode(err), time.Since(start)) }()
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("mail: SMTP address %q: %w", s.Addr, err)
	}
	if _, ok := ctx.Deadline(); !ok && s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	tlsConfig := s.TLS
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	d := net.Dialer{}
	var conn net.Conn
	if s.Security == ImplicitTLS {
		td := tls.Dialer{NetDialer: &d, Config: tlsConfig}
		conn, err = td.DialContext(ctx, "tcp", s.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.Addr)
	}
	if err != nil {
		return fmt.Errorf("mail: connect to %s: %w", s.Addr, err)
	}
	// Cancellation closes the connection; the client's per-command
	// timeouts are set to what is left of the deadline.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	var c *smtp.Client
	if s.Security == StartTLS {
		// Refuses when the server does not offer STARTTLS: the message
		// and the password are never sent in plain text.
		if c, err = smtp.NewClientStartTLS(conn, tlsConfig); err != nil {
			_ = conn.Close()
			return fmt.Errorf("mail: STARTTLS with %s: %w", s.Addr, err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.CommandTimeout, c.SubmissionTimeout = time.Until(dl), time.Until(dl)
	}
	hostname, _ := os.Hostname()
	if hostname == "" {
		hostname = "localhost"
	}
	if err := c.Hello(hostname); err != nil {
		return fmt.Errorf("mail: EHLO: %w", err)
	}
	if s.Username != "" {
		// As net/smtp's PlainAuth did: credentials go over TLS, or in
		// plain text to this machine only.
		if s.Security == Insecure && host != "localhost" && !net.ParseIP(host).IsLoopback() {
			return fmt.Errorf("mail: refusing to send the SMTP password unencrypted to %s; use smtp:// or smtps://", host)
		}
		if err := c.Auth(sasl.NewPlainClient("", s.Username, s.Password)); err != nil {
			return fmt.Errorf("mail: AUTH PLAIN: %w", err)
		}
	}
	envFrom, err := mail.ParseAddress(from)
	if err != nil {
		return fmt.Errorf("mail: envelope sender: %w", err)
	}
	envTo, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("mail: recipient: %w", err)
	}
	if err := c.Mail(envFrom.Address, nil); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(envTo.Address, nil); err != nil {
		return fmt.Errorf("mail: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("mail: write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: end of data: %w", err)
	}
	// The message was accepted at the end of DATA; a failed QUIT does not
	// unsend it, so it must not make the job retry and send it twice.
	_ = c.Quit()
	return nil
}

// ReplyCode names how a delivery ended: "250" when it was accepted, the
// server's reply code when it refused, "error" when no reply came
// (connection, TLS, timeout).
func ReplyCode(err error) string {
	if err == nil {
		return "250"
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return strconv.Itoa(se.Code)
	}
	return "error"
}

// IsPermanent reports whether err is an SMTP 5xx reply: retrying the
// same message will not help (unknown recipient, rejected content).
func IsPermanent(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500 && se.Code < 600
}
