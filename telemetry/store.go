package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// storeCollector reports what is in the database rather than what this
// process did: outbox jobs waiting, running and dead, how late the oldest
// due job is, and the Microsoft Graph subscriptions. The owners of those
// tables (outbox, calendarsync) read them; the collector asks them when
// scraped, at most once per ttl however many scrapers ask, so a scrape
// never costs more than a handful of indexed queries.
type storeCollector struct {
	src StoreSources
	ttl time.Duration
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	at      time.Time
	metrics []prometheus.Metric
}

var (
	jobsDesc = prometheus.NewDesc("frontdesk_outbox_jobs",
		"Outbox jobs by kind and state (PENDING, RUNNING, DEAD), across all replicas.", []string{"kind", "state"}, nil)
	oldestDueDesc = prometheus.NewDesc("frontdesk_outbox_oldest_due_job_age_seconds",
		"How long the oldest due PENDING job has been due (0 when none is): grows when workers are down or behind.", nil, nil)
	subscriptionsDesc = prometheus.NewDesc("frontdesk_calendar_subscriptions",
		"Microsoft Graph change-notification subscriptions by state (PENDING, ACTIVE, FAILING).", []string{"state"}, nil)
	nextExpiryDesc = prometheus.NewDesc("frontdesk_calendar_subscription_next_expiry_timestamp_seconds",
		"When the first ACTIVE or FAILING Graph subscription expires (Unix time); absent when there is none. Renewal keeps it well ahead of now.", nil, nil)
	storeUpDesc = prometheus.NewDesc("frontdesk_store_stats_up",
		"1 when the last database statistics query succeeded, 0 when it failed (the job and subscription series are then missing).", nil, nil)
)

// JobStats is what the outbox reports about its jobs.
type JobStats struct {
	// Counts has one entry per kind and state (PENDING, RUNNING, DEAD),
	// zero for a registered kind without jobs, so an alert on DEAD jobs
	// always has a series to compare.
	Counts map[JobKey]int
	// OldestDue is when the oldest due PENDING job became due; zero when
	// none is due.
	OldestDue time.Time
}

// JobKey names a series of frontdesk_outbox_jobs.
type JobKey struct{ Kind, State string }

// SubscriptionStats is what calendar sync reports about its Graph
// change-notification subscriptions.
type SubscriptionStats struct {
	// ByState counts subscriptions by state (PENDING, ACTIVE, FAILING).
	ByState map[string]int
	// NextExpiry is when the first ACTIVE or FAILING subscription
	// expires; zero when there is none.
	NextExpiry time.Time
}

// StoreSources are the functions of the packages that own the tables
// the collector reports on.
type StoreSources struct {
	Jobs          func(context.Context) (JobStats, error)
	Subscriptions func(context.Context) (SubscriptionStats, error)
}

// CollectStore registers the database statistics collector.
func (t *Telemetry) CollectStore(src StoreSources, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	t.Registry.MustRegister(&storeCollector{src: src, ttl: t.storeTTL, log: log, now: time.Now})
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- oldestDueDesc
	ch <- subscriptionsDesc
	ch <- nextExpiryDesc
	ch <- storeUpDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.metrics == nil || c.now().Sub(c.at) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		ms, err := c.query(ctx)
		cancel()
		if err != nil {
			c.log.Warn("database statistics for /metrics failed", "error", err.Error())
			ms = []prometheus.Metric{prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 0)}
		}
		c.metrics, c.at = ms, c.now()
	}
	for _, m := range c.metrics {
		ch <- m
	}
}

func (c *storeCollector) query(ctx context.Context) ([]prometheus.Metric, error) {
	jobs, err := c.src.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	var out []prometheus.Metric
	for k, n := range jobs.Counts {
		out = append(out, prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), k.Kind, k.State))
	}
	age := 0.0
	if !jobs.OldestDue.IsZero() {
		age = max(c.now().Sub(jobs.OldestDue).Seconds(), 0)
	}
	out = append(out, prometheus.MustNewConstMetric(oldestDueDesc, prometheus.GaugeValue, age))

	subs, err := c.src.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	for s, n := range subs.ByState {
		out = append(out, prometheus.MustNewConstMetric(subscriptionsDesc, prometheus.GaugeValue, float64(n), s))
	}
	if !subs.NextExpiry.IsZero() {
		out = append(out, prometheus.MustNewConstMetric(nextExpiryDesc, prometheus.GaugeValue, float64(subs.NextExpiry.Unix())))
	}
	out = append(out, prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 1))
	return out, nil
}
