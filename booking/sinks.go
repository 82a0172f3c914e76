package booking

import (
	"context"

	"frontdesk/ent"
)

// Sinks hands every change to several sinks in order (the outbox jobs of
// calendar sync, the EHR and notifications, then the event bus). The
// first InTx error aborts the transaction.
type Sinks []ChangeSink

// InTx implements ChangeSink.
func (s Sinks) InTx(ctx context.Context, tx *ent.Tx, c Change) error {
	for _, sink := range s {
		if err := sink.InTx(ctx, tx, c); err != nil {
			return err
		}
	}
	return nil
}

// Committed implements ChangeSink.
func (s Sinks) Committed(ctx context.Context, c Change) {
	for _, sink := range s {
		sink.Committed(ctx, c)
	}
}
