// Package app wires one Frontdesk process together: configuration, the
// store, the cache, the GraphQL schema and the HTTP server. The binary and
// the end-to-end tests build the process the same way through New.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"entgo.io/ent/dialect"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"go.opentelemetry.io/otel/trace"

	"frontdesk/backup"
	"frontdesk/booking"
	"frontdesk/cache"
	"frontdesk/calendarsync"
	"frontdesk/catalog"
	"frontdesk/commerce"
	"frontdesk/config"
	"frontdesk/database"
	"frontdesk/documents"
	"frontdesk/ehrsync"
	"frontdesk/ent"
	"frontdesk/events"
	"frontdesk/graph"
	"frontdesk/identity"
	"frontdesk/integrations/ehr"
	"frontdesk/integrations/mail"
	"frontdesk/integrations/msgraph"
	"frontdesk/integrations/sms"
	"frontdesk/integrations/storage"
	"frontdesk/integrations/stripe"
	"frontdesk/notify"
	"frontdesk/outbox"
	"frontdesk/payments"
	"frontdesk/requestid"
	"frontdesk/server"
	"frontdesk/telemetry"
	"frontdesk/webhooks"
)

// Options are extra hooks for tests.
type Options struct {
	// Extensions are added to the GraphQL server (fault injection).
	Extensions []graphql.HandlerExtension
	// Driver wraps the database driver (query counting).
	Driver func(dialect.Driver) dialect.Driver
	// Now is the rate limiter's clock (nil: time.Now).
	Now func() time.Time
	// TracerProvider replaces the one built from OTEL_* variables
	// (tests record spans in memory).
	TracerProvider trace.TracerProvider
}

// App is one running Frontdesk process.
type App struct {
	Config *config.Config
	Log    *slog.Logger
	DB     *database.DB
	Cache  cache.Store
	Server *server.Server
	// Identity runs accounts, sessions and API keys.
	Identity *identity.Service
	// Jobs holds the handler of every outbox job kind; Worker runs them
	// (inside serve unless FRONTDESK_WORKERS=false, or alone in
	// `frontdesk worker`).
	Jobs   *outbox.Registry
	Worker *outbox.Worker
	// Notify sends the mail and SMS jobs that domain code enqueues with
	// notify.Email / notify.SMS.
	Notify *notify.Service
	// Events carries domain events to subscriptions on every replica.
	Events events.Bus
	// Payments is Stripe, or the development gateway when no key is set;
	// Webhooks routes provider events to the domain handlers.
	Payments payments.Gateway
	Webhooks *payments.Webhooks
	// Booking is the appointment book.
	Booking *booking.Engine
	// Calendar syncs practitioners' Outlook calendars (a no-op sink when
	// Graph is not configured).
	Calendar *calendarsync.Sync
	// EHR pushes patients and appointments to MediRecords or a FHIR
	// server (a no-op sink when FRONTDESK_EHR is empty).
	EHR *ehrsync.Sync
	// Catalog is the catalog service (seeding and benchmarks use it).
	Catalog *catalog.Service
	// Commerce runs carts, checkout and orders; its payment handlers are
	// registered on Webhooks and its jobs (refunds, reservation expiry)
	// on Jobs.
	Commerce *commerce.Service
	// Backup makes and restores backups; the worker runs it on
	// FRONTDESK_BACKUP_SCHEDULE.
	Backup *backup.Service
	// Outgoing sends events to partners' webhook endpoints
	// (docs/webhooks.md).
	Outgoing *webhooks.Service
	// Documents holds the trusted documents clients send by id.
	Documents *documents.Store
	// Telemetry holds the metrics registry and tracing (see
	// docs/operations.md#monitoring).
	Telemetry *telemetry.Telemetry
	media     storage.Store
	// redis is the Redis store behind Cache (nil without Redis).
	redis *cache.Redis
}

// NewLogger returns the JSON logger every component writes to; records
// logged with a request context carry its request id.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // config has validated the level
	return slog.New(telemetry.LogHandler{Handler: requestid.LogHandler{Handler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})}})
}

