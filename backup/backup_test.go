package backup

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/user"
	"frontdesk/gid"
	"frontdesk/integrations/storage"
	"frontdesk/internal/testenv"
	"frontdesk/outbox"
)

// sqliteDB opens a fresh, migrated embedded store whatever the test mode,
// for the cross-dialect tests.
func sqliteDB(t *testing.T) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), "", filepath.Join(t.TempDir(), "x.db"), database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// seed fills db through the domain code and ent: a catalog with images
// (products, variants, categories, collections, inventory, images and
// their rendition jobs), users with sessions, a job with a JSON payload,
// NULLs, booleans, unicode and a line break.
func seed(t *testing.T, db *database.DB, products int) {
	t.Helper()
	ctx := context.Background()
	media, err := storage.NewLocal(t.TempDir(), "/media")
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(db.Client, db.Dialect, nil, nil, catalog.Options{TaxRateBPS: 1000, Storage: media})
	if n, err := cat.Seed(ctx, catalog.SeedOptions{Products: products}); err != nil || n != products {
		t.Fatalf("seed catalog: %d, %v", n, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := range 5 {
		u := db.Client.User.Create().SetEmail(fmt.Sprintf("user%d@example.com", i)).SetName("Zoë \"Ω\" O'Brien\nline two").
			SetRole(user.RoleSTAFF).SetNillablePhone(map[bool]*string{true: ptr("+61400000000")}[i%2 == 0]).
			SetNillableEmailVerifiedAt(map[bool]*time.Time{true: &now}[i%2 == 1]).SaveX(ctx)
		db.Client.Session.Create().SetUserID(u.ID).SetTokenHash(fmt.Sprintf("%064d", i)).SetExpiresAt(now.Add(time.Hour)).SetLastUsedAt(now).ExecX(ctx)
	}
	if _, err := outbox.EnqueueDirect(ctx, db.Client, outbox.Job{Kind: "test.kind", Payload: map[string]any{"a": []int{1, 2}, "ü": "<&>"}}); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// archive is a backup read back: manifest and each table's lines.
type archive struct {
	m     *Manifest
	lines map[string][]string
}

func readArchive(t *testing.T, b []byte) archive {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	a := archive{lines: map[string][]string{}}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == manifestEntry {
			a.m = &Manifest{}
			if err := json.Unmarshal(body, a.m); err != nil {
				t.Fatal(err)
			}
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(f.Name, tablePrefix), tableSuffix)
		s := strings.TrimSuffix(string(body), "\n")
		if s == "" {
			a.lines[name] = nil
		} else {
			a.lines[name] = strings.Split(s, "\n")
		}
	}
	return a
}

// writeArchive builds an archive from tables' lines, with a manifest that
// matches them (so Verify accepts it) after edit has changed it.
func writeArchive(t *testing.T, a archive, edit func(*Manifest)) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	m := *a.m
	m.Tables = nil
	for _, ti := range a.m.Tables {
		w, err := zw.Create(tableEntry(ti.Name))
		if err != nil {
			t.Fatal(err)
		}
		var body []byte
		for _, l := range a.lines[ti.Name] {
			body = append(body, l+"\n"...)
		}
		if _, err := w.Write(body); err != nil {
			t.Fatal(err)
		}
		h, rows := sha(body)
		ti.SHA256, ti.Rows = h, rows
		m.Tables = append(m.Tables, ti)
	}
	m.Checksum = m.checksum()
	if edit != nil {
		edit(&m)
	}
	w, err := zw.Create(manifestEntry)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewEncoder(w).Encode(m); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) (string, int64) {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), int64(bytes.Count(b, []byte{'\n'}))
}

func backupBytes(t *testing.T, db *database.DB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Write(context.Background(), db, &buf, time.Now()); err != nil {
		t.Fatalf("backup: %v", err)
	}
	return buf.Bytes()
}

func restoreBytes(db *database.DB, b []byte, force bool) (*Manifest, error) {
	return Restore(context.Background(), db, bytes.NewReader(b), int64(len(b)), RestoreOptions{Force: force})
}

// counts is every table's row count, by an independent COUNT(*).
func counts(t *testing.T, db *database.DB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, tb := range tables() {
		var n int64
		if err := db.SQL.QueryRow("SELECT COUNT(*) FROM " + quote(tb.Name)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tb.Name] = n
	}
	return out
}

func total(c map[string]int64) (n int64) {
	for _, v := range c {
		n += v
	}
	return n
}

