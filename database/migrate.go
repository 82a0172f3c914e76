package database

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"frontdesk/migrations"
)

// Migration is one versioned SQL file.
type Migration struct {
	Version    string // the file name without .sql, such as 20261126000000_init
	Statements []string
}

// Migrations returns the embedded migrations for a dialect, oldest first.
func Migrations(dialectName string) ([]Migration, error) {
	dir := dirFor(dialectName)
	entries, err := fs.ReadDir(migrations.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		body, err := fs.ReadFile(migrations.FS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{
			Version:    strings.TrimSuffix(e.Name(), ".sql"),
			Statements: splitStatements(string(body)),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies the migrations that the database has not seen yet and
// returns their versions. It is safe to run again, and safe to run from
// several replicas at once: a lock (GET_LOCK on MySQL, the write lock on
// SQLite) lets one of them do the work while the others wait and then find
// nothing left to do.
func (d *DB) Migrate(ctx context.Context) ([]string, error) {
	all, err := Migrations(d.Dialect)
	if err != nil {
		return nil, err
	}
	conn, err := d.SQL.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()

	if d.Dialect == dialect.MySQL {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('frontdesk_migrate', 120)").Scan(&got); err != nil || got.Int64 != 1 {
			return nil, fmt.Errorf("migrate: take lock: %v (result %v)", err, got)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK('frontdesk_migrate')") //nolint:errcheck // the lock also ends with the session
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version VARCHAR(128) NOT NULL PRIMARY KEY,
		applied_at VARCHAR(40) NOT NULL)`); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied := map[string]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: list applied: %w", err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("migrate: list applied: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: list applied: %w", err)
	}

	var done []string
	for _, m := range all {
		if applied[m.Version] {
			continue
		}
		if err := apply(ctx, conn, d.Dialect, m); err != nil {
			return done, err
		}
		done = append(done, m.Version)
	}
	return done, nil
}

// apply runs one migration. On SQLite the whole file is one transaction; on
// MySQL DDL commits implicitly, so a failure part-way is reported with the
// statement that failed and the version stays unrecorded for an operator
// to repair.
func apply(ctx context.Context, conn *sql.Conn, dialectName string, m Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", m.Version, err)
	}
	for i, stmt := range m.Statements {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migrate %s: statement %d (%.80s…): %w", m.Version, i+1, stmt, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
		m.Version, time.Now().UTC().Format(time.RFC3339)); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("migrate %s: record version: %w", m.Version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: commit: %w", m.Version, err)
	}
	return nil
}

func dirFor(dialectName string) string {
	if dialectName == dialect.MySQL {
		return "mysql"
	}
	return "sqlite"
}

// splitStatements splits a migration file on semicolons that end a line,
// which is how the generator writes them, and drops comment lines.
func splitStatements(body string) []string {
	var (
		out []string
		cur strings.Builder
	)
	for _, line := range strings.Split(body, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