// New opens the store and cache, applies migrations unless switched off,
// and builds the server.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) (_ *App, err error) {
	a := &App{Config: cfg, Log: log}
	defer func() {
		if err != nil {
			err = errors.Join(err, a.Close())
		}
	}()
	a.Telemetry, err = telemetry.Setup(ctx, telemetry.Options{TracerProvider: opts.TracerProvider, Log: log})
	if err != nil {
		return a, err
	}
	a.DB, err = database.Open(ctx, cfg.DatabaseURL, cfg.SQLitePath(), database.Options{Driver: opts.Driver})
	if err != nil {
		return a, err
	}
	if cfg.MigrateOnStart {
		applied, err := a.DB.Migrate(ctx)
		if err != nil {
			return a, err
		}
		if len(applied) > 0 {
			log.Info("applied migrations", "versions", applied)
		}
	}
	if err := a.openRedis(ctx); err != nil {
		return a, err
	}
	ready := map[string]server.Pinger{"database": a.DB}
	degradable := map[string]server.Pinger{}
	if a.redis != nil {
		// Redis only accelerates: the replica stays ready without it.
		degradable["redis"] = a.redis
	}

	// Integrations: clients of outside services. None of them needs a
	// domain, so each builder takes only configuration and returns what
	// it builds.
	if a.Payments, a.Webhooks, err = newPayments(cfg, a.DB.Client, a.Telemetry, log); err != nil {
		return a, err
	}
	if a.Notify, err = newNotify(cfg, a.DB.Client, a.Telemetry, log); err != nil {
		return a, err
	}
	graphClient := newGraphClient(cfg, a.Telemetry)
	ehrClient, err := newEHRClient(cfg, a.Telemetry)
	if err != nil {
		return a, err
	}
	if a.media, err = openStorage(ctx, cfg); err != nil {
		return a, err
	}
	if a.Backup, err = newBackup(cfg, a.DB, log); err != nil {
		return a, err
	}

	// Domains, in dependency order: a domain is built after everything it
	// is given. Each registers its outbox jobs on the one registry.
	a.Jobs = outbox.NewRegistry()
	outbox.RegisterPrune(a.Jobs, a.DB.Client, cfg.JobRetention)
	a.Notify.Register(a.Jobs)
	// Outgoing webhooks come before the domains that raise their events.
	a.Outgoing = newWebhooks(cfg, a.DB.Client, a.Jobs, log)
	a.Calendar = newCalendar(cfg, a.DB.Client, graphClient, a.Telemetry, log)
	a.Calendar.Register(a.Jobs)
	a.EHR = ehrsync.New(a.DB.Client, ehrClient, log)
	a.EHR.Register(a.Jobs)
	if err := registerBackup(a.Jobs, cfg, a.Backup); err != nil {
		return a, err
	}
	// Booking tells calendar sync, the EHR and subscribers about each
	// change, so it comes after the first two.
	a.Booking = booking.New(a.DB.Client, booking.Options{
		Payments:       booking.GatewayPayments{Gateway: a.Payments},
		HoldTTL:        cfg.BookingHold,
		MaxActiveHolds: cfg.BookingMaxHolds,
		// Anonymous holds are capped per client network, which the
		// identity middleware records on every request.
		MaxAnonymousHolds: cfg.BookingMaxAnonymousHolds,
		ManageKey:         []byte(cfg.BookingSecret),
		Changes:           booking.Sinks{a.Calendar, a.EHR, appointmentEvents{}, booking.EventSink{Bus: a.Events}},
		// The availability version lives with the catalog's, in Redis
		// when configured, so every replica's cached calendars retire on
		// any replica's write.
		Cache: a.Cache,
	})
	a.Booking.EnableNotifications(booking.NotifyOptions{AppURL: cfg.AppURL, Reminders: cfg.BookingReminders,
		Organizer: cfg.MailFrom, Log: log}).Register(a.Jobs)
	a.Booking.RegisterPayments(a.Webhooks, a.Jobs)
	booking.RegisterJobs(a.Jobs, a.Booking)
	a.Catalog = catalog.New(a.DB.Client, a.DB.Dialect, a.Cache, log, catalog.Options{
		TaxRateBPS:             cfg.TaxRateBPS,
		DisableResponseCache:   !cfg.ResponseCache,
		SearchIndexMaxProducts: searchIndexMax(cfg.SearchIndexMaxProducts),
		Storage:                a.media,
		Media: catalog.MediaOptions{
			MaxImageBytes:       cfg.MaxImageBytes,
			MaxImagesPerProduct: cfg.MaxImagesPerProduct,
		},
	})
	catalog.RegisterJobs(a.Jobs, a.Catalog)
	a.Commerce = commerce.New(a.DB.Client, a.Catalog, a.Payments, a.Events, log,
		commerce.Options{ReservationTTL: cfg.OrderReservation, OrderURL: cfg.OrderURL})
	a.Commerce.Register(a.Jobs)
	a.Commerce.RegisterWebhooks(a.Webhooks)
	if dev, ok := a.Payments.(*payments.Development); ok {
		// settleDevelopmentPayment finds intents created before a restart
		// or by another replica in the rows that carry them.
		dev.AddFinder(a.Commerce.DevelopmentIntent)
		dev.AddFinder(a.Booking.DevelopmentIntent)
	}
	// Verification and reset mail goes through the outbox like every other
	// message (and into sentMessages in development).
	a.Identity, err = identity.New(a.DB.Client, a.Cache, notify.IdentityMailer{Client: a.DB.Client}, log, identity.Options{
		SessionLifetime: cfg.SessionLifetime,
		IdleTimeout:     cfg.SessionIdleTimeout,
		AccountAttempts: int64(cfg.SignInAttempts),
		IPAttempts:      int64(cfg.SignInIPAttempts),
		AppURL:          cfg.AppURL,
		// Development on plain http://localhost needs a non-Secure cookie;
		// HTTPS requests always get a Secure one.
		SecureCookies:  cfg.Env != config.Development,
		TrustedProxies: cfg.TrustedProxies,
	})
	if err != nil {
		return a, err
	}
	// A patient's changed profile is queued for the EHR in its transaction.
	a.Identity.OnProfileChange(a.EHR)
	a.Identity.OnCustomerCreated(customerEvents{})
	a.Documents = documents.NewStore(a.DB.Client)
	a.registerRetention()

	// The worker comes after every job kind is registered, so
	// FRONTDESK_WORKER_CONCURRENCY can name any of them.
	if a.Worker, err = newWorker(cfg, a.DB, a.Jobs, a.Telemetry, log); err != nil {
		return a, err
	}

	// The server, over the domains.
	// Every domain's view rules apply to every field of every operation on
	// it; a type without a rule stops start-up here.
	schema, err := graph.NewSchema(&graph.Resolver{Client: a.DB.Client, Events: a.Events, Booking: a.Booking, Catalog: a.Catalog, Calendar: a.Calendar, EHR: a.EHR, Identity: a.Identity, Commerce: a.Commerce, Webhooks: a.Outgoing, Documents: a.Documents})
	if err != nil {
		return a, err
	}
	// Webhook payload documents run on the same schema, limits and loaders.
	loaders := []graphql.HandlerExtension{graph.CatalogLoaders{Catalog: a.Catalog, Schema: schema}, graph.BookingLoaders{Booking: a.Booking}}
	a.Outgoing.SetShaper(graph.NewWebhookShaper(graph.Complexity{ExecutableSchema: schema, DefaultPageSize: cfg.DefaultPageSize},
		append(loaders, graph.Limits{Document: graph.DocumentLimits{MaxFields: cfg.MaxFields, MaxFragments: cfg.MaxFragments,
			MaxInlineFragments: cfg.MaxInlineFragments, MaxDirectives: cfg.MaxDirectives, MaxVariableValues: cfg.MaxVariableValues,
			MaxAliases: cfg.MaxAliases, MaxDepth: cfg.MaxDepth, MaxOperations: 1, MaxTokens: cfg.MaxTokens},
			MaxPageSize: cfg.MaxPageSize, OperationTimeout: cfg.OperationTimeout}, extension.FixedComplexityLimit(cfg.MaxComplexity))...))
	a.Server = server.New(server.Deps{
		Config:     cfg,
		Log:        log,
		Schema:     schema,
		Cache:      a.Cache,
		SQL:        a.DB.SQL,
		Ready:      ready,
		Degradable: degradable,
		Extensions: append([]graphql.HandlerExtension{graph.CatalogLoaders{Catalog: a.Catalog, Schema: schema}, graph.BookingLoaders{Booking: a.Booking}}, opts.Extensions...),
		Routes:     a.routes,
		Identity:   a.Identity,
		Now:        opts.Now,
		Telemetry:  a.Telemetry,
		Documents:  a.Documents,
	})
	kinds := a.Jobs.Names()
	a.Telemetry.CollectStore(telemetry.StoreSources{
		Jobs: func(ctx context.Context) (telemetry.JobStats, error) {
			return outbox.Stats(ctx, a.DB.Client, kinds, time.Now())
		},
		Subscriptions: a.Calendar.SubscriptionStats,
	}, log)
	a.catchUpAfterRedis()
	return a, nil
}

