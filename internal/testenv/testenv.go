// Package testenv gives tests the real services they run against. With no
// FRONTDESK_TEST_* variables a test gets an embedded SQLite file and the
// in-process cache. With FRONTDESK_TEST_DATABASE_URL (mysql://…) each call
// creates a fresh MySQL database and drops it afterwards; with
// FRONTDESK_TEST_REDIS_URL each call gets its own key prefix on that Redis.
// When a variable is set and its server does not answer, the test fails:
// it never passes silently without the server it was asked to use.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"frontdesk/cache"
	"frontdesk/config"
	"frontdesk/database"
	"frontdesk/ratelimit"
)

// External reports whether tests run against MySQL rather than SQLite.
func External() bool { return os.Getenv("FRONTDESK_TEST_DATABASE_URL") != "" }

// Config returns a development configuration for one test: a private data
// dir, a private database and a private Redis prefix where configured.
func Config(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	cfg.Addr = "127.0.0.1:0"
	cfg.DatabaseURL = DatabaseURL(t)
	cfg.RedisURL, cfg.RedisPrefix = Redis(t)
	cfg.ShutdownTimeout = 5 * time.Second
	// A worker would make the scheduled backup as soon as it starts (the
	// period is caught up); tests of backups switch it back on.
	cfg.BackupSchedule = ""
	// Tests send many requests from one loopback address; the request
	// budgets are switched off unless a test sets them (the rate limit
	// tests in app/ do).
	cfg.RateLimitAnonymous, cfg.RateLimitUser = ratelimit.Budget{}, ratelimit.Budget{}
	cfg.RateLimitStaff, cfg.RateLimitAPIKey = ratelimit.Budget{}, ratelimit.Budget{}
	return cfg
}

// DB opens a fresh, migrated store for one test.
func DB(t testing.TB, opts database.Options) *database.DB {
	t.Helper()
	ctx := context.Background()
	dbURL := DatabaseURL(t)
	db, err := database.Open(ctx, dbURL, filepath.Join(t.TempDir(), "test.db"), opts)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return db
}

// DatabaseURL returns "" (embedded SQLite) or the URL of a new MySQL
// database that is dropped when the test ends.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("FRONTDESK_TEST_DATABASE_URL")
	if base == "" {
		return ""
	}
	cfg, err := database.MySQLConfig(base)
	if err != nil {
		t.Fatalf("FRONTDESK_TEST_DATABASE_URL: %v", err)
	}
	name := "fdt_" + randomHex(6)
	cfg.DBName = ""
	admin, err := openMySQL(cfg)
	if err != nil {
		t.Fatalf("FRONTDESK_TEST_DATABASE_URL is set but MySQL does not answer: %v", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatalf("FRONTDESK_TEST_DATABASE_URL is set but creating a test database failed: %v", err)
	}
	t.Cleanup(func() {
		admin, err := openMySQL(cfg)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, _ := url.Parse(base) // MySQLConfig has parsed it already
	u.Path = "/" + name
	return u.String()
}

// Redis returns the Redis URL and a private key prefix, or two empty
// strings when tests run with the in-process cache. Keys under the prefix
// are deleted when the test ends.
func Redis(t testing.TB) (redisURL, prefix string) {
	t.Helper()
	redisURL = os.Getenv("FRONTDESK_TEST_REDIS_URL")
	if redisURL == "" {
		return "", ""
	}
	opts, err := cache.ParseURL(redisURL)
	if err != nil {
		t.Fatalf("FRONTDESK_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewUniversalClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		t.Fatalf("FRONTDESK_TEST_REDIS_URL is set but Redis does not answer: %v", err)
	}
	prefix = "fdt:" + randomHex(6) + ":"
	t.Cleanup(func() {
		defer client.Close()
		ctx := context.Background()
		sweep := func(ctx context.Context, c *redis.Client) error {
			iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
			for iter.Next(ctx) {
				// One key a command: on a cluster the keys live in
				// different slots.
				if err := c.Del(ctx, iter.Val()).Err(); err != nil {
					return err
				}
			}
			return iter.Err()
		}
		var err error
		if cc, ok := client.(*redis.ClusterClient); ok {
			err = cc.ForEachMaster(ctx, sweep)
		} else {
			err = sweep(ctx, client.(*redis.Client))
		}
		if err != nil {
			t.Logf("remove test keys under %s: %v", prefix, err)
		}
	})
	return redisURL, prefix
}

// Dialect names the dialect tests run on.
func Dialect() string {
	if External() {
		return dialect.MySQL
	}
	return dialect.SQLite
}

func openMySQL(cfg *mysql.Config) (*sql.DB, error) {
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}

// Name is a helper for table tests: "sqlite" or "mysql", for messages.
func Name() string { return fmt.Sprint(Dialect()) }
