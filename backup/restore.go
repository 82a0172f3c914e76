package backup

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"frontdesk/database"
)

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// Force replaces the data of a database that is not empty.
	Force bool
	// DryRun makes every check (file, versions, an empty target unless
	// Force) and stops before changing anything.
	DryRun bool
}

// Verify reads a whole archive and checks it before anything uses it:
// the ZIP structure and CRCs, the manifest and its checksum, the format
// version, and every table's row count and SHA-256. It returns the
// manifest; every failure wraps ErrCorrupt or ErrVersion.
func Verify(r io.ReaderAt, size int64) (*Manifest, error) {
	m, _, err := verify(r, size)
	return m, err
}

// verify is Verify that also returns the archive's entries by name.
func verify(r io.ReaderAt, size int64) (*Manifest, map[string]*zip.File, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		if files[f.Name] != nil {
			return nil, nil, fmt.Errorf("%w: entry %s appears twice", ErrCorrupt, f.Name)
		}
		files[f.Name] = f
	}
	mf := files[manifestEntry]
	if mf == nil {
		return nil, nil, fmt.Errorf("%w: no %s", ErrCorrupt, manifestEntry)
	}
	m, err := readManifest(mf)
	if err != nil {
		return nil, nil, err
	}
	if len(files) != len(m.Tables)+1 {
		return nil, nil, fmt.Errorf("%w: %d entries for %d tables", ErrCorrupt, len(files), len(m.Tables))
	}
	for _, t := range m.Tables {
		f := files[tableEntry(t.Name)]
		if f == nil {
			return nil, nil, fmt.Errorf("%w: no entry for table %s", ErrCorrupt, t.Name)
		}
		rows, sum, err := digest(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: table %s: %v", ErrCorrupt, t.Name, err)
		}
		if rows != t.Rows || sum != t.SHA256 {
			return nil, nil, fmt.Errorf("%w: table %s has %d rows with SHA-256 %s, the manifest says %d rows with %s", ErrCorrupt, t.Name, rows, sum, t.Rows, t.SHA256)
		}
	}
	return m, files, nil
}

func readManifest(f *zip.File) (*Manifest, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, manifestEntry, err)
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, manifestEntry, err)
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, manifestEntry, err)
	}
	if m.Application != application {
		return nil, fmt.Errorf("%w: %s is not a Frontdesk manifest", ErrCorrupt, manifestEntry)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("%w: the backup is in format %d; this binary reads format %d", ErrVersion, m.Format, FormatVersion)
	}
	if m.Checksum != m.checksum() {
		return nil, fmt.Errorf("%w: the manifest's checksum does not match its table list", ErrCorrupt)
	}
	seen := map[string]bool{}
	for _, t := range m.Tables {
		if seen[t.Name] || t.Name == "" || strings.ContainsAny(t.Name, "/`") {
			return nil, fmt.Errorf("%w: bad table list in the manifest", ErrCorrupt)
		}
		seen[t.Name] = true
	}
	return &m, nil
}

// digest counts the lines of an entry and hashes it; reading to the end
// also checks the entry's CRC-32.
func digest(f *zip.File) (int64, string, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, "", err
	}
	defer rc.Close()
	h := sha256.New()
	c := &lineCounter{}
	if _, err := io.Copy(io.MultiWriter(h, c), rc); err != nil {
		return 0, "", err
	}
	return c.n, hex.EncodeToString(h.Sum(nil)), nil
}

type lineCounter struct{ n int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

// compatible checks that a verified backup was taken at this binary's
// schema version (for the dialect it came from) with this binary's
// tables and columns.
func compatible(m *Manifest) error {
	d, ok := entDialect(m.Dialect)
	if !ok {
		return fmt.Errorf("%w: unknown dialect %q", ErrVersion, m.Dialect)
	}
	want, err := schemaVersion(d)
	if err != nil {
		return err
	}
	if m.SchemaVersion != want {
		return fmt.Errorf("%w: the backup was taken at schema version %s (%s), this binary's is %s; restore it with the Frontdesk release that wrote it, then upgrade that release to this one (its migrations move the data on)",
			ErrVersion, m.SchemaVersion, m.Dialect, want)
	}
	byName := tablesByName()
	if len(m.Tables) != len(byName) {
		return fmt.Errorf("%w: the backup has %d tables, this binary %d", ErrVersion, len(m.Tables), len(byName))
	}
	for _, mt := range m.Tables {
		t := byName[mt.Name]
		if t == nil {
			return fmt.Errorf("%w: table %s is not in this binary's schema", ErrVersion, mt.Name)
		}
		want := columnNames(t)
		got := slices.Clone(mt.Columns)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("%w: table %s has columns %v in the backup, %v in this binary", ErrVersion, mt.Name, mt.Columns, want)
		}
	}
	return nil
}

// tablesByName indexes tables() by name.
func tablesByName() map[string]*schema.Table {
	byName := map[string]*schema.Table{}
	for _, t := range tables() {
		byName[t.Name] = t
	}
	return byName
}

// Restore loads a backup into db. It verifies the whole file first (see
// Verify) and checks that the backup and db are both at this binary's
// schema version, then loads every table in one transaction: a database
// that is not empty is refused unless opts.Force, which deletes its rows
// in the same transaction. Foreign keys are checked once, at the end,
// before the commit. On any failure the transaction rolls back and db is
// unchanged.
func Restore(ctx context.Context, db *database.DB, r io.ReaderAt, size int64, opts RestoreOptions) (*Manifest, error) {
	m, files, err := verify(r, size)
	if err != nil {
		return nil, err
	}
	if err := compatible(m); err != nil {
		return nil, err
	}
	if err := load(ctx, db, m, files, opts); err != nil {
		return nil, err
	}
	return m, nil
}

