package database_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/internal/testenv"
)

// probeDB is a migrated test store with a scratch table of two rows.
func probeDB(t *testing.T) *database.DB {
	t.Helper()
	db := testenv.DB(t, database.Options{})
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TABLE tx_probe (id INT PRIMARY KEY, n INT NOT NULL)",
		"INSERT INTO tx_probe (id, n) VALUES (1, 0), (2, 0)",
	} {
		if _, err := db.SQL.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func probeSum(t *testing.T, db *database.DB) int {
	t.Helper()
	var n int
	if err := db.SQL.QueryRowContext(context.Background(), "SELECT SUM(n) FROM tx_probe").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func bump(ctx context.Context, tx *ent.Tx, id int) error {
	_, err := tx.ExecContext(ctx, "UPDATE tx_probe SET n = n + 1 WHERE id = ?", id)
	return err
}

func TestWithTxPanicRollsBackAndRepanics(t *testing.T) {
	db := probeDB(t)
	ctx := context.Background()
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Fatalf("recovered %v, want the panic to continue as \"boom\"", v)
			}
		}()
		_ = database.WithTx(ctx, db.Client, func(tx *ent.Tx) error {
			if err := bump(ctx, tx, 1); err != nil {
				return err
			}
			panic("boom")
		})
		t.Fatal("WithTx returned instead of panicking")
	}()
	if n := probeSum(t, db); n != 0 {
		t.Fatalf("the panicking transaction's write survived: sum = %d", n)
	}
	// The connection went back to the pool without locks: a new write
	// transaction goes through at once.
	if err := database.WithTx(ctx, db.Client, func(tx *ent.Tx) error { return bump(ctx, tx, 1) }); err != nil {
		t.Fatal(err)
	}
	if n := probeSum(t, db); n != 1 {
		t.Fatalf("sum = %d after one committed bump", n)
	}
}

func TestWithTxErrorRollsBackWithoutRetry(t *testing.T) {
	db := probeDB(t)
	ctx := context.Background()
	want := errors.New("invalid input")
	calls := 0
	err := database.WithTx(ctx, db.Client, func(tx *ent.Tx) error {
		calls++
		if err := bump(ctx, tx, 1); err != nil {
			return err
		}
		return want
	})
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	if calls != 1 {
		t.Fatalf("fn ran %d times for an error that is not a lock conflict", calls)
	}
	if n := probeSum(t, db); n != 0 {
		t.Fatalf("the failed transaction's write survived: sum = %d", n)
	}
}

func TestWithTxGivesUpAfterFiveConflicts(t *testing.T) {
	db := probeDB(t)
	calls := 0
	deadlock := &mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock"}
	err := database.WithTx(context.Background(), db.Client, func(tx *ent.Tx) error {
		calls++
		return fmt.Errorf("reserve slot: %w", deadlock)
	})
	if !errors.Is(err, deadlock) || calls != 5 {
		t.Fatalf("err = %v after %d calls, want the deadlock after 5", err, calls)
	}
}

// Two transactions that lock the same two rows in opposite orders
// deadlock on MariaDB; InnoDB rolls one back with error 1213 and WithTx
// runs it again, so both commit.
func TestWithTxRetriesARealDeadlock(t *testing.T) {
	if !testenv.External() {
		t.Skip("SQLite takes the write lock at BEGIN (_txlock=immediate), so two writers cannot deadlock")
	}
	db := probeDB(t)
	ctx := context.Background()
	var (
		held     sync.WaitGroup // both hold their first row
		attempts atomic.Int32
	)
	held.Add(2)
	run := func(first, second int) error {
		try := 0
		return database.WithTx(ctx, db.Client, func(tx *ent.Tx) error {
			try++
			attempts.Add(1)
			if err := bump(ctx, tx, first); err != nil {
				return err
			}
			if try == 1 {
				held.Done()
				held.Wait()
			}
			return bump(ctx, tx, second)
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- run(1, 2) }()
	go func() { errs <- run(2, 1) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a deadlocked transaction was not retried to success: %v", err)
		}
	}
	if n := attempts.Load(); n < 3 {
		t.Fatalf("%d attempts: expected the deadlock victim to run again", n)
	}
	if n := probeSum(t, db); n != 4 {
		t.Fatalf("sum = %d, want 4: each transaction bumps both rows once", n)
	}
}

func TestIsRetryable(t *testing.T) {
	busy := sqliteBusyError(t)
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("boom"), false},
		{"mysql deadlock", &mysql.MySQLError{Number: 1213}, true},
		{"mysql lock wait timeout", &mysql.MySQLError{Number: 1205}, true},
		{"wrapped mysql deadlock", fmt.Errorf("reserve slot: %w", &mysql.MySQLError{Number: 1213}), true},
		{"joined with a rollback error", errors.Join(&mysql.MySQLError{Number: 1213}, errors.New("rollback: bad connection")), true},
		{"mysql duplicate key", &mysql.MySQLError{Number: 1062}, false},
		{"mysql syntax error", &mysql.MySQLError{Number: 1064}, false},
		{"ent constraint error", &ent.ConstraintError{}, false},
		{"ent not found", &ent.NotFoundError{}, false},
		{"sqlite busy", busy, true},
		{"wrapped sqlite busy", fmt.Errorf("claim: %w", busy), true},
		{"context canceled", context.Canceled, false},
		{"connection gone", sql.ErrConnDone, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := database.IsRetryable(tt.err); got != tt.want {
				t.Fatalf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// sqliteBusyError makes a real SQLITE_BUSY: a second writer with no busy
// timeout tries to begin while the first holds the write lock.
func sqliteBusyError(t *testing.T) error {
	t.Helper()
	ctx := context.Background()
	dsn := "file:" + filepath.Join(t.TempDir(), "busy.db") + "?_pragma=busy_timeout(0)&_txlock=immediate"
	a, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	b, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if _, err := a.ExecContext(ctx, "CREATE TABLE t (x INT)"); err != nil {
		t.Fatal(err)
	}
	txa, err := a.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = txa.Rollback() })
	_, err = b.BeginTx(ctx, nil)
	if err == nil {
		t.Fatal("a second writer began while the first held the lock")
	}
	return err
}

// TestCommitOnce: however many writes of a transaction ask, the action
// runs once, after the commit; a rolled-back transaction runs nothing, and
// the same CommitOnce serves the next transaction.
func TestCommitOnce(t *testing.T) {
	db := probeDB(t)
	ctx := context.Background()
	var once database.CommitOnce
	var runs atomic.Int32
	committed := func(tx *ent.Tx) {
		for range 3 {
			once.After(tx, func(context.Context) { runs.Add(1) })
		}
	}
	tx, err := db.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	committed(tx)
	if runs.Load() != 0 {
		t.Fatal("the action ran before the commit")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("after commit: %d runs, want 1", n)
	}
	tx, err = db.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	committed(tx)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("after rollback: %d runs, want still 1", n)
	}
	if err := database.WithTx(ctx, db.Client, func(tx *ent.Tx) error { committed(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	if n := runs.Load(); n != 2 {
		t.Fatalf("after a second commit: %d runs, want 2", n)
	}
}
