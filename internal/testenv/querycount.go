package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"

	"entgo.io/ent/dialect"
)

// QueryCounter wraps an ent driver and counts the statements it runs, so
// tests can pin the number of SQL queries a request makes (N+1 guard).
type QueryCounter struct {
	dialect.Driver
	n atomic.Int64
}

// CountQueries returns a wrapper for database.Options.Driver and the
// counter it feeds.
func CountQueries() (*QueryCounter, func(dialect.Driver) dialect.Driver) {
	c := &QueryCounter{}
	return c, func(d dialect.Driver) dialect.Driver { c.Driver = d; return c }
}

// Reset sets the count to zero and returns what it was.
func (c *QueryCounter) Reset() int64 { return c.n.Swap(0) }

// Count returns the statements run since the last Reset.
func (c *QueryCounter) Count() int64 { return c.n.Load() }

// Exec implements dialect.Driver.
func (c *QueryCounter) Exec(ctx context.Context, query string, args, v any) error {
	c.n.Add(1)
	return c.Driver.Exec(ctx, query, args, v)
}

// Query implements dialect.Driver.
func (c *QueryCounter) Query(ctx context.Context, query string, args, v any) error {
	c.n.Add(1)
	return c.Driver.Query(ctx, query, args, v)
}

// Tx implements dialect.Driver; statements inside transactions count too.
func (c *QueryCounter) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := c.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return &countingTx{Tx: tx, n: &c.n}, nil
}

type countingTx struct {
	dialect.Tx
	n *atomic.Int64
}

func (t *countingTx) Exec(ctx context.Context, query string, args, v any) error {
	t.n.Add(1)
	return t.Tx.Exec(ctx, query, args, v)
}

func (t *countingTx) Query(ctx context.Context, query string, args, v any) error {
	t.n.Add(1)
	return t.Tx.Query(ctx, query, args, v)
}

// QueryContext passes ent's raw queries (client.QueryContext) through to
// a database/sql based driver, counting them.
func (c *QueryCounter) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q, ok := c.Driver.(interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	})
	if !ok {
		return nil, fmt.Errorf("driver %T does not support QueryContext", c.Driver)
	}
	c.n.Add(1)
	return q.QueryContext(ctx, query, args...)
}
