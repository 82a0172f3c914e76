// Package config loads Frontdesk's configuration from FRONTDESK_* environment
// variables, once, at start-up. Every variable is declared in one table
// (vars) with its default and documentation, so a bad value names the
// variable and what it expects, and docs/configuration.md can be checked
// against the code.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"frontdesk/cache"
	"frontdesk/ratelimit"
)

// Environment is development or production.
type Environment string

const (
	Development Environment = "development"
	Production  Environment = "production"
)

// Config is the whole configuration of one Frontdesk process.
type Config struct {
	Addr    string
	Env     Environment
	DataDir string
	// DatabaseURL is empty for the embedded SQLite store, else mysql://…
	DatabaseURL string
	RedisURL    string
	// MemoryCacheBytes caps the in-process cache used without Redis.
	MemoryCacheBytes int64
	RedisPrefix      string
	// Redis deadlines and circuit breaker (package cache).
	RedisDialTimeout     time.Duration
	RedisReadTimeout     time.Duration
	RedisWriteTimeout    time.Duration
	RedisPoolTimeout     time.Duration
	RedisBreakerFailures int
	RedisBreakerProbe    time.Duration
	LogLevel             string
	MigrateOnStart       bool
	// MetricsAddr moves /metrics to a listener of its own; MetricsToken
	// makes it require a bearer token (see docs/operations.md).
	MetricsAddr  string
	MetricsToken string
	// ResponseCache keeps serialised catalog responses in each process
	// (FRONTDESK_RESPONSE_CACHE); off measures the uncached path.
	ResponseCache bool
	// SearchIndexMaxProducts bounds the in-process search index; 0: none.
	SearchIndexMaxProducts int

	AllowedOrigins   []string
	Playground       bool
	Introspection    bool
	FieldSuggestions bool

	ShutdownTimeout   time.Duration
	DrainDelay        time.Duration
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration

	MaxBodyBytes   int64
	MaxUploadBytes int64
	MaxComplexity  int
	MaxDepth       int
	MaxAliases     int
	MaxTokens      int
	MaxOperations  int
	// Document size, checked before validation (graph.DocumentLimits).
	MaxFields          int
	MaxFragments       int
	MaxInlineFragments int
	MaxDirectives      int
	MaxVariableValues  int
	// QueryCacheBytes caps the parsed-query cache by estimated size.
	QueryCacheBytes  int64
	MaxPageSize      int
	DefaultPageSize  int
	OperationTimeout time.Duration

	StripeSecretKey        string
	StripeWebhookSecret    string
	StripeAPIURL           string
	StripeWebhookTolerance time.Duration

	WSInitTimeout time.Duration
	WSKeepAlive   time.Duration
	WSReadLimit   int64
	// WebSocket caps: subscriptions on one connection, connections per
	// signed-in user (or API key) and per client IP.
	WSMaxSubscriptions      int
	WSMaxConnectionsPerUser int
	WSMaxConnectionsPerIP   int

	// Booking (package booking).
	BookingHold     time.Duration
	BookingMaxHolds int
	// BookingMaxAnonymousHolds caps anonymous holds per client network.
	BookingMaxAnonymousHolds int
	BookingSecret            string
	// BookingReminders are how long before an appointment reminders go
	// out; empty sends none.
	BookingReminders []time.Duration

	// Outbox workers, mail and SMS (see docs/operations.md).
	Workers            bool
	WorkerConcurrency  map[string]int
	WorkerPollInterval time.Duration
	JobRetention       time.Duration
	SMTPURL            string
	MailFrom           string
	MailTemplatesDir   string
	SMSAPIURL          string
	SMSAccountSID      string
	SMSAuthToken       string
	SMSFrom            string
	SMSStatusCallback  string
	SMSMaxSegments     int

	// Retention of rows with no use once they end (see docs/operations.md,
	// "Data retention").
	SessionRetention      time.Duration
	TokenRetention        time.Duration
	WebhookEventRetention time.Duration
	CartRetention         time.Duration

	// Outgoing webhooks and trusted documents (docs/webhooks.md).
	WebhookAllowPrivate bool
	WebhookRetention    time.Duration
	TrustedDocuments    string

	// Calendar sync through Microsoft Graph and the EHR (see
	// docs/integrations.md).
	MSGraphTenantID        string
	MSGraphClientID        string
	MSGraphClientSecret    string
	MSGraphNotificationURL string
	MSGraphLoginURL        string
	MSGraphAPIURL          string
	CalendarHorizon        time.Duration
	CalendarInvitePatient  bool
	EHRKind                string
	EHRURL                 string
	EHRToken               string
	EHRPracticeID          string
	EHRTimeZone            string
	// Catalog and media.
	TaxRateBPS          int64
	MediaBaseURL        string
	MaxImageBytes       int64
	MaxImagesPerProduct int
	S3Bucket            string
	S3Region            string
	S3Endpoint          string
	S3AccessKeyID       string
	S3SecretAccessKey   string
	S3PathStyle         bool
	// Backups (package backup, docs/backup.md): where they go, how many
	// are kept and when the worker makes one ("" when switched off).
	BackupStore    string
	BackupDir      string // "" for <data dir>/backups
	BackupS3Bucket string
	BackupKeep     int
	BackupSchedule string
	// Identity: sessions, sign-in limits and emailed links (see
	// docs/authentication.md).
	AppURL             string
	SessionLifetime    time.Duration
	SessionIdleTimeout time.Duration
	SignInAttempts     int
	SignInIPAttempts   int
	TrustedProxies     []netip.Prefix
	WSAuthRecheck      time.Duration
	// Commerce (see docs/checkout.md): the order link in emails, with %s
	// for the order number, and how long unpaid orders hold stock.
	OrderURL         string
	OrderReservation time.Duration
	// Request budgets on /graphql by kind of caller (see
	// docs/api-conventions.md, "Rate limits"); the zero Budget is off.
	RateLimitAnonymous ratelimit.Budget
	RateLimitUser      ratelimit.Budget
	RateLimitStaff     ratelimit.Budget
	RateLimitAPIKey    ratelimit.Budget
	// The first admin of a new deployment (see docs/deploy.md), created
	// by serve and migrate when no ADMIN exists.
	BootstrapAdminEmail        string
	BootstrapAdminName         string
	BootstrapAdminPasswordFile string

	// Command is the subcommand this configuration was loaded for
	// (LoadFor); empty means everything, as for serve.
	Command Command
}

// Var documents one environment variable.
type Var struct {
	Name        string
	Default     string
	Description string
	set         func(c *Config, v string) error
}

// Vars returns the table of every variable Frontdesk reads, in the order
// docs/configuration.md lists them.
func Vars() []Var { return vars }