// assertSameData compares two stores table by table: row counts by
// COUNT(*), every row through the backup encoding, and users, sessions,
// products and jobs through ent.
func assertSameData(t *testing.T, want, got *database.DB) {
	t.Helper()
	wc, gc := counts(t, want), counts(t, got)
	if diff := cmp.Diff(wc, gc); diff != "" {
		t.Fatalf("row counts differ (-source +restored):\n%s", diff)
	}
	wa, ga := readArchive(t, backupBytes(t, want)), readArchive(t, backupBytes(t, got))
	for name, lines := range wa.lines {
		if diff := cmp.Diff(lines, ga.lines[name]); diff != "" {
			t.Fatalf("table %s differs (-source +restored):\n%s", name, diff)
		}
	}
	ctx := context.Background()
	eq := cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
	// Edges and ent's unexported config are not data.
	edges := cmp.FilterPath(func(p cmp.Path) bool {
		f, ok := p.Last().(cmp.StructField)
		return ok && f.Name() == "Edges"
	}, cmp.Ignore())
	opts := []cmp.Option{eq, edges, cmpopts.IgnoreUnexported(ent.User{}, ent.Session{}, ent.Product{}, ent.Job{})}
	if diff := cmp.Diff(want.Client.User.Query().Order(ent.Asc("id")).AllX(ctx), got.Client.User.Query().Order(ent.Asc("id")).AllX(ctx), opts...); diff != "" {
		t.Fatalf("users differ:\n%s", diff)
	}
	if diff := cmp.Diff(want.Client.Session.Query().Order(ent.Asc("id")).AllX(ctx), got.Client.Session.Query().Order(ent.Asc("id")).AllX(ctx), opts...); diff != "" {
		t.Fatalf("sessions differ:\n%s", diff)
	}
	if diff := cmp.Diff(want.Client.Product.Query().Order(ent.Asc("id")).AllX(ctx), got.Client.Product.Query().Order(ent.Asc("id")).AllX(ctx), opts...); diff != "" {
		t.Fatalf("products differ:\n%s", diff)
	}
	if diff := cmp.Diff(want.Client.Job.Query().Order(ent.Asc("id")).AllX(ctx), got.Client.Job.Query().Order(ent.Asc("id")).AllX(ctx), opts...); diff != "" {
		t.Fatalf("jobs differ:\n%s", diff)
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := testenv.DB(t, database.Options{})
	seed(t, src, 8)
	b := backupBytes(t, src)
	a := readArchive(t, b)
	if a.m.Format != FormatVersion || a.m.Dialect != dialectName(src.Dialect) || a.m.Application != "frontdesk" {
		t.Fatalf("manifest: %+v", a.m)
	}
	if want, _ := schemaVersion(src.Dialect); a.m.SchemaVersion != want {
		t.Fatalf("schema version %s, want %s", a.m.SchemaVersion, want)
	}
	if len(a.m.Tables) != len(tables()) || a.m.Rows() != total(counts(t, src)) {
		t.Fatalf("manifest lists %d tables, %d rows", len(a.m.Tables), a.m.Rows())
	}
	for _, name := range []string{"products", "variants", "inventories", "categories", "users", "sessions", "jobs", "product_images"} {
		if len(a.lines[name]) == 0 {
			t.Fatalf("seed left %s empty; the test would prove nothing about it", name)
		}
	}

	dst := testenv.DB(t, database.Options{})
	// A dry run checks everything and changes nothing.
	if _, err := Restore(ctx, dst, bytes.NewReader(b), int64(len(b)), RestoreOptions{DryRun: true}); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if n := total(counts(t, dst)); n != 0 {
		t.Fatalf("dry run wrote %d rows", n)
	}
	m, err := restoreBytes(dst, b, false)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if m.Checksum != a.m.Checksum {
		t.Fatalf("restore reported checksum %s, want %s", m.Checksum, a.m.Checksum)
	}
	assertSameData(t, src, dst)
	if dst.Dialect == dialect.SQLite {
		// The full-text index is rebuilt by its triggers.
		var n int
		if err := dst.SQL.QueryRowContext(ctx, "SELECT COUNT(*) FROM product_search WHERE product_search MATCH 'demo'").Scan(&n); err != nil || n != 8 {
			t.Fatalf("full-text matches after restore: %d, %v", n, err)
		}
	}

	// A database with data is refused without --force, unchanged.
	extra := dst.Client.User.Create().SetEmail("late@example.com").SaveX(ctx)
	before := counts(t, dst)
	if _, err := restoreBytes(dst, b, false); !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("restore into a full database: %v", err)
	}
	if _, err := Restore(ctx, dst, bytes.NewReader(b), int64(len(b)), RestoreOptions{DryRun: true}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("dry run into a full database: %v", err)
	}
	if _, err := Restore(ctx, dst, bytes.NewReader(b), int64(len(b)), RestoreOptions{DryRun: true, Force: true}); err != nil {
		t.Fatalf("forced dry run: %v", err)
	}
	if diff := cmp.Diff(before, counts(t, dst)); diff != "" {
		t.Fatalf("forced dry run changed the database:\n%s", diff)
	}
	if diff := cmp.Diff(before, counts(t, dst)); diff != "" {
		t.Fatalf("refused restore changed the database:\n%s", diff)
	}
	// With --force its data is replaced by the backup's.
	if _, err := restoreBytes(dst, b, true); err != nil {
		t.Fatalf("forced restore: %v", err)
	}
	if dst.Client.User.Query().Where(user.ID(extra.ID)).ExistX(ctx) {
		t.Fatal("forced restore kept a row the backup does not have")
	}
	assertSameData(t, src, dst)
}

