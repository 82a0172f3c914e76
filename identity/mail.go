package identity

import (
	"context"
	"log/slog"
)

// Message is one transactional email.
type Message struct {
	To      string
	Subject string
	Text    string
	// Kind names the template, such as "verify_email", for logs and tests.
	Kind string
}

// Mailer sends mail on identity's behalf. The notification service
// implements it; until then LogMailer does.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// LogMailer writes messages to the log instead of sending them. The body
// (with its link) is logged only when ShowBody is set, for development:
// in production a logged reset link would be a credential in the logs.
type LogMailer struct {
	Log      *slog.Logger
	ShowBody bool
}

// Send implements Mailer.
func (m LogMailer) Send(ctx context.Context, msg Message) error {
	attrs := []any{"to", msg.To, "subject", msg.Subject, "kind", msg.Kind}
	if m.ShowBody {
		attrs = append(attrs, "body", msg.Text)
	}
	m.Log.InfoContext(ctx, "mail not sent: no mail service configured", attrs...)
	return nil
}
