// Package notify turns "tell this person about that" into outbox jobs:
// domain code calls Email or SMS inside the transaction of the change that
// owes the message, and a worker later renders and sends it (SMTP or the
// SMS provider, or the log in development) and records it in the
// sent-messages list staff can read. A rolled-back change sends nothing; a
// committed one is sent even if the process dies right after the commit.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"strings"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/sentmessage"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/integrations/mail"
	"frontdesk/integrations/sms"
	"frontdesk/outbox"
	"frontdesk/secret"
)

// Job kinds this package registers.
const (
	KindEmail = "notify.email"
	KindSMS   = "notify.sms"
)

// Option adjusts a notification.
type Option func(*options)

type options struct {
	key      string
	at       time.Time
	calendar *mail.CalendarEvent
}

// Key sets the idempotency key, such as "booking_confirmation:apt_123":
// notifying twice with one key sends once. Without it every call sends.
func Key(key string) Option { return func(o *options) { o.key = key } }

// At delays the message, for reminders.
func At(t time.Time) Option { return func(o *options) { o.at = t } }

// Calendar attaches an iCalendar invitation (or cancellation) to an email.
func Calendar(ev mail.CalendarEvent) Option { return func(o *options) { o.calendar = &ev } }

type emailPayload struct {
	Kind     mail.Kind           `json:"kind"`
	To       string              `json:"to"`
	Data     map[string]any      `json:"data,omitempty"`
	Calendar *mail.CalendarEvent `json:"calendar,omitempty"`
	// Subject and Text carry a message composed by the caller (see
	// IdentityMailer) instead of a template.
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text,omitempty"`
}

type smsPayload struct {
	Kind string    `json:"kind"`
	To   sms.Phone `json:"to"`
	Body string    `json:"body"`
}

// Email enqueues email kind to the address to, rendered from data (a map
// or a struct encoding to a JSON object; see docs/operations.md for the
// keys each kind uses), inside tx.
func Email(ctx context.Context, tx *ent.Tx, kind mail.Kind, to string, data any, opts ...Option) (gid.ID, error) {
	job, err := emailJob(kind, to, data, opts)
	if err != nil {
		return "", err
	}
	return outbox.Enqueue(ctx, tx, job)
}

func emailJob(kind mail.Kind, to string, data any, opts []Option) (outbox.Job, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if !mail.Known(kind) {
		return outbox.Job{}, fmt.Errorf("notify: unknown email kind %q", kind)
	}
	if _, err := netmail.ParseAddress(to); err != nil {
		return outbox.Job{}, fmt.Errorf("notify: recipient %q: %w", to, err)
	}
	m, err := toMap(data)
	if err != nil {
		return outbox.Job{}, err
	}
	key := o.key
	if key != "" {
		key = "email:" + key
	}
	return outbox.Job{
		Kind:           KindEmail,
		Payload:        emailPayload{Kind: kind, To: to, Data: m, Calendar: o.calendar},
		IdempotencyKey: key,
		RunAt:          o.at,
	}, nil
}

// SMS enqueues a text message to a phone number inside tx. kind labels it
// in the sent-messages list, such as "booking_reminder".
func SMS(ctx context.Context, tx *ent.Tx, kind string, to sms.Phone, body string, opts ...Option) (gid.ID, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if _, err := sms.ParsePhone(string(to)); err != nil {
		return "", err
	}
	if strings.TrimSpace(body) == "" {
		return "", errors.New("notify: empty SMS")
	}
	key := o.key
	if key != "" {
		key = "sms:" + key
	}
	return outbox.Enqueue(ctx, tx, outbox.Job{
		Kind:           KindSMS,
		Payload:        smsPayload{Kind: kind, To: to, Body: body},
		IdempotencyKey: key,
		RunAt:          o.at,
	})
}