// TestCrossDialect restores a SQLite backup into MariaDB and a MariaDB
// backup into SQLite: the way from the embedded default to production.
func TestCrossDialect(t *testing.T) {
	if !testenv.External() {
		t.Skip("needs FRONTDESK_TEST_DATABASE_URL (MySQL/MariaDB) beside SQLite")
	}
	lite := sqliteDB(t)
	seed(t, lite, 6)
	maria := testenv.DB(t, database.Options{})
	if _, err := restoreBytes(maria, backupBytes(t, lite), false); err != nil {
		t.Fatalf("sqlite → mariadb: %v", err)
	}
	assertSameData(t, lite, maria)

	maria.Client.User.Create().SetEmail("only-in-maria@example.com").ExecX(context.Background())
	back := sqliteDB(t)
	if _, err := restoreBytes(back, backupBytes(t, maria), false); err != nil {
		t.Fatalf("mariadb → sqlite: %v", err)
	}
	assertSameData(t, maria, back)
}

// TestSnapshotUnderConcurrentWrites runs backups while writers insert a
// user and its session in one transaction each: a backup must hold both
// or neither. (Without the snapshot transaction, sessions, read before
// users, miss the sessions of users read later.)
func TestSnapshotUnderConcurrentWrites(t *testing.T) {
	src := testenv.DB(t, database.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			for i := 0; ; i++ {
				if ctx.Err() != nil {
					errs <- nil
					return
				}
				tx, err := src.Client.Tx(ctx)
				if err != nil {
					if ctx.Err() != nil {
						err = nil
					}
					errs <- err
					return
				}
				u, err := tx.User.Create().SetEmail(fmt.Sprintf("w%d-%d@example.com", w, i)).Save(ctx)
				if err == nil {
					err = tx.Session.Create().SetUserID(u.ID).SetTokenHash(gid.New("tok").String()).
						SetExpiresAt(time.Now().Add(time.Hour)).SetLastUsedAt(time.Now()).Exec(ctx)
				}
				if err == nil {
					err = tx.Commit()
				} else {
					_ = tx.Rollback()
				}
				if err != nil && ctx.Err() == nil {
					errs <- err
					return
				}
			}
		}()
	}
	var last []byte
	seen := 0
	for range 8 {
		b := backupBytes(t, src)
		a := readArchive(t, b)
		users := map[string]bool{}
		for _, l := range a.lines["users"] {
			var row []any
			if err := json.Unmarshal([]byte(l), &row); err != nil {
				t.Fatal(err)
			}
			users[row[0].(string)] = true
		}
		idx := -1
		for _, ti := range a.m.Tables {
			if ti.Name == "sessions" {
				for i, c := range ti.Columns {
					if c == "user_id" {
						idx = i
					}
				}
			}
		}
		withSession := map[string]bool{}
		for _, l := range a.lines["sessions"] {
			var row []any
			if err := json.Unmarshal([]byte(l), &row); err != nil {
				t.Fatal(err)
			}
			uid := row[idx].(string)
			if !users[uid] {
				t.Fatalf("backup holds a session of user %s but not the user", uid)
			}
			withSession[uid] = true
		}
		for uid := range users {
			if !withSession[uid] {
				t.Fatalf("backup holds user %s but not the session written with it (%d users, %d sessions)", uid, len(users), len(a.lines["sessions"]))
			}
		}
		seen = len(users)
		last = b
	}
	cancel()
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	if seen == 0 {
		t.Fatal("the writers wrote nothing during the backups")
	}
	// The last snapshot restores cleanly (its foreign keys hold).
	if _, err := restoreBytes(testenv.DB(t, database.Options{}), last, false); err != nil {
		t.Fatalf("restore the snapshot: %v", err)
	}
}

