// Package msgraph is a small Microsoft Graph v1.0 client for what calendar
// sync needs: app-only tokens (OAuth 2.0 client credentials), calendar
// view deltas, change-notification subscriptions and events. Calls are not
// retried here, except for the token: a throttled (429) or failing (5xx)
// call comes back as an *Error whose Retryable reports true, so the outbox
// job that made it retries with backoff and nothing else blocks.
package msgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"frontdesk/integrations/httpretry"
)

// Defaults of Config's URLs.
const (
	DefaultLoginURL = "https://login.microsoftonline.com"
	DefaultGraphURL = "https://graph.microsoft.com/v1.0"
	// Scope asks for the application permissions granted to the app
	// registration (Calendars.ReadWrite).
	Scope = "https://graph.microsoft.com/.default"
	// MaxEventSubscription is the longest lifetime Graph allows a
	// subscription on Outlook events: 10,080 minutes.
	MaxEventSubscription = 10080 * time.Minute
)

// Config configures a Client.
type Config struct {
	TenantID     string
	ClientID     string
	ClientSecret string
	// LoginURL and GraphURL default to Microsoft's; tests point them at a
	// loopback double.
	LoginURL string
	GraphURL string
	HTTP     *http.Client
	// Now is the clock for token expiry [time.Now].
	Now func() time.Time
}

// Client calls Microsoft Graph. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client

	mu      sync.Mutex
	token   string
	expires time.Time
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	if cfg.LoginURL == "" {
		cfg.LoginURL = DefaultLoginURL
	}
	if cfg.GraphURL == "" {
		cfg.GraphURL = DefaultGraphURL
	}
	cfg.LoginURL = strings.TrimRight(cfg.LoginURL, "/")
	cfg.GraphURL = strings.TrimRight(cfg.GraphURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := cfg.HTTP
	if h == nil {
		h = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, http: h}
}

// Error is a failed Graph or token call.
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := fmt.Sprintf("msgraph: HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// Retryable reports whether trying again later may succeed: throttling,
// timeouts and server faults.
func (e *Error) Retryable() bool { return httpretry.Status(e.Status) }

// RetryDelay is the server's Retry-After; the outbox waits at least this
// long before the next attempt.
func (e *Error) RetryDelay() time.Duration { return e.RetryAfter }

// StatusOf returns err's HTTP status, or 0 when err is not an *Error.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsRetryable reports whether err is worth retrying: a retryable *Error or
// a transport failure. Other errors (400, 401, 403, 404) need a change
// first.
func IsRetryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable()
	}
	return err != nil && !errors.Is(err, context.Canceled)
}

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsGone reports that a delta link is no longer valid (410, or the
// syncStateNotFound family of codes): the caller starts a full sync.
func IsGone(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Status == http.StatusGone || strings.HasPrefix(e.Code, "syncState") || e.Code == "resyncRequired"
}

// tokenMargin is how long before expires_in a token is replaced, so a
// request never carries a token that expires in flight.
const tokenMargin = 5 * time.Minute

// Token returns a cached app-only access token, fetching a new one when
// the cached one is close to expiry. A failed fetch is retried twice.
func (c *Client) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.cfg.Now().Before(c.expires) {
		return c.token, nil
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		var tok string
		var ttl time.Duration
		tok, ttl, err = c.fetchToken(ctx)
		if err == nil {
			c.token = tok
			margin := tokenMargin
			if ttl < 2*margin {
				margin = ttl / 2
			}
			c.expires = c.cfg.Now().Add(ttl - margin)
			return tok, nil
		}
		if !IsRetryable(err) {
			break
		}
	}
	return "", err
}

func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.cfg.ClientID},
		"client_secret": {c.cfg.ClientSecret},
		"scope":         {Scope},
	}
	u := c.cfg.LoginURL + "/" + url.PathEscape(c.cfg.TenantID) + "/oauth2/v2.0/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("msgraph: token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("msgraph: token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e) // the status says enough when the body is not JSON
		return "", 0, &Error{Status: resp.StatusCode, Code: e.Error, Message: firstLine(e.Description), RetryAfter: retryAfter(resp)}
	}
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return "", 0, fmt.Errorf("msgraph: token: unexpected response")
	}
	if t.ExpiresIn <= 0 {
		t.ExpiresIn = 3599
	}
	return t.AccessToken, time.Duration(t.ExpiresIn) * time.Second, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s, _, _ = strings.Cut(s, "\r")
	return s
}

func retryAfter(resp *http.Response) time.Duration { return httpretry.After(resp, time.Now()) }

// do sends a Graph request. target is a path below GraphURL or an absolute
// link Graph returned (nextLink, deltaLink). in is encoded as JSON; out,
// when not nil, receives the JSON response.
func (c *Client) do(ctx context.Context, method, target string, in, out any, headers ...string) error {
	tok, err := c.Token(ctx)
	if err != nil {
		return err
	}
	u := target
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		u = c.cfg.GraphURL + target
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("msgraph: encode: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("msgraph: %s %s: %w", method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("msgraph: %s %s: %w", method, req.URL.Path, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		// A revoked or rotated token: fetch a fresh one next time.
		c.mu.Lock()
		c.token = ""
		c.mu.Unlock()
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(data, &e) // the status says enough when the body is not JSON
		return &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: firstLine(e.Error.Message), RetryAfter: retryAfter(resp)}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("msgraph: %s %s: decode: %w", method, req.URL.Path, err)
		}
	}
	return nil
}

