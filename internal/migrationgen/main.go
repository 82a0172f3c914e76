// Command migrationgen writes a new versioned migration for each dialect by
// diffing the ent schema against the schema the existing migrations build.
// Run it with `make migration name=add_orders`; review the files it writes.
// It also rewrites each directory's atlas.sum, which is committed; `make
// migration-hash` rewrites only atlas.sum (after a rebase renamed files).
//
// SQLite diffs run against an in-memory database. MySQL diffs need a
// scratch MySQL/MariaDB server, FRONTDESK_DEV_DATABASE_URL (default
// mysql://root@127.0.0.1:3306/frontdesk_migrationgen); the database is
// dropped and recreated on every run.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"strings"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"

	"frontdesk/database"
	"frontdesk/ent/migrate"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] == "" {
		log.Fatal("usage: migrationgen <name> | migrationgen -hash")
	}
	if os.Args[1] == "-hash" {
		// After a rebase that renamed or added migration files: rewrite
		// both atlas.sum files from the files as they are, and nothing else.
		for _, p := range []string{"migrations/sqlite", "migrations/mysql"} {
			dir, err := atlasmigrate.NewLocalDir(p)
			if err == nil {
				err = writeSum(dir)
			}
			if err != nil {
				log.Fatalf("%s: %v", p, err)
			}
		}
		return
	}
	if err := run(context.Background(), os.Args[1]); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, name string) error {
	sqliteDB, err := sql.Open("sqlite", "file:migrationgen?mode=memory&_pragma=foreign_keys(1)")
	if err != nil {
		return err
	}
	sqliteDB.SetMaxOpenConns(1)
	if err := diff(ctx, dialect.SQLite, sqliteDB, "migrations/sqlite", name); err != nil {
		return err
	}

	devURL := os.Getenv("FRONTDESK_DEV_DATABASE_URL")
	if devURL == "" {
		devURL = "mysql://root@127.0.0.1:3306/frontdesk_migrationgen"
	}
	cfg, err := database.MySQLConfig(devURL)
	if err != nil {
		return err
	}
	dbName := cfg.DBName
	cfg.DBName = ""
	admin, err := openMySQL(cfg)
	if err != nil {
		return err
	}
	defer admin.Close()
	for _, stmt := range []string{"DROP DATABASE IF EXISTS " + dbName, "CREATE DATABASE " + dbName + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"} {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("prepare dev database: %w", err)
		}
	}
	cfg.DBName = dbName
	mysqlDB, err := openMySQL(cfg)
	if err != nil {
		return err
	}
	defer mysqlDB.Close()
	return diff(ctx, dialect.MySQL, mysqlDB, "migrations/mysql", name)
}

func diff(ctx context.Context, dialectName string, db *sql.DB, dirPath, name string) error {
	if err := os.MkdirAll(dirPath, 0o755); err != nil {
		return err
	}
	dir, err := atlasmigrate.NewLocalDir(dirPath)
	if err != nil {
		return fmt.Errorf("open %s: %w", dirPath, err)
	}
	// atlas.sum is committed: the executor (package database) refuses a
	// directory whose files differ from it. It is rewritten here first,
	// so a migration renamed to a later timestamp after a rebase does not
	// stop the diff; NamedDiff then adds the new file's line.
	if err := writeSum(dir); err != nil {
		return fmt.Errorf("checksum %s: %w", dirPath, err)
	}
	m, err := schema.NewMigrate(entsql.OpenDB(dialectName, db),
		schema.WithDir(dir),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(dialectName),
		schema.WithFormatter(atlasmigrate.DefaultFormatter),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
	)
	if err != nil {
		return fmt.Errorf("%s: %w", dialectName, err)
	}
	if err := m.NamedDiff(ctx, strings.ReplaceAll(name, " ", "_"), migrate.Tables...); err != nil {
		return fmt.Errorf("%s diff: %w", dialectName, err)
	}
	return nil
}

func writeSum(dir atlasmigrate.Dir) error {
	sum, err := dir.Checksum()
	if err != nil {
		return err
	}
	return atlasmigrate.WriteSumFile(dir, sum)
}

func openMySQL(cfg *mysql.Config) (*sql.DB, error) {
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}