// TestBadFilesChangeNothing: damaged, truncated, edited and foreign files
// are refused before anything changes, also with --force on a database
// with data; a file whose damage only shows while loading rolls back.
func TestBadFilesChangeNothing(t *testing.T) {
	src := testenv.DB(t, database.Options{})
	seed(t, src, 3)
	good := backupBytes(t, src)
	a := readArchive(t, good)

	zr, err := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	var flipped []byte
	for _, f := range zr.File {
		if f.Name == tableEntry("products") {
			off, err := f.DataOffset()
			if err != nil {
				t.Fatal(err)
			}
			flipped = bytes.Clone(good)
			flipped[off+int64(f.CompressedSize64/2)] ^= 0x55
		}
	}
	edited := archive{m: a.m, lines: map[string][]string{}}
	for k, v := range a.lines {
		edited.lines[k] = v
	}
	edited.lines["users"] = append([]string{}, a.lines["users"]...)
	edited.lines["users"][0] = strings.Replace(edited.lines["users"][0], "user0@", "evil0@", 1)
	editedBytes := writeArchive(t, edited, func(m *Manifest) {
		// Keep the original manifest: the content no longer matches it.
		m.Tables, m.Checksum = a.m.Tables, a.m.Checksum
	})
	// Valid by its checksums, but with a row that cannot be loaded: in the
	// first table (after --force has deleted everything) and in a table
	// loaded after most others. The load must roll back.
	broken := func(table string) []byte {
		b := archive{m: a.m, lines: map[string][]string{}}
		for k, v := range a.lines {
			b.lines[k] = v
		}
		b.lines[table] = append(append([]string{}, a.lines[table]...), `["broken"]`)
		return writeArchive(t, b, nil)
	}
	earlyBytes, lateBytes := broken(a.m.Tables[0].Name), broken("users")
	cases := map[string][]byte{
		"truncated":          good[:len(good)/2],
		"truncated end":      good[:len(good)-10],
		"flipped byte":       flipped,
		"edited row":         editedBytes,
		"empty":              {},
		"not a zip":          []byte("id,name\n1,x\n"),
		"zip without tables": writeArchive(t, archive{m: &Manifest{Format: 1, Application: "x"}}, nil),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			empty := testenv.DB(t, database.Options{})
			if _, err := restoreBytes(empty, b, false); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("restore of a %s file: %v, want ErrCorrupt", name, err)
			}
			if n := total(counts(t, empty)); n != 0 {
				t.Fatalf("refused restore wrote %d rows", n)
			}
		})
	}
	full := testenv.DB(t, database.Options{})
	seed(t, full, 2)
	before := readArchive(t, backupBytes(t, full)).lines
	for name, b := range map[string][]byte{"flipped": flipped, "edited": editedBytes, "early failure": earlyBytes, "late failure": lateBytes} {
		_, err := restoreBytes(full, b, true)
		if err == nil {
			t.Fatalf("forced restore of the %s file succeeded", name)
		}
		if diff := cmp.Diff(before, readArchive(t, backupBytes(t, full)).lines); diff != "" {
			t.Fatalf("failed forced restore (%s: %v) changed the database:\n%s", name, err, diff)
		}
	}
}

// TestVersionMismatchRefused: a backup from another schema version or a
// newer format, and a target not migrated to this binary, are refused
// with a message that says what to do.
func TestVersionMismatchRefused(t *testing.T) {
	ctx := context.Background()
	src := testenv.DB(t, database.Options{})
	seed(t, src, 2)
	a := readArchive(t, backupBytes(t, src))
	older := writeArchive(t, a, func(m *Manifest) { m.SchemaVersion = "20250101000000_init" })
	newer := writeArchive(t, a, func(m *Manifest) { m.Format = FormatVersion + 1 })
	dst := testenv.DB(t, database.Options{})
	_, err := restoreBytes(dst, older, false)
	if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "20250101000000_init") || !strings.Contains(err.Error(), a.m.SchemaVersion) {
		t.Fatalf("older schema: %v", err)
	}
	if _, err := restoreBytes(dst, newer, false); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "format 2") {
		t.Fatalf("newer format: %v", err)
	}
	// A target missing this binary's last migration.
	version, _ := schemaVersion(dst.Dialect)
	if _, err := dst.SQL.ExecContext(ctx, "DELETE FROM "+database.RevisionTable+" WHERE CONCAT(`version`, '_', `description`) = ?", version); err != nil {
		t.Fatal(err)
	}
	if _, err := restoreBytes(dst, writeArchive(t, a, nil), false); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "frontdesk migrate") {
		t.Fatalf("unmigrated target: %v", err)
	}
	if n := total(counts(t, dst)); n != 0 {
		t.Fatalf("refused restores wrote %d rows", n)
	}
	// A backup of such a database is refused too.
	if _, err := Write(ctx, dst, io.Discard, time.Now()); !errors.Is(err, ErrSchema) {
		t.Fatalf("backup of an unmigrated database: %v", err)
	}
}

// TestUnknownTableRefused: a table the binary does not know would be
// left out of the backup, so the backup is refused instead.
func TestUnknownTableRefused(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	if _, err := db.SQL.Exec("CREATE TABLE operator_notes (id VARCHAR(10) PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), db, io.Discard, time.Now()); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "operator_notes") {
		t.Fatalf("backup with an unknown table: %v", err)
	}
}
