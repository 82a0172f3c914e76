package backup

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"

	"frontdesk/database"
)

// querier is what reading a snapshot needs: a transaction on SQLite, the
// connection holding the consistent-snapshot transaction on MySQL.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Write takes a point-in-time snapshot of every table and writes it to w
// as a backup archive. The server keeps serving reads and writes while it
// runs: on MySQL/MariaDB every table is read in one REPEATABLE READ
// transaction started WITH CONSISTENT SNAPSHOT; on SQLite in one read
// transaction, which WAL mode keeps at the moment of its first read.
// It refuses a database that is not at this binary's schema version, and
// one that holds a table this binary does not know, rather than write an
// incomplete backup.
func Write(ctx context.Context, db *database.DB, w io.Writer, now time.Time) (*Manifest, error) {
	q, done, err := snapshot(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("backup: start snapshot: %w", err)
	}
	defer done()

	m := &Manifest{Format: FormatVersion, Application: application, CreatedAt: now.UTC().Truncate(time.Millisecond), Dialect: dialectName(db.Dialect)}
	if m.SchemaVersion, err = checkSchema(ctx, q, db.Dialect); err != nil {
		return nil, err
	}
	zw := zip.NewWriter(w)
	for _, t := range tables() {
		info, err := writeTable(ctx, q, zw, m.CreatedAt, t.Name, t.Columns, t.PrimaryKey)
		if err != nil {
			return nil, fmt.Errorf("backup: table %s: %w", t.Name, err)
		}
		m.Tables = append(m.Tables, info)
	}
	m.Checksum = m.checksum()
	mw, err := zw.CreateHeader(&zip.FileHeader{Name: manifestEntry, Method: zip.Deflate, Modified: m.CreatedAt})
	if err != nil {
		return nil, fmt.Errorf("backup: write manifest: %w", err)
	}
	enc := json.NewEncoder(mw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("backup: write manifest: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("backup: finish archive: %w", err)
	}
	return m, nil
}

// snapshot opens the read transaction every table is read in.
func snapshot(ctx context.Context, db *database.DB) (querier, func(), error) {
	if db.Dialect != dialect.MySQL {
		// A read-only transaction begins DEFERRED (not IMMEDIATE like the
		// store's writes), so it takes no write lock and writers go on.
		tx, err := db.SQL.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return nil, nil, err
		}
		return tx, func() { _ = tx.Rollback() }, nil // read only: nothing to keep
	}
	// database/sql cannot ask for WITH CONSISTENT SNAPSHOT, so the
	// transaction is run by hand on one pinned connection.
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, stmt := range []string{
		"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			_ = conn.Close()
			return nil, nil, err
		}
	}
	return conn, func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
			// Never hand a connection still inside a transaction back
			// to the pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		_ = conn.Close()
	}, nil
}

// checkSchema returns the database's schema version after checking that
// it has exactly this binary's migrations and tables.
func checkSchema(ctx context.Context, q querier, d string) (string, error) {
	applied, err := appliedMigrations(ctx, q)
	if err != nil {
		return "", err
	}
	all, err := database.Migrations(d)
	if err != nil {
		return "", err
	}
	var want []string
	for _, m := range all {
		want = append(want, m.Version)
	}
	if strings.Join(applied, ",") != strings.Join(want, ",") {
		return "", fmt.Errorf("%w: the database has %d migrations applied (last %s), this binary has %d (last %s); run `frontdesk migrate`, or use the Frontdesk release that matches the database",
			ErrSchema, len(applied), last(applied), len(want), last(want))
	}
	have, err := databaseTables(ctx, q, d)
	if err != nil {
		return "", err
	}
	known := map[string]bool{database.RevisionTable: true}
	for _, t := range tables() {
		known[t.Name] = true
		cols, ok := have[t.Name]
		if !ok {
			return "", fmt.Errorf("%w: table %s is missing", ErrSchema, t.Name)
		}
		names := columnNames(t)
		sort.Strings(cols)
		if strings.Join(names, ",") != strings.Join(cols, ",") {
			return "", fmt.Errorf("%w: table %s has columns %v, this binary expects %v", ErrSchema, t.Name, cols, names)
		}
	}
	for name := range have {
		if !known[name] {
			return "", fmt.Errorf("%w: table %s is not part of Frontdesk's schema; refusing to make a backup without it", ErrSchema, name)
		}
	}
	return last(applied), nil
}

// columnNames are t's column names, sorted.
func columnNames(t *schema.Table) []string {
	names := make([]string, 0, len(t.Columns))
	for _, c := range t.Columns {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return names
}

func last(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return s[len(s)-1]
}

func appliedMigrations(ctx context.Context, q querier) ([]string, error) {
	return database.QueryStrings(ctx, q, database.AppliedMigrationsQuery)
}

// databaseTables lists the ordinary tables and their columns. SQLite's
// virtual tables (the FTS5 index) and their shadow tables are left out:
// triggers rebuild them from the products table.
func databaseTables(ctx context.Context, q querier, d string) (map[string][]string, error) {
	var names []string
	var err error
	if d == dialect.MySQL {
		names, err = database.QueryStrings(ctx, q, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'")
	} else {
		names, err = database.QueryStrings(ctx, q, "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
	}
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	out := map[string][]string{}
	for _, n := range names {
		var cols []string
		if d == dialect.MySQL {
			cols, err = database.QueryStrings(ctx, q, "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?", n)
		} else {
			cols, err = database.QueryStrings(ctx, q, "SELECT name FROM pragma_table_info(?)", n)
		}
		if err != nil {
			return nil, fmt.Errorf("list columns of %s: %w", n, err)
		}
		out[n] = cols
	}
	return out, nil
}

// writeTable writes one table's rows, in primary-key order, as JSON lines.
func writeTable(ctx context.Context, q querier, zw *zip.Writer, at time.Time, name string, columns []*schema.Column, pk []*schema.Column) (TableInfo, error) {
	info := TableInfo{Name: name}
	var sel, order []string
	for _, c := range columns {
		info.Columns = append(info.Columns, c.Name)
		sel = append(sel, quote(c.Name))
	}
	for _, c := range pk {
		order = append(order, quote(c.Name))
	}
	ew, err := zw.CreateHeader(&zip.FileHeader{Name: tableEntry(name), Method: zip.Deflate, Modified: at})
	if err != nil {
		return info, err
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(ew, h), 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)

	rows, err := q.QueryContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+quote(name)+" ORDER BY "+strings.Join(order, ", "))
	if err != nil {
		return info, err
	}
	defer rows.Close()
	raw := make([]any, len(columns))
	ptrs := make([]any, len(columns))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	line := make([]any, len(columns))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return info, err
		}
		for i, c := range columns {
			if line[i], err = encode(c.Type, raw[i]); err != nil {
				return info, fmt.Errorf("column %s: %w", c.Name, err)
			}
		}
		if err := enc.Encode(line); err != nil { // Encode ends the line with \n
			return info, err
		}
		info.Rows++
	}
	if err := rows.Err(); err != nil {
		return info, err
	}
	if err := bw.Flush(); err != nil {
		return info, err
	}
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	return info, nil
}
