package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/webhookendpoint"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
)

// Shaper validates and runs the GraphQL subscription documents that shape
// payloads. The graph package implements it over the public schema; this
// package cannot import it (graph imports the domains that emit events).
type Shaper interface {
	// Validate checks a document when an endpoint is saved.
	Validate(document string) error
	// Shape runs document for ev with the viewer in ctx and returns the
	// result's data object.
	Shape(ctx context.Context, document string, ev Event) (json.RawMessage, error)
}

// Options configure the service. Zero values take the defaults in brackets.
type Options struct {
	Guard    Guard
	Timeouts Timeouts
	Shaper   Shaper
	// PauseAfter is how long an endpoint may fail every attempt before it
	// is paused and its admins are emailed [120h].
	PauseAfter time.Duration
	// MaxOverlap caps a rotation's overlap window [168h].
	MaxOverlap time.Duration
	Log        *slog.Logger
	Now        func() time.Time
}

// Service manages endpoints and delivers events to them.
type Service struct {
	client *ent.Client
	opts   Options
	http   *http.Client
	log    *slog.Logger
}

// New returns the service.
func New(client *ent.Client, opts Options) *Service {
	if opts.PauseAfter <= 0 {
		opts.PauseAfter = 5 * 24 * time.Hour
	}
	if opts.MaxOverlap <= 0 {
		opts.MaxOverlap = 7 * 24 * time.Hour
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{client: client, opts: opts, http: opts.Guard.Client(opts.Timeouts), log: opts.Log}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// ErrNotFound is returned for an endpoint or delivery the viewer cannot
// see, whether or not it exists.
var ErrNotFound = errcode.Invalidf(errcode.Missing, "id", "no webhook endpoint or delivery with this ID")

// manager checks that the viewer may manage endpoints: admins (and the
// system) manage all of them, an API key with the webhooks scope only
// those it created.
func manager(ctx context.Context) (*identity.Viewer, error) {
	return identity.Require(ctx, identity.ManageWebhooks)
}

// scoped narrows q to the endpoints the viewer manages.
func scoped(v *identity.Viewer, q *ent.WebhookEndpointQuery) *ent.WebhookEndpointQuery {
	if v.APIKeyID != "" {
		return q.Where(webhookendpoint.APIKeyID(v.APIKeyID))
	}
	return q
}

// CanView reports whether the viewer may see endpoint id (node(id:)).
func CanView(ctx context.Context, client *ent.Client, id gid.ID) bool {
	v, err := manager(ctx)
	if err != nil {
		return false
	}
	ok, err := scoped(v, client.WebhookEndpoint.Query().Where(webhookendpoint.ID(id))).Exist(ctx)
	return err == nil && ok
}

// EndpointInput creates or changes an endpoint; nil fields stay as they
// are on update.
type EndpointInput struct {
	URL         *string
	Description *string
	Events      []EventType
	// Document is a GraphQL subscription document; "" removes it.
	Document *string
	Paused   *bool
}

func (s *Service) validate(ctx context.Context, in EndpointInput, create bool) errcode.UserErrors {
	var errs errcode.UserErrors
	if in.URL != nil || create {
		switch {
		case in.URL == nil || strings.TrimSpace(*in.URL) == "":
			errs = append(errs, errcode.Invalidf(errcode.Required, "url", "an endpoint needs a URL"))
		case len(*in.URL) > 2000:
			errs = append(errs, errcode.Invalidf(errcode.TooLong, "url", "the URL is longer than 2000 characters"))
		default:
			if err := s.opts.Guard.CheckURL(ctx, *in.URL); err != nil {
				errs = append(errs, errcode.Invalidf(errcode.Invalid, "url", "the URL "+err.Error()))
			}
		}
	}
	if in.Description != nil && len(*in.Description) > 500 {
		errs = append(errs, errcode.Invalidf(errcode.TooLong, "description", "the description is longer than 500 characters"))
	}
	if in.Events != nil || create {
		if len(in.Events) == 0 {
			errs = append(errs, errcode.Invalidf(errcode.Required, "events", "choose at least one event type"))
		}
		for _, t := range in.Events {
			if !Known(t) {
				errs = append(errs, errcode.Invalidf(errcode.Invalid, "events", fmt.Sprintf("unknown event type %q", t)))
			}
		}
	}
	if in.Document != nil && strings.TrimSpace(*in.Document) != "" {
		switch {
		case len(*in.Document) > 20000:
			errs = append(errs, errcode.Invalidf(errcode.TooLong, "document", "the document is longer than 20000 characters"))
		case s.opts.Shaper == nil:
			errs = append(errs, errcode.Invalidf(errcode.Unsupported, "document", "payload documents are not available on this server"))
		default:
			if err := s.opts.Shaper.Validate(*in.Document); err != nil {
				errs = append(errs, errcode.Invalidf(errcode.Invalid, "document", err.Error()))
			}
		}
	}
	return errs
}

func eventNames(ts []EventType) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		if !slices.Contains(out, string(t)) {
			out = append(out, string(t))
		}
	}
	return out
}