var vars = []Var{
	{"FRONTDESK_ADDR", "127.0.0.1:8080", "Address the HTTP server listens on (host:port).", func(c *Config, v string) error {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return errors.New("expected host:port, such as 127.0.0.1:8080 or :8080")
		}
		c.Addr = v
		return nil
	}},
	{"FRONTDESK_ENV", "development", "`development` or `production`. Production switches off the playground, introspection and field suggestions unless they are set explicitly, and refuses the development payment gateway.", func(c *Config, v string) error {
		switch Environment(v) {
		case Development, Production:
			c.Env = Environment(v)
			return nil
		}
		return errors.New("expected development or production")
	}},
	{"FRONTDESK_DATA_DIR", "./data", "Directory for the embedded SQLite database, local media and backups.", func(c *Config, v string) error {
		if v == "" {
			return errors.New("expected a directory path")
		}
		c.DataDir = filepath.Clean(v)
		return nil
	}},
	{"FRONTDESK_DATABASE_URL", "", "Empty for the embedded SQLite file `<data dir>/frontdesk.db`; otherwise `mysql://user:password@host:3306/dbname` for MySQL 8 or MariaDB 10.11+.", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "mysql" || u.Host == "" || strings.Trim(u.Path, "/") == "" {
			return errors.New("expected mysql://user:password@host:port/dbname, or empty for embedded SQLite")
		}
		c.DatabaseURL = v
		return nil
	}},
	{"FRONTDESK_REDIS_URL", "", "Empty for the in-process cache and pub/sub (one replica); otherwise `redis://[:password@]host:6379/0` (or `rediss://` for TLS) for one server, or `redis-cluster://[:password@]host1:7000,host2:7000` (or `rediss-cluster://`) for a Redis Cluster: one or more seed nodes, database 0 only; see docs/operations.md.", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if _, err := cache.ParseURL(v); err != nil {
			return fmt.Errorf("%w (or empty for in-process)", err)
		}
		c.RedisURL = v
		return nil
	}},
	{"FRONTDESK_MEMORY_CACHE_BYTES", "67108864", "Most the in-process cache (used when `FRONTDESK_REDIS_URL` is empty) holds, in bytes, counting each entry's key and value plus 128 bytes; over it the least recently used entries are evicted, expired ones first. See docs/operations.md.", int64Var(func(c *Config) *int64 { return &c.MemoryCacheBytes })},
	{"FRONTDESK_REDIS_PREFIX", "frontdesk:", "Prefix for every Redis key and channel, so several deployments can share one Redis.", func(c *Config, v string) error {
		c.RedisPrefix = v
		return nil
	}},
	{"FRONTDESK_REDIS_DIAL_TIMEOUT", "200ms", "Deadline for opening a connection to Redis. Redis only accelerates (see docs/operations.md, \"When Redis fails\"): a call that misses a deadline is served from the database instead.", durationVar(func(c *Config) *time.Duration { return &c.RedisDialTimeout })},
	{"FRONTDESK_REDIS_READ_TIMEOUT", "200ms", "Deadline for reading one Redis reply.", durationVar(func(c *Config) *time.Duration { return &c.RedisReadTimeout })},
	{"FRONTDESK_REDIS_WRITE_TIMEOUT", "200ms", "Deadline for writing one Redis command.", durationVar(func(c *Config) *time.Duration { return &c.RedisWriteTimeout })},
	{"FRONTDESK_REDIS_POOL_TIMEOUT", "200ms", "Longest wait for a free pooled Redis connection.", durationVar(func(c *Config) *time.Duration { return &c.RedisPoolTimeout })},
	{"FRONTDESK_REDIS_BREAKER_FAILURES", "3", "Redis calls failing in a row (timeouts, refused or broken connections) that open the circuit breaker: from then on Redis calls fail at once, without waiting, until a background probe gets an answer.", intVar(func(c *Config) *int { return &c.RedisBreakerFailures })},
	{"FRONTDESK_REDIS_BREAKER_PROBE", "1s", "How often an open Redis circuit breaker pings Redis in the background; the first answer closes it.", durationVar(func(c *Config) *time.Duration { return &c.RedisBreakerProbe })},
	{"FRONTDESK_LOG_LEVEL", "info", "`debug`, `info`, `warn` or `error`.", func(c *Config, v string) error {
		switch v {
		case "debug", "info", "warn", "error":
			c.LogLevel = v
			return nil
		}
		return errors.New("expected debug, info, warn or error")
	}},
	{"FRONTDESK_METRICS_ADDR", "", "Serve `/metrics` on this address (host:port) only, not on `FRONTDESK_ADDR`; `frontdesk worker` serves its metrics there too. `off`: not served at all. Empty: on the main listener — except in production without `FRONTDESK_METRICS_TOKEN`, where empty means `off`, so metrics are never public by accident.", func(c *Config, v string) error {
		if v == "" || v == MetricsOff {
			c.MetricsAddr = v
			return nil
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			return errors.New("expected host:port, such as 127.0.0.1:9464")
		}
		c.MetricsAddr = v
		return nil
	}},
	{"FRONTDESK_METRICS_TOKEN", "", "When set, `/metrics` answers only requests with `Authorization: Bearer <token>` (16 characters or more), wherever it is served.", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if len(v) < 16 || strings.ContainsAny(v, " \t\r\n") {
			return errors.New("expected at least 16 characters without spaces")
		}
		c.MetricsToken = v
		return nil
	}},
	{"FRONTDESK_RESPONSE_CACHE", "on", "`on`: answer repeated catalog-only queries (listings, product pages, the category tree) with the response bytes this process produced for the same query, variables, viewer class and catalog and stock versions (see [catalog](catalog.md#caching)). `off`: resolve every query, to measure or profile the uncached path.", func(c *Config, v string) error {
		switch v {
		case "on", "true", "1":
			c.ResponseCache = true
		case "off", "false", "0":
			c.ResponseCache = false
		default:
			return errors.New("expected on or off")
		}
		return nil
	}},
	{"FRONTDESK_SEARCH_INDEX_MAX_PRODUCTS", "250000", "Most products the in-process search index holds (45 MiB per 100,000 products); with more, text search is answered by the database's full-text index instead, slower but in bounded memory (see [catalog](catalog.md#text-search)). `0`: no index.", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errors.New("expected a whole number, 0 or more")
		}
		c.SearchIndexMaxProducts = n
		return nil
	}},
	{"FRONTDESK_MIGRATE_ON_START", "true", "Apply pending database migrations when `serve` starts. Switch off when migrations run as a separate deploy step (`frontdesk migrate`).", boolVar(func(c *Config) *bool { return &c.MigrateOnStart })},
	{"FRONTDESK_ALLOWED_ORIGINS", "", "Comma-separated browser origins allowed by CORS and the WebSocket origin check, such as `https://shop.example.com`. `*` is refused. In development, http://localhost and http://127.0.0.1 on any port are always allowed.", func(c *Config, v string) error {
		c.AllowedOrigins = nil
		for _, o := range strings.Split(v, ",") {
			o = strings.TrimSpace(o)
			if o == "" {
				continue
			}
			u, err := url.Parse(o)
			if o == "*" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
				return fmt.Errorf("expected origins like https://shop.example.com separated by commas, got %q", o)
			}
			c.AllowedOrigins = append(c.AllowedOrigins, strings.ToLower(o))
		}
		return nil
	}},
	{"FRONTDESK_PLAYGROUND", "", "Serve the GraphQL playground at `/`. Default: on in development, off in production.", optBoolVar(func(c *Config) *bool { return &c.Playground })},
	{"FRONTDESK_INTROSPECTION", "", "Allow schema introspection. Default: on in development, off in production.", optBoolVar(func(c *Config) *bool { return &c.Introspection })},
	{"FRONTDESK_FIELD_SUGGESTIONS", "", "Include \"did you mean\" suggestions in validation errors. Default: on in development, off in production.", optBoolVar(func(c *Config) *bool { return &c.FieldSuggestions })},
	{"FRONTDESK_SHUTDOWN_TIMEOUT", "15s", "How long a SIGTERM/SIGINT waits for in-flight requests and jobs before closing anyway.", durationVar(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"FRONTDESK_DRAIN_DELAY", "0s", "On SIGTERM/SIGINT, how long `/readyz` answers 503 while requests are still served, before the listener closes: set it to what your load balancer needs to see the replica fail its check (interval × failures), for rolling restarts without refused connections. `0s` closes at once.", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errors.New("expected a duration such as 0s, 5s or 30s")
		}
		c.DrainDelay = d
		return nil
	}},
	{"FRONTDESK_READ_HEADER_TIMEOUT", "5s", "HTTP server: time allowed to read request headers.", durationVar(func(c *Config) *time.Duration { return &c.ReadHeaderTimeout })},
	{"FRONTDESK_READ_TIMEOUT", "60s", "HTTP server: time allowed to read a whole request, uploads included.", durationVar(func(c *Config) *time.Duration { return &c.ReadTimeout })},
	{"FRONTDESK_WRITE_TIMEOUT", "60s", "HTTP server: time allowed to write a response (WebSockets are exempt once upgraded).", durationVar(func(c *Config) *time.Duration { return &c.WriteTimeout })},
	{"FRONTDESK_IDLE_TIMEOUT", "120s", "HTTP server: how long an idle keep-alive connection stays open.", durationVar(func(c *Config) *time.Duration { return &c.IdleTimeout })},
	{"FRONTDESK_MAX_BODY_BYTES", "1048576", "Largest JSON request body accepted, in bytes.", int64Var(func(c *Config) *int64 { return &c.MaxBodyBytes })},
	{"FRONTDESK_MAX_UPLOAD_BYTES", "20971520", "Largest multipart (file upload) request accepted, in bytes.", int64Var(func(c *Config) *int64 { return &c.MaxUploadBytes })},
	{"FRONTDESK_MAX_COMPLEXITY", "5000", "Largest query complexity. Each field costs 1; list and connection fields multiply their selection by the page size asked for.", intVar(func(c *Config) *int { return &c.MaxComplexity })},
	{"FRONTDESK_MAX_DEPTH", "15", "Deepest selection nesting allowed in an operation.", intVar(func(c *Config) *int { return &c.MaxDepth })},
	{"FRONTDESK_MAX_ALIASES", "30", "Most field aliases allowed in one operation.", intVar(func(c *Config) *int { return &c.MaxAliases })},
	{"FRONTDESK_MAX_TOKENS", "15000", "Most lexer tokens the parser reads from one document.", intVar(func(c *Config) *int { return &c.MaxTokens })},
	{"FRONTDESK_MAX_OPERATIONS", "10", "Most operation definitions allowed in one document.", intVar(func(c *Config) *int { return &c.MaxOperations })},
	{"FRONTDESK_MAX_FIELDS", "500", "Most fields one document may select, a fragment's fields counted at each spread (and once for its definition). Checked with the other document limits in one pass before validation.", intVar(func(c *Config) *int { return &c.MaxFields })},
	{"FRONTDESK_MAX_FRAGMENTS", "100", "Most fragment definitions in one document, and most fragment spreads once nested spreads are multiplied out.", intVar(func(c *Config) *int { return &c.MaxFragments })},
	{"FRONTDESK_MAX_INLINE_FRAGMENTS", "100", "Most inline fragments (`... on Type`) in one document, counted at each spread of the fragment holding them.", intVar(func(c *Config) *int { return &c.MaxInlineFragments })},
	{"FRONTDESK_MAX_DIRECTIVES", "50", "Most directives (`@include`, `@skip`, …) in one document.", intVar(func(c *Config) *int { return &c.MaxDirectives })},
	{"FRONTDESK_MAX_VARIABLE_VALUES", "10000", "Most JSON values (list items, object fields and scalars) in one request's variables.", intVar(func(c *Config) *int { return &c.MaxVariableValues })},
	{"FRONTDESK_QUERY_CACHE_BYTES", "16777216", "Memory the parsed-query cache may hold, in bytes (estimated from each document's length); least recently used documents are dropped beyond it. Documents refused by a limit are never cached.", int64Var(func(c *Config) *int64 { return &c.QueryCacheBytes })},
	{"FRONTDESK_MAX_PAGE_SIZE", "100", "Largest `first`/`last` a connection accepts.", intVar(func(c *Config) *int { return &c.MaxPageSize })},
	{"FRONTDESK_DEFAULT_PAGE_SIZE", "20", "Page size of a connection queried without `first` or `last`.", intVar(func(c *Config) *int { return &c.DefaultPageSize })},
	{"FRONTDESK_OPERATION_TIMEOUT", "10s", "Deadline for one query or mutation (subscriptions are exempt).", durationVar(func(c *Config) *time.Duration { return &c.OperationTimeout })},
	{"FRONTDESK_STRIPE_SECRET_KEY", "", "Stripe secret key (`sk_live_…`/`sk_test_…`). Empty selects the development payment gateway, which takes no money and refuses to run in production.", func(c *Config, v string) error {
		if v != "" && !strings.HasPrefix(v, "sk_") && !strings.HasPrefix(v, "rk_") {
			return errors.New("expected a Stripe secret or restricted key (sk_… or rk_…)")
		}
		c.StripeSecretKey = v
		return nil
	}},
	{"FRONTDESK_STRIPE_WEBHOOK_SECRET", "", "Signing secret of the `/webhooks/stripe` endpoint (`whsec_…`). Required with a Stripe key. Create the endpoint with API version 2023-10-16.", func(c *Config, v string) error {
		if v != "" && !strings.HasPrefix(v, "whsec_") {
			return errors.New("expected a webhook signing secret (whsec_…)")
		}
		c.StripeWebhookSecret = v
		return nil
	}},
	{"FRONTDESK_STRIPE_API_URL", "", "Override of Stripe's API base URL, for stripe-mock in tests. Leave empty in production.", func(c *Config, v string) error {
		if v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return errors.New("expected an http(s) URL")
			}
		}
		c.StripeAPIURL = v
		return nil
	}},
	{"FRONTDESK_STRIPE_WEBHOOK_TOLERANCE", "5m", "How old a signed Stripe webhook may be before it is refused as a replay.", durationVar(func(c *Config) *time.Duration { return &c.StripeWebhookTolerance })},
	{"FRONTDESK_WS_INIT_TIMEOUT", "10s", "Time a WebSocket client has to send connection_init.", durationVar(func(c *Config) *time.Duration { return &c.WSInitTimeout })},
	{"FRONTDESK_WS_KEEPALIVE", "25s", "Interval of WebSocket keep-alive pings.", durationVar(func(c *Config) *time.Duration { return &c.WSKeepAlive })},
	{"FRONTDESK_WS_READ_LIMIT", "65536", "Largest WebSocket message accepted from a client, in bytes.", int64Var(func(c *Config) *int64 { return &c.WSReadLimit })},
	{"FRONTDESK_WS_MAX_SUBSCRIPTIONS", "20", "Most subscriptions live at once on one WebSocket; one more is refused with SUBSCRIPTION_LIMIT_EXCEEDED.", intVar(func(c *Config) *int { return &c.WSMaxSubscriptions })},
	{"FRONTDESK_WS_MAX_CONNECTIONS_PER_USER", "10", "Most WebSockets open at once per signed-in user or API key on one replica; one more is closed with 4429 after connection_init.", intVar(func(c *Config) *int { return &c.WSMaxConnectionsPerUser })},
	{"FRONTDESK_WS_MAX_CONNECTIONS_PER_IP", "50", "Most WebSockets open at once per client IP (IPv6: one /64) on one replica; one more is refused with HTTP 429 before the upgrade. Behind a load balancer, list it in FRONTDESK_TRUSTED_PROXIES, or every client shares its address.", intVar(func(c *Config) *int { return &c.WSMaxConnectionsPerIP })},
	{"FRONTDESK_WORKERS", "true", "Run the outbox workers (mail, SMS, integrations, recurring tasks) inside `serve`. Set false on API-only replicas and run `frontdesk worker` separately.", boolVar(func(c *Config) *bool { return &c.Workers })},
	{"FRONTDESK_WORKER_CONCURRENCY", "", "Per-kind job concurrency overrides for each worker process, such as `mail.send=8,sms.send=2`. Kinds not listed keep their default (4 for most).", func(c *Config, v string) error {
		c.WorkerConcurrency = map[string]int{}
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			kind, n, ok := strings.Cut(part, "=")
			num, err := strconv.Atoi(strings.TrimSpace(n))
			if !ok || strings.TrimSpace(kind) == "" || err != nil || num <= 0 {
				return fmt.Errorf("expected kind=number pairs separated by commas, got %q", part)
			}
			c.WorkerConcurrency[strings.TrimSpace(kind)] = num
		}
		return nil
	}},
	{"FRONTDESK_WORKER_POLL_INTERVAL", "1s", "How often a worker looks for due jobs it was not told about (jobs enqueued on other replicas, delayed jobs, expired leases).", durationVar(func(c *Config) *time.Duration { return &c.WorkerPollInterval })},
	{"FRONTDESK_JOB_RETENTION", "168h", "How long succeeded and cancelled jobs are kept before the nightly prune deletes them. Dead jobs are kept until handled.", durationVar(func(c *Config) *time.Duration { return &c.JobRetention })},
	{"FRONTDESK_SESSION_RETENTION", "720h", "How long a session is kept after it ended (expired, idle past FRONTDESK_SESSION_IDLE_TIMEOUT, or signed out) before a nightly task deletes it.", durationVar(func(c *Config) *time.Duration { return &c.SessionRetention })},
	{"FRONTDESK_TOKEN_RETENTION", "720h", "How long an emailed-link token (email verification, password reset) is kept after it was used or expired before a nightly task deletes it.", durationVar(func(c *Config) *time.Duration { return &c.TokenRetention })},
	{"FRONTDESK_WEBHOOK_EVENT_RETENTION", "1080h", "How long the record of a processed payment webhook event is kept to recognise redeliveries, at least 720h: Stripe retries for up to 3 days and can resend an event for 30 days.", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 720*time.Hour {
			return errors.New("expected a duration of at least 720h (30 days), such as 1080h")
		}
		c.WebhookEventRetention = d
		return nil
	}},
	{"FRONTDESK_CART_RETENTION", "720h", "How long a guest cart that was never ordered is kept after its last change before a nightly task deletes it. Signed-in customers' carts and ordered carts are kept.", durationVar(func(c *Config) *time.Duration { return &c.CartRetention })},
	{"FRONTDESK_WEBHOOK_RETENTION", "720h", "How long the delivery log of outgoing webhooks (deliveries and their attempts) is kept before a nightly task deletes it; pending deliveries are kept.", durationVar(func(c *Config) *time.Duration { return &c.WebhookRetention })},
	{"FRONTDESK_WEBHOOK_ALLOW_PRIVATE", "false", "Let webhook endpoints be on loopback, private and link-local addresses. For tests and a receiver on the developer's machine only: refused in production, where endpoints must be public https URLs.", boolVar(func(c *Config) *bool { return &c.WebhookAllowPrivate })},
	{"FRONTDESK_TRUSTED_DOCUMENTS", "allow", "`off`: documentId requests are refused and any document runs. `allow`: registered trusted documents can be sent by id, and any document still runs. `require`: requests from public clients (anonymous or customers) must send a registered documentId; staff, API keys and, in development, everyone may still send any document.", func(c *Config, v string) error {
		switch v {
		case "off", "allow", "require":
			c.TrustedDocuments = v
			return nil
		}
		return errors.New("expected off, allow or require")
	}},
	{"FRONTDESK_SMTP_URL", "", "Empty: mail is written to the log and the sent-messages list only (development). `smtp://user:password@host:587` sends with STARTTLS (required), `smtps://user:password@host:465` with implicit TLS; credentials use AUTH PLAIN. `smtp+insecure://host:25` sends without TLS and is meant for a relay on localhost.", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps" && u.Scheme != "smtp+insecure") {
			return errors.New("expected smtp://user:password@host:587, smtps://user:password@host:465 or smtp+insecure://host:25")
		}
		c.SMTPURL = v
		return nil
	}},
	{"FRONTDESK_MAIL_FROM", "Frontdesk <no-reply@localhost>", "Sender of transactional mail, as `Name <address>` or a bare address.", func(c *Config, v string) error {
		if _, err := mail.ParseAddress(v); err != nil {
			return errors.New("expected an address such as Clinic <no-reply@clinic.example>")
		}
		c.MailFrom = v
		return nil
	}},
	{"FRONTDESK_MAIL_TEMPLATES_DIR", "", "Directory of mail templates that override the built-in ones file by file (`<kind>.subject.txt`, `<kind>.txt`, `<kind>.html`); see docs/operations.md.", func(c *Config, v string) error {
		c.MailTemplatesDir = v
		return nil
	}},
	{"FRONTDESK_SMS_API_URL", "https://api.twilio.com", "Base URL of the Twilio-compatible SMS REST API.", func(c *Config, v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return errors.New("expected an http(s) URL")
		}
		c.SMSAPIURL = strings.TrimRight(v, "/")
		return nil
	}},
	{"FRONTDESK_SMS_ACCOUNT_SID", "", "SMS API account SID. Empty: SMS are written to the log and the sent-messages list only (development).", func(c *Config, v string) error {
		c.SMSAccountSID = v
		return nil
	}},
	{"FRONTDESK_SMS_AUTH_TOKEN", "", "SMS API auth token (HTTP basic auth password).", func(c *Config, v string) error {
		c.SMSAuthToken = v
		return nil
	}},
	{"FRONTDESK_SMS_FROM", "", "Sender number (E.164, such as +61400000000) or alphanumeric sender ID.", func(c *Config, v string) error {
		c.SMSFrom = v
		return nil
	}},
	{"FRONTDESK_SMS_STATUS_CALLBACK", "", "Optional URL the SMS provider calls with delivery status updates.", func(c *Config, v string) error {
		c.SMSStatusCallback = v
		return nil
	}},
	{"FRONTDESK_SMS_MAX_SEGMENTS", "4", "Longest SMS sent, in segments (160 GSM-7 or 70 UCS-2 characters each, fewer when split); longer messages are refused.", intVar(func(c *Config) *int { return &c.SMSMaxSegments })},
	{"FRONTDESK_BOOKING_HOLD", "10m", "How long a held slot (and a booking waiting for payment) keeps its time before it is released.", durationVar(func(c *Config) *time.Duration { return &c.BookingHold })},
	{"FRONTDESK_BOOKING_MAX_HOLDS", "3", "Most slots one signed-in patient may hold at once (slot hoarding is refused).", intVar(func(c *Config) *int { return &c.BookingMaxHolds })},
	{"FRONTDESK_BOOKING_MAX_ANONYMOUS_HOLDS", "5", "Most slots callers who are not signed in may hold at once from one client IP (IPv6: one /64), so one client cannot hold every slot. Behind a load balancer, list it in FRONTDESK_TRUSTED_PROXIES, or every client shares its address.", intVar(func(c *Config) *int { return &c.BookingMaxAnonymousHolds })},
	{"FRONTDESK_BOOKING_SECRET", "", "Key (at least 32 characters) that signs guests' appointment manage links and hold tokens; the same on every replica. Required in production; development uses a fixed, publicly known key.", func(c *Config, v string) error {
		if v != "" && len(v) < 32 {
			return errors.New("use at least 32 characters")
		}
		c.BookingSecret = v
		return nil
	}},
	{"FRONTDESK_BOOKING_REMINDERS", "24h,2h", "When reminders (email, and SMS when there is a phone number) go out before a confirmed appointment: a comma-separated list of durations, or `none`. Rescheduling moves them; cancelling stops them.", func(c *Config, v string) error {
		c.BookingReminders = nil
		if strings.EqualFold(v, "none") {
			return nil
		}
		seen := map[time.Duration]bool{}
		for _, part := range strings.Split(v, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(part))
			if err != nil || d <= 0 || d > 30*24*time.Hour || seen[d] {
				return errors.New("expected distinct positive durations up to 720h, such as 24h,2h, or none")
			}
			seen[d] = true
			c.BookingReminders = append(c.BookingReminders, d)
		}
		if len(c.BookingReminders) > 5 {
			return errors.New("at most 5 reminders")
		}
		return nil
	}},
	{"FRONTDESK_MSGRAPH_TENANT_ID", "", "Azure AD tenant (directory) id of the app registration used for Outlook calendar sync. Empty turns calendar sync off.", func(c *Config, v string) error { c.MSGraphTenantID = strings.TrimSpace(v); return nil }},
	{"FRONTDESK_MSGRAPH_CLIENT_ID", "", "Application (client) id of the Azure app registration.", func(c *Config, v string) error { c.MSGraphClientID = strings.TrimSpace(v); return nil }},
	{"FRONTDESK_MSGRAPH_CLIENT_SECRET", "", "Client secret of the Azure app registration.", func(c *Config, v string) error { c.MSGraphClientSecret = strings.TrimSpace(v); return nil }},
	{"FRONTDESK_MSGRAPH_NOTIFICATION_URL", "", "Public HTTPS URL of this deployment's `/webhooks/msgraph`, such as `https://api.clinic.example/webhooks/msgraph`; Graph posts change and lifecycle notifications there.", func(c *Config, v string) error {
		if v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return errors.New("expected an http(s) URL")
			}
		}
		c.MSGraphNotificationURL = strings.TrimRight(v, "/")
		return nil
	}},
	{"FRONTDESK_MSGRAPH_LOGIN_URL", "https://login.microsoftonline.com", "Microsoft identity platform base URL (tests point it at a local double).", func(c *Config, v string) error {
		if v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return errors.New("expected an http(s) URL")
			}
		}
		c.MSGraphLoginURL = strings.TrimRight(v, "/")
		return nil
	}},
	{"FRONTDESK_MSGRAPH_API_URL", "https://graph.microsoft.com/v1.0", "Microsoft Graph base URL (tests point it at a local double).", func(c *Config, v string) error {
		if v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return errors.New("expected an http(s) URL")
			}
		}
		c.MSGraphAPIURL = strings.TrimRight(v, "/")
		return nil
	}},
	{"FRONTDESK_CALENDAR_HORIZON", "2160h", "How far ahead Outlook busy times are imported; at least the longest booking horizon of any service.", durationVar(func(c *Config) *time.Duration { return &c.CalendarHorizon })},
	{"FRONTDESK_CALENDAR_INVITE_PATIENT", "false", "Add the patient as an attendee of the practitioner's Outlook event (Outlook then emails them an invitation).", boolVar(func(c *Config) *bool { return &c.CalendarInvitePatient })},
	{"FRONTDESK_EHR", "", "EHR to sync patients and appointments to: `medirecords`, `fhir`, or empty for none.", func(c *Config, v string) error {
		switch v {
		case "", "medirecords", "fhir":
			c.EHRKind = v
			return nil
		}
		return errors.New("expected medirecords, fhir or empty")
	}},
	{"FRONTDESK_EHR_URL", "", "Base URL of the EHR API (MediRecords REST base, or the FHIR R4 base such as `https://fhir.example/r4`).", func(c *Config, v string) error {
		if v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return errors.New("expected an http(s) URL")
			}
		}
		c.EHRURL = strings.TrimRight(v, "/")
		return nil
	}},
	{"FRONTDESK_EHR_TOKEN", "", "Bearer token of the EHR API (for MediRecords, the practice's token).", func(c *Config, v string) error { c.EHRToken = strings.TrimSpace(v); return nil }},
	{"FRONTDESK_EHR_PRACTICE_ID", "", "MediRecords practice id appointments are created in.", func(c *Config, v string) error { c.EHRPracticeID = strings.TrimSpace(v); return nil }},
	{"FRONTDESK_EHR_TIME_ZONE", "", "IANA time zone of the practice; MediRecords `scheduleTime` carries no zone, so times are converted to it. Required for medirecords.", func(c *Config, v string) error {
		if v != "" {
			if _, err := time.LoadLocation(v); err != nil || v == "Local" {
				return errors.New("expected an IANA time zone such as Australia/Sydney")
			}
		}
		c.EHRTimeZone = v
		return nil
	}},
	{"FRONTDESK_TAX_RATE_BPS", "0", "Tax rate added to catalog prices for `priceWithTax`, in basis points (1000 = 10% GST). Prices are stored without tax.", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > 10000 {
			return errors.New("expected basis points from 0 to 10000")
		}
		c.TaxRateBPS = n
		return nil
	}},
	{"FRONTDESK_MEDIA_BASE_URL", "", "Public base URL of product images, such as a CDN in front of the bucket (`https://cdn.example.com/media`). Empty: `/media/` on this server for local storage, the bucket's own URL for S3.", func(c *Config, v string) error {
		if v != "" {
			if u, err := url.Parse(v); err != nil || u.Host == "" {
				return errors.New("expected an absolute URL")
			}
		}
		c.MediaBaseURL = strings.TrimSuffix(v, "/")
		return nil
	}},
	{"FRONTDESK_MAX_IMAGE_BYTES", "10485760", "Largest product image accepted, in bytes.", int64Var(func(c *Config) *int64 { return &c.MaxImageBytes })},
	{"FRONTDESK_MAX_IMAGES_PER_PRODUCT", "20", "Most images one product may have.", intVar(func(c *Config) *int { return &c.MaxImagesPerProduct })},
	{"FRONTDESK_S3_BUCKET", "", "Store media in this S3 bucket instead of `<data dir>/media`. Credentials come from the variables below or the AWS SDK's usual chain.", func(c *Config, v string) error { c.S3Bucket = v; return nil }},
	{"FRONTDESK_S3_REGION", "us-east-1", "Region of the S3 bucket.", func(c *Config, v string) error { c.S3Region = v; return nil }},
	{"FRONTDESK_S3_ENDPOINT", "", "Endpoint of an S3-compatible store (MinIO, R2); empty for AWS.", func(c *Config, v string) error { c.S3Endpoint = v; return nil }},
	{"FRONTDESK_S3_ACCESS_KEY_ID", "", "S3 access key ID; empty to use the AWS SDK's default credential chain.", func(c *Config, v string) error { c.S3AccessKeyID = v; return nil }},
	{"FRONTDESK_S3_SECRET_ACCESS_KEY", "", "S3 secret access key, with FRONTDESK_S3_ACCESS_KEY_ID.", func(c *Config, v string) error { c.S3SecretAccessKey = v; return nil }},
	{"FRONTDESK_S3_PATH_STYLE", "false", "Address the bucket as `endpoint/bucket/key` (MinIO and most S3-compatible stores) instead of `bucket.endpoint/key`.", boolVar(func(c *Config) *bool { return &c.S3PathStyle })},
	{"FRONTDESK_BACKUP_STORE", "auto", "Where `frontdesk backup` and the nightly backup write: `local` (FRONTDESK_BACKUP_DIR), `s3` (the `backups/` prefix of FRONTDESK_BACKUP_S3_BUCKET, or of the media bucket), or `auto`: S3 when a bucket is configured, else local.", func(c *Config, v string) error {
		switch v {
		case "auto", "local", "s3":
			c.BackupStore = v
			return nil
		}
		return errors.New("expected auto, local or s3")
	}},
	{"FRONTDESK_BACKUP_DIR", "", "Directory of local backups. Empty: `<data dir>/backups`.", func(c *Config, v string) error {
		if v != "" {
			v = filepath.Clean(v)
		}
		c.BackupDir = v
		return nil
	}},
	{"FRONTDESK_BACKUP_S3_BUCKET", "", "Bucket for backups when they go to S3, with the FRONTDESK_S3_* region, endpoint and credentials. Empty: the media bucket (FRONTDESK_S3_BUCKET). A separate, private bucket is better; see docs/backup.md.", func(c *Config, v string) error {
		c.BackupS3Bucket = v
		return nil
	}},
	{"FRONTDESK_BACKUP_KEEP", "14", "How many backups the store keeps: after each backup the oldest beyond this number are deleted.", intVar(func(c *Config) *int { return &c.BackupKeep })},
	{"FRONTDESK_BACKUP_SCHEDULE", "30 2 * * *", "When the worker makes a backup (cron fields in UTC, or `@daily`, `@every 6h`; see docs/backup.md); once per period across all replicas. `off` switches the scheduled backup off.", func(c *Config, v string) error {
		if strings.EqualFold(v, "off") {
			v = ""
		}
		c.BackupSchedule = v
		return nil
	}},
	{"FRONTDESK_APP_URL", "http://localhost:3000", "Base URL of the customer-facing app. Emailed links point at `<url>/verify-email?token=…` and `<url>/reset-password?token=…`; the app posts the token to `verifyEmail` or `resetPassword`.", func(c *Config, v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("expected an absolute http(s) URL such as https://shop.example.com")
		}
		c.AppURL = strings.TrimSuffix(v, "/")
		return nil
	}},
	{"FRONTDESK_ORDER_URL", "", "Link to an order in order emails (confirmation, receipt, shipped, refund), with `%s` where the order number goes, such as `https://shop.example.com/account/orders/%s`. Empty: `<FRONTDESK_APP_URL>/orders/%s`.", func(c *Config, v string) error {
		if v != "" {
			u, err := url.Parse(strings.ReplaceAll(v, "%s", "FD-NUMBER"))
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Count(v, "%s") != 1 || strings.Count(v, "%") != 1 {
				return errors.New("expected an absolute http(s) URL with one %s for the order number, such as https://shop.example.com/orders/%s")
			}
		}
		c.OrderURL = v
		return nil
	}},
	{"FRONTDESK_ORDER_RESERVATION", "30m", "How long a placed order holds its stock (and its discount code use) while payment is pending; the expiry job then cancels it and releases both.", durationVar(func(c *Config) *time.Duration { return &c.OrderReservation })},
	{"FRONTDESK_SESSION_LIFETIME", "720h", "Longest a session lasts, however active.", durationVar(func(c *Config) *time.Duration { return &c.SessionLifetime })},
	{"FRONTDESK_SESSION_IDLE_TIMEOUT", "168h", "A session unused this long ends; each use slides the window forward.", durationVar(func(c *Config) *time.Duration { return &c.SessionIdleTimeout })},
	{"FRONTDESK_SIGNIN_ATTEMPTS", "10", "Sign-in attempts allowed per account in 15 minutes before RATE_LIMITED.", intVar(func(c *Config) *int { return &c.SignInAttempts })},
	{"FRONTDESK_SIGNIN_IP_ATTEMPTS", "100", "Sign-in, registration and password-reset attempts allowed per client IP in 15 minutes before RATE_LIMITED. Behind a load balancer, list it in FRONTDESK_TRUSTED_PROXIES, or every client shares its address.", intVar(func(c *Config) *int { return &c.SignInIPAttempts })},
	{"FRONTDESK_TRUSTED_PROXIES", "", "Comma-separated IPs or CIDR ranges of the load balancers and reverse proxies in front of Frontdesk, such as `10.0.0.0/8`. When the TCP peer is one of them, the client IP (for sign-in limits and session records) is the rightmost `X-Forwarded-For` entry that is not; otherwise `X-Forwarded-For` is ignored, since clients can forge it.", func(c *Config, v string) error {
		p, err := parsePrefixes(v)
		if err != nil {
			return fmt.Errorf("expected IPs or CIDR ranges separated by commas: %w", err)
		}
		c.TrustedProxies = p
		return nil
	}},
	{"FRONTDESK_WS_AUTH_RECHECK", "15s", "How often an open WebSocket re-checks its credentials; a revoked session or deactivated user is disconnected within this time.", durationVar(func(c *Config) *time.Duration { return &c.WSAuthRecheck })},
	{"FRONTDESK_RATE_LIMIT_ANONYMOUS", "300/1m", "Requests to `/graphql` (and operations started over a WebSocket) allowed per client IP (IPv6: per /64) for callers who are not signed in, as `N/period` (`300/1m`, `20/10s`, `5000/1h`) or `off`. Shared by all replicas through Redis. Behind a load balancer, list it in FRONTDESK_TRUSTED_PROXIES, or every client shares its address.", budgetVar(func(c *Config) *ratelimit.Budget { return &c.RateLimitAnonymous })},
	{"FRONTDESK_RATE_LIMIT_USER", "600/1m", "Requests allowed per signed-in customer (session cookie or bearer token), as `N/period` or `off`.", budgetVar(func(c *Config) *ratelimit.Budget { return &c.RateLimitUser })},
	{"FRONTDESK_RATE_LIMIT_STAFF", "3000/1m", "Requests allowed per signed-in member of staff (staff, practitioner, admin), as `N/period` or `off`.", budgetVar(func(c *Config) *ratelimit.Budget { return &c.RateLimitStaff })},
	{"FRONTDESK_RATE_LIMIT_API_KEY", "1200/1m", "Requests allowed per partner API key, as `N/period` or `off`.", budgetVar(func(c *Config) *ratelimit.Budget { return &c.RateLimitAPIKey })},
	{"FRONTDESK_BOOTSTRAP_ADMIN_EMAIL", "", "Email of the first ADMIN, created when `serve` or `migrate` starts and no ADMIN exists yet (then never again); needs FRONTDESK_BOOTSTRAP_ADMIN_PASSWORD_FILE. For containers; elsewhere `frontdesk users create` does the same. See docs/deploy.md.", func(c *Config, v string) error {
		if v != "" {
			if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
				return errors.New("expected a bare email address such as admin@clinic.example")
			}
		}
		c.BootstrapAdminEmail = v
		return nil
	}},
	{"FRONTDESK_BOOTSTRAP_ADMIN_NAME", "Administrator", "Name of the first ADMIN (FRONTDESK_BOOTSTRAP_ADMIN_EMAIL).", func(c *Config, v string) error {
		c.BootstrapAdminName = v
		return nil
	}},
	{"FRONTDESK_BOOTSTRAP_ADMIN_PASSWORD_FILE", "", "File holding the first ADMIN's password (its first line), such as a mounted secret (`/run/secrets/admin_password`); a password never goes in a variable.", func(c *Config, v string) error {
		c.BootstrapAdminPasswordFile = v
		return nil
	}},
}

