package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	atlasmysql "ariga.io/atlas/sql/mysql"
	atlasschema "ariga.io/atlas/sql/schema"
	atlassqlite "ariga.io/atlas/sql/sqlite"
	"entgo.io/ent/dialect"

	"frontdesk/migrations"
)

// RevisionTable records every migration applied to the database, in
// Atlas's revision format: the version, how many of the file's statements
// ran out of how many, and the file's checksum from atlas.sum.
const RevisionTable = "atlas_schema_revisions"

// legacyTable is the bookkeeping table of the applier Frontdesk used
// before Atlas's executor: one row per fully applied file. Migrate adopts
// its rows into RevisionTable once and drops it.
const legacyTable = "schema_migrations"

// Migration is one versioned SQL file.
type Migration struct {
	Version string // the file name without .sql, such as 20261126000038_init
}

// Migrations returns the embedded migrations for a dialect, oldest first.
func Migrations(dialectName string) ([]Migration, error) {
	dir, err := migrationDir(migrations.FS, dialectName)
	if err != nil {
		return nil, err
	}
	files, err := dir.Files()
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	out := make([]Migration, len(files))
	for i, f := range files {
		out[i] = Migration{Version: strings.TrimSuffix(f.Name(), ".sql")}
	}
	return out, nil
}

// AppliedMigrationsQuery lists the fully applied migrations of a database
// by file name without .sql, oldest first, as Migrations names them.
const AppliedMigrationsQuery = "SELECT CONCAT(`version`, '_', `description`) FROM " + RevisionTable +
	" WHERE `applied` = `total` ORDER BY `version`"

// Migrate applies the migrations that the database has not seen yet and
// returns their versions. Atlas's executor runs them: it splits files with
// the dialect's own lexer (triggers, strings and comments included), checks
// the files against atlas.sum, and records each statement as it commits,
// so a MySQL migration that stops part-way (DDL commits as it goes)
// resumes at the statement that failed on the next run instead of needing
// repair by hand. On SQLite every pending file runs in one transaction.
//
// It refuses to run, changing nothing, when a migration file differs from
// atlas.sum or when a migration already applied to this database has been
// edited since: an applied file is history, and a change belongs in a new
// migration.
//
// It is safe to run again, and safe to run from several replicas at once:
// a lock (GET_LOCK on MySQL, the write lock on SQLite) lets one of them do
// the work while the others wait and then find nothing left to do.
func (d *DB) Migrate(ctx context.Context) ([]string, error) {
	return d.migrate(ctx, migrations.FS)
}

func (d *DB) migrate(ctx context.Context, fsys fs.FS) (applied []string, err error) {
	dir, err := migrationDir(fsys, d.Dialect)
	if err != nil {
		return nil, err
	}
	conn, err := d.SQL.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()

	var db atlasschema.ExecQuerier = conn
	if d.Dialect == dialect.MySQL {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('frontdesk_migrate', 120)").Scan(&got); err != nil || got.Int64 != 1 {
			return nil, fmt.Errorf("migrate: take lock: %v (result %v)", err, got)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK('frontdesk_migrate')") //nolint:errcheck // the lock also ends with the session
	} else {
		// BEGIN IMMEDIATE (the DSN's _txlock) takes SQLite's write lock,
		// which serialises processes sharing the file, and makes the run
		// all or nothing.
		var tx *sql.Tx
		if tx, err = conn.BeginTx(ctx, nil); err != nil {
			return nil, fmt.Errorf("migrate: begin: %w", err)
		}
		defer func() {
			if err != nil {
				if rerr := tx.Rollback(); rerr != nil {
					err = errors.Join(err, fmt.Errorf("migrate: rollback: %w", rerr))
				}
				applied = nil
				return
			}
			if err = tx.Commit(); err != nil {
				err = fmt.Errorf("migrate: commit: %w", err)
				applied = nil
			}
		}()
		db = tx
	}

	drv, err := openAtlas(d.Dialect, db)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	revs := &revisions{db: db}
	if err := revs.create(ctx); err != nil {
		return nil, err
	}
	if err := atlasmigrate.Validate(dir); err != nil {
		return nil, fmt.Errorf("migrate: migrations/%s/atlas.sum does not match the migration files (%w): "+
			"a file was added, removed or edited without `make migration`; an applied migration must never change, so add a new one instead, then run `make migration-hash`",
			dirFor(d.Dialect), err)
	}
	if err := adoptLegacy(ctx, db, d.Dialect, drv, dir, revs); err != nil {
		return nil, err
	}
	if err := checkApplied(ctx, dir, revs); err != nil {
		return nil, err
	}
	ex, err := atlasmigrate.NewExecutor(drv, dir, revs, atlasmigrate.WithOperatorVersion("frontdesk"))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	pending, err := ex.Pending(ctx)
	if errors.Is(err, atlasmigrate.ErrNoPendingFiles) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	sum, err := dir.Checksum()
	if err != nil {
		return nil, fmt.Errorf("migrate: checksum: %w", err)
	}
	for _, f := range pending {
		if err := ex.Execute(ctx, f); err != nil {
			return applied, fmt.Errorf("migrate %s: %w", f.Name(), err)
		}
		if err := refreshHash(ctx, revs, sum, f); err != nil {
			return applied, err
		}
		applied = append(applied, strings.TrimSuffix(f.Name(), ".sql"))
	}
	return applied, nil
}