// newPayments picks the payment gateway: Stripe when a key is set, the
// development gateway otherwise (refused in production), and one that
// refuses every call for commands that take no payments. The webhooks
// router it returns is where domains register their payment handlers.
func newPayments(cfg *config.Config, client *ent.Client, tel *telemetry.Telemetry, log *slog.Logger) (payments.Gateway, *payments.Webhooks, error) {
	webhooks := payments.NewWebhooks(client, log)
	if !cfg.TakesPayments() {
		return payments.NoGateway{}, webhooks, nil
	}
	if cfg.StripeSecretKey != "" {
		return stripe.NewWithClient(cfg.StripeSecretKey, cfg.StripeAPIURL, tel.HTTPClient("stripe", 80*time.Second)), webhooks, nil
	}
	dev, err := payments.NewDevelopment(cfg.Env == config.Production, webhooks)
	if err != nil {
		return nil, nil, err
	}
	log.Warn("no FRONTDESK_STRIPE_SECRET_KEY: using the development payment gateway, which takes no money")
	return dev, webhooks, nil
}

// newNotify builds the mail and SMS sender: templates, SMTP when
// configured (otherwise mail is only logged and listed), Twilio when
// configured.
func newNotify(cfg *config.Config, client *ent.Client, tel *telemetry.Telemetry, log *slog.Logger) (*notify.Service, error) {
	templates, err := mail.NewTemplates(cfg.MailTemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("mail templates (FRONTDESK_MAIL_TEMPLATES_DIR): %w", err)
	}
	n := &notify.Service{Client: client, Templates: templates, From: cfg.MailFrom,
		MaxSegments: cfg.SMSMaxSegments, Log: log}
	if cfg.SMTPURL != "" {
		if n.SMTP, err = mail.ParseSMTPURL(cfg.SMTPURL); err != nil {
			return nil, fmt.Errorf("FRONTDESK_SMTP_URL: %w", err)
		}
		n.SMTP.Observe = func(code string, d time.Duration) { tel.Metrics.Outbound("smtp", code, d) }
	} else if cfg.Env == config.Production {
		log.Warn("FRONTDESK_SMTP_URL is empty: mail is only logged and listed in sentMessages, not sent")
	}
	if cfg.SMSAccountSID != "" {
		n.SMS = &sms.Twilio{BaseURL: cfg.SMSAPIURL, AccountSID: cfg.SMSAccountSID, AuthToken: cfg.SMSAuthToken,
			From: cfg.SMSFrom, StatusCallback: cfg.SMSStatusCallback, HTTP: tel.HTTPClient("sms", 30*time.Second)}
	}
	return n, nil
}