// DateTimeTimeZone is Graph's local date-time plus zone.
type DateTimeTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// graphLayout is how Graph writes dateTime (seven fractional digits, no
// zone).
const graphLayout = "2006-01-02T15:04:05.9999999"

// At returns d as a DateTimeTimeZone in UTC.
func At(t time.Time) *DateTimeTimeZone {
	return &DateTimeTimeZone{DateTime: t.UTC().Format("2006-01-02T15:04:05.0000000"), TimeZone: "UTC"}
}

// Time parses d. Zones Go does not know (Windows names) fall back to UTC,
// which is what Frontdesk asks Graph to answer in.
func (d *DateTimeTimeZone) Time() (time.Time, error) {
	if d == nil {
		return time.Time{}, errors.New("msgraph: missing date-time")
	}
	loc := time.UTC
	if d.TimeZone != "" && d.TimeZone != "UTC" {
		if l, err := time.LoadLocation(d.TimeZone); err == nil {
			loc = l
		}
	}
	t, err := time.ParseInLocation(graphLayout, d.DateTime, loc)
	if err != nil {
		t, err = time.ParseInLocation("2006-01-02T15:04:05", d.DateTime, loc)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("msgraph: bad dateTime %q", d.DateTime)
	}
	return t, nil
}

// ItemBody is an event's body.
type ItemBody struct {
	ContentType string `json:"contentType"` // "text" or "html"
	Content     string `json:"content"`
}

// Location is where an event takes place.
type Location struct {
	DisplayName string `json:"displayName"`
}

// EmailAddress names a person.
type EmailAddress struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

// Attendee is an invited person.
type Attendee struct {
	EmailAddress EmailAddress `json:"emailAddress"`
	Type         string       `json:"type"` // required, optional, resource
}

// Removed marks an entry of a delta response as gone.
type Removed struct {
	Reason string `json:"reason"` // "deleted" or "changed"
}

// Event is an Outlook calendar event, with the properties Frontdesk reads
// or writes.
type Event struct {
	ID                    string            `json:"id,omitempty"`
	Subject               string            `json:"subject,omitempty"`
	Body                  *ItemBody         `json:"body,omitempty"`
	Start                 *DateTimeTimeZone `json:"start,omitempty"`
	End                   *DateTimeTimeZone `json:"end,omitempty"`
	IsAllDay              bool              `json:"isAllDay,omitempty"`
	IsCancelled           bool              `json:"isCancelled,omitempty"`
	ShowAs                string            `json:"showAs,omitempty"`
	Type                  string            `json:"type,omitempty"` // singleInstance, occurrence, exception, seriesMaster
	SeriesMasterID        string            `json:"seriesMasterId,omitempty"`
	Location              *Location         `json:"location,omitempty"`
	Attendees             []Attendee        `json:"attendees,omitempty"`
	TransactionID         string            `json:"transactionId,omitempty"`
	IsOnlineMeeting       bool              `json:"isOnlineMeeting,omitempty"`
	OnlineMeetingURL      string            `json:"onlineMeetingUrl,omitempty"`
	AllowNewTimeProposals *bool             `json:"allowNewTimeProposals,omitempty"`
	Removed               *Removed          `json:"@removed,omitempty"`
}

// Blocks reports whether the event makes its owner unavailable: free and
// working-elsewhere time does not, nor a cancelled or removed event.
func (e *Event) Blocks() bool {
	if e.Removed != nil || e.IsCancelled || e.Type == "seriesMaster" {
		return false
	}
	switch e.ShowAs {
	case "free", "workingElsewhere":
		return false
	}
	return true
}

func userPath(user string) string { return "/users/" + url.PathEscape(user) }

func calendarPath(user, calendar string) string {
	if calendar == "" {
		return userPath(user)
	}
	return userPath(user) + "/calendars/" + url.PathEscape(calendar)
}

// DeltaRequest asks for a calendar's view between Start and End, or for
// the changes since DeltaLink when it is set.
type DeltaRequest struct {
	User     string // user id or UPN
	Calendar string // calendar id; empty for the default calendar
	Start    time.Time
	End      time.Time
	// DeltaLink is the @odata.deltaLink of the previous round.
	DeltaLink string
	// PageSize is the odata.maxpagesize preference [50].
	PageSize int
}

// DeltaResult is one complete delta round.
type DeltaResult struct {
	// Events are the new and changed events (instances of recurring
	// series, as calendarView expands them) and @removed entries.
	Events []Event
	// DeltaLink is where the next round starts.
	DeltaLink string
}

