package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// replyErr is a Redis error reply, as go-redis returns them.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

var timeout error = &net.OpError{Op: "read", Net: "tcp", Err: &timeoutErr{}}

type timeoutErr struct{}

func (*timeoutErr) Error() string   { return "i/o timeout" }
func (*timeoutErr) Timeout() bool   { return true }
func (*timeoutErr) Temporary() bool { return true }

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestBreakerOpens feeds call outcomes to a closed breaker with a
// threshold of 3 and checks whether it opened: only failures to reach
// Redis, in a row, count.
func TestBreakerOpens(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name     string
		outcomes []error
		open     bool
		failures int64
	}{
		{"three timeouts in a row", []error{timeout, timeout, timeout}, true, 3},
		{"two timeouts", []error{timeout, timeout}, false, 2},
		{"a success resets the count", []error{timeout, timeout, nil, timeout, timeout}, false, 4},
		{"a missing key is an answer", []error{timeout, timeout, redis.Nil, timeout, timeout}, false, 4},
		{"connection refused", []error{refused, refused, refused}, true, 3},
		{"connection reset by EOF", []error{io.EOF, fmt.Errorf("cache get: %w", io.ErrUnexpectedEOF), io.EOF}, true, 3},
		{"pool exhausted", []error{redis.ErrPoolTimeout, redis.ErrPoolTimeout, redis.ErrPoolTimeout}, true, 3},
		{"deadline", []error{context.DeadlineExceeded, context.DeadlineExceeded, context.DeadlineExceeded}, true, 3},
		{"reply errors are answers", []error{redis.ErrNoScript, replyErr("WRONGTYPE x"), replyErr("ERR y")}, false, 0},
		{"LOADING is not serving", []error{replyErr("LOADING dataset"), replyErr("LOADING dataset"), replyErr("LOADING dataset")}, true, 3},
		{"the caller giving up is not Redis's fault", []error{context.Canceled, context.Canceled, context.Canceled}, false, 0},
		{"a closed client is not Redis's fault", []error{redis.ErrClosed, redis.ErrClosed, redis.ErrClosed}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBreaker(BreakerOptions{Failures: 3, Log: quietLog()})
			defer b.Close()
			for _, want := range tc.outcomes {
				hook := b.ProcessHook(func(context.Context, redis.Cmder) error { return want })
				if got := hook(context.Background(), redis.NewStatusCmd(context.Background(), "ping")); got != want {
					t.Fatalf("hook returned %v, want the call's own %v", got, want)
				}
			}
			st := b.Stats()
			if st.Open != tc.open || st.Failures != tc.failures {
				t.Fatalf("open=%v failures=%d, want open=%v failures=%d", st.Open, st.Failures, tc.open, tc.failures)
			}
		})
	}
}

// TestBreakerOpenFailsFastAndProbes: while open, calls and pipelines
// fail with ErrUnavailable without reaching Redis; the background
// probe keeps trying and its first success closes the breaker, which is
// reported to listeners.
func TestBreakerOpenFailsFastAndProbes(t *testing.T) {
	b := NewBreaker(BreakerOptions{Failures: 1, Probe: 5 * time.Millisecond, Log: quietLog()})
	defer b.Close()
	probes := make(chan chan error)
	b.probe = func(ctx context.Context) error {
		if !isProbe(ctx) {
			t.Error("probe context not marked")
		}
		reply := make(chan error)
		probes <- reply
		return <-reply
	}
	changes := make(chan bool, 4)
	b.Notify(func(open bool) { changes <- open })

	reached := 0
	next := func(context.Context, redis.Cmder) error { reached++; return timeout }
	ctx := context.Background()
	_ = b.ProcessHook(next)(ctx, redis.NewStatusCmd(ctx, "ping"))
	if got := <-changes; got != true {
		t.Fatal("breaker did not report opening")
	}
	cmd := redis.NewStringCmd(ctx, "get", "k")
	if err := b.ProcessHook(next)(ctx, cmd); !errors.Is(err, ErrUnavailable) || !errors.Is(cmd.Err(), ErrUnavailable) {
		t.Fatalf("call while open: %v / %v", err, cmd.Err())
	}
	pipe := []redis.Cmder{redis.NewStringCmd(ctx, "get", "a"), redis.NewStringCmd(ctx, "get", "b")}
	if err := b.ProcessPipelineHook(func(context.Context, []redis.Cmder) error { reached++; return nil })(ctx, pipe); !errors.Is(err, ErrUnavailable) || !errors.Is(pipe[1].Err(), ErrUnavailable) {
		t.Fatalf("pipeline while open: %v", err)
	}
	if reached != 1 {
		t.Fatalf("Redis reached %d times, want once (before opening)", reached)
	}
	// The probe itself gets through.
	if err := b.ProcessHook(func(context.Context, redis.Cmder) error { return nil })(context.WithValue(ctx, probeKey{}, true), redis.NewStatusCmd(ctx, "ping")); err != nil {
		t.Fatalf("probe call refused: %v", err)
	}

	(<-probes) <- timeout // still down: stays open
	if !b.Open() {
		t.Fatal("closed after a failed probe")
	}
	(<-probes) <- nil
	if got := <-changes; got != false {
		t.Fatal("breaker did not report closing")
	}
	if err := b.ProcessHook(func(context.Context, redis.Cmder) error { return nil })(ctx, redis.NewStatusCmd(ctx, "ping")); err != nil {
		t.Fatalf("call after closing: %v", err)
	}
	want := BreakerStats{Open: false, Opened: 1, Closed: 1, Rejected: 2, Failures: 1}
	if diff := cmp.Diff(want, b.Stats()); diff != "" {
		t.Fatalf("stats (-want +got):\n%s", diff)
	}
}