// refreshHash records the checksum a file finished with. Atlas keeps the
// checksum of a revision's first attempt; when a MySQL migration stopped
// part-way and its failed statement was corrected, the executor resumed
// after checking that the statements already run are unchanged, and the
// corrected file is the one applied.
func refreshHash(ctx context.Context, revs *revisions, sum atlasmigrate.HashFile, f atlasmigrate.File) error {
	h, err := sum.SumByName(f.Name())
	if err != nil {
		return fmt.Errorf("migrate: %s: %w", f.Name(), err)
	}
	r, err := revs.ReadRevision(ctx, f.Version())
	if err != nil || r.Hash == h {
		return err
	}
	r.Hash = h
	return revs.WriteRevision(ctx, r)
}

// ErrMigrationEdited is returned when a migration applied to the database
// no longer has the checksum it was applied with.
var ErrMigrationEdited = errors.New("an applied migration was edited")

// checkApplied compares every fully applied revision's checksum with the
// file's checksum in atlas.sum. Atlas's checksums chain (each covers the
// files before it), so the first mismatch names the edited file. Revisions
// of files this binary does not have are left alone: an older replica may
// start while a newer one has migrated.
func checkApplied(ctx context.Context, dir atlasmigrate.Dir, revs *revisions) error {
	sum, err := dir.Checksum()
	if err != nil {
		return fmt.Errorf("migrate: checksum: %w", err)
	}
	files, err := dir.Files()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	byVersion := map[string]atlasmigrate.File{}
	for _, f := range files {
		byVersion[f.Version()] = f
	}
	all, err := revs.ReadRevisions(ctx)
	if err != nil {
		return err
	}
	for _, r := range all {
		f, ok := byVersion[r.Version]
		if !ok || r.Hash == "" || r.Applied != r.Total {
			continue
		}
		h, err := sum.SumByName(f.Name())
		if err != nil {
			return fmt.Errorf("migrate: %s: %w", f.Name(), err)
		}
		if h != r.Hash {
			return fmt.Errorf("migrate: %w: %s was applied to this database with checksum %s and now has %s; "+
				"restore the file as it was and put the change in a new migration (`make migration name=...`)",
				ErrMigrationEdited, f.Name(), r.Hash, h)
		}
	}
	return nil
}