// CalendarViewDelta runs one delta round, following @odata.nextLink to the
// end. Times come in UTC. When the delta link has expired the error
// satisfies IsGone and the caller starts over without it.
func (c *Client) CalendarViewDelta(ctx context.Context, r DeltaRequest) (*DeltaResult, error) {
	link := r.DeltaLink
	if link == "" {
		q := url.Values{
			"startDateTime": {r.Start.UTC().Format(time.RFC3339)},
			"endDateTime":   {r.End.UTC().Format(time.RFC3339)},
		}
		link = calendarPath(r.User, r.Calendar) + "/calendarView/delta?" + q.Encode()
	}
	size := r.PageSize
	if size <= 0 {
		size = 50
	}
	res := &DeltaResult{}
	for pages := 0; ; pages++ {
		if pages > 10000 {
			return nil, errors.New("msgraph: delta: too many pages")
		}
		var page struct {
			Value     []Event `json:"value"`
			NextLink  string  `json:"@odata.nextLink"`
			DeltaLink string  `json:"@odata.deltaLink"`
		}
		err := c.do(ctx, http.MethodGet, link, nil, &page,
			"Prefer", fmt.Sprintf("odata.maxpagesize=%d", size),
			"Prefer", `outlook.timezone="UTC"`)
		if err != nil {
			return nil, err
		}
		res.Events = append(res.Events, page.Value...)
		switch {
		case page.NextLink != "":
			link = page.NextLink
		case page.DeltaLink != "":
			res.DeltaLink = page.DeltaLink
			return res, nil
		default:
			return nil, errors.New("msgraph: delta: page without nextLink or deltaLink")
		}
	}
}

// Subscription is a change-notification subscription.
type Subscription struct {
	ID                       string    `json:"id,omitempty"`
	Resource                 string    `json:"resource,omitempty"`
	ChangeType               string    `json:"changeType,omitempty"`
	NotificationURL          string    `json:"notificationUrl,omitempty"`
	LifecycleNotificationURL string    `json:"lifecycleNotificationUrl,omitempty"`
	ClientState              string    `json:"clientState,omitempty"`
	ExpirationDateTime       time.Time `json:"expirationDateTime"`
}

// EventsResource is the resource a subscription on user's events watches.
func EventsResource(user string) string { return "/users/" + user + "/events" }

// CreateSubscription creates s. Graph validates the notification URLs
// before it answers, so the endpoint must be reachable.
func (c *Client) CreateSubscription(ctx context.Context, s Subscription) (*Subscription, error) {
	var out Subscription
	if err := c.do(ctx, http.MethodPost, "/subscriptions", s, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RenewSubscription moves a subscription's expiry.
func (c *Client) RenewSubscription(ctx context.Context, id string, expires time.Time) (*Subscription, error) {
	var out Subscription
	in := map[string]string{"expirationDateTime": expires.UTC().Format(time.RFC3339)}
	if err := c.do(ctx, http.MethodPatch, "/subscriptions/"+url.PathEscape(id), in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReauthorizeSubscription answers a reauthorizationRequired lifecycle
// notification.
func (c *Client) ReauthorizeSubscription(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/subscriptions/"+url.PathEscape(id)+"/reauthorize", nil, nil)
}

// DeleteSubscription deletes a subscription; one already gone is not an
// error.
func (c *Client) DeleteSubscription(ctx context.Context, id string) error {
	err := c.do(ctx, http.MethodDelete, "/subscriptions/"+url.PathEscape(id), nil, nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// CreateEvent creates e in user's calendar. Set e.TransactionID: Graph
// answers a repeated create with the same transactionId with the event
// already made, so a retried job never creates a second one.
func (c *Client) CreateEvent(ctx context.Context, user, calendar string, e Event) (*Event, error) {
	var out Event
	if err := c.do(ctx, http.MethodPost, calendarPath(user, calendar)+"/events", e, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateEvent patches an event with the set fields of e.
func (c *Client) UpdateEvent(ctx context.Context, user, id string, e Event) (*Event, error) {
	var out Event
	if err := c.do(ctx, http.MethodPatch, userPath(user)+"/events/"+url.PathEscape(id), e, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteEvent removes an event; one already gone is not an error.
func (c *Client) DeleteEvent(ctx context.Context, user, id string) error {
	err := c.do(ctx, http.MethodDelete, userPath(user)+"/events/"+url.PathEscape(id), nil, nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// Notification is one entry of a change or lifecycle notification.
type Notification struct {
	SubscriptionID                 string    `json:"subscriptionId"`
	SubscriptionExpirationDateTime time.Time `json:"subscriptionExpirationDateTime"`
	ClientState                    string    `json:"clientState"`
	ChangeType                     string    `json:"changeType,omitempty"`
	Resource                       string    `json:"resource,omitempty"`
	TenantID                       string    `json:"tenantId,omitempty"`
	// LifecycleEvent is reauthorizationRequired, subscriptionRemoved or
	// missed for lifecycle notifications; empty for changes.
	LifecycleEvent string `json:"lifecycleEvent,omitempty"`
	ResourceData   *struct {
		ID string `json:"id"`
	} `json:"resourceData,omitempty"`
}

// NotificationBatch is the body Graph posts to a notification URL.
type NotificationBatch struct {
	Value []Notification `json:"value"`
}