func toMap(data any) (map[string]any, error) {
	if data == nil {
		return nil, nil
	}
	if m, ok := data.(map[string]any); ok {
		return m, nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("notify: encode data: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("notify: data must encode to a JSON object: %w", err)
	}
	return m, nil
}

// Service sends the queued messages. A nil SMTP or SMS provider means
// development mode for that channel: the message is logged and recorded,
// not sent.
type Service struct {
	Client      *ent.Client
	Templates   *mail.Templates
	From        string
	SMTP        *mail.SMTP
	SMS         sms.Provider
	MaxSegments int
	Log         *slog.Logger
}

// Register adds the email and SMS job kinds to reg.
func (s *Service) Register(reg *outbox.Registry) {
	reg.Register(outbox.Kind{Name: KindEmail, Handler: s.sendEmail, Timeout: time.Minute, Concurrency: 4})
	reg.Register(outbox.Kind{Name: KindSMS, Handler: s.sendSMS, Timeout: 30 * time.Second, Concurrency: 4})
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// messageID makes an RFC 5322 msg-id from the job's idempotency key, so
// a message sent twice after a crash carries the same Message-ID and
// receiving systems can drop the duplicate.
func messageID(key, from string) string {
	local := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r) {
			return r
		}
		return '.'
	}, key)
	domain := "localhost"
	if a, err := netmail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			domain = a.Address[i+1:]
		}
	}
	return strings.Trim(local, ".") + "@" + domain
}

func (s *Service) sendEmail(ctx context.Context, j *outbox.Running) error {
	var p emailPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	r := mail.Rendered{Subject: p.Subject, Text: p.Text}
	if p.Text == "" {
		var err error
		if r, err = s.Templates.Render(p.Kind, p.Data); err != nil {
			// A template or its data is wrong: retrying renders the same.
			return outbox.Permanent(err)
		}
	}
	msg := &mail.Message{From: s.From, To: p.To, Subject: r.Subject, Text: r.Text, HTML: r.HTML,
		MessageID: messageID(j.IdempotencyKey, s.From)}
	if p.Calendar != nil {
		method := "REQUEST"
		if p.Calendar.Cancelled {
			method = "CANCEL"
		}
		msg.Attachments = append(msg.Attachments, mail.Attachment{
			Filename:    "invite.ics",
			ContentType: "text/calendar; charset=utf-8; method=" + method,
			Data:        mail.ICS(*p.Calendar, time.Now()),
		})
	}
	raw, err := mail.Build(msg)
	if err != nil {
		return outbox.Permanent(err)
	}
	transport := "log"
	if s.SMTP != nil {
		transport = "smtp"
		if err := s.SMTP.Send(ctx, s.From, p.To, raw); err != nil {
			if mail.IsPermanent(err) {
				return outbox.Permanent(err)
			}
			return err
		}
	} else {
		s.log().InfoContext(ctx, "mail not sent (development: FRONTDESK_SMTP_URL is empty)",
			"kind", p.Kind, "to", p.To, "subject", r.Subject, "text", r.Text)
	}
	recipient := p.To
	if a, err := netmail.ParseAddress(p.To); err == nil {
		recipient = strings.ToLower(a.Address)
	}
	// The record is for support, not a second inbox: links' tokens are
	// redacted before it is written, so nobody who reads sent messages
	// (or a backup of them) can reset a password or manage a booking.
	s.record(ctx, s.Client.SentMessage.Create().
		SetChannel(sentmessage.ChannelEMAIL).SetKind(string(p.Kind)).SetRecipient(recipient).
		SetSubject(secret.Redact(r.Subject)).SetBodyText(secret.Redact(r.Text)).SetBodyHTML(secret.Redact(r.HTML)).
		SetTransport(transport).SetProviderID(msg.MessageID).SetIdempotencyKey(j.IdempotencyKey))
	return nil
}

func (s *Service) sendSMS(ctx context.Context, j *outbox.Running) error {
	var p smsPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	maxSeg := s.MaxSegments
	if maxSeg <= 0 {
		maxSeg = 4
	}
	if err := sms.CheckLength(p.Body, maxSeg); err != nil {
		return outbox.Permanent(err)
	}
	provider := s.SMS
	if provider == nil {
		provider = &sms.Log{Logf: func(format string, args ...any) {
			s.log().InfoContext(ctx, fmt.Sprintf(format, args...), "kind", p.Kind)
		}}
	}
	id, err := provider.Send(ctx, sms.Message{To: p.To, Body: p.Body, IdempotencyKey: j.IdempotencyKey})
	if err != nil {
		var apiErr *sms.APIError
		if errors.As(err, &apiErr) && apiErr.Permanent() {
			return outbox.Permanent(err)
		}
		return err
	}
	s.record(ctx, s.Client.SentMessage.Create().
		SetChannel(sentmessage.ChannelSMS).SetKind(p.Kind).SetRecipient(string(p.To)).
		SetBodyText(secret.Redact(p.Body)).SetTransport(provider.Name()).SetProviderID(id).SetIdempotencyKey(j.IdempotencyKey))
	return nil
}