// Error lists every invalid variable found, so an operator fixes them all
// in one go.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// Command names the subcommand a process runs. Each checks only the
// settings it uses: `frontdesk migrate` needs no payment gateway and no
// booking secret, so a deploy step that migrates before the secrets are
// in place still works; `serve` checks everything.
type Command string

// Commands with settings of their own to check.
const (
	Serve   Command = "serve"
	Worker  Command = "worker"
	Migrate Command = "migrate"
	Seed    Command = "seed"
	Backup  Command = "backup"
	Restore Command = "restore"
	Import  Command = "import"
	Users   Command = "users"
)

// need is a group of settings some commands use and others do not.
type need uint

const (
	// needPayments: the payment gateway takes and refunds money (Stripe in
	// production).
	needPayments need = 1 << iota
	// needBooking: booking manage links and hold tokens are signed.
	needBooking
	// needIntegrations: Outlook, the EHR and SMS are called.
	needIntegrations
	// needBackupStore: backups are written or read.
	needBackupStore
	// needBootstrap: the first admin may be created.
	needBootstrap
	// needDemo: the command writes demo data, never in production.
	needDemo
)

// commandNeeds says what each command uses; a command not listed (and the
// empty Command) uses everything but the demo.
var commandNeeds = map[Command]need{
	Serve:   needPayments | needBooking | needIntegrations | needBackupStore | needBootstrap,
	Worker:  needPayments | needBooking | needIntegrations | needBackupStore,
	Migrate: needBootstrap,
	Seed:    needDemo,
	Backup:  needBackupStore,
	Restore: needBackupStore,
	Import:  0,
	Users:   0,
}

