package graph

import (
	"context"
	"time"

	"frontdesk/errcode"
)

// clock ticks the server time every n seconds until the subscriber leaves.
func clock(ctx context.Context, everySeconds int) (<-chan *time.Time, error) {
	if everySeconds < 1 || everySeconds > 60 {
		return nil, errcode.New(errcode.BadUserInput, "everySeconds must be between 1 and 60")
	}
	out := make(chan *time.Time, 1)
	go func() {
		defer close(out)
		ticker := time.NewTicker(time.Duration(everySeconds) * time.Second)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case t := <-ticker.C:
				now := t.UTC()
				select {
				case out <- &now:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