// Created is a new endpoint with its secret, shown this once.
type Created struct {
	Endpoint *ent.WebhookEndpoint
	Secret   string
}

// Create adds an endpoint owned by the viewer (and by their API key when
// they use one).
func (s *Service) Create(ctx context.Context, in EndpointInput) (*Created, error) {
	v, err := manager(ctx)
	if err != nil {
		return nil, err
	}
	if v.System || v.UserID == "" {
		return nil, errors.New("webhooks: an endpoint needs a user as its owner")
	}
	if errs := s.validate(ctx, in, true); len(errs) > 0 {
		return nil, errs
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, err
	}
	var ep *ent.WebhookEndpoint
	err = s.inTx(ctx, func(tx *ent.Tx) error {
		c := tx.WebhookEndpoint.Create().
			SetURL(strings.TrimSpace(*in.URL)).
			SetEvents(eventNames(in.Events)).
			SetSecret(secret).
			SetOwnerID(v.UserID)
		if in.Description != nil {
			c.SetDescription(*in.Description)
		}
		if in.Document != nil {
			c.SetDocument(strings.TrimSpace(*in.Document))
		}
		if in.Paused != nil && *in.Paused {
			c.SetState(webhookendpoint.StatePAUSED)
		}
		if v.APIKeyID != "" {
			c.SetAPIKeyID(v.APIKeyID)
		}
		ep, err = c.Save(ctx)
		if err != nil {
			return fmt.Errorf("create webhook endpoint: %w", err)
		}
		return identity.Audit(ctx, tx.Client(), identity.AuditRecord{Action: "webhook_endpoint.create", TargetType: "WebhookEndpoint",
			TargetID: ep.ID.String(), After: map[string]any{"url": ep.URL, "events": ep.Events}})
	})
	if err != nil {
		return nil, err
	}
	return &Created{Endpoint: ep, Secret: secret}, nil
}

// inTx runs fn in a transaction (database.WithTx: retried on deadlock).
func (s *Service) inTx(ctx context.Context, fn func(tx *ent.Tx) error) error {
	return database.WithTx(ctx, s.client, fn)
}

// load returns an endpoint the viewer manages, locked for update on MySQL
// when tx is given.
func (s *Service) load(ctx context.Context, v *identity.Viewer, client *ent.Client, id gid.ID) (*ent.WebhookEndpoint, error) {
	ep, err := scoped(v, client.WebhookEndpoint.Query().Where(webhookendpoint.ID(id))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load webhook endpoint: %w", err)
	}
	return ep, nil
}

// Update changes an endpoint. Resuming a paused endpoint clears its
// failure streak; deliveries that failed while it was paused are not
// resent unless redelivered.
func (s *Service) Update(ctx context.Context, id gid.ID, in EndpointInput) (*ent.WebhookEndpoint, error) {
	v, err := manager(ctx)
	if err != nil {
		return nil, err
	}
	if errs := s.validate(ctx, in, false); len(errs) > 0 {
		return nil, errs
	}
	var out *ent.WebhookEndpoint
	err = s.inTx(ctx, func(tx *ent.Tx) error {
		ep, err := s.load(ctx, v, tx.Client(), id)
		if err != nil {
			return err
		}
		u := ep.Update()
		after := map[string]any{}
		if in.URL != nil {
			u.SetURL(strings.TrimSpace(*in.URL))
			after["url"] = strings.TrimSpace(*in.URL)
		}
		if in.Description != nil {
			u.SetDescription(*in.Description)
		}
		if in.Events != nil {
			u.SetEvents(eventNames(in.Events))
			after["events"] = eventNames(in.Events)
		}
		if in.Document != nil {
			u.SetDocument(strings.TrimSpace(*in.Document))
			after["document"] = in.Document != nil && strings.TrimSpace(*in.Document) != ""
		}
		if in.Paused != nil {
			if *in.Paused {
				u.SetState(webhookendpoint.StatePAUSED).SetPausedReason("")
			} else {
				u.SetState(webhookendpoint.StateACTIVE).SetPausedReason("").ClearFailingSince()
			}
			after["paused"] = *in.Paused
		}
		if out, err = u.Save(ctx); err != nil {
			return fmt.Errorf("update webhook endpoint: %w", err)
		}
		return identity.Audit(ctx, tx.Client(), identity.AuditRecord{Action: "webhook_endpoint.update", TargetType: "WebhookEndpoint",
			TargetID: id.String(), After: after})
	})
	return out, err
}

