package app

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"frontdesk/cache"
	"frontdesk/events"
)

// openRedis connects the shared cache and the event bus to Redis, with the
// configured deadlines and circuit breaker, or builds their in-process
// versions when no Redis is configured. The breaker's changes of state
// reach the parts that catch up after an outage (replayed credential
// invalidations, the event bus's resync broadcast).
func (a *App) openRedis(ctx context.Context) error {
	cfg := a.Config
	if cfg.RedisURL == "" {
		mem := cache.NewMemoryBytes(cfg.MemoryCacheBytes)
		a.Cache = mem
		a.Events = events.NewMemory()
		a.collectEvents()
		a.Telemetry.Registry.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "frontdesk_memory_cache_bytes",
				Help: "Bytes the in-process cache holds (keys, values and a fixed overhead per entry); at most FRONTDESK_MEMORY_CACHE_BYTES."},
				func() float64 { return float64(mem.Bytes()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "frontdesk_memory_cache_evictions_total",
				Help: "Unexpired entries the in-process cache dropped, least recently used first, to stay under its cap."},
				func() float64 { return float64(mem.Evictions()) }),
		)
		return nil
	}
	r, err := cache.OpenRedis(ctx, cfg.RedisURL, cache.Options{
		Prefix:       cfg.RedisPrefix,
		DialTimeout:  cfg.RedisDialTimeout,
		ReadTimeout:  cfg.RedisReadTimeout,
		WriteTimeout: cfg.RedisWriteTimeout,
		PoolTimeout:  cfg.RedisPoolTimeout,
		Breaker:      cache.BreakerOptions{Failures: cfg.RedisBreakerFailures, Probe: cfg.RedisBreakerProbe, Log: a.Log},
	})
	if err != nil {
		return err
	}
	a.Cache, a.redis = r, r
	bus, err := events.NewRedis(ctx, r.Client(), cfg.RedisPrefix)
	if err != nil {
		return err
	}
	bus.SetLog(a.Log)
	a.Events = bus
	a.collectEvents()
	b := r.Breaker()
	stat := func(f func(cache.BreakerStats) float64) func() float64 { return func() float64 { return f(b.Stats()) } }
	a.Telemetry.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "frontdesk_redis_up",
			Help: "1 while this process's Redis circuit breaker is closed (Redis answers), 0 while it is open and Redis calls fail fast."},
			stat(func(s cache.BreakerStats) float64 {
				if s.Open {
					return 0
				}
				return 1
			})),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "frontdesk_redis_breaker_transitions_total",
			Help: "Changes of state of the Redis circuit breaker, by the state entered.", ConstLabels: prometheus.Labels{"state": "open"}},
			stat(func(s cache.BreakerStats) float64 { return float64(s.Opened) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "frontdesk_redis_breaker_transitions_total",
			Help: "Changes of state of the Redis circuit breaker, by the state entered.", ConstLabels: prometheus.Labels{"state": "closed"}},
			stat(func(s cache.BreakerStats) float64 { return float64(s.Closed) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "frontdesk_redis_call_failures_total",
			Help: "Redis calls that timed out or found Redis unreachable (these open the breaker)."},
			stat(func(s cache.BreakerStats) float64 { return float64(s.Failures) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "frontdesk_redis_calls_rejected_total",
			Help: "Redis calls refused at once by the open circuit breaker and served by a fallback."},
			stat(func(s cache.BreakerStats) float64 { return float64(s.Rejected) })),
	)
	return nil
}

// catchUpAfterRedis has the parts that owe Redis something after an
// outage catch up when the breaker closes. New calls it once they exist.
func (a *App) catchUpAfterRedis() {
	if a.redis == nil {
		return
	}
	bus, _ := a.Events.(*events.Redis)
	ident := a.Identity
	a.redis.Breaker().Notify(func(open bool) {
		if open {
			return
		}
		if bus != nil {
			bus.Recovered(context.Background())
		}
		ident.Recovered(context.Background())
	})
}

// collectEvents exports the event bus's counters.
func (a *App) collectEvents() {
	bus := a.Events
	a.Telemetry.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "frontdesk_events_publish_failed_total",
			Help: "Events Redis did not take: delivered to this replica's subscribers only; the other replicas are told to resync when Redis is back."},
			func() float64 { return float64(bus.Stats().PublishFailed) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "frontdesk_events_resyncs_total",
			Help: "Times this replica told its subscribers they may have missed events (the next payload carries extensions.resync)."},
			func() float64 { return float64(bus.Stats().Resyncs) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "frontdesk_events_dropped_total",
			Help: "Events not delivered because a subscriber's buffer was full (it gets a resync instead)."},
			func() float64 { return float64(bus.Stats().Dropped) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "frontdesk_events_overflows_total",
			Help: "Times a subscriber fell behind a burst: its buffered events were dropped for a resync (extensions.resync)."},
			func() float64 { return float64(bus.Stats().Overflowed) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "frontdesk_events_disconnected_total",
			Help: "Subscriptions ended because not even a resync fitted in their buffer."},
			func() float64 { return float64(bus.Stats().Disconnected) }),
	)
}