// newGraphClient returns the Microsoft Graph client, or nil when Graph is
// not configured (calendar sync is then a no-op sink).
func newGraphClient(cfg *config.Config, tel *telemetry.Telemetry) *msgraph.Client {
	if cfg.MSGraphTenantID == "" {
		return nil
	}
	return msgraph.New(msgraph.Config{TenantID: cfg.MSGraphTenantID, ClientID: cfg.MSGraphClientID,
		ClientSecret: cfg.MSGraphClientSecret, LoginURL: cfg.MSGraphLoginURL, GraphURL: cfg.MSGraphAPIURL,
		HTTP: tel.HTTPClient("msgraph", 30*time.Second)})
}

// newCalendar sets up Outlook calendar sync over the Graph client (nil:
// a no-op sink).
func newCalendar(cfg *config.Config, client *ent.Client, g *msgraph.Client, tel *telemetry.Telemetry, log *slog.Logger) *calendarsync.Sync {
	return calendarsync.New(client, g, calendarsync.Options{
		NotificationURL: cfg.MSGraphNotificationURL,
		Horizon:         cfg.CalendarHorizon,
		InviteAttendee:  cfg.CalendarInvitePatient,
		Log:             log,
		Metrics:         tel.Metrics,
	})
}

// newEHRClient picks the EHR client; nil when FRONTDESK_EHR is empty
// (EHR sync is then a no-op sink).
func newEHRClient(cfg *config.Config, tel *telemetry.Telemetry) (ehr.EHR, error) {
	switch cfg.EHRKind {
	case "medirecords":
		loc, err := time.LoadLocation(cfg.EHRTimeZone)
		if err != nil {
			return nil, fmt.Errorf("FRONTDESK_EHR_TIME_ZONE: %w", err)
		}
		return ehr.NewMediRecords(cfg.EHRURL, cfg.EHRToken, cfg.EHRPracticeID, loc, tel.HTTPClient("ehr", 30*time.Second)), nil
	case "fhir":
		return ehr.NewFHIR(cfg.EHRURL, cfg.EHRToken, tel.HTTPClient("ehr", 30*time.Second)), nil
	}
	return nil, nil
}

