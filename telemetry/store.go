package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"frontdesk/ent"
	"frontdesk/ent/calendarsubscription"
	"frontdesk/ent/job"
)

// storeCollector reports what is in the database rather than what this
// process did: outbox jobs waiting, running and dead, how late the oldest
// due job is, and the Microsoft Graph subscriptions. It runs a handful of
// indexed queries (one grouped COUNT for the jobs) when scraped, at most
// once per ttl however many scrapers ask, so a scrape never costs more
// than that.
type storeCollector struct {
	client *ent.Client
	kinds  []string
	ttl    time.Duration
	log    *slog.Logger
	now    func() time.Time

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

// jobStates are the states whose counts are exported. SUCCEEDED and
// CANCELLED only grow until pruned, and counting them is not cheap.
var jobStates = []job.State{job.StatePENDING, job.StateRUNNING, job.StateDEAD}

// CollectStore registers the database statistics collector: kinds are
// the registered job kinds, reported as 0 when they have no jobs, so an
// alert on DEAD jobs has a series to compare.
func (t *Telemetry) CollectStore(client *ent.Client, kinds []string, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	t.Registry.MustRegister(&storeCollector{client: client, kinds: kinds, ttl: t.storeTTL, log: log, now: time.Now})
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
	now := c.now().UTC()
	var rows []struct {
		Kind  string    `json:"kind"`
		State job.State `json:"state"`
		Count int       `json:"count"`
	}
	if err := c.client.Job.Query().Where(job.StateIn(jobStates...)).
		GroupBy(job.FieldKind, job.FieldState).Aggregate(ent.Count()).Scan(ctx, &rows); err != nil {
		return nil, err
	}
	counts := map[[2]string]int{}
	for _, k := range c.kinds {
		for _, s := range jobStates {
			counts[[2]string{k, string(s)}] = 0
		}
	}
	for _, r := range rows {
		counts[[2]string{r.Kind, string(r.State)}] = r.Count
	}
	var out []prometheus.Metric
	for ks, n := range counts {
		out = append(out, prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), ks[0], ks[1]))
	}

	// The (state, run_at) index answers this with one row read.
	oldest, err := c.client.Job.Query().
		Where(job.StateEQ(job.StatePENDING), job.RunAtLTE(now.Truncate(time.Microsecond))).
		Order(job.ByRunAt()).Select(job.FieldRunAt).First(ctx)
	age := 0.0
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return nil, err
	default:
		age = max(now.Sub(oldest.RunAt).Seconds(), 0)
	}
	out = append(out, prometheus.MustNewConstMetric(oldestDueDesc, prometheus.GaugeValue, age))

	// One subscription per synced mailbox: a few rows at most.
	subs, err := c.client.CalendarSubscription.Query().
		Select(calendarsubscription.FieldState, calendarsubscription.FieldExpiresAt).All(ctx)
	if err != nil {
		return nil, err
	}
	byState := map[calendarsubscription.State]int{
		calendarsubscription.StatePENDING: 0, calendarsubscription.StateACTIVE: 0, calendarsubscription.StateFAILING: 0,
	}
	var next *time.Time
	for _, s := range subs {
		byState[s.State]++
		if s.State != calendarsubscription.StatePENDING && s.ExpiresAt != nil && (next == nil || s.ExpiresAt.Before(*next)) {
			next = s.ExpiresAt
		}
	}
	for s, n := range byState {
		out = append(out, prometheus.MustNewConstMetric(subscriptionsDesc, prometheus.GaugeValue, float64(n), string(s)))
	}
	if next != nil {
		out = append(out, prometheus.MustNewConstMetric(nextExpiryDesc, prometheus.GaugeValue, float64(next.Unix())))
	}
	out = append(out, prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 1))
	return out, nil
}
