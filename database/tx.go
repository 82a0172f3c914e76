package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"

	"frontdesk/ent"
)

// txAttempts bounds how often WithTx runs a transaction that keeps losing
// lock conflicts; beyond it the last error goes to the caller.
const txAttempts = 5

// WithTx runs fn in one transaction on client and commits when fn returns
// nil. It is the one way Frontdesk's domains open a write transaction.
//
// The contract: fn may run more than once. When the database refuses the
// transaction for a lock conflict that rolled it back (a MySQL deadlock or
// lock-wait timeout, SQLite busy or locked), WithTx rolls back and runs fn
// again in a fresh transaction, up to five times with a short jittered
// pause. fn must therefore do nothing outside the transaction that cannot
// be repeated: no calls to payment, mail or storage services, no events
// published (use tx.OnCommit or the outbox, which writes in the same
// transaction), and no appending to variables outside fn without resetting
// them first. Reads outside the transaction are fine.
//
// When fn returns an error, the transaction is rolled back and a failed
// rollback is joined to fn's error, so neither is lost. When fn panics, the
// transaction is rolled back and the panic continues, so a recovering
// caller (the HTTP recover middleware) never leaves a connection holding
// locks.
func WithTx(ctx context.Context, client *ent.Client, fn func(tx *ent.Tx) error) error {
	return Retry(ctx, func() error { return runTx(ctx, client, fn) })
}

// Retry runs fn again when the database rolled its work back for a lock
// conflict (IsRetryable), up to five times in all. It is WithTx's loop,
// for a statement that stands alone (autocommit) and can lose a deadlock
// too: an INSERT of a counter row against a sweep's DELETE, say.
func Retry(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = fn()
		if err == nil || !IsRetryable(err) || attempt == txAttempts {
			return err
		}
		// Two statements that deadlocked would collide again if both
		// retried at once; a random pause of a few milliseconds, growing
		// with each attempt, lets one of them finish first.
		pause := time.Duration(attempt) * (2*time.Millisecond + rand.N(8*time.Millisecond))
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(pause):
		}
	}
}

func runTx(ctx context.Context, client *ent.Client, fn func(tx *ent.Tx) error) (err error) {
	tx, err := client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if v := recover(); v != nil {
			// The panic is what the caller must see; a rollback failure
			// here would only hide it, and the pool discards the
			// connection of a transaction that was never finished.
			_ = tx.Rollback()
			panic(v)
		}
	}()
	if err := fn(tx); err != nil {
		return errors.Join(err, rollback(tx))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func rollback(tx *ent.Tx) error {
	err := tx.Rollback()
	if err == nil || errors.Is(err, sql.ErrTxDone) {
		// ErrTxDone: the context ended and database/sql already rolled
		// the transaction back; there is nothing more to report.
		return nil
	}
	return fmt.Errorf("rollback: %w", err)
}

// MySQL errors that roll the transaction back (1213, whose SQLSTATE is
// 40001, serialization failure) or leave it holding nothing useful (1205,
// whose statement alone is undone; WithTx then rolls back the rest).
const (
	mysqlLockWaitTimeout = 1205
	mysqlDeadlock        = 1213
)

// SQLite primary result codes for "another connection holds the lock";
// extended codes such as SQLITE_BUSY_SNAPSHOT (517) share the low byte.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// IsRetryable reports whether err means the database gave up the
// transaction because of a lock conflict with another one, so running
// the same transaction again can succeed. Every other error, including a
// failed commit for any other reason (which may or may not have
// committed), is not retryable.
func IsRetryable(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == mysqlDeadlock || me.Number == mysqlLockWaitTimeout
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff
		return code == sqliteBusy || code == sqliteLocked
	}
	return false
}

// CommitOnce runs an action once a transaction has committed, however
// many writes in it asked for the action: the pattern of versioned caches
// (the catalog's stock version, availability's), whose version must be
// replaced after the commit, never before (a read in between would keep
// the old rows under the new version), and once per transaction, not once
// per row. The zero value is ready to use.
type CommitOnce struct {
	pending sync.Map // *ent.Tx whose commit will run the action
}

// After arranges for do to run once tx commits; a rolled-back tx runs
// nothing. Calls for a tx already arranged do nothing more. do runs with a
// context that is not cancelled with the request.
func (o *CommitOnce) After(tx *ent.Tx, do func(ctx context.Context)) {
	if _, loaded := o.pending.LoadOrStore(tx, struct{}{}); loaded {
		return
	}
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(ctx context.Context, tx *ent.Tx) error {
			o.pending.Delete(tx)
			return next.Rollback(ctx, tx)
		})
	})
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			o.pending.Delete(tx)
			if err == nil {
				do(context.WithoutCancel(ctx))
			}
			return err
		})
	})
}