// routes mounts the HTTP endpoints that are not GraphQL.
func (a *App) routes(mux *http.ServeMux) {
	if a.Calendar.Enabled() {
		mux.Handle("POST /webhooks/msgraph", a.Calendar.Handler())
	}
	if h, ok := a.media.(http.Handler); ok {
		// Local media storage serves its files; S3 serves its own.
		mux.Handle("GET /media/", http.StripPrefix("/media/", h))
	}
	if a.Config.StripeSecretKey != "" {
		mux.Handle("POST /webhooks/stripe", stripe.WebhookHandler{
			Secret:    a.Config.StripeWebhookSecret,
			Tolerance: a.Config.StripeWebhookTolerance,
			Webhooks:  a.Webhooks,
			Log:       a.Log,
			Metrics:   a.Telemetry.Metrics,
		})
	}
}

// newWorker applies FRONTDESK_WORKER_CONCURRENCY to the registered job
// kinds and creates the worker that runs them.
func newWorker(cfg *config.Config, db *database.DB, jobs *outbox.Registry, tel *telemetry.Telemetry, log *slog.Logger) (*outbox.Worker, error) {
	for kind, n := range cfg.WorkerConcurrency {
		if err := jobs.SetConcurrency(kind, n); err != nil {
			return nil, fmt.Errorf("FRONTDESK_WORKER_CONCURRENCY: %w", err)
		}
	}
	return outbox.NewWorker(db.Client, jobs, outbox.Options{
		Dialect:       db.Dialect,
		PollInterval:  cfg.WorkerPollInterval,
		ShutdownGrace: cfg.ShutdownTimeout,
		Log:           log,
		Metrics:       tel.Metrics,
		Tracer:        tel.Tracer("frontdesk/outbox"),
	}), nil
}

// RunWorker runs the outbox worker until ctx ends, then lets running jobs
// finish (or releases them) within the shutdown timeout.
func (a *App) RunWorker(ctx context.Context) error {
	a.Log.Info("worker running", "id", a.Worker.ID(), "database", a.DB.Dialect, "kinds", a.Jobs.Names())
	return a.Worker.Run(ctx)
}