// adoptLegacy records the files the old applier applied (its
// schema_migrations rows) as complete revisions, with the checksums of
// the files as they are now, and drops its table. It runs once per
// database; a crash between the two steps only repeats the drop.
func adoptLegacy(ctx context.Context, db atlasschema.ExecQuerier, dialectName string, drv atlasmigrate.Driver, dir atlasmigrate.Dir, revs *revisions) error {
	ok, err := tableExists(ctx, db, dialectName, legacyTable)
	if err != nil || !ok {
		return err
	}
	versions, err := QueryStrings(ctx, db, "SELECT version FROM "+legacyTable+" ORDER BY version")
	if err != nil {
		return fmt.Errorf("migrate: read %s: %w", legacyTable, err)
	}
	files, err := dir.Files()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	byName := map[string]atlasmigrate.File{}
	for _, f := range files {
		byName[strings.TrimSuffix(f.Name(), ".sql")] = f
	}
	sum, err := dir.Checksum()
	if err != nil {
		return fmt.Errorf("migrate: checksum: %w", err)
	}
	for _, v := range versions {
		f, ok := byName[v]
		if !ok {
			return fmt.Errorf("migrate: %s lists %s, which this binary does not have; run the Frontdesk release that applied it, or a newer one", legacyTable, v)
		}
		if _, err := revs.ReadRevision(ctx, f.Version()); err == nil {
			continue
		} else if !errors.Is(err, atlasmigrate.ErrRevisionNotExist) {
			return err
		}
		stmts, err := atlasmigrate.FileStmtDecls(drv, f)
		if err != nil {
			return fmt.Errorf("migrate: read %s: %w", f.Name(), err)
		}
		h, err := sum.SumByName(f.Name())
		if err != nil {
			return fmt.Errorf("migrate: %s: %w", f.Name(), err)
		}
		if err := revs.WriteRevision(ctx, &atlasmigrate.Revision{
			Version: f.Version(), Description: f.Desc(), Type: atlasmigrate.RevisionTypeExecute,
			Applied: len(stmts), Total: len(stmts), ExecutedAt: time.Now(), Hash: h,
			OperatorVersion: "frontdesk (adopted from " + legacyTable + ")",
		}); err != nil {
			return err
		}
	}
	if _, err := db.ExecContext(ctx, "DROP TABLE "+legacyTable); err != nil {
		return fmt.Errorf("migrate: drop %s: %w", legacyTable, err)
	}
	return nil
}

func tableExists(ctx context.Context, db atlasschema.ExecQuerier, dialectName, name string) (bool, error) {
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	if dialectName == dialect.MySQL {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	}
	rows, err := db.QueryContext(ctx, q, name)
	if err != nil {
		return false, fmt.Errorf("migrate: look for %s: %w", name, err)
	}
	defer rows.Close()
	n := 0
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return false, fmt.Errorf("migrate: look for %s: %w", name, err)
		}
	}
	return n > 0, rows.Err()
}

// Querier is what QueryStrings needs: a *sql.DB, *sql.Tx or *sql.Conn.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// QueryStrings runs a query whose one column is text and returns its
// values in order.
func QueryStrings(ctx context.Context, q Querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func openAtlas(dialectName string, db atlasschema.ExecQuerier) (atlasmigrate.Driver, error) {
	if dialectName == dialect.MySQL {
		return atlasmysql.Open(db)
	}
	return atlassqlite.Open(db)
}

// migrationDir loads a dialect's migration files and atlas.sum from fsys
// into Atlas's in-memory directory.
func migrationDir(fsys fs.FS, dialectName string) (*atlasmigrate.MemDir, error) {
	name := dirFor(dialectName)
	entries, err := fs.ReadDir(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	dir := &atlasmigrate.MemDir{}
	for _, e := range entries {
		if e.IsDir() || (path.Ext(e.Name()) != ".sql" && e.Name() != atlasmigrate.HashFileName) {
			continue
		}
		body, err := fs.ReadFile(fsys, path.Join(name, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		if err := dir.WriteFile(e.Name(), body); err != nil {
			return nil, err
		}
	}
	return dir, nil
}

func dirFor(dialectName string) string {
	if dialectName == dialect.MySQL {
		return "mysql"
	}
	return "sqlite"
}
