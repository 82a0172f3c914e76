package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
	"time"
)

// Kind names a transactional message; each has three template files:
// <kind>.subject.txt, <kind>.txt and <kind>.html.
type Kind string

// The message kinds Frontdesk sends.
const (
	EmailVerification   Kind = "email_verification"
	PasswordReset       Kind = "password_reset"
	OrderConfirmation   Kind = "order_confirmation"
	PaymentReceipt      Kind = "payment_receipt"
	OrderShipped        Kind = "order_shipped"
	Refund              Kind = "refund"
	BookingConfirmation Kind = "booking_confirmation"
	BookingRescheduled  Kind = "booking_rescheduled"
	BookingCancelled    Kind = "booking_cancelled"
	BookingReminder     Kind = "booking_reminder"
	IntakeForm          Kind = "intake_form"
	BookingRefund       Kind = "booking_refund"
)

// Kinds lists every kind.
var Kinds = []Kind{EmailVerification, PasswordReset, OrderConfirmation, PaymentReceipt, OrderShipped,
	Refund, BookingConfirmation, BookingRescheduled, BookingCancelled, BookingReminder, IntakeForm, BookingRefund}

//go:embed templates
var builtin embed.FS

// Templates renders messages from the built-in templates, each file
// replaced by the operator's file of the same name in an override
// directory when one exists there.
type Templates struct {
	dir string
}

// NewTemplates returns templates with overrides from dir ("" for none).
// It parses every template once so a broken override fails at start-up,
// not when the first customer should get a mail.
func NewTemplates(dir string) (*Templates, error) {
	t := &Templates{dir: dir}
	var errs []error
	for _, k := range Kinds {
		if _, err := t.parse(k); err != nil {
			errs = append(errs, err)
		}
	}
	return t, errors.Join(errs...)
}

type parsed struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

var funcs = map[string]any{
	// money formats minor units: {{money .total .currency}} -> "AUD 12.50".
	"money": func(minor any, currency any) string {
		var n int64
		switch v := minor.(type) {
		case float64:
			n = int64(v)
		case int64:
			n = v
		case int:
			n = int64(v)
		}
		sign := ""
		if n < 0 {
			sign, n = "-", -n
		}
		return fmt.Sprintf("%s %s%d.%02d", currency, sign, n/100, n%100)
	},
	// when formats an RFC 3339 time in its own offset, readable.
	"when": func(v any) string {
		s, _ := v.(string)
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return s
		}
		return t.Format("Monday 2 January 2006, 15:04 (UTC-07:00)")
	},
}

func (t *Templates) read(name string) (string, error) {
	if t.dir != "" {
		b, err := os.ReadFile(filepath.Join(t.dir, name))
		if err == nil {
			return string(b), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("mail template override %s: %w", name, err)
		}
	}
	b, err := builtin.ReadFile("templates/" + name)
	if err != nil {
		return "", fmt.Errorf("mail template %s: %w", name, err)
	}
	return string(b), nil
}

func (t *Templates) parse(k Kind) (*parsed, error) {
	var p parsed
	src := map[string]string{}
	for _, suffix := range []string{".subject.txt", ".txt", ".html"} {
		s, err := t.read(string(k) + suffix)
		if err != nil {
			return nil, err
		}
		src[suffix] = s
	}
	var err error
	if p.subject, err = texttemplate.New(string(k) + ".subject.txt").Funcs(funcs).Parse(src[".subject.txt"]); err != nil {
		return nil, err
	}
	if p.text, err = texttemplate.New(string(k) + ".txt").Funcs(funcs).Parse(src[".txt"]); err != nil {
		return nil, err
	}
	if p.html, err = htmltemplate.New(string(k) + ".html").Funcs(funcs).Parse(src[".html"]); err != nil {
		return nil, err
	}
	return &p, nil
}

// Rendered is a message's three parts.
type Rendered struct {
	Subject, Text, HTML string
}

// Render fills kind's templates with data. Templates are read on every
// call so an operator's edits apply without a restart; missing keys in
// data are an error rather than "<no value>" in a customer's inbox.
func (t *Templates) Render(k Kind, data map[string]any) (Rendered, error) {
	p, err := t.parse(k)
	if err != nil {
		return Rendered{}, err
	}
	var out Rendered
	var b bytes.Buffer
	if err := p.subject.Option("missingkey=error").Execute(&b, data); err != nil {
		return out, fmt.Errorf("render %s subject: %w", k, err)
	}
	out.Subject = strings.TrimSpace(strings.ReplaceAll(b.String(), "\n", " "))
	b.Reset()
	if err := p.text.Option("missingkey=error").Execute(&b, data); err != nil {
		return out, fmt.Errorf("render %s text: %w", k, err)
	}
	out.Text = b.String()
	b.Reset()
	if err := p.html.Option("missingkey=error").Execute(&b, data); err != nil {
		return out, fmt.Errorf("render %s html: %w", k, err)
	}
	out.HTML = b.String()
	return out, nil
}

// Known reports whether k is a message kind.
func Known(k Kind) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}
