// Package mail sends Frontdesk's transactional email: messages with a
// plain-text and an HTML part rendered from per-kind templates (built in,
// overridable from a directory), optional attachments such as an
// iCalendar invitation, delivered over SMTP with implicit TLS or STARTTLS
// and AUTH PLAIN. Jobs in the outbox call it (see package notify); nothing
// sends mail inside a request.
package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Message is one email.
type Message struct {
	From    string // "Name <addr>" or addr
	To      string
	Subject string
	Text    string
	HTML    string
	// MessageID is put in the Message-ID header without brackets; Build
	// makes one up when empty. Frontdesk derives it from the job's
	// idempotency key so a resent message is recognisably the same.
	MessageID   string
	Date        time.Time
	Attachments []Attachment
}

// Attachment is a file attached to a message.
type Attachment struct {
	Filename    string
	ContentType string // such as `text/calendar; charset=utf-8; method=REQUEST`
	Data        []byte
}

// Build renders m as an RFC 5322 message with CRLF line endings:
// multipart/alternative (text, then HTML) inside multipart/mixed when
// there are attachments.
func Build(m *Message) ([]byte, error) {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("mail: from %q: %w", m.From, err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("mail: to %q: %w", m.To, err)
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	id := m.MessageID
	if id == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b) + "@" + domainOf(from.Address)
	}
	var buf bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", "<"+id+">")
	header("MIME-Version", "1.0")
	header("Auto-Submitted", "auto-generated")

	alt := func(w *multipart.Writer) error {
		for _, p := range []struct{ ct, body string }{
			{"text/plain; charset=utf-8", m.Text},
			{"text/html; charset=utf-8", m.HTML},
		} {
			if p.body == "" {
				continue
			}
			pw, err := w.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {p.ct},
				"Content-Transfer-Encoding": {"quoted-printable"},
			})
			if err != nil {
				return err
			}
			qp := quotedprintable.NewWriter(pw)
			if _, err := qp.Write([]byte(crlf(p.body))); err != nil {
				return err
			}
			if err := qp.Close(); err != nil {
				return err
			}
		}
		return w.Close()
	}

	if len(m.Attachments) == 0 {
		w := multipart.NewWriter(&buf)
		header("Content-Type", "multipart/alternative; boundary="+w.Boundary())
		buf.WriteString("\r\n")
		if err := alt(w); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	mixed := multipart.NewWriter(&buf)
	header("Content-Type", "multipart/mixed; boundary="+mixed.Boundary())
	buf.WriteString("\r\n")
	var inner bytes.Buffer
	aw := multipart.NewWriter(&inner)
	if err := alt(aw); err != nil {
		return nil, err
	}
	pw, err := mixed.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/alternative; boundary=" + aw.Boundary()}})
	if err != nil {
		return nil, err
	}
	if _, err := pw.Write(inner.Bytes()); err != nil {
		return nil, err
	}
	for _, a := range m.Attachments {
		pw, err := mixed.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {a.ContentType + "; name=\"" + a.Filename + "\""},
			"Content-Disposition":       {"attachment; filename=\"" + a.Filename + "\""},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return nil, err
		}
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			if _, err := pw.Write([]byte(enc[:76] + "\r\n")); err != nil {
				return nil, err
			}
			enc = enc[76:]
		}
		if _, err := pw.Write([]byte(enc + "\r\n")); err != nil {
			return nil, err
		}
	}
	if err := mixed.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// crlf normalises line endings to CRLF, as SMTP requires.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}