// record stores a sent message. The message is already out, so a failure
// here must not make the job retry and send it again: it is logged as an
// error for the operator instead.
func (s *Service) record(ctx context.Context, c *ent.SentMessageCreate) {
	if err := c.OnConflictColumns(sentmessage.FieldIdempotencyKey).Ignore().Exec(ctx); err != nil {
		s.log().ErrorContext(ctx, "record sent message", "error", err)
	}
}

// SentMessages lists what was sent, newest first, for staff holding
// identity.ViewMessages. recipient filters by exact address or number.
func SentMessages(ctx context.Context, client *ent.Client, recipient string) (*ent.SentMessageQuery, error) {
	if _, err := identity.Require(ctx, identity.ViewMessages); err != nil {
		return nil, err
	}
	q := client.SentMessage.Query()
	if recipient != "" {
		q = q.Where(sentmessage.Recipient(strings.ToLower(strings.TrimSpace(recipient))))
	}
	return q, nil
}

// Shown returns what the viewer may read of a sent message's subject or
// body: the recorded text, redacted once more (rows recorded before
// redaction existed), for holders of identity.ViewMessageBodies, and ""
// for everyone else, who see only the envelope.
func Shown(ctx context.Context, text string) string {
	if !identity.ViewerFrom(ctx).Can(identity.ViewMessageBodies) {
		return ""
	}
	return secret.Redact(text)
}

// IdentityMailer lets the identity package's mail (verification, password
// reset) go through the outbox. identity composes the subject and text
// itself and calls outside a transaction, so the job is written at once.
type IdentityMailer struct {
	Client *ent.Client
}

// identityKinds maps identity's kinds to ours for the sent-messages list.
var identityKinds = map[string]mail.Kind{
	"verify_email":   mail.EmailVerification,
	"reset_password": mail.PasswordReset,
}

// Send implements identity.Mailer.
func (m IdentityMailer) Send(ctx context.Context, msg identity.Message) error {
	kind, ok := identityKinds[msg.Kind]
	if !ok {
		kind = mail.Kind(msg.Kind)
	}
	if _, err := netmail.ParseAddress(msg.To); err != nil {
		return fmt.Errorf("notify: recipient %q: %w", msg.To, err)
	}
	_, err := outbox.EnqueueDirect(ctx, m.Client, outbox.Job{
		Kind:    KindEmail,
		Payload: emailPayload{Kind: kind, To: msg.To, Subject: msg.Subject, Text: msg.Text},
	})
	return err
}

// CanView reports whether the viewer may see sent messages by ID
// (node(id:)): staff with VIEW_SENT_MESSAGES, as for SentMessages.
func CanView(ctx context.Context) bool { return identity.ViewerFrom(ctx).Can(identity.ViewMessages) }

// Plain enqueues an email composed by the caller (subject and text, no
// template) inside tx, for operator notices such as a paused webhook
// endpoint. kind labels it in the sent-messages list; key, when not empty,
// makes it idempotent.
func Plain(ctx context.Context, tx *ent.Tx, kind, to, subject, text, key string) (gid.ID, error) {
	if _, err := netmail.ParseAddress(to); err != nil {
		return "", fmt.Errorf("notify: recipient %q: %w", to, err)
	}
	if key != "" {
		key = "email:" + key
	}
	return outbox.Enqueue(ctx, tx, outbox.Job{
		Kind:           KindEmail,
		Payload:        emailPayload{Kind: mail.Kind(kind), To: to, Subject: subject, Text: text},
		IdempotencyKey: key,
	})
}
