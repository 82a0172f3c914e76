package cache

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable is returned, at once and without touching the network,
// for every Redis call made while the circuit breaker is open. Callers
// degrade on it (database, in-process fallbacks) and need not log it: the
// breaker logs each change of state once.
var ErrUnavailable = errors.New("redis is unavailable (circuit breaker open)")

// BreakerOptions tune a Breaker. Zero values take the defaults.
type BreakerOptions struct {
	// Failures is how many calls in a row must fail before the breaker
	// opens [3].
	Failures int
	// Probe is how often an open breaker tries Redis again in the
	// background [1s].
	Probe time.Duration
	// CallTimeout bounds each call as a whole (waiting for a pooled
	// connection, dialing, writing, reading), so the separate socket
	// deadlines cannot add up; zero leaves calls to those deadlines.
	CallTimeout time.Duration
	Log         *slog.Logger
}

// Breaker is a circuit breaker in front of one Redis client, installed as
// a go-redis Hook so every command and pipeline goes through it.
// While closed it passes calls through and counts consecutive failures
// (network errors and timeouts, not Redis replies such as a missing key);
// after Failures of them it opens. While open every call fails with
// ErrUnavailable at once, so a stalled or dead Redis costs requests
// nothing, and one goroutine pings Redis every Probe; the first answer
// closes it again. Each change of state is logged and reported to the
// functions given to Notify.
type Breaker struct {
	opts  BreakerOptions
	probe func(context.Context) error

	open        atomic.Bool
	consecutive atomic.Int64
	opened      atomic.Int64 // times it opened
	closed      atomic.Int64 // times it closed again
	rejected    atomic.Int64 // calls refused while open
	failures    atomic.Int64 // calls that failed on the network

	mu        sync.Mutex
	listeners []func(open bool)
	probing   bool
	stop      chan struct{}
	stopOnce  sync.Once
}

// NewBreaker returns a closed breaker. probe is the call that decides
// whether Redis is back (a PING through the same client: the breaker lets
// calls marked by the probe context through).
func NewBreaker(opts BreakerOptions) *Breaker {
	if opts.Failures <= 0 {
		opts.Failures = 3
	}
	if opts.Probe <= 0 {
		opts.Probe = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Breaker{opts: opts, stop: make(chan struct{})}
}

// BreakerStats are a breaker's counters since the process started.
type BreakerStats struct {
	Open     bool
	Opened   int64
	Closed   int64
	Rejected int64
	Failures int64
}

// Stats reports the breaker's state and counters.
func (b *Breaker) Stats() BreakerStats {
	return BreakerStats{Open: b.open.Load(), Opened: b.opened.Load(), Closed: b.closed.Load(),
		Rejected: b.rejected.Load(), Failures: b.failures.Load()}
}

// Open reports whether calls are being refused.
func (b *Breaker) Open() bool { return b != nil && b.open.Load() }

// Notify adds fn to the functions called (in their own goroutine, in
// order) on each change of state: open=true when Redis became unavailable,
// false when it answered again.
func (b *Breaker) Notify(fn func(open bool)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.listeners = append(b.listeners, fn)
}

// Close stops the background probe.
func (b *Breaker) Close() { b.stopOnce.Do(func() { close(b.stop) }) }

type probeKey struct{}

// isProbe reports whether ctx belongs to the breaker's own probe, which
// must reach Redis while the breaker is open.
func isProbe(ctx context.Context) bool { return ctx.Value(probeKey{}) != nil }

// Counted reports whether err says Redis could not be reached or did not
// answer in time. Replies from Redis (a missing key, a script error) and
// the caller giving up are not Redis's fault and do not count.
func Counted(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, ErrUnavailable) ||
		errors.Is(err, context.Canceled) || errors.Is(err, redis.ErrClosed) {
		return false
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		// Replies that mean "not serving" count; others (NOSCRIPT,
		// WRONGTYPE…) are answers.
		return redis.HasErrorPrefix(err, "LOADING") || redis.HasErrorPrefix(err, "CLUSTERDOWN") ||
			redis.HasErrorPrefix(err, "MASTERDOWN") || redis.HasErrorPrefix(err, "TRYAGAIN")
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// record notes the outcome of one call made while closed.
func (b *Breaker) record(err error) {
	if !Counted(err) {
		if err == nil || errors.Is(err, redis.Nil) {
			b.consecutive.Store(0)
		}
		return
	}
	b.failures.Add(1)
	if b.consecutive.Add(1) >= int64(b.opts.Failures) {
		b.trip(err)
	}
}

// trip opens the breaker (once) and starts the probe.
func (b *Breaker) trip(cause error) {
	if !b.open.CompareAndSwap(false, true) {
		return
	}
	b.opened.Add(1)
	b.opts.Log.Error("redis circuit breaker open: Redis calls fail fast; sessions, catalog and rate limits use the database and in-process fallbacks",
		"failures", b.opts.Failures, "error", cause.Error(), "probe", b.opts.Probe.String())
	b.changed(true)
	b.mu.Lock()
	start := !b.probing && b.probe != nil
	b.probing = b.probing || start
	b.mu.Unlock()
	if start {
		go b.probeLoop()
	}
}

// reset closes the breaker after a successful probe.
func (b *Breaker) reset() {
	b.consecutive.Store(0)
	if !b.open.CompareAndSwap(true, false) {
		return
	}
	b.closed.Add(1)
	b.opts.Log.Info("redis circuit breaker closed: Redis answers again")
	b.changed(false)
}

func (b *Breaker) changed(open bool) {
	b.mu.Lock()
	ls := append([]func(bool){}, b.listeners...)
	b.mu.Unlock()
	if len(ls) == 0 {
		return
	}
	go func() {
		for _, fn := range ls {
			fn(open)
		}
	}()
}

func (b *Breaker) probeLoop() {
	t := time.NewTicker(b.opts.Probe)
	defer t.Stop()
	defer func() {
		b.mu.Lock()
		b.probing = false
		b.mu.Unlock()
	}()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), probeKey{}, true), b.opts.Probe)
		err := b.probe(ctx)
		cancel()
		if err == nil {
			b.reset()
			return
		}
		b.opts.Log.Debug("redis probe failed", "error", err.Error())
	}
}

// DialHook implements redis.Hook. Dials are not refused while open:
// commands never get as far as dialing then, and go-redis's own dialers
// (its pool's recovery after failed dials, the pub/sub reconnect loop) run
// without the probe's mark, so refusing them would keep the pool from
// ever connecting again.
func (b *Breaker) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (b *Breaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if b.open.Load() && !isProbe(ctx) {
			b.rejected.Add(1)
			cmd.SetErr(ErrUnavailable)
			return ErrUnavailable
		}
		ctx, cancel := b.deadline(ctx)
		defer cancel()
		err := next(ctx, cmd)
		if !isProbe(ctx) {
			b.record(err)
		}
		return err
	}
}

// deadline gives a call the breaker's CallTimeout unless ctx ends sooner.
func (b *Breaker) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if b.opts.CallTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, b.opts.CallTimeout)
}

// ProcessPipelineHook implements redis.Hook.
func (b *Breaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if b.open.Load() && !isProbe(ctx) {
			b.rejected.Add(1)
			for _, c := range cmds {
				c.SetErr(ErrUnavailable)
			}
			return ErrUnavailable
		}
		ctx, cancel := b.deadline(ctx)
		defer cancel()
		err := next(ctx, cmds)
		if !isProbe(ctx) {
			b.record(err)
		}
		return err
	}
}