func load(ctx context.Context, db *database.DB, m *Manifest, files map[string]*zip.File, opts RestoreOptions) (err error) {
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer conn.Close()
	if db.Dialect == dialect.MySQL {
		// MySQL cannot defer foreign-key checks to the commit, and rows
		// of a table that refers to itself (categories) are not in
		// dependency order; checkForeignKeys checks them all instead.
		if _, err := conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 0"); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		defer func() {
			if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "SET SESSION foreign_key_checks = 1"); rerr != nil {
				// Drop the connection rather than pool it unchecked.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback() // the error being returned says why
		}
	}()
	if db.Dialect != dialect.MySQL {
		if _, err := tx.ExecContext(ctx, "PRAGMA defer_foreign_keys = ON"); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if _, err := checkSchema(ctx, tx, db.Dialect); err != nil {
		return fmt.Errorf("restore into this database: %w", err)
	}
	var full []string
	for _, t := range tables() {
		n, err := database.QueryStrings(ctx, tx, "SELECT 'x' FROM "+quote(t.Name)+" LIMIT 1")
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		if len(n) > 0 {
			full = append(full, t.Name)
		}
	}
	if len(full) > 0 && !opts.Force {
		return fmt.Errorf("%w: %s hold rows; restore into a freshly migrated database, or pass --force to replace all of its data", ErrNotEmpty, strings.Join(full, ", "))
	}
	if opts.DryRun {
		return tx.Rollback()
	}
	all := tables()
	for i := len(all) - 1; i >= 0 && len(full) > 0; i-- {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+quote(all[i].Name)); err != nil {
			return fmt.Errorf("restore: empty %s: %w", all[i].Name, err)
		}
	}
	byName := tablesByName()
	for _, mt := range m.Tables {
		if err := insertTable(ctx, tx, db.Dialect, byName[mt.Name], mt, files[tableEntry(mt.Name)]); err != nil {
			return fmt.Errorf("restore: table %s: %w", mt.Name, err)
		}
	}
	if err := checkForeignKeys(ctx, tx); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("restore: commit: %w", err)
	}
	return nil
}

// insertTable inserts an entry's rows in multi-row INSERTs.
func insertTable(ctx context.Context, tx *sql.Tx, d string, t *schema.Table, mt TableInfo, f *zip.File) error {
	types := make([]field.Type, len(mt.Columns))
	var cols []string
	for i, name := range mt.Columns {
		c, ok := t.Column(name)
		if !ok {
			return fmt.Errorf("unknown column %s", name)
		}
		types[i] = c.Type
		cols = append(cols, quote(name))
	}
	// Stay well under SQLite's 32766 and MySQL's 65535 placeholders.
	per := min(500, max(1, 30000/len(cols)))
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	insert := func(n int) string {
		return "INSERT INTO " + quote(t.Name) + " (" + strings.Join(cols, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
	}
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			_ = stmt.Close() // closing with the transaction; nothing to report
		}
	}()
	args := make([]any, 0, per*len(cols))
	flush := func(n int) error {
		if n == 0 {
			return nil
		}
		var err error
		if n == per {
			if stmt == nil {
				if stmt, err = tx.PrepareContext(ctx, insert(per)); err != nil {
					return err
				}
			}
			_, err = stmt.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insert(n), args...)
		}
		args = args[:0]
		return err
	}

	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 256<<10)
	var rows int64
	pending := 0
	for {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(line) == 0 {
			break
		}
		if err != nil {
			return err
		}
		rows++
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var vals []any
		if err := dec.Decode(&vals); err != nil || len(vals) != len(cols) {
			return fmt.Errorf("row %d: not a row of %d values (%v)", rows, len(cols), err)
		}
		for i, v := range vals {
			dv, err := decode(types[i], v, d)
			if err != nil {
				return fmt.Errorf("row %d, column %s: %w", rows, mt.Columns[i], err)
			}
			args = append(args, dv)
		}
		if pending++; pending == per {
			if err := flush(pending); err != nil {
				return err
			}
			pending = 0
		}
	}
	if err := flush(pending); err != nil {
		return err
	}
	if rows != mt.Rows {
		return fmt.Errorf("read %d rows, the manifest says %d", rows, mt.Rows)
	}
	return nil
}

// checkForeignKeys fails if any row refers to a row that is not there.
func checkForeignKeys(ctx context.Context, tx *sql.Tx) error {
	for _, t := range tables() {
		for _, fk := range t.ForeignKeys {
			var notNull, match []string
			for i, c := range fk.Columns {
				notNull = append(notNull, "c."+quote(c.Name)+" IS NOT NULL")
				match = append(match, "p."+quote(fk.RefColumns[i].Name)+" = c."+quote(c.Name))
			}
			q := "SELECT COUNT(*) FROM " + quote(t.Name) + " c WHERE " + strings.Join(notNull, " AND ") +
				" AND NOT EXISTS (SELECT 1 FROM " + quote(fk.RefTable.Name) + " p WHERE " + strings.Join(match, " AND ") + ")"
			var n int64
			if err := tx.QueryRowContext(ctx, q).Scan(&n); err != nil {
				return fmt.Errorf("check %s: %w", fk.Symbol, err)
			}
			if n > 0 {
				return fmt.Errorf("%w: %d rows of %s refer to missing %s rows (%s)", ErrCorrupt, n, t.Name, fk.RefTable.Name, fk.Symbol)
			}
		}
	}
	return nil
}