// Listen opens the configured address.
func (a *App) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (FRONTDESK_ADDR): %w", a.Config.Addr, err)
	}
	return ln, nil
}

// Work runs the outbox worker alone (`frontdesk worker`), with its
// metrics on FRONTDESK_METRICS_ADDR when that is set.
func (a *App) Work(ctx context.Context) error {
	return a.withMetrics(ctx, a.RunWorker)
}

// withMetrics runs fn, and beside it the metrics listener when
// FRONTDESK_METRICS_ADDR names one; both stop when either fails.
func (a *App) withMetrics(ctx context.Context, fn func(context.Context) error) error {
	if a.Config.MetricsAddr == "" || a.Config.MetricsAddr == config.MetricsOff {
		if a.Config.MetricsAddr == config.MetricsOff {
			a.Log.Warn("/metrics is not served: set FRONTDESK_METRICS_ADDR (a listener of its own) or FRONTDESK_METRICS_TOKEN (bearer token on the main listener)")
		}
		return fn(ctx)
	}
	ln, err := net.Listen("tcp", a.Config.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (FRONTDESK_METRICS_ADDR): %w", a.Config.MetricsAddr, err)
	}
	a.Log.Info("serving metrics", "addr", ln.Addr().String(), "token", a.Config.MetricsToken != "")
	mctx, stop := context.WithCancel(ctx)
	defer stop()
	merr := make(chan error, 1)
	go func() {
		err := a.Server.ServeMetrics(mctx, ln)
		stop()
		merr <- err
	}()
	err = fn(mctx)
	stop()
	return errors.Join(err, <-merr)
}

// Serve runs the HTTP server on ln until ctx is cancelled.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	a.Log.Info("serving", "addr", ln.Addr().String(), "env", a.Config.Env,
		"database", a.DB.Dialect, "redis", a.Config.RedisURL != "", "playground", a.Config.Playground)
	return a.withMetrics(ctx, func(ctx context.Context) error { return a.serve(ctx, ln) })
}

func (a *App) serve(ctx context.Context, ln net.Listener) error {
	if !a.Config.Workers {
		return a.Server.Serve(ctx, ln)
	}
	// The worker stops with the server, also when the server fails on
	// its own before ctx ends.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	werr := make(chan error, 1)
	go func() { werr <- a.RunWorker(wctx) }()
	err := a.Server.Serve(ctx, ln)
	stop()
	return errors.Join(err, <-werr)
}

// Close releases the store and cache.
func (a *App) Close() error {
	var errs []error
	if a.Events != nil {
		errs = append(errs, a.Events.Close())
	}
	if a.Cache != nil {
		errs = append(errs, a.Cache.Close())
	}
	if a.DB != nil {
		errs = append(errs, a.DB.Close())
	}
	if a.Telemetry != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		errs = append(errs, a.Telemetry.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// registerRetention declares the nightly tasks that delete rows with no
// use once they end, in batches (docs/operations.md, "Data retention").
// They run after outbox.prune (03:17), a few minutes apart.
func (a *App) registerRetention() {
	cfg := a.Config
	outbox.RegisterRetention(a.Jobs, "identity.prune_sessions", "23 3 * * *", cfg.SessionRetention, a.Identity.SweepSessions)
	outbox.RegisterRetention(a.Jobs, "identity.prune_tokens", "27 3 * * *", cfg.TokenRetention, a.Identity.SweepTokens)
	outbox.RegisterRetention(a.Jobs, "payments.prune_webhook_events", "31 3 * * *", cfg.WebhookEventRetention, a.Webhooks.SweepWebhookEvents)
	outbox.RegisterRetention(a.Jobs, "commerce.prune_carts", "35 3 * * *", cfg.CartRetention, a.Commerce.SweepCarts)
}

// searchIndexMax is the configured bound of the search index as
// catalog.Options takes it: 0 there is the default, so "none" is -1.
func searchIndexMax(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
