// Package database opens Frontdesk's store, the embedded SQLite file or a
// MySQL/MariaDB server, behind one ent client, and applies migrations.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"frontdesk/ent"
	// Schemas with hooks move ent's defaults and validators into the
	// runtime package; every process opens the store here, so load it here.
	_ "frontdesk/ent/runtime"
)

// DB is an open store.
type DB struct {
	Client  *ent.Client
	SQL     *sql.DB
	Dialect string // dialect.SQLite or dialect.MySQL
}

// Options tune how the store is opened.
type Options struct {
	// Driver wraps the ent driver, for example to count queries in tests.
	Driver func(dialect.Driver) dialect.Driver
}

// Open opens the embedded SQLite file at sqlitePath when databaseURL is
// empty, and the MySQL database it names otherwise.
func Open(ctx context.Context, databaseURL, sqlitePath string, opts Options) (*DB, error) {
	var (
		db          *sql.DB
		dialectName string
		err         error
	)
	if databaseURL == "" {
		dialectName = dialect.SQLite
		db, err = openSQLite(sqlitePath)
	} else {
		dialectName = dialect.MySQL
		db, err = openMySQL(databaseURL)
	}
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s: %w", dialectName, err)
	}
	var drv dialect.Driver = entsql.OpenDB(dialectName, db)
	if opts.Driver != nil {
		drv = opts.Driver(drv)
	}
	return &DB{Client: ent.NewClient(ent.Driver(drv)), SQL: db, Dialect: dialectName}, nil
}

// Close closes the client and its pool.
func (d *DB) Close() error { return d.Client.Close() }

// Ping checks that the database answers; /readyz uses it.
func (d *DB) Ping(ctx context.Context) error { return d.SQL.PingContext(ctx) }

func openSQLite(path string) (*sql.DB, error) {
	if dir := dirOf(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	}
	// WAL lets readers run beside the one writer; busy_timeout makes a
	// second writer wait instead of failing; _txlock=immediate takes the
	// write lock at BEGIN so two read-then-write transactions cannot
	// deadlock on the upgrade.
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Idle connections are kept up to the open limit: with database/sql's
	// default of two, every burst of more than two concurrent readers
	// closed and reopened connections (each reopening parses the schema
	// and starts an empty page cache), and a cache-miss listing at 16
	// clients ran slower than at one. Each connection's page cache is
	// SQLite's default 2 MB, so the pool holds at most 16 MB of it.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// MySQLConfig turns a mysql://user:pass@host:port/db?param=v URL into the
// driver's configuration, with the settings Frontdesk relies on: UTC times
// parsed into time.Time and utf8mb4 everywhere.
func MySQLConfig(databaseURL string) (*mysql.Config, error) {
	u, err := url.Parse(databaseURL)
	if err != nil || u.Scheme != "mysql" {
		return nil, fmt.Errorf("parse database URL: expected mysql://user:password@host:port/dbname")
	}
	addr := u.Host
	if u.Port() == "" {
		addr += ":3306"
	}
	q := url.Values{}
	q.Set("parseTime", "true")
	q.Set("loc", "UTC")
	q.Set("charset", "utf8mb4")
	q.Set("collation", "utf8mb4_unicode_ci")
	q.Set("time_zone", "'+00:00'")
	for k, v := range u.Query() {
		q.Set(k, v[0])
	}
	// Statements go out with their arguments interpolated by the driver
	// (one round trip) instead of prepare, execute and close (three), but
	// only on utf8mb4: the driver escapes byte by byte, which is exact for
	// UTF-8, where no byte of a multi-byte character can be a backslash
	// or quote; in big5, gbk, sjis or cp932 a character's second byte can
	// be 0x5c, which is why the driver refuses their collations
	// (errInvalidDSNUnsafeCollation) but not their charset= alone. A URL
	// that names another charset or collation, or sets interpolateParams
	// itself, keeps what it asked for.
	if _, set := q["interpolateParams"]; !set && interpolationSafe(q.Get("charset"), q.Get("collation")) {
		q.Set("interpolateParams", "true")
	}
	// Times go out at the microsecond, the precision of every DATETIME(6)
	// column: MariaDB makes no index range of a comparison with a literal
	// of nine fractional digits, as the driver writes time.Now(), and
	// scans the index instead (the search index's catch-up read all
	// 100,000 products' update times, 10-30 ms, instead of the few
	// written: TestSearchCatchUpPlan).
	if _, set := q["timeTruncate"]; !set {
		q.Set("timeTruncate", "1us")
	}
	password, _ := u.User.Password()
	c, err := mysql.ParseDSN(fmt.Sprintf("%s:%s@tcp(%s)/%s?%s",
		u.User.Username(), password, addr, strings.Trim(u.Path, "/"), q.Encode()))
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	return c, nil
}

// interpolationSafe reports whether client-side interpolation is exact for
// a connection's character set: utf8mb4 only (several charsets, in the
// order the driver tries them, are all checked).
func interpolationSafe(charset, collation string) bool {
	for _, cs := range strings.Split(charset, ",") {
		if cs != "utf8mb4" {
			return false
		}
	}
	return strings.HasPrefix(collation, "utf8mb4_")
}

func openMySQL(databaseURL string) (*sql.DB, error) {
	c, err := MySQLConfig(databaseURL)
	if err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("mysql connector: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxLifetime(30 * time.Minute)
	return db, nil
}

func dirOf(path string) string {
	i := strings.LastIndexAny(path, `/\`)
	if i < 0 {
		return ""
	}
	return path[:i]
}