// Delete removes an endpoint with its delivery log.
func (s *Service) Delete(ctx context.Context, id gid.ID) (*ent.WebhookEndpoint, error) {
	v, err := manager(ctx)
	if err != nil {
		return nil, err
	}
	var ep *ent.WebhookEndpoint
	err = s.inTx(ctx, func(tx *ent.Tx) error {
		if ep, err = s.load(ctx, v, tx.Client(), id); err != nil {
			return err
		}
		if err := deleteLog(ctx, tx, id); err != nil {
			return err
		}
		if err := tx.WebhookEndpoint.DeleteOneID(id).Exec(ctx); err != nil {
			return fmt.Errorf("delete webhook endpoint: %w", err)
		}
		return identity.Audit(ctx, tx.Client(), identity.AuditRecord{Action: "webhook_endpoint.delete", TargetType: "WebhookEndpoint",
			TargetID: id.String(), Before: map[string]any{"url": ep.URL}})
	})
	return ep, err
}

// RotateSecret gives an endpoint a new secret, returned this once. The
// old one keeps signing beside it for overlap (at most MaxOverlap), so
// every delivery in that window carries both signatures and the receiver
// can switch at its own pace; zero retires the old secret at once.
func (s *Service) RotateSecret(ctx context.Context, id gid.ID, overlap time.Duration) (*Created, error) {
	v, err := manager(ctx)
	if err != nil {
		return nil, err
	}
	if overlap < 0 || overlap > s.opts.MaxOverlap {
		return nil, errcode.Invalidf(errcode.Invalid, "overlapSeconds", fmt.Sprintf("the overlap must be between 0 and %d seconds", int(s.opts.MaxOverlap.Seconds())))
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, err
	}
	var out *ent.WebhookEndpoint
	err = s.inTx(ctx, func(tx *ent.Tx) error {
		ep, err := s.load(ctx, v, tx.Client(), id)
		if err != nil {
			return err
		}
		u := ep.Update().SetSecret(secret)
		if overlap > 0 {
			u.SetPreviousSecret(ep.Secret).SetPreviousSecretExpiresAt(s.now().Add(overlap))
		} else {
			u.SetPreviousSecret("").ClearPreviousSecretExpiresAt()
		}
		if out, err = u.Save(ctx); err != nil {
			return fmt.Errorf("rotate webhook secret: %w", err)
		}
		return identity.Audit(ctx, tx.Client(), identity.AuditRecord{Action: "webhook_endpoint.rotate_secret", TargetType: "WebhookEndpoint",
			TargetID: id.String(), After: map[string]any{"overlapSeconds": int(overlap.Seconds())}})
	})
	if err != nil {
		return nil, err
	}
	return &Created{Endpoint: out, Secret: secret}, nil
}

// Endpoints returns the endpoints the viewer manages, newest first.
func (s *Service) Endpoints(ctx context.Context) (*ent.WebhookEndpointQuery, error) {
	v, err := manager(ctx)
	if err != nil {
		return nil, err
	}
	return scoped(v, s.client.WebhookEndpoint.Query()).Order(ent.Desc(webhookendpoint.FieldCreatedAt)), nil
}

// Endpoint returns one endpoint the viewer manages.
func (s *Service) Endpoint(ctx context.Context, id gid.ID) (*ent.WebhookEndpoint, error) {
	v, err := manager(ctx)
	if err != nil {
		return nil, err
	}
	return s.load(ctx, v, s.client, id)
}

// signingSecrets are the secrets a delivery is signed with now.
func (s *Service) signingSecrets(ep *ent.WebhookEndpoint) []string {
	out := []string{ep.Secret}
	if ep.PreviousSecret != "" && ep.PreviousSecretExpiresAt != nil && s.now().Before(*ep.PreviousSecretExpiresAt) {
		out = append(out, ep.PreviousSecret)
	}
	return out
}

// SetShaper sets the document shaper once the schema exists (the schema's
// resolvers hold the service, so it cannot be passed to New).
func (s *Service) SetShaper(sh Shaper) { s.opts.Shaper = sh }