func (c Command) needs(n need) bool {
	have, ok := commandNeeds[c]
	if !ok {
		have = commandNeeds[Serve]
	}
	return have&n != 0
}

// TakesPayments reports whether the command uses the payment gateway;
// the others get one that refuses every call, so they start in
// production without Stripe settings.
func (c *Config) TakesPayments() bool { return c.Command.needs(needPayments) }

// Bootstraps reports whether the command creates the first admin from
// FRONTDESK_BOOTSTRAP_ADMIN_* when they are set.
func (c *Config) Bootstraps() bool {
	return c.Command.needs(needBootstrap) && c.BootstrapAdminEmail != ""
}

// Load reads the configuration through getenv (os.Getenv in production,
// a map in tests) and validates it for serve, which uses everything.
func Load(getenv func(string) string) (*Config, error) { return LoadFor(getenv, Serve) }

// LoadFor reads the configuration and validates what cmd uses: every
// value that is set must be well formed, but a setting cmd does not use
// may be missing. All problems are reported at once.
func LoadFor(getenv func(string) string, cmd Command) (*Config, error) {
	c := &Config{Command: cmd}
	var problems []string
	explicit := map[string]bool{}
	bad := map[string]bool{} // variables whose value was refused
	for _, v := range vars {
		raw, ok := lookup(getenv, v.Name)
		explicit[v.Name] = ok
		if !ok {
			raw = v.Default
		}
		if err := v.set(c, raw); err != nil {
			bad[v.Name] = true
			problems = append(problems, fmt.Sprintf("%s=%q: %v", v.Name, raw, err))
		}
	}
	// require adds a problem unless one of names already has one: a
	// refused value is not also reported as missing.
	require := func(msg string, names ...string) {
		for _, n := range names {
			if bad[n] {
				return
			}
		}
		problems = append(problems, msg)
	}
	// Developer conveniences default on in development and off in
	// production, unless the operator said otherwise.
	dev := c.Env == Development
	prod := c.Env == Production
	for name, field := range map[string]*bool{
		"FRONTDESK_PLAYGROUND":        &c.Playground,
		"FRONTDESK_INTROSPECTION":     &c.Introspection,
		"FRONTDESK_FIELD_SUGGESTIONS": &c.FieldSuggestions,
	} {
		if !explicit[name] {
			*field = dev
		}
	}
	if prod && c.MetricsAddr == "" && c.MetricsToken == "" {
		c.MetricsAddr = MetricsOff
	}
	if cmd.needs(needPayments) {
		if prod && c.StripeSecretKey == "" {
			require("FRONTDESK_STRIPE_SECRET_KEY: required in production (the development payment gateway takes no money); "+
				"with FRONTDESK_STRIPE_WEBHOOK_SECRET", "FRONTDESK_STRIPE_SECRET_KEY", "FRONTDESK_ENV")
		}
		if c.StripeSecretKey != "" && c.StripeWebhookSecret == "" {
			require("FRONTDESK_STRIPE_WEBHOOK_SECRET: required when FRONTDESK_STRIPE_SECRET_KEY is set, or payments are never confirmed", "FRONTDESK_STRIPE_WEBHOOK_SECRET")
		}
	}
	if cmd.needs(needIntegrations) {
		if c.MSGraphTenantID != "" && (c.MSGraphClientID == "" || c.MSGraphClientSecret == "" || c.MSGraphNotificationURL == "") {
			require("FRONTDESK_MSGRAPH_CLIENT_ID, FRONTDESK_MSGRAPH_CLIENT_SECRET and FRONTDESK_MSGRAPH_NOTIFICATION_URL: required when FRONTDESK_MSGRAPH_TENANT_ID is set",
				"FRONTDESK_MSGRAPH_CLIENT_ID", "FRONTDESK_MSGRAPH_CLIENT_SECRET", "FRONTDESK_MSGRAPH_NOTIFICATION_URL")
		}
		if c.EHRKind != "" && (c.EHRURL == "" || c.EHRToken == "") {
			require("FRONTDESK_EHR_URL and FRONTDESK_EHR_TOKEN: required when FRONTDESK_EHR is set", "FRONTDESK_EHR_URL", "FRONTDESK_EHR_TOKEN")
		}
		if c.EHRKind == "medirecords" && (c.EHRPracticeID == "" || c.EHRTimeZone == "") {
			require("FRONTDESK_EHR_PRACTICE_ID and FRONTDESK_EHR_TIME_ZONE: required for medirecords", "FRONTDESK_EHR_PRACTICE_ID", "FRONTDESK_EHR_TIME_ZONE")
		}
		if c.SMSAccountSID != "" && (c.SMSAuthToken == "" || c.SMSFrom == "") {
			require("FRONTDESK_SMS_ACCOUNT_SID is set: FRONTDESK_SMS_AUTH_TOKEN and FRONTDESK_SMS_FROM are required too")
		}
	}
	if c.DefaultPageSize > c.MaxPageSize && !bad["FRONTDESK_DEFAULT_PAGE_SIZE"] && !bad["FRONTDESK_MAX_PAGE_SIZE"] {
		problems = append(problems, fmt.Sprintf("FRONTDESK_DEFAULT_PAGE_SIZE=%d: must not exceed FRONTDESK_MAX_PAGE_SIZE (%d)", c.DefaultPageSize, c.MaxPageSize))
	}
	if cmd.needs(needBackupStore) && c.BackupStore == "s3" && c.BackupS3Bucket == "" && c.S3Bucket == "" {
		require("FRONTDESK_BACKUP_STORE=s3: needs FRONTDESK_BACKUP_S3_BUCKET or FRONTDESK_S3_BUCKET")
	}
	if cmd.needs(needBootstrap) && (c.BootstrapAdminEmail == "") != (c.BootstrapAdminPasswordFile == "") {
		require("FRONTDESK_BOOTSTRAP_ADMIN_EMAIL and FRONTDESK_BOOTSTRAP_ADMIN_PASSWORD_FILE: set both or neither",
			"FRONTDESK_BOOTSTRAP_ADMIN_EMAIL", "FRONTDESK_BOOTSTRAP_ADMIN_PASSWORD_FILE")
	}
	if cmd.needs(needDemo) && prod {
		require("FRONTDESK_ENV=production: frontdesk "+string(cmd)+" writes demo data and publicly known demo passwords, and never runs in production", "FRONTDESK_ENV")
	}
	if c.Env == Production && c.WebhookAllowPrivate {
		problems = append(problems, "FRONTDESK_WEBHOOK_ALLOW_PRIVATE: refused in production (webhooks must not reach internal addresses)")
	}
	if c.OrderURL == "" {
		c.OrderURL = c.AppURL + "/orders/%s"
	}
	if c.BookingSecret == "" {
		if prod && cmd.needs(needBooking) {
			require("FRONTDESK_BOOKING_SECRET is required in production", "FRONTDESK_BOOKING_SECRET")
		}
		if !prod {
			c.BookingSecret = developmentBookingSecret
		}
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return c, nil
}

// MetricsOff as FRONTDESK_METRICS_ADDR serves /metrics nowhere. It is the
// production default when no token is set either: a deployment that
// forgets both publishes nothing, rather than its metrics on the public
// port, and a default port of its own would collide between processes on
// one host (two API instances and a worker).
const MetricsOff = "off"

// developmentBookingSecret signs manage links in development only; it is
// public, so production refuses to start without its own.
const developmentBookingSecret = "frontdesk-development-booking-secret-not-for-production"

// Embedded reports whether the embedded SQLite store is in use.
func (c *Config) Embedded() bool { return c.DatabaseURL == "" }

// SQLitePath is the embedded database file.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "frontdesk.db") }

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return strings.TrimSpace(v), v != ""
}

func boolVar(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("expected true or false")
		}
		*field(c) = b
		return nil
	}
}

// optBoolVar accepts an empty value, meaning "use the environment's default".
func optBoolVar(field func(*Config) *bool) func(*Config, string) error {
	set := boolVar(field)
	return func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		return set(c, v)
	}
}

func durationVar(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("expected a positive duration such as 500ms, 10s or 2m")
		}
		*field(c) = d
		return nil
	}
}

func budgetVar(field func(*Config) *ratelimit.Budget) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := ratelimit.ParseBudget(v)
		if err != nil {
			return err
		}
		*field(c) = b
		return nil
	}
}

func intVar(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return errors.New("expected a positive whole number")
		}
		*field(c) = n
		return nil
	}
}

func int64Var(field func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return errors.New("expected a positive whole number of bytes")
		}
		*field(c) = n
		return nil
	}
}

// parsePrefixes reads comma-separated IP addresses and CIDR ranges; a bare
// address becomes a single-address range.
func parsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, err
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
