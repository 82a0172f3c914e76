package events

import (
	"context"
	"sync/atomic"
)

// resyncFlag is raised when a subscriber may have missed events.
type resyncFlag struct{ raised atomic.Bool }

type resyncKey struct{}

// WithResyncFlag returns a context whose subscriptions raise one shared
// flag when they may have missed events (Redis was unavailable, so
// events of other replicas could not reach them). The GraphQL server
// gives each subscription operation such a context and reports the flag
// with TakeResync as `extensions.resync` on the next payload.
func WithResyncFlag(ctx context.Context) context.Context {
	return context.WithValue(ctx, resyncKey{}, &resyncFlag{})
}

func flagFrom(ctx context.Context) *resyncFlag {
	f, _ := ctx.Value(resyncKey{}).(*resyncFlag)
	return f
}

// TakeResync reports whether the flag of ctx was raised since the last
// call, and lowers it.
func TakeResync(ctx context.Context) bool {
	f := flagFrom(ctx)
	return f != nil && f.raised.Swap(false)
}
