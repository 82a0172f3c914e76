package database_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"

	"frontdesk/database"
	"frontdesk/internal/testenv"
	"frontdesk/migrations"
)

// freshDB opens an empty, unmigrated store of the dialect tests run on.
func freshDB(t *testing.T) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), testenv.DatabaseURL(t), filepath.Join(t.TempDir(), "test.db"), database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func dialectDir(db *database.DB) string {
	if db.Dialect == dialect.MySQL {
		return "mysql"
	}
	return "sqlite"
}

// copyMigrations copies the embedded migrations into a map the test may
// edit.
func copyMigrations(t *testing.T) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, p)
		out[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rehash rewrites a directory's atlas.sum from its files, as `make
// migration-hash` does.
func rehash(t *testing.T, m fstest.MapFS, dir string) {
	t.Helper()
	mem := &atlasmigrate.MemDir{}
	for name, f := range m {
		if path.Dir(name) == dir && strings.HasSuffix(name, ".sql") {
			if err := mem.WriteFile(path.Base(name), f.Data); err != nil {
				t.Fatal(err)
			}
		}
	}
	sum, err := mem.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	b, err := sum.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	m[dir+"/atlas.sum"] = &fstest.MapFile{Data: b}
}

func firstFile(t *testing.T, m fstest.MapFS, dir string) string {
	t.Helper()
	all, err := database.Migrations(map[string]string{"mysql": dialect.MySQL, "sqlite": dialect.SQLite}[dir])
	if err != nil || len(all) == 0 {
		t.Fatalf("migrations: %v", err)
	}
	return dir + "/" + all[0].Version + ".sql"
}

func tableExists(t *testing.T, db *database.DB, name string) bool {
	t.Helper()
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	if db.Dialect == dialect.MySQL {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	}
	var n int
	if err := db.SQL.QueryRowContext(context.Background(), q, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func revisionCount(t *testing.T, db *database.DB) int {
	t.Helper()
	var n int
	if err := db.SQL.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+database.RevisionTable).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An applied migration that is edited afterwards stops `frontdesk
// migrate`, whether or not atlas.sum was rewritten to match, and nothing
// of the edit runs.
func TestEditedAppliedMigrationFails(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	dir := dialectDir(db)
	m := copyMigrations(t)
	if _, err := db.MigrateFS(ctx, m); err != nil {
		t.Fatal(err)
	}
	before := revisionCount(t, db)
	first := firstFile(t, m, dir)
	m[first] = &fstest.MapFile{Data: append(append([]byte(nil), m[first].Data...), "\nCREATE TABLE edited_probe (id INT);\n"...)}

	_, err := db.MigrateFS(ctx, m)
	if err == nil || !strings.Contains(err.Error(), "atlas.sum does not match") || !errors.Is(err, atlasmigrate.ErrChecksumMismatch) {
		t.Fatalf("edit without atlas.sum: err = %v, want the atlas.sum mismatch", err)
	}

	rehash(t, m, dir)
	_, err = db.MigrateFS(ctx, m)
	if !errors.Is(err, database.ErrMigrationEdited) || !strings.Contains(err.Error(), path.Base(first)) {
		t.Fatalf("edit with a rewritten atlas.sum: err = %v, want ErrMigrationEdited naming %s", err, path.Base(first))
	}
	if tableExists(t, db, "edited_probe") || revisionCount(t, db) != before {
		t.Fatal("a refused migration run changed the database")
	}
}

// A new migration added after the others is applied, once.
func TestNewMigrationIsApplied(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	dir := dialectDir(db)
	m := copyMigrations(t)
	if _, err := db.MigrateFS(ctx, m); err != nil {
		t.Fatal(err)
	}
	m[dir+"/29991231000000_probe.sql"] = &fstest.MapFile{Data: []byte("-- a comment; with a semicolon\nCREATE TABLE probe (id INT, note VARCHAR(20) DEFAULT 'a;b');\nINSERT INTO probe (id) VALUES (1);\n")}
	rehash(t, m, dir)
	applied, err := db.MigrateFS(ctx, m)
	if err != nil || len(applied) != 1 || applied[0] != "29991231000000_probe" {
		t.Fatalf("applied %v, %v; want the probe migration", applied, err)
	}
	var note string
	if err := db.SQL.QueryRowContext(ctx, "SELECT note FROM probe").Scan(&note); err != nil || note != "a;b" {
		t.Fatalf("probe row: %q, %v", note, err)
	}
	if applied, err := db.MigrateFS(ctx, m); err != nil || len(applied) != 0 {
		t.Fatalf("second run applied %v, %v", applied, err)
	}
}

// A migration that fails part-way on MySQL (whose DDL commits statement
// by statement) resumes at the failed statement once it is corrected; on
// SQLite the whole run rolls back and applies cleanly the second time.
// The old applier needed a person to repair the database in between.
func TestMigrationFailedPartWayResumes(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	dir := dialectDir(db)
	m := copyMigrations(t)
	if _, err := db.MigrateFS(ctx, m); err != nil {
		t.Fatal(err)
	}
	name := dir + "/29991231000000_partial.sql"
	m[name] = &fstest.MapFile{Data: []byte("CREATE TABLE partial_one (id INT);\nINSERT INTO partial_missing (id) VALUES (1);\nCREATE TABLE partial_two (id INT);\n")}
	rehash(t, m, dir)
	if _, err := db.MigrateFS(ctx, m); err == nil || !strings.Contains(err.Error(), "partial_missing") {
		t.Fatalf("err = %v, want the failed statement", err)
	}
	if got, want := tableExists(t, db, "partial_one"), db.Dialect == dialect.MySQL; got != want {
		t.Fatalf("partial_one exists = %v after the failure, want %v", got, want)
	}
	// The fix corrects the failed statement; the one that ran stays.
	m[name] = &fstest.MapFile{Data: []byte("CREATE TABLE partial_one (id INT);\nINSERT INTO partial_one (id) VALUES (1);\nCREATE TABLE partial_two (id INT);\n")}
	rehash(t, m, dir)
	applied, err := db.MigrateFS(ctx, m)
	if err != nil || len(applied) != 1 {
		t.Fatalf("after the fix: applied %v, %v", applied, err)
	}
	if !tableExists(t, db, "partial_two") {
		t.Fatal("partial_two was not created")
	}
	// The finished file's checksum is the corrected one: the next run
	// finds nothing edited and nothing to do.
	if applied, err := db.MigrateFS(ctx, m); err != nil || len(applied) != 0 {
		t.Fatalf("third run: applied %v, %v", applied, err)
	}
}

// A database migrated by the applier Frontdesk had before Atlas's
// executor (its schema_migrations table) is adopted in place: nothing is
// applied again, the ent schema still matches, and later migrations apply.
func TestOldApplierDatabaseIsAdopted(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	all, err := database.Migrations(db.Dialect)
	if err != nil {
		t.Fatal(err)
	}
	legacyMigrate(t, db)
	applied, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("adopt: %v", err)
	}
	if len(applied) != 0 {
		t.Fatalf("the executor applied %v again on a database the old applier had migrated", applied)
	}
	if n := revisionCount(t, db); n != len(all) {
		t.Fatalf("%d revisions adopted, want %d", n, len(all))
	}
	if tableExists(t, db, "schema_migrations") {
		t.Fatal("schema_migrations was kept after adoption")
	}
	assertSchemaMatchesEnt(t, db)
	// The adopted checksums guard the files like any other revision.
	m := copyMigrations(t)
	first := firstFile(t, m, dialectDir(db))
	m[first] = &fstest.MapFile{Data: append(append([]byte(nil), m[first].Data...), "\n-- edited\n"...)}
	rehash(t, m, dialectDir(db))
	if _, err := db.MigrateFS(ctx, m); !errors.Is(err, database.ErrMigrationEdited) {
		t.Fatalf("edited adopted migration: %v", err)
	}
}

func assertSchemaMatchesEnt(t *testing.T, db *database.DB) {
	t.Helper()
	var buf strings.Builder
	if err := db.Client.Schema.WriteTo(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line != "BEGIN;" && line != "COMMIT;" && !strings.HasPrefix(line, "--") {
			t.Fatalf("the ent schema differs from the migrated database: %s", line)
		}
	}
}

// legacyMigrate is the applier Frontdesk used before Atlas's executor,
// kept here as it was so the upgrade is tested against the real thing:
// statements split on semicolons at line ends, one transaction a file,
// versions recorded in schema_migrations.
func legacyMigrate(t *testing.T, db *database.DB) {
	t.Helper()
	ctx := context.Background()
	dir := dialectDir(db)
	if _, err := db.SQL.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version VARCHAR(128) NOT NULL PRIMARY KEY,
		applied_at VARCHAR(40) NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	all, err := database.Migrations(db.Dialect)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		body, err := fs.ReadFile(migrations.FS, dir+"/"+m.Version+".sql")
		if err != nil {
			t.Fatal(err)
		}
		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range legacySplit(string(body)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("legacy %s: %v", m.Version, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
			m.Version, time.Now().UTC().Format(time.RFC3339)); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil && !errors.Is(err, sql.ErrTxDone) {
			t.Fatal(err)
		}
	}
}

func legacySplit(body string) []string {
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
